"""The app lifecycle: catalog, install, configure, authorize, verify, remove.

Every function takes the ``Host`` and an app name (case-insensitive) and raises ``UserError`` or
``AuthorizationError`` with a message a seller can act on. Nothing here knows a marketplace.
"""

from __future__ import annotations

import enum
import typing
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Callable
from urllib.parse import parse_qsl, urlsplit

from pydantic import ValidationError

from . import installed, oauth, order_notifications, orders, reservations, shipments, stock, store, workspaces
from .errors import Action, AuthorizationError, LinkolisError, UserError
from .host import Host
from .installed import REMOVED, App, audit, get, list_apps, mark_attention, name_key, now_text
from .models import AppSettings, AuthorizationStart, Credentials, HealthCheck, Refusal, SettingsContext
from .terminal import article

# What the seller sees when every check of an app passed.
BANNER = "Module correctly installed"
CALLBACK_PATH = "/apps/callback"  # the served callback (linkolis_host/web/app.py routes it, apps_pages.py answers it)

__all__ = [
    "App",
    "get",
    "list_apps",
    "mark_attention",
    "catalog",
    "install",
    "settings_problems",
    "abandon",
    "configure",
    "remove",
    "verify",
    "start_authorization",
    "continue_authorization",
    "complete_authorization",
    "authorize_direct",
    "authorize_in_browser",
    "authorize_hosted",
    "pending_app",
    "last_check",
    "public_view",
    "notices",
    "fields_of",
]


@dataclass
class FieldSpec:
    """One field of an app's panel, as the CLI shows and asks for it."""

    name: str
    title: str
    help: str
    type: str  # "str", "int", "float", "bool", "choice"
    choices: list[str] | None
    default: Any
    required: bool
    # How each choice is called (Amazon's "DE": "Germany"), from ``json_schema_extra={"choice_titles": {...}}`` on
    # the field; a choice without one is called by its value.
    choice_titles: dict[str, str] = field(default_factory=dict)


def fields_of(settings: type[AppSettings]) -> list[FieldSpec]:
    specs = []
    for name, info in settings.model_fields.items():
        annotation = info.annotation
        choices = None
        kind = "str"
        if typing.get_origin(annotation) is typing.Literal:
            choices, kind = [str(a) for a in typing.get_args(annotation)], "choice"
        elif isinstance(annotation, type) and issubclass(annotation, enum.Enum):
            choices, kind = [str(m.value) for m in annotation], "choice"
        elif annotation is bool:
            kind = "bool"
        elif annotation is int or annotation == (int | None):
            kind = "int"
        elif annotation is float:
            kind = "float"
        default = None if info.is_required() else info.get_default(call_default_factory=True)
        if isinstance(default, enum.Enum):
            default = default.value
        specs.append(
            FieldSpec(
                name,
                info.title or name.replace("_", " ").capitalize(),
                info.description or "",
                kind,
                choices,
                default,
                info.is_required(),
                _choice_titles(info.json_schema_extra) if choices else {},
            )
        )
    return specs


def _choice_titles(extra: Any) -> dict[str, str]:
    titles = extra.get("choice_titles") if isinstance(extra, dict) else None
    return {str(k): str(v) for k, v in titles.items()} if isinstance(titles, dict) else {}


@dataclass
class Problem:
    """Why the panel refuses one field: ``code`` "invalid" (the settings model's rule, ``message`` in English;
    ``values`` holds pydantic's error ``type``, its context and, for a validator's ValueError, its ``reason``),
    "name_taken" (another app of the workspace has the name: ``values`` names it) or "refused" (the plugin's
    ``Refusal``: ``template`` its English message, a msgid of the plugin's catalog, with the ``%(value)s``
    placeholders ``values`` fills in; ``message`` filled in)."""

    field: str
    code: str
    message: str
    values: dict[str, Any] = field(default_factory=dict)
    template: str = ""


