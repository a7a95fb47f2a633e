"""Merchant quantities to bol: `PUT /retailer/offers/{offer-id}/stock`, followed to its process status.

bol keys stock by offer id, not by the seller's SKU. The app keeps a map of the seller's reference (and EAN) to
offer ids from bol's offer export (`POST /retailer/offers/export`, its process status, then the CSV from
`GET /retailer/offers/export/{report-id}`), in the app's state; it is read again when older than the operator's
``offer_map_hours`` (24 by default), or when a SKU is not in it and the map is more than an hour old (an offer
created since). A SKU with an offer bol fulfils (FBB) is skipped, as Amazon's FBA listings are: its stock is bol's.
A SKU that matches no offer is answered ``not_listed``: sold elsewhere, not handed to this app again until its
listings are read again (`stock verify`) or the seller maps the SKU to the offer's reference or EAN.

Each update answers 202 with a process status; the update is pending (its reference the process status id, kept
in the state as ``pending:<id>``) until bol says SUCCESS (accepted) or FAILURE/TIMEOUT (rejected, with bol's
message). Statuses are read in bulk (`POST /shared/process-status`, up to 1,000 a call) for up to
``PROCESS_PATIENCE`` seconds within a push; those still pending are decided by a later push. bol keeps finished
statuses only for a while: one it no longer knows after ``FORGOTTEN_AFTER`` is rejected as retryable. A decided
update's outcome is yielded before its ``pending:<id>`` is deleted: the host records what it was told before the
plugin's next state write, so a crash in between leaves the update to be read again, never pending forever. The
moments stored (an update sent, the map read, an export asked for) are wall times: one found in the future was
stored before the clock was set back, and counts as old rather than making its wait longer by the step.

The amount sent is the host's quantity with ``managedByRetailer: true``. The host's quantity already is what can
be sold: on hand less the open orders of every channel. bol's spec (``UpdateOfferStockRequest``) says that with
``managedByRetailer`` false bol corrects the amount by all open orders, and with true "only orders that are placed
after the last offer update are taken into account": so true is right, as bol then takes off only the orders the
host cannot know of yet (placed after this update), which the host reserves once it imports them and pushes again.
False would take the open orders off twice. bol takes at most 999: a larger quantity is sent as 999 and the outcome
says so.
"""

from __future__ import annotations

import csv
import io
from typing import Any, Generator, Iterable, Iterator, Sequence
from urllib.parse import quote

from linkolis_host import LinkolisError, RemoteError, StockItem, StockLevel, StockOutcome, plural

from .client import CSV_MEDIA_TYPE, Bol, BolError, parse_json

MAX_AMOUNT = 999
OFFERS_KEY = "offers"
EXPORT_KEY = "offer_export"  # an export requested but not read yet (the health check asks for one)
PENDING_PREFIX = "pending:"
MISSING_REFRESH = 3600.0
EXPORT_REUSE = 1800.0  # an export requested this recently is waited for rather than asked for again
EXPORT_PATIENCE = 900.0
PROCESS_PATIENCE = 30.0
FORGOTTEN_AFTER = 3600.0
CLOCK_STEP = 60.0  # a moment stored this far in the future was stored before the clock was set back
BULK = 1000


def _younger_than(ctx, at: float, seconds: float) -> bool:
    """Whether a moment stored as ``at`` is less than ``seconds`` ago. One further in the future than
    ``CLOCK_STEP`` is not: the clock was set back since, and what waits for it to age must not wait as much longer."""
    return -CLOCK_STEP <= ctx.clock.time() - at < seconds


def request_export(api: Bol) -> str:
    """Ask bol for an offer export; remember its process status id, and return it."""
    status = api.json("POST", "/retailer/offers/export", "post-offer-export", json={"format": "CSV"}, expect=(202,))
    pid = str(status["processStatusId"])
    api.ctx.state.set(EXPORT_KEY, {"id": pid, "at": api.ctx.clock.time()})
    return pid


def process_status(api: Bol, pid: str) -> dict[str, Any] | None:
    response = api.call("GET", f"/shared/process-status/{quote(pid, safe='')}", "get-process-status", expect=(200, 404))
    return None if response.status_code == 404 else parse_json(response, "get-process-status")


