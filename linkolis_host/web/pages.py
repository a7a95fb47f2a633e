"""What every page of the web app shares: the request a handler gets (``Req``), the app's state (``Web``), its
settings, and ``page``, which makes a plain function a Starlette endpoint. The pages themselves live by area:
``signin``, ``apps_pages`` (My applications, the panel, the authorization and its callback), ``jobs_pages``
(imports and pushes started here), ``orders_pages``, ``stock_pages``; ``app`` puts them together.

Each request runs its handler in a worker thread on that thread's own ``Host`` (a fork of one built by the
factory the app is given), because a sqlite connection serves one thread at a time. That host acts for the
signed-in user's workspace, set when the request starts and cleared when it ends; it never falls back to a
workspace of its own choosing (``workspace_default`` off), so a request cannot see another workspace's data.

Who is signed in is decided server-side on every request (``sessions.resume``). A form's body is read only after
the request is known to come from a signed-in user (where the page needs one) and from one of our own pages (its
``Origin``); ``BodyLimit`` caps what any request may send before a handler reads a byte of it.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass, field
from functools import cached_property, partial
from typing import Any, Callable
from urllib.parse import urlencode, urlsplit

import anyio.from_thread
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from .. import apps, installed, logs, sessions, store, workspaces
from ..errors import LinkolisError
from ..host import Host
from . import auth, formats, i18n
from .jobs import Jobs

CALLBACK_PATH = apps.CALLBACK_PATH  # <base_url>/apps/callback: the redirect URI operators register
FORM_BYTES = 1024 * 1024  # the most a form may send, but for the stock upload's file


@dataclass
class WebSettings:
    """``base_url`` is the public address (the OAuth redirect URI is ``<base_url>/apps/callback``)."""

    base_url: str
    secure_cookies: bool | None = None  # default: when base_url is https
    login_attempts: int = 5  # checks of one account's password in login_window seconds, from any client
    login_window: float = 900.0
    login_per_client: int = 20  # checks of any account's password from one client address in login_window
    session_idle: float = sessions.SessionPolicy.idle  # a session ends this many seconds after its last request
    session_lifetime: float = sessions.SessionPolicy.lifetime  # and this many seconds after signing in
    metrics_token: str | None = field(default=None, repr=False)  # GET /metrics wants it as a bearer token; none: off

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        if self.secure_cookies is None:
            self.secure_cookies = self.base_url.startswith("https://")

    @property
    def redirect_uri(self) -> str:
        return self.base_url + CALLBACK_PATH

    @property
    def session_policy(self) -> sessions.SessionPolicy:
        return sessions.SessionPolicy(idle=self.session_idle, lifetime=self.session_lifetime)

    @property
    def origin(self) -> str:
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.netloc}"


@dataclass
class Req:
    """What a handler gets: the request, the parsed form, this thread's host, the signed-in user, the language."""

    request: Request
    host: Host
    user: workspaces.User | None
    lang: str
    form: FormData | None = None
    web: Web = field(default=None)  # type: ignore[assignment]

    @property
    def session(self) -> dict:
        return self.request.session

    def _(self, message: str) -> str:
        return i18n.translations(self.lang).gettext(message)

    def kind_(self, kind: str, message: str) -> str:
        """A plugin's text (``kind``'s description, a field's title, help or choice) in the page's language."""
        try:
            offered = self.host.registry.kind(kind)
        except LinkolisError:  # its plugin is gone: the host's words, else the text as it is
            offered = None
        return i18n.plugin_translations(offered, self.lang).gettext(message) if message else ""

    def app_text(self, app: str, message: str) -> str:
        """A text the plugin of the app named ``app`` wrote (a push's outcome), in the page's language when its
        catalog holds it as it is; else as written (a marketplace's own words)."""
        kind = self._app_kinds.get(app)
        return self.kind_(kind, message) if kind and message else message

    @cached_property
    def _app_kinds(self) -> dict[str, str]:
        return {a.name: a.kind for a in installed.list_apps(self.host)}

    def q(self, name: str, default: str = "") -> str:
        return self.request.query_params.get(name, default)

    def f(self, name: str, default: str = "") -> str:
        value = self.form.get(name) if self.form is not None else None
        return value if isinstance(value, str) else default

    def render(self, template: str, http_status: int = 200, **context: Any) -> HTMLResponse:
        return self.web.render(self, template, http_status, **context)


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def apps_url(**params: str) -> str:
    return "/apps" + ("?" + urlencode(params) if params else "")