def _context(host: Host, kind: str, workspace_id: int | None, app: App | None) -> SettingsContext:
    """The other apps of ``kind`` in the workspace, for the settings model's validators (``AppSettings.other_apps``)."""
    others = host.db.query(
        "SELECT * FROM apps WHERE workspace_id = ? AND kind = ? AND status NOT IN (?, ?) AND id IS NOT ?",
        [workspace_id, kind, *installed.HIDDEN, app.id if app else None],
    )
    infos = []
    for row in others:
        try:
            infos.append(host.app_info(App.from_row(row)))
        except ValidationError:  # settings an upgraded plugin no longer accepts: that app's own panel says so
            continue
    return SettingsContext(tuple(infos))


def settings_problems(host: Host, kind: str, values: dict[str, Any], app: App | None = None) -> list[Problem]:
    """What the panel's values for a new app of ``kind`` (or for reconfiguring ``app``) break, field by field,
    before anything is stored or any marketplace asked: the settings model's rules, with the workspace's other apps
    of the kind in its validators' context, and a name another app has."""
    workspace_id = app.workspace_id if app else workspaces.current_id(host)
    problems = []
    try:
        settings = host.registry.kind(kind).settings.model_validate(
            values, context=_context(host, kind, workspace_id, app)
        )
    except ValidationError as exc:
        for error in exc.errors():
            where = str(error["loc"][0]) if error["loc"] else "name"
            refusal = (error.get("ctx") or {}).get("error")
            if isinstance(refusal, Refusal):
                problems.append(
                    Problem(where, "refused", str(refusal), values=dict(refusal.values), template=refusal.message)
                )
            else:
                values = {k: v for k, v in (error.get("ctx") or {}).items() if isinstance(v, int | float | str)}
                reason = str((error.get("ctx") or {}).get("error", "")) if error["type"] == "value_error" else ""
                problems.append(
                    Problem(where, "invalid", error["msg"], values={"type": error["type"], "reason": reason, **values})
                )
        return problems
    name = " ".join(settings.name.split())
    if _name_taken(host, workspace_id, name, other_than=app.id if app else None):
        problems.append(Problem("name", "name_taken", str(_name_taken_error(name)), values={"name": name}))
    return problems


def _validate(host: Host, kind: str, values: dict[str, Any], app: App | None = None) -> AppSettings:
    problems = settings_problems(host, kind, values, app)
    taken = next((p for p in problems if p.code == "name_taken"), None)
    if taken is not None:
        raise _name_taken_error(taken.values["name"], app.name if app else None)
    if problems:
        title = article(host.registry.kind(kind).title)
        lines = "\n".join(f"  {p.field}: {p.message}" for p in problems)
        raise UserError(
            f"invalid settings for {title} app:\n{lines}",
            code="invalid_settings",
            param=problems[0].field,
            action=Action.CONFIGURE,
        )
    return host.settings_for(kind, values)


def catalog(host: Host) -> list[dict[str, Any]]:
    entries = []
    for kind in sorted(host.registry.kinds.values(), key=lambda k: k.title.casefold()):
        entries.append(
            {
                "kind": kind.kind,
                "title": kind.title,
                "description": kind.description,
                "fields": [vars(spec) for spec in fields_of(kind.settings)],
                "authorization": ("oauth" if kind.oauth else "")
                + (
                    " + direct credentials"
                    if kind.oauth and kind.direct_credentials
                    else "direct credentials"
                    if kind.direct_credentials
                    else ""
                ),
            }
        )
    return entries


def public_view(host: Host, app: App) -> dict[str, Any]:
    """An app as the seller may see it: settings and status, never a secret."""
    fields = host.db.execute("SELECT fields FROM credentials WHERE app_id = ?", (app.id,)).fetchone()
    return {
        "name": app.name,
        "kind": app.kind,
        "settings": app.settings,
        "status": app.status_text,
        "account_id": app.account_id,
        "credentials": {"stored": fields is not None, "fields": store.loads(fields[0]) if fields else []},
        "authorized_at": app.authorized_at,
        "authorization_expires_at": app.authorization_expires_at,
        "verified_at": app.verified_at,
        "last_import_at": app.last_import_at,
        "last_push_at": app.last_push_at,
        "installed_at": app.created_at,
        "notices": notices(host, app),
    }


