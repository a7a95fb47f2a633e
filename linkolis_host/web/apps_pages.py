"""My applications, the catalog, the panel (install, configure, authorize, credentials, remove) and the
authorization's callback."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from babel.dates import format_timedelta
from starlette.responses import Response

from .. import apps, installed, oauth, scheduler, workspaces
from ..apps import FieldSpec, fields_of
from ..errors import LinkolisError
from ..host import Host
from . import advice, auth
from .jobs_pages import jobs_view
from .pages import Req, apps_url, page, see_other


def _kind_title(host: Host, kind: str) -> str:
    try:
        return host.registry.kind(kind).title
    except LinkolisError:
        return kind


def _relative(req: Req, seconds: float) -> str:
    """A moment ``seconds`` from now (negative: ago) as the seller says it: "in 1 minute", "3 minuten geleden"."""
    return format_timedelta(timedelta(seconds=seconds), locale=req.lang, add_direction=True)


def _ago(req: Req, stamp: str | None) -> str | None:
    """How long ago a stored time (ISO 8601) was, in words; None for none."""
    if not stamp:
        return None
    try:
        when = datetime.fromisoformat(stamp)
    except ValueError:
        return None
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    return _relative(req, -max(1.0, req.host.clock.time() - when.timestamp()))


def _sync_texts(req: Req, state: dict[str, Any]) -> dict[int, list[str]]:
    """Per app id, what the background sync does with it, in the seller's words (``scheduler.status``): whether
    its new orders arrive by notification and when the last did, when orders are next fetched, and when stock and
    shipments are next sent."""
    texts: dict[int, list[str]] = {}
    for app_id, text in _notified_texts(req, state["notifications"]).items():
        texts.setdefault(app_id, []).append(text)
    words = {
        ("import", "running"): req._("Fetching orders now"),
        ("push", "running"): req._("Sending stock and shipments now"),
        ("import", "stopped"): req._("Fetching orders has stopped"),
        ("push", "stopped"): req._("Sending stock and shipments has stopped"),
        ("import", "due"): req._("Orders are fetched any moment now"),
        ("push", "due"): req._("Stock and shipments are sent any moment now"),
        ("import", "waiting"): req._("Next fetch of orders %(when)s"),
        ("push", "waiting"): req._("Next send of stock and shipments %(when)s"),
        ("push", "idle"): req._("Stock and shipments are sent as soon as they change"),
    }
    for unit in sorted(state["units"], key=_imports_first):
        if unit["state"] == "stalled":  # the server's storage, not the seller's app: the operator's to fix
            texts.setdefault(unit["app_id"], []).append(
                req._("waiting: the server cannot save right now; this carries on by itself when it can")
            )
            continue
        state = "due" if unit["state"] == "waiting" and unit["waits_s"] < 1 else unit["state"]
        text = words.get((unit["stream"], state), "") % {"when": _relative(req, unit["waits_s"])}
        if unit["last_error"]:
            text += " · " + req._("last error: %(message)s") % {"message": unit["last_error"]}
        texts.setdefault(unit["app_id"], []).append(text)
    return texts


def _notified_texts(req: Req, notifications: dict[str, Any]) -> dict[int, str]:
    """Per app of a plugin that reads notifications, how its new orders arrive, as a sentence."""
    states = {r["kind"]: r["state"] for r in notifications["readers"]}
    texts = {}
    for app in notifications["apps"]:
        if states.get(app["kind"]) not in ("reading", "failing"):
            continue  # no sync runs: the row says so
        if not app["on"] or states[app["kind"]] == "failing":
            # Why is the operator's to see (``sync status``); the seller learns that orders still come.
            texts[app["app_id"]] = req._("New orders are fetched on a schedule, not yet the moment they are placed")
        elif app["last_at"]:
            texts[app["app_id"]] = req._("New orders arrive the moment they are placed; the last one %(when)s") % {
                "when": _ago(req, app["last_at"])
            }
        else:
            texts[app["app_id"]] = req._("New orders arrive the moment they are placed; none has come yet")
    return texts


def _notified(state: dict[str, Any]) -> set[int]:
    """The apps whose new orders come by notification now: for them the plugin's delay note does not hold."""
    reading = {r["kind"] for r in state["notifications"]["readers"] if r["state"] == "reading"}
    return {a["app_id"] for a in state["notifications"]["apps"] if a["on"] and a["kind"] in reading}


