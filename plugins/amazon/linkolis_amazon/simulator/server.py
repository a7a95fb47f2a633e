"""The simulator over HTTP with the standard library's ``ThreadingHTTPServer``, on loopback unless allowed."""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

from .wire import SimRequest, error_body, json_response

if TYPE_CHECKING:
    from .app import Simulator


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def make_handler(sim: Simulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "Server"
        sys_version = ""

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            host = self.headers.get("Host") or base_url_of(self.server).removeprefix("http://")  # type: ignore[arg-type]
            req = SimRequest.build(self.command, self.path, self.headers.items(), body, f"http://{host}")
            try:
                resp = sim.handle(req)
            except Exception as exc:  # noqa: BLE001 - a simulator bug (or ContractViolation) must not kill the socket
                resp = json_response(
                    500, error_body("InternalFailure", f"Simulator error: {type(exc).__name__}: {exc}")
                )
            if resp.disconnect is not None:
                # Close without a byte of answer: the client sees a dropped connection.
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.send_response(resp.status)
            names = set()
            for k, v in resp.headers:
                names.add(k.lower())
                self.send_header(k, v)
            if "content-length" not in names:
                self.send_header("Content-Length", str(len(resp.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(resp.body)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass  # quiet: request lines carry codes and tokens in query strings

    return Handler


class SimHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def get_request(self) -> tuple[socket.socket, object]:
        conn, addr = super().get_request()
        # Without this every keep-alive answer waits ~40 ms on Nagle + the client's delayed ACK (headers and body
        # go out in separate writes).
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn, addr


class SimHTTPServer6(SimHTTPServer):
    address_family = socket.AF_INET6


def make_server(
    sim: Simulator, host: str = "127.0.0.1", port: int = 0, allow_non_loopback: bool = False
) -> SimHTTPServer:
    if not allow_non_loopback and not is_loopback(host):
        raise ValueError(f"refusing to serve on non-loopback host {host!r} (pass allow_non_loopback=True to insist)")
    cls: type[SimHTTPServer] = SimHTTPServer6 if ":" in host else SimHTTPServer
    return cls((host, port), make_handler(sim))


def base_url_of(server: SimHTTPServer) -> str:
    host, port = server.server_address[:2]
    host = str(host)
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


@contextmanager
def serve_in_thread(
    sim: Simulator, host: str = "127.0.0.1", port: int = 0, allow_non_loopback: bool = False
) -> Iterator[str]:
    """Serve in a daemon thread for the duration of the ``with`` block; yields the base URL."""
    server = make_server(sim, host, port, allow_non_loopback)
    thread = threading.Thread(target=server.serve_forever, name="spapi-simulator", daemon=True)
    thread.start()
    try:
        yield base_url_of(server)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
