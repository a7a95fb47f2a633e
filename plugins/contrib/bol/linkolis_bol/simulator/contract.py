"""bol's specifications as the simulator's contract: routes, and request and response validation.

Everything is read from the vendored specifications in ``linkolis_bol/bol_models`` (through ``importlib.resources``),
so the simulator refuses exactly what bol's spec says is wrong. Loading is lazy and cached.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import unquote

SPECS = {"retailer": "retailer-v10.json", "shared": "shared-v10.json"}
HOST_URL = "https://api.bol.com"  # the specs name no server: their paths are absolute under bol's API host
MEDIA_TYPE = "application/vnd.retailer.v10+json"
CSV_MEDIA_TYPE = "application/vnd.retailer.v10+csv"
PROBLEM_MEDIA_TYPE = "application/vnd.retailer.v10+problem+json"


@cache
def load_spec(api: str) -> dict[str, Any]:
    text = resources.files("linkolis_bol").joinpath("bol_models", SPECS[api]).read_text(encoding="utf-8")
    return json.loads(text)


@dataclass(frozen=True)
class Operation:
    api: str
    operation_id: str
    method: str
    template: str
    pattern: re.Pattern[str] = field(compare=False, repr=False)

    def match(self, raw_path: str) -> dict[str, str] | None:
        m = self.pattern.fullmatch(raw_path)
        return None if m is None else {k: unquote(v) for k, v in m.groupdict().items()}


@cache
def operations() -> tuple[Operation, ...]:
    ops = []
    for api in SPECS:
        for template, item in load_spec(api)["paths"].items():
            regex = "".join(
                f"(?P<{part[1:-1].replace('-', '_')}>[^/]+)" if part.startswith("{") else re.escape(part)
                for part in re.split(r"(\{[\w-]+\})", template)
            )
            for method, op in item.items():
                if method in ("get", "put", "post", "delete", "patch"):
                    ops.append(Operation(api, op["operationId"], method.upper(), template, re.compile(regex)))
    ops.sort(key=lambda o: (o.template.count("{"), -len(o.template)))  # literal routes first
    return tuple(ops)


def route(method: str, raw_path: str) -> tuple[Operation, dict[str, str]] | None:
    for op in operations():
        if op.method == method:
            params = op.match(raw_path)
            if params is not None and all(params.values()):
                return op, params
    return None


def api_of(raw_path: str) -> str | None:
    return "shared" if raw_path.startswith("/shared/") else "retailer" if raw_path.startswith("/retailer/") else None


_lock = threading.Lock()


@cache
def openapi(api: str) -> Any:
    from openapi_core import Config, OpenAPI

    with _lock:
        # bol's vendor media types are JSON; openapi-core knows only the plain one by name.
        json_types = {t: json.loads for t in (MEDIA_TYPE, PROBLEM_MEDIA_TYPE, "application/vnd.advertiser.v10+json")}
        return OpenAPI.from_dict(
            load_spec(api), config=Config(spec_validator_cls=None, extra_media_type_deserializers=json_types)
        )


@dataclass
class OARequest:
    host_url: str
    path: str
    method: str
    parameters: Any
    body: bytes | None
    content_type: str


@dataclass
class OAResponse:
    status_code: int
    headers: Any
    data: bytes | None
    content_type: str


def _request(
    method: str, raw_path: str, query: Iterable[tuple[str, str]], headers: Mapping[str, str], body: bytes | None
) -> OARequest:
    from openapi_core.datatypes import RequestParameters
    from werkzeug.datastructures import Headers, ImmutableMultiDict

    lowered = {k.lower(): v for k, v in headers.items()}
    return OARequest(
        HOST_URL,
        raw_path,
        method.lower(),
        RequestParameters(query=ImmutableMultiDict(list(query)), header=Headers(dict(headers))),
        body or None,
        (lowered.get("content-type") or MEDIA_TYPE).lower(),
    )


def _describe(err: Exception) -> str:
    cause = err.__cause__
    errors = getattr(cause, "schema_errors", None)
    if errors:
        parts = []
        for e in errors:
            where = "/".join(str(p) for p in getattr(e, "absolute_path", ()))
            parts.append(f"{where}: {e.message}" if where else e.message)
        return f"{err}: " + "; ".join(parts)
    return f"{err}: {cause}" if cause is not None and str(cause) not in str(err) else str(err)


def request_problems(
    method: str, raw_path: str, query: Iterable[tuple[str, str]], headers: Mapping[str, str], body: bytes | None
) -> list[str]:
    """What bol's spec finds wrong with a request (empty: it conforms)."""
    api = api_of(raw_path)
    if api is None:
        return [f"{raw_path} is not a path of bol's Retailer or Shared API"]
    req = _request(method, raw_path, query, headers, body)
    return [_describe(e) for e in openapi(api).iter_request_errors(req)]


def _violation(error: Any) -> dict[str, str]:
    """One of openapi-core's schema errors as bol's ``Violation``: the field (``orderItems[0].reasonCode``) and what
    is wrong, worded as bol words an invalid value."""
    name = ""
    for part in getattr(error, "absolute_path", ()):
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    if getattr(error, "validator", None) == "enum":
        allowed = ", ".join(str(v) for v in error.validator_value)
        reason = f"Request contains invalid value(s): '{error.instance}', allowed values: {allowed}."
    else:
        reason = str(getattr(error, "message", error))
    return {"name": name or "body", "reason": reason}


def request_violations(
    method: str, raw_path: str, query: Iterable[tuple[str, str]], headers: Mapping[str, str], body: bytes | None
) -> list[dict[str, str]]:
    """What bol's spec finds wrong with a request's fields, as the ``violations`` of bol's problem document."""
    api = api_of(raw_path)
    if api is None:
        return []
    req = _request(method, raw_path, query, headers, body)
    found = []
    for err in openapi(api).iter_request_errors(req):
        errors = getattr(err.__cause__, "schema_errors", None) or []
        found += [_violation(e) for e in errors]
    return found


def response_problems(
    method: str,
    raw_path: str,
    query: Iterable[tuple[str, str]],
    req_headers: Mapping[str, str],
    req_body: bytes | None,
    status: int,
    headers: Iterable[tuple[str, str]],
    body: bytes,
) -> list[str]:
    """What bol's spec finds wrong with a response to a request (empty: it conforms)."""
    from werkzeug.datastructures import Headers

    api = api_of(raw_path)
    if api is None:
        return []
    hdrs = Headers(list(headers))
    resp = OAResponse(status, hdrs, body, (hdrs.get("Content-Type") or "").lower())
    req = _request(method, raw_path, query, req_headers, req_body)
    return [_describe(e) for e in openapi(api).iter_response_errors(req, resp)]
