"""The host's errors and failed checks worded for a page: a sentence in the seller's language and the action that
fixes it as a button.

An error carries a code, the app, the field and an action (``errors.Action``); the sentence is looked up by its
code in the catalogs, with the error's values put in, and falls back to the error's own text only for a code this
module does not know (a plugin's). The button is a form posting to the route that does it (``/apps/authorize``,
``/apps/verify``), or a link to the field or page where the seller does it. The CLI words the same actions as
commands (``linkolis_host/cli/advice.py``).
"""

from __future__ import annotations

from typing import Any

from ..apps import fields_of
from ..errors import Action, LinkolisError
from ..models import HealthCheck
from .pages import Req


def N_(message: str) -> str:
    """Marks a text for the catalogs; it is translated where it is shown."""
    return message


QUEUE_UNREADABLE = N_(
    "This site cannot read its order notifications right now: new orders are fetched on a schedule meanwhile."
)

SENTENCES = {
    "authorization_refused": N_(
        "You did not grant the authorization at the marketplace, so nothing was stored. Authorize again when you "
        "are ready."
    ),
    "authorization_expired": N_(
        "The authorization took longer than 10 minutes and expired. Nothing was stored: authorize again."
    ),
    "authorization_replayed": N_("This authorization was already used. Nothing was stored: authorize again."),
    "authorization_state_unknown": N_(
        "This authorization was not started here for this app. Nothing was stored: authorize again."
    ),
    "authorization_called_off": N_(
        "The authorization was called off: the app was changed or removed meanwhile. Nothing was stored."
    ),
    "credentials_missing": N_("Fill in %(fields)s as well: the app needs it to connect."),
    "credentials_needed": N_("This app connects with its credentials: fill in %(fields)s."),
    "credentials_unknown": N_("This app does not take %(fields)s."),
    "no_direct_credentials": N_("This app connects by signing in at the marketplace: authorize it."),
    "name_taken": N_("An app named %(name)s is already installed; choose another name."),
    "account_connected": N_(
        "App %(other)s already connects account %(account)s for this marketplace: one app per marketplace "
        "account. Nothing was changed. Use %(other)s, or remove it first."
    ),
    "account_connected_elsewhere": N_(
        "Account %(account)s is already connected for this marketplace by an app in another workspace. Nothing "
        "was stored. If the account is yours, ask the operator to remove that app first."
    ),
    "another_account": N_(
        "This app is connected to account %(account)s, but account %(other)s signed in. Nothing was changed. To "
        "connect another account, remove the app and install it again, signing in to the right account."
    ),
    "authorization_timed_out": N_(
        "No authorization came back within %(seconds)s seconds. Nothing was stored: authorize again."
    ),
    "credentials_unopenable": N_(
        "The stored credentials of %(app)s can no longer be opened (the site's secret key changed). Authorize the "
        "app again: it keeps its orders and settings."
    ),
    "invalid_settings": N_("Some settings are not valid: correct the fields marked."),
    "not_authorized": N_("%(app)s is not authorized yet."),
    "no_workspace": N_("There is no workspace yet: the operator of this site creates one."),
    "no_user": N_("There is no user %(email)s."),
    "no_demo_plugin": N_("No installed plugin offers a demo."),
    "demo_stopped": N_("The demo's stand-in for the marketplace has stopped: start the demo again."),
    "app_removed": N_("%(app)s was removed while this ran: it stopped, and nothing more was sent or saved for it."),
    "busy": N_("Other work holds this right now; try again when it ends."),
    "too_busy": N_("This site is busy; try again in a moment."),
    "no_order": N_("There is no imported order %(order)s."),
    "no_sku": N_("There is no SKU %(sku)s: set its stock first."),
    "sku_empty": N_("Fill in the SKU."),
    "sku_too_long": N_("A SKU is at most 200 characters."),
    "sku_unsafe": N_("A SKU cannot hold invisible control characters; type it again."),
    "quantity_not_whole": N_("%(text)s is not a whole number of items."),
    "quantity_negative": N_("A stock level is 0 or more."),
    "quantity_too_large": N_("That is more than %(most)s; if it really is your stock, split the SKU."),
    "file_not_utf8": N_("%(file)s is not UTF-8 text (line %(line)s): save it as “CSV UTF-8”."),
    "file_header": N_("The first line of %(file)s must be the header sku,quantity (or sku;quantity)."),
    "file_bad_rows": N_("Nothing of %(file)s was applied; these rows are not right: %(rows)s"),
    "database_unreadable": N_("This site cannot read its database right now."),
    "database_not_upgraded": N_("This site's database must be upgraded for this version first."),
    # The PostgreSQL store and the task queue (the operator's to fix): the seller learns only that the site cannot.
    "database_unreachable": N_("This site cannot reach its database right now."),
    "database_url_invalid": N_("This site's database is not set up correctly."),
    "postgres_driver_missing": N_("This site's database is not set up correctly."),
    "queue_library_missing": N_("This site's background sync is not set up correctly."),
    "worker_needs_postgres": N_("This site's background sync is not set up correctly."),
    "queue_lost": N_("This site cannot reach its database right now."),
    # Backups, upgrades and the credentials key (the operator's commands): the seller learns what the site cannot do.
    "database_newer": N_("This site's database was written by a newer version, which this one cannot use."),
    "database_damaged": N_("This site cannot read its database right now."),
    "no_database": N_("This site cannot read its database right now."),
    "not_a_backup": N_("The operator of this site has to fix this; let them know."),
    "data_directory_in_use": N_("The operator of this site has to fix this; let them know."),
    "data_directory_not_empty": N_("The operator of this site has to fix this; let them know."),
    "key_rotation_running": N_("This site is replacing its key; try again in a minute."),
    "new_key_file_exists": N_("The operator of this site has to fix this; let them know."),
    "new_key_file_unwritable": N_("The operator of this site has to fix this; let them know."),
    "secret_key_in_environment": N_("The operator of this site has to fix this; let them know."),
    "secret_key_invalid": N_("This site's key for the stored credentials is not set up correctly."),
    "secret_key_readable": N_("This site's key for the stored credentials is not set up correctly."),
    "unexpected": N_("something unexpected went wrong; the operator's log says what"),
    "no_such_set_aside": N_("There is no set-aside notification %(id)s."),
    # The notification queue (the operator's SQS): the seller learns only that orders still come.
    "notification_queue": QUEUE_UNREADABLE,
    "no_notification_queue": QUEUE_UNREADABLE,
    "no_aws_credentials": QUEUE_UNREADABLE,
    "no_aws_region": QUEUE_UNREADABLE,
    "queue_refused": QUEUE_UNREADABLE,
    "no_such_queue": QUEUE_UNREADABLE,
    "queue_unreachable": QUEUE_UNREADABLE,
}

