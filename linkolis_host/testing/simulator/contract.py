"""A marketplace's OpenAPI files as a simulator's contract: routes from the specs' paths, and what openapi-core
finds wrong with a request or a response.

``Contract`` is built once per marketplace from its vendored OpenAPI 3 files (read lazily, parsed once); the same
object checks what the simulator receives (``request_problems``), what it answers (``response_problems``), and what
a plugin sends or gets back in a test (``problems_of_request``, ``problems_of_response``: httpx values).
openapi-core is imported only when a check first runs.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from .wire import SimRequest, SimResponse

if TYPE_CHECKING:
    import httpx

HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


@dataclass(frozen=True)
class Operation:
    """One operation of a spec: which API, its ``operationId``, method and path template, and the spec's own
    operation object (``spec``) for what a marketplace reads from it (a usage plan, say)."""

    api: str
    operation_id: str
    method: str
    template: str
    pattern: re.Pattern[str] = field(compare=False, repr=False)
    spec: Mapping[str, Any] = field(compare=False, repr=False, default_factory=dict)

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(self.pattern.groupindex)

    def match(self, raw_path: str) -> dict[str, str] | None:
        """The decoded path parameters when ``raw_path`` is this operation's path (``-`` in a name becomes ``_``)."""
        found = self.pattern.fullmatch(raw_path)
        return None if found is None else {k: unquote(v) for k, v in found.groupdict().items()}


@dataclass
class RequestProblem:
    """Why a request breaks the spec: 400, or 415 for a content type the operation does not take; ``details`` in
    words, and openapi-core's ``schema_errors`` (jsonschema errors with ``absolute_path``) when there are any."""

    status: int
    details: str
    schema_errors: list[Any] = field(default_factory=list)

    def __str__(self) -> str:
        return self.details


@dataclass
class _Request:
    """A request in the shape openapi-core reads (its ``Request`` protocol)."""

    host_url: str
    path: str
    method: str
    parameters: Any
    body: bytes | None
    content_type: str


@dataclass
class _Response:
    """A response in the shape openapi-core reads (its ``Response`` protocol)."""

    status_code: int
    headers: Any
    data: bytes | None
    content_type: str


def describe(error: Exception) -> str:
    """One of openapi-core's errors in words, with every schema error it carries (``path/to/field: message``)."""
    from openapi_core.validation.request.exceptions import InvalidRequestBody

    cause = error.__cause__
    prefix = "Invalid request body" if isinstance(error, InvalidRequestBody) else str(error)
    schema_errors = getattr(cause, "schema_errors", None)
    if schema_errors:
        messages = []
        for found in schema_errors:
            where = "/".join(str(p) for p in getattr(found, "absolute_path", ()))
            messages.append(f"{where}: {found.message}" if where else found.message)
        return f"{prefix}: " + "; ".join(messages)
    if cause is not None and prefix == str(error) and str(cause) not in prefix:
        return f"{prefix}: {cause}"
    return prefix if cause is None or prefix != "Invalid request body" else f"{prefix}: {cause}"