def notices(host: Host, app: App) -> list[str]:
    """What the seller should know about the app without asking the marketplace: credentials the current key
    cannot open, and the plugin's own notices (``AppKind.notices``: an endpoint override in force, say)."""
    found = []
    unopenable = host.credentials_unopenable(app)
    if unopenable:
        found.append(unopenable)
    kind = host.registry.kinds.get(app.kind)
    if kind is not None and kind.notices is not None:
        try:
            found += [str(n) for n in kind.notices(host.app_info(app), host.operator_settings(app.kind))]
        except LinkolisError as exc:  # an operator setting the plugin refuses is worth telling too
            found.append(str(exc))
    return found


def _name_taken(host: Host, workspace_id: int | None, name: str, other_than: int | None = None) -> bool:
    """Whether the workspace has another app called ``name`` (names are the workspace's own)."""
    return (
        next(
            host.db.query(
                "SELECT 1 FROM apps WHERE workspace_id = ? AND name_key = ? AND status NOT IN (?, ?) AND id IS NOT ?",
                [workspace_id, name_key(name), *installed.HIDDEN, other_than],
            ),
            None,
        )
        is not None
    )


def _name_taken_error(name: str, app: str | None = None) -> UserError:
    return UserError(
        f"an app named {name!r} is already installed; choose another name",
        code="name_taken",
        app=app,
        param="name",  # the field the seller is filling in: no other action
        values={"name": name},
    )


def install(host: Host, kind: str, values: dict[str, Any], *, pending: bool = False) -> App:
    """Install an app of ``kind`` with the panel's ``values``. ``pending``: the panel's Confirm, which goes on to the
    marketplace's consent page: the app stays out of sight until that first authorization completes (see
    ``installed.PENDING``)."""
    host.registry.kind(kind)
    settings = _validate(host, kind, values)  # refused values change nothing, not even the default workspace
    workspace_id = workspaces.current_id(host, create=True)
    name = " ".join(settings.name.split())
    settings = settings.model_copy(update={"name": name})
    _abandon_stale(host, workspace_id, name)
    now = now_text(host)
    with host.db.atomic():
        app_id = (
            host.db["apps"]
            .insert(
                {
                    "workspace_id": workspace_id,
                    "name": name,
                    "name_key": name_key(name),
                    "kind": kind,
                    "settings": settings.model_dump_json(),
                    "status": installed.PENDING if pending else "installed",
                    "attention_reason": "",
                    "authorization_scope": settings.authorization_scope(),
                    "account_scope": settings.account_scope(),
                    "created_at": now,
                    "updated_at": now,
                }
            )
            .last_pk
        )
        app = App.from_row(host.db["apps"].get(app_id))
        audit(host, app, "installed", settings=app.settings, pending=pending)
    return app


def abandon(host: Host, app: App) -> bool:
    """Remove ``app`` if it is still pending (its first authorization was refused, failed to start or never came
    back): the seller never had it. Whether it was removed."""
    if installed.reload(host, app).status != installed.PENDING:
        return False
    remove(host, app)
    return True


def _abandon_stale(host: Host, workspace_id: int | None, name: str) -> None:
    """Remove the workspace's pending apps that can no longer complete (their state expired) and one holding
    ``name``: a seller who closed the consent page and installs again starts afresh, under the same name."""
    oldest = (host.clock.now() - timedelta(seconds=oauth.STATE_TTL)).isoformat(timespec="seconds")
    rows = host.db.query(
        "SELECT * FROM apps WHERE workspace_id = ? AND status = ? AND (created_at < ? OR name_key = ?)",
        [workspace_id, installed.PENDING, oldest, name_key(name)],
    )
    for row in list(rows):
        remove(host, App.from_row(row))


