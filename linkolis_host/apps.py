"""The app lifecycle: catalog, install, configure, authorize, verify, remove.

Every function takes the ``Host`` and an app name (case-insensitive) and raises ``UserError`` or
``AuthorizationError`` with a message a seller can act on. Nothing here knows a marketplace.
"""

from __future__ import annotations

import enum
import typing
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import parse_qsl, urlsplit

from pydantic import ValidationError

from . import oauth, store
from .config import format_validation_error
from .errors import AuthorizationError, LinkolisError, NeedsAttention, UserError
from .host import Host
from .models import AppSettings, AuthorizationStart, Credentials, HealthCheck

REMOVED = "removed"


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
        elif annotation is int:
            kind = "int"
        elif annotation is float:
            kind = "float"
        default = None if info.is_required() else info.get_default(call_default_factory=True)
        if isinstance(default, enum.Enum):
            default = default.value
        specs.append(FieldSpec(name, info.title or name.replace("_", " ").capitalize(), info.description or "",
                               kind, choices, default, info.is_required()))
    return specs


def _now(host: Host) -> str:
    return host.clock.now().isoformat(timespec="seconds")


def audit(host: Host, row: dict[str, Any], event: str, **detail: Any) -> None:
    host.db.execute(
        "INSERT INTO audit_log (app_id, app_name, event, detail, at) VALUES (?, ?, ?, ?, ?)",
        (row["id"], row["name"], event, store.dumps(detail), _now(host)),
    )


def _name_key(name: str) -> str:
    return " ".join(name.split()).casefold()


def _validate(host: Host, kind: str, values: dict[str, Any]) -> AppSettings:
    try:
        return host.settings_for(kind, values)
    except ValidationError as exc:
        raise UserError(f"invalid settings for a {kind} app:\n{format_validation_error(exc, '  ')}") from None


def catalog(host: Host) -> list[dict[str, Any]]:
    entries = []
    for kind in sorted(host.registry.kinds.values(), key=lambda k: k.title.casefold()):
        entries.append({
            "kind": kind.kind, "title": kind.title, "description": kind.description,
            "fields": [vars(spec) for spec in fields_of(kind.settings)],
            "authorization": ("oauth" if kind.oauth else "") + (
                " + direct credentials" if kind.oauth and kind.direct_credentials else
                "direct credentials" if kind.direct_credentials else ""),
        })
    return entries


def get(host: Host, name: str) -> dict[str, Any]:
    row = next(host.db.query("SELECT * FROM apps WHERE name_key = ? AND status != ?", [_name_key(name), REMOVED]),
               None)
    if row is None:
        names = [r["name"] for r in list_apps(host)]
        known = ", ".join(repr(n) for n in names) if names else "none installed yet"
        raise UserError(f"no app named {name!r} (apps: {known})")
    return row


def list_apps(host: Host) -> list[dict[str, Any]]:
    return list(host.db.query("SELECT * FROM apps WHERE status != ? ORDER BY name_key", [REMOVED]))


def status_text(row: dict[str, Any]) -> str:
    if row["status"] == "needs_attention":
        return f"needs attention: {row['attention_reason']}"
    return row["status"]


def public_view(host: Host, row: dict[str, Any]) -> dict[str, Any]:
    """An app as the seller may see it: settings and status, never a secret."""
    fields = host.db.execute("SELECT fields FROM credentials WHERE app_id = ?", (row["id"],)).fetchone()
    return {
        "name": row["name"], "kind": row["kind"], "settings": store.loads(row["settings"]),
        "status": status_text(row), "account_id": row["account_id"],
        "credentials": {"stored": fields is not None, "fields": store.loads(fields[0]) if fields else []},
        "authorized_at": row["authorized_at"], "authorization_expires_at": row["authorization_expires_at"],
        "verified_at": row["verified_at"], "last_import_at": row["last_import_at"],
        "last_push_at": row["last_push_at"], "installed_at": row["created_at"],
    }


