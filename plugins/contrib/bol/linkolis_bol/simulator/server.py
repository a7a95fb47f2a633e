"""The simulator over HTTP on loopback (for the demo, the benchmark's curious, and `python -m`)."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator

from .app import SimRequest


def _handler(sim):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            response = sim.handle(SimRequest.build(self.command, self.path, self.headers.items(), body))
            if response.disconnect is not None:
                self.close_connection = True
                return
            self.send_response(response.status)
            for name, value in response.headers:
                self.send_header(name, value)
            self.send_header("content-length", str(len(response.body)))
            self.end_headers()
            self.wfile.write(response.body)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _answer

        def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's name
            pass

    return Handler


@contextmanager
def serve(sim, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve ``sim`` on ``host:port`` (0: any free port) in a thread; yields the base URL."""
    server = ThreadingHTTPServer((host, port), _handler(sim))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base_url = f"http://{host}:{server.server_address[1]}"
    sim.base_url = base_url
    try:
        yield base_url
    finally:
        server.shutdown()
        server.server_close()
