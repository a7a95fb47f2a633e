"""Cancellations at bol: `PUT /retailer/orders/cancellation`, one call per order item, followed to its process status.

The body is the v10 spec's ``CancellationRequest`` (media type ``application/vnd.retailer.v10+json``): ``orderItems``
holds exactly one ``OrderItemCancellation`` (the spec's ``maxItems`` is 1), its ``orderItemId`` and a ``reasonCode``
from the spec's enum. There is no quantity: bol cancels what is open of the item. The same call confirms a buyer's
request (``REQUESTED_BY_CUSTOMER``) or cancels an item the seller cannot deliver. The host's reasons map to bol's:

| host | bol ``reasonCode`` |
| --- | --- |
| ``requested_by_buyer`` | ``REQUESTED_BY_CUSTOMER`` |
| ``out_of_stock`` | ``OUT_OF_STOCK`` |
| ``price_error`` | ``INCORRECT_PRICE`` |
| ``other`` | ``OTHER`` |

bol answers 202 with a process status (``eventType`` ``CANCEL_ORDER``, ``entityId`` the order item); the item is
cancelled once the status is SUCCESS, refused on FAILURE (bol's ``errorMessage``), retryable on TIMEOUT. A status
read for ``PROCESS_PATIENCE`` seconds that is still PENDING makes the answer ``pending``. What bol refuses at once (an
unknown item, an item shipped or cancelled, a reason code outside the enum) is a 400 problem document, quoted.

Exactly once, and asking again is safe: the order is read first (``GET /retailer/orders/{order-id}``), and an item
bol shows cancelled already is done (a cancellation whose answer was lost, or the seller cancelled it in the Seller
Portal), a shipped one refused, without a PUT. Before each PUT the app's state records ``cancel:<order>:<item>``
with the time; bol's process status id replaces that when bol answers 202, and goes once bol decided. A record
without an id (the answer never arrived) is first looked up at bol
(``GET /shared/process-status?entity-id=<item>&event-type=CANCEL_ORDER``, a process started since the record) before
the item is sent again. FBB items are bol's to cancel: refused before any call.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

from linkolis_host import Cancellation, CancellationOutcome, Context, LinkolisError

from .client import Bol, BolError, parse_json

REASON_CODES = {
    "requested_by_buyer": "REQUESTED_BY_CUSTOMER",
    "out_of_stock": "OUT_OF_STOCK",
    "price_error": "INCORRECT_PRICE",
    "other": "OTHER",
}
STATE_PREFIX = "cancel:"
PROCESS_PATIENCE = 30.0
CLOCK_SLACK = 60.0  # bol's clock and ours may differ: a process this much older than our record may still be ours


def cancel(ctx: Context, cancellation: Cancellation) -> CancellationOutcome:
    api = Bol(ctx)
    oid = cancellation.marketplace_order_id

    def outcome(status: str, message: str = "", retryable: bool = False) -> CancellationOutcome:
        return CancellationOutcome(marketplace_order_id=oid, status=status, message=message, retryable=retryable)

    try:
        raw = api.json("GET", f"/retailer/orders/{quote(oid, safe='')}", "get-order")
    except BolError as exc:
        return outcome("rejected", f"bol could not find order {oid}: {exc}", exc.status == 429 or exc.status >= 500)
    except LinkolisError as exc:
        return outcome("rejected", f"bol could not be asked about order {oid}: {exc}", True)
    items = {str(i.get("orderItemId")): i for i in raw.get("orderItems") or [] if isinstance(i, dict)}
    results = [_one(api, oid, line_id, items.get(line_id), cancellation.reason) for line_id, _ in cancellation.lines]
    refused = [(line_id, why, retry) for line_id, (status, why, retry) in results if status == "rejected"]
    waiting = [line_id for line_id, (status, _, _) in results if status == "pending"]
    if refused:
        done = [line_id for line_id, (status, _, _) in results if status == "accepted"]
        message = "; ".join(f"item {line_id}: {why}" for line_id, why, _ in refused)
        if done:
            message += f" (bol cancelled item{'s' if len(done) > 1 else ''} {', '.join(done)})"
        if waiting:
            message += f" (bol is still processing item{'s' if len(waiting) > 1 else ''} {', '.join(waiting)})"
        return outcome("rejected", message, all(retry for _, _, retry in refused))
    if waiting:
        return outcome(
            "pending",
            f"bol is processing the cancellation of item{'s' if len(waiting) > 1 else ''} {', '.join(waiting)}",
        )
    return outcome("accepted")


Result = tuple[str, tuple[str, str, bool]]  # (line id, (status, message, retryable))


def _key(oid: str, line_id: str) -> str:
    return f"{STATE_PREFIX}{oid}:{line_id}"


def _one(api: Bol, oid: str, line_id: str, item: dict[str, Any] | None, reason: str) -> Result:
    ctx, key = api.ctx, _key(oid, line_id)
    if item is None:
        return line_id, ("rejected", f"bol's order {oid} has no item {line_id}", False)
    quantity = int(item.get("quantity") or 0)
    shipped, cancelled = int(item.get("quantityShipped") or 0), int(item.get("quantityCancelled") or 0)
    if shipped + cancelled >= quantity:
        ctx.state.delete(key)
        if cancelled:  # cancelled before: by an earlier call whose answer was lost, or in the Seller Portal
            return line_id, ("accepted", "", False)
        return line_id, ("rejected", "bol shows it shipped already; a shipped item cannot be cancelled", False)
    if str((item.get("fulfilment") or {}).get("method") or "FBR") == "FBB":
        return line_id, ("rejected", "it is fulfilled by bol (FBB): bol handles its cancellation", False)
    sent = ctx.state.get(key)
    if sent and "pid" not in sent:  # sent before, bol's answer never recorded: ask bol before sending it again
        try:
            sent = _earlier(api, line_id, sent["at"])
        except LinkolisError as exc:
            return line_id, ("pending", f"bol could not be asked whether it has the cancellation already: {exc}", True)
        if sent:
            ctx.state.set(key, sent)
    if not sent:
        ctx.state.set(key, {"at": ctx.clock.time()})
        body = {"orderItems": [{"orderItemId": line_id, "reasonCode": REASON_CODES[reason]}]}
        try:
            status = api.json(
                "PUT", "/retailer/orders/cancellation", "cancel-order-item", json=body, expect=(202,), retry=False
            )
        except BolError as exc:
            if exc.status < 500:  # bol said no: nothing was started (after a 5xx bol is asked first, next time)
                ctx.state.delete(key)
            why = exc.detail or str(exc)
            return line_id, ("rejected", f"bol refused to cancel it: {why}", exc.status == 429 or exc.status >= 500)
        except LinkolisError as exc:
            return line_id, (
                "rejected",
                f"bol's answer did not arrive ({exc}); asking again checks with bol before sending it again",
                True,
            )
        sent = {"pid": str(status["processStatusId"]), "at": ctx.clock.time()}
        ctx.state.set(key, sent)
    return line_id, _follow(api, oid, line_id, sent["pid"])


def _earlier(api: Bol, line_id: str, since: float) -> dict[str, Any] | None:
    """A cancellation of ``line_id`` bol started since about ``since`` (its answer lost): ``{"pid": …}``, or None."""
    statuses = (
        api.json(
            "GET",
            "/shared/process-status",
            "get-process-status-entity-id",
            params={"entity-id": line_id, "event-type": "CANCEL_ORDER"},
        ).get("processStatuses")
        or []
    )
    for status in statuses:  # newest first
        created = _timestamp(status.get("createTimestamp"))
        if created is not None and created >= since - CLOCK_SLACK and status.get("processStatusId"):
            api.ctx.log.info("cancellation of item %s: bol has it already (%s); not sent again", line_id, status)
            return {"pid": str(status["processStatusId"]), "at": since}
    return None


def _timestamp(text: str | None) -> float | None:
    try:
        return datetime.fromisoformat(text).timestamp() if text else None
    except ValueError:
        return None


def _follow(api: Bol, oid: str, line_id: str, pid: str) -> tuple[str, str, bool]:
    """Read the process status ``pid`` until it is final, or ``PROCESS_PATIENCE`` seconds have passed."""
    ctx, key = api.ctx, _key(oid, line_id)
    waited, pause = 0.0, 1.0
    while True:
        try:
            response = api.call(
                "GET", f"/shared/process-status/{quote(pid, safe='')}", "get-process-status", expect=(200, 404)
            )
            status = None if response.status_code == 404 else parse_json(response, "get-process-status")
        except LinkolisError as exc:
            return "pending", f"bol's process status {pid} could not be read: {exc}", True
        if status is None:  # bol keeps process statuses a while only: the order tells what became of the item
            ctx.state.delete(key)
            return (
                "rejected",
                f"bol no longer knows the process status {pid}; asking again reads the order from bol",
                True,
            )
        state = status.get("status")
        if state == "SUCCESS":
            ctx.state.delete(key)
            return "accepted", "", False
        if state == "FAILURE":
            ctx.state.delete(key)
            return "rejected", f"bol refused to cancel it: {status.get('errorMessage') or 'no reason given'}", False
        if state == "TIMEOUT":
            ctx.state.delete(key)
            return "rejected", "bol timed out processing the cancellation", True
        if waited >= PROCESS_PATIENCE:
            return "pending", f"bol is processing it (process status {pid})", True
        ctx.progress.wait(f"bol to process the cancellation of order {oid}", pause)
        ctx.clock.sleep(pause)
        waited += pause
        pause = min(8.0, pause * 2)
