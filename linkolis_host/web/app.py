"""The web app: My applications, the panel, the callback, orders and stock. Handlers parse, call the host
functions (``apps``, ``orders``, ``stock``, ``workspaces``), render; nothing here knows a marketplace.

Each area's pages live in a module of their own (``signin``, ``apps_pages``, ``jobs_pages``, ``orders_pages``,
``stock_pages``) over the plumbing in ``pages``; this module routes them and wraps them in the middleware."""

from __future__ import annotations

from typing import Callable

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from .. import stock_files
from ..host import Host
from . import auth
from .apps_pages import authorize_again, callback, catalog, configure, credentials, my_apps, new_app, remove
from .help_pages import help_page
from .jobs_pages import import_now, jobs_json, push_now
from .orders_pages import order_cancel, order_page, order_ship, orders_page
from .pages import CALLBACK_PATH, FORM_BYTES, Web, WebSettings
from .security import BodyLimit, SecurityHeaders
from .signin import home, language, signin, signout
from .stock_pages import stock_page, stock_set, stock_sku_page, stock_upload

__all__ = ["WebSettings", "create_app"]


def create_app(make_host: Callable[[], Host], settings: WebSettings) -> Starlette:
    """The web app on hosts built by ``make_host`` (one, forked per worker thread)."""
    web = Web(make_host, settings)
    routes = [
        Route("/", home),
        Route("/signin", signin, methods=["GET", "POST"]),
        Route("/signout", signout, methods=["POST"]),
        Route("/language", language, methods=["POST"]),
        Route("/apps", my_apps),
        Route("/apps/catalog", catalog),
        Route("/apps/new", new_app, methods=["GET", "POST"]),
        Route("/apps/configure", configure, methods=["POST"]),
        Route("/apps/authorize", authorize_again, methods=["POST"]),
        Route("/apps/credentials", credentials, methods=["POST"]),
        Route(CALLBACK_PATH, callback),
        Route("/apps/remove", remove, methods=["GET", "POST"]),
        Route("/apps/import", import_now, methods=["POST"]),
        Route("/stock/push", push_now, methods=["POST"]),
        Route("/jobs", jobs_json),
        Route("/orders", orders_page),
        Route("/orders/{order_id}", order_page),
        Route("/orders/{order_id}/ship", order_ship, methods=["POST"]),
        Route("/orders/{order_id}/cancel", order_cancel, methods=["POST"]),
        Route("/stock", stock_page),
        Route("/stock/sku", stock_sku_page),
        Route("/stock/set", stock_set, methods=["POST"]),
        Route("/stock/upload", stock_upload, methods=["POST"]),
        Route("/help", help_page),
        Mount("/static", StaticFiles(packages=[("linkolis_host.web", "static")]), name="static"),
    ]
    root = web.root()
    middleware = [
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
    app = Starlette(routes=routes, middleware=middleware)
    app.state.web = web
    return app
