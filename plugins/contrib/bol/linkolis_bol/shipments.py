"""Shipments to bol: `POST /retailer/shipments`, one call per package, followed to its process status.

The body is the v10 spec's ``ShipmentRequest``: the package's ``orderItems`` (``orderItemId`` and ``quantity``), a
``shipmentReference`` naming the package (``linkolis-<order>-<package reference>``) and a ``transport`` with the
``transporterCode`` and ``trackAndTrace``. bol answers 202 with a process status; the shipment is pending until
bol says SUCCESS (accepted) or FAILURE (rejected with bol's ``errorMessage``) or TIMEOUT (rejected, retryable).
The status is read for up to ``PROCESS_PATIENCE`` seconds within a push; one still PENDING is answered pending.

Exactly once: the process status id of every package sent is kept in the app's state under
``shipment:<order>:<reference>`` as soon as bol answers 202. The host sends a pending shipment again, and one it
sent without learning the outcome (``resent``); both are then followed by that id, never posted twice. Only a
SUCCESS is remembered (bol keeps process statuses only for a while); only a
TIMEOUT, or an unfinished status bol no longer knows, forgets the id so that the package is posted again.

FBB orders (bol ships them) are refused before any call.

Transporter codes: the v10 spec gives ``transporterCode`` as a free string (example "TNT") with no enum. The list
below is bol's table of transporter codes as earlier Retailer API specs carried it in the enum of
``transporterCode`` (``ChangeTransportRequest``/``TransportInstruction``) and bol's developer page "Appendix A:
transporters" lists it (developers.bol.com); TNT is bol's code for PostNL. A carrier not in it is sent as OTHER.
"""

from __future__ import annotations

from typing import Any, Iterable, Iterator
from urllib.parse import quote

from linkolis_host import Carrier, Context, LinkolisError, Shipment, ShipmentOutcome

from .client import Bol, BolError, parse_json

# (bol's transporterCode, how it is shown)
TRANSPORTERS: list[tuple[str, str]] = [
    ("TNT", "PostNL"),
    ("TNT-EXTRA", "PostNL Extra@Home"),
    ("TNT_BRIEF", "PostNL Briefpost"),
    ("TNT-EXPRESS", "TNT Express"),
    ("DHL", "DHL"),
    ("DHL_DE", "DHL Germany"),
    ("DHLFORYOU", "DHL For You"),
    ("DHL-GLOBAL-MAIL", "DHL Global Mail"),
    ("DPD-NL", "DPD Nederland"),
    ("DPD-BE", "DPD België"),
    ("BPOST_BE", "bpost België"),
    ("BPOST_BRIEF", "bpost Briefpost"),
    ("BRIEFPOST", "Briefpost"),
    ("GLS", "GLS"),
    ("UPS", "UPS"),
    ("FEDEX_NL", "FedEx Nederland"),
    ("FEDEX_BE", "FedEx België"),
    ("DYL", "Dynalogic"),
    ("TSN", "Transportservice Nederland"),
    ("FIEGE", "Fiege"),
    ("TRANSMISSION", "TransMission"),
    ("PARCEL-NL", "Parcel.nl"),
    ("LOGOIX", "Logoix"),
    ("PACKS", "Packs"),
    ("COURIER", "Koerier"),
    ("RJP", "Red je Pakketje"),
    ("OTHER", "Anders"),
]
CARRIERS = [Carrier(code=code, name=name) for code, name in TRANSPORTERS]
# Spellings sellers use for the same carriers.
ALIASES = {
    "postnl": "TNT",
    "post nl": "TNT",
    "dpd": "DPD-NL",
    "bpost": "BPOST_BE",
    "dhl parcel": "DHL",
    "dhl parcel nl": "DHL",
    "fedex": "FEDEX_NL",
    "red je pakketje": "RJP",
}
_BY_KEY = {code.casefold(): code for code, _ in TRANSPORTERS}
_BY_KEY.update({name.casefold(): code for code, name in TRANSPORTERS if name != "Anders"})
STATE_PREFIX = "shipment:"
PROCESS_PATIENCE = 30.0


