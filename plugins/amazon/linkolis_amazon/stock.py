"""Merchant quantities to Amazon: Listings PATCH for a few SKUs, one JSON_LISTINGS_FEED for many.

The quantity sent is the host's as it is: what can be sold now, open orders of every channel already taken off.
That is what Amazon's MFN ``fulfillment_availability.quantity`` means (the listings model's "The item quantity that
you're making available for sale"): Amazon lowers it by itself when an order is placed here, holding the units of
pending orders too, and does not take earlier orders off what we send. So after an order, the quantity we push
(on hand less the now larger reserved) is the very number Amazon already lowered to, and every other marketplace
is pushed the same. A buyer-cancelled order gives its units back at Amazon; the host releases them too, and the
next push sends what is available again.

Every SKU's listing is looked up once (product type, and whether Amazon fulfils it) through
searchListingsItems, 20 SKUs a call, and cached in the app's state. A SKU Amazon fulfils (FBA) never gets a
merchant quantity. The patch is a `merge` on `/attributes/fulfillment_availability` with the `DEFAULT` channel,
so `lead_time_to_ship_max_days` and `restock_date` survive.

Which path: patchListingsItem runs at 5/s (burst 5), so n SKUs take (n - 5) / 5 seconds; a feed costs four
calls whatever its size (up to 25,000 SKUs) but Amazon takes minutes to process it. Patching wins while it
finishes before a feed typically would: with a 2-minute feed turnaround that is up to 5 + 5 × 120 = 605 SKUs.
Waiting for a feed never blocks: its SKUs are reported pending, and a later call collects the report. A newer
quantity for a SKU still in a feed Amazon has not processed waits for that feed, so the older one cannot land last.

A feed is noted as an upload before createFeed is called. If the process dies before createFeed's answer is
saved, the next push finds that note and asks getFeeds for the feed Amazon may have made of it, so its older
quantities are still waited for. Amazon's Feed does not name its input document: the feed taken is the unknown
one created closest to the upload, and its report must match the upload's messages before its outcomes count.

Listing health: each search also reads the listing's issues. One that Amazon enforces (the listing suppressed,
hidden from search, the catalog item removed, an attribute suppressed) is kept in the app's state and rides on
every outcome for that SKU as a warning, so an accepted quantity on a listing nobody can buy is never silent.
Every body read from Amazon goes through ``client.parse_json``: a cut-off answer fails one SKU (or one feed
check) retryably, and the rest of the push goes on.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any, Iterable, Iterator, Sequence, overload

import httpx

from linkolis_host import CheckAgain, Context, LinkolisError, RemoteError, StockItem, StockLevel, StockOutcome, plural

from .client import RATE_LIMITS, GarbledAnswer, SpApi, SpApiError, error_of, parse_json, retryable
from .orders import iso, parse_time

FEED_TURNAROUND = 120.0
PATCH_RATE = RATE_LIMITS["patchListingsItem"]
DEFAULT_THRESHOLD = int(PATCH_RATE.burst + PATCH_RATE.rate * FEED_TURNAROUND)
FEED_MAX_MESSAGES = 25_000
FEED_CONTENT_TYPE = "application/json; charset=UTF-8"
# A feed is checked 2 s after it is sent, then ever less often: every 5 s at most for its first ten minutes (so
# a feed Amazon turns round in minutes is seen within seconds of finishing), then up to once a minute (Amazon
# can take hours, and a slow feed then costs a getFeed a minute; getFeed allows 2 a second).
FEED_FIRST_CHECK = 2.0
FEED_QUICK_WAIT = 5.0
FEED_PATIENCE = 5 * FEED_TURNAROUND
FEED_MAX_WAIT = 60.0
LISTING_TTL = 86400.0  # re-read a listing's product type, channel and issues daily: Amazon suppresses at any time
# Amazon documents that an accepted listings change can take up to 15 minutes to show.
PUBLICATION_DELAY = 15 * 60.0
SEARCH_BATCH = 20
FALLBACK_PRODUCT_TYPE = "PRODUCT"
FEEDS_KEY = "feeds"  # feed id -> its small record (document, when to check); read on every push
FEED_SKUS_KEY = "feed_skus:"  # + document id: the [sku, quantity, fresh] of each message, read when it finishes
REPORTED_KEY = "reported"  # finished feeds' outcomes an older version kept to tell once more (REPORTED_FIELDS rows)
REPORTED_FIELDS = ("sku", "quantity", "status", "message", "retryable", "reference", "warning")
HELD_KEY = "held"  # quantities waiting for an older feed of their SKU to be processed
UPLOADS_KEY = "uploads"  # feed documents sent to createFeed whose answer was not saved yet
SUPPRESSED_KEY = "suppressed"  # SKU -> what Amazon enforces on its listing, as last read
# Amazon's enforcement actions (Issue.enforcements.actions), in the seller's words, the gravest first.
ENFORCEMENTS = {
    "CATALOG_ITEM_REMOVED": "Amazon removed the catalog item (not buyable)",
    "LISTING_SUPPRESSED": "Amazon suppressed this listing (not buyable)",
    "SEARCH_SUPPRESSED": "Amazon hides this listing from search",
    "ATTRIBUTE_SUPPRESSED": "Amazon suppressed an attribute of this listing",
}
FIX_LISTING = "fix the listing in Seller Central (Inventory → Fix your listings)"
# A lost feed is looked for from a little before its upload (Amazon's clock may be behind ours) to an hour after
# it (createFeed can wait minutes for quota first); JSON_LISTINGS_FEED's 5 per 5 minutes keep that under a page.
CLOCK_SLACK = 60.0
LOST_FEED_WINDOW = 3600.0
QUANTITY_PATH = "/attributes/fulfillment_availability"
# Issue codes where pushing again can help: an invalid product type (we re-read it) or Amazon's own hiccups.
RETRYABLE_CODES = {"4000003", "4000001"}
# ...but a product type just read from Amazon and refused would only be refused again, on every push.
PRODUCT_TYPE_CODE = "4000003"


def _listing_key(sku: str) -> str:
    return f"listing:{sku}"


def _skus_key(document_id: str) -> str:
    return FEED_SKUS_KEY + document_id


def _feed_skus(ctx: Context, feed: dict[str, Any]) -> list[list[Any]]:
    """A feed's messages as [sku, quantity, fresh]: kept apart from the feed's record, so a push that only
    checks whether Amazon is done reads a few hundred bytes, not a list of 25,000 SKUs."""
    if "skus" in feed:  # noted inline by an earlier version
        return feed["skus"]
    return ctx.state.get(_skus_key(feed["document"]), [])


def listing_warning(item: dict[str, Any], marketplace_id: str) -> str:
    """What Amazon enforces on a listing in this marketplace ("" when nothing): from its issues' enforcement
    actions in force (not exempt), else from a listing that is not buyable because of an error."""
    issues = [i for i in item.get("issues") or [] if marketplace_id in (i.get("marketplaceIds") or [marketplace_id])]
    enforced: dict[str, dict[str, Any]] = {}
    for i in issues:
        enforcements = i.get("enforcements") or {}
        if (enforcements.get("exemption") or {}).get("status", "NOT_EXEMPT") != "NOT_EXEMPT":
            continue
        for action in enforcements.get("actions") or []:
            enforced.setdefault(str(action.get("action")), i)
    if enforced:
        order = list(ENFORCEMENTS)
        action = min(enforced, key=lambda a: order.index(a) if a in order else len(order))
        i = enforced[action]
        what = ENFORCEMENTS.get(action, f"Amazon enforces {action} on this listing")
        return f"{what}: {i.get('code')}: {i.get('message')}; {FIX_LISTING}"
    summaries = [s for s in item.get("summaries") or [] if s.get("marketplaceId") in (None, marketplace_id)]
    errors = [i for i in issues if i.get("severity") == "ERROR"]
    if summaries and "status" in summaries[0] and "BUYABLE" not in summaries[0]["status"] and errors:
        return f"not buyable on Amazon: {errors[0].get('code')}: {errors[0].get('message')}; {FIX_LISTING}"
    return ""


def _channel_facts(item: dict[str, Any], marketplace_id: str) -> dict[str, Any]:
    summaries = [s for s in item.get("summaries", []) if s.get("marketplaceId") in (None, marketplace_id)]
    product_type = summaries[0].get("productType") if summaries else None
    channels = item.get("fulfillmentAvailability") or []
    merchant = [c for c in channels if c.get("fulfillmentChannelCode") == "DEFAULT"]
    amazon = [c for c in channels if c.get("fulfillmentChannelCode", "").startswith("AMAZON")]
    return {
        "product_type": product_type or FALLBACK_PRODUCT_TYPE,
        "fba": bool(amazon) and not merchant,
        "quantity": merchant[0].get("quantity") if merchant else None,
        "amazon_quantity": amazon[0].get("quantity") if amazon else None,
        "found": True,
        "warning": listing_warning(item, marketplace_id),
    }


SEARCHED = "summaries,fulfillmentAvailability,issues"


def search_listings(ctx: Context, api: SpApi, skus: list[str], tolerate: bool = False) -> dict[str, dict[str, Any]]:
    """Look up to 20 SKUs up at once; a SKU absent from the answer is not listed in this marketplace.

    What Amazon enforces on each listing is remembered. With ``tolerate``, a search whose answer stays garbled
    leaves its SKUs as ``{"unread": message}`` and the other SKUs are still looked up.
    """
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(skus), SEARCH_BATCH):
        chunk = skus[start : start + SEARCH_BATCH]
        try:
            page = api.search_listings(
                {
                    "identifiers": ",".join(chunk),
                    "identifiersType": "SKU",
                    "includedData": SEARCHED,
                    "pageSize": SEARCH_BATCH,
                }
            )
        except GarbledAnswer as exc:
            if not tolerate:
                raise
            found.update((sku, {"unread": str(exc)}) for sku in chunk)
            continue
        for item in page.get("items", []):
            found[item["sku"]] = _channel_facts(item, api.market.id)
        for sku in chunk:
            found.setdefault(sku, {"found": False})
    remember_warnings(ctx, {sku: fact.get("warning", "") for sku, fact in found.items() if "unread" not in fact})
    return found


def remember_warnings(ctx: Context, seen: dict[str, str]) -> None:
    """Keep what Amazon enforces per SKU (``seen``: SKU -> warning, "" for a healthy listing) in the state."""
    known = ctx.state.get(SUPPRESSED_KEY, {})
    changed = {sku: w for sku, w in seen.items() if known.get(sku, "") != w}
    if not changed:
        return
    for sku, warning in changed.items():
        if warning:
            known[sku] = warning
        else:
            known.pop(sku, None)
    ctx.state.set(SUPPRESSED_KEY, known)


def warnings(ctx: Context) -> dict[str, str]:
    """SKU -> what Amazon enforces on its listing, as the app last read it."""
    return ctx.state.get(SUPPRESSED_KEY, {})


def listings(ctx: Context, api: SpApi, skus: list[str]) -> dict[str, dict[str, Any]]:
    """Each SKU's listing facts, from the cache when fresh, else from Amazon (and cached)."""
    now = ctx.clock.time()
    facts: dict[str, dict[str, Any]] = {}
    unknown = []
    cache = ctx.state.get_many([_listing_key(sku) for sku in skus])
    for sku in skus:
        cached = cache.get(_listing_key(sku))
        if cached and cached.get("found") and now - cached.get("at", 0) < LISTING_TTL:
            facts[sku] = cached
        else:
            unknown.append(sku)
    if unknown:
        ctx.progress.note(f"Reading {plural(len(unknown), 'listing')} from Amazon (product type, fulfilment channel)")
        fresh: dict[str, Any] = {}
        for sku, fact in search_listings(ctx, api, unknown, tolerate=True).items():
            fact["at"] = now
            if fact.get("found"):
                fresh[_listing_key(sku)] = {k: v for k, v in fact.items() if k != "quantity"}
            facts[sku] = {**fact, "fresh": True}
            if len(fresh) >= 1000:  # a cold push of 50,000 SKUs: 50 commits, not 50,000
                ctx.state.set_many(fresh)
                fresh = {}
        ctx.state.set_many(fresh)
    return facts


