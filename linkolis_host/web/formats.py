"""How a page writes what the host stores: times, money, numbers and the host's keys (statuses, address fields), in
the page's language and the workspace's time zone, through Babel. The host keeps ISO 8601 UTC times, decimal strings
and keys; no page shows one of those as it is stored.

``install`` puts these on the templates' environment; each reads the page's ``lang`` and ``time_zone`` from the
context ``Web.render`` gives every page:

- ``{{ order.created_at|moment }}``: "6 dec 2026 15:24" (nl), "6 Dec 2026 15:24" (en), in the workspace's time zone.
- ``{{ order.total|money(order.currency) }}``: "€ 50,99" (nl), "€50.99" (en).
- ``{{ line.quantity_ordered|number }}``: "12.345" (nl), "12,345" (en); ``number(signed=True)``: "+3", "-2".
- ``{{ order.status|word("order_status") }}``: the key as a word in the page's language ("deels verzonden").
- ``address(order.recipient)``: an address or a buyer as (label, value) pairs in the page's language, the country
  by its name ("Nederland").

Each writes "–" for nothing. English pages follow British conventions (day before month, a 24-hour clock): the
sellers are in Europe, and Babel's plain "en" is American ("Dec 6, 2026, 3:24 PM").
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale
from babel.dates import format_date, format_time
from babel.numbers import format_currency, format_decimal, get_group_symbol
from jinja2 import Environment, pass_context
from jinja2.runtime import Context

from .. import workspaces
from . import i18n

NOTHING = "–"
LOCALES = {"en": "en_GB", "nl": "nl_NL"}


def N_(message: str) -> str:
    """Marks ``message`` for the catalogs; it is translated when a page shows it."""
    return message


# The host's keys as the seller reads them (the msgids of the catalogs' entries).
WORDS: dict[str, dict[str, str]] = {
    "order_status": {
        "pending": N_("pending"),
        "unshipped": N_("unshipped"),
        "partially_shipped": N_("partially shipped"),
        "shipped": N_("shipped"),
        "cancelled": N_("cancelled"),
        "unfulfillable": N_("cannot be fulfilled"),
        "other": N_("other"),
    },
    "shipment_status": {  # shipments.STATUSES
        "due": N_("waiting to be sent to the marketplace"),
        "sending": N_("sending"),
        "accepted": N_("accepted"),
        "rejected": N_("rejected"),
        "pending": N_("pending"),
        "refused": N_("not sent"),
    },
    "fulfilled_by": {"merchant": N_("You"), "marketplace": N_("The marketplace")},
    "address_type": {
        "residential": N_("home address"),
        "commercial": N_("business address"),
        "pickup_point": N_("pick-up point"),
    },
}

# An address's and a buyer's fields (models.Address, models.Buyer) in the order a label is shown; the lines of the
# street address are one entry.
ADDRESS_FIELDS: dict[str, str] = {
    "name": N_("Name"),
    "company": N_("Company"),
    "email": N_("Email"),
    "purchase_order_number": N_("Purchase order number"),
    "line1": N_("Address"),
    "postal_code": N_("Postal code"),
    "city": N_("City"),
    "district": N_("District"),
    "municipality": N_("Municipality"),
    "region": N_("State or province"),
    "country_code": N_("Country"),
    "phone": N_("Phone"),
    "address_type": N_("Address type"),
}
STREET = ("line1", "line2", "line3")


def _locale(lang: str) -> str:
    return LOCALES.get(lang, lang)


@cache
def _zone(time_zone: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(time_zone or workspaces.DEFAULT_TIME_ZONE)
    except (ZoneInfoNotFoundError, ValueError):  # checked when set: only a database edited by hand gets here
        return ZoneInfo(workspaces.DEFAULT_TIME_ZONE)


def _when(value: str | datetime | None) -> datetime | None:
    if isinstance(value, datetime):
        at = value
    elif not value:
        return None
    else:
        try:
            at = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return at if at.tzinfo else at.replace(tzinfo=UTC)  # the host stores UTC


def moment(value: str | datetime | None, lang: str, time_zone: str | None = None) -> str:
    """A stored time as the seller reads it: "6 dec 2026 15:24" in ``time_zone`` (the workspace's)."""
    at = _when(value)
    if at is None:
        return NOTHING
    zone, locale = _zone(time_zone), _locale(lang)
    local = at.astimezone(zone)
    return f"{format_date(local, 'medium', locale=locale)} {format_time(local, 'short', tzinfo=zone, locale=locale)}"


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def money(amount: Any, currency: str | None, lang: str) -> str:
    """A stored amount (a decimal string) in ``currency``: "€ 50,99" (nl), "€50.99" (en); without a currency, the
    number alone."""
    value = _decimal(amount)
    if value is None:
        return NOTHING
    if not currency:
        return format_decimal(value, format="#,##0.00", locale=_locale(lang))
    return format_currency(value, currency, locale=_locale(lang))


def number(value: Any, lang: str, signed: bool = False) -> str:
    """A count with the language's separators: "12.345" (nl); ``signed``: "+3" for a change."""
    if isinstance(value, int) and not isinstance(value, bool):
        text = f"{value:,}".replace(",", _group_symbol(lang))  # a page shows hundreds: Babel's parse each is slow
        return "+" + text if signed and value > 0 else text
    figure = _decimal(value)
    if figure is None:
        return NOTHING
    text = format_decimal(figure, locale=_locale(lang))
    return "+" + text if signed and figure > 0 else text


@cache
def _group_symbol(lang: str) -> str:
    return get_group_symbol(locale=_locale(lang))


def word(key: str | None, kind: str, lang: str) -> str:
    """The host's ``key`` of ``kind`` (a table of ``WORDS``) in ``lang``; a key not in it, with spaces."""
    if not key:
        return NOTHING
    message = WORDS[kind].get(key, key.replace("_", " "))
    return i18n.translations(lang).gettext(message)


def country(code: str | None, lang: str) -> str:
    """A country's name in ``lang`` ("Duitsland") for its ISO 3166 code ("DE"); an unknown code as it is."""
    if not code:
        return NOTHING
    return Locale.parse(_locale(lang)).territories.get(code.upper(), code)


def address(party: Mapping[str, Any] | None, lang: str) -> list[tuple[str, str]]:
    """An address or a buyer (``models.Address``, ``models.Buyer``, as stored) as (label, value) pairs in ``lang``,
    only those the marketplace shared; the street's lines as one value, one line each."""
    if not party:
        return []
    gettext = i18n.translations(lang).gettext
    pairs = []
    for key, label in ADDRESS_FIELDS.items():
        if key == "line1":
            value = "\n".join(str(party[k]) for k in STREET if party.get(k))
        elif key == "country_code":
            value = country(party.get(key), lang) if party.get(key) else ""
        elif key == "address_type":
            value = word(party.get(key), "address_type", lang) if party.get(key) else ""
        else:
            value = party.get(key) or ""
        if value:
            pairs.append((gettext(label), str(value)))
    return pairs


def install(env: Environment) -> None:
    """Put the formatters on ``env``: filters and functions that read the page's ``lang`` and ``time_zone``."""

    def lang(ctx: Context) -> str:
        return ctx.get("lang") or i18n.DEFAULT

    env.filters["moment"] = pass_context(lambda ctx, value: moment(value, lang(ctx), ctx.get("time_zone")))
    env.globals["moment"] = env.filters["moment"]
    env.filters["money"] = pass_context(lambda ctx, amount, currency=None: money(amount, currency, lang(ctx)))
    env.filters["number"] = pass_context(lambda ctx, value, signed=False: number(value, lang(ctx), signed))
    env.filters["word"] = pass_context(lambda ctx, key, kind: word(key, kind, lang(ctx)))
    env.filters["country"] = pass_context(lambda ctx, code: country(code, lang(ctx)))
    env.globals["address"] = pass_context(lambda ctx, party: address(party, lang(ctx)))
