"""The web app: My applications, the panel, the callback, orders and stock. Handlers parse, call the host
functions (``apps``, ``orders``, ``stock``, ``workspaces``), render; nothing here knows a marketplace.

Each request runs its handler in a worker thread on that thread's own ``Host`` (a fork of one built by the
factory the app is given), because a sqlite connection serves one thread at a time. That host acts for the
signed-in user's workspace, set when the request starts and cleared when it ends; it never falls back to a
workspace of its own choosing (``workspace_default`` off), so a request cannot see another workspace's data.

Who is signed in is decided server-side on every request (``sessions.resume``). A form's body is read only after
the request is known to come from a signed-in user (where the page needs one) and from one of our own pages (its
``Origin``); ``BodyLimit`` caps what any request may send before a handler reads a byte of it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Callable
from urllib.parse import parse_qsl, urlencode, urlsplit

import anyio.from_thread
from jinja2 import Environment, PackageLoader, select_autoescape
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from .. import (
    apps,
    installed,
    oauth,
    orders,
    scheduler,
    sessions,
    shipments,
    stock,
    stock_files,
    stock_reads,
    workspaces,
)
from ..apps import FieldSpec, fields_of
from ..errors import LinkolisError, TooBusy
from ..host import Host
from ..http import duration_text
from . import auth, i18n
from .jobs import Job, Jobs
from .security import BodyLimit, SecurityHeaders

CALLBACK_PATH = apps.CALLBACK_PATH  # <base_url>/apps/callback: the redirect URI operators register
ORDER_STATUSES = ["pending", "unshipped", "partially_shipped", "shipped", "cancelled"]
PAGE_SIZE = 25
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

    def root(self) -> Host:
        with self._lock:
            if self._root is None:
                self._root = self.make_host()
                self._root.registry  # noqa: B018 - built once, shared by the forks
            return self._root

    def host(self) -> Host:
        """This thread's host, acting for no workspace until a request sets the signed-in user's (see ``fork``)."""
        host = getattr(self._local, "host", None)
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
            field_title=lambda spec: req._(spec.title),
            moment=lambda text: i18n.moment(text, req.lang),
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


def _expired(req: Req) -> Response:
    return req.render(
        "message.html", 403, title=req._("This form has expired"), message=req._("Reload the page and try again.")
    )


# -- signing in ------------------------------------------------------------------------------------------------


@page(signed_in=False)
def signin(req: Req) -> Response:
    if req.request.method == "GET":
        return see_other("/apps") if req.user else req.render("signin.html")
    email, password = req.f("email"), req.f("password")
    client = req.request.client.host if req.request.client else "?"
    attempt = req.web.limiter.attempt(email, client)  # counted before the check: guesses at once count too
    if attempt is None:
        return req.render(
            "signin.html",
            429,
            email=email,
            error=req._("Too many failed attempts. Wait a quarter of an hour and try again."),
        )
    try:
        user = workspaces.authenticate(req.host, email, password)
    except TooBusy:
        return req.render(
            "signin.html", 429, email=email, error=req._("Many people are signing in right now. Try again in a moment.")
        )
    if user is None:
        return req.render("signin.html", 401, email=email, error=req._("Wrong e-mail address or password."))
    req.web.limiter.succeeded(attempt)
    lang = req.session.get("lang")
    auth.sign_in(req.session, sessions.start(req.host, user, req.web.settings.session_policy))
    if lang:
        req.session["lang"] = lang
    return see_other("/apps")


@page(signed_in=False)
def signout(req: Req) -> Response:
    """Signing out ends every session of the user, on every device, server-side (a copied cookie with them)."""
    if req.user is not None:
        workspaces.end_sessions(req.host, req.user.id)
    sessions.end(req.host, req.session.get(auth.SESSION_KEY))
    req.session.clear()
    return see_other("/signin")


@page(signed_in=False)
def language(req: Req) -> Response:
    lang = req.f("lang")
    if lang in i18n.LANGUAGES:
        req.session["lang"] = lang
        if req.user is not None:
            workspaces.set_language(req.host, req.user.id, lang)
    back = req.f("next", "/apps")
    return see_other(back if back.startswith("/") and not back.startswith("//") else "/apps")


# -- My applications and the panel -----------------------------------------------------------------------------


def _kind_title(host: Host, kind: str) -> str:
    try:
        return host.registry.kind(kind).title
    except LinkolisError:
        return kind


def _sync_texts(req: Req) -> dict[int, list[str]]:
    """Per app id, what the background sync does with it, in the seller's words (``scheduler.status``)."""
    texts: dict[int, list[str]] = {}
    words = {
        ("import", "running"): req._("importing orders"),
        ("push", "running"): req._("sending stock and shipments"),
        ("import", "stopped"): req._("import stopped"),
        ("push", "stopped"): req._("push stopped"),
    }
    for unit in scheduler.status(req.host, workspaces.current_id(req.host))["units"]:
        key = (unit["stream"], unit["state"])
        if unit["state"] == "stalled":  # the server's storage, not the seller's app: the operator's to fix
            texts.setdefault(unit["app_id"], []).append(
                req._("waiting: the server cannot save right now; this carries on by itself when it can")
            )
            continue
        if key in words:
            text = words[key]
        elif unit["stream"] == "import":
            text = req._("next import in %(seconds)s s") % {"seconds": round(unit["waits_s"])}
        else:
            text = req._("next push in %(seconds)s s") % {"seconds": round(unit["waits_s"])}
        if unit["last_error"]:
            text += " · " + req._("last error: %(message)s") % {"message": unit["last_error"]}
        texts.setdefault(unit["app_id"], []).append(text)
    return texts