def patch_body(product_type: str, quantity: int) -> dict[str, Any]:
    return {
        "productType": product_type,
        "patches": [
            {
                "op": "merge",
                "path": QUANTITY_PATH,
                "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": quantity}],
            }
        ],
    }


def _issues_text(issues: Iterable[dict[str, Any]], fresh: bool = False) -> tuple[str, bool]:
    """Amazon's errors as one message, and whether pushing again can help (``fresh``: the product type sent was
    just read from Amazon, so re-reading it would change nothing)."""
    errors = [i for i in issues if i.get("severity") == "ERROR"]
    text = "; ".join(f"{i.get('code')}: {i.get('message')}" for i in errors) or "rejected by Amazon"
    can_retry = bool(errors) and all(str(i.get("code")) in RETRYABLE_CODES for i in errors)
    if fresh and any(str(i.get("code")) == PRODUCT_TYPE_CODE for i in errors):
        can_retry = False
    return text, can_retry


def _patch(ctx: Context, api: SpApi, item: StockItem, fact: dict[str, Any]) -> StockOutcome:
    warning = fact.get("warning", "")
    try:
        response = api.patch_listing(item.sku, patch_body(fact["product_type"], item.quantity))
        if response.status_code != 200:  # 400 or 404: Amazon's error body, read leniently
            raise error_of(response, "patchListingsItem")
        body = parse_json(response, "patchListingsItem")
    except SpApiError as exc:
        return StockOutcome.of(item, "rejected", str(exc), retryable=retryable(exc), warning=warning)
    if body.get("status") == "ACCEPTED":
        # The submission's own issues may carry an enforcement too (Amazon's examples show LISTING_SUPPRESSED).
        warning = listing_warning({"issues": body.get("issues")}, api.market.id) or warning
        return StockOutcome.of(item, "accepted", reference=body.get("submissionId"), warning=warning)
    message, can_retry = _issues_text(body.get("issues", []), fresh=bool(fact.get("fresh")))
    if can_retry:
        ctx.state.delete(_listing_key(item.sku))  # read the product type afresh before the retry
    return StockOutcome.of(item, "rejected", message, retryable=can_retry, warning=warning)