# A settings field's rule broken (pydantic's error type), or a validator's reason (the host's own ones).
FIELD_RULES = {
    "missing": N_("Fill this in."),
    "string_too_short": N_("Fill this in."),
    "string_too_long": N_("At most %(max_length)s characters."),
    "int_parsing": N_("Give a whole number."),
    "int_type": N_("Give a whole number."),
    "int_from_float": N_("Give a whole number."),
    "float_parsing": N_("Give a number."),
    "greater_than_equal": N_("At least %(ge)s."),
    "greater_than": N_("More than %(gt)s."),
    "less_than_equal": N_("At most %(le)s."),
    "less_than": N_("Less than %(lt)s."),
    "literal_error": N_("Choose one of the options."),
    "enum": N_("Choose one of the options."),
    "bool_parsing": N_("Choose on or off."),
}
REASONS = [
    N_("the application name cannot be empty"),
    N_("the application name is at most 80 characters"),
]


def field_rule(req: Req, values: dict[str, Any], message: str) -> str:
    """A settings field's broken rule in the page's language: by pydantic's error type, or a validator's reason
    from the catalogs; else the rule as pydantic words it."""
    if values.get("reason") in REASONS:
        text = req._(values["reason"])
        return text[:1].upper() + text[1:] + "."
    known = FIELD_RULES.get(values.get("type") or "")
    if known is None:
        return message
    try:
        return req._(known) % values
    except (KeyError, TypeError, ValueError):
        return message


# What the seller reads beside an action there is no button for: the host's operator must act.
OPERATOR = N_("The operator of this site has to fix this; let them know.")


