"""Amazon's marketplaces as the simulator serves them: the plugin's table (ids, regions, currencies, domains),
seen with the simulator's names (``country`` is Amazon's code, ``name`` the store's display name)."""

from __future__ import annotations

from dataclasses import dataclass

from ..marketplaces import MARKETPLACES as _TABLE


@dataclass(frozen=True)
class Marketplace:
    id: str
    country: str  # Amazon's code (UK, not GB)
    name: str
    currency: str
    language: str
    domain: str
    region: str  # NA, EU, FE
    iso_country: str
    fba_channel: str


MARKETPLACES: dict[str, Marketplace] = {
    m.id: Marketplace(
        m.id,
        m.code,
        "Amazon" + m.domain.removeprefix("www.amazon"),
        m.currency,
        m.language,
        m.domain,
        m.region,
        m.iso_country,
        m.fba_channel,
    )
    for m in _TABLE.values()
}
BY_COUNTRY: dict[str, Marketplace] = {m.country: m for m in MARKETPLACES.values()}


def by_country(code: str) -> Marketplace:
    """Look a marketplace up by Amazon's country code (``UK`` or ``GB`` both work)."""
    return BY_COUNTRY["UK" if code.upper() == "GB" else code.upper()]


def resolve(ident: str) -> Marketplace:
    """A marketplace from its id or its country code."""
    if ident in MARKETPLACES:
        return MARKETPLACES[ident]
    return by_country(ident)


ZERO_DECIMAL_CURRENCIES = {"JPY"}


def amount(minor: int, currency: str) -> str:
    """Minor units (cents) as the decimal string Amazon's Money objects carry."""
    if currency in ZERO_DECIMAL_CURRENCIES:
        return str(minor)
    sign = "-" if minor < 0 else ""
    minor = abs(minor)
    return f"{sign}{minor // 100}.{minor % 100:02d}"


def money(minor: int, currency: str) -> dict[str, str]:
    return {"amount": amount(minor, currency), "currencyCode": currency}
