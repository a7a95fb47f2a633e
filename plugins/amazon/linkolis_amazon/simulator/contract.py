"""Amazon's models as the simulator's contract: routes, usage plans, request and response validation.

Everything here is read from the vendored models in ``linkolis_amazon/spapi_models`` (through
``importlib.resources``), so the simulator refuses exactly what the models say is wrong and its rate limits are the
ones the models document. Loading is lazy and cached: the first call costs about a third of a second.
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

API_MODELS = {
    "orders": "orders-2026-01-01.json",
    "ordersV0": "orders-v0.json",
    "listings": "listings-items-2021-08-01.json",
    "feeds": "feeds-2021-06-30.json",
    "sellers": "sellers-v1.json",
}
FEED_SCHEMA = "listings-feed-schema-v2.json"
FEED_MESSAGE_SCHEMA = "listings-feed-message-schema-v2.json"
REPORT_SCHEMA = "listings-feed-processing-report-schema-v2.json"

_USAGE_PLAN = re.compile(
    r"\|\s*Rate \(requests per second\)\s*\|\s*Burst\s*\|\s*\n\|[-\s|]+\|\s*\n\|\s*([0-9.]+)\s*\|\s*([0-9]+)\s*\|"
)


def _models_dir() -> Any:
    return resources.files("linkolis_amazon").joinpath("spapi_models")


@cache
def load_model(name: str, openapi3: bool = False) -> dict[str, Any]:
    """One vendored model or schema as a dict (``openapi3=True`` for the OpenAPI 3.0 conversion)."""
    base = _models_dir()
    if openapi3:
        base = base.joinpath("openapi3")
    return json.loads(base.joinpath(name).read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Operation:
    """One SP-API operation as the models describe it."""

    api: str
    operation_id: str
    method: str
    template: str
    rate: str  # the model's literal, e.g. "0.0056"; also what x-amzn-RateLimit-Limit carries
    burst: int
    pattern: re.Pattern[str] = field(compare=False, repr=False)
    param_names: tuple[str, ...] = ()

    @property
    def rate_value(self) -> float:
        return float(self.rate)

    def match(self, raw_path: str) -> dict[str, str] | None:
        m = self.pattern.fullmatch(raw_path)
        if not m:
            return None
        return {k: unquote(v) for k, v in m.groupdict().items()}


def usage_plan(description: str) -> tuple[str, int]:
    """Rate and burst from an operation description's "Usage Plan" table."""
    m = _USAGE_PLAN.search(description)
    if not m:
        raise ValueError("no usage plan table in description")
    return m.group(1), int(m.group(2))


@cache
def operations() -> tuple[Operation, ...]:
    """Every operation of the vendored API models, with its route pattern and usage plan."""
    ops: list[Operation] = []
    for api, fname in API_MODELS.items():
        model = load_model(fname)
        for template, item in model["paths"].items():
            names = tuple(re.findall(r"\{(\w+)\}", template))
            regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
            pattern = re.compile(regex)
            for method, op in item.items():
                if method == "parameters":
                    continue
                rate, burst = usage_plan(op["description"])
                ops.append(Operation(api, op["operationId"], method.upper(), template, rate, burst, pattern, names))
    # Literal paths before templated ones, so /items/{sellerId} never swallows a longer literal route.
    ops.sort(key=lambda o: (o.template.count("{"), -len(o.template)))
    return tuple(ops)


def operation(operation_id: str, api: str | None = None) -> Operation:
    """An operation by its id; ``api`` picks between two models that share one (Orders v0 and 2026 ``getOrder``)."""
    for op in operations():
        if op.operation_id == operation_id and (api is None or op.api == api):
            return op
    raise KeyError(operation_id)


def route(method: str, raw_path: str) -> tuple[Operation, dict[str, str]] | None:
    """The operation and its (decoded) path parameters for a method and raw path, or None."""
    for op in operations():
        if op.method != method:
            continue
        params = op.match(raw_path)
        if params is not None and all(params.values()):
            return op, params
    return None


# --- openapi-core ---------------------------------------------------------------------------------------------

_spec_lock = threading.Lock()


@cache
def openapi(api: str) -> Any:
    """The openapi-core ``OpenAPI`` object for one API (built once; spec checking skipped, the files are vendored)."""
    from openapi_core import Config, OpenAPI

    with _spec_lock:
        return OpenAPI.from_dict(load_model(API_MODELS[api], openapi3=True), config=Config(spec_validator_cls=None))


def server_url(api: str) -> str:
    return load_model(API_MODELS[api], openapi3=True)["servers"][0]["url"]


@dataclass
class OARequest:
    """A request in the shape openapi-core reads (its ``Request`` protocol)."""

    host_url: str
    path: str
    method: str
    parameters: Any
    body: bytes | None
    content_type: str


@dataclass
class OAResponse:
    """A response in the shape openapi-core reads (its ``Response`` protocol)."""

    status_code: int
    headers: Any  # werkzeug Headers
    data: bytes | None
    content_type: str


