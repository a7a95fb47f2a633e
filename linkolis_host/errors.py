"""Errors a plugin raises, and the host turns into an app status or a clear message.

Anything a seller or operator can cause or fix ends up as one of these, never as a traceback. As in stripe's
``_error.py``, an error carries data beside its prose: a ``code`` saying what happened, the ``app`` and the field
(``param``) it is about, the ``action`` that fixes it and the ``values`` its sentence names. The text (``str()``)
is English prose for logs and for codes an interface does not know; each interface words the rest for its own
reader: the CLI as a command to run, the web as a sentence in the seller's language and a button.
"""

from __future__ import annotations

import enum
from typing import Any


class Action(enum.StrEnum):
    """What fixes an error or a failed check, as data: the CLI words it as a command, the web as a button."""

    AUTHORIZE = "authorize"  # authorize the app again (sign in at the marketplace, or give its credentials)
    CONFIGURE = "configure"  # change a setting of the app (``param``: which one)
    REINSTALL = "reinstall"  # remove the app and install it again (to connect another account)
    OPERATOR = "operator"  # the host's operator changes the plugin's settings; nothing for the seller to do
    VERIFY = "verify"  # check the app again (later: the marketplace may be down for a while)
    SET_STOCK = "set_stock"  # set the stock of a SKU (``param``: the SKU)
    LIST_ORDERS = "list_orders"  # look the order up among those imported
    ADD_WORKSPACE = "add_workspace"  # the operator creates a workspace (and a user in it)
    LIST_USERS = "list_users"  # see which users there are
    LIST_PLUGINS = "list_plugins"  # see which plugins are installed and enabled


class LinkolisError(Exception):
    """Base of every error the host explains to the user instead of crashing.

    ``code``: what happened, a short snake_case name an interface looks its wording up by (the class's own when
    not given); ``app``: the app's name; ``param``: the field or setting it is about; ``action``: what fixes it;
    ``values``: what the worded sentence names (plain strings, numbers and lists of them). ``action=""`` says
    that no action fixes it, where the class has one.
    """

    code = "error"
    action: Action | None = None

    def __init__(
        self,
        message: str = "",
        *,
        code: str | None = None,
        app: str | None = None,
        param: str | None = None,
        action: Action | str | None = None,
        values: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        if action is not None:  # "" takes the class's action away: nothing the seller or operator can press
            self.action = Action(action) if action else None
        self.app = app
        self.param = param
        self.values = dict(values or {})

    @property
    def message(self) -> str:
        return str(self)

    def as_data(self) -> dict[str, Any]:
        """The error as plain data (JSON, a session): what an interface needs to word it."""
        return {
            "code": self.code,
            "message": self.message,
            "app": self.app,
            "param": self.param,
            "action": self.action.value if self.action else None,
            "values": self.values,
        }


class UserError(LinkolisError):
    """Bad input from the seller or the operator: unknown app, invalid field, corrupt config file."""

    code = "bad_input"


class PluginLoadError(LinkolisError):
    """A plugin is enabled but not installed, two plugins share an id, or a hook is misspelled."""

    code = "plugin_load"
    action = Action.OPERATOR


class PluginError(LinkolisError):
    """A plugin answered a hook with something the contract does not allow (the message names plugin and hook)."""

    code = "plugin_error"


class SecretsError(LinkolisError):
    """The credentials key is missing, malformed, or does not open the stored credentials."""

    code = "secret_key"
    action = Action.OPERATOR


class AuthorizationError(LinkolisError):
    """Authorization could not be completed (consent refused, code expired, bad pasted credentials).

    Nothing is stored when this is raised; the seller can run the authorization again.
    """

    code = "authorization_failed"
    action = Action.AUTHORIZE


class NeedsAttention(LinkolisError):
    """The app cannot work until someone acts; ``reason`` becomes ``needs attention: <reason>``.

    Raise it from any hook (``AuthorizationRevoked`` for a revoked grant). Work already committed stays.
    """

    code = "needs_attention"

    def __init__(self, reason: str, **data: Any) -> None:
        super().__init__(reason, **data)
        self.reason = reason


class AuthorizationRevoked(NeedsAttention):
    """The marketplace no longer honours the app's authorization: the seller must authorize again."""

    code = "authorization_revoked"
    action = Action.AUTHORIZE

    def __init__(self, reason: str = "authorization revoked — authorize again", **data: Any) -> None:
        super().__init__(reason, **data)


class OperatorConfigError(NeedsAttention):
    """The operator's settings for the plugin are missing or wrong (client id, secret, endpoint)."""

    code = "operator_settings"
    action = Action.OPERATOR


class RemoteError(LinkolisError):
    """The marketplace answered with an error that retrying did not cure.

    ``status`` is the HTTP status (0 for a connection that never answered); ``request_id`` is what to quote
    to the marketplace's support.
    """

    code = "remote_error"
    action = Action.VERIFY

    def __init__(
        self, message: str, *, status: int = 0, request_id: str | None = None, body: object = None, **data: Any
    ):
        super().__init__(message, **data)
        self.status = status
        self.request_id = request_id
        self.body = body


class RateLimited(RemoteError):
    """The marketplace kept answering 429 after the host backed off as far as it is allowed to."""

    code = "rate_limited"


class Busy(LinkolisError):
    """Another sync of the same app holds its lock."""

    code = "busy"


class TooBusy(LinkolisError):
    """The host is already doing as much of this as it may at once (checking passwords, say): try again shortly.

    Nothing was done."""

    code = "too_busy"


class AppRemoved(LinkolisError):
    """The app was removed (by another command) while work for it ran: the work stopped at its next step.

    Nothing more is sent to the marketplace or saved for the app once this is raised.
    """

    code = "app_removed"

    def __init__(self, name: str, work: str = "this command") -> None:
        super().__init__(
            f"{name!r} was removed while {work} ran; stopped (nothing more was sent or saved for it)", app=name
        )
        self.name = name
        self.work = work