def feed_document(seller_id: str, messages: Iterable[tuple[str, str, int]]) -> bytes:
    """The JSON_LISTINGS_FEED document for (sku, product type, quantity) messages, encoded a message at a time:
    25,000 messages never exist as dicts at once."""
    head = json.dumps({"sellerId": seller_id, "version": "2.0", "issueLocale": "en_US"}, separators=(",", ":"))
    encode = json.JSONEncoder(separators=(",", ":")).encode
    parts = [f'{{"header":{head},"messages":['.encode()]
    for number, (sku, product_type, quantity) in enumerate(messages, start=1):
        parts.append(
            (b"," if number > 1 else b"")
            + encode(
                {
                    "messageId": number,
                    "sku": sku,
                    "operationType": "PATCH",
                    "productType": product_type,
                    "patches": patch_body("", quantity)["patches"],
                }
            ).encode()
        )
    parts.append(b"]}")
    return b"".join(parts)


def _submit_feed(ctx: Context, api: SpApi, items: list[tuple[StockItem, dict[str, Any]]]) -> str:
    """Send one feed of (item, listing facts) and note it as pending; its feed id."""
    payload = feed_document(api.seller_id or "", ((i.sku, fact["product_type"], i.quantity) for i, fact in items))
    upload = api.create_feed_document(FEED_CONTENT_TYPE)
    response = ctx.http.put(
        upload["url"], content=payload, headers={"content-type": FEED_CONTENT_TYPE}, operation="feedUpload"
    )
    del payload
    if response.status_code not in (200, 201, 204):
        raise SpApiError(
            f"uploading the feed document failed: {response.status_code} {_s3_error(response)}; no feed "
            "was sent and these quantities go with the next push",
            status=response.status_code,
        )
    document_id = upload["feedDocumentId"]
    ctx.state.set(_skus_key(document_id), [[i.sku, i.quantity, int(bool(fact.get("fresh")))] for i, fact in items])
    _note_upload(ctx, document_id, {"at": ctx.clock.time(), "count": len(items)})
    try:
        feed_id = api.create_feed(document_id)["feedId"]
    except SpApiError as exc:
        # Refused: Amazon made no feed. After a 5xx, or an answer cut off, it may have; the next push asks.
        if exc.status < 500 and not isinstance(exc, GarbledAnswer):
            _forget_upload(ctx, document_id)
        raise
    except RemoteError:
        raise  # no answer: the request may have reached Amazon, and the next push asks
    except LinkolisError:
        # Raised before the request went (the quota wait handed back to the scheduler): Amazon made no feed.
        _forget_upload(ctx, document_id)
        raise
    feeds = ctx.state.get(FEEDS_KEY, {})
    feeds[feed_id] = {
        "document": document_id,
        "created": ctx.clock.time(),
        "count": len(items),
        "wait": FEED_FIRST_CHECK,
        "next_check": ctx.clock.time() + FEED_FIRST_CHECK,
    }
    ctx.state.set(FEEDS_KEY, feeds)
    _note_upload(ctx, document_id, None)  # after the feed: a crash in between leaves a note its feed explains
    return feed_id


