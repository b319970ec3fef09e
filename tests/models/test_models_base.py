"""UTCDateTime and the naming convention, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Column, Integer, MetaData, Table, create_engine, select
from sqlalchemy.exc import StatementError
from sqlalchemy.pool import NullPool

from models import Base, UTCDateTime

SHANGHAI = ZoneInfo("Asia/Shanghai")


def probe_table(metadata: MetaData) -> Table:
    # TEMPORARY: gone when the (unpooled) connection closes, so nothing leaks between tests.
    return Table(
        "utc_probe",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("at", UTCDateTime),
        prefixes=["TEMPORARY"],
    )


instants = st.datetimes(
    min_value=datetime(1900, 1, 1),
    max_value=datetime(2200, 1, 1),
    timezones=st.sampled_from(
        [UTC, SHANGHAI, ZoneInfo("America/New_York"), timezone(timedelta(hours=-3, minutes=-30))]
    ),
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(values=st.lists(instants, min_size=1, max_size=5))
def test_round_trip_keeps_the_instant_and_returns_utc(db_url: str, values: list[datetime]) -> None:
    """Any tz-aware datetime comes back as the same instant, labelled UTC, on SQLite and PG."""
    metadata = MetaData()
    table = probe_table(metadata)
    engine = create_engine(db_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            table.create(connection)
            connection.execute(table.insert(), [{"at": v} for v in values])
            rows = connection.execute(select(table.c.at).order_by(table.c.id)).scalars()
            back = list(rows)
    finally:
        engine.dispose()
    # Compare in UTC: PEP 495 makes ambiguous (fold) local times unequal to any other zone.
    assert back == [v.astimezone(UTC) for v in values]
    assert all(v.tzinfo is UTC for v in back)


def test_naive_datetime_is_refused(db_url: str) -> None:
    """A naive datetime raises instead of being stored as if it were UTC."""
    table = probe_table(MetaData())
    engine = create_engine(db_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            table.create(connection)
            with pytest.raises(StatementError, match="naive"):
                connection.execute(table.insert(), {"at": datetime(2026, 12, 7, 9, 0)})
    finally:
        engine.dispose()


def test_sqlite_stores_naive_utc_text() -> None:
    """On SQLite the stored value is the UTC wall time, so text ordering is time ordering."""
    table = probe_table(MetaData())
    engine = create_engine("sqlite://")
    with engine.begin() as connection:
        table.create(connection)
        connection.execute(table.insert(), {"at": datetime(2026, 12, 7, 9, 0, tzinfo=SHANGHAI)})
        raw = connection.exec_driver_sql("SELECT at FROM utc_probe").scalar_one()
    assert raw.startswith("2026-12-07 01:00:00")


def test_metadata_names_every_constraint_kind() -> None:
    """The shared MetaData carries a naming convention for ix, uq, ck, fk and pk."""
    assert set(Base.metadata.naming_convention) >= {"ix", "uq", "ck", "fk", "pk"}
