"""The bol app's hook implementations, and nothing else."""

from __future__ import annotations

from pathlib import Path

from linkolis_host import AppKind, AuthorizationError, CredentialField, Credentials, endpoint_notices, hookimpl

from . import cancellations, client, health, notifications, orders, stock
from . import shipments as _shipments
from .settings import BolOperator, BolSettings

LOCALE_DIR = Path(__file__).with_name("locale")  # our words in Dutch and English: locale/<lang>/LC_MESSAGES/bol.po


@hookimpl
def configure_fields() -> AppKind:
    return AppKind(
        kind="bol",
        title="bol",
        description="Import orders from bol (FBR and FBB) and keep your bol offers' stock in sync (Retailer API v10).",
        settings=BolSettings,
        operator_settings=BolOperator,
        rate_limits=client.RATE_LIMITS,
        oauth=False,
        direct_credentials=[
            CredentialField(name="client_id", label="Client ID", secret=False, help=f"From the bol {client.SEAT}"),
            CredentialField(
                name="client_secret",
                label="Client Secret",
                help=f"Shown once when you create the API credentials in the bol {client.SEAT}",
            ),
        ],
        notices=endpoint_notices,
        carriers=_shipments.CARRIERS,
        locale_dir=LOCALE_DIR,
    )


@hookimpl
def authorize(ctx, step, params):
    if step != "direct":
        raise AuthorizationError(
            f"bol apps are authorized with the Client ID and Client Secret from the bol {client.SEAT}",
            code="credentials_needed",
            app=ctx.app.name,
            values={"fields": ["client_id", "client_secret"]},
        )
    client_id, secret = params["client_id"].strip(), params["client_secret"].strip()
    if not client_id or not secret:
        raise AuthorizationError(
            f"the Client ID and the Client Secret are both needed; copy them from the bol {client.SEAT}",
            code="credentials_missing",
            app=ctx.app.name,
            param="client_secret" if client_id else "client_id",
            values={"fields": [n for n, v in (("client_id", client_id), ("client_secret", secret)) if not v]},
        )
    # Checked at once by asking bol for a token. It is not cached: the host may still refuse these credentials
    # (another account than the app's), and a cached token would then act for them.
    client.request_token(ctx, client_id, secret)
    return Credentials(account_id=client_id, secrets={"client_id": client_id, "client_secret": secret})


@hookimpl
def import_orders(ctx, cursor):
    return orders.import_orders(ctx, cursor)


@hookimpl
def subscribe_notifications(ctx, queue_arn):
    return notifications.subscribe(ctx, queue_arn)


@hookimpl
def read_notification(body):
    return notifications.read(body)


@hookimpl
def fetch_orders(ctx, order_ids):
    return notifications.fetch(ctx, order_ids)


@hookimpl
def push_stock(ctx, items):
    return stock.push(ctx, items)


@hookimpl
def read_stock(ctx, skus):
    return stock.read(ctx, skus)


@hookimpl
def push_shipments(ctx, shipments):
    return _shipments.push(ctx, shipments)


@hookimpl
def cancel_order(ctx, cancellation):
    return cancellations.cancel(ctx, cancellation)


@hookimpl
def health_check(ctx):
    return health.checks(ctx)


@hookimpl
def demo_environment(home):
    from .demo import environment  # the simulator is only ever imported for the demo

    return environment(home)
