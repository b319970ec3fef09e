"""Fixtures for geocoding tests: the shared OSM extracts, copied, and indexes built from them.

The extracts live in ``../shared/geo`` beside the repository (read-only, so tests copy them);
``VP_TEST_GEO_DIR`` points elsewhere. Missing data skips locally and fails on CI.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from app.geo.osm_index import build_index

REPO = Path(__file__).resolve().parents[3]


def shared_pbf(name: str) -> Path:
    """The shared extract ``name``, or skip (fail on CI) when it is not there."""
    folder = Path(os.environ.get("VP_TEST_GEO_DIR", REPO.parent / "shared" / "geo"))
    path = folder / name
    if not path.is_file():
        reason = f"OSM test extract {path} not found (set VP_TEST_GEO_DIR)"
        if os.environ.get("CI"):
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    return path


@pytest.fixture(scope="session")
def helsinki_pbf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of the Helsinki extract (1,470 house numbers)."""
    copy = tmp_path_factory.mktemp("osm") / "Helsinki.osm.pbf"
    shutil.copyfile(shared_pbf("Helsinki.osm.pbf"), copy)
    return copy


@pytest.fixture(scope="session")
def helsinki_index(helsinki_pbf: Path) -> Path:
    """The offline index built from the Helsinki copy, once per worker."""
    out = helsinki_pbf.with_suffix(".sqlite")
    build_index(helsinki_pbf, out)
    return out


@pytest.fixture(scope="session")
def monaco_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The offline index built from a copy of the Monaco extract (accented French names)."""
    folder = tmp_path_factory.mktemp("osm-monaco")
    copy = folder / "monaco.osm.pbf"
    shutil.copyfile(shared_pbf("monaco.osm.pbf"), copy)
    out = folder / "monaco.sqlite"
    build_index(copy, out)
    return out
