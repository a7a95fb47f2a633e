"""Corner Shop's seller API on the simulator kit: its own OpenAPI file, an API key, a bucket per operation."""

from __future__ import annotations

from pathlib import Path

from linkolis_host.testing.simulator import (
    STANDARD_ROUTES,
    AdminRoutes,
    BaseSimulator,
    Contract,
    FaultInjector,
    SimRequest,
    SimResponse,
    iso,
    json_response,
    parse_iso,
)

KEY, SHOP = "key-1", "corner-42"
LIMITS = {"listOrders": (1.0, 5), "putStock": (5.0, 10)}  # (per second, burst)
ROUTES = AdminRoutes(STANDARD_ROUTES)
ROUTES.add("GET", r"/_sim/stock", lambda sim, request, body, match: sim.stock)


class CornerShop(BaseSimulator):
    contract = Contract({"shop": Path(__file__).with_name("openapi.json")}, prefixes={"/v1/": "shop"})
    required_headers = {"x-api-key": ""}
    admin_routes = ROUTES

    def __init__(self, clock) -> None:
        super().__init__(clock, FaultInjector({"500": "answer 500"}))
        self.orders: list[dict] = []
        self.stock = {"MUG-1": 3, "TEA-2": 0}

    def place(self, number: str, sku: str, qty: int = 1) -> None:
        """A buyer orders now."""
        now = iso(self.clock.time())
        line = {"sku": sku, "qty": qty}
        self.orders.append(
            {"id": number, "status": "new", "created": now, "updated": now, "total": "9.95", "lines": [line]}
        )

    def answer(self, request: SimRequest) -> SimResponse:
        found = self.contract.route(request.method, request.raw_path)
        if found is None:
            return json_response(404, {"message": "no such route"})
        operation, params = found[0].operation_id, found[1]
        self.counters.call(operation)
        if request.headers.get("x-api-key") != KEY:
            return json_response(401, {"message": "unknown API key"})
        if self.faults.pick(operation):
            return json_response(500, {"message": "try again"})
        quota = self.limiter.quota(KEY, operation, *LIMITS[operation], self.clock.time())
        if not quota.allowed:
            self.counters.throttle(operation)
            return json_response(429, {"message": "slow down"}, [("Retry-After", str(quota.retry_after))])
        problems = self.contract.request_problems(request)
        if problems:
            return json_response(400, {"message": "; ".join(p.details for p in problems)})
        if operation == "putStock":
            if params["sku"] not in self.stock:
                return json_response(404, {"message": f"no listing {params['sku']}"})
            self.stock[params["sku"]] = request.json()["quantity"]
            return json_response(200, {"sku": params["sku"], "quantity": self.stock[params["sku"]]})
        since, start, limit = (
            parse_iso(request.q("updated_since")),
            int(request.q("after") or 0),
            int(request.q("limit") or 50),
        )
        changed = sorted(
            (o for o in self.orders if parse_iso(o["updated"]) >= since), key=lambda o: (o["updated"], o["id"])
        )
        after = str(start + limit) if start + limit < len(changed) else None
        return json_response(200, {"shop": SHOP, "orders": changed[start : start + limit], "after": after})
