"""Database fixtures: migrated SQLite and PostgreSQL databases, cheap enough for every test.

Each xdist worker migrates once per session (SQLite: a template file copied per test;
PostgreSQL: its own database, emptied with TRUNCATE before each test). PostgreSQL comes from
``VP_TEST_POSTGRES_URL``; when it is unreachable, ``postgres`` tests skip locally and fail on CI.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

import models
from app.config import Settings
from app.db import alembic_config, make_engine, make_session_factory

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
_DB_PREFIX = "vp_test_"


def postgres_admin_url() -> str:
    """The server database used to create the per-worker ones."""
    return os.environ.get("VP_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


def migrate_to_head(url: str) -> None:
    """Upgrade ``url`` the way deployments do: Alembic, not ``create_all``."""
    command.upgrade(alembic_config(url), "head")


def _worker_database_name() -> str:
    # The pid keeps concurrent pytest runs (several people, one server) apart.
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    return f"{_DB_PREFIX}{worker}_{os.getpid()}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _drop_stale_databases(admin: Engine) -> None:
    """Drop databases left by crashed runs: their pid is gone and nobody is connected."""
    with admin.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT datname FROM pg_database WHERE datname LIKE :prefix AND NOT EXISTS "
                "(SELECT 1 FROM pg_stat_activity a WHERE a.datname = pg_database.datname)"
            ),
            {"prefix": _DB_PREFIX + "%"},
        ).scalars()
        for name in list(rows):
            pid = name.rsplit("_", 1)[-1]
            if pid.isdigit() and not _pid_alive(int(pid)):
                # Another worker may be dropping the same one; losing that race is fine.
                with contextlib.suppress(DBAPIError):
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head once per worker; tests get copies."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    migrate_to_head(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """This worker's own PostgreSQL database, freshly created and migrated; dropped at the end."""
    admin_url = make_url(postgres_admin_url())
    admin = create_engine(
        admin_url,
        isolation_level="AUTOCOMMIT",
        poolclass=NullPool,
        connect_args={"connect_timeout": 5},
    )
    try:
        with admin.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError as error:
        admin.dispose()
        reason = f"PostgreSQL unreachable at {admin_url.render_as_string()}: {error.orig}"
        if os.environ.get("CI"):
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason + " (set VP_TEST_POSTGRES_URL; on CI this fails)")
    name = _worker_database_name()
    _drop_stale_databases(admin)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    try:
        migrate_to_head(url)
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _empty_postgres(url: str) -> None:
    tables = ", ".join(f'"{t.name}"' for t in models.Base.metadata.sorted_tables)
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as connection:
            # A test that leaked an open transaction would otherwise hang the whole run.
            connection.execute(text("SET LOCAL lock_timeout = '10s'"))
            connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    finally:
        engine.dispose()


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    """A migrated, empty SQLite database of this test's own."""
    path = tmp_path / "vp.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ]
)
def db_url(request: pytest.FixtureRequest) -> str:
    """A migrated, empty database URL; the test runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        url: str = request.getfixturevalue("sqlite_url")
        return url
    url = request.getfixturevalue("postgres_database")
    _empty_postgres(url)
    return url


@pytest.fixture
def db_engine(db_url: str) -> Iterator[Engine]:
    """An engine built by ``app.db.make_engine`` on ``db_url``; disposed after the test."""
    engine = make_engine(Settings(database_url=db_url))
    yield engine
    engine.dispose()


@pytest.fixture
def session(db_engine: Engine) -> Iterator[Session]:
    """A session on ``db_url``; whatever the test left uncommitted is rolled back."""
    with make_session_factory(db_engine)() as session:
        yield session
        session.rollback()