def configure(host: Host, name: str | App, changes: dict[str, Any]) -> tuple[App, bool]:
    """Apply ``changes`` to the app's settings; return the app and whether its authorization was voided."""
    row = get(host, name)
    settings = _validate(host, row.kind, {**row.settings, **changes}, row)
    new_name = " ".join(settings.name.split())
    settings = settings.model_copy(update={"name": new_name})
    scope_changed = settings.authorization_scope() != (row.authorization_scope or "")
    voided = scope_changed and row.authorized
    # Another marketplace of the same account: nothing was pushed there, none of its orders were imported, and
    # what the plugin keeps (listing facts, pending feeds) is about the old one.
    covers_another = settings.account_scope() != (row.account_scope or "")
    if covers_another and row.account_id and not voided:
        clash = _clash(host, row.kind, row.account_id, settings.account_scope(), row.id)
        if clash:
            mine = clash["workspace_id"] == row.workspace_id
            raise UserError(
                f"account {row.account_id} is already connected for {settings.account_scope_title()} by "
                + (f"app {clash['name']!r}" if mine else "an app in another workspace")
                + ": one app per marketplace account. Nothing was changed.",
                code="account_connected" if mine else "account_connected_elsewhere",
                app=row.name,
                values={
                    "account": row.account_id,
                    "scope": settings.account_scope_title(),
                    "other": clash["name"] if mine else "",
                },
            )
    update = {
        "name": new_name,
        "name_key": name_key(new_name),
        "settings": settings.model_dump_json(),
        "authorization_scope": settings.authorization_scope(),
        "account_scope": settings.account_scope(),
        "updated_at": now_text(host),
    }
    if voided:
        update.update(
            status="installed",
            attention_reason="",
            account_id=None,
            authorized_at=None,
            authorization_expires_at=None,
            verified_at=None,
        )
    elif row.status == "verified":
        update.update(status="authorized")  # verified means "as configured": verify again
    with host.db.atomic():
        if scope_changed:  # an authorization started for the old scope must not complete for the new one
            _forget_authorization(host, row.id)
        if covers_another:
            host.db.execute("DELETE FROM plugin_state WHERE app_id = ?", (row.id,))
            orders.start_over(host, row.id)
            stock.start_over(host, row)
        elif (settings.stock_buffer, settings.stock_max) != (
            row.settings.get("stock_buffer", 0),
            row.settings.get("stock_max"),
        ):
            stock.offer_changed(host, row)
        host.db["apps"].update(row.id, update)
        audit(
            host,
            row,
            "configured",
            changes=sorted(changes),
            authorization_voided=voided,
            covers_another=covers_another,
        )
    return installed.reload(host, row), voided


def _forget_authorization(host: Host, app_id: int) -> None:
    for table in ("credentials", "plugin_state", "oauth_states"):
        host.db.execute(f"DELETE FROM {table} WHERE app_id = ?", (app_id,))


def remove(host: Host, name: str | App, purge: bool = False) -> App:
    """Remove the app: credentials and plugin state at once, unsent shipments are never sent; imported orders,
    their shipments and stock results go only with purge. Its subscription to order notifications is deleted first,
    while its credentials are there (a refusal is logged and audited: the app goes all the same)."""
    row = get(host, name)
    order_notifications.unsubscribe(host, row)
    with host.db.atomic():
        _forget_authorization(host, row.id)
        reservations.forget_app(host, row.id, purge)  # its orders are no longer followed: what they reserve goes back
        shipments.forget_app(host, row.id, purge)
        orders.forget_app(host, row.id, purge)
        stock.forget_app(host, row.id)
        # The row stays (renamed out of the way) so kept orders still say which app they came from and its id
        # is never reused for another app.
        host.db["apps"].update(
            row.id,
            {
                "status": REMOVED,
                "name_key": f"{row.name_key}#removed#{row.id}",
                "account_id": None,
                "former_account_id": row.account_id,
                "updated_at": now_text(host),
            },
        )
        audit(host, row, "removed", purged=purge)
    return row


