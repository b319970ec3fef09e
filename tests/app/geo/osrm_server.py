"""A real ``osrm-routed`` on the Monaco extract for the tests marked ``osrm``.

``scripts/osrm.sh`` (run by ``make test``) installs the binaries from PyPI's osrm-bindings
wheel into ``var/osrm/`` and builds ``monaco.osrm`` with MLD; ``VP_TEST_OSRM_DIR`` points
elsewhere. Missing binaries or data skip locally and fail on CI.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[3]
VERSION = "26.10.0"


def osrm_paths() -> tuple[Path, Path]:
    """``(osrm-routed, monaco.osrm)``, or skip (fail on CI) when scripts/osrm.sh has not run."""
    root = Path(os.environ.get("VP_TEST_OSRM_DIR", REPO / "var" / "osrm"))
    routed = root / f"pkg-{VERSION}" / "osrm" / "bin" / "osrm-routed"
    data = root / "data" / "monaco.osrm"
    if not routed.is_file() or not (root / "data" / "monaco.osrm.mldgr").is_file():
        reason = f"OSRM binaries or the Monaco graph are missing under {root} (run scripts/osrm.sh)"
        if os.environ.get("CI"):
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    return routed, data


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class OsrmServer:
    """A running ``osrm-routed``; ``stop()`` kills it (the fallback tests do so on purpose)."""

    url: str
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@contextmanager
def osrm_server(max_table_size: int = 10_000) -> Iterator[OsrmServer]:
    """Start ``osrm-routed --algorithm mld`` on a free loopback port; wait until it answers."""
    routed, data = osrm_paths()
    port = free_port()
    process = subprocess.Popen(
        [
            str(routed),
            "--algorithm",
            "mld",
            "-i",
            "127.0.0.1",
            "-p",
            str(port),
            "--max-table-size",
            str(max_table_size),
            str(data),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = OsrmServer(f"http://127.0.0.1:{port}", process)
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                pytest.fail(f"osrm-routed exited with {process.returncode}", pytrace=False)
            try:
                if httpx.get(f"{server.url}/nearest/v1/driving/7.42,43.74", timeout=1).is_success:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("osrm-routed did not answer within 30 s", pytrace=False)
            time.sleep(0.05)
        yield server
    finally:
        server.stop()
