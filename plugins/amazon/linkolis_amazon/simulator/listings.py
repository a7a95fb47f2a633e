"""Listings Items API 2021-08-01: the listing store, ``getListingsItem``, ``searchListingsItems``,
``patchListingsItem`` and the patch rules the JSON_LISTINGS_FEED shares.

Each SKU has one offer per marketplace whose attributes are kept in Amazon's attribute shape (snake_case, arrays of
objects). An accepted patch sets the offer's *desired* attributes at once and makes them *visible* after the
configured delay, which is what ``ACCEPTED`` means on Amazon: asynchronous.

A listing can carry issues in the model's ``Issue`` shape, some with enforcements Amazon applies: a suppressed
listing (``LISTING_SUPPRESSED``, ``CATALOG_ITEM_REMOVED``) loses ``BUYABLE`` from its summary status, one hidden from
search (``SEARCH_SUPPRESSED``, ``CATALOG_ITEM_REMOVED``) loses ``DISCOVERABLE``. A patch or feed message whose
product type is neither the listing's nor the generic ``PRODUCT`` is INVALID with issue 4000003.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import heapq
import itertools
import json
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from linkolis_host.testing.simulator import iso, parse_iso

from .ids import IdSource
from .marketplaces import MARKETPLACES
from .wire import ApiError, Call, invalid_input, not_found

ISSUE_INVALID = ("90000900", "The attributes are invalid.")
ISSUE_MISSING = "90220"
ISSUE_NOT_ENOUGH = "99022"
ISSUE_AFN = "AFN_QUANTITY_MANAGED_BY_AMAZON"  # simulator's own code: Amazon's for this case is not documented
ISSUE_PRODUCT_TYPE = ("4000003", "The Amazon product type specified is invalid or not supported.")
GENERIC_PRODUCT_TYPE = "PRODUCT"  # what integrations send for offer-only patches, and Amazon accepts
# Enforcements the simulator can put on a listing, with an issue Amazon's own examples show for each.
SUPPRESSIONS: dict[str, tuple[str, str, list[str]]] = {
    "LISTING_SUPPRESSED": (
        "18155",
        "The 'minimum price' is greater than the selling price (excluding shipping) "
        "for the listing. Review and update your price and/or minimum price.",
        ["INVALID_PRICE"],
    ),
    "CATALOG_ITEM_REMOVED": ("18742", "Restricted Products Policy Violation", []),
    "SEARCH_SUPPRESSED": (
        "18027",
        "We believe the main image has text, logo, graphic, or watermark that is not "
        "permitted for this product type. Submit a compliant image to lift the suppression. Also "
        "refer to Product image requirements.",
        ["INVALID_IMAGE"],
    ),
    "ATTRIBUTE_SUPPRESSED": (
        "99300",
        "Product Detail Page Rules Violation (Inaccurate information on product detail page).",
        [],
    ),
}
NOT_BUYABLE = {"LISTING_SUPPRESSED", "CATALOG_ITEM_REMOVED"}
NOT_DISCOVERABLE = {"SEARCH_SUPPRESSED", "CATALOG_ITEM_REMOVED"}
PRODUCT_TYPE_RE = re.compile(r"^[A-Z][A-Z0-9_]*$")
ATTRIBUTE_RE = re.compile(r"^[a-z][a-z0-9_]*$")
CHANNEL_RE = re.compile(r"^(DEFAULT|AMAZON_[A-Z]{2})$")
FA = "fulfillment_availability"
MAX_PAGE_SIZE = 20


@dataclass
class Offer:
    """One SKU in one marketplace: visible attributes, and the accepted ones not visible yet (``desired``)."""

    marketplace_id: str
    attrs: dict[str, list[dict[str, Any]]]
    created: int
    updated: int
    desired: dict[str, list[dict[str, Any]]] | None = None
    delete_pending: bool = False

    def latest(self) -> dict[str, list[dict[str, Any]]]:
        return self.desired if self.desired is not None else self.attrs

    def quantity(self, attrs: dict[str, list[dict[str, Any]]] | None = None) -> int:
        return sum(int(e.get("quantity") or 0) for e in (attrs or self.attrs).get(FA, []))

    def channels(self) -> list[str]:
        return [e["fulfillment_channel_code"] for e in self.attrs.get(FA, [])]


@dataclass
class Listing:
    seller_id: str
    sku: str
    asin: str
    product_type: str
    title: str
    fba: bool
    created: int
    fnsku: str | None = None
    offers: dict[str, Offer] = field(default_factory=dict)
    issues: list[dict[str, Any]] = field(default_factory=list)  # the model's Issue, each with marketplaceIds

    def issues_in(self, mid: str) -> list[dict[str, Any]]:
        return [i for i in self.issues if mid in i.get("marketplaceIds", [mid])]

    def enforced(self, mid: str) -> set[str]:
        """The enforcement actions in force on this listing in marketplace ``mid``."""
        return {
            a["action"]
            for i in self.issues_in(mid)
            for a in i.get("enforcements", {}).get("actions", [])
            if i["enforcements"].get("exemption", {}).get("status") == "NOT_EXEMPT"
        }

    def status(self, offer: Offer) -> list[str]:
        """The summary's status: buyable with stock and no suppression, discoverable unless hidden."""
        enforced = self.enforced(offer.marketplace_id)
        out = []
        if offer.quantity() > 0 and not enforced & NOT_BUYABLE:
            out.append("BUYABLE")
        if not enforced & NOT_DISCOVERABLE:
            out.append("DISCOVERABLE")
        return out