def _forget_upload(ctx: Context, document_id: str) -> None:
    _note_upload(ctx, document_id, None)
    ctx.state.delete(_skus_key(document_id))


def _note_upload(ctx: Context, document_id: str, upload: dict[str, Any] | None) -> None:
    uploads = ctx.state.get(UPLOADS_KEY, {})
    if upload is None:
        uploads.pop(document_id, None)
    else:
        uploads[document_id] = upload
    if uploads:
        ctx.state.set(UPLOADS_KEY, uploads)
    else:
        ctx.state.delete(UPLOADS_KEY)


def find_lost_feeds(ctx: Context, api: SpApi) -> None:
    """Uploads whose createFeed answer was never saved: take on the feed Amazon made of each as a pending feed,
    or forget the upload when Amazon made none (its SKUs are still due, so the host sends them again).
    One getFeeds call per such upload."""
    uploads = ctx.state.get(UPLOADS_KEY)
    if not uploads:
        return
    for document_id, upload in uploads.items():
        if "skus" in upload:  # noted inline by an earlier version
            ctx.state.set(_skus_key(document_id), upload["skus"])
        feeds = ctx.state.get(FEEDS_KEY, {})
        if all(feed.get("document") != document_id for feed in feeds.values()):
            found = _lost_feed(ctx, api, upload, set(feeds))
            if found is not None:
                feeds[found["feedId"]] = {
                    "document": document_id,
                    "adopted": 1,
                    "created": upload["at"],
                    "wait": FEED_FIRST_CHECK,
                    "next_check": ctx.clock.time(),
                }
                ctx.state.set(FEEDS_KEY, feeds)
                ctx.log.info(
                    "feed %s holds the %s quantities uploaded before the crash",
                    found["feedId"],
                    upload.get("count", len(upload.get("skus", []))),
                )
            else:
                ctx.state.delete(_skus_key(document_id))  # no feed: its SKUs are still due at the host
        _note_upload(ctx, document_id, None)


