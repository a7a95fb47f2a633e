"""Each request's id and its line in the log.

The id is the proxy's ``X-Request-ID`` when sane, else a new one (``logs.request_id``); every log line written while
the request is served names it (``logs.REQUEST_ID``), and the answer carries it back, so an operator finds a seller's
"it failed at 14:02" by the id the browser's developer tools show. When the request is answered, one line at INFO
on ``linkolis.web`` says its method, path, status and time, with the workspace of the signed-in user: the path
only, never the query, which carries OAuth codes on the callback (uvicorn's access log is off for that reason).
"""

from __future__ import annotations

import logging
import time

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import logs
from . import security

log = logging.getLogger("linkolis.web")


class RequestIds:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = logs.request_id(Headers(scope=scope).get("x-request-id"))
        token = logs.REQUEST_ID.set(rid)
        started = time.monotonic()
        status, status_sent = 500, False

        async def with_id(message: Message) -> None:
            nonlocal status, status_sent
            if message["type"] == "http.response.start":
                status, status_sent = message["status"], True
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, with_id)
        except Exception:
            # Logged here, while the id is set, and answered with it, so the operator finds this request's line:
            # past this middleware Starlette's own 500 would carry no id.
            log.exception("%s %s failed", scope["method"], scope["path"])
            if status_sent:
                raise  # the answer had begun: nothing better to send
            status = 500
            headers = [(b"content-type", b"text/plain; charset=utf-8"), *security.HEADERS]
            await with_id({"type": "http.response.start", "status": 500, "headers": headers})
            await send({"type": "http.response.body", "body": f"Internal Server Error ({rid})".encode()})
        finally:
            if log.isEnabledFor(logging.INFO):
                workspace = logs.WORKSPACE.set((scope.get("state") or {}).get("workspace_id"))
                log.info("%s %s %s %d ms", scope["method"], scope["path"], status, (time.monotonic() - started) * 1000)
                logs.WORKSPACE.reset(workspace)
            logs.REQUEST_ID.reset(token)
