"""What a simulator reads and answers: one ``SimRequest`` in, one ``SimResponse`` out, whichever carrier (the
in-process httpx transport or the HTTP server) brought it, so the behaviour cannot differ between them."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl


@dataclass
class SimRequest:
    """One HTTP request as the simulator sees it."""

    method: str
    raw_path: str  # still percent-encoded: a SKU may hold "%2F" and must stay one path segment
    query: list[tuple[str, str]]
    headers: dict[str, str]  # lower-case names
    body: bytes = b""
    base_url: str = "http://127.0.0.1"  # scheme://host[:port] the client used; URLs handed out start with it
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
        return cls(
            method=method.upper(),
            raw_path=path or "/",
            query=parse_qsl(raw_query, keep_blank_values=True),
            headers={name.lower(): value for name, value in headers},
            body=body,
            base_url=base_url.rstrip("/"),
            raw_query=raw_query,
        )

    def q(self, name: str) -> str | None:
        """The first value of a query parameter."""
        return next((value for key, value in self.query if key == name), None)

    def json(self) -> Any:
        """The body as JSON (call it after the contract has found the request valid)."""
        return json.loads(self.body)

    def q_all(self, name: str) -> list[str]:
        """Every value of a query parameter."""
        return [value for key, value in self.query if key == name]

    def form(self) -> dict[str, str]:
        """Form fields of an ``application/x-www-form-urlencoded`` body (last value wins), or of a JSON object."""
        if "json" in self.headers.get("content-type", ""):
            try:
                data = json.loads(self.body or b"{}")
            except ValueError:
                return {}
            return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
        return dict(parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True))


@dataclass
class SimResponse:
    """An answer; ``disconnect`` asks the carrier to answer nothing: ``"drop"`` (the connection drops mid-request)
    or ``"connect"`` (the connection is refused)."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    disconnect: str | None = None

    def header(self, name: str) -> str | None:
        """The first value of a header, by its name in any case."""
        low = name.lower()
        return next((value for key, value in self.headers if key.lower() == low), None)

    def set_header(self, name: str, value: str) -> None:
        """Set a header, replacing any of the same name."""
        low = name.lower()
        self.headers = [(k, v) for k, v in self.headers if k.lower() != low]
        self.headers.append((name, value))

    def json(self) -> Any:
        return json.loads(self.body)


def dumps(obj: Any) -> bytes:
    """JSON as a marketplace sends it: compact, UTF-8."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def json_response(
    status: int, obj: Any, headers: Iterable[tuple[str, str]] = (), content_type: str = "application/json"
) -> SimResponse:
    """A JSON answer (``content_type`` for a marketplace's own JSON media type)."""
    return SimResponse(status, [("Content-Type", content_type), *headers], dumps(obj))


def iso(ts: float) -> str:
    """Epoch seconds as ISO 8601 UTC to the second: ``2026-05-28T20:26:40Z``."""
    return datetime.fromtimestamp(int(ts), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(value: str) -> float:
    """An ISO 8601 date-time as epoch seconds; no offset means UTC. Raises ValueError."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()
