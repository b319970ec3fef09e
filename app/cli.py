"""The ``visit-planner`` command: operator tasks that are not HTTP requests.

Add a subcommand by adding one entry to ``COMMANDS``: a help line, a function that declares
its arguments, and a handler returning the exit code. Handlers build their own ``Settings``
(from ``VP_*``), so nothing happens at import time.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError

from app import auth, db
from app.config import Settings
from app.geo import commands as geo_commands
from app.jobs import commands as job_commands
from app.territories import pool_commands, run_commands, scheduler_command

EXIT_OK = 0
EXIT_ERROR = 2


class CommandError(Exception):
    """A failure the operator can fix; printed without a traceback, exit code 2."""


@dataclass(frozen=True)
class Command:
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    handler: Callable[[argparse.Namespace, Settings], int]


def _no_arguments(_parser: argparse.ArgumentParser) -> None:
    return None


def _migrate(_args: argparse.Namespace, settings: Settings) -> int:
    db.migrate(settings)
    print("database is at the newest revision", file=sys.stderr)
    return EXIT_OK


def _create_api_key_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--name", required=True, help="who the key is for")
    parser.add_argument(
        "--scope",
        dest="scopes",
        action="append",
        metavar="SCOPE",
        help="a permission of the key; repeat for several (default: plan)",
    )


def _require_migrated(settings: Settings) -> None:
    engine = db.make_engine(settings)
    try:
        if not db.is_up_to_date(engine):
            raise CommandError("the database is not migrated; run `visit-planner migrate` first")
    finally:
        engine.dispose()


def _create_api_key(args: argparse.Namespace, settings: Settings) -> int:
    _require_migrated(settings)
    engine = db.make_engine(settings)
    try:
        with db.make_session_factory(engine)() as session, session.begin():
            try:
                key, raw = auth.create_api_key(session, args.name, args.scopes or ["plan"])
            except ValueError as error:
                raise CommandError(str(error)) from error
            key_id = key.id
    finally:
        engine.dispose()
    # stdout carries only the key so scripts can capture it; the rest goes to stderr.
    print(raw)
    print(f"created API key {key_id} for {args.name!r}; it is shown only once", file=sys.stderr)
    return EXIT_OK


def _revoke_api_key_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("key_id", type=int, help="the id printed when the key was created")


def _revoke_api_key(args: argparse.Namespace, settings: Settings) -> int:
    _require_migrated(settings)
    engine = db.make_engine(settings)
    try:
        with db.make_session_factory(engine)() as session, session.begin():
            if auth.revoke_api_key(session, args.key_id) is None:
                raise CommandError(f"no API key with id {args.key_id}")
    finally:
        engine.dispose()
    print(f"revoked API key {args.key_id}", file=sys.stderr)
    return EXIT_OK


def _serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default: %(default)s)"
    )
    parser.add_argument("--port", type=int, default=8000, help="port (default: %(default)s)")


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from app.observability import configure_logging

    configure_logging(settings.log_level, settings.json_logs)
    # Our middleware logs each request with its id, so uvicorn's access log would repeat it.
    # On SIGTERM uvicorn stops accepting, lets in-flight requests (inline solves) finish for
    # up to the longest allowed solve, then the app's shutdown leaves queued jobs queued.
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        access_log=False,
        log_config=None,
        timeout_graceful_shutdown=int(settings.max_time_limit_seconds) + 10,
    )
    return EXIT_OK


COMMANDS: dict[str, Command] = {
    "migrate": Command("upgrade the database to the newest schema", _no_arguments, _migrate),
    "create-api-key": Command(
        "create an API key and print it (only the key, on stdout)",
        _create_api_key_arguments,
        _create_api_key,
    ),
    "revoke-api-key": Command(
        "revoke an API key by id", _revoke_api_key_arguments, _revoke_api_key
    ),
    "serve": Command("run the HTTP service with uvicorn", _serve_arguments, _serve),
    "geocode-index": Command(
        "build the offline geocoding index from a .osm.pbf file",
        geo_commands.index_arguments,
        geo_commands.build,
    ),
    "geocode-csv": Command(
        "geocode the address column of a CSV file",
        geo_commands.csv_arguments,
        geo_commands.geocode_csv,
    ),
    "import-customers": Command(
        "upsert a territory's customers from a CSV or .xlsx file (prints the report)",
        pool_commands.import_arguments,
        pool_commands.import_customers,
    ),
    "import-reps": Command(
        "upsert a territory's reps from a CSV or .xlsx file (prints the report)",
        pool_commands.import_arguments,
        pool_commands.import_reps,
    ),
    "sample-territory": Command(
        "create or refresh the 'Shanghai sample' territory (prints its id)",
        pool_commands.sample_arguments,
        pool_commands.sample_territory,
    ),
    "worker": Command(
        "run a Celery worker for background jobs on the Redis at VP_REDIS_URL",
        job_commands.worker_arguments,
        job_commands.worker,
    ),
    "scheduler": Command(
        "enqueue scheduled territory runs every --interval seconds until SIGTERM",
        scheduler_command.scheduler_arguments,
        scheduler_command.run_scheduler,
    ),
    "run-territory": Command(
        "plan a territory's week now; prints each rep's visits and share link",
        run_commands.run_arguments,
        run_commands.run_territory,
    ),
}


def build_parser() -> argparse.ArgumentParser:
    """The parser for every entry of ``COMMANDS``."""
    parser = argparse.ArgumentParser(prog="visit-planner", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, command in COMMANDS.items():
        sub = subparsers.add_parser(name, help=command.help, description=command.help)
        command.add_arguments(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand; returns the exit code (0 ok, 2 usage or operator error)."""
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command].handler(args, Settings())
    except CommandError as error:
        print(f"visit-planner {args.command}: {error}", file=sys.stderr)
    except SQLAlchemyError as error:
        print(f"visit-planner {args.command}: database error: {error}", file=sys.stderr)
    return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