def suppression_issue(action: str, marketplace_ids: list[str]) -> dict[str, Any]:
    """An issue with Amazon's enforcement ``action`` in force (NOT_EXEMPT), shaped as the model's examples."""
    if action not in SUPPRESSIONS:
        raise ValueError(f"unknown enforcement {action!r}; known: {', '.join(SUPPRESSIONS)}")
    code, message, categories = SUPPRESSIONS[action]
    return {
        "code": code,
        "message": message,
        "severity": "ERROR",
        "categories": list(categories),
        "enforcements": {"actions": [{"action": action}], "exemption": {"status": "NOT_EXEMPT"}},
        "marketplaceIds": list(marketplace_ids),
    }


@dataclass
class PatchOutcome:
    """What a set of patches would do: issues (API shape) and, per marketplace, the attributes afterwards."""

    issues: list[dict[str, Any]] = field(default_factory=list)
    after: dict[str, dict[str, list[dict[str, Any]]] | None] = field(default_factory=dict)  # None: delete the offer

    @property
    def ok(self) -> bool:
        return not any(i["severity"] == "ERROR" for i in self.issues)


def issue(
    code: str,
    message: str,
    attrs: Iterable[str] = (),
    categories: Iterable[str] = (),
    severity: str = "ERROR",
    marketplace_id: str | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {"code": code, "message": message, "severity": severity}
    names = list(attrs)
    if names:
        out["attributeNames"] = names
    out["categories"] = list(categories)
    if marketplace_id:
        out["marketplaceIds"] = [marketplace_id]
    return out


def invalid_attribute(message: str, attribute: str) -> dict[str, Any]:
    """Amazon's "The attributes are invalid" issue, about one attribute."""
    return issue(ISSUE_INVALID[0], message, attrs=[attribute], categories=["INVALID_ATTRIBUTE"])


class ListingStore:
    def __init__(self, ids: IdSource, visibility_delay: float) -> None:
        self.ids = ids
        self.visibility_delay = visibility_delay
        self.by_seller: dict[str, dict[str, Listing]] = {}
        self._pending: list[tuple[float, int, str, str, str, dict[str, Any] | None]] = []
        self._seq = 0
        self.lock = threading.RLock()

    # --- store ----------------------------------------------------------------------------------------------

    def add(self, listing: Listing) -> None:
        with self.lock:
            self.by_seller.setdefault(listing.seller_id, {})[listing.sku] = listing

    def get(self, seller_id: str, sku: str) -> Listing | None:
        return self.by_seller.get(seller_id, {}).get(sku)

    def suppress(
        self, seller_id: str, sku: str, action: str = "LISTING_SUPPRESSED", marketplace_ids: list[str] | None = None
    ) -> dict[str, Any]:
        """Amazon enforces ``action`` on a listing (in ``marketplace_ids``, default all of its offers)."""
        with self.lock:
            listing = self.get(seller_id, sku)
            if listing is None:
                raise KeyError(sku)
            found = suppression_issue(action, marketplace_ids or sorted(listing.offers))
            listing.issues.append(found)
            return found

    def clear_issues(self, seller_id: str, sku: str) -> None:
        """The seller fixed the listing: Amazon lifts its issues."""
        with self.lock:
            listing = self.get(seller_id, sku)
            if listing is None:
                raise KeyError(sku)
            listing.issues.clear()

    def tick(self, now: float) -> None:
        """Make accepted changes whose delay has passed visible."""
        with self.lock:
            while self._pending and self._pending[0][0] <= now:
                at, _, seller, sku, mid, attrs = heapq.heappop(self._pending)
                listing = self.get(seller, sku)
                offer = listing.offers.get(mid) if listing else None
                if listing is None or offer is None:
                    continue
                if attrs is None:
                    del listing.offers[mid]
                    if not listing.offers:
                        del self.by_seller[seller][sku]
                    continue
                offer.attrs = attrs
                offer.updated = int(at)
                if offer.desired is attrs:
                    offer.desired = None

    def schedule(self, seller: str, sku: str, outcome: PatchOutcome, at: float) -> None:
        """Commit an accepted outcome: desired now, visible at ``at``."""
        with self.lock:
            listing = self.get(seller, sku)
            if listing is None:
                return
            for mid, attrs in outcome.after.items():
                offer = listing.offers.get(mid)
                if offer is None:
                    continue
                if attrs is None:
                    offer.delete_pending = True
                else:
                    offer.desired = attrs
                self._seq += 1
                heapq.heappush(self._pending, (at, self._seq, seller, sku, mid, attrs))

    def consume(self, seller: str, sku: str, mid: str, qty: int) -> None:
        """An order took ``qty`` units: lower the offer's quantity (visible and pending alike), never below zero."""
        self._add(seller, sku, mid, -qty)

    def give_back(self, seller: str, sku: str, mid: str, qty: int) -> None:
        """A cancelled order's ``qty`` units come back to the offer's quantity (visible and pending alike)."""
        self._add(seller, sku, mid, qty)

    def _add(self, seller: str, sku: str, mid: str, qty: int) -> None:
        with self.lock:
            listing = self.get(seller, sku)
            offer = listing.offers.get(mid) if listing else None
            if offer is None:
                return
            for attrs in {id(a): a for a in (offer.attrs, offer.desired) if a is not None}.values():
                for e in attrs.get(FA, []):
                    if "quantity" in e:
                        e["quantity"] = max(0, int(e["quantity"]) + qty)
                        break

    def truth(
        self, seller_id: str | None = None, offset: int = 0, limit: int | None = None
    ) -> dict[str, dict[str, dict[str, dict[str, Any]]]]:
        """Ground truth per seller, SKU and marketplace: what reads show now, and what is accepted but pending.

        ``offset``/``limit``: a page of each seller's listings, in the order they were added (a page shorter than
        ``limit`` is the last), so a check of 200,000 SKUs never holds them all at once."""
        if offset < 0 or (limit is not None and limit < 1):
            raise ValueError("offset must be 0 or more and limit 1 or more")
        with self.lock:
            out: dict[str, dict[str, dict[str, dict[str, Any]]]] = {}
            for seller, listings in self.by_seller.items():
                if seller_id is not None and seller != seller_id:
                    continue
                per_sku = out.setdefault(seller, {})
                page = itertools.islice(listings.items(), offset, None if limit is None else offset + limit)
                for sku, listing in page:
                    per_sku[sku] = {
                        mid: {
                            "fulfillment": "AFN" if listing.fba else "MFN",
                            "channels": offer.channels(),
                            "quantity": offer.quantity(),
                            "pendingQuantity": None if offer.desired is None else offer.quantity(offer.desired),
                            "fulfillmentAvailability": copy.deepcopy(offer.attrs.get(FA, [])),
                            "lastUpdatedDate": iso(offer.updated),
                        }
                        for mid, offer in listing.offers.items()
                    }
            return out

    # --- the patch rules ------------------------------------------------------------------------------------

    def evaluate(
        self, seller: str, sku: str, product_type: str, patches: list[dict[str, Any]], marketplace_ids: list[str]
    ) -> PatchOutcome:
        """Apply patches to a copy of the latest accepted state, as Amazon validates a submission."""
        out = PatchOutcome()
        listing = self.get(seller, sku)
        wrong = listing is not None and product_type not in (listing.product_type, GENERIC_PRODUCT_TYPE)
        if not PRODUCT_TYPE_RE.match(product_type or "") or wrong:
            out.issues.append(issue(*ISSUE_PRODUCT_TYPE, attrs=["product_type"], categories=["INVALID_ATTRIBUTE"]))
            return out
        for mid in marketplace_ids:
            offer = listing.offers.get(mid) if listing else None
            if offer is None or offer.delete_pending:
                out.issues.append(
                    issue(
                        ISSUE_MISSING,
                        f"'condition_type' is required but not supplied. (SKU {sku!r} has no listing in "
                        f"marketplace {mid}: an offer-only patch cannot create one.)",
                        attrs=["condition_type"],
                        categories=["MISSING_ATTRIBUTE"],
                        marketplace_id=mid,
                    )
                )
                continue
            attrs = copy.deepcopy(offer.latest())
            for patch in patches:
                self._apply(listing, attrs, patch, out, mid)  # type: ignore[arg-type]
            out.after[mid] = attrs
        # One copy of each issue even when several marketplaces produced it.
        seen: set[str] = set()
        unique = []
        for i in out.issues:
            key = json.dumps({k: v for k, v in i.items() if k != "marketplaceIds"}, sort_keys=True)
            if key not in seen or i.get("marketplaceIds"):
                seen.add(key)
                unique.append(i)
        out.issues = unique
        return out

    def _apply(
        self, listing: Listing, attrs: dict[str, Any], patch: dict[str, Any], out: PatchOutcome, mid: str
    ) -> None:
        op, path = str(patch.get("op", "")), str(patch.get("path", ""))
        parts = path.split("/")
        if len(parts) != 3 or parts[0] != "" or parts[1] != "attributes" or not parts[2]:
            name = parts[2] if len(parts) > 2 and parts[1] == "attributes" else path
            out.issues.append(issue(*ISSUE_INVALID, attrs=[name]))  # only top-level attributes can be patched
            return
        name = parts[2]
        if not ATTRIBUTE_RE.match(name):
            out.issues.append(issue(*ISSUE_INVALID, attrs=[name]))  # e.g. camelCase fulfillmentAvailability
            return
        value = patch.get("value")
        if op != "delete" and value is None:
            out.issues.append(invalid_attribute(f"The attributes are invalid: '{op}' of '{name}' needs a value.", name))
            return
        if value is not None and (not isinstance(value, list) or not all(isinstance(v, dict) for v in value)):
            out.issues.append(
                invalid_attribute(f"The attributes are invalid: '{name}' must be an array of objects.", name)
            )
            return
        if name == FA:
            self._apply_fa(listing, attrs, op, value, out, mid)
            return
        if op == "delete" or value is None:
            attrs.pop(name, None)
        elif op == "merge" and name in attrs:
            for new in value:
                target = next((e for e in attrs[name] if e.get("marketplace_id") == new.get("marketplace_id")), None)
                if target is None:
                    attrs[name].append(dict(new))
                else:
                    target.update(new)
        else:
            attrs[name] = [dict(v) for v in value]

    def _apply_fa(
        self,
        listing: Listing,
        attrs: dict[str, Any],
        op: str,
        value: list[dict[str, Any]] | None,
        out: PatchOutcome,
        mid: str,
    ) -> None:
        entries = value or []
        bad = False
        for e in entries:
            code = e.get("fulfillment_channel_code")
            if code is None:
                out.issues.append(
                    issue(
                        ISSUE_NOT_ENOUGH,
                        "The field 'fulfillment_channel_code' for the attribute 'fulfillment_availability' does "
                        "not have enough values. The required minimum is '1' value(s).",
                        attrs=[FA],
                        categories=["MISSING_ATTRIBUTE"],
                    )
                )
                bad = True
                continue
            if not isinstance(code, str) or not CHANNEL_RE.match(code):
                out.issues.append(
                    invalid_attribute(f"The attributes are invalid: unknown fulfillment_channel_code {code!r}.", FA)
                )
                bad = True
                continue
            for int_field in ("quantity", "lead_time_to_ship_max_days"):
                if int_field in e and (
                    isinstance(e[int_field], bool) or not isinstance(e[int_field], int) or e[int_field] < 0
                ):
                    out.issues.append(
                        invalid_attribute(
                            f"The attributes are invalid: '{int_field}' must be a non-negative integer.", FA
                        )
                    )
                    bad = True
            if "restock_date" in e:
                try:
                    parse_iso(str(e["restock_date"]) + ("T00:00:00Z" if len(str(e["restock_date"])) == 10 else ""))
                except ValueError:
                    out.issues.append(
                        invalid_attribute("The attributes are invalid: 'restock_date' must be an ISO 8601 date.", FA)
                    )
                    bad = True
            if listing.fba or code != "DEFAULT":
                if listing.fba:
                    why = (
                        f"SKU {listing.sku!r} is fulfilled by Amazon in marketplace {mid}: its quantity is managed "
                        f"by Amazon and was not changed by fulfillment_channel_code {code!r}."
                    )
                else:
                    why = (
                        f"Fulfillment channel {code!r} is not enabled for merchant-fulfilled SKU {listing.sku!r}; "
                        "only 'DEFAULT' quantity can be set."
                    )
                out.issues.append(
                    issue(
                        ISSUE_AFN,
                        why,
                        attrs=[FA],
                        categories=["INVALID_ATTRIBUTE"],
                        marketplace_id=mid,
                    )
                )
                bad = True
        if bad:
            return
        current = attrs.get(FA, [])
        if op in ("replace", "add"):
            attrs[FA] = [dict(e) for e in entries]  # replace drops what is not resent (lead time, restock date)
        elif op == "merge":
            merged = [dict(e) for e in current]
            for e in entries:
                target = next(
                    (m for m in merged if m.get("fulfillment_channel_code") == e["fulfillment_channel_code"]), None
                )
                if target is None:
                    merged.append(dict(e))
                else:
                    target.update(e)
            attrs[FA] = merged
        elif op == "delete":
            codes = {e["fulfillment_channel_code"] for e in entries}
            attrs[FA] = [e for e in current if codes and e.get("fulfillment_channel_code") not in codes]


# --- rendering -----------------------------------------------------------------------------------------------


def _price(attrs: dict[str, Any]) -> tuple[str, str] | None:
    for po in attrs.get("purchasable_offer", []):
        try:
            value = po["our_price"][0]["schedule"][0]["value_with_tax"]
            return po.get("currency", "EUR"), f"{value}"
        except (KeyError, IndexError, TypeError):
            continue
    return None


def render_item(listing: Listing, mids: list[str], included: set[str]) -> dict[str, Any]:
    """A listing as the model's ``Item`` for the requested marketplaces and datasets."""
    offers = [(m, listing.offers[m]) for m in mids if m in listing.offers]
    out: dict[str, Any] = {"sku": listing.sku}
    if "summaries" in included:
        out["summaries"] = []
        for mid, offer in offers:
            s: dict[str, Any] = {
                "marketplaceId": mid,
                "asin": listing.asin,
                "productType": listing.product_type,
                "conditionType": "new_new",
                "status": listing.status(offer),
                "itemName": listing.title,
                "createdDate": iso(offer.created),
                "lastUpdatedDate": iso(offer.updated),
            }
            if listing.fnsku:
                s["fnSku"] = listing.fnsku
            out["summaries"].append(s)
    if "attributes" in included:
        merged: dict[str, list[dict[str, Any]]] = {}
        for mid, offer in offers:
            for name, values in offer.attrs.items():
                for v in values:
                    entry = dict(v)
                    if listing.fba and name == FA:
                        entry.pop("quantity", None)
                    entry.setdefault("marketplace_id", mid)
                    merged.setdefault(name, []).append(entry)
        out["attributes"] = merged
    if "issues" in included:
        out["issues"] = [copy.deepcopy(i) for i in listing.issues if any(m in mids for m in i["marketplaceIds"])]
    if "offers" in included:
        out["offers"] = []
        for mid, offer in offers:
            p = _price(offer.attrs)
            if p:
                out["offers"].append(
                    {
                        "marketplaceId": mid,
                        "offerType": "B2C",
                        "price": {"currencyCode": p[0], "amount": p[1]},
                        "audience": {"value": "ALL", "displayName": "Sell on Amazon"},
                    }
                )
    if "fulfillmentAvailability" in included:
        fa = []
        if offers:
            for e in offers[0][1].attrs.get(FA, []):
                item: dict[str, Any] = {"fulfillmentChannelCode": e["fulfillment_channel_code"]}
                if not listing.fba and "quantity" in e:
                    item["quantity"] = int(e["quantity"])  # Amazon leaves the AFN quantity to the FBA Inventory API
                fa.append(item)
        out["fulfillmentAvailability"] = fa
    if "relationships" in included:
        out["relationships"] = [{"marketplaceId": mid, "relationships": []} for mid, _ in offers]
    if "productTypes" in included:
        out["productTypes"] = [{"marketplaceId": mid, "productType": listing.product_type} for mid, _ in offers]
    return out


# --- operations ----------------------------------------------------------------------------------------------


def _seller_and_markets(call: Call) -> tuple[str, list[str]]:
    seller = call.path["sellerId"]
    if seller != call.account.selling_partner_id:
        raise ApiError(
            403,
            "Unauthorized",
            "Access to requested resource is denied.",
            "The sellerId does not match the selling partner of the access token.",
        )
    mids = call.csv("marketplaceIds") or []
    if not mids:
        raise invalid_input("marketplaceIds is required.")
    for m in mids:
        if m not in MARKETPLACES:
            raise invalid_input(f"Invalid marketplaceIds: {m}")
        if m not in call.account.marketplace_ids:
            raise invalid_input(f"The selling partner does not participate in marketplace {m}.")
    return seller, mids


def get_listings_item(store: ListingStore, call: Call) -> dict[str, Any]:
    seller, mids = _seller_and_markets(call)
    included = set(call.csv("includedData") or ["summaries"])
    sku = call.path["sku"]
    with store.lock:
        listing = store.get(seller, sku)
        if listing is None or not any(m in listing.offers for m in mids):
            raise not_found(f"SKU '{sku}' not found in marketplace {mids[0]}", code="NOT_FOUND")
        return render_item(listing, mids, included)


def patch_listings_item(store: ListingStore, call: Call) -> dict[str, Any]:
    seller, mids = _seller_and_markets(call)
    included = set(call.csv("includedData") or ["issues"])
    preview = call.q("mode") == "VALIDATION_PREVIEW"
    if "identifiers" in included and not preview:
        raise invalid_input("includedData=identifiers can only be requested when mode is VALIDATION_PREVIEW.")
    body = call.json_body()
    sku = call.path["sku"]
    with store.lock:
        outcome = store.evaluate(seller, sku, body["productType"], body["patches"], mids)
        if outcome.ok and not preview:
            store.schedule(seller, sku, outcome, call.now + store.visibility_delay)
        status = ("VALID" if preview else "ACCEPTED") if outcome.ok else "INVALID"
        resp: dict[str, Any] = {"sku": sku, "status": status, "submissionId": store.ids.hex(32)}
        if "issues" in included:
            resp["issues"] = outcome.issues
        if "identifiers" in included:
            listing = store.get(seller, sku)
            resp["identifiers"] = [
                {"marketplaceId": m, "asin": listing.asin} for m in mids if listing and m in listing.offers
            ]
        return resp


def _page_token(offset: int, fingerprint: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset, "f": fingerprint}).encode()).decode().rstrip("=")


