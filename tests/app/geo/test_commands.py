"""``visit-planner geocode-index`` and ``geocode-csv`` driven through ``cli.main``."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from app import cli

ADDRESS_CSV = 'id,address,note\n1,"Mannerheimintie 5, Helsinki",a\n2,Xyzzy Nowhere,b\n3,,c\n'


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A SQLite database and an index path under tmp_path, through VP_* variables."""
    monkeypatch.setenv("VP_DATABASE_URL", f"sqlite:///{tmp_path / 'vp.db'}")
    monkeypatch.setenv("VP_GEOCODE_INDEX_PATH", str(tmp_path / "index.sqlite"))
    return tmp_path


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_index_then_csv_adds_positions_and_keeps_columns(
    env: Path, helsinki_pbf: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Build the index, geocode a CSV: rows keep their columns and gain lat/lon/precision."""
    assert cli.main(["geocode-index", "--pbf", str(helsinki_pbf)]) == 0
    assert "OpenStreetMap contributors" in capsys.readouterr().err
    (env / "in.csv").write_text(ADDRESS_CSV, encoding="utf-8")
    assert cli.main(["migrate"]) == 0
    assert cli.main(["geocode-csv", str(env / "in.csv"), str(env / "out.csv")]) == 0
    rows = read_rows(env / "out.csv")
    assert [r["note"] for r in rows] == ["a", "b", "c"]
    assert rows[0]["geocode_status"] == "found"
    assert rows[0]["precision"] == "rooftop"
    assert abs(float(rows[0]["lat"]) - 60.169) < 0.01
    assert [r["geocode_status"] for r in rows[1:]] == ["not_found", "not_found"]


def test_csv_without_migrated_database_still_geocodes(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No database: geocoding works without the cache, and says so."""
    (env / "in.csv").write_text("where\n75001 Paris\n", encoding="utf-8")
    args = ["geocode-csv", str(env / "in.csv"), str(env / "out.csv"), "--column", "where"]
    assert cli.main(args) == 0
    assert "without the cache" in capsys.readouterr().err
    assert read_rows(env / "out.csv")[0]["precision"] == "city"


def test_operator_mistakes_exit_2_with_a_message(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A missing pbf or a missing column is exit code 2 with a one-line reason."""
    assert cli.main(["geocode-index", "--pbf", str(env / "missing.pbf")]) == 2
    assert "no such file" in capsys.readouterr().err
    (env / "in.csv").write_text("name\nx\n", encoding="utf-8")
    assert cli.main(["geocode-csv", str(env / "in.csv"), str(env / "out.csv")]) == 2
    assert "no column 'address'" in capsys.readouterr().err
    not_pbf = env / "bad.osm.pbf"
    shutil.copyfile(env / "in.csv", not_pbf)
    assert cli.main(["geocode-index", "--pbf", str(not_pbf)]) == 2
