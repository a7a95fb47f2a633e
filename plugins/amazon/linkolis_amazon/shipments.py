"""Shipments to Amazon: Orders API v0 ``confirmShipment``, one call per package (2/s, burst 10).

The body follows the v0 model's ``ConfirmShipmentRequest``: ``marketplaceId`` and a ``packageDetail`` with
``packageReferenceId``, ``carrierCode`` (``carrierName`` when it is "Other"), ``shippingMethod``,
``trackingNumber``, ``shipDate`` and the ``orderItems`` with their quantities. Amazon answers 204, or 400
InvalidInput with the reason in ``details``, which is turned into words a seller can act on.

Exactly once: Amazon refuses a ``packageReferenceId`` already used for the order ("packageReferenceId N is already
used by a package of order X."). The host sends a package again when it never learnt the outcome (a crash), and
the HTTP client retries a 5xx, so that refusal, or "already Shipped", usually means Amazon has *this* package:
the order's packages (v2026 ``getOrder`` with ``PACKAGES``) tell, by reference and tracking number.

Carrier codes: Amazon's list of accepted ``CarrierCode`` values, the enumeration ``CarrierCode`` in the feeds schema
``amzn-base.xsd`` (the v0 model's ``carrierCode`` points to the carrier-code announcement, which points to it; the
list below is checked against a copy retrieved January 2026). A carrier not in it is sent as "Other" with its name.
"""

from __future__ import annotations

import re
from typing import Iterable, Iterator

from linkolis_host import Carrier, Context, Shipment, ShipmentOutcome

from .client import SpApi, SpApiError
from .orders import iso

# (what the seller picks, Amazon's CarrierCode, how it is shown). Amazon's list has no code of its own for DHL
# Parcel NL (only DHL, DHL Express, DHL-Paket, DHL Parcel UK, DHL eCommerce…): it is sent as "Other" by name.
CARRIER_LIST: list[tuple[str, str | None, str]] = [
    ("DHL", "DHL", "DHL"),
    ("DHL-Paket", "DHL-Paket", "DHL Paket"),
    ("DHL Express", "DHL Express", "DHL Express"),
    ("DHL Parcel NL", None, "DHL Parcel NL"),
    ("DHL Parcel UK", "DHL Parcel UK", "DHL Parcel UK"),
    ("Deutsche Post", "Deutsche Post", "Deutsche Post"),
    ("DPD", "DPD", "DPD"),
    ("GLS", "GLS", "GLS"),
    ("UPS", "UPS", "UPS"),
    ("PostNL", "PostNL", "PostNL"),
    ("Hermes", "Hermes", "Hermes"),
    ("Royal Mail", "Royal Mail", "Royal Mail"),
    ("Parcelforce", "Parcelforce", "Parcelforce"),
    ("Colissimo", "Colissimo", "Colissimo"),
    ("Chronopost", "Chronopost", "Chronopost"),
    ("Correos", "Correos", "Correos"),
    ("Correos Express", "Correos Express", "Correos Express"),
    ("SEUR", "SEUR", "SEUR"),
    ("Poste Italiane", "Poste Italiane", "Poste Italiane"),
    ("BRT", "BRT", "BRT"),
    ("SDA", "SDA", "SDA"),
    ("BPOST", "BPOST", "Bpost"),
    ("InPost", "InPost", "InPost"),
    ("FedEx", "FedEx", "FedEx"),
    ("TNT", "TNT", "TNT"),
    ("USPS", "USPS", "USPS"),
    ("Amazon Shipping", "Amazon Shipping", "Amazon Shipping"),
]
CARRIERS = [Carrier(code=code, name=name) for code, _, name in CARRIER_LIST]
# Spellings sellers use for the same carriers.
ALIASES = {
    "post nl": "PostNL",
    "dhl paket": "DHL-Paket",
    "bpost": "BPOST",
    "dhlparcel": "DHL Parcel NL",
    "dhl parcel": "DHL Parcel NL",
    "evri": "Hermes",
    "hermes uk": "Hermes",
    "la poste": "Colissimo",
}
_BY_KEY = {code.casefold(): (amazon, name) for code, amazon, name in CARRIER_LIST}
_BY_KEY.update({name.casefold(): (amazon, name) for _, amazon, name in CARRIER_LIST})

REUSED_REFERENCE = re.compile(
    r"^packageReferenceId (?P<ref>\S+) is already used by a package of order (?P<order>\S+)\.$"
)
UNKNOWN_ITEM = re.compile(r"orderItemId (\S+) is not an item of order")
TOO_MANY = re.compile(r"quantity (\d+) of orderItemId (\S+) exceeds the (-?\d+) left to ship")


def carrier_fields(shipment: Shipment) -> dict[str, str]:
    """``carrierCode`` (and ``carrierName`` for "Other") for what the seller chose."""
    key = " ".join(shipment.carrier_code.split()).casefold()
    known = _BY_KEY.get(key) or _BY_KEY.get(ALIASES.get(key, "").casefold())
    if known is not None:
        amazon, name = known
        return {"carrierCode": amazon} if amazon else {"carrierCode": "Other", "carrierName": name}
    return {"carrierCode": "Other", "carrierName": shipment.carrier_name or shipment.carrier_code}