# -- authorization ---------------------------------------------------------------------------------------------


def start_authorization(host: Host, name: str | App, redirect_uri: str, origin: str = "web") -> AuthorizationStart:
    """``origin``: "web" (the callback checks the state against the browser session that started it) or "cli"
    (a command waits for the served callback, which completes it without a session)."""
    row = get(host, name)
    kind = host.registry.kind(row.kind)
    if not kind.oauth:
        raise UserError(
            f"{kind.title} apps are authorized with credentials: "
            + ", ".join(f.label for f in kind.direct_credentials),
            code="credentials_needed",
            app=row.name,
            action=Action.AUTHORIZE,
            values={"fields": [f.name for f in kind.direct_credentials]},
        )
    state = oauth.new_state(host.db, row.id, redirect_uri, host.clock, origin)
    with installed.run(host, row, for_authorization=True) as ctx:
        start = host.registry.authorize(row.kind, ctx, "start", {"state": state, "redirect_uri": redirect_uri})
    if start.redirect_uri != redirect_uri:
        oauth.set_redirect_uri(host.db, state, start.redirect_uri)
    return start.model_copy(update={"state": state})  # type: ignore[union-attr]


def continue_authorization(host: Host, name: str | App, params: dict[str, str], state: str) -> AuthorizationStart:
    """A redirect with no state of ours (a log-in page step): let the plugin say where the browser goes next."""
    row = get(host, name)
    with installed.run(host, row, for_authorization=True) as ctx:
        return host.registry.authorize(row.kind, ctx, "continue", {**params, "state": state})  # type: ignore


def complete_authorization(host: Host, name: str | App, params: dict[str, str]) -> App:
    """Check the redirect's state, then let the plugin exchange what it carries for credentials."""
    row = get(host, name)
    state = params.get("state") or ""
    redirect_uri = oauth.consume_state(host.db, row.id, state, host.clock)
    try:
        if params.get("error"):
            detail = params.get("error_description") or params["error"]
            raise AuthorizationError(
                f"the authorization was not granted ({detail}); nothing was stored — authorize again to retry",
                code="authorization_refused",
                app=row.name,
                values={"detail": detail},
            )
        with installed.run(host, row, for_authorization=True) as ctx:
            creds = host.registry.authorize(row.kind, ctx, "complete", {**params, "redirect_uri": redirect_uri})
        done = _store_credentials(host, row, creds)  # type: ignore[arg-type]
    except Exception as exc:  # a command may be waiting for this state: tell it why it ended
        oauth.finish_state(
            host.db,
            state,
            host.clock,
            str(exc)
            if isinstance(exc, LinkolisError)
            else f"the authorization failed unexpectedly ({type(exc).__name__}); see the web server's log",
        )
        raise
    oauth.finish_state(host.db, state, host.clock)
    return done


def pending_app(host: Host, state: str | None) -> App | None:
    """The installed app an authorization's ``state`` was issued for (None: never issued, or the app is gone)."""
    app_id = oauth.pending_app_id(host.db, state)
    if app_id is None:
        return None
    row = next(host.db.query("SELECT * FROM apps WHERE id = ? AND status != ?", [app_id, REMOVED]), None)
    return None if row is None else App.from_row(row)


POLL_INTERVAL = 0.25


