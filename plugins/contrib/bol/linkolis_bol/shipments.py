"""Shipments to bol: `POST /retailer/shipments`, one call per package, followed to its process status.

The body is the v10 spec's ``ShipmentRequest``: the package's ``orderItems`` (``orderItemId`` and ``quantity``), a
``shipmentReference`` naming the package (``linkolis-<order>-<package reference>``) and a ``transport`` with the
``transporterCode`` and ``trackAndTrace``. bol answers 202 with a process status; the shipment is pending until
bol says SUCCESS (accepted) or FAILURE (rejected with bol's ``errorMessage``) or TIMEOUT (rejected, retryable).
The status is read for up to ``PROCESS_PATIENCE`` seconds within a push; one still PENDING is answered pending.

Exactly once: before the POST, the app's state records under ``shipment:<order>:<reference>`` that the package is
being sent; the process status id replaces that as soon as bol answers 202. A run that finds the first record
alone (the process died, or the connection dropped, between bol's 202 and the second record) does not post again
until it has asked bol: ``GET /retailer/shipments?order-id=`` for a shipment under this package's
``shipmentReference`` (accepted), then ``GET /shared/process-status?entity-id=<first order item>&
event-type=CREATE_SHIPMENT`` for a process bol started since the first record (followed like one it answered).
Only when bol knows of neither is the package posted again. The host sends a pending shipment again, and one it
sent without learning the outcome (``resent``); both are then followed by that id, never posted twice. Only a
SUCCESS is remembered (bol keeps process statuses only for a while); a TIMEOUT forgets the id so that the package
is posted again, and an unfinished status bol no longer knows is treated as a lost answer (bol is asked first).

FBB orders (bol ships them) are refused before any call.

Transporter codes: the v10 spec gives ``transporterCode`` as a free string (example "TNT") with no enum. The list
below is bol's table of transporter codes as earlier Retailer API specs carried it in the enum of
``transporterCode`` (``ChangeTransportRequest``/``TransportInstruction``) and bol's developer page "Appendix A:
transporters" lists it (developers.bol.com); TNT is bol's code for PostNL. A carrier not in it is sent as OTHER.
"""

from __future__ import annotations

from datetime import datetime
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
PAGE_SIZE = 50  # bol's page of shipments
CLOCK_SLACK = 60.0  # bol's clock and ours may differ: a process this much older than our record may still be ours


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


def _one(api: Bol, shipment: Shipment) -> ShipmentOutcome:
    ctx, oid = api.ctx, shipment.marketplace_order_id
    if shipment.fulfilled_by == "marketplace":  # refused before any call: bol ships FBB orders itself
        return ShipmentOutcome.of(shipment, "rejected", f"order {oid} is fulfilled by bol (FBB): bol ships it itself")
    sent = ctx.state.get(_key(shipment))
    if sent and sent.get("done"):  # bol took it before (a send interrupted after that): not posted twice
        return ShipmentOutcome.of(shipment, "accepted")
    if sent and "pid" not in sent:  # posted before, bol's answer never recorded: ask bol before posting again
        try:
            sent = _earlier(api, shipment, sent["at"])
        except LinkolisError as exc:
            return ShipmentOutcome.of(
                shipment, "pending", f"bol could not be asked whether it has the shipment already: {exc}"
            )
        if sent and sent.get("done"):
            ctx.state.set(_key(shipment), sent)
            return ShipmentOutcome.of(shipment, "accepted")
    if not sent:
        ctx.state.set(_key(shipment), {"posting": True, "at": ctx.clock.time()})
        try:
            status = api.json("POST", "/retailer/shipments", "create-shipment", json=body_of(shipment), expect=(202,))
        except BolError as exc:
            retry = exc.status == 429 or exc.status >= 500
            if exc.status < 500:  # bol said no: nothing was made (after a 5xx bol is asked first, next time)
                ctx.state.delete(_key(shipment))
            return ShipmentOutcome.of(
                shipment, "rejected", f"bol refused the shipment of order {oid}: {exc}", retryable=retry
            )
        except LinkolisError as exc:
            return ShipmentOutcome.of(
                shipment,
                "rejected",
                f"bol's answer to the shipment of order {oid} did not arrive ({exc}); bol is asked whether it has "
                "the shipment before it is sent again",
                retryable=True,
            )
        sent = {"pid": str(status["processStatusId"]), "at": ctx.clock.time()}
        ctx.state.set(_key(shipment), sent)
    return _follow(api, shipment, sent["pid"])