def body_of(shipment: Shipment, marketplace_id: str) -> dict:
    detail = {
        "packageReferenceId": shipment.package_reference,
        **carrier_fields(shipment),
        "trackingNumber": shipment.tracking_number,
        "shipDate": iso(shipment.ship_date),
        "orderItems": [{"orderItemId": line_id, "quantity": quantity} for line_id, quantity in shipment.lines],
    }
    if shipment.shipping_method:
        detail["shippingMethod"] = shipment.shipping_method
    return {"marketplaceId": marketplace_id, "packageDetail": detail}


def confirm(ctx: Context, shipments: Iterable[Shipment]) -> Iterator[ShipmentOutcome]:
    api = SpApi(ctx)
    for shipment in shipments:
        yield _confirm_one(ctx, api, shipment)


def _confirm_one(ctx: Context, api: SpApi, shipment: Shipment) -> ShipmentOutcome:
    oid = shipment.marketplace_order_id
    if shipment.fulfilled_by == "marketplace":  # refused before any call: Amazon confirms FBA shipments itself
        return ShipmentOutcome.of(
            shipment,
            "rejected",
            f"order {oid} is fulfilled by Amazon (FBA): Amazon ships it and confirms its shipment itself",
        )
    try:
        api.confirm_shipment(oid, body_of(shipment, api.market.id))
        return ShipmentOutcome.of(shipment, "accepted")
    except SpApiError as exc:
        if exc.status in (429,) or exc.status >= 500:
            return ShipmentOutcome.of(
                shipment, "rejected", f"Amazon could not take it now ({exc}); it is sent again", retryable=True
            )
        if exc.status == 404:
            return ShipmentOutcome.of(
                shipment, "rejected", f"Amazon has no order {oid} for this seller in this marketplace"
            )
        if exc.status != 400:
            raise
        return _refused(ctx, api, shipment, _details(exc))


def _details(exc: SpApiError) -> str:
    errors = (exc.body or {}).get("errors") if isinstance(exc.body, dict) else None
    first = errors[0] if errors else {}
    return str(first.get("details") or first.get("message") or exc)


def _refused(ctx: Context, api: SpApi, shipment: Shipment, details: str) -> ShipmentOutcome:
    """Amazon's 400, in a seller's words; a reused reference or "already Shipped" for this very package is accepted."""
    oid, ref = shipment.marketplace_order_id, shipment.package_reference
    reused = REUSED_REFERENCE.match(details.strip())
    if (reused and reused["ref"] == ref and reused["order"] == oid) or "is already Shipped" in details:
        has = _has_package(ctx, api, shipment)
        if has or (has is None and shipment.resent and reused):
            return ShipmentOutcome.of(shipment, "accepted")
        if reused:
            return ShipmentOutcome.of(
                shipment,
                "rejected",
                f"Amazon already has another package {ref} for order {oid} (a "
                "shipment confirmed elsewhere, with another tracking number)",
            )
        return ShipmentOutcome.of(
            shipment, "rejected", f"order {oid} is shipped already at Amazon: nothing is left to ship"
        )
    if "is Canceled" in details:
        return ShipmentOutcome.of(
            shipment,
            "rejected",
            f"order {oid} was cancelled at Amazon meanwhile: do not ship it (recall the parcel if it left)",
        )
    unknown = UNKNOWN_ITEM.findall(details)
    if unknown:
        return ShipmentOutcome.of(shipment, "rejected", f"order {oid} has no item {', '.join(unknown)} at Amazon")
    too_many = TOO_MANY.findall(details)
    if too_many:
        parts = [f"{qty} of item {item} but only {max(int(left), 0)} is left to ship" for qty, item, left in too_many]
        return ShipmentOutcome.of(shipment, "rejected", f"order {oid}: {'; '.join(parts)} (shipped already elsewhere?)")
    # Amazon's own wording for a reused reference is not documented (the simulator's is matched above): any other
    # refusal of a package sent before is checked against the order's packages too.
    if (shipment.resent or "already" in details.lower()) and _has_package(ctx, api, shipment):
        return ShipmentOutcome.of(shipment, "accepted")
    return ShipmentOutcome.of(shipment, "rejected", f"Amazon refused the shipment of order {oid}: {details}")


def _has_package(ctx: Context, api: SpApi, shipment: Shipment) -> bool | None:
    """Whether the order at Amazon has this package (reference and tracking number); None when Amazon cannot say."""
    try:
        raw = api.get_order(shipment.marketplace_order_id, ["PACKAGES"])
    except SpApiError as exc:
        ctx.log.info(
            "getOrder %s to check package %s: %s", shipment.marketplace_order_id, shipment.package_reference, exc
        )
        return None
    order = raw.get("order") if isinstance(raw.get("order"), dict) else raw
    for package in order.get("packages") or []:
        if str(package.get("packageReferenceId")) == shipment.package_reference:
            return package.get("trackingNumber") == shipment.tracking_number
    return False
