"""``visit-planner import-customers``, ``import-reps`` and ``sample-territory``.

Each runs in one transaction: a file's good rows are saved together, a crash saves nothing.
The report (the JSON the HTTP import answers) goes to stdout; the exit code is 0 when every
row was imported, 1 when some rows were refused (the others are saved), 2 on an error.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from app import db
from app.config import Settings
from app.errors import AppError
from app.territories import importer, service
from app.territories.pool import Kind
from app.territories.sample import create_sample_territory
from app.territories.schemas import UpsertReport

EXIT_ROWS_REFUSED = 1


def _error(message: str) -> Exception:
    """The CLI's operator error (imported late: ``app.cli`` imports this module)."""
    from app.cli import CommandError

    return CommandError(message)


def _app_error(error: AppError) -> Exception:
    details = "; ".join(
        f"{d.path}: {d.message}" for d in error.details if d.message != error.message
    )
    return _error(error.message + (f" ({details})" if details else ""))


def import_arguments(parser: argparse.ArgumentParser) -> None:
    """``--territory ID FILE [--mapping JSON] [--sheet NAME]``."""
    parser.add_argument("--territory", required=True, help="the territory's id or exact name")
    parser.add_argument("file", type=Path, help="a .csv (UTF-8 or GBK) or .xlsx file")
    parser.add_argument("--mapping", help='JSON: our field -> your header, e.g. {"id": "编号"}')
    parser.add_argument("--sheet", help=".xlsx: the sheet to read (default: the first)")


def _print(report: UpsertReport) -> int:
    print(json.dumps(report.model_dump(mode="json"), ensure_ascii=False, indent=2))
    return EXIT_ROWS_REFUSED if report.errors else 0


def _import(args: argparse.Namespace, settings: Settings, kind: Kind) -> int:
    path: Path = args.file
    try:
        data = path.read_bytes()
    except OSError as error:
        raise _error(f"cannot read {path}: {error.strerror}") from error
    engine = db.make_engine(settings)
    try:
        with db.make_session_factory(engine)() as session, session.begin():
            territory = service.find_territory(session, args.territory)
            if territory is None:
                raise _error(f"no territory with id or name {args.territory!r}")
            report = importer.import_file(
                session,
                territory,
                kind,
                data,
                filename=path.name,
                mapping=args.mapping,
                sheet=args.sheet,
                max_rows=settings.territory_import_max_rows,
            )
    except AppError as error:
        raise _app_error(error) from error
    finally:
        engine.dispose()
    return _print(report)


def import_customers(args: argparse.Namespace, settings: Settings) -> int:
    """Upsert a territory's customers from a file and print the per-row report."""
    return _import(args, settings, "customer")


def import_reps(args: argparse.Namespace, settings: Settings) -> int:
    """Upsert a territory's reps from a file and print the per-row report."""
    return _import(args, settings, "rep")


def sample_arguments(_parser: argparse.ArgumentParser) -> None:
    return None


def sample_territory(_args: argparse.Namespace, settings: Settings) -> int:
    """Create or refresh the "Shanghai sample" territory; prints its id on stdout."""
    engine = db.make_engine(settings)
    try:
        with db.make_session_factory(engine)() as session, session.begin():
            result = create_sample_territory(session, settings)
            territory_id = result.territory.id
            counts = result.customers
    except AppError as error:
        raise _app_error(error) from error
    finally:
        engine.dispose()
    print(territory_id)
    print(
        f"territory {result.territory.name!r}: {len(counts.errors)} customer rows refused, "
        f"{counts.created} created, {counts.updated} updated, {counts.unchanged} unchanged",
        file=sys.stderr,
    )
    return 0