def _wait_for_export(api: Bol, pid: str) -> str:
    """The report id of the export ``pid`` once bol made it; waits (on the context's clock) with growing pauses."""
    ctx = api.ctx
    waited, pause = 0.0, 2.0
    while True:
        status = process_status(api, pid)
        if status is None:
            ctx.state.delete(EXPORT_KEY)
            raise RemoteError(f"bol no longer knows offer export {pid}; a new one is asked for next time")
        if status.get("status") == "SUCCESS" and status.get("entityId"):
            return str(status["entityId"])
        if status.get("status") in ("FAILURE", "TIMEOUT"):
            ctx.state.delete(EXPORT_KEY)
            raise RemoteError(
                f"bol could not make the offer export ({status.get('status')}: "
                f"{status.get('errorMessage') or 'no reason given'}); it is asked for again next time"
            )
        if waited >= EXPORT_PATIENCE:
            raise RemoteError(f"bol's offer export is not ready after {int(waited)} s; the next push waits for it")
        ctx.progress.wait("bol's offer export (which offer is which SKU)", pause)
        ctx.clock.sleep(pause)
        waited += pause
        pause = min(30.0, pause * 2)


def parse_export(text: str) -> dict[str, dict[str, Any]]:
    """The offer export's CSV as reference/EAN -> offer facts (a reference wins over an EAN that equals it).

    bol's spec does not list the export's columns; they are read by name (see docs/operations.md)."""
    rows = []
    for row in csv.DictReader(io.StringIO(text.lstrip("\ufeff"))):
        offer_id = (row.get("offerId") or "").strip()
        if not offer_id:
            continue
        method = (row.get("fulfilmentType") or row.get("fulfilmentMethod") or "FBR").strip().upper()
        try:
            amount: int | None = int(row.get("stockAmount") or "")
        except ValueError:
            amount = None
        fact = {"offer_id": offer_id, "fbb": method == "FBB", "stock": amount}
        rows.append(
            ((row.get("ean") or "").strip(), (row.get("referenceCode") or row.get("reference") or "").strip(), fact)
        )
    by_key: dict[str, dict[str, Any]] = {}
    for ean, _, fact in rows:
        if ean:
            by_key.setdefault(ean, fact)
    for _, reference, fact in rows:
        if reference:
            by_key[reference] = fact
    return by_key


def refresh_offers(api: Bol) -> dict[str, dict[str, Any]]:
    ctx = api.ctx
    pending = ctx.state.get(EXPORT_KEY)
    if pending and _younger_than(ctx, pending.get("at", 0), EXPORT_REUSE):
        pid = pending["id"]
    else:
        pid = request_export(api)
    ctx.progress.note("Reading bol's offer export (which offer is which SKU)")
    report = _wait_for_export(api, pid)
    response = api.call(
        "GET", f"/retailer/offers/export/{quote(report, safe='')}", "get-offer-export", accept=CSV_MEDIA_TYPE
    )
    by_key = parse_export(response.text)
    ctx.state.set(OFFERS_KEY, {"at": ctx.clock.time(), "by_key": by_key})
    ctx.state.delete(EXPORT_KEY)
    return by_key


def offer_map(api: Bol, skus: Iterable[str]) -> dict[str, dict[str, Any]]:
    ctx = api.ctx
    cached = ctx.state.get(OFFERS_KEY)
    now = ctx.clock.time()
    if cached:
        age = now - cached.get("at", 0)
        missing = any(sku not in cached["by_key"] for sku in skus)
        if _younger_than(ctx, cached.get("at", 0), api.op.offer_map_hours * 3600) and not (
            missing and age > MISSING_REFRESH
        ):
            return cached["by_key"]
    return refresh_offers(api)


def _item(entry: dict[str, Any]) -> StockItem:
    """The item a pending update (noted by ``_send``) pushes."""
    return StockItem(sku=entry["sku"], quantity=entry["quantity"])


def _outcome(entry: dict[str, Any], status: dict[str, Any]) -> StockOutcome | None:
    state, pid = status.get("status"), status.get("processStatusId")
    if state == "SUCCESS":
        return StockOutcome.of(_item(entry), "accepted", entry.get("note", ""), reference=pid)
    if state in ("FAILURE", "TIMEOUT"):
        message = f"bol: {status.get('errorMessage') or state}"
        return StockOutcome.of(_item(entry), "rejected", message, retryable=state == "TIMEOUT", reference=pid)
    return None


