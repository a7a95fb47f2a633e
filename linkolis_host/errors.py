"""Errors a plugin raises, and the host turns into an app status or a clear message.

Anything a seller or operator can cause or fix ends up as one of these, never as a traceback.
"""

from __future__ import annotations


class LinkolisError(Exception):
    """Base of every error the host explains to the user instead of crashing."""


class UserError(LinkolisError):
    """Bad input from the seller or the operator: unknown app, invalid field, corrupt config file."""


class PluginLoadError(LinkolisError):
    """A plugin is enabled but not installed, two plugins share an id, or a hook is misspelled."""


class PluginError(LinkolisError):
    """A plugin answered a hook with something the contract does not allow (the message names plugin and hook)."""


class SecretsError(LinkolisError):
    """The credentials key is missing, malformed, or does not open the stored credentials."""


class AuthorizationError(LinkolisError):
    """Authorization could not be completed (consent refused, code expired, bad pasted credentials).

    Nothing is stored when this is raised; the seller can run the authorization again.
    """


class NeedsAttention(LinkolisError):
    """The app cannot work until someone acts; ``reason`` becomes ``needs attention: <reason>``.

    Raise it from any hook (``AuthorizationRevoked`` for a revoked grant). Work already committed stays.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class AuthorizationRevoked(NeedsAttention):
    """The marketplace no longer honours the app's authorization: the seller must authorize again."""

    def __init__(self, reason: str = "authorization revoked — authorize again") -> None:
        super().__init__(reason)


class OperatorConfigError(NeedsAttention):
    """The operator's settings for the plugin are missing or wrong (client id, secret, endpoint)."""


class RemoteError(LinkolisError):
    """The marketplace answered with an error that retrying did not cure.

    ``status`` is the HTTP status (0 for a connection that never answered); ``request_id`` is what to quote
    to the marketplace's support.
    """

    def __init__(self, message: str, *, status: int = 0, request_id: str | None = None, body: object = None):
        super().__init__(message)
        self.status = status
        self.request_id = request_id
        self.body = body


class RateLimited(RemoteError):
    """The marketplace kept answering 429 after the host backed off as far as it is allowed to."""


class Busy(LinkolisError):
    """Another sync of the same app holds its lock."""


class TooBusy(LinkolisError):
    """The host is already doing as much of this as it may at once (checking passwords, say): try again shortly.

    Nothing was done."""


class AppRemoved(LinkolisError):
    """The app was removed (by another command) while work for it ran: the work stopped at its next step.

    Nothing more is sent to the marketplace or saved for the app once this is raised.
    """

    def __init__(self, name: str, work: str = "this command") -> None:
        super().__init__(f"{name!r} was removed while {work} ran; stopped (nothing more was sent or saved for it)")
        self.name = name
        self.work = work