def _app_rows(req: Req) -> list[dict[str, Any]]:
    rows = []
    syncing = _sync_texts(req)
    for app in installed.list_apps(req.host):
        specs = {s.name: s for s in fields_of(req.host.registry.kind(app.kind).settings)}
        shown = []
        for key, value in app.settings.items():
            if key == "name" or key not in specs:
                continue
            if isinstance(value, bool):
                value = req._("on") if value else req._("off")
            shown.append((req._(specs[key].title), value))
        rows.append(
            {"app": app, "kind": _kind_title(req.host, app.kind), "settings": shown, "sync": syncing.get(app.id, [])}
        )
    return rows


def _panel_fields(specs: list[FieldSpec], values: dict[str, Any], errors: dict[str, str]) -> list[dict[str, Any]]:
    return [{"spec": s, "value": values.get(s.name, s.default), "error": errors.get(s.name, "")} for s in specs]


def _form_values(req: Req, specs: list[FieldSpec]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for spec in specs:
        if spec.type == "bool":
            values[spec.name] = req.f(spec.name) == "on"
            continue
        text = req.f(spec.name).strip()
        if text or spec.required or spec.type == "str":
            values[spec.name] = text
        elif spec.type == "int" and spec.default is None and req.form is not None and spec.name in req.form:
            values[spec.name] = None  # an optional number left empty: none (no cap)
    return values


def _field_errors(req: Req, kind: str, values: dict[str, Any]) -> dict[str, str]:
    try:
        req.host.settings_for(kind, values)
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for error in exc.errors():
            where = str(error["loc"][0]) if error["loc"] else "name"
            errors.setdefault(where, error["msg"])
        return errors
    return {}


def _my_apps(req: Req, status: int = 200, **panel: Any) -> Response:
    return req.render("apps.html", status, rows=_app_rows(req), jobs=_jobs_view(req), **panel)


def _panel_for_app(
    req: Req,
    app: installed.App,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    result: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    kind = req.host.registry.kind(app.kind)
    specs = fields_of(kind.settings)
    return _my_apps(
        req,
        status,
        panel={
            "mode": "configure",
            "app": app,
            "kind": kind,
            "fields": _panel_fields(specs, values or app.settings, errors or {}),
            "credentials": kind.direct_credentials if not kind.oauth or (result and result.get("credentials")) else [],
            "oauth": kind.oauth,
            "result": result or {},
        },
    )


@page()
def my_apps(req: Req) -> Response:
    name = req.q("open")
    if not name:
        return _my_apps(req)
    try:
        app = installed.get(req.host, name)
    except LinkolisError:
        return see_other("/apps")
    result = req.session.pop("result", None)
    if result and result.get("app_id") != app.id:
        result = None
    return _panel_for_app(req, app, result=result)


@page()
def catalog(req: Req) -> Response:
    return req.render("catalog.html", entries=apps.catalog(req.host))


@page()
def new_app(req: Req) -> Response:
    kind_name = req.q("kind") or req.f("kind")
    try:
        kind = req.host.registry.kind(kind_name)
    except LinkolisError:
        return see_other("/apps/catalog")
    specs = fields_of(kind.settings)
    if req.request.method == "GET":
        return _my_apps(
            req,
            panel={
                "mode": "install",
                "kind": kind,
                "fields": _panel_fields(specs, {}, {}),
                "result": {},
                "credentials": [],
            },
        )
    values = _form_values(req, specs)
    errors = _field_errors(req, kind.kind, values)
    if not errors:
        try:
            app = apps.install(req.host, kind.kind, values)
        except LinkolisError as exc:
            errors = {"name": str(exc)}
        else:
            return _authorize(req, app)
    return _my_apps(
        req,
        422,
        panel={
            "mode": "install",
            "kind": kind,
            "fields": _panel_fields(specs, values, errors),
            "result": {},
            "credentials": [],
        },
    )


@page()
def configure(req: Req) -> Response:
    try:
        app = installed.get(req.host, req.f("app"))
    except LinkolisError:
        return see_other("/apps")
    specs = fields_of(req.host.registry.kind(app.kind).settings)
    values = _form_values(req, specs)
    errors = _field_errors(req, app.kind, {**app.settings, **values})
    if not errors:
        try:
            app, _voided = apps.configure(req.host, app, values)
        except LinkolisError as exc:
            errors = {"name": str(exc)}
    if errors:
        return _panel_for_app(req, app, values=values, errors=errors, status=422)
    if not app.authorized:
        return _authorize(req, app)
    return _verify_and_show(req, app)


@page()
def authorize_again(req: Req) -> Response:
    try:
        app = installed.get(req.host, req.f("app"))
    except LinkolisError:
        return see_other("/apps")
    return _authorize(req, app)


def _authorize(req: Req, app: installed.App) -> Response:
    """Start the app's authorization: the consent page for a redirect-type plugin, else the credential fields."""
    kind = req.host.registry.kind(app.kind)
    if not kind.oauth:
        return see_other(apps_url(open=app.name))
    try:
        start = apps.start_authorization(req.host, app, redirect_uri=req.web.settings.redirect_uri)
    except LinkolisError as exc:
        return _panel_for_app(req, app, result={"error": str(exc)}, status=502)
    state = dict(parse_qsl(urlsplit(start.url).query)).get("state")
    if state:
        auth.remember_state(req.session, state)
        req.session["continue"] = {"app_id": app.id, "state": state}
    # A page of ours links on: browsers apply form-action to a form's redirects, and the consent page is elsewhere.
    return req.render("redirect.html", url=start.url, title=kind.title)


@page()
def credentials(req: Req) -> Response:
    try:
        app = installed.get(req.host, req.f("app"))
    except LinkolisError:
        return see_other("/apps")
    kind = req.host.registry.kind(app.kind)
    given = {f.name: req.f(f"credential_{f.name}").strip() for f in kind.direct_credentials}
    try:
        app = apps.authorize_direct(req.host, app, {k: v for k, v in given.items() if v})
    except LinkolisError as exc:
        return _panel_for_app(req, app, result={"error": str(exc), "credentials": True}, status=422)
    return _verify_and_show(req, app)


def _verify_and_show(req: Req, app: installed.App) -> Response:
    try:
        app, checks, ok = apps.verify(req.host, app)
    except LinkolisError as exc:
        req.session["result"] = {"app_id": app.id, "error": str(exc)}
        return see_other(apps_url(open=app.name))
    req.session["result"] = {
        "app_id": app.id,
        "ok": ok,
        "failed": [{"name": c.name, "detail": c.detail, "remedy": c.remedy} for c in checks if c.status == "failed"],
    }
    return see_other(apps_url(open=app.name))


@page(signed_in=False)
def callback(req: Req) -> Response:
    params = dict(req.request.query_params)
    state = params.get("state")
    if oauth.state_origin(req.host.db, state) == "cli":
        return _complete_for_cli(req, params)
    if req.user is None:
        return see_other("/signin")
    if not state and not params.get("error") and req.session.get("continue"):
        return _continue(req, params)
    if not auth.take_state(req.session, state):
        return req.render(
            "message.html",
            400,
            title=req._("This authorization was refused"),
            message=req._(
                "It was not started from your session, or it was already used. "
                "Nothing was stored. Start it again from My applications."
            ),
        )
    app_id = oauth.pending_app_id(req.host.db, state)
    app = next((a for a in installed.list_apps(req.host) if a.id == app_id), None)
    if app is None:
        return req.render(
            "message.html",
            400,
            title=req._("This authorization was refused"),
            message=req._("Its app is no longer installed. Nothing was stored."),
        )
    req.session.pop("continue", None)
    try:
        app = apps.complete_authorization(req.host, app, params)
    except LinkolisError as exc:
        req.session["result"] = {"app_id": app.id, "error": str(exc), "denied": bool(params.get("error"))}
        return see_other(apps_url(open=app.name))
    return _verify_and_show(req, app)


def _complete_for_cli(req: Req, params: dict[str, str]) -> Response:
    """`linkolis apps authorize` started this state and waits for it: no browser session is bound to it (the
    terminal holds the state), so it completes without one, and the page sends the seller back to the terminal."""
    app = apps.pending_app(req.host, params.get("state"))
    if app is None:
        return req.render(
            "message.html",
            400,
            title=req._("This authorization was refused"),
            message=req._("Its app is no longer installed. Nothing was stored."),
        )
    try:
        app = apps.complete_authorization(req.host, app, params)
    except LinkolisError as exc:
        return req.render("message.html", 400, title=req._("This authorization was refused"), message=str(exc))
    return req.render(
        "message.html",
        title=req._("Authorization complete"),
        message=req._("%(name)s is authorized. Back in the terminal.") % {"name": app.name},
        back=False,
    )


def _continue(req: Req, params: dict[str, str]) -> Response:
    """A log-in page step sent the browser back without our state: the plugin says where it goes next."""
    pending = req.session.pop("continue")
    app = next((a for a in installed.list_apps(req.host) if a.id == pending["app_id"]), None)
    if app is None:
        return see_other("/apps")
    try:
        start = apps.continue_authorization(req.host, app, params, pending["state"])
    except LinkolisError as exc:
        req.session["result"] = {"app_id": app.id, "error": str(exc)}
        return see_other(apps_url(open=app.name))
    return req.render("redirect.html", url=start.url, title=_kind_title(req.host, app.kind))


@page()
def remove(req: Req) -> Response:
    try:
        app = installed.get(req.host, req.q("app") or req.f("app"))
    except LinkolisError:
        return see_other("/apps")
    if req.request.method == "GET":
        return req.render("remove.html", app=app)
    apps.remove(req.host, app, purge=req.f("purge") == "on")
    return see_other("/apps")


# -- imports and pushes started here ---------------------------------------------------------------------------


def _job_text(req: Req, job: Job) -> str:
    name = job.app_name
    if job.state == "failed":
        return req._("%(what)s for %(name)s failed: %(error)s") % {
            "what": req._("Import") if job.what == "import" else req._("Push"),
            "name": name,
            "error": job.error,
        }
    if job.what == "import":
        if job.state == "running":
            return req._("Importing orders for %(name)s: %(done)s so far") % {"name": name, "done": job.done}
        return req._("Import finished for %(name)s: %(new)s new, %(updated)s updated orders") % {
            "name": name,
            "new": job.summary.get("new", 0),
            "updated": job.summary.get("updated", 0),
        }
    if job.state == "running":
        return req._("Pushing stock for %(name)s: %(done)s sent") % {"name": name, "done": job.done}
    if job.summary.get("note"):
        return req._("Nothing pushed for %(name)s: stock update sync is off") % {"name": name}
    return req._("Push finished for %(name)s: %(accepted)s accepted, %(rejected)s rejected, %(pending)s pending") % {
        "name": name,
        **{k: job.summary.get(k, 0) for k in ("accepted", "rejected", "pending")},
    }


def _jobs_view(req: Req) -> list[dict[str, Any]]:
    if req.user is None:
        return []
    return [
        {
            "app": j.app_name,
            "what": j.what,
            "state": j.state,
            "done": j.done,
            "total": j.total,
            "text": _job_text(req, j),
        }
        for j in req.web.jobs.of_workspace(req.user.workspace_id)
    ]


def _import_waits(req: Req, app: installed.App) -> Response | None:
    """A page saying why an import of ``app`` does not start now (one runs, or its quota's next turn is later);
    None when it may start. Nothing is queued: the seller presses again when the page says."""
    wait = orders.next_import(req.host, app)
    if wait is None:
        return None
    if wait.running:
        message = req._("An import of %(name)s is running now; its orders appear as it goes.") % {"name": app.name}
    else:
        message = req._(
            "%(name)s imported orders a moment ago. Its marketplace allows the next import in %(wait)s; "
            "the background sync imports on its own meanwhile."
        ) % {"name": app.name, "wait": duration_text(wait.seconds)}
    return req.render("message.html", 429, title=req._("Not started"), message=message)


def _start_job(req: Req, what: str) -> Response:
    try:
        app = installed.get(req.host, req.f("app"))
        installed.require_authorized(app)
    except LinkolisError as exc:
        return req.render("message.html", 409, title=req._("Not started"), message=str(exc))
    if what == "import" and (waits := _import_waits(req, app)) is not None:
        return waits
    web = req.web
    job = Job(workspace_id=req.user.workspace_id, app_id=app.id, app_name=app.name, what=what)  # type: ignore

    def work(job: Job) -> dict[str, Any]:
        host = web.fork(job.workspace_id)
        try:
            if what == "import":
                return orders.import_orders(host, app.name, progress=job)
            return stock.push_stock(host, app.name, progress=job)
        finally:
            host.close()

    web.jobs.start(job, work)
    back = req.f("next", "/apps")
    return see_other(back if back.startswith("/") and not back.startswith("//") else "/apps")


@page()
def import_now(req: Req) -> Response:
    return _start_job(req, "import")


@page()
def push_now(req: Req) -> Response:
    return _start_job(req, "push")


@page()
def jobs_json(req: Req) -> Response:
    return JSONResponse({"jobs": _jobs_view(req)})


# -- orders ----------------------------------------------------------------------------------------------------


@page()
def orders_page(req: Req) -> Response:
    status = req.q("status") if req.q("status") in ORDER_STATUSES else ""
    search = req.q("q").strip()
    if search:
        try:  # an exact id (the marketplace's or the host's) opens that order
            return see_other(f"/orders/{orders.get_order(req.host, search)['id']}")
        except LinkolisError:
            found = orders.list_orders(req.host, search=search, limit=PAGE_SIZE)  # else: ids that contain it
        if len(found) == 1:
            return see_other(f"/orders/{found[0]['id']}")
        return req.render(
            "orders.html",
            rows=found,
            status="",
            statuses=ORDER_STATUSES,
            search=search,
            page=1,
            more=False,
            jobs=_jobs_view(req),
            apps=installed.list_apps(req.host),
            not_found=not found,
        )
    try:
        number = max(1, int(req.q("page", "1")))
    except ValueError:
        number = 1
    rows = orders.list_orders(req.host, status=status or None, limit=PAGE_SIZE + 1, offset=(number - 1) * PAGE_SIZE)
    shown = rows[:PAGE_SIZE]
    return req.render(
        "orders.html",
        rows=shown,
        status=status,
        statuses=ORDER_STATUSES,
        search="",
        page=number,
        more=len(rows) > PAGE_SIZE,
        jobs=_jobs_view(req),
        apps=installed.list_apps(req.host),
        not_found=False,
    )


def _order_view(req: Req, order: dict[str, Any], status: int = 200, **extra: Any) -> Response:
    kind = installed.get(req.host, order["app"]).kind
    return req.render(
        "order.html",
        status,
        order=order,
        carriers=req.host.registry.kind(kind).carriers,
        shipments=shipments.list_shipments(req.host, order["app"], order=order["marketplace_order_id"]),
        cancels_here=orders.cancels_here(req.host, order),
        **extra,
    )


@page()
def order_page(req: Req) -> Response:
    try:
        order = orders.get_order(req.host, req.request.path_params["order_id"])
    except LinkolisError:
        return req.render("message.html", 404, title=req._("No such order"), message="")
    return _order_view(req, order)


@page()
def order_ship(req: Req) -> Response:
    try:
        order = orders.get_order(req.host, req.request.path_params["order_id"])
    except LinkolisError:
        return req.render("message.html", 404, title=req._("No such order"), message="")
    if order["cancellation_requested"] and req.f("ship_anyway") != "on":
        return _order_view(
            req,
            order,
            422,
            error=req._("The buyer asked to cancel this order. Tick “Ship it anyway” to ship it all the same."),
            tracking=req.f("tracking"),
            carrier=req.f("carrier"),
        )
    try:
        shipments.ship_order(
            req.host,
            order["marketplace_order_id"],
            carrier=req.f("carrier"),
            tracking=req.f("tracking"),
            app=order["app"],
        )
    except LinkolisError as exc:
        return _order_view(req, order, 422, error=str(exc), tracking=req.f("tracking"), carrier=req.f("carrier"))
    return _order_view(req, orders.get_order(req.host, str(order["id"])), shipped=True)


@page()
def order_cancel(req: Req) -> Response:
    """Accept the buyer's request to cancel: the order is cancelled at the marketplace, then here."""
    try:
        order = orders.get_order(req.host, req.request.path_params["order_id"])
    except LinkolisError:
        return req.render("message.html", 404, title=req._("No such order"), message="")
    try:
        result = orders.cancel_order(
            req.host,
            str(order["id"]),
            reason="requested_by_buyer",
            app=order["app"],
            by=req.user.email,  # type: ignore[union-attr]
        )
    except LinkolisError as exc:
        return _order_view(req, order, 422, cancel_error=str(exc))
    status = 422 if result["status"] == "rejected" else 200
    return _order_view(req, orders.get_order(req.host, str(order["id"])), status, cancelled=result)


# -- stock -----------------------------------------------------------------------------------------------------


def _stock_view(req: Req, status: int = 200, **extra: Any) -> Response:
    by_sku: dict[str, dict[str, Any]] = {}
    for row in stock.list_stock(req.host):
        entry = by_sku.setdefault(
            row["sku"],
            {"sku": row["sku"], "on_hand": row["on_hand"], "reserved": row["reserved"], "apps": []},
        )
        if row["app"]:
            entry["apps"].append(row)
    sync_apps = [a for a in installed.list_apps(req.host) if a.authorized]
    return req.render("stock.html", status, rows=list(by_sku.values()), apps=sync_apps, jobs=_jobs_view(req), **extra)


@page()
def stock_page(req: Req) -> Response:
    return _stock_view(req)


@page()
def stock_sku_page(req: Req) -> Response:
    """One SKU: why it is what it is (``stock_reads.show_stock``), asking each marketplace what it shows."""
    try:
        shown = stock_reads.show_stock(req.host, req.q("sku"), read=True)
    except LinkolisError:
        return req.render("message.html", 404, title=req._("No such SKU"), message="")
    return req.render("stock_sku.html", item=shown)


@page()
def stock_set(req: Req) -> Response:
    try:
        stock.set_stock(req.host, req.f("sku"), req.f("quantity").strip(), by=req.user.email)  # type: ignore[union-attr]
    except LinkolisError as exc:
        return _stock_view(req, 422, error=str(exc), sku=req.f("sku"), quantity=req.f("quantity"))
    return see_other("/stock")


@page()
def stock_upload(req: Req) -> Response:
    upload = req.form.get("file") if req.form is not None else None
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _stock_view(req, 422, error=req._("Choose a CSV file first."))
    try:  # read a piece at a time from where the form parser spooled it (on disk past 1 MB), never whole
        count = stock_files.load_stock_stream(req.host, upload.file, upload.filename, by=req.user.email)  # type: ignore[union-attr]
    except LinkolisError as exc:
        return _stock_view(req, 422, error=str(exc))
    return _stock_view(req, loaded=count)


# -- the app ---------------------------------------------------------------------------------------------------


@page(signed_in=False)
def home(req: Req) -> Response:
    return see_other("/apps" if req.user else "/signin")


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