def _read_page_token(token: str, fingerprint: str) -> int:
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        offset, fp = int(data["o"]), data["f"]
    except (ValueError, KeyError, TypeError):
        raise invalid_input("Invalid pageToken.") from None
    if fp != fingerprint or offset < 0:
        raise invalid_input("pageToken does not belong to this search: repeat the same parameters.")
    return offset


def search_listings_items(store: ListingStore, call: Call) -> dict[str, Any]:
    seller, mids = _seller_and_markets(call)
    included = set(call.csv("includedData") or ["summaries"])
    idents, itype = call.csv("identifiers"), call.q("identifiersType")
    if (idents is None) != (itype is None):
        raise invalid_input("identifiers and identifiersType must be provided together.")
    if idents is not None and (call.q("variationParentSku") or call.q("packageHierarchySku")):
        raise invalid_input("identifiers cannot be combined with variationParentSku or packageHierarchySku.")
    if call.q("variationParentSku") and call.q("packageHierarchySku"):
        raise invalid_input("variationParentSku cannot be combined with packageHierarchySku.")
    size = int(call.q("pageSize") or 10)
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise invalid_input("pageSize must be between 1 and 20.")
    bounds = {}
    for name in ("createdAfter", "createdBefore", "lastUpdatedAfter", "lastUpdatedBefore"):
        v = call.q(name)
        if v is not None:
            try:
                bounds[name] = parse_iso(v)
            except ValueError:
                raise invalid_input(f"{name} is not an ISO 8601 date-time.") from None
    with_status = set(call.csv("withStatus") or [])
    without_status = set(call.csv("withoutStatus") or [])
    severities = set(call.csv("withIssueSeverity") or [])
    fingerprint = hashlib.sha1(
        json.dumps(
            sorted((k, v) for k, v in call.req.query if k not in ("pageToken", "pageSize", "includedData"))
        ).encode()
    ).hexdigest()[:16]
    mid = mids[0]
    with store.lock:
        hits = []
        for listing in _candidates(store.by_seller.get(seller, {}), idents, itype):
            offer = listing.offers.get(mid)
            if offer is None:
                continue
            if idents is not None:
                key = {"SKU": listing.sku, "ASIN": listing.asin, "FNSKU": listing.fnsku}.get(itype or "")
                if key not in idents:
                    continue
            if call.q("variationParentSku") or call.q("packageHierarchySku"):
                continue  # the simulated catalogue has no variations or packages
            if severities and not any(i["severity"] in severities for i in listing.issues_in(mid)):
                continue
            if not _within(offer.created, bounds.get("createdAfter"), bounds.get("createdBefore")):
                continue
            if not _within(offer.updated, bounds.get("lastUpdatedAfter"), bounds.get("lastUpdatedBefore")):
                continue
            status = set(listing.status(offer))
            if with_status and not with_status & status or without_status & status:
                continue
            hits.append((listing, offer))
        sort_by, order = call.q("sortBy") or "lastUpdatedDate", call.q("sortOrder") or "DESC"
        keyf = {
            "sku": lambda lo: (lo[0].sku,),
            "createdDate": lambda lo: (lo[1].created, lo[0].sku),
            "lastUpdatedDate": lambda lo: (lo[1].updated, lo[0].sku),
        }[sort_by]
        hits.sort(key=keyf, reverse=order == "DESC")
        token = call.q("pageToken")
        offset = _read_page_token(token, fingerprint) if token else 0
        page = hits[offset : offset + size]
        body: dict[str, Any] = {
            "numberOfResults": len(hits),
            "items": [render_item(lst, mids, included) for lst, _ in page],
        }
        pagination = {}
        if offset + size < len(hits):
            pagination["nextToken"] = _page_token(offset + size, fingerprint)
        if offset > 0:
            pagination["previousToken"] = _page_token(max(0, offset - size), fingerprint)
        if pagination:
            body["pagination"] = pagination
        return body


def _candidates(listings: dict[str, Listing], idents: list[str] | None, itype: str | None) -> Iterable[Listing]:
    """The listings a search can match: by SKU straight from the store's index (a push searches 20 SKUs a call;
    scanning every listing each time made a big catalogue quadratic), else all of them."""
    if idents is not None and itype == "SKU":
        return [listings[sku] for sku in dict.fromkeys(idents) if sku in listings]
    return listings.values()


def _within(value: float, lo: float | None, hi: float | None) -> bool:
    return (lo is None or value >= lo) and (hi is None or value <= hi)
