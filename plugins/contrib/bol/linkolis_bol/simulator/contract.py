"""bol's specifications as the simulator's contract (``BOL``, the kit's ``Contract``: routes, and request and
response validation), and bol's way of naming what is wrong with a request (its problem document's violations).

Everything is read from the vendored specifications in ``linkolis_bol/bol_models`` (through ``importlib.resources``),
so the simulator refuses exactly what bol's spec says is wrong. Loading is lazy and cached.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from linkolis_host.testing.simulator import Contract

SPECS = {"retailer": "retailer-v10.json", "shared": "shared-v10.json"}
HOST_URL = "https://api.bol.com"  # the specs name no server: their paths are absolute under bol's API host
MEDIA_TYPE = "application/vnd.retailer.v10+json"
CSV_MEDIA_TYPE = "application/vnd.retailer.v10+csv"
PROBLEM_MEDIA_TYPE = "application/vnd.retailer.v10+problem+json"


BOL = Contract(
    {api: resources.files("linkolis_bol").joinpath("bol_models", name) for api, name in SPECS.items()},
    prefixes={"/retailer/": "retailer", "/shared/": "shared"},
    host_url=HOST_URL,
    json_media_types=(MEDIA_TYPE, PROBLEM_MEDIA_TYPE, "application/vnd.advertiser.v10+json"),
    content_type=MEDIA_TYPE,
)


def violation(error: Any) -> dict[str, str]:
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