def _listed(req: Req, names: list[str], labels: dict[str, str]) -> str:
    words = [req._(labels.get(n, n)) for n in names]
    if len(words) < 2:
        return "".join(words)
    return req._("%(first)s and %(last)s") % {"first": ", ".join(words[:-1]), "last": words[-1]}


def sentence(req: Req, data: dict[str, Any], labels: dict[str, str] | None = None) -> str:
    """The error (``LinkolisError.as_data()``) as one sentence in the page's language; its text for unknown codes.
    ``labels``: the seller's words for field names (a credential's label, a setting's title)."""
    known = SENTENCES.get(data.get("code") or "")
    if known is None:
        return data.get("message") or ""
    values: dict[str, Any] = {"app": data.get("app") or ""}
    for key, value in (data.get("values") or {}).items():
        values[key] = _listed(req, value, labels or {}) if isinstance(value, list) else value
    try:
        return req._(known) % values
    except (KeyError, TypeError, ValueError):  # a value the error did not carry: its own text says it
        return data.get("message") or ""


def button(
    req: Req, action: str | None, app: str | None, param: str | None = None, *, oauth: bool = True
) -> dict[str, Any] | None:
    """The action as a control: ``{"label", "method": "post" | "get", "url", "fields"}``, or a note for the
    operator's actions (``{"note"}``); None when nothing is to be pressed."""
    if not action:
        return None
    action = Action(action)
    if action is Action.AUTHORIZE and app:
        if not oauth:  # the credential fields are in the panel: go to the first one to fill in
            return {"label": req._("Fill in the credentials"), "method": "link", "url": f"#cred-{param or ''}"}
        return {"label": req._("Authorize again"), "method": "post", "url": "/apps/authorize", "fields": {"app": app}}
    if action is Action.CONFIGURE and app:
        return {"label": req._("Change the settings"), "method": "link", "url": f"#field-{param or 'name'}"}
    if action is Action.REINSTALL and app:
        return {"label": req._("Remove the app"), "method": "get", "url": "/apps/remove", "fields": {"app": app}}
    if action is Action.VERIFY and app:
        return {"label": req._("Check again"), "method": "post", "url": "/apps/verify", "fields": {"app": app}}
    if action is Action.OPERATOR:
        return {"note": req._(OPERATOR)}
    if action is Action.LIST_ORDERS:
        return {"label": req._("See the orders"), "method": "link", "url": "/orders"}
    if action is Action.SET_STOCK:
        return {"label": req._("Set the stock"), "method": "link", "url": "/stock"}
    return None


def labels_of(req: Req, kind_name: str) -> dict[str, str]:
    """The seller's words for an app kind's credential and setting names."""
    try:
        kind = req.host.registry.kind(kind_name)
    except LinkolisError:
        return {}
    return {**{s.name: s.title for s in fields_of(kind.settings)}, **{f.name: f.label for f in kind.direct_credentials}}


def error(req: Req, data: dict[str, Any], *, kind: str | None = None) -> dict[str, Any]:
    """An error (``as_data()``) for the page: ``{"sentence", "button", "param"}``."""
    oauth = True
    labels: dict[str, str] = {}
    if kind:
        labels = labels_of(req, kind)
        try:
            oauth = bool(req.host.registry.kind(kind).oauth)
        except LinkolisError:
            pass
    return {
        "sentence": sentence(req, data, labels),
        "button": button(req, data.get("action"), data.get("app"), data.get("param"), oauth=oauth),
        "param": data.get("param"),
        "code": data.get("code"),
    }


def failed_check(req: Req, check: HealthCheck, app: str, *, oauth: bool = True) -> dict[str, Any]:
    """A failed check for the page: its name, detail and remedy in the plugin's words (its catalog, where it holds
    them, else the host's), its action's button (but for "check again", which the panel offers once for all
    checks)."""
    return {
        "name": req.app_text(app, check.name),
        "detail": req.app_text(app, check.detail),
        "remedy": req.app_text(app, check.remedy) if check.remedy else "",
        "button": None if check.action == Action.VERIFY else button(req, check.action, app, check.param, oauth=oauth),
    }
