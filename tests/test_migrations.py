"""Migrations are reviewed code: they must round-trip and match the models exactly."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, Integer, MetaData, Table, create_engine, inspect, text
from sqlalchemy.pool import NullPool

import models
from app.db import alembic_config, head_revision

ROOT = Path(__file__).resolve().parent.parent


def ini_config(url: str) -> Config:
    """The repository's ``alembic.ini``, as a developer at a shell would use it."""
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["configure_logger"] = False
    return config


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ]
)
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no tables at all (PostgreSQL: this worker's, downgraded to base)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    url: str = request.getfixturevalue("postgres_database")
    command.downgrade(alembic_config(url), "base")
    yield url
    # Later tests on this worker expect the migrated schema back.
    command.upgrade(alembic_config(url), "head")


def test_upgrade_downgrade_upgrade_leaves_no_drift(empty_url: str) -> None:
    """upgrade head -> downgrade base -> upgrade head works and autogenerate then finds nothing."""
    config = ini_config(empty_url)
    command.upgrade(config, "head")
    command.downgrade(config, "base")
    engine = create_engine(empty_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            left = set(inspect(connection).get_table_names())
            assert not left & set(models.Base.metadata.tables)
        command.upgrade(config, "head")
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert context.get_current_revision() == head_revision()
            assert compare_metadata(context, models.Base.metadata) == []
            # The comparison is not vacuous: a table the database lacks is reported.
            extra = MetaData()
            Table("not_migrated", extra, Column("id", Integer, primary_key=True))
            for table in models.Base.metadata.tables.values():
                table.to_metadata(extra)
            diff = compare_metadata(context, extra)
            assert [d[0] for d in diff] == ["add_table"]
    finally:
        engine.dispose()


def test_constraint_names_follow_the_convention(db_url: str) -> None:
    """Constraints in the migrated schema carry the MetaData naming convention's names."""
    engine = create_engine(db_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            inspector = inspect(connection)
            fks = {fk["name"] for fk in inspector.get_foreign_keys("plan_stops")}
            uniques = {uq["name"] for uq in inspector.get_unique_constraints("plan_days")}
            indexes = {ix["name"] for ix in inspector.get_indexes("api_keys")}
            if connection.dialect.name == "postgresql":
                pk = inspector.get_pk_constraint("plans")["name"]
                assert pk == "pk_plans"
                checks = {ck["name"] for ck in inspector.get_check_constraints("plans")}
                assert "ck_plans_status" in checks
    finally:
        engine.dispose()
    assert fks == {"fk_plan_stops_day_id_plan_days"}
    assert "uq_plan_days_plan_id_position" in uniques
    assert "ix_api_keys_prefix" in indexes


def test_one_head_and_dated_file_names() -> None:
    """History stays linear and every revision file starts with its date (YYYY_MM_DD_)."""
    config = Config()
    config.set_main_option("script_location", str(ROOT / "migrations"))
    script = ScriptDirectory.from_config(config)
    assert len(script.get_heads()) == 1
    for revision in script.walk_revisions():
        assert revision.path is not None
        name = Path(revision.path).name
        assert re.match(r"\d{4}_\d{2}_\d{2}_", name), name


def test_offline_sql_renders_for_postgres(capsys: pytest.CaptureFixture[str]) -> None:
    """``alembic upgrade head --sql`` works without a server, for DBAs who review DDL."""
    config = ini_config("postgresql+psycopg://nobody@invalid/none")
    command.upgrade(config, "head", sql=True)
    sql = capsys.readouterr().out
    assert "CREATE TABLE plans" in sql
    assert "ON DELETE CASCADE" in sql


def test_sqlite_database_without_folder_is_created(tmp_path: Path) -> None:
    """Migrating a SQLite URL whose folder does not exist creates the folder first."""
    path = tmp_path / "nested" / "deeper" / "vp.db"
    command.upgrade(alembic_config(f"sqlite:///{path}"), "head")
    engine = create_engine(f"sqlite:///{path}", poolclass=NullPool)
    try:
        with engine.connect() as connection:
            version = connection.execute(text("SELECT version_num FROM alembic_version"))
            assert version.scalar_one() == head_revision()
    finally:
        engine.dispose()