def _lost_feed(ctx: Context, api: SpApi, upload: dict[str, Any], known: set[str]) -> dict[str, Any] | None:
    def moment(seconds: float) -> str:
        return iso(datetime.fromtimestamp(seconds, UTC))

    until = upload["at"] + LOST_FEED_WINDOW
    answer = api.get_feeds(
        moment(upload["at"] - CLOCK_SLACK), moment(until) if until < ctx.clock.time() - CLOCK_SLACK else None
    )
    unknown = [f for f in answer.get("feeds", []) if f.get("feedId") not in known]
    if not unknown:
        return None
    return min(unknown, key=lambda f: abs(parse_time(f["createdTime"]).timestamp() - upload["at"]))


def _s3_error(response: httpx.Response) -> str:
    """The reason in a presigned URL's XML error ("AccessDenied: Request has expired")."""
    code = re.search(r"<Code>([^<]*)</Code>", response.text)
    message = re.search(r"<Message>([^<]*)</Message>", response.text)
    text = ": ".join(m.group(1) for m in (code, message) if m) or response.reason_phrase
    if message and "expired" in message.group(1).lower():
        text += " (an upload URL lives five minutes)"
    return text


def _download(ctx: Context, document: dict[str, Any]) -> dict[str, Any]:
    response = ctx.http.get(document["url"], operation="feedDownload")
    if response.status_code != 200:
        raise SpApiError(
            f"downloading the processing report failed: {response.status_code}", status=response.status_code
        )
    return parse_json(response, "the feed's processing report", gzipped=document.get("compressionAlgorithm") == "GZIP")


