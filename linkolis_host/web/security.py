"""Security headers on every response (a CSP with no inline script, no framing, no Referer, no sniffing), and a
cap on the size of every request's body.
"""

from __future__ import annotations

from html import escape

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import i18n

# form-action 'self': every form posts here; a marketplace's consent page is reached by a link from a page of
# ours (see templates/redirect.html), never by a form, because browsers apply form-action to redirects too.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    # Everywhere, not only on /apps/callback: its URL carries an authorization code that must not leak.
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"cache-control", b"no-store"),
]


class SecurityHeaders:
    def __init__(self, app: ASGIApp, hsts: bool = False) -> None:
        self.app = app
        self.extra = [(b"strict-transport-security", b"max-age=31536000")] if hsts else []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = [
                    *message.get("headers", []),
                    *((k, v) for k, v in HEADERS + self.extra if k not in names),
                ]
            await send(message)

        await self.app(scope, receive, with_headers)


class BodyTooLarge(Exception):
    """A request's body went past its cap while it was read."""


class BodyLimit:
    """At most ``limits[path]`` bytes of body for a path named there (the stock upload), ``default`` for any other.

    A request that declares a longer body (``Content-Length``) is answered 413 before a byte of it is read; one
    whose body grows past the cap as it is read (chunked) is cut off there and answered 413 too. Whatever a handler
    does with a body, it never gets more than this.
    """

    def __init__(self, app: ASGIApp, default: int, limits: dict[str, int] | None = None) -> None:
        self.app, self.default, self.limits = app, default, dict(limits or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cap = self.limits.get(scope["path"], self.default)
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            await self._refuse(scope, send, cap)
            return
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > cap:
                    raise BodyTooLarge
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge:
            if started:
                raise
            await self._refuse(scope, send, cap)

    async def _refuse(self, scope: Scope, send: Send, cap: int) -> None:
        lang = i18n.from_accept_language(Headers(scope=scope).get("accept-language"))
        _ = i18n.translations(lang).gettext
        text = _("This is more than the page accepts (at most %(size)s MB). Nothing was changed.") % {
            "size": max(1, cap // (1024 * 1024))
        }
        body = f'<!doctype html><html lang="{lang}"><meta charset="utf-8"><p>{escape(text)}</p></html>'.encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"text/html; charset=utf-8"), (b"connection", b"close")],
            }
        )
        await send({"type": "http.response.body", "body": body})
