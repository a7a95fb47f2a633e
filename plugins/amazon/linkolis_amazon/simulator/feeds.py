"""Feeds API 2021-06-30 with JSON_LISTINGS_FEED: documents, presigned upload/download URLs, feeds that move
IN_QUEUE → IN_PROGRESS → DONE/FATAL over simulated time, and processing reports.

Upload and download URLs point at ``/s3/…`` on the simulator's base URL and behave like S3 presigned URLs: they
expire after five minutes, and an upload must carry the content type it was signed for.
"""

from __future__ import annotations

import base64
import calendar
import gzip
import hashlib
import hmac
import json
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from linkolis_host.testing.simulator import SimRequest, SimResponse, SlidingWindow, iso, parse_iso

from . import contract
from .ids import IdSource
from .listings import ListingStore, PatchOutcome, render_item
from .marketplaces import MARKETPLACES
from .wire import ApiError, Call, invalid_input, not_found

URL_SECONDS = 300
JSON_LISTINGS_FEED = "JSON_LISTINGS_FEED"
# Flat-file and XML listing feeds Amazon removed on 2025-07-31: they are accepted and end FATAL.
REMOVED_FEED_TYPES = {
    "POST_INVENTORY_AVAILABILITY_DATA",
    "POST_FLAT_FILE_PRICEANDQUANTITYONLY_UPDATE_DATA",
    "POST_FLAT_FILE_INVLOADER_DATA",
    "POST_PRODUCT_DATA",
    "POST_PRODUCT_PRICING_DATA",
    "POST_PRODUCT_IMAGE_DATA",
    "POST_PRODUCT_RELATIONSHIP_DATA",
    "POST_PRODUCT_OVERRIDES_DATA",
    "POST_FLAT_FILE_LISTINGS_DATA",
    "POST_FLAT_FILE_BOOKLOADER_DATA",
    "POST_FLAT_FILE_CONVERGENCE_LISTINGS_DATA",
    "POST_UIEE_BOOKLOADER_DATA",
}
FEEDS_PER_WINDOW, FEED_WINDOW_SECONDS = 5, 300  # "5 submissions per 5 minutes per region" for JSON_LISTINGS_FEED
RETENTION_SECONDS = 90 * 86400  # getFeeds: "Feeds are retained for a maximum of 90 days"
DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE = 10, 100


@dataclass
class Document:
    id: str
    seller: str
    content_type: str
    created: float
    kind: str  # "feed" (uploaded by the seller) or "result" (a processing report)
    content: bytes | None = None
    compression: str | None = None


@dataclass
class Feed:
    id: str
    seller: str
    feed_type: str
    marketplace_ids: list[str]
    created: float
    input_doc: str
    start: float
    end: float
    force_fatal: bool = False
    cancelled: bool = False
    outcome: str | None = None  # DONE or FATAL once processed
    result_doc: str | None = None

    def status(self, now: float) -> str:
        if self.cancelled:
            return "CANCELLED"
        if now < self.start:
            return "IN_QUEUE"
        if now < self.end or self.outcome is None:
            return "IN_PROGRESS"
        return self.outcome


