"""Corner Shop as a linkolis app: the seller pastes an API key; orders come from one endpoint, stock goes to one."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from pydantic import Field

from linkolis_host import (
    Action,
    AppKind,
    AppSettings,
    AuthorizationError,
    AuthorizationRevoked,
    CredentialField,
    Credentials,
    EndpointOverride,
    HealthCheck,
    Order,
    OrderBatch,
    OrderLine,
    RateLimit,
    RemoteError,
    StockOutcome,
    hookimpl,
)

STATUS = {"new": "unshipped", "sent": "shipped", "cancelled": "cancelled"}


class CornerSettings(AppSettings):
    name: str = Field("Corner Shop", title="Application name", description="How this app is called in My applications")


class CornerOperator(EndpointOverride):
    endpoint_carries = "the sellers' API keys"
    first_import_days: int = Field(30, ge=1, le=365, description="How far back a first import reaches")

    def api(self) -> str:
        return (self.endpoint or "https://api.corner.shop").rstrip("/")


@hookimpl
def configure_fields():
    return AppKind(
        kind="corner",
        title="Corner Shop",
        description="Orders and stock for a Corner Shop",
        settings=CornerSettings,
        operator_settings=CornerOperator,
        rate_limits={"listOrders": RateLimit(rate=1, burst=5), "putStock": RateLimit(rate=5, burst=10)},
        oauth=False,
        direct_credentials=[CredentialField(name="api_key", label="API key", help="Corner Shop → Settings → API")],
    )


def _call(ctx, method, path, operation, key=None, **kwargs):
    headers = {"x-api-key": key or ctx.credentials["api_key"]}
    return ctx.http.request(method, f"{ctx.operator.api()}{path}", operation=operation, headers=headers, **kwargs)


def _orders(ctx, since, after=None, key=None):
    params = {"updated_since": since, "limit": 50, **({"after": after} if after else {})}
    answer = _call(ctx, "GET", "/v1/orders", "listOrders", key=key, params=params)
    if answer.status_code == 401:
        raise AuthorizationRevoked("Corner Shop refuses the API key: paste a new one")
    if answer.status_code != 200:
        raise RemoteError(
            f"Corner Shop answered {answer.status_code}: {answer.json()['message']}", status=answer.status_code
        )
    return answer.json()


@hookimpl
def authorize(ctx, step, params):
    if step != "direct":
        raise AuthorizationError("Corner Shop apps are authorized with an API key")
    try:
        shop = _orders(ctx, datetime.now().astimezone().isoformat(), key=params["api_key"])["shop"]
    except AuthorizationRevoked:
        raise AuthorizationError("Corner Shop does not know this API key; copy it again from Settings → API") from None
    return Credentials(account_id=shop, secrets={"api_key": params["api_key"]})


def _order(raw, country="NL"):
    lines = [
        OrderLine(line_id=str(n), sku=line["sku"], quantity_ordered=line["qty"]) for n, line in enumerate(raw["lines"])
    ]
    created, updated = datetime.fromisoformat(raw["created"]), datetime.fromisoformat(raw["updated"])
    status = STATUS[raw["status"]]
    return Order(
        marketplace_order_id=raw["id"], marketplace=country, status=status, marketplace_status=raw["status"],
        fulfilled_by="merchant", currency="EUR", total=Decimal(raw["total"]), created_at=created, updated_at=updated,
        lines=lines,
    )  # fmt: skip


@hookimpl
def import_orders(ctx, cursor):
    since = (cursor or {}).get("since") or (
        ctx.clock.now() - timedelta(days=ctx.operator.first_import_days)
    ).isoformat()
    after = None
    while True:  # the shop sorts by change, and updated_since is inclusive: a crash after a batch misses nothing
        page = _orders(ctx, since, after)
        orders = [_order(raw) for raw in page["orders"]]
        newest = max([since, *(o.updated_at.isoformat() for o in orders)])
        yield OrderBatch(orders=orders, cursor={"since": newest})
        after = page.get("after")
        if not after:
            return


@hookimpl
def push_stock(ctx, items):
    for item in items:
        answer = _call(ctx, "PUT", f"/v1/stock/{item.sku}", "putStock", json={"quantity": item.quantity})
        if answer.status_code == 200:
            yield StockOutcome.of(item, "accepted")
        else:
            yield StockOutcome.of(item, "rejected", answer.json()["message"], retryable=answer.status_code >= 500)


@hookimpl
def health_check(ctx):
    if not ctx.credentials:
        return [HealthCheck(name="API key", status="failed", action=Action.AUTHORIZE)]
    try:
        shop = _orders(ctx, ctx.clock.now().isoformat())["shop"]
    except AuthorizationRevoked as exc:
        return [HealthCheck.failed("API key", exc, remedy="paste a new API key", action=Action.AUTHORIZE)]
    except RemoteError as exc:
        return [HealthCheck.failed("API key", exc, remedy="try again later")]
    return [HealthCheck(name="API key", status="ok", detail=f"shop {shop}")]
