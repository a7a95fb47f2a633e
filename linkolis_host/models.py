"""The types that cross the hook boundary, validated on both sides by pydantic.

A plugin answers the host in these shapes; the host stores and shows them. Money is ``Decimal``, times are
timezone-aware UTC datetimes, quantities are whole numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any, Callable, Iterator, Literal, Mapping, Self

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from .errors import Action, AuthorizationRevoked, LinkolisError, RemoteError
from .operator import OperatorSettings
from .terminal import unsafe_characters

# The largest stock quantity the host accepts: beyond it a typo is likelier than a warehouse.
MAX_QUANTITY = 1_000_000


class AppSettings(BaseModel):
    """Base of every plugin's panel: the fields a seller fills when installing or reconfiguring an app.

    Subclass it, give each field a ``title`` (the label) and a ``description`` (the help), a default where
    one makes sense, and ``Literal``/``Enum`` types for choices. Override ``name``'s default with the app's
    usual name (its title and description: the rules of a name, at most 80 characters, no control characters, are
    the host's and stay in force). The CLI builds its options and prompts from this model. ``stock_sync``,
    ``stock_buffer``, ``stock_max`` and ``order_poll_minutes`` are the host's, on every app's panel: whether its stock
    is pushed, the units kept back from it, the most it is offered of a SKU, and how often its orders are polled as
    well when they come by notification.
    """

    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        "App",
        title="Application name",
        description="How this app is called in My applications",
        min_length=1,
        max_length=80,
    )
    stock_sync: bool = Field(
        False, title="Stock update sync", description="Push stock levels to this app's listings as they change"
    )
    stock_buffer: int = Field(
        0,
        ge=0,
        le=MAX_QUANTITY,
        title="Stock buffer",
        description="Units kept back from this app: it is offered what is available less these",
    )
    stock_max: int | None = Field(
        None,
        ge=0,
        le=MAX_QUANTITY,
        title="Most offered",
        description="Never offer this app more than this many units of a SKU (empty: no limit)",
    )
    order_poll_minutes: int | None = Field(
        None,
        ge=1,
        le=1440,
        title="Order check while notified",
        description="When the marketplace notifies this app's orders, also look for missed ones every this many "
        "minutes (empty: the operator's default)",
    )

    @field_validator("name", check_fields=False)
    @classmethod
    def _name_is_a_name(cls, value: str) -> str:
        # Here rather than only in the Field, so a plugin that overrides ``name`` (for its default) keeps the rule.
        # Worded as pydantic words a Field's lengths, so every interface says these as it says any other field's.
        name = " ".join(str(value).split())
        if not name:
            raise PydanticCustomError("string_too_short", "the application name cannot be empty", {"min_length": 1})
        if len(name) > 80:
            raise PydanticCustomError(
                "string_too_long", "the application name is at most 80 characters", {"max_length": 80}
            )
        unsafe = unsafe_characters(name)
        if unsafe:
            raise ValueError(
                f"the application name may not contain control or format characters "
                f"({', '.join(unsafe)}): they could change what a terminal or a page shows"
            )
        return name

    def authorization_scope(self) -> str:
        """What the authorization covers; when a reconfiguration changes it, the app must authorize again."""
        return ""

    def account_scope(self) -> str:
        """What this app covers within one account (a marketplace, say).

        Two apps of one kind may not share the same account and the same scope.
        """
        return ""

    def account_scope_title(self) -> str:
        """``account_scope()`` as a seller names it, in words that read the same in every language (Amazon:
        "amazon.de", never the marketplace id); the host's refusals name the scope with it."""
        return self.account_scope()

    @staticmethod
    def other_apps(info: ValidationInfo) -> list[AppInfo]:
        """In a validator: the workspace's other apps of this kind, when the host checks a seller's panel before
        installing or reconfiguring an app (empty whenever settings are only read back). A field can then refuse
        what one of them already covers (raise ``Refusal``) before any marketplace is asked."""
        context = info.context
        return list(context.apps) if isinstance(context, SettingsContext) else []


class Refusal(ValueError):
    """A settings validator's refusal: ``Refusal("%(name)s already connects this marketplace", name=other.name)``.

    ``message`` is English, a msgid of the plugin's own catalog (``AppKind.locale_dir``), with ``%(value)s``
    placeholders for what changes from one refusal to the next; ``values`` fills them in. The panel shows the
    message in the seller's language under the field (the catalog's translation, filled in; the English when the
    catalog has none); the CLI shows the English as ``field: text``."""

    def __init__(self, message: str, **values: str | int | float) -> None:
        self.message = message
        self.values = values
        # A message given no values is taken as it is (a bare "%" in it stays), as gettext's users do.
        super().__init__(message % values if values else message)


class RateLimit(BaseModel):
    """A marketplace operation's quota as a token bucket: ``rate`` tokens a second, at most ``burst``.

    ``window_calls`` in ``window`` seconds: a quota counted in a sliding window on top of the bucket, such as
    Amazon's 5 JSON_LISTINGS_FEED submissions per 5 minutes (a bucket either allows fewer, or more in some window).
    """

    rate: float = Field(gt=0)
    burst: int = Field(ge=1)
    window_calls: int | None = Field(default=None, ge=1)
    window: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _window_whole(self) -> RateLimit:
        if (self.window_calls is None) != (self.window is None):
            raise ValueError("window_calls and window go together")
        return self


class CredentialField(BaseModel):
    """A credential the seller may give directly (a pasted token, an API key, a merchant id)."""

    name: str
    label: str
    secret: bool = True
    help: str = ""


class Carrier(BaseModel):
    """A carrier a plugin knows by ``code`` (what ``Shipment.carrier_code`` carries), shown as ``name``."""

    code: str = Field(min_length=1)
    name: str = Field(min_length=1)


class AppKind(BaseModel):
    """A plugin's catalog entry: what it is, its panel, its quotas, and how it is authorized."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    kind: str = Field(pattern=r"^[a-z][a-z0-9_-]{1,31}$")
    title: str
    description: str
    settings: type[AppSettings]
    rate_limits: dict[str, RateLimit] = {}
    oauth: bool = True
    direct_credentials: list[CredentialField] = []
    # The response header in which the marketplace names a request, to quote to its support (Amazon:
    # x-amzn-RequestId); the host's HTTP client puts it in every RemoteError it raises.
    request_id_header: str = "x-request-id"
    # What the host's operator gives the plugin (a client id, an endpoint override): a subclass of
    # ``OperatorSettings``, loaded once by the host from ``[plugins.<kind>]`` and ``LINKOLIS_<KIND>_*`` and handed to
    # every hook as ``ctx.operator``. None: the plugin takes none.
    operator_settings: type[OperatorSettings] | None = None
    # What ``apps show`` tells about an app without asking the marketplace (an endpoint override in force):
    # called as ``notices(app: AppInfo, operator: OperatorSettings) -> list[str]`` (``endpoint_notices`` says
    # when an ``EndpointOverride`` is in force).
    notices: Callable[..., list[str]] | None = None
    # The carriers a seller picks from when marking an order shipped (the web's form, ``orders ship --help``): the
    # codes the plugin understands, each with how it is shown. Any other carrier is sent by name.
    carriers: list[Carrier] = []
    # Whether the marketplace lowers a listing's quantity by itself when an order is placed on it (Amazon, bol: yes).
    # The host then knows what the listing shows after each imported order placed since its last push, and sends the
    # listing a quantity again only when what it should offer differs from that.
    lowers_on_order: bool = True
    # The plugin's own words in the languages it ships: a folder holding ``<lang>/LC_MESSAGES/<kind>.po``, gettext
    # catalogs whose msgids are the English texts the plugin wrote (``description``, its settings' titles,
    # descriptions and ``choice_titles``, its credential fields' labels and help, its ``order_delay_note``, its
    # ``Refusal``s' messages). The web shows them in the seller's language; the CLI keeps the English. See "Your
    # words in other languages" in docs/plugin-hooks.md.
    locale_dir: Path | None = None
    # What a seller should know about when a new order shows up here, in English (a msgid of the plugin's catalog,
    # shown in the seller's language like its other words): shown beside each app's last and next fetch of orders.
    # Amazon: a new order shows about 2½ minutes after it is placed.
    order_delay_note: str = ""


class AppStatus(str, Enum):
    installed = "installed"
    authorized = "authorized"
    verified = "verified"
    needs_attention = "needs attention"


class AppInfo(BaseModel):
    """What a hook learns of the app it serves."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    id: int
    name: str
    kind: str
    settings: AppSettings
    status: AppStatus
    account_id: str | None = None
    authorized_at: datetime | None = None
    authorization_expires_at: datetime | None = None


@dataclass(frozen=True)
class SettingsContext:
    """What the host hands a settings model's validators (``info.context``) when it checks a seller's panel:
    ``apps``, the other apps of the same kind in the seller's workspace (neither removed nor still waiting for their
    first authorization). Read it through ``AppSettings.other_apps(info)``."""

    apps: tuple[AppInfo, ...] = ()


class AuthorizationStart(BaseModel):
    """Where to send the seller to grant access; ``url`` carries the host's state.

    ``state`` is that state, filled in by the host when the plugin's answer reaches it (a plugin leaves it empty),
    so that no caller has to parse it back out of ``url``."""

    url: str
    redirect_uri: str
    state: str = ""


class Credentials(BaseModel):
    """What an authorization yields. ``secrets`` are encrypted at rest and never shown.

    ``account_id`` identifies the seller's account at the marketplace (Amazon: the selling partner id);
    ``expires_at`` is when the seller must renew the authorization, if the marketplace says.
    """

    account_id: str = Field(min_length=1)
    secrets: dict[str, SecretStr]
    expires_at: AwareDatetime | None = None
    details: dict[str, str] = {}


class OrderStatus(str, Enum):
    pending = "pending"
    unshipped = "unshipped"
    partially_shipped = "partially_shipped"
    shipped = "shipped"
    cancelled = "cancelled"
    unfulfillable = "unfulfillable"
    other = "other"


class _FromFields(BaseModel):
    @classmethod
    def from_fields(cls, raw: Mapping[str, Any], fields: Mapping[str, str], **given: Any) -> Self:
        """This model from a marketplace's JSON object ``raw``: ``fields`` names, for each field of the host's that
        the marketplace sends as it is, the marketplace's key for it (``{"line1": "addressLine1"}``); ``given``
        sets the fields the plugin works out itself (a name from a first name and a surname). A text ``raw`` leaves
        out or leaves blank is ``None``, never ``""``; any other loses the white space around it."""
        texts = {name: _text(raw.get(key)) for name, key in fields.items()}
        return cls(**texts, **given)


def _text(value: Any) -> str | None:
    text = "" if value is None else str(value).strip()
    return text or None


class Address(_FromFields):
    """A postal address. ``district`` is a district or county, ``municipality`` a municipality (both where the
    marketplace sends them); ``address_type`` is what kind of place it is. ``Address.from_fields`` reads one from
    the marketplace's JSON."""

    name: str | None = None
    company: str | None = None
    line1: str | None = None
    line2: str | None = None
    line3: str | None = None
    city: str | None = None
    district: str | None = None
    region: str | None = None
    municipality: str | None = None
    postal_code: str | None = None
    country_code: str | None = None
    phone: str | None = None
    address_type: Literal["residential", "commercial", "pickup_point"] | None = None


class Buyer(_FromFields):
    """Who bought. ``purchase_order_number`` is the number a business buyer gave at checkout (B2B).
    ``Buyer.from_fields`` reads one from the marketplace's JSON."""

    name: str | None = None
    email: str | None = None
    company: str | None = None
    purchase_order_number: str | None = None


class OrderLine(BaseModel):
    """One line of an order. Money is in the order's currency, ``None`` where the marketplace does not say.

    ``subtotal`` is ``unit_price`` × quantity, before tax, shipping and discounts. ``tax`` is all the tax on the
    line (on the goods, on shipping, on anything else); ``shipping_tax`` is the part of ``tax`` that is on
    shipping (inside ``tax``, never on top of it). ``shipping`` is the shipping charge before tax. ``discount`` is
    what promotions took off, a positive number. ``total`` is what the buyer paid for the line, all included:
    ``subtotal + shipping + tax - discount``, plus any other charge the marketplace has (gift wrap, a
    cash-on-delivery fee).

    ``cancellation_requested`` says the buyer asked the marketplace to cancel the line (bol's ``cancellationRequest``,
    Amazon's ``cancellation.cancellationRequest``), ``cancellation_reason`` the reason the marketplace gives, in its
    own words, ``None`` where it gives none.
    """

    line_id: str
    sku: str | None = None
    product_id: str | None = Field(None, description="The marketplace's product id (Amazon: ASIN)")
    title: str | None = None
    quantity_ordered: int = Field(ge=0)
    quantity_shipped: int = Field(0, ge=0)
    quantity_cancelled: int = Field(
        0, ge=0, description="Units of the line cancelled (by the buyer, the seller or the marketplace), not shipped"
    )
    unit_price: Decimal | None = None
    subtotal: Decimal | None = None
    tax: Decimal | None = None
    shipping: Decimal | None = None
    shipping_tax: Decimal | None = None
    discount: Decimal | None = Field(None, ge=0)
    total: Decimal | None = None
    cancellation_requested: bool = False
    cancellation_reason: str | None = None


class Order(BaseModel):
    """An order in the host's neutral model. ``marketplace_status`` keeps the marketplace's own word.

    ``total`` is what the buyer paid for the whole order: the lines' totals plus any charge on the order as a
    whole (a delivery tip). ``seller_order_id`` is the seller's own id for the order, where the marketplace keeps
    one; ``programs`` are the marketplace's programs the order belongs to, in its own words (Amazon: ``PRIME``,
    ``AMAZON_BUSINESS``…). A replacement or exchange order names the order it stands in for in
    ``original_order_id`` (the marketplace's order id) and says which in ``original_order_relation``.
    """

    marketplace_order_id: str = Field(min_length=1)
    marketplace: str
    status: OrderStatus
    marketplace_status: str
    fulfilled_by: Literal["merchant", "marketplace"]
    created_at: AwareDatetime
    updated_at: AwareDatetime
    currency: str | None = None
    total: Decimal | None = None
    lines: list[OrderLine] = []
    buyer: Buyer | None = None
    recipient: Address | None = None
    seller_order_id: str | None = None
    programs: list[str] = []
    original_order_id: str | None = None
    original_order_relation: Literal["replacement", "exchange"] | None = None


class OrderBatch(BaseModel):
    """A page of orders and the cursor after it; the host commits both in one transaction."""

    orders: list[Order]
    cursor: dict[str, Any]


class NotificationEvent(BaseModel):
    """What a marketplace notification says, as a plugin reads it: which of an account's orders changed.

    ``notification_id`` is the notification's own id (what two copies of one share); ``account_id`` the seller's
    account as the app's ``Credentials.account_id`` names it; ``order_ids`` the marketplace's ids of the orders.
    ``alias``: ``account_id`` is another id of the account than the one the app is connected by (bol's pushes name
    the retailer id; a bol app is connected by its client id): the host finds the app by asking each app of the kind
    not yet known under another alias for the orders (``fetch_orders``), and remembers the alias of the one that has
    them, so that the next notification goes to it at once."""

    notification_id: str = Field(min_length=1)
    account_id: str = Field(min_length=1)
    order_ids: list[str]
    alias: bool = False


class StockItem(BaseModel):
    """A quantity the host asks a plugin to push for one SKU."""

    sku: str = Field(min_length=1)
    quantity: int = Field(ge=0, le=MAX_QUANTITY)


StockStatus = Literal["accepted", "rejected", "pending", "skipped", "not_listed"]


class StockOutcome(BaseModel):
    """What became of a push for one SKU.

    ``quantity`` is the quantity the outcome is about (a late feed result may concern an older one);
    ``retryable`` says whether pushing the same quantity again could help; ``reference`` is what a pending
    outcome waits on (a feed id, a submission id). ``warning`` is what is wrong with the listing whatever
    became of the quantity (the marketplace suppressed or removed it), with what the seller can do.
    ``not_listed``: the marketplace has no listing for this SKU (it is sold elsewhere); not a rejection, and not
    sent to this app again until its listings are read again (``stock verify``) or the seller maps the SKU.
    """

    sku: str
    quantity: int | None = None
    status: StockStatus
    message: str = ""
    retryable: bool = False
    reference: str | None = None
    warning: str = ""

    @classmethod
    def of(
        cls,
        item: StockItem,
        status: StockStatus,
        message: str = "",
        *,
        retryable: bool = False,
        reference: str | None = None,
        warning: str = "",
    ) -> StockOutcome:
        """The outcome of pushing ``item`` (its SKU and quantity): ``StockOutcome.of(item, "rejected", str(exc),
        retryable=True)``."""
        return cls(
            sku=item.sku,
            quantity=item.quantity,
            status=status,
            message=message,
            retryable=retryable,
            reference=reference,
            warning=warning,
        )


class StockLevel(BaseModel):
    """A quantity as the marketplace shows it now; ``quantity`` is None when it has no merchant quantity.

    ``publication_delay`` is how many seconds a quantity the marketplace accepted may take to show here (Amazon:
    up to 15 minutes), so a fresh push is not taken for drift; ``warning`` is what is wrong with the listing.
    """

    sku: str
    quantity: int | None
    fulfilled_by: Literal["merchant", "marketplace", "unknown"] = "merchant"
    found: bool = True
    detail: str = ""
    publication_delay: float = Field(0.0, ge=0)
    warning: str = ""


class CheckAgain(BaseModel):
    """What ``push_stock`` yields after its outcomes when pushes it left pending are not worth asking about before a
    moment: ``at``, a wall time (``ctx.clock.time()`` based; one already past means at once). Before then the host
    does not call the hook again unless a quantity changed. Without it, the host asks on every push.
    """

    at: float = Field(allow_inf_nan=False)


class HealthCheck(BaseModel):
    """One named check of an installed app, with the step a seller can take when it is not ok.

    ``action`` is that step as data (``Action.AUTHORIZE``, ``CONFIGURE`` with ``param`` naming the setting,
    ``REINSTALL``, ``OPERATOR``, ``VERIFY`` for "try again later"): the CLI words it as a command, the web as a
    button. ``remedy`` is the step in prose, without a command: what the action does not say (where in the
    marketplace's site to look), or the whole step for a plugin that sets no action.
    ``operator`` says that the host operator, not the seller, must act (missing operator settings, a client secret
    the marketplace refuses): such a failure is shown but does not put the seller's app into "needs attention".
    """

    name: str
    status: Literal["ok", "failed", "skipped", "warning"]
    detail: str = ""
    remedy: str = ""
    operator: bool = False
    action: Action | None = None
    param: str | None = None

    @classmethod
    def failed(
        cls, name: str, error: Exception, *, remedy: str, action: Action | None = Action.VERIFY, operator: bool = False
    ) -> HealthCheck:
        """The check ``name`` failed with ``error``, which is its detail (``action``: "try again later" unless
        told otherwise)."""
        return cls(name=name, status="failed", detail=str(error), remedy=remedy, action=action, operator=operator)

    @classmethod
    def asking(
        cls,
        name: str,
        ask: Callable[[], object],
        *,
        forbidden: str,
        forbidden_action: Action,
        answered: str = "try again later",
        revoked: str = "authorize the app again",
    ) -> HealthCheck:
        """The check ``name`` that asks the marketplace one thing (``ask``): ok when it answers. When ``ask`` raises,
        failed with the remedy for what went wrong: the marketplace's 403 (the credentials or the developer app may
        not ask this) ``forbidden``, with ``forbidden_action``; another error the marketplace answered
        (``RemoteError``) ``answered``; an authorization gone (``AuthorizationRevoked``) ``revoked``; anything else
        "try again later"."""
        try:
            ask()
        except RemoteError as exc:
            if exc.status == 403:
                return cls.failed(name, exc, remedy=forbidden, action=forbidden_action)
            return cls.failed(name, exc, remedy=answered)
        except AuthorizationRevoked as exc:
            return cls.failed(name, exc, remedy=revoked, action=Action.AUTHORIZE)
        except LinkolisError as exc:
            return cls.failed(name, exc, remedy="try again later")
        return cls(name=name, status="ok")


class Shipment(BaseModel):
    """A package the seller handed to a carrier, to be confirmed to the marketplace.

    ``package_reference`` identifies the package within its order (a positive whole number, as Amazon wants it);
    ``lines`` are (line id, quantity) pairs, the line ids those of ``OrderLine.line_id``. ``carrier_code`` is what
    the seller chose (one of ``AppKind.carriers``, or anything else), ``carrier_name`` how the carrier is called
    when the code is not one the marketplace knows. ``resent`` says the host sent it before and never learnt the
    outcome (it was interrupted): the marketplace may already have it.
    """

    marketplace_order_id: str = Field(min_length=1)
    package_reference: str = Field(pattern=r"^[1-9][0-9]{0,17}$")
    lines: list[tuple[str, int]] = Field(min_length=1)
    carrier_code: str = Field(min_length=1)
    carrier_name: str | None = None
    tracking_number: str = Field(min_length=1)
    ship_date: AwareDatetime
    shipping_method: str | None = None
    fulfilled_by: Literal["merchant", "marketplace"] = "merchant"
    resent: bool = False

    @field_validator("lines")
    @classmethod
    def _positive(cls, lines: list[tuple[str, int]]) -> list[tuple[str, int]]:
        if any(quantity < 1 for _, quantity in lines):
            raise ValueError("every line ships at least 1 item")
        return lines


class ShipmentOutcome(BaseModel):
    """What became of one shipment's confirmation, keyed by its order and package reference.

    ``accepted``: the marketplace has it (also when it already had it from an interrupted earlier send).
    ``rejected``: with the marketplace's ``message``; ``retryable`` says whether sending it again could help.
    ``pending``: the marketplace took it but has not decided; the host sends it again later.
    """

    marketplace_order_id: str
    package_reference: str
    status: Literal["accepted", "rejected", "pending"]
    message: str = ""
    retryable: bool = False

    @classmethod
    def of(
        cls,
        shipment: Shipment,
        status: Literal["accepted", "rejected", "pending"],
        message: str = "",
        *,
        retryable: bool = False,
    ) -> ShipmentOutcome:
        """The outcome of ``shipment`` (keyed by its order and package reference): ``ShipmentOutcome.of(shipment,
        "rejected", "the order was cancelled meanwhile")``."""
        return cls(
            marketplace_order_id=shipment.marketplace_order_id,
            package_reference=shipment.package_reference,
            status=status,
            message=message,
            retryable=retryable,
        )


# Why an order is cancelled, in the host's words; a plugin maps each to its marketplace's reason codes.
CancellationReason = Literal["requested_by_buyer", "out_of_stock", "price_error", "other"]
CANCELLATION_REASONS: tuple[str, ...] = ("requested_by_buyer", "out_of_stock", "price_error", "other")


class Cancellation(BaseModel):
    """Lines of an order the seller cancels at the marketplace: a buyer's request accepted, or on their own
    initiative.

    ``lines`` are (line id, quantity) pairs, the line ids those of ``OrderLine.line_id``, each quantity what is left
    to ship of the line: every open line, or, accepting a buyer's request, the lines the buyer asked about (a
    marketplace that cancels whole lines, as bol does, cancels those lines). ``reason`` is
    one of the host's reasons: ``requested_by_buyer`` (only when the buyer asked), ``out_of_stock``,
    ``price_error`` (the listing's price was wrong) or ``other``.
    """

    marketplace_order_id: str = Field(min_length=1)
    lines: list[tuple[str, int]] = Field(min_length=1)
    reason: CancellationReason

    @field_validator("lines")
    @classmethod
    def _positive(cls, lines: list[tuple[str, int]]) -> list[tuple[str, int]]:
        if any(quantity < 1 for _, quantity in lines):
            raise ValueError("every line cancels at least 1 item")
        return lines


class CancellationOutcome(BaseModel):
    """What the marketplace made of a ``Cancellation``.

    ``accepted``: the lines are cancelled there (also when they already were: a cancellation sent again after an
    interruption is accepted, never refused as "already cancelled"). ``rejected``: with the marketplace's
    ``message`` (an item shipped meanwhile, an unknown item); ``retryable`` says whether asking again could help.
    ``pending``: the marketplace took the request but has not decided; asking again later learns the outcome.
    """

    marketplace_order_id: str
    status: Literal["accepted", "rejected", "pending"]
    message: str = ""
    retryable: bool = False


@dataclass
class DemoEnvironment:
    """A local stand-in for a marketplace that the host's demo walks the seller's story against.

    ``env`` points the plugin at the stand-in for the demo's run; ``config`` is the plugin's ``[plugins.<id>]``
    section that does the same for later commands in the demo's data directory; ``endpoint`` is the stand-in's
    base URL (a refused connection to it is told as the demo's stand-in having stopped); ``browser`` plays the
    seller on the consent page (given the consent URL, it confirms), ``credentials`` are what the seller pastes
    instead for an app with ``direct_credentials``; ``stock`` is what the demo sets; ``close`` stops the stand-in.
    ``place_order(sku, quantity)`` has a buyer place an order at the stand-in and returns its order id, and
    ``shop_url`` is a page where a person does the same (both for a stand-in that notifies: the demo shows the
    order reaching linkolis in seconds).

    The SQS a stand-in notifies through is the demo's local one: ``AWS_ENDPOINT_URL_SQS`` in the environment while
    ``demo_environment`` runs (unset when the demo has none: the stand-in then does not notify).
    """

    kind: str
    install: dict[str, Any]
    env: dict[str, str]
    browser: Callable[[str], None] | None = None
    describe: str = ""
    stock: list[tuple[str, int]] = field(default_factory=list)
    bulk_stock: list[tuple[str, int]] = field(default_factory=list)
    close: Callable[[], None] = lambda: None
    config: dict[str, Any] = field(default_factory=dict)
    endpoint: str = ""
    credentials: dict[str, str] = field(default_factory=dict)
    place_order: Callable[[str, int], str] | None = None
    shop_url: str = ""


OrderBatches = Iterator[OrderBatch]
