"""`--log-format json`: what a long-running process writes on stderr is one JSON object a line, each naming the app,
the workspace and the web request it is about, and never a secret."""

from __future__ import annotations

import json
import logging
import os
import signal

from helpers import authorize_app, install_app, token_of
from starlette.testclient import TestClient

from linkolis_host import logs, workspaces
from linkolis_host.context import REDACTOR
from linkolis_host.web import WebSettings, create_app

PASSWORD = "correct horse battery staple"


def lines_of(stderr: str) -> list[dict]:
    found = [line for line in stderr.splitlines() if line.strip()]
    assert found, "nothing logged"
    return [json.loads(line) for line in found]  # each line must parse on its own


class StopAfter(logging.Handler):
    """The operator's `systemctl stop` once the sync said ``what``."""

    def __init__(self, what: str) -> None:
        super().__init__()
        self.what = what

    def emit(self, record: logging.LogRecord) -> None:
        if self.what in record.getMessage():
            os.kill(os.getpid(), signal.SIGTERM)


def test_sync_watch_logs_json_lines_naming_the_app_and_its_workspace(run, host, market):
    install_app(run, "Shop EU", "EU")
    authorize_app(run, "Shop EU", account="SELLER1")
    market.add_order("O-1")
    stopper = StopAfter("1 new")
    logging.getLogger("linkolis").addHandler(stopper)
    try:
        result = run("--log-format", "json", "sync", "--watch", "--workers", "1")
    finally:
        logging.getLogger("linkolis").removeHandler(stopper)
    lines = lines_of(result.stderr)
    assert {"time", "level", "logger", "message", "app", "workspace", "request_id"} <= set(lines[0])
    imported = next(line for line in lines if "1 new" in line["message"])
    assert imported["app"] == "Shop EU" and imported["workspace"] == 1 and imported["level"] == "info"
    assert lines[-1]["message"] == "Stopped." and lines[-1]["app"] is None
    assert token_of("SELLER1") not in result.stderr
    assert not logging.getLogger("linkolis").handlers, "the command's handler went with it"


def test_a_secret_in_a_message_or_an_exception_is_redacted_even_with_a_quote_in_it():
    secret = 'tok"en-123456-very-secret'
    REDACTOR.add(secret)
    record = logging.LogRecord("linkolis.x", logging.ERROR, __file__, 1, "refused %s", (secret,), None)
    try:
        raise ValueError(f"bad token {secret}")
    except ValueError as exc:
        record.exc_info = (type(exc), exc, exc.__traceback__)
    with logs.about("Shop EU", 7):
        line = json.loads(logs.JsonLines(REDACTOR.redact).format(record))
    assert line["message"] == "refused [redacted]"
    assert line["error"] == "ValueError: bad token [redacted]"
    assert (line["app"], line["workspace"]) == ("Shop EU", 7)
    assert "very-secret" not in json.dumps(line)


def test_each_web_request_has_an_id_its_log_lines_and_answer_carry(home, caplog):
    from linkolis_host.host import Host

    with Host(home) as host:
        workspaces.add_workspace(host, "Anna's shop")
        workspaces.add_user(host, "anna@example.com", PASSWORD, "Anna's shop")
    browser = TestClient(
        create_app(lambda: Host(home), WebSettings("https://shop.example")), base_url="https://shop.example"
    )
    given = browser.get("/signin", headers={"X-Request-ID": "proxy-1234abcd"})
    assert given.headers["x-request-id"] == "proxy-1234abcd", "the proxy's id, kept"
    made = browser.get("/signin", headers={"X-Request-ID": "<script>alert(1)</script>"})
    assert len(made.headers["x-request-id"]) == 32 and "<" not in made.headers["x-request-id"], "prose replaced"

    seen = []

    class Keep(logging.Handler):
        def emit(self, record):
            seen.append(json.loads(logs.JsonLines().format(record)))

    keep = Keep()
    web_log = logging.getLogger("linkolis.web")
    web_log.addHandler(keep)
    web_log.setLevel(logging.INFO)
    try:
        page = browser.get("/signin")
        token = page.text.split('name="csrf" value="')[1].split('"')[0]
        browser.post("/signin", data={"csrf": token, "email": "anna@example.com", "password": PASSWORD})
        browser.get("/apps?code=oauth-code-never-logged", headers={"X-Request-ID": "proxy-5678efgh"})
    finally:
        web_log.removeHandler(keep)
        web_log.setLevel(logging.NOTSET)
    apps_line = next(line for line in seen if line["request_id"] == "proxy-5678efgh")
    assert apps_line["message"].startswith("GET /apps 200 ")
    assert apps_line["workspace"] == 1, "the signed-in user's workspace"
    assert not any("oauth-code" in line["message"] for line in seen), "the path only, never the query"


def test_with_json_lines_errors_and_progress_are_json_lines_too(run, host):
    refused = run("--log-format", "json", "apps", "verify", "Nope", code=1)
    [line] = lines_of(refused.stderr)
    assert line["level"] == "error" and "Nope" in line["message"]

    rotated = run("--log-format", "json", "keys", "rotate")
    assert any("Re-encrypting" in line["message"] for line in lines_of(rotated.stderr)), "progress as a log record"

    result = run("--log-format", "json", "sync", "status", "--json")
    assert json.loads(result.stdout)["units"] == [], "stdout stays the command's JSON"
    assert not logs.json_lines(), "the next command in this process is back to text"
    assert "Error" in run("apps", "verify", "Nope", code=1).stderr


def test_a_request_that_fails_is_answered_500_with_its_id_and_logged_with_it():
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.routing import Route

    from linkolis_host.web.request_ids import RequestIds

    def broken(request):
        raise RuntimeError("a bug")

    seen = []

    class Keep(logging.Handler):
        def emit(self, record):
            seen.append(json.loads(logs.JsonLines().format(record)))

    web_log = logging.getLogger("linkolis.web")
    web_log.addHandler(keep := Keep())
    try:
        app = Starlette(routes=[Route("/broken", broken)], middleware=[Middleware(RequestIds)])  # as create_app
        answer = TestClient(app, raise_server_exceptions=False).get(
            "/broken", headers={"X-Request-ID": "proxy-0000feed"}
        )
    finally:
        web_log.removeHandler(keep)
    assert answer.status_code == 500 and answer.headers["x-request-id"] == "proxy-0000feed"
    assert answer.headers["x-content-type-options"] == "nosniff"
    failed = next(line for line in seen if line["level"] == "error")
    assert failed["request_id"] == "proxy-0000feed" and failed["error"] == "RuntimeError: a bug"