def collect(api: Bol, patience: float = PROCESS_PATIENCE) -> Generator[StockOutcome, None, dict[str, dict]]:
    """Yield the outcomes of pending updates bol has decided (within ``patience`` seconds), each before it is
    forgotten in the state; return those still pending."""
    ctx = api.ctx
    pending = {key[len(PENDING_PREFIX) :]: ctx.state.get(key) for key in ctx.state.keys(PENDING_PREFIX)}
    pending = {pid: entry for pid, entry in pending.items() if entry}
    waited, pause = 0.0, 1.0
    while pending:
        ids = sorted(pending)
        for start in range(0, len(ids), BULK):
            chunk = ids[start : start + BULK]
            body = {"processStatusQueries": [{"processStatusId": pid} for pid in chunk]}
            try:
                answer = api.json("POST", "/shared/process-status", "get-process-status-bulk", json=body)
            except LinkolisError as exc:
                ctx.log.info("reading %s process statuses failed: %s", len(chunk), exc)
                continue
            known = {str(s.get("processStatusId")): s for s in answer.get("processStatuses") or []}
            for pid in chunk:
                entry = pending[pid]
                status = known.get(pid)
                if status is None:
                    if _younger_than(ctx, entry.get("at", 0), FORGOTTEN_AFTER):
                        continue
                    message = "bol no longer keeps this update's process status; pushed again"
                    outcome = StockOutcome.of(_item(entry), "rejected", message, retryable=True, reference=pid)
                else:
                    outcome = _outcome(entry, status)
                if outcome is not None:
                    yield outcome
                    ctx.state.delete(PENDING_PREFIX + pid)  # the host has recorded it by now
                    del pending[pid]
        if not pending or waited >= patience:
            break
        ctx.progress.wait(f"bol to process {plural(len(pending), 'stock update')}", pause)
        ctx.clock.sleep(pause)
        waited += pause
        pause = min(8.0, pause * 2)
    return pending


def push(ctx, items: Sequence[StockItem]) -> Iterator[StockOutcome]:
    api = Bol(ctx)
    sent: dict[str, StockItem] = {}
    if items:
        try:
            offers = offer_map(api, [i.sku for i in items])
        except LinkolisError as exc:
            for i in items:
                yield StockOutcome.of(i, "rejected", f"the offer ids could not be read from bol: {exc}", retryable=True)
            yield from collect(api, patience=0)
            return
        ctx.progress.start("Pushing stock to bol", len(items))
        for item in items:
            offer = offers.get(item.sku)
            if offer is None:
                yield StockOutcome.of(
                    item,
                    "not_listed",
                    "not listed on bol: no offer has this reference or EAN (map the SKU to the offer's reference or "
                    "EAN)",
                )
            elif offer["fbb"]:
                yield StockOutcome.of(item, "skipped", "bol fulfils this offer (FBB): its stock is bol's")
            else:
                outcome = _send(api, item, offer["offer_id"])
                if outcome is None:
                    sent[item.sku] = item
                else:
                    yield outcome
            ctx.progress.advance()
        ctx.progress.finish()
    pending = yield from collect(api)
    for pid, entry in pending.items():
        if entry["sku"] in sent and entry["quantity"] == sent[entry["sku"]].quantity:
            yield StockOutcome.of(_item(entry), "pending", "bol is processing the update", reference=pid)


def _send(api: Bol, item: StockItem, offer_id: str) -> StockOutcome | None:
    """Send one update; None when it is pending at bol (noted in the state), else its outcome."""
    amount = min(item.quantity, MAX_AMOUNT)
    note = f"bol takes at most {MAX_AMOUNT}: {MAX_AMOUNT} was sent" if amount != item.quantity else ""
    try:
        status = api.json(
            "PUT",
            f"/retailer/offers/{quote(offer_id, safe='')}/stock",
            "update-offer-stock",
            json={"amount": amount, "managedByRetailer": True},
            expect=(202,),
        )
    except BolError as exc:
        return StockOutcome.of(item, "rejected", str(exc), retryable=exc.status >= 500 or exc.status == 429)
    except LinkolisError as exc:
        return StockOutcome.of(item, "rejected", str(exc), retryable=True)
    pid = str(status["processStatusId"])
    api.ctx.state.set(
        PENDING_PREFIX + pid,
        {"sku": item.sku, "quantity": item.quantity, "offer_id": offer_id, "at": api.ctx.clock.time(), "note": note},
    )
    return None


def read(ctx, skus: list[str] | None) -> list[StockLevel]:
    """What bol shows now, from a fresh offer export."""
    by_key = refresh_offers(Bol(ctx))
    wanted = skus if skus is not None else sorted(k for k in by_key)
    levels = []
    for sku in wanted:
        offer = by_key.get(sku)
        if offer is None:
            levels.append(StockLevel(sku=sku, quantity=None, found=False, detail="no bol offer has this reference"))
        else:
            levels.append(
                StockLevel(
                    sku=sku,
                    quantity=offer.get("stock"),
                    fulfilled_by="marketplace" if offer["fbb"] else "merchant",
                    publication_delay=60.0,
                )
            )
    return levels
