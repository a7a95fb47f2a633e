"""A simulator over HTTP with the standard library's ``ThreadingHTTPServer``, on loopback unless allowed."""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Protocol

from .wire import SimRequest, SimResponse, json_response


class Handles(Protocol):
    """What a carrier needs of a simulator: one ``handle`` for every request."""

    def handle(self, request: SimRequest) -> SimResponse: ...


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def plain_crash(exc: Exception) -> SimResponse:
    """The answer to a request the simulator failed on (a bug in it): 500 and what went wrong."""
    return json_response(500, {"error": f"Simulator error: {type(exc).__name__}: {exc}"})


def make_handler(sim: Handles, crash: Callable[[Exception], SimResponse] = plain_crash) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "Server"
        sys_version = ""

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            host = self.headers.get("Host") or base_url_of(self.server).removeprefix("http://")  # type: ignore[arg-type]
            request = SimRequest.build(self.command, self.path, self.headers.items(), body, f"http://{host}")
            try:
                response = sim.handle(request)
            except Exception as exc:  # a simulator bug must not kill the socket
                response = crash(exc)
            if response.disconnect is not None:
                # Close without a byte of answer: the client sees a dropped connection.
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.send_response(response.status)
            names = set()
            for name, value in response.headers:
                names.add(name.lower())
                self.send_header(name, value)
            if "content-length" not in names:
                self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

        def log_message(self, format: str, *args: object) -> None:  # `format`: the base class's name
            pass  # quiet: request lines carry codes and tokens in query strings

    return Handler


class SimHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def get_request(self) -> tuple[socket.socket, object]:
        conn, addr = super().get_request()
        # Without this every keep-alive answer waits ~40 ms on Nagle and the client's delayed ACK (headers and body
        # go out in separate writes).
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn, addr


class SimHTTPServer6(SimHTTPServer):
    address_family = socket.AF_INET6


def make_server(
    sim: Handles,
    host: str = "127.0.0.1",
    port: int = 0,
    allow_non_loopback: bool = False,
    crash: Callable[[Exception], SimResponse] = plain_crash,
) -> SimHTTPServer:
    """A server for ``sim`` bound to ``host:port`` (0: any free port); ``ValueError`` for a host not on loopback
    unless allowed, ``OSError`` when the port cannot be had. ``crash`` words the answer to a simulator bug."""
    if not allow_non_loopback and not is_loopback(host):
        raise ValueError(f"refusing to serve on non-loopback host {host!r} (pass allow_non_loopback=True to insist)")
    cls: type[SimHTTPServer] = SimHTTPServer6 if ":" in host else SimHTTPServer
    return cls((host, port), make_handler(sim, crash))


def base_url_of(server: SimHTTPServer) -> str:
    host, port = server.server_address[:2]
    host = str(host)
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


@contextmanager
def serve_in_thread(server: SimHTTPServer, name: str = "simulator") -> Iterator[str]:
    """Serve in a daemon thread for the duration of the ``with`` block; yields the base URL."""
    thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
    thread.start()
    try:
        yield base_url_of(server)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
