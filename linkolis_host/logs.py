"""The log lines of a long-running process (`serve`, `sync --watch`, `worker`) as an operator's log pipeline reads
them: ``--log-format json`` makes each line one JSON object.

Every line says what it was about, from context variables set where the work starts: ``app`` and ``workspace`` by
a sync unit (``scheduler.run_unit``), ``request_id`` and ``workspace`` by a web request (the proxy's
``X-Request-ID`` when it sends a sane one, else a new one, echoed in the answer). A line outside such work has
them null.

Secrets never reach a line: the redactor (``context.REDACTOR``) rewrites the message and the exception's text
before they are written as JSON (after, a secret with a quote in it would no longer read as itself).
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import threading
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Iterator

FORMATS = ("text", "json")

APP: contextvars.ContextVar[str | None] = contextvars.ContextVar("linkolis_app", default=None)
WORKSPACE: contextvars.ContextVar[int | None] = contextvars.ContextVar("linkolis_workspace", default=None)
REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("linkolis_request_id", default=None)

_SANE_ID = re.compile(r"[A-Za-z0-9._:-]{8,64}")
_json = threading.Event()  # set while this process's command logs JSON lines (``--log-format json``)


def json_lines() -> bool:
    """Whether what this process says on stderr goes out as JSON lines (the CLI's ``--log-format json``): then
    progress and messages are log records too, never a bare line among them."""
    return _json.is_set()


def set_json_lines(on: bool) -> None:
    if on:
        _json.set()
    else:
        _json.clear()


@contextmanager
def about(app: str | None = None, workspace: int | None = None) -> Iterator[None]:
    """Lines logged inside the block name this app and workspace."""
    tokens = [APP.set(app), WORKSPACE.set(workspace)]
    try:
        yield
    finally:
        WORKSPACE.reset(tokens[1])
        APP.reset(tokens[0])


def request_id(given: str | None) -> str:
    """The id of a web request: the proxy's ``X-Request-ID`` when it looks like one (never a client's prose), else
    a new one."""
    if given and _SANE_ID.fullmatch(given):
        return given
    return uuid.uuid4().hex


class JsonLines(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message, app, workspace, request_id, and the
    exception's type and text when there is one (never its traceback, which may quote a local holding a secret)."""

    def __init__(self, redact: Any = None) -> None:
        super().__init__()
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        redact = self.redact or (lambda text: text)
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage()),
            "app": APP.get(),
            "workspace": WORKSPACE.get(),
            "request_id": REQUEST_ID.get(),
        }
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            line["error"] = redact(f"{type(error).__name__}: {error}")
        return json.dumps(line, ensure_ascii=False, default=str)
