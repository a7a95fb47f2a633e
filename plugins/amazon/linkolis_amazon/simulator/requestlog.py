"""Not Amazon: a log of when Amazon heard what, for benchmarks that run the simulator in a process of its own.

Off unless asked for (``request_log=True``, ``--request-log``): it grows with every call. Each entry is
``[time, operation, seller, sku, quantity]``: a first page of ``searchOrders`` (``sku`` and ``quantity`` None), and
each quantity a listing patch (``patchListingsItem``) or a feed document (``uploadFeedDocument``) carried for a
SKU. ``GET /_sim/requests?since=N`` answers the entries from the N-th on, so a reader can page through them.
"""

from __future__ import annotations

import gzip
import json
import threading
from typing import Any

FA = "fulfillment_availability"


class RequestLog:
    def __init__(self) -> None:
        self.entries: list[list[Any]] = []
        self._lock = threading.Lock()

    def _add(self, entry: list[Any]) -> None:
        with self._lock:
            self.entries.append(entry)

    def since(self, index: int) -> dict[str, Any]:
        with self._lock:
            return {"entries": self.entries[index:], "next": len(self.entries)}

    def search(self, now: float, seller: str, first_page: bool) -> None:
        if first_page:
            self._add([now, "searchOrders", seller, None, None])

    def patch(self, now: float, seller: str, sku: str, body: Any) -> None:
        for quantity in _quantities(body):
            self._add([now, "patchListingsItem", seller, sku, quantity])

    def feed(self, now: float, raw: bytes) -> None:
        try:
            document = json.loads(gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw)
        except (ValueError, OSError):
            return  # not a JSON listings feed: nothing to log
        if not isinstance(document, dict):
            return
        seller = (document.get("header") or {}).get("sellerId")
        for message in document.get("messages") or []:
            for quantity in _quantities(message):
                self._add([now, "uploadFeedDocument", seller, message.get("sku"), quantity])


def _quantities(change: Any) -> list[int]:
    """The quantities a patch body or a feed message carries: in its patches, or (a feed's UPDATE and
    PARTIAL_UPDATE) in its attributes."""
    if not isinstance(change, dict):
        return []
    values = [
        value
        for patch in change.get("patches") or []
        if patch.get("path") == f"/attributes/{FA}"
        for value in patch.get("value") or []
    ]
    values += (change.get("attributes") or {}).get(FA) or []
    return [int(value["quantity"]) for value in values if isinstance(value, dict) and "quantity" in value]
