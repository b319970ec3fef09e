"""Engines, sessions and migrations, built from injected ``Settings``; nothing at import time.

Schema changes are a deploy step (``visit-planner migrate``), never a side effect of start-up:
two app processes racing to migrate, or an app silently upgrading production, are both worse
than refusing to start work on an old schema.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from app.config import Settings


def is_sqlite(url: str) -> bool:
    """Whether ``url`` names a SQLite database (any driver)."""
    return make_url(url).get_backend_name() == "sqlite"


def create_sqlite_folder(url: str) -> None:
    """SQLite creates the file but not its folder; do that part so a fresh checkout works."""
    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() == "sqlite" and database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def _enable_sqlite_foreign_keys(dbapi_connection: Any, _record: Any) -> None:
    # SQLite ignores FOREIGN KEY clauses (and so ON DELETE CASCADE) unless asked per connection.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_engine(settings: Settings) -> Engine:
    """The engine for ``settings.database_url``, with the per-backend care each one needs."""
    url = settings.database_url
    if not is_sqlite(url):
        return create_engine(url, pool_pre_ping=True)
    create_sqlite_folder(url)
    kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False}}
    database = make_url(url).database
    if not database or database == ":memory:":
        # Each new connection to :memory: is a new empty database; share the one.
        kwargs["poolclass"] = StaticPool
    engine = create_engine(url, **kwargs)
    event.listen(engine, "connect", _enable_sqlite_foreign_keys)
    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded values after commit, so handlers can render what they saved."""
    return sessionmaker(bind=engine, expire_on_commit=False)


def ping(engine: Engine) -> bool:
    """Whether the database answers a trivial query; backs ``GET /ready``."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return False
    return True


def migrations_folder() -> Path:
    """The Alembic script folder, found through the package so installed copies work too."""
    return Path(str(files("migrations")))


def alembic_config(database_url: str) -> Config:
    """An Alembic config for ``database_url`` that needs no ``alembic.ini`` on disk."""
    config = Config()
    config.set_main_option("script_location", str(migrations_folder()))
    # ConfigParser interpolates ``%``; URL-encoded passwords contain it.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    config.attributes["configure_logger"] = False
    return config


def migrate(settings: Settings) -> None:
    """Upgrade the configured database to the newest revision."""
    create_sqlite_folder(settings.database_url)
    command.upgrade(alembic_config(settings.database_url), "head")


def head_revision() -> str | None:
    """The newest migration revision shipped with this code."""
    config = Config()
    config.set_main_option("script_location", str(migrations_folder()))
    return ScriptDirectory.from_config(config).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at; ``None`` if it was never migrated."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def is_up_to_date(engine: Engine) -> bool:
    """Whether the database schema matches this code's newest migration."""
    return current_revision(engine) == head_revision()