def collect_feeds(ctx: Context, api: SpApi, force: bool = False) -> Iterator[StockOutcome]:
    """Outcomes of earlier feeds that Amazon has finished; feeds still in progress stay pending.

    Each outcome is told once, as it is made (eight feeds of 25,000 finished at once were 175 MB as outcome
    objects). A finished feed is forgotten only by the write of the feeds' record after its outcomes, and the host
    records what was told before any write to the app's state: a crash in between leaves the feed to be asked
    about again, never its SKUs pending forever.
    """
    told_before = ctx.state.get(REPORTED_KEY)
    if told_before:  # kept by an older version, which told each finished feed twice
        for row in told_before:  # rows; a dict from before they were rows
            fields = row if isinstance(row, dict) else dict(zip(REPORTED_FIELDS, row, strict=True))
            yield StockOutcome.model_validate(fields)
        ctx.state.delete(REPORTED_KEY)
    feeds = ctx.state.get(FEEDS_KEY, {})
    checked = False
    done_documents: list[str] = []
    known: dict[str, str] | None = None
    for feed_id, feed in list(feeds.items()):
        if not force and ctx.clock.time() < _check_at(ctx, feed):
            continue
        checked = True
        try:
            status = api.get_feed(feed_id)
            state = status.get("processingStatus")
            if state == "DONE" and status.get("resultFeedDocumentId"):
                report = _download(ctx, api.get_feed_document(status["resultFeedDocumentId"]))
        except SpApiError as exc:
            if not retryable(exc):
                raise
            ctx.progress.note(f"Feed {feed_id} stays pending: {exc}")
            state = "IN_PROGRESS"  # not known to be done: ask again, later
        if state in ("IN_QUEUE", "IN_PROGRESS"):
            young = ctx.clock.time() - feed.get("created", 0) < FEED_PATIENCE
            feed["wait"] = min(FEED_QUICK_WAIT if young else FEED_MAX_WAIT, feed.get("wait", FEED_FIRST_CHECK) * 2)
            feed["next_check"] = ctx.clock.time() + feed["wait"]
            continue
        skus = _feed_skus(ctx, feed)
        done_documents.append(feed["document"])
        if known is None:
            known = warnings(ctx)
        if state == "DONE" and status.get("resultFeedDocumentId"):
            by_message: dict[int, list[dict[str, Any]]] = {}
            for issue in report.get("issues", []):
                by_message.setdefault(issue.get("messageId"), []).append(issue)
            if feed.get("adopted") and not _report_matches(report, skus):
                message = f"feed {feed_id}, found after a crash, does not match what was uploaded; sending again"
                yield from _send_again(skus, feed_id, message)
                del feeds[feed_id]
                continue
            for number, (sku, quantity, *fresh) in enumerate(skus, start=1):
                item, issues = StockItem(sku=sku, quantity=quantity), by_message.get(number, [])
                if any(i.get("severity") == "ERROR" for i in issues):
                    message, can_retry = _issues_text(issues, fresh=bool(fresh and fresh[0]))
                    if can_retry:
                        ctx.state.delete(_listing_key(sku))
                    yield StockOutcome.of(
                        item, "rejected", message, retryable=can_retry, reference=feed_id, warning=known.get(sku, "")
                    )
                else:
                    yield StockOutcome.of(item, "accepted", reference=feed_id, warning=known.get(sku, ""))
        else:
            detail = ""
            if status.get("resultFeedDocumentId"):
                try:
                    report = _download(ctx, api.get_feed_document(status["resultFeedDocumentId"]))
                    detail = "; ".join(i.get("message", "") for i in report.get("issues", [])[:3])
                except (SpApiError, httpx.HTTPError, ValueError):
                    detail = ""
            message = f"feed {feed_id} ended {state}" + (f": {detail}" if detail else "")
            yield from _send_again(skus, feed_id, message)
        del feeds[feed_id]
    if checked:
        ctx.state.set(FEEDS_KEY, feeds)
    for document_id in done_documents:  # only once the feeds' records no longer name them
        ctx.state.delete(_skus_key(document_id))


def _send_again(skus: list[list[Any]], feed_id: str, message: str) -> Iterator[StockOutcome]:
    """Every SKU of a feed whose report cannot be trusted, rejected retryably: the host sends it again."""
    for sku, quantity, *_ in skus:
        yield StockOutcome.of(
            StockItem(sku=sku, quantity=quantity), "rejected", message, retryable=True, reference=feed_id
        )


def _report_matches(report: dict[str, Any], skus: list[list[Any]]) -> bool:
    """Whether a processing report can be of a document with these messages (same count, issues on our SKUs)."""
    processed = (report.get("summary") or {}).get("messagesProcessed")
    if processed is not None and processed != len(skus):
        return False
    for issue in report.get("issues", []):
        number = issue.get("messageId")  # absent when an issue is about the whole feed
        if number is not None and not (1 <= number <= len(skus) and issue.get("sku") in (None, skus[number - 1][0])):
            return False
    return True


def threshold(api: SpApi) -> int:
    return api.op.feed_threshold or DEFAULT_THRESHOLD