def oa_request(
    api: str,
    method: str,
    raw_path: str,
    query: Iterable[tuple[str, str]],
    headers: Mapping[str, str],
    body: bytes | None,
) -> OARequest:
    from openapi_core.datatypes import RequestParameters
    from werkzeug.datastructures import Headers, ImmutableMultiDict

    ctype = headers.get("content-type", "") if body else headers.get("content-type", "application/json")
    return OARequest(
        host_url=server_url(api),
        path=raw_path,
        method=method.lower(),
        parameters=RequestParameters(query=ImmutableMultiDict(list(query)), header=Headers(dict(headers))),
        body=body if body else None,
        content_type=(ctype or "application/json").lower(),
    )


def oa_response(status: int, headers: Iterable[tuple[str, str]], body: bytes) -> OAResponse:
    from werkzeug.datastructures import Headers

    hdrs = Headers(list(headers))
    return OAResponse(status, hdrs, body, (hdrs.get("Content-Type") or "application/json").lower())


@dataclass
class RequestProblem:
    """Why a request breaks the model: HTTP status (400 or 415) and a human-readable explanation."""

    status: int
    details: str


def _describe(err: Exception) -> str:
    from openapi_core.validation.request.exceptions import InvalidRequestBody

    cause = err.__cause__
    prefix = "Invalid request body" if isinstance(err, InvalidRequestBody) else str(err)
    schema_errors = getattr(cause, "schema_errors", None)
    if schema_errors:
        msgs = []
        for se in schema_errors:
            where = "/".join(str(p) for p in getattr(se, "absolute_path", ()))
            msgs.append(f"{where}: {se.message}" if where else se.message)
        return f"{prefix}: " + "; ".join(msgs)
    if cause is not None and prefix == str(err) and str(cause) not in prefix:
        return f"{prefix}: {cause}"
    return prefix if cause is None or prefix != "Invalid request body" else f"{prefix}: {cause}"


def request_problems(
    api: str,
    method: str,
    raw_path: str,
    query: Iterable[tuple[str, str]],
    headers: Mapping[str, str],
    body: bytes | None,
) -> list[RequestProblem]:
    """Everything openapi-core finds wrong with a request against the API's model (empty list: conforms)."""
    from openapi_core.templating.media_types.exceptions import MediaTypeNotFound

    req = oa_request(api, method, raw_path, query, headers, body)
    problems: list[RequestProblem] = []
    for err in openapi(api).iter_request_errors(req):
        cause = err.__cause__
        if isinstance(err, MediaTypeNotFound) or isinstance(cause, MediaTypeNotFound):
            problems.append(RequestProblem(415, f"Unsupported content type: {req.content_type or '(none)'}"))
        else:
            problems.append(RequestProblem(400, _describe(err)))
    return problems


def response_problems(
    api: str,
    method: str,
    raw_path: str,
    query: Iterable[tuple[str, str]],
    req_headers: Mapping[str, str],
    req_body: bytes | None,
    status: int,
    headers: Iterable[tuple[str, str]],
    body: bytes,
) -> list[str]:
    """Everything openapi-core finds wrong with a response against the API's model (empty list: conforms)."""
    req = oa_request(api, method, raw_path, query, req_headers, req_body)
    resp = oa_response(status, headers, body)
    return [_describe(e) for e in openapi(api).iter_response_errors(req, resp)]


# --- JSON schemas of the listings feed -------------------------------------------------------------------------


@cache
def feed_validator() -> Any:
    """A jsonschema validator for JSON_LISTINGS_FEED documents (``listings-feed-schema-v2.json``)."""
    import jsonschema

    schema = load_model(FEED_SCHEMA)
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


@cache
def message_validator() -> Any:
    """A validator for one feed message (``listings-feed-message-schema-v2.json``)."""
    import jsonschema

    schema = load_model(FEED_MESSAGE_SCHEMA)
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema)


@cache
def report_validator() -> Any:
    """A validator for processing reports (``listings-feed-processing-report-schema-v2.json``)."""
    import jsonschema

    schema = load_model(REPORT_SCHEMA)
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema)


def feed_max_messages() -> int:
    """The schema's cap on messages per JSON_LISTINGS_FEED document."""
    return int(load_model(FEED_SCHEMA)["properties"]["messages"]["maxItems"])


def sandbox_examples(api: str) -> list[dict[str, Any]]:
    """The ``x-amzn-api-sandbox`` static request examples of one Swagger model, per operation and status."""
    model = load_model(API_MODELS[api])
    out: list[dict[str, Any]] = []
    for template, item in model["paths"].items():
        for method, op in item.items():
            if method == "parameters":
                continue
            for status, resp in op["responses"].items():
                for i, ex in enumerate((resp.get("x-amzn-api-sandbox") or {}).get("static", [])):
                    out.append(
                        {
                            "api": api,
                            "operation_id": op["operationId"],
                            "method": method.upper(),
                            "template": template,
                            "status": status,
                            "index": i,
                            "parameters": ex.get("request", {}).get("parameters", {}),
                            "swagger_parameters": op.get("parameters", []) + item.get("parameters", []),
                        }
                    )
    return out
