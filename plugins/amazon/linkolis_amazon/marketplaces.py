"""Amazon's marketplaces: country, code, marketplace id, region, endpoints, Seller Central.

Marketplace ids and endpoints: developer-docs.amazon.com (marketplace-ids, sp-api-endpoints). Seller Central
URLs: Amazon's 2021 developer guide, and for IE, BE, ZA, EG, SA third-party lists (not on the official page we
could read). Amazon writes UK where ISO says GB.
"""

from __future__ import annotations

from dataclasses import dataclass

LWA_TOKEN_URL = "https://api.amazon.com/auth/o2/token"

ENDPOINTS = {
    "NA": "https://sellingpartnerapi-na.amazon.com",
    "EU": "https://sellingpartnerapi-eu.amazon.com",
    "FE": "https://sellingpartnerapi-fe.amazon.com",
}
SANDBOX_ENDPOINTS = {
    "NA": "https://sandbox.sellingpartnerapi-na.amazon.com",
    "EU": "https://sandbox.sellingpartnerapi-eu.amazon.com",
    "FE": "https://sandbox.sellingpartnerapi-fe.amazon.com",
}
FBA_CHANNELS = {"NA": "AMAZON_NA", "EU": "AMAZON_EU", "JP": "AMAZON_JP", "AU": "AMAZON_AU", "SG": "AMAZON_SG"}


@dataclass(frozen=True)
class Marketplace:
    code: str
    country: str
    id: str
    region: str
    seller_central: str
    currency: str
    language: str
    domain: str

    @property
    def endpoint(self) -> str:
        return ENDPOINTS[self.region]

    @property
    def sandbox_endpoint(self) -> str:
        return SANDBOX_ENDPOINTS[self.region]

    @property
    def iso_country(self) -> str:
        return "GB" if self.code == "UK" else self.code

    @property
    def fba_channel(self) -> str:
        """The fulfillment channel code of Amazon-fulfilled (FBA) stock here."""
        return FBA_CHANNELS.get(self.code) or FBA_CHANNELS[self.region]


_EUROPE = "https://sellercentral-europe.amazon.com"
_ROWS = [
    ("CA", "Canada", "A2EUQ1WTGCTBG2", "NA", "https://sellercentral.amazon.ca", "CAD", "en_CA", "www.amazon.ca"),
    (
        "US",
        "United States",
        "ATVPDKIKX0DER",
        "NA",
        "https://sellercentral.amazon.com",
        "USD",
        "en_US",
        "www.amazon.com",
    ),
    (
        "MX",
        "Mexico",
        "A1AM78C64UM0Y8",
        "NA",
        "https://sellercentral.amazon.com.mx",
        "MXN",
        "es_MX",
        "www.amazon.com.mx",
    ),
    (
        "BR",
        "Brazil",
        "A2Q3Y263D00KWC",
        "NA",
        "https://sellercentral.amazon.com.br",
        "BRL",
        "pt_BR",
        "www.amazon.com.br",
    ),
    ("IE", "Ireland", "A28R8C7NBKEWEA", "EU", "https://sellercentral.amazon.ie", "EUR", "en_IE", "www.amazon.ie"),
    ("ES", "Spain", "A1RKKUPIHCS9HS", "EU", _EUROPE, "EUR", "es_ES", "www.amazon.es"),
    ("UK", "United Kingdom", "A1F83G8C2ARO7P", "EU", _EUROPE, "GBP", "en_GB", "www.amazon.co.uk"),
    ("FR", "France", "A13V1IB3VIYZZH", "EU", _EUROPE, "EUR", "fr_FR", "www.amazon.fr"),
    (
        "BE",
        "Belgium",
        "AMEN7PMS3EDWL",
        "EU",
        "https://sellercentral.amazon.com.be",
        "EUR",
        "fr_BE",
        "www.amazon.com.be",
    ),
    ("NL", "Netherlands", "A1805IZSGTT6HS", "EU", "https://sellercentral.amazon.nl", "EUR", "nl_NL", "www.amazon.nl"),
    ("DE", "Germany", "A1PA6795UKMFR9", "EU", _EUROPE, "EUR", "de_DE", "www.amazon.de"),
    ("IT", "Italy", "APJ6JRA9NG5V4", "EU", _EUROPE, "EUR", "it_IT", "www.amazon.it"),
    ("SE", "Sweden", "A2NODRKZP88ZB9", "EU", "https://sellercentral.amazon.se", "SEK", "sv_SE", "www.amazon.se"),
    (
        "ZA",
        "South Africa",
        "AE08WJ6YKNBMC",
        "EU",
        "https://sellercentral.amazon.co.za",
        "ZAR",
        "en_ZA",
        "www.amazon.co.za",
    ),
    ("PL", "Poland", "A1C3SOZRARQ6R3", "EU", "https://sellercentral.amazon.pl", "PLN", "pl_PL", "www.amazon.pl"),
    ("EG", "Egypt", "ARBP9OOSHTCHU", "EU", "https://sellercentral.amazon.eg", "EGP", "ar_EG", "www.amazon.eg"),
    (
        "TR",
        "Turkey",
        "A33AVAJ2PDY3EV",
        "EU",
        "https://sellercentral.amazon.com.tr",
        "TRY",
        "tr_TR",
        "www.amazon.com.tr",
    ),
    ("SA", "Saudi Arabia", "A17E79C6D8DWNP", "EU", "https://sellercentral.amazon.sa", "SAR", "ar_SA", "www.amazon.sa"),
    (
        "AE",
        "United Arab Emirates",
        "A2VIGQ35RCS4UG",
        "EU",
        "https://sellercentral.amazon.ae",
        "AED",
        "en_AE",
        "www.amazon.ae",
    ),
    ("IN", "India", "A21TJRUUN4KGV", "EU", "https://sellercentral.amazon.in", "INR", "en_IN", "www.amazon.in"),
    ("SG", "Singapore", "A19VAU5U5O7RUS", "FE", "https://sellercentral.amazon.sg", "SGD", "en_SG", "www.amazon.sg"),
    (
        "AU",
        "Australia",
        "A39IBJ37TRP1C6",
        "FE",
        "https://sellercentral.amazon.com.au",
        "AUD",
        "en_AU",
        "www.amazon.com.au",
    ),
    ("JP", "Japan", "A1VC38T7YXB528", "FE", "https://sellercentral.amazon.co.jp", "JPY", "ja_JP", "www.amazon.co.jp"),
]

MARKETPLACES: dict[str, Marketplace] = {row[0]: Marketplace(*row) for row in _ROWS}
BY_ID: dict[str, Marketplace] = {m.id: m for m in MARKETPLACES.values()}


def by_code(code: str) -> Marketplace:
    return MARKETPLACES[code.upper()]


def by_id(marketplace_id: str) -> Marketplace:
    return BY_ID[marketplace_id]