def _behind_feeds(
    ctx: Context, items: Sequence[StockItem]
) -> tuple[Sequence[StockItem], list[StockOutcome], dict[str, list] | None]:
    """Split what can go now from what must wait: a SKU whose older quantity is in a feed Amazon has not processed
    yet waits for it (a patch sent now would be overwritten when the feed lands). Quantities that waited go once
    their feed is done; a newer quantity from the host replaces a waiting one.

    The quantities that wait are stored before their outcomes are told; one that goes now stays stored until the
    push has told its new outcome: the third value is what to store then (None: nothing to change). A crash in
    between hands it on again next time, where forgetting it first would leave it pending for good."""
    held = ctx.state.get(HELD_KEY, {})
    if not items and not held:
        return [], [], None
    feeds = ctx.state.get(FEEDS_KEY, {})
    if not held and not feeds:
        return items, [], None  # nothing in flight: all can go, as the host handed them (never all made at once)
    in_feed = {
        sku: (feed_id, quantity) for feed_id, feed in feeds.items() for sku, quantity, *_ in _feed_skus(ctx, feed)
    }
    asked_again: set[str] = set()  # held SKUs the host hands over anew: their newer quantity replaces the held one
    ready: list[int] = []  # by position in ``items``, then in ``extra``: 200,000 StockItems are not made at once
    extra: list[StockItem] = []
    waiting: dict[str, list] = {}
    outcomes: list[StockOutcome] = []

    def candidates() -> Iterator[tuple[int, StockItem]]:
        for number, item in enumerate(items):
            if item.sku in held:
                asked_again.add(item.sku)
            yield number, item
        for sku, (q, _) in list(held.items()):
            if sku not in asked_again:
                extra.append(StockItem(sku=sku, quantity=q))
                yield len(items) + len(extra) - 1, extra[-1]

    for number, item in candidates():
        feed_id, quantity = in_feed.get(item.sku, (None, None))
        if feed_id is None:
            ready.append(number)
        elif quantity == item.quantity:
            outcomes.append(StockOutcome.of(item, "pending", f"in feed {feed_id}", reference=feed_id))
        else:
            waiting[item.sku] = [item.quantity, feed_id]
            outcomes.append(
                StockOutcome.of(
                    item,
                    "pending",
                    f"waits for feed {feed_id} (an older quantity) to be processed, so that it cannot overwrite "
                    "this one",
                    reference=feed_id,
                )
            )
    if waiting or held:
        ctx.state.set(HELD_KEY, {**held, **waiting})
    return _Picked(items, ready, extra), outcomes, (waiting if held.keys() - waiting.keys() else None)


class _Picked(Sequence[StockItem]):
    """The items at ``positions`` of ``items`` followed by ``extra`` (position ``len(items) + k`` is
    ``extra[k]``), each read from ``items`` when asked for."""

    def __init__(self, items: Sequence[StockItem], positions: list[int], extra: list[StockItem]) -> None:
        self._items, self._positions, self._extra = items, positions, extra

    def __len__(self) -> int:
        return len(self._positions)

    def _at(self, position: int) -> StockItem:
        if position < len(self._items):
            return self._items[position]
        return self._extra[position - len(self._items)]

    @overload
    def __getitem__(self, index: int) -> StockItem: ...
    @overload
    def __getitem__(self, index: slice) -> list[StockItem]: ...
    def __getitem__(self, index: int | slice) -> StockItem | list[StockItem]:
        if isinstance(index, slice):
            return [self._at(p) for p in self._positions[index]]
        return self._at(self._positions[index])


def push(ctx: Context, items: Sequence[StockItem]) -> Iterator[StockOutcome | CheckAgain]:
    yield from _push(ctx, items)
    at = next_check(ctx)
    if at is not None:
        yield CheckAgain(at=at)


def next_check(ctx: Context) -> float | None:
    """When a push is next worth making with nothing new to send: the earliest check of a feed Amazon is
    processing (None: no feed pending, or an upload to look for at once)."""
    if ctx.state.get(UPLOADS_KEY) or ctx.state.get(HELD_KEY):
        return None
    feeds = ctx.state.get(FEEDS_KEY, {})
    return min((_check_at(ctx, feed) for feed in feeds.values()), default=None)


def _check_at(ctx: Context, feed: dict[str, Any]) -> float:
    """When ``feed`` is next worth asking about: its ``next_check``, or now when that lies further ahead than any
    wait between checks (``FEED_MAX_WAIT``), which means the clock was set back since it was stored: the wait must
    not grow by as much."""
    now = ctx.clock.time()
    at = float(feed.get("next_check", 0))
    return now if at - now > FEED_MAX_WAIT else at


LISTING_CHUNK = 5000  # listing facts read from the state at a time: a push of 200,000 SKUs never holds them all


def _push(ctx: Context, items: Sequence[StockItem]) -> Iterator[StockOutcome]:
    api = SpApi(ctx)
    find_lost_feeds(ctx, api)
    yield from collect_feeds(ctx, api)
    items, waiting, held_after = _behind_feeds(ctx, items)
    yield from waiting
    yield from _send(ctx, api, items)
    if held_after is not None:  # the quantities that waited have had their outcomes told (and recorded)
        ctx.state.set(HELD_KEY, held_after)


