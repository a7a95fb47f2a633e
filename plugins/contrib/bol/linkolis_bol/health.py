"""The checks behind "Module correctly installed", each with the step a seller can take.

They cost little quota: at most one token (the cached one is reused), one page of open orders, and one offer
export request, which the next stock push then reads instead of asking for another. One function per check;
``checks`` runs them in turn.
"""

from __future__ import annotations

from linkolis_host import Action, AuthorizationRevoked, HealthCheck, LinkolisError, OperatorConfigError

from . import client, stock
from .client import SEAT, Bol

AGAIN = f"create new API credentials in the bol {SEAT} and give this app their Client ID and Client Secret"


def checks(ctx) -> list[HealthCheck]:
    """Every check in turn; without credentials or a token nothing more is asked of bol."""
    result = [credentials_present(ctx)]
    if result[-1].status == "ok":
        result.append(token(ctx))
    if result[-1].status == "failed":
        return result
    api = Bol(ctx)
    return result + [orders_readable(api), offers_readable(api)]


def credentials_present(ctx) -> HealthCheck:
    credentials = ctx.credentials or {}
    present = bool(credentials.get("client_id") and credentials.get("client_secret"))
    return HealthCheck(
        name="credentials present",
        status="ok" if present else "failed",
        detail="" if present else "no bol Client ID and Client Secret are stored for this app",
        remedy=AGAIN,
        action=Action.AUTHORIZE,
    )


def token(ctx) -> HealthCheck:
    name = "bol token"
    try:
        _ = ctx.operator  # raises for wrong operator settings, the operator's to fix even while a cached token lasts
        client.access_token(ctx)
    except OperatorConfigError as exc:
        return HealthCheck.failed(
            name,
            exc,
            remedy="the operator corrects the bol settings ([plugins.bol] / LINKOLIS_BOL_*)",
            action=Action.OPERATOR,
            operator=True,
        )
    except AuthorizationRevoked as exc:
        return HealthCheck.failed(name, exc, remedy=AGAIN, action=Action.AUTHORIZE)
    except LinkolisError as exc:
        return HealthCheck.failed(name, exc, remedy="check the network and try again in a few minutes")
    return HealthCheck(name=name, status="ok", detail="bol's login accepts the Client ID and Secret")


FORBIDDEN = f"the API credentials may not use the Retailer API: check them in the bol {SEAT}, or {AGAIN}"
PERSISTS = "try again later; if it persists, tell bol's partner service"


def orders_readable(api: Bol) -> HealthCheck:
    params = {"status": "OPEN", "fulfilment-method": "ALL", "page": 1}
    return HealthCheck.asking(
        "orders readable",
        lambda: api.json("GET", "/retailer/orders", "get-orders", params=params),
        forbidden=FORBIDDEN,
        forbidden_action=Action.AUTHORIZE,
        answered=PERSISTS,
        revoked=AGAIN,
    )


def offers_readable(api: Bol) -> HealthCheck:
    return HealthCheck.asking(
        "offers readable",
        lambda: stock.request_export(api),
        forbidden=FORBIDDEN,
        forbidden_action=Action.AUTHORIZE,
        answered=PERSISTS,
        revoked=AGAIN,
    )
