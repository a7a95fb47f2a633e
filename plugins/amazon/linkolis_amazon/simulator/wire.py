"""Request and response values shared by the in-process transport and the HTTP server, plus error shapes.

Both ways of running the simulator turn what arrives into a ``SimRequest`` and send back a ``SimResponse``, so
the behaviour cannot differ between them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit


@dataclass
class SimRequest:
    """One HTTP request as the simulator sees it."""

    method: str
    raw_path: str  # still percent-encoded: a SKU may hold "%2F" and must stay one path segment
    query: list[tuple[str, str]]
    headers: dict[str, str]  # lower-case names
    body: bytes = b""
    base_url: str = "http://127.0.0.1"  # scheme://host[:port] the client used; URLs we hand out start with it
    raw_query: str = ""

    @classmethod
    def build(
        cls,
        method: str,
        target: str,
        headers: Iterable[tuple[str, str]] = (),
        body: bytes = b"",
        base_url: str = "http://127.0.0.1",
    ) -> SimRequest:
        """Build from a request target (``/path?query``) as it appears on the wire."""
        path, _, raw_query = target.partition("?")
        hdrs: dict[str, str] = {}
        for k, v in headers:
            hdrs[k.lower()] = v
        return cls(
            method=method.upper(),
            raw_path=path or "/",
            query=parse_qsl(raw_query, keep_blank_values=True),
            headers=hdrs,
            body=body,
            base_url=base_url.rstrip("/"),
            raw_query=raw_query,
        )

    def q(self, name: str) -> str | None:
        """First value of a query parameter."""
        for k, v in self.query:
            if k == name:
                return v
        return None

    def q_all(self, name: str) -> list[str]:
        return [v for k, v in self.query if k == name]

    def form(self) -> dict[str, str]:
        """Form fields of an ``application/x-www-form-urlencoded`` body (last value wins), or of a JSON object."""
        ctype = self.headers.get("content-type", "")
        if "json" in ctype:
            try:
                data = json.loads(self.body or b"{}")
            except ValueError:
                return {}
            return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
        return dict(parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True))


@dataclass
class SimResponse:
    """An answer; ``disconnect`` asks the carrier to drop the connection instead of answering."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    disconnect: str | None = None  # "drop" (mid-request) or "connect" (refused)

    def header(self, name: str) -> str | None:
        low = name.lower()
        for k, v in self.headers:
            if k.lower() == low:
                return v
        return None

    def set_header(self, name: str, value: str) -> None:
        low = name.lower()
        self.headers = [(k, v) for k, v in self.headers if k.lower() != low]
        self.headers.append((name, value))

    def json(self) -> Any:
        return json.loads(self.body)


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def json_response(status: int, obj: Any, headers: Iterable[tuple[str, str]] = ()) -> SimResponse:
    return SimResponse(status, [("Content-Type", "application/json"), *headers], dumps(obj))


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


# --- time -------------------------------------------------------------------------------------------------------


def iso(ts: float) -> str:
    """Epoch seconds as ISO 8601 UTC with second precision, the way Amazon writes them."""
    return datetime.fromtimestamp(int(ts), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_ms(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(ts * 1000) % 1000:03d}Z"


def parse_iso(value: str) -> float:
    """ISO 8601 date-time to epoch seconds; no offset means UTC. Raises ValueError."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


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