def _earlier(api: Bol, shipment: Shipment, since: float) -> dict[str, Any] | None:
    """What bol has of a package posted at about ``since`` whose answer was lost: ``{"done": True}`` for a shipment
    bol made under its reference, ``{"pid": …}`` for a process bol started since, None when bol has neither."""
    ctx, reference = api.ctx, body_of(shipment)["shipmentReference"]
    page = 1
    while True:
        listed = (
            api.json(
                "GET",
                "/retailer/shipments",
                "get-shipments",
                params={"order-id": shipment.marketplace_order_id, "page": page},
            ).get("shipments")
            or []
        )
        if any(s.get("shipmentReference") == reference for s in listed):
            ctx.log.info("shipment %s: bol made it already; not posted again", reference)
            return {"done": True}
        if len(listed) < PAGE_SIZE:
            break
        page += 1
    if not shipment.lines:
        return None
    statuses = (
        api.json(
            "GET",
            "/shared/process-status",
            "get-process-status-entity-id",
            params={"entity-id": shipment.lines[0][0], "event-type": "CREATE_SHIPMENT"},
        ).get("processStatuses")
        or []
    )
    # Another package of the order (the same item in two parcels) has its own process: not this one's.
    prefix = f"{STATE_PREFIX}{shipment.marketplace_order_id}:"
    others = {str((ctx.state.get(k) or {}).get("pid")) for k in ctx.state.keys(prefix) if k != _key(shipment)}
    for status in statuses:  # newest first
        created = _timestamp(status.get("createTimestamp"))
        if created is not None and created >= since - CLOCK_SLACK and str(status.get("processStatusId")) not in others:
            ctx.log.info("shipment %s: bol is processing it already (%s); not posted again", reference, status)
            pid = {"pid": str(status["processStatusId"]), "at": since}
            ctx.state.set(_key(shipment), pid)
            return pid
    return None


def _timestamp(text: str | None) -> float | None:
    try:
        return datetime.fromisoformat(text).timestamp() if text else None
    except ValueError:
        return None


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
            return ShipmentOutcome.of(shipment, "pending", f"bol's process status {pid} could not be read: {exc}")
        if status is None:  # forgotten: bol's shipments are asked for this package before it is posted again
            ctx.state.set(_key(shipment), {"posting": True, "at": ctx.clock.time()})
            return ShipmentOutcome.of(
                shipment,
                "rejected",
                f"bol no longer knows the shipment's process status {pid}; bol is asked whether it has the shipment "
                "before it is sent again",
                retryable=True,
            )
        state = status.get("status")
        if state == "SUCCESS":
            ctx.state.set(_key(shipment), {"pid": pid, "done": True})
            return ShipmentOutcome.of(shipment, "accepted")
        if state == "FAILURE":
            return ShipmentOutcome.of(
                shipment,
                "rejected",
                f"bol refused the shipment of order {oid}: {status.get('errorMessage') or 'no reason given'}",
            )
        if state == "TIMEOUT":
            ctx.state.delete(_key(shipment))
            return ShipmentOutcome.of(
                shipment, "rejected", f"bol timed out processing the shipment of order {oid}", retryable=True
            )
        if waited >= PROCESS_PATIENCE:
            return ShipmentOutcome.of(shipment, "pending", f"bol is processing the shipment (process status {pid})")
        ctx.progress.wait(f"bol to process the shipment of order {oid}", pause)
        ctx.clock.sleep(pause)
        waited += pause
        pause = min(8.0, pause * 2)