def authorize_hosted(
    host: Host,
    name: str | App,
    *,
    base_url: str,
    timeout: float,
    open_url: Callable[[str], None],
    paste: Callable[[str], dict[str, str] | None],
    say: Callable[[str], None],
) -> App | None:
    """Run the redirect flow through the served callback (``<base_url>/apps/callback`` of ``linkolis serve``):
    start with that redirect URI, send the seller to the consent page, and wait (polling the database both
    processes share) until the callback completes the state, refuses it, or ``timeout`` seconds pass.

    When the plugin redirects elsewhere (an operator's own page), ``paste`` is asked as in ``authorize_in_browser``.
    """
    app = get(host, name)
    redirect_uri = base_url.rstrip("/") + CALLBACK_PATH
    start = start_authorization(host, app, redirect_uri, origin="cli")
    open_url(start.url)
    if start.redirect_uri != redirect_uri:
        params = paste(start.redirect_uri)
        return None if params is None else complete_authorization(host, app, params)
    state = dict(parse_qsl(urlsplit(start.url).query)).get("state") or ""
    say(f"Waiting for the marketplace to send the browser back to {redirect_uri} (served by `linkolis serve`) …")
    deadline = host.clock.time() + timeout
    while True:
        found = oauth.outcome(host.db, state)
        if found is None:
            raise AuthorizationError(
                f"the authorization of {app.name!r} was called off while waiting (the app was "
                "reconfigured or removed); nothing was stored",
                code="authorization_called_off",
                app=app.name,
            )
        if found.finished:
            if found.error:
                raise AuthorizationError(found.error, app=app.name)
            return installed.reload(host, app)
        now = host.clock.time()
        if now > found.expires_at:
            raise AuthorizationError(
                "the browser did not come back within 10 minutes and the authorization expired; nothing was stored",
                code="authorization_expired",
                app=app.name,
            )
        if now >= deadline:
            raise AuthorizationError(
                f"no authorization came back to {redirect_uri} within {int(timeout)} s; nothing was stored. "
                f"Check that the web server runs at {base_url.rstrip('/')} and that the seller confirms in the "
                "browser, then authorize again",
                code="authorization_timed_out",
                app=app.name,
                values={"redirect_uri": redirect_uri, "seconds": int(timeout)},
            )
        host.clock.sleep(POLL_INTERVAL)


def authorize_direct(host: Host, name: str | App, params: dict[str, str]) -> App:
    row = get(host, name)
    kind = host.registry.kind(row.kind)
    allowed = {f.name for f in kind.direct_credentials}
    if not allowed:
        raise UserError(
            f"{kind.title} apps cannot take credentials directly: they are authorized by signing in",
            code="no_direct_credentials",
            app=row.name,
            action=Action.AUTHORIZE,
        )
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise UserError(
            f"unknown credential {', '.join(unknown)}; {kind.title} takes: {', '.join(sorted(allowed))}",
            code="credentials_unknown",
            app=row.name,
            param=unknown[0],
            action=Action.AUTHORIZE,
            values={"fields": unknown, "allowed": sorted(allowed)},
        )
    missing = sorted(allowed - set(params))
    if missing:
        raise UserError(
            f"missing credential {', '.join(missing)}: {kind.title} needs each of "
            + ", ".join(f.label for f in kind.direct_credentials),
            code="credentials_missing",
            app=row.name,
            param=missing[0],
            action=Action.AUTHORIZE,
            values={"fields": missing},
        )
    with installed.run(host, row, for_authorization=True) as ctx:
        creds = host.registry.authorize(row.kind, ctx, "direct", params)
    return _store_credentials(host, row, creds)  # type: ignore[arg-type]


def authorize_in_browser(
    host: Host,
    name: str | App,
    *,
    port: int,
    timeout: float,
    open_url: Callable[[str], None],
    paste: Callable[[str], dict[str, str] | None],
    say: Callable[[str], None],
) -> App | None:
    """Run the redirect flow on a loopback receiver: start, send the seller to the consent page, receive the
    redirect (following a log-in page step if the marketplace makes one), complete, answer the browser.

    When the plugin redirects elsewhere than the receiver (a registered HTTPS page), ``paste`` is asked for the
    address the browser landed on; None from it means "finish later with --redirect-url" and returns None.
    """
    app = get(host, name)
    with oauth.LoopbackReceiver(port) as receiver:
        start = start_authorization(host, app, receiver.redirect_uri)
        open_url(start.url)
        if start.redirect_uri != receiver.redirect_uri:
            params = paste(start.redirect_uri)
            return None if params is None else complete_authorization(host, app, params)
        say(f"Waiting for the redirect on {receiver.redirect_uri} …")
        pending_state = dict(parse_qsl(urlsplit(start.url).query)).get("state")
        while True:
            params = receiver.next_request(timeout)
            try:
                if "state" not in params and pending_state and not params.get("error"):
                    receiver.redirect(continue_authorization(host, app, params, pending_state).url)
                    continue
                row = complete_authorization(host, app, params)
            except LinkolisError as exc:
                receiver.respond(False, str(exc))
                raise
            receiver.respond(True, f"{row.name} is authorized. You can go back to the terminal.")
            return row


