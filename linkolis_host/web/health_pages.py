"""What an operator's tools ask, without signing in: ``/healthz`` (the process answers), ``/readyz`` (it can
serve: ``health.readiness``, codes only) and ``/metrics`` (Prometheus' text, only with the metrics token)."""

from __future__ import annotations

import hmac

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from .. import health, metrics, store
from ..errors import LinkolisError
from .pages import Web


async def healthz(request: Request) -> Response:
    """Alive: the event loop answers. Touches nothing else, so a slow database never gets the process restarted."""
    return PlainTextResponse("ok\n")


async def readyz(request: Request) -> Response:
    web: Web = request.app.state.web

    def check() -> health.Readiness:
        for _ in range(2):  # a connection the database dropped (a restart) is noticed by its first use: once more
            try:
                host = web.host()  # this thread's connection, opened on its first request
            except (LinkolisError, *store.ERRORS):
                return health.UNREACHABLE
            result = health.readiness(host)
            if result.ready or not getattr(host.db, "broken", False):
                break
        return result

    result = await run_in_threadpool(check)
    return JSONResponse(result.model_dump(exclude_none=True), status_code=200 if result.ready else 503)


async def metrics_page(request: Request) -> Response:
    """Prometheus' text with ``Authorization: Bearer <metrics token>``; no token set: there is no such page."""
    web: Web = request.app.state.web
    token = web.settings.metrics_token
    if not token:
        return PlainTextResponse("Not Found", status_code=404)
    given = request.headers.get("authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return PlainTextResponse(
            "a metrics token is needed (Authorization: Bearer …)",
            status_code=401,
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    body = await run_in_threadpool(metrics.exposition, request.app.state.store_gauges)
    return Response(body, media_type=metrics.CONTENT_TYPE)