class Web:
    def __init__(self, make_host: Callable[[], Host], settings: WebSettings) -> None:
        self.make_host = make_host
        self.settings = settings
        self._root: Host | None = None
        self._local = threading.local()
        self._lock = threading.Lock()
        self.jobs = Jobs()
        self.limiter = auth.LoginLimiter(settings.login_attempts, settings.login_window, settings.login_per_client)
        self.templates = Environment(
            loader=PackageLoader("linkolis_host.web", "templates"),
            autoescape=select_autoescape(default=True, default_for_string=True),
        )
        formats.install(self.templates)

    def root(self) -> Host:
        with self._lock:
            if self._root is None:
                self._root = self.make_host()
                self._root.registry  # noqa: B018 - built once, shared by the forks
            return self._root

    def host(self) -> Host:
        """This thread's host, acting for no workspace until a request sets the signed-in user's (see ``fork``)."""
        host = getattr(self._local, "host", None)
        if host is not None and getattr(host.db, "broken", False):
            # PostgreSQL restarted, or the network dropped the connection: this thread's next request opens a new one
            # (else every request on this thread would fail until serve restarted).
            with contextlib.suppress(Exception):
                host.close()
            host = None
        if host is None:
            host = self._local.host = self.fork()
        host.workspace_id = None
        return host

    def fork(self, workspace_id: int | None = None) -> Host:
        """A host on a connection of its own, acting for ``workspace_id`` only, never for a default one."""
        host = self.root().fork()
        host.workspace_id, host.workspace_default = workspace_id, False
        return host

    def signed_in_user(self, host: Host, session: dict) -> workspaces.User | None:
        """The user whose live session the cookie names; a cookie naming none is emptied."""
        user = sessions.resume(host, session.get(auth.SESSION_KEY), self.settings.session_policy)
        if user is None and auth.SESSION_KEY in session:
            session.clear()
        return user

    def render(self, req: Req, template: str, http_status: int, **context: Any) -> HTMLResponse:
        page = self.templates.get_template(template).render(
            _=req._,
            lang=req.lang,
            user=req.user,
            csrf=auth.csrf_token(req.session),
            path=req.request.url.path,
            kind_=req.kind_,
            app_text=req.app_text,
            time_zone=req.user.time_zone if req.user else workspaces.DEFAULT_TIME_ZONE,
            **context,
        )
        return HTMLResponse(page, status_code=http_status)


def _language(request: Request, user: workspaces.User | None) -> str:
    if user is not None and user.language in i18n.LANGUAGES:
        return user.language
    if request.session.get("lang") in i18n.LANGUAGES:
        return request.session["lang"]
    return i18n.from_accept_language(request.headers.get("accept-language"))


def _from_elsewhere(request: Request, web: Web) -> bool:
    """A form posted from a page that is not ours (a cross-site request forgery), told by the headers a browser
    sends with every POST, and refused before its body is read: ``Sec-Fetch-Site``, else ``Origin`` (which our
    pages' ``Referrer-Policy: no-referrer`` makes "null" for our own forms). A request with neither (not a
    browser's) still needs the form's CSRF token, checked once the form is read."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site not in ("same-origin", "none")
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return False
    return origin not in (web.settings.origin, f"{request.url.scheme}://{request.url.netloc}")


def page(signed_in: bool = True) -> Callable:
    """Make a sync handler ``fn(req) -> Response`` an endpoint: the session's user, CSRF on POST, a worker thread.

    In that order, and the body of a POST read only once the first two passed: the user (none when the page needs
    one: to the sign-in page), where the form comes from (another site's: refused), then the form and its token.
    """

    def wrap(fn: Callable[[Req], Response]) -> Callable:
        async def endpoint(request: Request) -> Response:
            web: Web = request.app.state.web

            def run() -> Response:
                host = web.host()  # for no workspace until the user is known
                try:
                    return answer(host)
                except store.ERRORS:
                    if not getattr(host.db, "broken", False):
                        raise
                    # The database dropped this thread's connection (a restart, a failover): a page that only
                    # reads is asked again on a new one; a form is not sent twice, the seller is told to.
                    if request.method in ("GET", "HEAD"):
                        host.workspace_id = None
                        host = web.host()
                        return answer(host)
                    return _unreachable(Req(request, host, None, _language(request, None), None, web))
                finally:
                    host.workspace_id = None  # the next request on this thread starts from none

            def answer(host: Host) -> Response:
                user = web.signed_in_user(host, request.session)
                host.workspace_id = user.workspace_id if user else None
                req = Req(request, host, user, _language(request, user), None, web)
                if signed_in and user is None:
                    return see_other("/signin")
                if request.method == "POST":
                    if _from_elsewhere(request, web):
                        return _expired(req)
                    req.form = anyio.from_thread.run(partial(request.form, max_files=1, max_fields=200))
                    if not auth.csrf_ok(request.session, req.f("csrf") or None):
                        return _expired(req)
                request.state.workspace_id = user.workspace_id if user else None
                logs.WORKSPACE.set(request.state.workspace_id)  # this request's thread context, copied for it
                try:
                    return fn(req)
                finally:
                    if req.form is not None:
                        for value in req.form.values():
                            if isinstance(value, UploadFile):
                                value.file.close()

            return await run_in_threadpool(run)

        return endpoint

    return wrap


def _unreachable(req: Req) -> Response:
    return req.render(
        "message.html",
        503,
        title=req._("This site cannot reach its database right now."),
        message=req._("Nothing was changed. Try again in a minute."),
        back=False,
    )


def _expired(req: Req) -> Response:
    return req.render(
        "message.html", 403, title=req._("This form has expired"), message=req._("Reload the page and try again.")
    )
