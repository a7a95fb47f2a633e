"""Amazon's side of the wire: its error shapes, HTML pages and redirects of the consent flow, millisecond times,
and an SP-API call on its way to an operation (the requests and responses themselves are the kit's)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from linkolis_host.testing.simulator import SimRequest, SimResponse


def html_response(status: int, text: str) -> SimResponse:
    return SimResponse(
        status,
        [
            ("Content-Type", "text/html; charset=utf-8"),
            ("Referrer-Policy", "no-referrer"),
            ("Cache-Control", "no-store"),
        ],
        text.encode("utf-8"),
    )


def redirect(location: str, status: int = 302) -> SimResponse:
    return SimResponse(status, [("Location", location), ("Referrer-Policy", "no-referrer"), ("Content-Length", "0")])


def add_query(url: str, params: Iterable[tuple[str, str]]) -> str:
    """Append query parameters to a URL that may already carry some."""
    parts = urlsplit(url)
    extra = urlencode(list(params))
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def error_body(code: str, message: str, details: str | None = None) -> dict[str, Any]:
    err: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        err["details"] = details
    return {"errors": [err]}


class ApiError(Exception):
    """An SP-API error answer in Amazon's ``{"errors":[...]}`` shape."""

    def __init__(self, status: int, code: str, message: str, details: str | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details

    def body(self) -> dict[str, Any]:
        return error_body(self.code, self.message, self.details)


INVALID_INPUT_MESSAGE = "Request has missing or invalid parameters and cannot be parsed."


def invalid_input(details: str) -> ApiError:
    return ApiError(400, "InvalidInput", INVALID_INPUT_MESSAGE, details)


def unauthorized(details: str) -> ApiError:
    return ApiError(403, "Unauthorized", "Access to requested resource is denied.", details)


def not_found(message: str, code: str = "NotFound") -> ApiError:
    return ApiError(404, code, message)


def iso_ms(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(ts * 1000) % 1000:03d}Z"


@dataclass
class Call:
    """An authenticated SP-API call on its way to an operation handler."""

    req: SimRequest
    op: Any  # contract.Operation
    path: dict[str, str]
    account: Any  # accounts.Account
    now: float
    force_fatal: bool = False  # a "feed_fatal" fault: the feed this createFeed makes ends FATAL

    def q(self, name: str) -> str | None:
        return self.req.q(name)

    def csv(self, name: str) -> list[str] | None:
        """A comma-separated array parameter (``style: form, explode: false``), or None when absent."""
        value = self.req.q(name)
        if value is None:
            return None
        return [v for v in value.split(",") if v != ""]

    def json_body(self) -> Any:
        return json.loads(self.req.body or b"null")