def _clash(host: Host, kind: str, account_id: str, scope: str, other_than: int) -> dict[str, Any] | None:
    """Another app (not removed) connecting ``account_id`` for ``scope``."""
    return next(
        host.db.query(
            "SELECT name, workspace_id FROM apps WHERE kind = ? AND account_id = ? AND account_scope = ? AND id != ? "
            "AND status != ?",
            [kind, account_id, scope, other_than, REMOVED],
        ),
        None,
    )


def _store_credentials(host: Host, row: App, creds: Credentials) -> App:
    if row.account_id and creds.account_id != row.account_id:
        raise AuthorizationError(
            f"{row.name!r} is connected to account {row.account_id}, but account {creds.account_id} signed "
            "in. Nothing was changed. To connect another account, remove the app and install it again, signing "
            "in to the right account.",
            code="another_account",
            app=row.name,
            action=Action.REINSTALL,
            values={"account": row.account_id, "other": creds.account_id},
        )
    # One app per account and marketplace across every workspace: two workspaces importing one seller account
    # would each push its own stock to it. Another workspace's app is not named: its name is that workspace's.
    clash = _clash(host, row.kind, creds.account_id, row.account_scope or "", row.id)
    scope = host.settings_for(row.kind, row.settings).account_scope_title() or "the same scope"
    if clash and clash["workspace_id"] != row.workspace_id:
        raise AuthorizationError(
            f"account {creds.account_id} is already connected for {scope} by an "
            "app in another workspace: one app per marketplace account, across all workspaces. Nothing was "
            "stored. If this account is yours, ask the operator to remove that app first.",
            code="account_connected_elsewhere",
            app=row.name,
            action=Action.OPERATOR,
            values={"account": creds.account_id, "scope": scope},
        )
    if clash:
        raise AuthorizationError(
            f"app {clash['name']!r} already connects account {creds.account_id} for {scope}: one app per "
            f"marketplace. Use {clash['name']!r}, or remove it first; to sell in another marketplace, install an "
            "app with that marketplace.",
            code="account_connected",
            app=row.name,
            action="",
            values={"account": creds.account_id, "scope": scope, "other": clash["name"]},
        )
    now = now_text(host)
    with host.db.atomic():
        host.seal_credentials(row.id, {k: v.get_secret_value() for k, v in creds.secrets.items()})
        host.db["apps"].update(
            row.id,
            {
                "status": "authorized",
                "attention_reason": "",
                "account_id": creds.account_id,
                "authorized_at": now,
                "updated_at": now,
                "authorization_expires_at": creds.expires_at.isoformat() if creds.expires_at else None,
            },
        )
        audit(host, row, "authorized", account_id=creds.account_id)
        if not row.account_id:
            _take_back_orders(host, row, creds.account_id)
    done = installed.reload(host, row)
    order_notifications.subscribe(host, done)  # a failure is a warning, logged and audited: polling goes on
    return done


