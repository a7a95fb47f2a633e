"""Amazon marketplaces: ids from Amazon's marketplace-ids page, with currency, language, domain and region."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Marketplace:
    id: str
    country: str  # Amazon's code (UK, not GB)
    name: str
    currency: str
    language: str
    domain: str
    region: str  # NA, EU, FE

    @property
    def iso_country(self) -> str:
        """ISO 3166 code for addresses (Amazon writes UK where ISO says GB)."""
        return "GB" if self.country == "UK" else self.country

    @property
    def fba_channel(self) -> str:
        """The fulfillment channel code of Amazon-fulfilled (FBA) stock in this marketplace."""
        if self.region == "NA":
            return "AMAZON_NA"
        if self.region == "EU":
            return "AMAZON_EU"
        return {"JP": "AMAZON_JP", "AU": "AMAZON_AU", "SG": "AMAZON_SG"}[self.country]


_ROWS = [
    ("A2EUQ1WTGCTBG2", "CA", "Amazon.ca", "CAD", "en_CA", "www.amazon.ca", "NA"),
    ("ATVPDKIKX0DER", "US", "Amazon.com", "USD", "en_US", "www.amazon.com", "NA"),
    ("A1AM78C64UM0Y8", "MX", "Amazon.com.mx", "MXN", "es_MX", "www.amazon.com.mx", "NA"),
    ("A2Q3Y263D00KWC", "BR", "Amazon.com.br", "BRL", "pt_BR", "www.amazon.com.br", "NA"),
    ("A28R8C7NBKEWEA", "IE", "Amazon.ie", "EUR", "en_IE", "www.amazon.ie", "EU"),
    ("A1RKKUPIHCS9HS", "ES", "Amazon.es", "EUR", "es_ES", "www.amazon.es", "EU"),
    ("A1F83G8C2ARO7P", "UK", "Amazon.co.uk", "GBP", "en_GB", "www.amazon.co.uk", "EU"),
    ("A13V1IB3VIYZZH", "FR", "Amazon.fr", "EUR", "fr_FR", "www.amazon.fr", "EU"),
    ("AMEN7PMS3EDWL", "BE", "Amazon.com.be", "EUR", "fr_BE", "www.amazon.com.be", "EU"),
    ("A1805IZSGTT6HS", "NL", "Amazon.nl", "EUR", "nl_NL", "www.amazon.nl", "EU"),
    ("A1PA6795UKMFR9", "DE", "Amazon.de", "EUR", "de_DE", "www.amazon.de", "EU"),
    ("APJ6JRA9NG5V4", "IT", "Amazon.it", "EUR", "it_IT", "www.amazon.it", "EU"),
    ("A2NODRKZP88ZB9", "SE", "Amazon.se", "SEK", "sv_SE", "www.amazon.se", "EU"),
    ("AE08WJ6YKNBMC", "ZA", "Amazon.co.za", "ZAR", "en_ZA", "www.amazon.co.za", "EU"),
    ("A1C3SOZRARQ6R3", "PL", "Amazon.pl", "PLN", "pl_PL", "www.amazon.pl", "EU"),
    ("ARBP9OOSHTCHU", "EG", "Amazon.eg", "EGP", "ar_EG", "www.amazon.eg", "EU"),
    ("A33AVAJ2PDY3EV", "TR", "Amazon.com.tr", "TRY", "tr_TR", "www.amazon.com.tr", "EU"),
    ("A17E79C6D8DWNP", "SA", "Amazon.sa", "SAR", "ar_SA", "www.amazon.sa", "EU"),
    ("A2VIGQ35RCS4UG", "AE", "Amazon.ae", "AED", "en_AE", "www.amazon.ae", "EU"),
    ("A21TJRUUN4KGV", "IN", "Amazon.in", "INR", "en_IN", "www.amazon.in", "EU"),
    ("A19VAU5U5O7RUS", "SG", "Amazon.sg", "SGD", "en_SG", "www.amazon.sg", "FE"),
    ("A39IBJ37TRP1C6", "AU", "Amazon.com.au", "AUD", "en_AU", "www.amazon.com.au", "FE"),
    ("A1VC38T7YXB528", "JP", "Amazon.co.jp", "JPY", "ja_JP", "www.amazon.co.jp", "FE"),
]

MARKETPLACES: dict[str, Marketplace] = {row[0]: Marketplace(*row) for row in _ROWS}
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
