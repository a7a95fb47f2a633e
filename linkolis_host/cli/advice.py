"""The host's actions (``errors.Action``) worded for a terminal: the command that does it.

The host's core and the plugins say what fixes an error or a failed check as data (an action, the app, the field);
this is the one place that turns that into a ``linkolis …`` line. The web words the same actions as buttons.
"""

from __future__ import annotations

import shlex
from typing import Any

from .. import installed
from ..errors import Action, LinkolisError
from ..host import Host


def _quoted(name: str | None, placeholder: str) -> str:
    return shlex.quote(name) if name else placeholder


def _kind(host: Host | None, app: str | None) -> Any:
    if host is None or not app:
        return None
    try:
        return host.registry.kind(installed.get(host, app).kind)
    except LinkolisError:
        return None


def command(host: Host | None, action: Action | str | None, app: str | None = None, param: str | None = None) -> str:
    """The command that carries out ``action`` ("" when there is none: the operator's settings, say). Two commands
    in a row are joined by "`, then `", for a caller that puts the whole in backquotes."""
    if not action:
        return ""
    action = Action(action)
    name = _quoted(app, "NAME")
    if action is Action.AUTHORIZE:
        kind = _kind(host, app)
        if kind is not None and not kind.oauth and kind.direct_credentials:
            given = " ".join(f"--credential {f.name}={'-' if f.secret else '…'}" for f in kind.direct_credentials)
            return f"linkolis apps authorize {name} {given}"
        return f"linkolis apps authorize {name}"
    if action is Action.CONFIGURE:
        option = f" --{param.replace('_', '-')} …" if param and param != "name" else " --name …" if param else ""
        return f"linkolis apps configure {name}{option}"
    if action is Action.REINSTALL:
        kind = _kind(host, app)
        return f"linkolis apps remove {name}`, then `linkolis apps install {kind.kind if kind else 'KIND'}"
    if action is Action.VERIFY:
        return f"linkolis apps verify {name}"
    if action is Action.SET_STOCK:
        return f"linkolis stock set {_quoted(param, 'SKU')} QUANTITY"
    if action is Action.LIST_ORDERS:
        return "linkolis orders list"
    if action is Action.ADD_WORKSPACE:
        return "linkolis workspaces add NAME"
    if action is Action.LIST_USERS:
        return "linkolis users list"
    if action is Action.LIST_PLUGINS:
        return "linkolis plugins"
    return ""  # OPERATOR: the step is the operator's settings, which the text names


def operator_step(action: Action | str | None) -> str:
    return "the host operator fixes this (see docs/operations.md)" if action == Action.OPERATOR else ""


def explain(host: Host | None, exc: LinkolisError) -> str:
    """The error's text with what to run next: "…; run `linkolis apps authorize 'Shop EU'`"."""
    text = str(exc)
    found = command(host, exc.action, exc.app, exc.param)
    if found:
        return f"{text.rstrip('.')}: run `{found}`"
    return text


def noted(host: Host | None, app: str, summary: dict[str, Any]) -> str:
    """A summary's note ("stock update sync is off for this app") with the command its action names."""
    found = command(host, summary.get("action"), app, summary.get("param"))
    return summary["note"] + (f"; turn it on with `{found}`" if found else "")


def remedy(host: Host | None, app: str, check: Any) -> str:
    """A failed check's step for a terminal: its prose, then the command its action names ("authorize the app
    again: `linkolis apps authorize 'Shop EU'`")."""
    found = command(host, check.action, app, check.param)
    if found:
        return f"{check.remedy}: `{found}`" if check.remedy else f"run `{found}`"
    return check.remedy or operator_step(check.action)