def _send(ctx: Context, api: SpApi, items: Sequence[StockItem]) -> Iterator[StockOutcome]:
    """Patch the items, or send them in feeds, as their listings allow."""
    if not items:
        return
    # Merchant-fulfilled items with the facts a patch or a feed message needs; once more than the patch path
    # takes, they go in feeds of 25,000 as they come.
    mfn: list[tuple[StockItem, dict[str, Any]]] = []
    feeding = False
    for start in range(0, len(items), LISTING_CHUNK):
        chunk = items[start : start + LISTING_CHUNK]
        facts = listings(ctx, api, [i.sku for i in chunk])
        for item in chunk:
            fact = facts[item.sku]
            if "unread" in fact:
                yield StockOutcome.of(
                    item, "rejected", f"its listing could not be read: {fact['unread']}", retryable=True
                )
            elif not fact.get("found"):
                # Sold elsewhere, not refused: the host does not hand it over again until the listings are read.
                yield StockOutcome.of(
                    item,
                    "not_listed",
                    f"no listing with this SKU on {api.market.domain}; if it should be sold here, create the "
                    "listing in Seller Central (or map the SKU), then verify the stock again",
                )
            elif fact.get("fba"):
                yield StockOutcome.of(
                    item,
                    "skipped",
                    "fulfilled by Amazon (FBA): Amazon owns this quantity, nothing was pushed",
                    warning=fact.get("warning", ""),
                )
            else:
                mfn.append(
                    (
                        item,
                        {
                            "product_type": fact["product_type"],
                            "warning": fact.get("warning", ""),
                            "fresh": fact.get("fresh", False),
                        },
                    )
                )
                if len(mfn) >= FEED_MAX_MESSAGES:
                    feeding = True
                    yield from _feed(ctx, api, mfn)
                    mfn = []
        del facts
    if not feeding and len(mfn) <= threshold(api):
        for item, fact in mfn:
            yield _patch(ctx, api, item, fact)
    elif mfn:
        yield from _feed(ctx, api, mfn)


def _feed(ctx: Context, api: SpApi, chunk: list[tuple[StockItem, dict[str, Any]]]) -> Iterator[StockOutcome]:
    try:
        feed_id = _submit_feed(ctx, api, chunk)
    except GarbledAnswer as exc:
        # Amazon may hold the feed: the upload stays noted, and the next push looks for it.
        for item, _ in chunk:
            yield StockOutcome.of(item, "rejected", str(exc), retryable=True)
        return
    ctx.progress.note(f"Sent {len(chunk)} quantities in feed {feed_id}; Amazon reports back in a few minutes")
    for item, fact in chunk:
        yield StockOutcome.of(item, "pending", f"in feed {feed_id}", reference=feed_id, warning=fact["warning"])


def read(ctx: Context, skus: list[str] | None) -> Iterator[StockLevel]:
    """Amazon's current quantities (merchant channel), for ``skus`` or every listing."""
    api = SpApi(ctx)
    if skus is not None:
        for sku, fact in search_listings(ctx, api, list(skus)).items():
            yield _level(sku, fact)
        return
    token = None
    while True:
        params: dict[str, Any] = {"includedData": SEARCHED, "pageSize": SEARCH_BATCH}
        if token:
            params["pageToken"] = token
        page = api.search_listings(params)
        facts = {item["sku"]: _channel_facts(item, api.market.id) for item in page.get("items", [])}
        remember_warnings(ctx, {sku: fact["warning"] for sku, fact in facts.items()})
        for sku, fact in facts.items():
            yield _level(sku, fact)
        token = (page.get("pagination") or {}).get("nextToken")
        if not token:
            return


def _level(sku: str, fact: dict[str, Any]) -> StockLevel:
    if not fact.get("found"):
        return StockLevel(sku=sku, quantity=None, found=False, fulfilled_by="unknown", detail="not listed")
    warning = fact.get("warning", "")
    if fact.get("fba"):
        return StockLevel(
            sku=sku,
            quantity=fact.get("amazon_quantity"),
            fulfilled_by="marketplace",
            detail="fulfilled by Amazon",
            warning=warning,
        )
    return StockLevel(
        sku=sku,
        quantity=fact.get("quantity"),
        fulfilled_by="merchant",
        warning=warning,
        publication_delay=PUBLICATION_DELAY,
    )
