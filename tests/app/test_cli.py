"""The ``visit-planner`` command, driven through ``main([...])`` on a temporary SQLite file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from app import auth, cli
from app.config import Settings


@pytest.fixture
def database_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """VP_DATABASE_URL pointing at a not-yet-created SQLite file in a missing folder."""
    url = f"sqlite:///{tmp_path / 'var' / 'vp.db'}"
    monkeypatch.setenv("VP_DATABASE_URL", url)
    return url


def test_migrate_then_create_key_prints_only_a_working_key(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """create-api-key after migrate prints exactly one line on stdout: a key that verifies."""
    assert cli.main(["migrate"]) == 0
    capsys.readouterr()
    assert cli.main(["create-api-key", "--name", "acme", "--scope", "plan", "--scope", "read"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert len(lines) == 1
    engine = create_engine(database_url, poolclass=NullPool)
    with Session(engine) as session:
        key = auth.verify_api_key(session, lines[0])
        assert key is not None
        assert key.name == "acme"
        assert key.scopes == ["plan", "read"]
    engine.dispose()


def test_migrate_is_idempotent(database_url: str) -> None:
    """Running migrate twice is fine: the second run has nothing to do."""
    assert cli.main(["migrate"]) == 0
    assert cli.main(["migrate"]) == 0


def test_create_key_on_unmigrated_database_fails_clearly(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without migrate, create-api-key exits 2, prints nothing on stdout and says what to run."""
    assert cli.main(["create-api-key", "--name", "acme"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "visit-planner migrate" in captured.err


def test_create_key_with_bad_name_exits_2(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """An invalid name is an operator error: exit 2, message on stderr, no key."""
    cli.main(["migrate"])
    capsys.readouterr()
    assert cli.main(["create-api-key", "--name", " "]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "name" in captured.err


def test_revoke_api_key(database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    """revoke-api-key makes the key stop verifying and exits 2 for an unknown id."""
    cli.main(["migrate"])
    cli.main(["create-api-key", "--name", "acme"])
    raw = capsys.readouterr().out.strip()
    engine = create_engine(database_url, poolclass=NullPool)
    with Session(engine) as session:
        key = auth.verify_api_key(session, raw)
        assert key is not None
        key_id = key.id
    assert cli.main(["revoke-api-key", str(key_id)]) == 0
    assert cli.main(["revoke-api-key", "999"]) == 2
    with Session(engine) as session:
        assert auth.verify_api_key(session, raw) is None
    engine.dispose()


def test_serve_runs_the_app_factory(monkeypatch: pytest.MonkeyPatch) -> None:
    """serve hands uvicorn the factory, host and port, JSON logs and a graceful shutdown."""
    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    logging_calls: list[tuple[str, bool]] = []
    monkeypatch.setattr("uvicorn.run", lambda *a, **k: calls.append((a, k)))
    monkeypatch.setattr(
        "app.observability.configure_logging", lambda lvl, js: logging_calls.append((lvl, js))
    )
    assert cli.main(["serve", "--host", "127.0.0.2", "--port", "9000"]) == 0
    ((args, kwargs),) = calls
    assert args == ("app.main:create_app",)
    assert kwargs["factory"] is True
    assert (kwargs["host"], kwargs["port"]) == ("127.0.0.2", 9000)
    # In-flight solves may run up to the longest allowed time limit before shutdown.
    assert kwargs["timeout_graceful_shutdown"] > Settings().max_time_limit_seconds
    assert logging_calls == [("INFO", True)]


def test_missing_subcommand_is_a_usage_error() -> None:
    """No subcommand is a usage error (argparse exits 2)."""
    with pytest.raises(SystemExit) as exit_info:
        cli.main([])
    assert exit_info.value.code == 2


def test_every_command_is_registered_with_help() -> None:
    """Each COMMANDS entry has a help line and parses with its own arguments."""
    parser = cli.build_parser()
    for name, command in cli.COMMANDS.items():
        assert command.help
        assert name in parser.format_help()
