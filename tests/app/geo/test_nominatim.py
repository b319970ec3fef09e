"""The geopy Nominatim adapter against a real Nominatim 5 on 127.0.0.1 (Monaco imported by
scripts/nominatim.sh from `make test`), with addresses read from the same OSM extract."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.request
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import pytest

from app.config import Settings
from app.geo.geocoding import normalise
from app.geo.providers import GeopyGeocoder, make_provider_geocoder
from tests.app.geo.conftest import REPO, shared_pbf
from tests.app.geo.test_offline import MAX_ERROR_M, metres, osm_objects, to_street

ROOT = REPO / "var" / "nominatim"
VERSION = "5.3.3"
DSN = "pgsql:host=127.0.0.1;port=5432;user=postgres;dbname=nominatim_vp"


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason + " (run scripts/nominatim.sh; on CI this fails)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/status", timeout=1) as response:  # noqa: S310
            return bool(response.status == 200)
    except OSError:
        return False


@pytest.fixture(scope="session")
def nominatim_domain() -> Iterator[str]:
    """``host:port`` of a running Nominatim: VP_TEST_NOMINATIM, else one started here."""
    given = os.environ.get("VP_TEST_NOMINATIM")
    if given:
        yield given
        return
    binary = ROOT / "venv" / "bin" / "nominatim"
    if not binary.exists() or not (ROOT / "project" / f".imported-{VERSION}").exists():
        _unavailable(f"Nominatim is not installed and imported under {ROOT}")
    port = _free_port()
    env = {**os.environ, "NOMINATIM_DATABASE_DSN": DSN, "NOMINATIM_DATABASE_WEBUSER": "postgres"}
    log = (ROOT / f"serve-{port}.log").open("wb")
    server = subprocess.Popen(
        [str(binary), "serve", "--server", f"127.0.0.1:{port}", "--engine", "starlette"],
        cwd=ROOT / "project",
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while not _ready(f"http://127.0.0.1:{port}"):
            if server.poll() is not None or time.monotonic() > deadline:
                _unavailable(f"nominatim serve did not come up (see {log.name})")
            time.sleep(0.2)
        yield f"127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()


@pytest.fixture(scope="module")
def geocoder(nominatim_domain: str) -> GeopyGeocoder:
    """The adapter exactly as the settings build it."""
    return make_provider_geocoder(
        Settings(geocoder="nominatim", geocoder_domain=nominatim_domain, geocoder_scheme="http")
    )


@pytest.fixture(scope="module")
def monaco() -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Addressed objects and streets of the extract Nominatim imported."""
    return osm_objects(shared_pbf("monaco.osm.pbf"))


def test_house_numbers_from_the_extract_are_rooftop_within_50_m(
    geocoder: GeopyGeocoder, monaco: tuple[list[dict[str, Any]], Any]
) -> None:
    """Rooftop answers lie within 50 m of an object with that address; most addresses
    (a few carry typos or numbers Nominatim does not index) get one."""
    addressed, _ = monaco
    objects: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
    for item in addressed:
        tags = item["tags"]
        objects[(normalise(tags["addr:street"]), tags["addr:housenumber"])].extend(item["points"])
    rooftop, far = 0, []
    for (street, number), points in objects.items():
        found = geocoder.geocode(f"{number} {street}")
        if found is None or found.precision != "rooftop":
            continue
        rooftop += 1
        distance = min(metres((found.lat, found.lon), p) for p in points)
        if distance > MAX_ERROR_M:
            far.append((street, number, distance))
    assert far == []
    assert rooftop >= 0.85 * len(objects)


def test_streets_from_the_extract_are_street_precision_on_the_street(
    geocoder: GeopyGeocoder, monaco: tuple[list[dict[str, Any]], Any]
) -> None:
    """Named roads geocode to a point within 50 m of the road itself."""
    _, streets = monaco
    for name, ways in sorted(streets.items())[:25]:
        found = geocoder.geocode(name)
        assert found is not None, name
        assert found.precision in ("street", "rooftop"), name
        assert to_street((found.lat, found.lon), ways) <= MAX_ERROR_M, name


def test_unknown_address_is_none(geocoder: GeopyGeocoder) -> None:
    """An address the data does not hold is "not found", not an error."""
    assert geocoder.geocode("Xyzzy Plugh 99999") is None
