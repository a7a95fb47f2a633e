"""A local SQS for the demo and the tests (the kit's ``moto_endpoint`` fixture): moto's server (``moto[server]``,
in the ``test`` extra) on 127.0.0.1.

No pytest needed: ``with local_sqs() as endpoint:`` starts ``python -m moto.server -H 127.0.0.1 -p PORT``, waits until
it answers and stops it on leaving. ``aws_environment(endpoint)`` is what boto3 reads the standard AWS way to reach it
with fake credentials, never a real account.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

REGION = "eu-west-1"
# Variables that would send boto3 to a real account or profile: unset while the local SQS is in use.
UNSET = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION")


class LocalSqsError(RuntimeError):
    """moto's server did not start or never answered; the message holds its log."""


def available() -> bool:
    """Whether moto's server can be started here (``moto[server]`` installed)."""
    return all(importlib.util.find_spec(name) is not None for name in ("moto", "flask", "flask_cors"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def local_sqs(log_path: Path | None = None, timeout: float = 60.0) -> Iterator[str]:
    """Start moto's server on a free port of 127.0.0.1 and yield its endpoint (``http://127.0.0.1:PORT``); stop it
    on leaving. Its output goes to ``log_path`` (a temporary file when None).

    :raises LocalSqsError: it ended or did not answer within ``timeout`` seconds (its log in the message).
    """
    port = _free_port()
    if log_path is None:
        log_path = Path(tempfile.mkdtemp(prefix="linkolis-moto-")) / "moto_server.log"
    with open(log_path, "wb") as log_file:
        server = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout  # it answers after about 3 s, longer on a loaded machine
        while True:
            if server.poll() is not None:
                raise LocalSqsError(f"moto_server ended with {server.returncode}: {log_path.read_text()}")
            try:
                httpx.get(f"{endpoint}/moto-api/", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise LocalSqsError(f"moto_server never answered on {endpoint}: {log_path.read_text()}") from None
                time.sleep(0.2)
        yield endpoint
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


def aws_environment(endpoint: str, home: Path) -> dict[str, str | None]:
    """The environment that points boto3 at the local SQS ``endpoint`` the standard AWS way: fake credentials, a
    region, ``AWS_ENDPOINT_URL_SQS``, config and credential files that do not exist under ``home`` (so no profile of
    this machine is read); None for a variable to unset."""
    values: dict[str, str | None] = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",  # moto's published fake value, not a secret
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ENDPOINT_URL_SQS": endpoint,
        "AWS_CONFIG_FILE": str(home / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "no-aws-credentials"),
    }
    values.update(dict.fromkeys(UNSET))
    return values


@contextmanager
def environ(values: dict[str, str | None]) -> Iterator[None]:
    """Set (None: unset) ``values`` in ``os.environ`` for the block; restore what was there on leaving."""
    before = {name: os.environ.get(name) for name in values}
    try:
        for name, value in values.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