def _feeds_token(filters: dict[str, Any], offset: int, seller: str) -> str:
    raw = json.dumps({"f": filters, "o": offset, "s": seller}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode()


def _read_feeds_token(token: str, seller: str) -> tuple[dict[str, Any], int]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        filters, offset, owner = dict(data["f"]), int(data["o"]), data["s"]
    except (ValueError, KeyError, TypeError):
        raise invalid_input("Invalid nextToken.") from None
    if owner != seller or offset < 0:
        raise invalid_input("Invalid nextToken.")
    return filters, offset


def _check_document(content: bytes) -> tuple[Any, str]:
    """A feed document parsed, and why Amazon would refuse it as a whole ("" when it would not)."""
    try:
        data = json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        return None, f"The feed document is not valid JSON: {exc}"
    limit = contract.feed_max_messages()
    if isinstance(data, dict) and isinstance(data.get("messages"), list) and len(data["messages"]) > limit:
        return None, f"The feed has {len(data['messages'])} messages; a JSON_LISTINGS_FEED may hold at most {limit}."
    errors = sorted(contract.feed_validator().iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        why = "; ".join(f"/{'/'.join(str(p) for p in e.absolute_path)}: {e.message}" for e in errors[:10])
        return None, f"The feed document does not conform to listings-feed-schema-v2: {why}"
    return data, ""


def _s3_error(status: int, code: str, message: str, extra: str = "") -> SimResponse:
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>{extra}</Error>'
    )
    return SimResponse(status, [("Content-Type", "application/xml")], body.encode())


@dataclass
class FeedService:
    ids: IdSource
    listings: ListingStore
    signing_key: bytes
    queue_seconds: float = 30.0
    processing_seconds: float = 60.0
    gzip_threshold: int = 64 * 1024
    validate_reports: bool = False
    docs: dict[str, Document] = field(default_factory=dict)
    feeds: dict[str, Feed] = field(default_factory=dict)
    window: SlidingWindow = field(default_factory=lambda: SlidingWindow(FEEDS_PER_WINDOW, FEED_WINDOW_SECONDS))
    throttled: int = 0
    _busy_until: dict[str, float] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)
    # A feed's document is read and checked against the schema while the feed waits in the queue, as Amazon does
    # it away from the caller: 25,000 messages take 7 s of jsonschema, and a request that finds several feeds due
    # must not wait for all of them (it timed out at 200,000 SKUs).
    _checks: dict[str, tuple[bytes, Future]] = field(default_factory=dict)
    _checker: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=1, thread_name_prefix="feed-check")
    )

    # --- presigned URLs -------------------------------------------------------------------------------------

    def _sign(self, method: str, path: str, amz_date: str, content_type: str, encoding: str) -> str:
        msg = "\n".join([method, path, amz_date, str(URL_SECONDS), content_type, encoding]).encode()
        return hmac.new(self.signing_key, msg, hashlib.sha256).hexdigest()

    def _presign(self, base: str, method: str, doc: Document, now: float, gzip_header: bool = False) -> str:
        path = f"/s3/{'feeds' if doc.kind == 'feed' else 'results'}/{quote(doc.id, safe='')}"
        amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
        ctype = doc.content_type if method == "PUT" else ""
        encoding = "gzip" if gzip_header else ""
        q = [
            ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
            ("X-Amz-Credential", f"SIMULATOR/{amz_date[:8]}/us-east-1/s3/aws4_request"),
            ("X-Amz-Date", amz_date),
            ("X-Amz-Expires", str(URL_SECONDS)),
            ("X-Amz-SignedHeaders", "content-type;host" if method == "PUT" else "host"),
        ]
        if encoding:
            q.append(("response-content-encoding", encoding))
        q.append(("X-Amz-Signature", self._sign(method, path, amz_date, ctype, encoding)))
        return base + path + "?" + "&".join(f"{k}={quote(v, safe='')}" for k, v in q)

    def _verify(self, req: SimRequest, now: float, content_type: str) -> SimResponse | None:
        amz_date = req.q("X-Amz-Date") or ""
        encoding = req.q("response-content-encoding") or ""
        expected = self._sign(req.method, req.raw_path, amz_date, content_type, encoding)
        if not hmac.compare_digest(expected, req.q("X-Amz-Signature") or ""):
            return _s3_error(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the "
                "signature you provided. Check your key and signing method.",
            )
        try:
            signed_at = calendar.timegm(time.strptime(amz_date, "%Y%m%dT%H%M%SZ"))
        except ValueError:
            return _s3_error(403, "AccessDenied", "Invalid date")
        if now > signed_at + URL_SECONDS:
            extra = (
                f"<X-Amz-Expires>{URL_SECONDS}</X-Amz-Expires><Expires>{iso(signed_at + URL_SECONDS)}</Expires>"
                f"<ServerTime>{iso(now)}</ServerTime>"
            )
            return _s3_error(403, "AccessDenied", "Request has expired", extra)
        return None

    def _doc_from_path(self, req: SimRequest) -> Document | None:
        from urllib.parse import unquote

        parts = req.raw_path.split("/")
        return self.docs.get(unquote(parts[-1])) if len(parts) == 4 else None

    def upload(self, req: SimRequest, now: float) -> SimResponse:
        """``PUT /s3/feeds/{id}``: the feed document bytes."""
        with self.lock:
            doc = self._doc_from_path(req)
            if doc is None or doc.kind != "feed":
                return _s3_error(404, "NoSuchKey", "The specified key does not exist.")
            if req.method != "PUT":
                return _s3_error(405, "MethodNotAllowed", "The specified method is not allowed against this resource.")
            bad = self._verify(req, now, req.headers.get("content-type", "").strip())
            if bad is not None:
                return bad
            doc.content = req.body
            etag = hashlib.md5(req.body).hexdigest()  # S3's ETag is an MD5, not a security measure
            return SimResponse(200, [("ETag", f'"{etag}"'), ("Content-Length", "0")])

    def download(self, req: SimRequest, now: float) -> SimResponse:
        """``GET /s3/{feeds|results}/{id}``: a document's bytes (gzipped when the report is large)."""
        with self.lock:
            doc = self._doc_from_path(req)
            if doc is None or req.method != "GET" or doc.content is None:
                return _s3_error(404, "NoSuchKey", "The specified key does not exist.")
            bad = self._verify(req, now, "")
            if bad is not None:
                return bad
            headers = [("Content-Type", doc.content_type)]
            if doc.compression and req.q("response-content-encoding") == "gzip":
                headers.append(("Content-Encoding", "gzip"))
            return SimResponse(200, headers, doc.content)

    # --- operations -----------------------------------------------------------------------------------------

    def _region(self, mid: str) -> str:
        return MARKETPLACES[mid].region.lower()

    def create_document(self, call: Call) -> dict[str, Any]:
        body = call.json_body()
        seller = call.account.selling_partner_id
        with self.lock:
            region = self._region(call.account.marketplace_ids[0])
            doc_id = f"amzn1.tortuga.4.{region}.{self.ids.uuid()}.T{self.ids.upper(13)}"
            doc = Document(doc_id, seller, body["contentType"], call.now, "feed")
            self.docs[doc_id] = doc
            return {"feedDocumentId": doc_id, "url": self._presign(call.req.base_url, "PUT", doc, call.now)}

    def create_feed(self, call: Call, force_fatal: bool = False) -> dict[str, Any]:
        body = call.json_body()
        seller = call.account.selling_partner_id
        ftype = body["feedType"]
        if ftype != JSON_LISTINGS_FEED and ftype not in REMOVED_FEED_TYPES:
            raise invalid_input(f"Invalid feedType {ftype!r}: the simulator accepts JSON_LISTINGS_FEED.")
        mids = body["marketplaceIds"]
        for m in mids:
            if m not in MARKETPLACES or m not in call.account.marketplace_ids:
                raise invalid_input(f"Invalid marketplaceIds: {m}")
        with self.lock:
            doc = self.docs.get(body["inputFeedDocumentId"])
            if doc is None or doc.seller != seller or doc.kind != "feed":
                raise invalid_input("Invalid inputFeedDocumentId.")
            if ftype == JSON_LISTINGS_FEED and not self.window.allow(f"{seller}:{self._region(mids[0])}", call.now):
                self.throttled += 1
                raise ApiError(429, "QuotaExceeded", "You exceeded your quota for the requested resource.")
            start = max(call.now + self.queue_seconds, self._busy_until.get(seller, 0.0))
            end = start + self.processing_seconds
            self._busy_until[seller] = end
            feed = Feed(
                self.ids.digits(11), seller, ftype, list(mids), call.now, doc.id, start, end, force_fatal=force_fatal
            )
            self.feeds[feed.id] = feed
            if doc.content and ftype == JSON_LISTINGS_FEED and not force_fatal:
                self._checks[feed.id] = (doc.content, self._checker.submit(_check_document, doc.content))
            return {"feedId": feed.id}

    def _feed(self, call: Call) -> Feed:
        feed = self.feeds.get(call.path["feedId"])
        if feed is None or feed.seller != call.account.selling_partner_id:
            raise not_found(f"Feed {call.path['feedId']} was not found.")
        return feed

    @staticmethod
    def _render(feed: Feed, now: float) -> dict[str, Any]:
        """A ``Feed`` as the model has it (no ``inputFeedDocumentId``: Amazon never tells it back)."""
        status = feed.status(now)
        out: dict[str, Any] = {
            "feedId": feed.id,
            "feedType": feed.feed_type,
            "marketplaceIds": feed.marketplace_ids,
            "createdTime": iso(feed.created),
            "processingStatus": status,
        }
        if status in ("IN_PROGRESS", "DONE", "FATAL"):
            out["processingStartTime"] = iso(feed.start)
        if status in ("DONE", "FATAL"):
            out["processingEndTime"] = iso(feed.end)
            if feed.result_doc:
                out["resultFeedDocumentId"] = feed.result_doc
        return out

    def get_feed(self, call: Call) -> dict[str, Any]:
        with self.lock:
            return self._render(self._feed(call), call.now)

    def get_feeds(self, call: Call) -> dict[str, Any]:
        """``GET /feeds``: the seller's feeds matching the filters, ``pageSize`` at a time, newest first (Amazon
        documents no order, so a client must not rely on this one).

        Either ``feedTypes`` or ``nextToken`` is required, and ``nextToken`` must come alone: it carries the
        filters of the call that returned it (with "now" fixed then, so pages do not shift).
        """
        seller = call.account.selling_partner_id
        token = call.q("nextToken")
        if token is not None:
            others = sorted({k for k, _ in call.req.query if k != "nextToken"})
            if others:
                raise invalid_input(f"nextToken must be the only parameter; also given: {', '.join(others)}.")
            filters, offset = _read_feeds_token(token, seller)
        else:
            if call.csv("feedTypes") is None:
                raise invalid_input("Either feedTypes or nextToken is required.")
            filters, offset = self._feeds_filters(call), 0
        since, until = filters["since"], filters["until"]
        with self.lock:
            hits = [
                f
                for f in self.feeds.values()
                if f.seller == seller
                and f.feed_type in filters["types"]
                and (not filters["markets"] or set(filters["markets"]) & set(f.marketplace_ids))
                and since <= f.created <= until
                and (not filters["statuses"] or f.status(call.now) in filters["statuses"])
            ]
            hits.reverse()  # self.feeds is in creation order
            size = filters["size"]
            out: dict[str, Any] = {"feeds": [self._render(f, call.now) for f in hits[offset : offset + size]]}
            if offset + size < len(hits):
                out["nextToken"] = _feeds_token(filters, offset + size, seller)
            return out

    @staticmethod
    def _feeds_filters(call: Call) -> dict[str, Any]:
        size = int(call.q("pageSize") or DEFAULT_PAGE_SIZE)
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise invalid_input(f"pageSize must be between 1 and {MAX_PAGE_SIZE}.")
        bounds: dict[str, float] = {}
        for name in ("createdSince", "createdUntil"):
            value = call.q(name)
            if value is not None:
                try:
                    bounds[name] = parse_iso(value)
                except ValueError:
                    raise invalid_input(f"{name} is not an ISO 8601 date-time.") from None
        oldest = call.now - RETENTION_SECONDS
        since = max(bounds.get("createdSince", oldest), oldest)
        until = bounds.get("createdUntil", call.now)
        if bounds.get("createdSince", oldest) > until:
            raise invalid_input("createdSince must not be later than createdUntil.")
        return {
            "types": call.csv("feedTypes") or [],
            "markets": call.csv("marketplaceIds") or [],
            "statuses": call.csv("processingStatuses") or [],
            "since": since,
            "until": until,
            "size": size,
        }

    def cancel_feed(self, call: Call) -> None:
        with self.lock:
            feed = self._feed(call)
            if feed.status(call.now) != "IN_QUEUE":
                raise invalid_input("Only feeds with processingStatus IN_QUEUE can be cancelled.")
            feed.cancelled = True

    def get_document(self, call: Call) -> dict[str, Any]:
        with self.lock:
            doc = self.docs.get(call.path["feedDocumentId"])
            if doc is None or doc.seller != call.account.selling_partner_id or doc.content is None:
                raise not_found(f"Feed document {call.path['feedDocumentId']} was not found.")
            gz = call.q("enableContentEncodingUrlHeader") == "true" and doc.compression == "GZIP"
            out: dict[str, Any] = {
                "feedDocumentId": doc.id,
                "url": self._presign(call.req.base_url, "GET", doc, call.now, gz),
            }
            if doc.compression:
                out["compressionAlgorithm"] = doc.compression
            return out

    # --- processing -----------------------------------------------------------------------------------------

    def tick(self, now: float) -> None:
        """Process every feed whose processing window has ended, in order."""
        with self.lock:
            due = sorted(
                (f for f in self.feeds.values() if f.outcome is None and not f.cancelled and f.end <= now),
                key=lambda f: (f.end, f.id),
            )
            for feed in due:
                self._process(feed)
            if due:
                self.listings.tick(now)

    def _fatal(self, feed: Feed, why: str, code: str = "FEED_REJECTED") -> None:
        report = {
            "header": {"sellerId": feed.seller, "version": "2.0", "feedId": feed.id},
            "issues": [{"code": code, "severity": "ERROR", "message": why}],
            "summary": {
                "errors": 1,
                "warnings": 0,
                "messagesProcessed": 0,
                "messagesAccepted": 0,
                "messagesInvalid": 0,
            },
        }
        self._store_report(feed, report, "FATAL")

    def _store_report(self, feed: Feed, report: dict[str, Any], outcome: str) -> None:
        if self.validate_reports:
            errors = sorted(contract.report_validator().iter_errors(report), key=str)
            if errors:
                raise AssertionError(f"processing report breaks its schema: {errors[0].message}")
        raw = json.dumps(report, ensure_ascii=False).encode("utf-8")
        compression = None
        if len(raw) > self.gzip_threshold:
            raw, compression = gzip.compress(raw, mtime=0), "GZIP"
        doc_id = f"amzn1.tortuga.4.{self._region(feed.marketplace_ids[0])}.{self.ids.uuid()}.T{self.ids.upper(13)}"
        self.docs[doc_id] = Document(doc_id, feed.seller, "application/json", feed.end, "result", raw, compression)
        feed.result_doc = doc_id
        feed.outcome = outcome

    def _process(self, feed: Feed) -> None:
        if feed.force_fatal:
            return self._fatal(
                feed, "An internal error occurred while processing the feed. Submit it again.", "INTERNAL_ERROR"
            )
        if feed.feed_type in REMOVED_FEED_TYPES:
            return self._fatal(feed, f"The {feed.feed_type} feed type is no longer supported; use JSON_LISTINGS_FEED.")
        doc = self.docs[feed.input_doc]
        if not doc.content:
            return self._fatal(feed, "The feed document is empty: upload its content before calling createFeed.")
        content, checked = self._checks.pop(feed.id, (None, None))
        if checked is not None and content is doc.content:  # not uploaded again since
            data, why = checked.result()
        else:
            data, why = _check_document(doc.content)
        if why:
            return self._fatal(feed, why)
        if data["header"]["sellerId"] != feed.seller:
            return self._fatal(
                feed, f"header.sellerId {data['header']['sellerId']!r} is not the selling partner of this feed."
            )
        self._process_messages(feed, data)

    def _process_messages(self, feed: Feed, data: dict[str, Any]) -> None:
        issues: list[dict[str, Any]] = []
        accepted = invalid = 0
        touched: list[str] = []
        for msg in data["messages"]:
            sku, op = msg["sku"], msg["operationType"]
            outcome = self._outcome(feed, msg)
            for i in outcome.issues:
                entry = {
                    "messageId": msg["messageId"],
                    "sku": sku,
                    "code": i["code"],
                    "severity": i["severity"],
                    "message": i["message"],
                }
                if i.get("attributeNames"):
                    entry["attributeName"] = i["attributeNames"][0]
                issues.append(entry)
            if outcome.ok:
                accepted += 1
                self.listings.schedule(feed.seller, sku, outcome, feed.end)
                if op != "DELETE":
                    touched.append(sku)
            else:
                invalid += 1
        report: dict[str, Any] = {
            "header": {"sellerId": feed.seller, "version": "2.0", "feedId": feed.id},
            "issues": issues,
            "summary": {
                "errors": sum(1 for i in issues if i["severity"] == "ERROR"),
                "warnings": sum(1 for i in issues if i["severity"] == "WARNING"),
                "messagesProcessed": accepted + invalid,
                "messagesAccepted": accepted,
                "messagesInvalid": invalid,
            },
        }
        rep = data["header"].get("report")
        if rep:
            report["header"]["report"] = rep
            self.listings.tick(feed.end)
            items = []
            for sku in dict.fromkeys(touched):
                listing = self.listings.get(feed.seller, sku)
                if listing is not None:
                    items.append(render_item(listing, feed.marketplace_ids, set(rep["includedData"])))
            report["items"] = items
            report["summary"]["itemSummary"] = {"items": len(items), "errors": 0, "warnings": 0}
        self._store_report(feed, report, "DONE")

    def _outcome(self, feed: Feed, msg: dict[str, Any]) -> PatchOutcome:
        sku, op = msg["sku"], msg["operationType"]
        if op == "PATCH":
            return self.listings.evaluate(feed.seller, sku, msg["productType"], msg["patches"], feed.marketplace_ids)
        if op == "DELETE":
            listing = self.listings.get(feed.seller, sku)
            out = PatchOutcome()
            if listing is not None:
                out.after = {m: None for m in feed.marketplace_ids if m in listing.offers}
            return out
        patches = [{"op": "replace", "path": f"/attributes/{k}", "value": v} for k, v in msg["attributes"].items()]
        if op == "UPDATE":
            listing = self.listings.get(feed.seller, sku)
            current: set[str] = set()
            if listing is not None:
                for m in feed.marketplace_ids:
                    if m in listing.offers:
                        current |= set(listing.offers[m].latest())
            patches = [
                {"op": "delete", "path": f"/attributes/{k}"} for k in sorted(current - set(msg["attributes"]))
            ] + patches
        return self.listings.evaluate(feed.seller, sku, msg["productType"], patches, feed.marketplace_ids)
