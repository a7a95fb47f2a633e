"""Admin routes under ``/_sim/``: ground truth, counters, faults and the clock, as JSON. Not the marketplace's and
never rate-limited; served on loopback only, as the whole simulator is by default.

A simulator starts from ``STANDARD_ROUTES`` (health, counters, rate limits, faults, the clock) and adds its own::

    ROUTES = AdminRoutes(STANDARD_ROUTES)

    @ROUTES.route("GET", r"/_sim/orders")
    def orders(sim, request, body, match):
        return {"orders": sim.orders_truth()}
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from .wire import SimRequest, SimResponse, iso, json_response

# fn(simulator, request, JSON body, match of the path) -> JSON-ready answer; KeyError/ValueError/TypeError: a 400
Route = Callable[[Any, SimRequest, dict[str, Any], re.Match[str]], Any]


class AdminRoutes:
    """A registry of admin routes: ``(method, path pattern) -> fn``; a later route replaces one of the same method
    and pattern, so a simulator can word a standard route its own way."""

    def __init__(self, *bases: AdminRoutes) -> None:
        self._routes: dict[tuple[str, str], tuple[re.Pattern[str], Route]] = {}
        for base in bases:
            self._routes.update(base._routes)

    def add(self, method: str, pattern: str, fn: Route) -> None:
        self._routes[(method.upper(), pattern)] = (re.compile(pattern), fn)

    def route(self, method: str, pattern: str) -> Callable[[Route], Route]:
        """The decorator form of ``add``."""

        def register(fn: Route) -> Route:
            self.add(method, pattern, fn)
            return fn

        return register

    def names(self) -> list[str]:
        return [f"{method} {pattern}" for method, pattern in self._routes]

    def handle(self, sim: Any, request: SimRequest) -> SimResponse:
        """Answer an admin request: 200 and the route's JSON, 400 when the route refuses what it was given, 404
        (listing the routes) when there is none."""
        for (method, _), (pattern, fn) in self._routes.items():
            found = pattern.fullmatch(request.raw_path)
            if found and method == request.method:
                try:
                    return json_response(200, fn(sim, request, _body(request), found))
                except (KeyError, ValueError, TypeError) as exc:
                    return json_response(400, {"error": f"{type(exc).__name__}: {exc}"})
        return json_response(404, {"error": "no such admin route", "routes": self.names()})


def _body(request: SimRequest) -> dict[str, Any]:
    if not request.body:
        return {}
    data = json.loads(request.body)
    if not isinstance(data, dict):
        raise ValueError("the body must be a JSON object")
    return data


def done(fn: Callable[..., object], *args: Any) -> dict[str, bool]:
    """Run ``fn`` and answer ``{"ok": true}``."""
    fn(*args)
    return {"ok": True}


def advance_clock(sim: Any, seconds: float) -> dict[str, Any]:
    """Move a virtual clock on; a clock that is not virtual cannot be (``ValueError``, a 400)."""
    advance = getattr(sim.clock, "advance", None)
    if advance is None:
        raise ValueError("this simulator's clock cannot be advanced (only a VirtualClock can)")
    advance(float(seconds))
    return {"now": iso(sim.clock.time())}


def add_fault(sim: Any, body: dict[str, Any], account: str = "account") -> dict[str, Any]:
    """Arm a fault from an admin request's body (``account`` names the field that limits it to one seller)."""
    return sim.faults.add(
        str(body["kind"]),
        body.get("operation", "*"),
        count=body.get("count"),
        probability=body.get("probability"),
        after=int(body.get("after", 0)),
        delay=float(body.get("delay", 5.0)),
        retry_after=int(body.get("retry_after", 3)),
        account=body.get(account),
    ).to_dict()


STANDARD_ROUTES = AdminRoutes()
for _method, _pattern, _fn in [
    ("GET", r"/_sim/health", lambda s, r, b, m: {"ok": True, "now": iso(s.clock.time())}),
    ("GET", r"/_sim/counters", lambda s, r, b, m: s.counters_snapshot()),
    ("POST", r"/_sim/counters/reset", lambda s, r, b, m: done(s.counters.reset)),
    ("GET", r"/_sim/ratelimits", lambda s, r, b, m: s.limiter.snapshot(s.clock.time())),
    ("GET", r"/_sim/faults", lambda s, r, b, m: {"faults": s.faults.list(), "kinds": dict(s.faults.kinds)}),
    ("POST", r"/_sim/faults", lambda s, r, b, m: add_fault(s, b)),
    ("DELETE", r"/_sim/faults", lambda s, r, b, m: done(s.faults.clear)),
    ("DELETE", r"/_sim/faults/(?P<id>\d+)", lambda s, r, b, m: {"removed": s.faults.remove(int(m["id"]))}),
    ("POST", r"/_sim/clock/advance", lambda s, r, b, m: advance_clock(s, b["seconds"])),
]:
    STANDARD_ROUTES.add(_method, _pattern, _fn)
