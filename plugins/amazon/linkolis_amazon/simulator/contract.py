"""Amazon's models as the simulator's contract (``SPAPI``, the kit's ``Contract``: routes, request and response
validation), their usage plans, and the JSON schemas of the listings feed.

Everything here is read from the vendored models in ``linkolis_amazon/spapi_models`` (through
``importlib.resources``), so the simulator refuses exactly what the models say is wrong and its rate limits are the
ones the models document. Loading is lazy and cached: the first call costs about a third of a second.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from linkolis_host.testing.simulator import Contract, Operation

API_MODELS = {
    "orders": "orders-2026-01-01.json",
    "ordersV0": "orders-v0.json",
    "listings": "listings-items-2021-08-01.json",
    "feeds": "feeds-2021-06-30.json",
    "sellers": "sellers-v1.json",
    "notifications": "notifications-v1.json",
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
def load_model(name: str) -> dict[str, Any]:
    """One vendored Swagger model or JSON schema as a dict."""
    return json.loads(_models_dir().joinpath(name).read_text(encoding="utf-8"))


# The OpenAPI 3 conversions of the models: the same paths and descriptions, in the shape openapi-core reads.
SPAPI = Contract(
    {api: _models_dir().joinpath("openapi3", name) for api, name in API_MODELS.items()},
    prefixes={
        "/orders/v0/": "ordersV0",
        "/orders/": "orders",
        "/listings/": "listings",
        "/feeds/": "feeds",
        "/sellers/": "sellers",
        "/notifications/": "notifications",
    },
)


@dataclass(frozen=True)
class UsagePlan:
    """An operation's rate limit as its model documents it."""

    rate: str  # the model's literal, e.g. "0.0056"; also what x-amzn-RateLimit-Limit carries
    burst: int

    @property
    def rate_value(self) -> float:
        return float(self.rate)


def usage_plan(description: str) -> UsagePlan:
    """Rate and burst from an operation description's "Usage Plan" table."""
    m = _USAGE_PLAN.search(description)
    if not m:
        raise ValueError("no usage plan table in description")
    return UsagePlan(m.group(1), int(m.group(2)))


@cache
def _plans() -> dict[tuple[str, str], UsagePlan]:
    return {(op.api, op.operation_id): usage_plan(op.spec["description"]) for op in SPAPI.operations}


def plan(op: Operation) -> UsagePlan:
    """The usage plan of one operation of the models."""
    return _plans()[(op.api, op.operation_id)]


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
            if method not in ("get", "put", "post", "delete", "patch"):
                continue  # "parameters", and extensions such as Notifications' "x-amzn-api-sandbox-only"
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
