"""The checks behind "Module correctly installed", each with the step a seller can take.

They cost little quota: at most one token (the cached one is reused), one page of open orders, and one offer
export request, which the next stock push then reads instead of asking for another.
"""

from __future__ import annotations

from linkolis_host import Action, AuthorizationRevoked, HealthCheck, LinkolisError, OperatorConfigError

from . import client, stock
from .client import SEAT, Bol, BolError
from .settings import operator_settings


def notices(app, plugin_config, env) -> list[str]:
    """What `apps show` says without asking bol: that the app talks to something that is not bol."""
    notice = operator_settings(plugin_config, env).endpoint_notice()
    return [f"this app {notice}"] if notice else []


AGAIN = f"create new API credentials in the bol {SEAT} and give this app their Client ID and Client Secret"


def checks(ctx) -> list[HealthCheck]:
    result: list[HealthCheck] = []
    credentials = ctx.credentials or {}
    present = bool(credentials.get("client_id") and credentials.get("client_secret"))
    result.append(
        HealthCheck(
            name="credentials present",
            status="ok" if present else "failed",
            detail="" if present else "no bol Client ID and Client Secret are stored for this app",
            remedy=AGAIN,
            action=Action.AUTHORIZE,
        )
    )
    if not present:
        return result
    try:
        operator_settings(ctx.plugin_config, ctx.env)
        client.access_token(ctx)
        result.append(HealthCheck(name="bol token", status="ok", detail="bol's login accepts the Client ID and Secret"))
    except OperatorConfigError as exc:
        result.append(
            HealthCheck(
                name="bol token",
                status="failed",
                detail=str(exc),
                operator=True,
                remedy="the operator corrects the bol settings ([plugins.bol] / LINKOLIS_BOL_*)",
                action=Action.OPERATOR,
            )
        )
        return result
    except AuthorizationRevoked as exc:
        result.append(
            HealthCheck(name="bol token", status="failed", detail=str(exc), remedy=AGAIN, action=Action.AUTHORIZE)
        )
        return result
    except LinkolisError as exc:
        result.append(
            HealthCheck(
                name="bol token",
                status="failed",
                detail=str(exc),
                remedy="check the network and try again in a few minutes",
                action=Action.VERIFY,
            )
        )
        return result

    api = Bol(ctx)
    for name, read in (
        (
            "orders readable",
            lambda: api.json(
                "GET",
                "/retailer/orders",
                "get-orders",
                params={"status": "OPEN", "fulfilment-method": "ALL", "page": 1},
            ),
        ),
        ("offers readable", lambda: stock.request_export(api)),
    ):
        try:
            read()
            result.append(HealthCheck(name=name, status="ok"))
        except BolError as exc:
            forbidden = exc.status == 403
            remedy = (
                f"the API credentials may not use the Retailer API: check them in the bol {SEAT}, or {AGAIN}"
                if forbidden
                else "try again later; if it persists, tell bol's partner service"
            )
            action = Action.AUTHORIZE if forbidden else Action.VERIFY
            result.append(HealthCheck(name=name, status="failed", detail=str(exc), remedy=remedy, action=action))
        except AuthorizationRevoked as exc:
            result.append(
                HealthCheck(name=name, status="failed", detail=str(exc), remedy=AGAIN, action=Action.AUTHORIZE)
            )
        except LinkolisError as exc:
            result.append(
                HealthCheck(name=name, status="failed", detail=str(exc), remedy="try again later", action=Action.VERIFY)
            )
    return result