def _take_back_orders(host: Host, row: App, account_id: str) -> None:
    """An app newly connected to ``account_id`` takes the orders kept by apps of its workspace that were removed
    from the same account and scope (newest first), with their shipments: installing an app again never lists an
    order twice (inside the caller's transaction)."""
    removed = host.db.execute(
        "SELECT id FROM apps WHERE status = ? AND workspace_id = ? AND kind = ? AND former_account_id = ? "
        "AND account_scope IS ? ORDER BY id DESC",
        (REMOVED, row.workspace_id, row.kind, account_id, row.account_scope),
    ).fetchall()
    taken = sum(orders.take_over(host, old, row.id) for (old,) in removed)
    if taken:
        shipments.follow_orders(host, row.id)
        ids = [r[0] for r in host.db.execute("SELECT id FROM orders WHERE app_id = ?", (row.id,))]
        reservations.settle_orders(host, row.id, ids)  # followed again: the open ones reserve again
        audit(host, row, "orders_taken_back", orders=taken, from_apps=[old for (old,) in removed])


# -- verify ----------------------------------------------------------------------------------------------------


def verify(host: Host, name: str | App) -> tuple[App, list[HealthCheck], bool]:
    """Run the app's health checks: all passing makes it "verified"; a failed check the seller must act on makes it
    "needs attention" (one marked ``operator`` leaves its status as it is)."""
    row = get(host, name)
    unopenable = host.credentials_unopenable(row)
    if unopenable:  # the plugin's checks would only report "no credentials", which is not what happened
        checks = [
            HealthCheck(
                name="credentials readable",
                status="failed",
                detail=unopenable,
                remedy="authorize the app again (it keeps its orders and settings), or restore the old secret key",
                action=Action.AUTHORIZE,
            )
        ]
    else:
        with installed.run(host, row) as ctx:
            checks = host.registry.health_check(row.kind, ctx)
    if not row.authorized:
        checks.insert(
            0,
            HealthCheck(
                name="authorized",
                status="failed",
                detail="the app was never authorized",
                remedy="authorize the app and confirm in the browser",
                action=Action.AUTHORIZE,
            ),
        )
    ok = bool(checks) and not any(c.status == "failed" for c in checks)
    if ok:
        warning = order_notifications.subscribe(host, row)
        if warning:
            checks.append(HealthCheck(name="order notifications", status="warning", detail=warning, operator=True))
    now = now_text(host)
    with host.db.atomic():
        installed.require_present(host, row.id, row.name)  # removed while the checks ran: it stays removed
        if ok:
            host.db["apps"].update(
                row.id, {"status": "verified", "attention_reason": "", "verified_at": now, "updated_at": now}
            )
            audit(host, row, "verified")
        else:
            # A failure the operator must fix says nothing about the seller's app: its status stays as it was.
            failed = next((c for c in checks if c.status == "failed" and not c.operator), None)
            if row.authorized and failed is not None:
                host.db["apps"].update(
                    row.id,
                    {"status": "needs_attention", "updated_at": now, "attention_reason": failed.detail or failed.name},
                )
            audit(
                host,
                row,
                "verify_failed",
                failed=[c.name for c in checks if c.status == "failed"],
                checks=[c.model_dump(mode="json") for c in checks if c.status == "failed"],
            )
    return installed.reload(host, row), checks, ok


@dataclass
class LastCheck:
    """The outcome of the app's last verify: when it ran, whether every check passed, the checks that failed."""

    ok: bool
    at: str
    failed: list[HealthCheck]


def last_check(host: Host, app: App) -> LastCheck | None:
    """What the app's last verify found (None: never verified, or not since it was last authorized), read from the
    audit log where ``verify`` writes it."""
    row = host.db.execute(
        "SELECT event, detail, at FROM audit_log WHERE app_id = ? AND event IN ('verified', 'verify_failed') "
        "ORDER BY id DESC LIMIT 1",
        (app.id,),
    ).fetchone()
    if row is None or (app.authorized_at and row[2] < app.authorized_at):
        return None
    event, detail, at = row
    failed = [HealthCheck.model_validate(c) for c in store.loads(detail, {}).get("checks", [])]
    return LastCheck(ok=event == "verified", at=at, failed=failed)
