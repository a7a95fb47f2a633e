"""`linkolis serve` as an operator runs it: a real process, TLS of its own, the sign-in page answering over https,
the background sync started with it and stopped by Ctrl-C."""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import trustme


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_answers_over_its_own_tls_with_the_security_headers(tmp_path):
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    certfile, keyfile = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(certfile))
    cert.private_key_pem.write_to_path(str(keyfile))
    port = _free_port()
    linkolis = Path(sys.executable).with_name("linkolis")
    env = {**os.environ, "LINKOLIS_HOME": str(tmp_path / "home"), "LINKOLIS_LOAD_PLUGINS": "amazon"}
    server = subprocess.Popen(
        [
            str(linkolis),
            "serve",
            "--port",
            str(port),
            "--certfile",
            str(certfile),
            "--keyfile",
            str(keyfile),
            "--base-url",
            f"https://127.0.0.1:{port}",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    context = ssl.create_default_context()
    ca.configure_trust(context)
    try:
        answer = None
        for _ in range(300):  # bounded: at most about 30 s for the process to start listening
            try:
                answer = httpx.get(f"https://127.0.0.1:{port}/signin", verify=context, timeout=2)
                break
            except httpx.TransportError:
                if server.poll() is not None:
                    break
                time.sleep(0.1)
        assert answer is not None, f"linkolis serve did not answer: {server.stdout.read() if server.poll() else ''}"
        assert answer.status_code == 200
        assert "default-src 'self'" in answer.headers["content-security-policy"]
        assert answer.headers["referrer-policy"] == "no-referrer"
        assert "strict-transport-security" in answer.headers
        assert 'name="password"' in answer.text or "Password" in answer.text
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    output = server.stdout.read()
    assert (
        "Syncing every authorized app in the background with 4 workers."
        if "LINKOLIS_DATABASE_URL" not in os.environ
        else "The sync runs in `linkolis worker` processes"
    ) in output
    assert server.returncode == 0, output


def test_serving_tls_under_an_http_public_address_is_refused_before_anything_listens(tmp_path):
    """The cookie would lose Secure and no HSTS would be sent: serve says so and does not start."""
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    certfile, keyfile = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(certfile))
    cert.private_key_pem.write_to_path(str(keyfile))
    linkolis = Path(sys.executable).with_name("linkolis")
    env = {**os.environ, "LINKOLIS_HOME": str(tmp_path / "home"), "LINKOLIS_LOAD_PLUGINS": ""}
    args = ["serve", "--no-sync", "--port", str(_free_port()), "--certfile", str(certfile), "--keyfile", str(keyfile)]
    try:
        result = subprocess.run(
            [str(linkolis), *args, "--base-url", "http://shop.example"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,  # a safety net: a serve that starts never ends by itself
        )
    except subprocess.TimeoutExpired as started:
        raise AssertionError(f"serve started: {started.stderr}") from None
    assert result.returncode == 2
    assert "http://shop.example is an http:// address, but with --certfile this server speaks https only" in (
        result.stderr
    )
    assert "Serving on" not in result.stderr
