"""The web app: My applications, the panel, the callback, orders and stock. Handlers parse, call the host
functions (``apps``, ``orders``, ``stock``, ``workspaces``), render; nothing here knows a marketplace.

Each area's pages live in a module of their own (``signin``, ``apps_pages``, ``jobs_pages``, ``orders_pages``,
``stock_pages``) over the plumbing in ``pages``; this module routes them and wraps them in the middleware."""

from __future__ import annotations

import contextlib
from typing import AsyncIterator, Callable

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from .. import metrics, stock_files, worker
from ..host import Host
from . import apps_pages, auth, health_pages, help_pages, jobs_pages, orders_pages, signin, stock_pages
from .pages import CALLBACK_PATH, FORM_BYTES, Web, WebSettings
from .request_ids import RequestIds
from .security import BodyLimit, SecurityHeaders

__all__ = ["WebSettings", "create_app"]

JOBS_GRACE = 10.0  # seconds serve gives the imports and pushes started from its pages to end when it stops


def create_app(make_host: Callable[[], Host], settings: WebSettings) -> Starlette:
    """The web app on hosts built by ``make_host`` (one, forked per worker thread)."""
    web = Web(make_host, settings)
    routes = [
        Route("/", signin.home),
        Route("/signin", signin.signin, methods=["GET", "POST"]),
        Route("/signout", signin.signout, methods=["POST"]),
        Route("/language", signin.language, methods=["POST"]),
        Route("/apps", apps_pages.my_apps),
        Route("/apps/catalog", apps_pages.catalog),
        Route("/apps/new", apps_pages.new_app, methods=["GET", "POST"]),
        Route("/apps/configure", apps_pages.configure, methods=["POST"]),
        Route("/apps/authorize", apps_pages.authorize_again, methods=["POST"]),
        Route("/apps/credentials", apps_pages.credentials, methods=["POST"]),
        Route("/apps/verify", apps_pages.verify_again, methods=["POST"]),
        Route(CALLBACK_PATH, apps_pages.callback),
        Route("/apps/remove", apps_pages.remove, methods=["GET", "POST"]),
        Route("/apps/import", jobs_pages.import_now, methods=["POST"]),
        Route("/stock/push", jobs_pages.push_now, methods=["POST"]),
        Route("/jobs", jobs_pages.jobs_json),
        Route("/orders", orders_pages.orders_page),
        Route("/orders/{order_id}", orders_pages.order_page),
        Route("/orders/{order_id}/ship", orders_pages.order_ship, methods=["POST"]),
        Route("/orders/{order_id}/cancel", orders_pages.order_cancel, methods=["POST"]),
        Route("/stock", stock_pages.stock_page),
        Route("/stock/sku", stock_pages.stock_sku_page),
        Route("/stock/set", stock_pages.stock_set, methods=["POST"]),
        Route("/stock/upload", stock_pages.stock_upload, methods=["POST"]),
        Route("/help", help_pages.help_page),
        Route("/healthz", health_pages.healthz),
        Route("/readyz", health_pages.readyz),
        Route("/metrics", health_pages.metrics_page),
        Mount("/static", StaticFiles(packages=[("linkolis_host.web", "static")]), name="static"),
    ]
    root = web.root()
    middleware = [
        Middleware(RequestIds),
        Middleware(SecurityHeaders, hsts=bool(settings.secure_cookies)),
        Middleware(
            BodyLimit, default=FORM_BYTES, limits={"/stock/upload": stock_files.MAX_STOCK_FILE_BYTES + FORM_BYTES}
        ),
        Middleware(
            SessionMiddleware,
            secret_key=auth.session_secret(root.home, root.env),
            session_cookie="linkolis_session",
            max_age=int(settings.session_lifetime),
            same_site="lax",
            https_only=bool(settings.secure_cookies),
        ),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        yield
        # Stopping (SIGTERM): the imports and pushes started from the pages end after the page in hand.
        await run_in_threadpool(web.jobs.stop_all, JOBS_GRACE)

    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.state.web = web
    app.state.store_gauges = metrics.StoreGauges(web.host, queue=worker.queue_status)  # GET /metrics reads them
    return app
