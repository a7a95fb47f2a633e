"""Sample values of the host's models for a plugin's tests: valid, with a default for every field a test does not
care about, so that the test says only what matters to it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ..models import Shipment

SHIP_DATE = datetime(2026, 5, 28, 10, 0, tzinfo=UTC)


def shipment(order_id: str, *lines: tuple[str, int], **fields: Any) -> Shipment:
    """A shipment of the marketplace's order ``order_id``, to hand ``push_shipments`` or the plugin's own functions:
    ``lines`` are (line id, quantity) pairs, one unit of line ``"1"`` when none is given; ``fields`` set any other
    field of ``Shipment`` (``carrier_code="TNT"``, ``fulfilled_by="marketplace"``). The rest: package ``"1"``,
    carrier ``"DHL"``, tracking number ``"T"``, shipped on ``SHIP_DATE``.

    :raises TypeError: a field ``Shipment`` does not have (a typo would otherwise be dropped without a word).
    """
    unknown = sorted(fields.keys() - Shipment.model_fields.keys())
    if unknown:
        raise TypeError(f"Shipment has no field {', '.join(unknown)}")
    defaults = {"package_reference": "1", "carrier_code": "DHL", "tracking_number": "T", "ship_date": SHIP_DATE}
    return Shipment(marketplace_order_id=order_id, lines=list(lines) or [("1", 1)], **{**defaults, **fields})
