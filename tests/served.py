"""A real `linkolis serve` process for tests that must see it as an outsider does: its answers to requests sent
at once from other threads, and its memory from /proc."""

from __future__ import annotations

import os
import socket
import time
from contextlib import contextmanager
from pathlib import Path

PASSWORD = "correct horse battery staple"


class Served:
    """A real `linkolis serve` process on loopback (plain http, no background sync) and what an attacker or a
    seller can measure of it from outside: its answers and, from /proc, its memory."""

    def __init__(self, process, url: str) -> None:
        self.process, self.url = process, url

    def client(self, **options):
        import httpx

        return httpx.Client(base_url=self.url, timeout=60, **options)

    def sign_in(self, client, email: str, password: str = PASSWORD, forwarded_for: str | None = None):
        import re

        token = re.search(r'name="csrf" value="([^"]+)"', client.get("/signin").text).group(1)
        headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
        return client.post("/signin", data={"csrf": token, "email": email, "password": password}, headers=headers)

    def memory(self, field: str = "VmHWM") -> int:
        """The process's peak (VmHWM) or current (VmRSS) resident memory, in bytes."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
        raise AssertionError(f"no {field} in /proc/{self.process.pid}/status")

    def reset_peak(self) -> None:
        """From now on VmHWM counts from the current resident memory (Linux: 5 > /proc/PID/clear_refs)."""
        Path(f"/proc/{self.process.pid}/clear_refs").write_text("5")


@contextmanager
def serve_process(home: Path, users: dict[str, str], *args: str):
    """`linkolis serve --no-sync` on a free loopback port over ``home``, with ``users`` (e-mail -> workspace) added
    through the CLI first."""
    import subprocess
    import sys

    import httpx

    linkolis = str(Path(sys.executable).with_name("linkolis"))
    env = {**os.environ, "LINKOLIS_HOME": str(home), "LINKOLIS_LOAD_PLUGINS": ""}
    for email, workspace in users.items():
        subprocess.run([linkolis, "workspaces", "add", workspace], env=env, capture_output=True)
        subprocess.run(
            [linkolis, "users", "add", email, "--workspace", workspace, "--password-stdin"],
            env=env,
            input=PASSWORD,
            text=True,
            check=True,
            capture_output=True,
        )
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen(
        [linkolis, "serve", "--no-sync", "--port", str(port), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30  # a safety net for a slow start, not a timing check
        while True:
            try:
                httpx.get(url + "/signin", timeout=2)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"linkolis serve did not start: {process.stdout.read()}") from None
                time.sleep(0.1)
        yield Served(process, url)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