def transporter_code(shipment: Shipment) -> str:
    """bol's ``transporterCode`` for what the seller chose; OTHER when bol has no code for it."""
    key = " ".join(shipment.carrier_code.split()).casefold()
    return _BY_KEY.get(key) or ALIASES.get(key) or "OTHER"


def body_of(shipment: Shipment) -> dict[str, Any]:
    return {
        "orderItems": [{"orderItemId": line_id, "quantity": quantity} for line_id, quantity in shipment.lines],
        "shipmentReference": f"linkolis-{shipment.marketplace_order_id}-{shipment.package_reference}"[:90],
        "transport": {"transporterCode": transporter_code(shipment), "trackAndTrace": shipment.tracking_number},
    }


def push(ctx: Context, shipments: Iterable[Shipment]) -> Iterator[ShipmentOutcome]:
    api = Bol(ctx)
    for shipment in shipments:
        yield _one(api, shipment)


def _key(shipment: Shipment) -> str:
    return f"{STATE_PREFIX}{shipment.marketplace_order_id}:{shipment.package_reference}"


def _outcome(shipment: Shipment, status: str, message: str = "", retryable: bool = False) -> ShipmentOutcome:
    return ShipmentOutcome(
        marketplace_order_id=shipment.marketplace_order_id,
        package_reference=shipment.package_reference,
        status=status,
        message=message,
        retryable=retryable,
    )


def _one(api: Bol, shipment: Shipment) -> ShipmentOutcome:
    ctx, oid = api.ctx, shipment.marketplace_order_id
    if shipment.fulfilled_by == "marketplace":  # refused before any call: bol ships FBB orders itself
        return _outcome(shipment, "rejected", f"order {oid} is fulfilled by bol (FBB): bol ships it itself")
    sent = ctx.state.get(_key(shipment))
    if sent and sent.get("done"):  # bol took it before (a send interrupted after that): not posted twice
        return _outcome(shipment, "accepted")
    if not sent:
        try:
            status = api.json("POST", "/retailer/shipments", "create-shipment", json=body_of(shipment), expect=(202,))
        except BolError as exc:
            retry = exc.status == 429 or exc.status >= 500
            return _outcome(shipment, "rejected", f"bol refused the shipment of order {oid}: {exc}", retry)
        except LinkolisError as exc:
            return _outcome(shipment, "rejected", f"the shipment of order {oid} did not reach bol: {exc}", True)
        sent = {"pid": str(status["processStatusId"]), "at": ctx.clock.time()}
        ctx.state.set(_key(shipment), sent)
    return _follow(api, shipment, sent["pid"])


def _follow(api: Bol, shipment: Shipment, pid: str) -> ShipmentOutcome:
    """Read the process status ``pid`` until it is final, or ``PROCESS_PATIENCE`` seconds have passed."""
    ctx, oid = api.ctx, shipment.marketplace_order_id
    waited, pause = 0.0, 1.0
    while True:
        try:
            response = api.call(
                "GET", f"/shared/process-status/{quote(pid, safe='')}", "get-process-status", expect=(200, 404)
            )
            status = None if response.status_code == 404 else parse_json(response, "get-process-status")
        except LinkolisError as exc:
            return _outcome(shipment, "pending", f"bol's process status {pid} could not be read: {exc}")
        if status is None:
            ctx.state.delete(_key(shipment))
            return _outcome(
                shipment, "rejected", f"bol no longer knows the shipment's process status {pid}; it is sent again", True
            )
        state = status.get("status")
        if state == "SUCCESS":
            ctx.state.set(_key(shipment), {"pid": pid, "done": True})
            return _outcome(shipment, "accepted")
        if state == "FAILURE":
            return _outcome(
                shipment,
                "rejected",
                f"bol refused the shipment of order {oid}: {status.get('errorMessage') or 'no reason given'}",
            )
        if state == "TIMEOUT":
            ctx.state.delete(_key(shipment))
            return _outcome(shipment, "rejected", f"bol timed out processing the shipment of order {oid}", True)
        if waited >= PROCESS_PATIENCE:
            return _outcome(shipment, "pending", f"bol is processing the shipment (process status {pid})")
        ctx.progress.wait(f"bol to process the shipment of order {oid}", pause)
        ctx.clock.sleep(pause)
        waited += pause
        pause = min(8.0, pause * 2)
