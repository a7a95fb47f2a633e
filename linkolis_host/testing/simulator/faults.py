"""Faults on demand: a simulator names the kinds it can play (throttling, server errors, dropped connections, ...);
a test arms one for an operation, to fire on the next ``count`` matching calls (after skipping ``after`` of them)
and/or with a ``probability`` drawn from a seeded generator, so a run with the same seed fails the same way.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Collection, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Fault:
    """One armed fault; ``seen`` and ``fired`` tell what it did. ``account`` limits it to one seller's calls;
    ``delay`` and ``retry_after`` are what the kinds that wait or ask to wait use."""

    kind: str
    operation: str = "*"
    count: int | None = None
    probability: float | None = None
    after: int = 0
    delay: float = 5.0
    retry_after: int = 3
    account: str | None = None
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
    """The armed faults of one simulator.

    ``kinds`` maps each kind the simulator plays to what it does (for errors and the admin routes); ``only`` maps a
    kind that makes sense for some operations only to those; ``default_count`` is how often a fault armed without
    ``count`` or ``probability`` fires (None: until removed). ``on_fire`` hears of every fault that fires.
    """

    kinds: Mapping[str, str]
    only: Mapping[str, Collection[str]] = field(default_factory=dict)
    seed: int = 0
    default_count: int | None = None
    on_fire: Callable[[Fault], None] | None = None
    faults: list[Fault] = field(default_factory=list)
    _rng: random.Random = field(init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _next_id: int = 1

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
        retry_after: int = 3,
        account: str | None = None,
    ) -> Fault:
        """Arm a fault (``ValueError`` for a kind the simulator does not play, or one for another operation)."""
        kind = str(kind)
        if kind not in self.kinds:
            raise ValueError(f"unknown fault kind {kind!r}; known: {', '.join(self.kinds)}")
        allowed = self.only.get(kind)
        if allowed is not None and operation != "*" and operation not in allowed:
            raise ValueError(f"fault {kind!r} applies to {', '.join(sorted(allowed))} only")
        if probability is not None and not 0.0 <= probability <= 1.0:
            raise ValueError("probability must be between 0 and 1")
        if count is not None and count < 0:
            raise ValueError("count must be >= 0")
        if count is None and probability is None:
            count = self.default_count
        with self._lock:
            fault = Fault(kind, operation, count, probability, after, delay, retry_after, account, id=self._next_id)
            self._next_id += 1
            self.faults.append(fault)
            return fault

    def remove(self, fault_id: int) -> bool:
        """Disarm one fault; whether there was one of that id."""
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
        self,
        operation: str,
        account: str | None = None,
        applicable: Callable[[str], bool] | Collection[str] | None = None,
    ) -> Fault | None:
        """The fault that fires on this call, if any: at most one per call, the first armed first. ``applicable``
        narrows the kinds this point of the call can play (a collection of kinds, or a test of one)."""
        if applicable is None:
            test: Callable[[str], bool] = lambda kind: True
        elif callable(applicable):
            test = applicable
        else:
            test = applicable.__contains__
        with self._lock:
            for fault in self.faults:
                if fault.operation not in ("*", operation):
                    continue
                if fault.account is not None and fault.account != account:
                    continue
                allowed = self.only.get(fault.kind)
                if allowed is not None and operation not in allowed:
                    continue
                if not test(fault.kind) or fault.exhausted:
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
