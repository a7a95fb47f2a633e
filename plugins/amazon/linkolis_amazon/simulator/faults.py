"""Faults on demand: throttling storms, server errors, dropped connections, slow or broken answers and more.

A fault targets one operation (an SP-API operationId, ``lwaToken``, ``uploadFeedDocument``,
``downloadDocument``, or ``*``), fires on the next ``count`` matching calls (after skipping ``after`` of them) and/or
with a ``probability`` drawn from a seeded generator, so a run with the same seed fails the same way.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

KINDS: dict[str, str] = {
    "429": "answer 429 QuotaExceeded (as throttling does)",
    "500": "answer 500 InternalFailure",
    "503": "answer 503 ServiceUnavailable",
    "drop": "drop the connection without an answer (httpx.RemoteProtocolError in-process)",
    "connect_error": "refuse the connection (httpx.ConnectError in-process; socket closed at once over HTTP)",
    "slow": "sleep `delay` seconds on the simulator's clock, then answer normally",
    "malformed_json": "process the call, then answer with its body cut in half (unparsable JSON, or a broken gzip "
    "report from downloadDocument)",
    "revoke_refresh_token": "lwaToken refresh grant: revoke the refresh token presented, answer invalid_grant",
    "expire_pagination_token": "searchOrders/searchListingsItems with a token: treat the token as expired",
    "feed_fatal": "createFeed: accept the feed, which then ends FATAL",
}

OPERATION_ONLY = {
    "revoke_refresh_token": {"lwaToken"},
    "expire_pagination_token": {"searchOrders", "searchListingsItems"},
    "feed_fatal": {"createFeed"},
}


@dataclass
class Fault:
    """One armed fault; ``fired`` and ``seen`` tell what it did."""

    kind: str
    operation: str = "*"
    count: int | None = None
    probability: float | None = None
    after: int = 0
    delay: float = 5.0
    selling_partner_id: str | None = None
    id: int = 0
    seen: int = 0
    fired: int = 0

    @property
    def exhausted(self) -> bool:
        return self.count is not None and self.fired >= self.count

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class FaultInjector:
    """The armed faults of one simulator. ``add`` arms one; the simulator asks ``pick`` on every call."""

    seed: int = 0
    faults: list[Fault] = field(default_factory=list)
    _rng: random.Random = field(init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _next_id: int = 1
    on_fire: Callable[[Fault], None] | None = None

    def __post_init__(self) -> None:
        self._rng = random.Random(f"faults:{self.seed}")

    def add(
        self,
        kind: str,
        operation: str = "*",
        *,
        count: int | None = None,
        probability: float | None = None,
        after: int = 0,
        delay: float = 5.0,
        selling_partner_id: str | None = None,
    ) -> Fault:
        """Arm a fault. Without ``count`` or ``probability`` it fires on every matching call until removed."""
        kind = str(kind)
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; known: {', '.join(KINDS)}")
        allowed = OPERATION_ONLY.get(kind)
        if allowed is not None and operation != "*" and operation not in allowed:
            raise ValueError(f"fault {kind!r} applies to {', '.join(sorted(allowed))} only")
        if probability is not None and not 0.0 <= probability <= 1.0:
            raise ValueError("probability must be between 0 and 1")
        if count is not None and count < 0:
            raise ValueError("count must be >= 0")
        with self._lock:
            fault = Fault(kind, operation, count, probability, after, delay, selling_partner_id, id=self._next_id)
            self._next_id += 1
            self.faults.append(fault)
            return fault

    def remove(self, fault_id: int) -> bool:
        with self._lock:
            before = len(self.faults)
            self.faults = [f for f in self.faults if f.id != fault_id]
            return len(self.faults) != before

    def clear(self) -> None:
        with self._lock:
            self.faults.clear()

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [f.to_dict() for f in self.faults]

    def pick(
        self, operation: str, partner: str | None, applicable: Callable[[str], bool] = lambda k: True
    ) -> Fault | None:
        """The fault that fires on this call, if any (at most one per call, first armed first)."""
        with self._lock:
            for fault in self.faults:
                if fault.operation not in ("*", operation):
                    continue
                if fault.selling_partner_id is not None and fault.selling_partner_id != partner:
                    continue
                allowed = OPERATION_ONLY.get(fault.kind)
                if allowed is not None and operation not in allowed:
                    continue
                if not applicable(fault.kind) or fault.exhausted:
                    continue
                fault.seen += 1
                if fault.seen <= fault.after:
                    continue
                if fault.probability is not None and self._rng.random() >= fault.probability:
                    continue
                fault.fired += 1
                if self.on_fire is not None:
                    self.on_fire(fault)
                return fault
            return None
