"""A geocoding provider on 127.0.0.1 that answers what a test tells it to: JSON, 500, 429, or
nothing for longer than the client waits. Real geopy adapters are pointed at it."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SLOW_SECONDS = 1.5  # longer than the clients' timeout in these tests, bounded


@dataclass
class Behaviour:
    """What the next requests get; ``paths`` records what was asked."""

    status: int = 200
    body: Any = field(default_factory=list)
    slow: bool = False
    paths: list[str] = field(default_factory=list)


@contextmanager
def fake_provider() -> Iterator[tuple[str, Behaviour]]:
    """Serve on an ephemeral loopback port; yields ("127.0.0.1:PORT", behaviour)."""
    behaviour = Behaviour()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            behaviour.paths.append(self.path)
            if behaviour.slow:
                time.sleep(SLOW_SECONDS)
            payload = json.dumps(behaviour.body).encode()
            try:
                self.send_response(behaviour.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout test)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}", behaviour
    finally:
        server.shutdown()
        server.server_close()