class Contract:
    """A marketplace's OpenAPI 3 files, one per API.

    ``specs`` maps each API's name to its file; ``prefixes`` maps a path prefix to the API it belongs to (the
    longest that matches wins); ``host_url`` is the server requests are checked as sent to (default: each spec's
    first server); ``json_media_types`` are the marketplace's own media types that are JSON; ``content_type`` is
    what a request without a body is taken to be.
    """

    def __init__(
        self,
        specs: Mapping[str, Traversable | Path],
        *,
        prefixes: Mapping[str, str],
        host_url: str | None = None,
        json_media_types: Iterable[str] = (),
        content_type: str = "application/json",
    ) -> None:
        unknown = sorted(set(prefixes.values()) - set(specs))
        if unknown:
            raise ValueError(f"prefixes name APIs without a spec: {', '.join(unknown)}")
        self.files = dict(specs)
        self.prefixes = dict(sorted(prefixes.items(), key=lambda item: -len(item[0])))
        self.host_url = host_url
        self.json_media_types = tuple(json_media_types)
        self.content_type = content_type
        self._lock = threading.Lock()
        self._openapi: dict[str, Any] = {}
        self._specs: dict[str, dict[str, Any]] = {}

    # --- the specs and their routes -------------------------------------------------------------------------

    def spec(self, api: str) -> dict[str, Any]:
        """One API's spec as a dict (read once)."""
        with self._lock:
            if api not in self._specs:
                self._specs[api] = json.loads(self.files[api].read_text(encoding="utf-8"))
            return self._specs[api]

    @cached_property
    def operations(self) -> tuple[Operation, ...]:
        """Every operation of every spec, literal paths before templated ones (so ``/items/{id}`` never swallows a
        longer literal route)."""
        found = []
        for api in self.files:
            for template, item in self.spec(api)["paths"].items():
                regex = "".join(
                    f"(?P<{part[1:-1].replace('-', '_')}>[^/]+)" if part.startswith("{") else re.escape(part)
                    for part in re.split(r"(\{[\w-]+\})", template)
                )
                pattern = re.compile(regex)
                for method, operation in item.items():
                    if method in HTTP_METHODS:
                        found.append(
                            Operation(api, operation["operationId"], method.upper(), template, pattern, operation)
                        )
        found.sort(key=lambda o: (o.template.count("{"), -len(o.template)))
        return tuple(found)

    def operation(self, operation_id: str, api: str | None = None) -> Operation:
        """An operation by its id; ``api`` picks between two specs that share one. ``KeyError`` when none has it."""
        for op in self.operations:
            if op.operation_id == operation_id and (api is None or op.api == api):
                return op
        raise KeyError(operation_id)

    def route(self, method: str, raw_path: str) -> tuple[Operation, dict[str, str]] | None:
        """The operation and its decoded path parameters for a method and a raw path, or None."""
        for op in self.operations:
            if op.method == method:
                params = op.match(raw_path)
                if params is not None and all(params.values()):
                    return op, params
        return None

    def api_of(self, raw_path: str) -> str | None:
        """The API a path belongs to by its prefix, or None when it is none of the contract's."""
        return next((api for prefix, api in self.prefixes.items() if raw_path.startswith(prefix)), None)

    # --- openapi-core ----------------------------------------------------------------------------------------

    def openapi(self, api: str) -> Any:
        """openapi-core's ``OpenAPI`` object for one API (built once; the spec itself is not checked: it is
        vendored)."""
        spec = self.spec(api)
        with self._lock:
            if api not in self._openapi:
                from openapi_core import Config, OpenAPI

                config = Config(
                    spec_validator_cls=None,
                    extra_media_type_deserializers={t: json.loads for t in self.json_media_types},
                )
                self._openapi[api] = OpenAPI.from_dict(spec, config=config)
            return self._openapi[api]

    def _request(
        self,
        api: str,
        method: str,
        raw_path: str,
        query: Iterable[tuple[str, str]],
        headers: Mapping[str, str],
        body: bytes | None,
    ) -> _Request:
        from openapi_core.datatypes import RequestParameters
        from werkzeug.datastructures import Headers, ImmutableMultiDict

        lowered = {k.lower(): v for k, v in headers.items()}
        ctype = lowered.get("content-type", "") if body else lowered.get("content-type", self.content_type)
        host_url = self.host_url or self.spec(api)["servers"][0]["url"]
        return _Request(
            host_url=host_url,
            path=raw_path,
            method=method.lower(),
            parameters=RequestParameters(query=ImmutableMultiDict(list(query)), header=Headers(dict(headers))),
            body=body or None,
            content_type=(ctype or self.content_type).lower(),
        )

    def request_problems(self, request: SimRequest, api: str | None = None) -> list[RequestProblem]:
        """Everything openapi-core finds wrong with a request (empty: it conforms); ``api`` defaults to the one
        the path's prefix names. A path of no API of the contract is one problem."""
        api = api or self.api_of(request.raw_path)
        if api is None:
            return [RequestProblem(400, f"{request.raw_path} is not a path of the marketplace's API")]
        from openapi_core.templating.media_types.exceptions import MediaTypeNotFound

        req = self._request(api, request.method, request.raw_path, request.query, request.headers, request.body)
        problems = []
        for err in self.openapi(api).iter_request_errors(req):
            if isinstance(err, MediaTypeNotFound) or isinstance(err.__cause__, MediaTypeNotFound):
                problems.append(RequestProblem(415, f"Unsupported content type: {req.content_type or '(none)'}"))
            else:
                problems.append(RequestProblem(400, describe(err), list(getattr(err.__cause__, "schema_errors", []))))
        return problems

    def response_problems(self, request: SimRequest, response: SimResponse, api: str | None = None) -> list[str]:
        """Everything openapi-core finds wrong with an answer to a request (empty: it conforms, or the path is of
        no API of the contract)."""
        api = api or self.api_of(request.raw_path)
        if api is None:
            return []
        from werkzeug.datastructures import Headers

        req = self._request(api, request.method, request.raw_path, request.query, request.headers, request.body)
        headers = Headers(list(response.headers))
        ctype = (headers.get("Content-Type") or "application/json").lower()
        resp = _Response(response.status, headers, response.body, ctype)
        return [describe(e) for e in self.openapi(api).iter_response_errors(req, resp)]

    # --- httpx values, for tests ---------------------------------------------------------------------------

    def problems_of_request(self, request: httpx.Request) -> list[RequestProblem]:
        """``request_problems`` of a request an httpx client sent."""
        return self.request_problems(sim_request(request))

    def problems_of_response(self, response: httpx.Response) -> list[str]:
        """``response_problems`` of a response an httpx client received (its request's API must be known)."""
        request = sim_request(response.request)
        if self.api_of(request.raw_path) is None:
            raise AssertionError(f"not a path of the marketplace's API: {request.raw_path}")
        answer = SimResponse(response.status_code, list(response.headers.multi_items()), response.content)
        return self.response_problems(request, answer)


def sim_request(request: httpx.Request, body: bytes | None = None) -> SimRequest:
    """An httpx request as a ``SimRequest``: path and query exactly as sent (a ``%2F`` in a SKU stays encoded)."""
    url = request.url
    target = url.raw_path.decode("ascii")
    port = f":{url.port}" if url.port else ""
    content = request.content if body is None else body
    return SimRequest.build(
        request.method, target, request.headers.multi_items(), content, f"{url.scheme}://{url.host}{port}"
    )