def _sync_state(req: Req) -> dict[str, Any]:
    return scheduler.status(req.host, workspaces.current_id(req.host))


def _imports_first(unit: dict[str, Any]) -> bool:
    return unit["stream"] != "import"


def _fetched(req: Req, app: installed.App) -> str:
    """When the app's orders were last fetched, as a sentence."""
    ago = _ago(req, app.last_import_at)
    return req._("Orders last fetched %(when)s") % {"when": ago} if ago else req._("No orders fetched yet")


def _delay_note(req: Req, kind: str) -> str:
    """The plugin's word on how soon a new order shows (``AppKind.order_delay_note``), in the seller's language."""
    try:
        note = req.host.registry.kind(kind).order_delay_note
    except LinkolisError:
        return ""
    return req.kind_(kind, note)


def _app_rows(req: Req) -> list[dict[str, Any]]:
    rows = []
    state = _sync_state(req)
    syncing, notified = _sync_texts(req, state), _notified(state)
    for app in installed.list_apps(req.host):
        specs = {s.name: s for s in fields_of(req.host.registry.kind(app.kind).settings)}
        shown = []
        for key, value in app.settings.items():
            if key == "name" or key not in specs:
                continue
            if isinstance(value, bool):
                value = req._("on") if value else req._("off")
            elif value is None:  # an optional setting left empty (no cap)
                value = "–"
            elif specs[key].choices:
                value = req.kind_(app.kind, specs[key].choice_titles.get(str(value), str(value)))
            shown.append((req.kind_(app.kind, specs[key].title), value))
        rows.append(
            {
                "app": app,
                "kind": _kind_title(req.host, app.kind),
                "settings": shown,
                "sync": syncing.get(app.id, []),
                "fetched": _fetched(req, app) if app.authorized else "",
                "note": _delay_note(req, app.kind) if app.authorized and app.id not in notified else "",
            }
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


def _field_errors(req: Req, kind: str, values: dict[str, Any], app: installed.App | None = None) -> dict[str, str]:
    """What the panel refuses, per field, in the seller's language, before anything is stored or sent."""
    errors: dict[str, str] = {}
    for problem in apps.settings_problems(req.host, kind, values, app):
        if problem.code == "name_taken":
            text = advice.sentence(req, {"code": problem.code, "message": problem.message, "values": problem.values})
        elif problem.code == "refused":
            text = _refusal(req, kind, problem)
        else:
            text = advice.field_rule(req, problem.values, problem.message)
        errors.setdefault(problem.field, text)
    return errors


def _refusal(req: Req, kind: str, problem: apps.Problem) -> str:
    """A plugin's ``Refusal`` through its own catalog, its values filled in; the English when a translation's
    placeholders do not match the values."""
    if not problem.values:
        return req.kind_(kind, problem.template)
    try:
        return req.kind_(kind, problem.template) % problem.values
    except (KeyError, ValueError, TypeError):
        return problem.message


def _my_apps(req: Req, status: int = 200, **panel: Any) -> Response:
    return req.render("apps.html", status, rows=_app_rows(req), jobs=jobs_view(req), **panel)


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
    result = result or {}
    error = advice.error(req, result["error"], kind=app.kind) if result.get("error") else None
    return _my_apps(
        req,
        status,
        panel={
            "mode": "configure",
            "app": app,
            "kind": kind,
            "fields": _panel_fields(specs, values or app.settings, errors or {}),
            "credentials": kind.direct_credentials if not kind.oauth or result.get("credentials") else [],
            "oauth": kind.oauth,
            "result": {"error": error, "denied": result.get("denied", False)},
            "check": None if error else _last_check(req, app, kind.oauth),
            "sync": _panel_sync(req, app),
        },
    )


def _panel_sync(req: Req, app: installed.App) -> list[str]:
    """What the panel says of the app's background sync: the row's sentences."""
    if not app.authorized:
        return []
    state = _sync_state(req)
    note = "" if app.id in _notified(state) else _delay_note(req, app.kind)
    return [_fetched(req, app), *_sync_texts(req, state).get(app.id, []), note]


def _last_check(req: Req, app: installed.App, oauth: bool) -> dict[str, Any] | None:
    """What the app's last check found, for the panel: passed (and the app still verified: the banner), or the
    checks that failed, each with its action."""
    last = apps.last_check(req.host, app)
    if last is None:
        return None
    if last.ok:
        return {"ok": True, "at": last.at} if app.status == "verified" else None
    failed, offered = [], []
    for check in last.failed:
        shown = advice.failed_check(req, check, app.name, oauth=oauth)
        if shown["button"] in offered:  # two checks that authorizing again fixes: one button
            shown["button"] = None
        offered.append(shown["button"])
        failed.append(shown)
    return {"ok": False, "at": last.at, "failed": failed} if failed else None


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


def _install_panel(
    req: Req,
    kind: Any,
    values: dict[str, Any],
    errors: dict[str, str],
    error: dict[str, Any] | None = None,
    *,
    denied: bool = False,
    status: int = 200,
) -> Response:
    """The install panel; ``error`` (``as_data()``): why the first authorization did not complete."""
    shown = advice.error(req, error, kind=kind.kind) if error else None
    if shown and (shown["button"] or {}).get("method") != "link":
        shown["button"] = None  # its app is gone: Confirm, below, starts again (a link to a field here stays)
    return _my_apps(
        req,
        status,
        panel={
            "mode": "install",
            "kind": kind,
            "fields": _panel_fields(fields_of(kind.settings), values, errors),
            "result": {"error": shown, "denied": denied} if shown else {},
            # Pasted credentials are given with the settings: the app is installed once they are accepted.
            "credentials": [] if kind.oauth else kind.direct_credentials,
        },
    )


@page()
def new_app(req: Req) -> Response:
    kind_name = req.q("kind") or req.f("kind")
    try:
        kind = req.host.registry.kind(kind_name)
    except LinkolisError:
        return see_other("/apps/catalog")
    if req.request.method == "GET":
        again = req.session.pop("install_again", None)  # a first authorization that did not complete: try again
        if again and again.get("kind") == kind.kind:
            return _install_panel(req, kind, again["values"], {}, again["error"], denied=again["denied"])
        return _install_panel(req, kind, {}, {})
    values = _form_values(req, fields_of(kind.settings))
    errors = _field_errors(req, kind.kind, values)
    if not errors:
        try:
            # Pending (out of sight) until its first authorization completes: the marketplace sending the seller
            # back from its consent page, or the credentials pasted with the settings accepted.
            app = apps.install(req.host, kind.kind, values, pending=kind.oauth or bool(kind.direct_credentials))
        except LinkolisError as exc:
            errors = _as_field_error(req, exc, kind.kind)
        else:
            if kind.oauth or not kind.direct_credentials:
                return _authorize(req, app)
            return _connect_new(req, kind, app, values)
    return _install_panel(req, kind, values, errors, status=422)


def _connect_new(req: Req, kind: Any, app: installed.App, values: dict[str, Any]) -> Response:
    """The credentials pasted with a new app's settings: accepted, the app is there and checked; refused, it is
    gone again and the install panel comes back as filled in (but for the credentials) with the reason."""
    given = {f.name: req.f(f"credential_{f.name}").strip() for f in kind.direct_credentials}
    try:
        app = apps.authorize_direct(req.host, app, {k: v for k, v in given.items() if v})
    except LinkolisError as exc:
        apps.abandon(req.host, app)
        return _install_panel(req, kind, values, {}, exc.as_data(), status=422)
    return _verify_and_show(req, app)


@page()
def configure(req: Req) -> Response:
    try:
        app = installed.get(req.host, req.f("app"))
    except LinkolisError:
        return see_other("/apps")
    specs = fields_of(req.host.registry.kind(app.kind).settings)
    values = _form_values(req, specs)
    errors = _field_errors(req, app.kind, {**app.settings, **values}, app)
    if not errors:
        try:
            app, _voided = apps.configure(req.host, app, values)
        except LinkolisError as exc:
            errors = _as_field_error(req, exc, app.kind)
    if errors:
        return _panel_for_app(req, app, values=values, errors=errors, status=422)
    if not app.authorized:
        return _authorize(req, app)
    return _verify_and_show(req, app)


def _as_field_error(req: Req, exc: LinkolisError, kind: str) -> dict[str, str]:
    """A refused install or change, shown at the field it is about (the name when it names none)."""
    return {exc.param or "name": advice.sentence(req, exc.as_data(), advice.labels_of(req, kind))}


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
        if apps.abandon(req.host, app):  # it never left the panel: the seller sees the panel again
            return _install_panel(req, kind, app.settings, {}, exc.as_data(), status=502)
        return _panel_for_app(req, app, result={"error": exc.as_data()}, status=502)
    auth.remember_state(req.session, start.state)
    req.session["continue"] = {"app_id": app.id, "state": start.state}
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
        return _panel_for_app(req, app, result={"error": exc.as_data(), "credentials": True}, status=422)
    return _verify_and_show(req, app)


@page()
def verify_again(req: Req) -> Response:
    """ "Check again" in the panel: the app's checks run as after a change of its settings."""
    try:
        app = installed.get(req.host, req.f("app"))
    except LinkolisError:
        return see_other("/apps")
    return _verify_and_show(req, app)


def _verify_and_show(req: Req, app: installed.App) -> Response:
    """Run the app's checks and open its panel, which shows what they found (``apps.last_check``)."""
    try:
        apps.verify(req.host, app)
    except LinkolisError as exc:
        req.session["result"] = {"app_id": app.id, "error": exc.as_data()}
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
    app = apps.pending_app(req.host, state)
    if app is None or app.workspace_id != workspaces.current_id(req.host):
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
        return _refused(req, app, exc.as_data(), denied=bool(params.get("error")))
    return _verify_and_show(req, app)


def _refused(req: Req, app: installed.App, error: dict[str, Any], denied: bool = False) -> Response:
    """An authorization that did not complete: an app still pending goes (the seller never had it) and the install
    panel opens again with what was filled in; an installed app's panel says why."""
    if apps.abandon(req.host, app):
        req.session["install_again"] = {"kind": app.kind, "values": app.settings, "error": error, "denied": denied}
        return see_other("/apps/new?" + urlencode({"kind": app.kind}))
    req.session["result"] = {"app_id": app.id, "error": error, "denied": denied}
    return see_other(apps_url(open=app.name))


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
        return req.render(
            "message.html",
            400,
            title=req._("This authorization was refused"),
            message=advice.sentence(req, exc.as_data(), advice.labels_of(req, app.kind)),
        )
    return req.render(
        "message.html",
        title=req._("Authorization complete"),
        message=req._("%(name)s is authorized. Back in the terminal.") % {"name": app.name},
        back=False,
    )


def _continue(req: Req, params: dict[str, str]) -> Response:
    """A log-in page step sent the browser back without our state: the plugin says where it goes next."""
    pending = req.session.pop("continue")
    app = apps.pending_app(req.host, pending["state"])
    if app is None or app.id != pending["app_id"] or app.workspace_id != workspaces.current_id(req.host):
        return see_other("/apps")
    try:
        start = apps.continue_authorization(req.host, app, params, pending["state"])
    except LinkolisError as exc:
        return _refused(req, app, exc.as_data())
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
