"""Lint, format, type and import-contract checks, run as tests so `make test` runs them all.

Each check runs the tool from the same virtualenv as pytest, in the repository root, with the
configuration in pyproject.toml; a failure shows the tool's own output.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.quality

ROOT = Path(__file__).resolve().parents[1]
# Not resolved: a venv's python is a symlink and its tools live next to the link.
BIN = Path(sys.executable).parent
TIMEOUT_SECONDS = 900


def _run(tool: str, *args: str) -> None:
    __tracebackhide__ = True  # the report shows the tool output, not this helper
    executable = BIN / tool
    if not executable.exists():
        pytest.fail(f"{executable} not found: install the dev extras (`pip install -e '.[dev]'`)")
    result = subprocess.run(
        [str(executable), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    command = " ".join([tool, *args])
    # A plain int, so pytest's report shows the tool output rather than a CompletedProcess repr.
    exit_code = result.returncode
    assert exit_code == 0, f"`{command}` failed:\n{result.stdout}\n{result.stderr}"


def test_ruff_lint() -> None:
    """`ruff check .` finds no lint error."""
    _run("ruff", "check", ".")


def test_ruff_format() -> None:
    """`ruff format --check .` finds every file already formatted."""
    _run("ruff", "format", "--check", ".")


def test_mypy_strict() -> None:
    """`mypy` (strict, files and overrides from pyproject.toml) finds no type error."""
    _run("mypy")


def test_import_contracts() -> None:
    """`lint-imports` keeps every import-linter contract (solver pure, models independent)."""
    _run("lint-imports")