def install(host: Host, kind: str, values: dict[str, Any]) -> dict[str, Any]:
    host.registry.kind(kind)
    settings = _validate(host, kind, values)
    name = " ".join(settings.name.split())
    settings = settings.model_copy(update={"name": name})
    if next(host.db.query("SELECT 1 FROM apps WHERE name_key = ? AND status != ?", [_name_key(name), REMOVED]),
            None):
        raise UserError(f"an app named {name!r} is already installed; choose another --name")
    now = _now(host)
    with host.db.atomic():
        app_id = host.db["apps"].insert({
            "name": name, "name_key": _name_key(name), "kind": kind,
            "settings": settings.model_dump_json(), "status": "installed", "attention_reason": "",
            "authorization_scope": settings.authorization_scope(), "account_scope": settings.account_scope(),
            "created_at": now, "updated_at": now,
        }).last_pk
        row = host.db["apps"].get(app_id)
        audit(host, row, "installed", settings=store.loads(row["settings"]))
    return row


def configure(host: Host, name: str, changes: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """Apply ``changes`` to the app's settings; return the app and whether its authorization was voided."""
    row = get(host, name)
    current = store.loads(row["settings"])
    settings = _validate(host, row["kind"], {**current, **changes})
    new_name = " ".join(settings.name.split())
    settings = settings.model_copy(update={"name": new_name})
    if _name_key(new_name) != row["name_key"]:
        if next(host.db.query("SELECT 1 FROM apps WHERE name_key = ? AND status != ?",
                              [_name_key(new_name), REMOVED]), None):
            raise UserError(f"an app named {new_name!r} is already installed; choose another --name")
    scope_changed = settings.authorization_scope() != (row["authorization_scope"] or "")
    voided = scope_changed and row["account_id"] is not None
    update = {
        "name": new_name, "name_key": _name_key(new_name), "settings": settings.model_dump_json(),
        "authorization_scope": settings.authorization_scope(), "account_scope": settings.account_scope(),
        "updated_at": _now(host),
    }
    if voided:
        update.update(status="installed", attention_reason="", account_id=None, authorized_at=None,
                      authorization_expires_at=None, verified_at=None)
    elif row["status"] == "verified":
        update.update(status="authorized")  # verified means "as configured": verify again
    with host.db.atomic():
        if scope_changed:  # an authorization started for the old scope must not complete for the new one
            _forget_authorization(host, row["id"])
        host.db["apps"].update(row["id"], update)
        audit(host, row, "configured", changes=sorted(changes), authorization_voided=voided)
    return host.db["apps"].get(row["id"]), voided


def _forget_authorization(host: Host, app_id: int) -> None:
    for table in ("credentials", "plugin_state", "oauth_states"):
        host.db.execute(f"DELETE FROM {table} WHERE app_id = ?", (app_id,))


def remove(host: Host, name: str, purge: bool = False) -> dict[str, Any]:
    """Remove the app: credentials and plugin state at once; imported orders and stock results only with purge."""
    row = get(host, name)
    with host.db.atomic():
        _forget_authorization(host, row["id"])
        host.db.execute("DELETE FROM sync_cursors WHERE app_id = ?", (row["id"],))
        host.db.execute("DELETE FROM stock_pushes WHERE app_id = ?", (row["id"],))
        if purge:
            order_ids = "SELECT id FROM orders WHERE app_id = ?"
            host.db.execute(f"DELETE FROM order_lines WHERE order_id IN ({order_ids})", (row["id"],))
            host.db.execute(f"DELETE FROM order_status_history WHERE order_id IN ({order_ids})", (row["id"],))
            host.db.execute("DELETE FROM orders WHERE app_id = ?", (row["id"],))
        # The row stays (renamed out of the way) so kept orders still say which app they came from and its id
        # is never reused for another app.
        host.db["apps"].update(row["id"], {
            "status": REMOVED, "name_key": f"{row['name_key']}#removed#{row['id']}", "account_id": None,
            "updated_at": _now(host),
        })
        audit(host, row, "removed", purged=purge)
    return row


def mark_attention(host: Host, row: dict[str, Any], reason: str) -> None:
    with host.db.atomic():
        host.db["apps"].update(row["id"], {"status": "needs_attention", "attention_reason": reason,
                                           "updated_at": _now(host)})
        audit(host, row, "needs_attention", reason=reason)


# -- authorization ---------------------------------------------------------------------------------------------


def start_authorization(host: Host, name: str, redirect_uri: str) -> AuthorizationStart:
    row = get(host, name)
    kind = host.registry.kind(row["kind"])
    if not kind.oauth:
        raise UserError(f"{kind.title} apps are authorized with credentials: "
                        + ", ".join(f"--credential {f.name}=…" for f in kind.direct_credentials))
    state = oauth.new_state(host.db, row["id"], redirect_uri, host.clock)
    ctx = host.context(row)
    answer = _call(host, row, "authorize", ctx=ctx, step="start", params={"state": state, "redirect_uri": redirect_uri})
    start = answer if isinstance(answer, AuthorizationStart) else AuthorizationStart.model_validate(answer)
    if start.redirect_uri != redirect_uri:
        with host.db.atomic():
            host.db.execute("UPDATE oauth_states SET redirect_uri = ? WHERE state_hash = ?",
                            (start.redirect_uri, oauth._hash(state)))
    return start


def continue_authorization(host: Host, name: str, params: dict[str, str], state: str) -> AuthorizationStart:
    """A redirect with no state of ours (a log-in page step): let the plugin say where the browser goes next."""
    row = get(host, name)
    answer = _call(host, row, "authorize", ctx=host.context(row), step="continue", params={**params, "state": state})
    if not isinstance(answer, AuthorizationStart):
        raise AuthorizationError("the redirect carries no state: it did not come from an authorization we started")
    return answer


def complete_authorization(host: Host, name: str, params: dict[str, str]) -> dict[str, Any]:
    """Check the redirect's state, then let the plugin exchange what it carries for credentials."""
    row = get(host, name)
    redirect_uri = oauth.consume_state(host.db, row["id"], params.get("state"), host.clock)
    if params.get("error"):
        detail = params.get("error_description") or params["error"]
        raise AuthorizationError(f"the authorization was not granted ({detail}); nothing was stored — run "
                                 f"`linkolis apps authorize {row['name']!r}` again to retry")
    answer = _call(host, row, "authorize", ctx=host.context(row), step="complete",
                   params={**params, "redirect_uri": redirect_uri})
    return _store_credentials(host, row, answer)


def authorize_direct(host: Host, name: str, params: dict[str, str]) -> dict[str, Any]:
    row = get(host, name)
    kind = host.registry.kind(row["kind"])
    allowed = {f.name for f in kind.direct_credentials}
    if not allowed:
        raise UserError(f"{kind.title} apps cannot take credentials directly; run `linkolis apps authorize` "
                        "without --credential to sign in")
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise UserError(f"unknown credential {', '.join(unknown)}; {kind.title} takes: {', '.join(sorted(allowed))}")
    missing = sorted(allowed - set(params))
    if missing:
        raise UserError(f"missing credential {', '.join(missing)} (give each as --credential NAME=VALUE)")
    answer = _call(host, row, "authorize", ctx=host.context(row), step="direct", params=params)
    return _store_credentials(host, row, answer)


def authorize_in_browser(
    host: Host, name: str, *, port: int, timeout: float, open_url: Callable[[str], None],
    paste: Callable[[str], dict[str, str] | None], say: Callable[[str], None],
) -> dict[str, Any] | None:
    """Run the redirect flow on a loopback receiver: start, send the seller to the consent page, receive the
    redirect (following a log-in page step if the marketplace makes one), complete, answer the browser.

    When the plugin redirects elsewhere than the receiver (a registered HTTPS page), ``paste`` is asked for the
    address the browser landed on; None from it means "finish later with --redirect-url" and returns None.
    """
    with oauth.LoopbackReceiver(port) as receiver:
        start = start_authorization(host, name, receiver.redirect_uri)
        open_url(start.url)
        if start.redirect_uri != receiver.redirect_uri:
            params = paste(start.redirect_uri)
            return None if params is None else complete_authorization(host, name, params)
        say(f"Waiting for the redirect on {receiver.redirect_uri} …")
        pending_state = dict(parse_qsl(urlsplit(start.url).query)).get("state")
        while True:
            params = receiver.next_request(timeout)
            try:
                if "state" not in params and pending_state and not params.get("error"):
                    receiver.redirect(continue_authorization(host, name, params, pending_state).url)
                    continue
                row = complete_authorization(host, name, params)
            except LinkolisError as exc:
                receiver.respond(False, str(exc))
                raise
            receiver.respond(True, f"{row['name']} is authorized. Back in the terminal: linkolis apps verify")
            return row


def _store_credentials(host: Host, row: dict[str, Any], answer: Any) -> dict[str, Any]:
    creds = answer if isinstance(answer, Credentials) else Credentials.model_validate(answer)
    if row["account_id"] and creds.account_id != row["account_id"]:
        raise AuthorizationError(
            f"{row['name']!r} is connected to account {row['account_id']}, but account {creds.account_id} signed "
            f"in. Nothing was changed. To connect another account, remove the app (`linkolis apps remove "
            f"{row['name']!r}`) and install it again, signing in to the right account."
        )
    clash = next(host.db.query(
        "SELECT name FROM apps WHERE kind = ? AND account_id = ? AND account_scope = ? AND id != ? AND status != ?",
        [row["kind"], creds.account_id, row["account_scope"] or "", row["id"], REMOVED]), None)
    if clash:
        raise AuthorizationError(
            f"app {clash['name']!r} already connects account {creds.account_id} for the same "
            f"{row['account_scope'] or 'scope'}: one app per marketplace. Use {clash['name']!r}, or remove it "
            "first; to sell in another marketplace, install an app with that marketplace."
        )
    now = _now(host)
    with host.db.atomic():
        host.seal_credentials(row["id"], {k: v.get_secret_value() for k, v in creds.secrets.items()})
        host.db["apps"].update(row["id"], {
            "status": "authorized", "attention_reason": "", "account_id": creds.account_id,
            "authorized_at": now, "updated_at": now,
            "authorization_expires_at": creds.expires_at.isoformat() if creds.expires_at else None,
        })
        audit(host, row, "authorized", account_id=creds.account_id)
    return host.db["apps"].get(row["id"])


# -- verify ----------------------------------------------------------------------------------------------------


def verify(host: Host, name: str) -> tuple[dict[str, Any], list[HealthCheck], bool]:
    row = get(host, name)
    answer = _call(host, row, "health_check", ctx=host.context(row)) or []
    checks = [c if isinstance(c, HealthCheck) else HealthCheck.model_validate(c) for c in answer]
    if row["account_id"] is None:
        checks.insert(0, HealthCheck(name="authorized", status="failed", detail="the app was never authorized",
                                     remedy=f"run `linkolis apps authorize {row['name']!r}` and confirm in the browser"))
    ok = bool(checks) and not any(c.status == "failed" for c in checks)
    with host.db.atomic():
        if ok:
            host.db["apps"].update(row["id"], {"status": "verified", "attention_reason": "",
                                               "verified_at": _now(host), "updated_at": _now(host)})
            audit(host, row, "verified")
        else:
            failed = next((c for c in checks if c.status == "failed"), None)
            if row["account_id"] is not None and failed is not None:
                host.db["apps"].update(row["id"], {"status": "needs_attention", "updated_at": _now(host),
                                                   "attention_reason": failed.detail or failed.name})
            audit(host, row, "verify_failed", failed=[c.name for c in checks if c.status == "failed"])
    return host.db["apps"].get(row["id"]), checks, ok


def _call(host: Host, row: dict[str, Any], hook: str, **kwargs: Any) -> Any:
    """Call a hook for the app's plugin; a NeedsAttention from it marks the app before it propagates."""
    try:
        return host.registry.call(row["kind"], hook, **kwargs)
    except NeedsAttention as exc:
        if row["account_id"] is not None:
            mark_attention(host, row, exc.reason)
        raise
    except LinkolisError:
        raise
