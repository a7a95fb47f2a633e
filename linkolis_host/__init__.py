"""linkolis-host: the integration core of the Linkolis order and stock hub.

This module is the whole surface a plugin imports: ``hookimpl``, the models that cross the hook boundary,
the errors the host understands, and the clocks.
"""

from .clock import Clock, ScaledClock, SystemClock, VirtualClock  # noqa: E402
from .context import Context, Progress, StateStore  # noqa: E402
from .endpoints import check_endpoint  # noqa: E402
from .errors import (  # noqa: E402
    Action,
    AuthorizationError,
    AuthorizationRevoked,
    LinkolisError,
    NeedsAttention,
    OperatorConfigError,
    RateLimited,
    RemoteError,
    UserError,
)
from .hookspecs import hookimpl  # noqa: E402
from .models import (  # noqa: E402
    Address,
    AppInfo,
    AppKind,
    AppSettings,
    AuthorizationStart,
    Buyer,
    Cancellation,
    CancellationOutcome,
    Carrier,
    CredentialField,
    Credentials,
    DemoEnvironment,
    HealthCheck,
    Order,
    OrderBatch,
    OrderLine,
    OrderStatus,
    RateLimit,
    Shipment,
    ShipmentOutcome,
    StockItem,
    StockLevel,
    StockOutcome,
)
from .terminal import plural  # noqa: E402
from .version import __version__  # noqa: E402

__all__ = [
    "Action",
    "Address",
    "AppInfo",
    "AppKind",
    "AppSettings",
    "AuthorizationError",
    "AuthorizationRevoked",
    "AuthorizationStart",
    "Buyer",
    "Cancellation",
    "CancellationOutcome",
    "Carrier",
    "Clock",
    "Context",
    "CredentialField",
    "Credentials",
    "DemoEnvironment",
    "HealthCheck",
    "LinkolisError",
    "NeedsAttention",
    "OperatorConfigError",
    "Order",
    "OrderBatch",
    "OrderLine",
    "OrderStatus",
    "Progress",
    "RateLimit",
    "RateLimited",
    "RemoteError",
    "ScaledClock",
    "Shipment",
    "ShipmentOutcome",
    "StateStore",
    "StockItem",
    "StockLevel",
    "StockOutcome",
    "SystemClock",
    "UserError",
    "VirtualClock",
    "check_endpoint",
    "hookimpl",
    "plural",
    "__version__",
]
