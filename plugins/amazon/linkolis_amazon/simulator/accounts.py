"""Selling accounts and the SP-API roles their authorization grants.

On Amazon, roles are approved for the developer and selected on the app; the simulator keeps them per selling
account so a test can authorize one account that lacks a role next to one that has it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from .marketplaces import MARKETPLACES, resolve

# Amazon's role names (Solution Provider Portal), as constants.
INVENTORY_AND_ORDER_TRACKING = "Inventory and Order Tracking"
PRODUCT_LISTING = "Product Listing"
FINANCE_AND_ACCOUNTING = "Finance and Accounting"
DIRECT_TO_CONSUMER_SHIPPING = "Direct-to-Consumer Shipping (Restricted)"
TAX_INVOICING = "Tax Invoicing (Restricted)"

ALL_ROLES = (
    INVENTORY_AND_ORDER_TRACKING,
    PRODUCT_LISTING,
    FINANCE_AND_ACCOUNTING,
    DIRECT_TO_CONSUMER_SHIPPING,
    TAX_INVOICING,
)
_ROLE_ALIASES = {
    "orders": INVENTORY_AND_ORDER_TRACKING,
    "inventory_and_order_tracking": INVENTORY_AND_ORDER_TRACKING,
    "listings": PRODUCT_LISTING,
    "product_listing": PRODUCT_LISTING,
    "stock": PRODUCT_LISTING,
    "finance": FINANCE_AND_ACCOUNTING,
    "finance_and_accounting": FINANCE_AND_ACCOUNTING,
    "sellers": FINANCE_AND_ACCOUNTING,
    "dtc_shipping": DIRECT_TO_CONSUMER_SHIPPING,
    "direct_to_consumer_shipping": DIRECT_TO_CONSUMER_SHIPPING,
    "recipient": DIRECT_TO_CONSUMER_SHIPPING,
    "tax_invoicing": TAX_INVOICING,
    "buyer": TAX_INVOICING,
}

DEFAULT_SELLER_ID = "A1SIMSELLER001"  # 14 characters, like real merchant ids
DEFAULT_MARKETPLACES = ("DE", "FR", "IT", "ES", "NL", "UK", "US")
SELLER_ID_RE = re.compile(r"^A[A-Z0-9]{12,13}$")


def role(name: str) -> str:
    """A role by Amazon's name or a short alias (``orders``, ``listings``, ``finance``, ``recipient``, ``buyer``)."""
    if name in ALL_ROLES:
        return name
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    if key in _ROLE_ALIASES:
        return _ROLE_ALIASES[key]
    raise ValueError(f"unknown role {name!r}; known: {', '.join(ALL_ROLES)} (or aliases {', '.join(_ROLE_ALIASES)})")


@dataclass
class Account:
    """A selling account: its merchant id, store name, marketplaces and the roles its authorization grants."""

    selling_partner_id: str
    store_name: str = "Simulated Store"
    marketplace_ids: list[str] = field(default_factory=list)
    roles: set[str] = field(default_factory=lambda: set(ALL_ROLES))
    suspended_marketplaces: set[str] = field(default_factory=set)

    def has(self, role_name: str) -> bool:
        return role_name in self.roles

    @property
    def regions(self) -> set[str]:
        return {MARKETPLACES[m].region for m in self.marketplace_ids}


def make_account(
    selling_partner_id: str,
    marketplaces: Iterable[str] = DEFAULT_MARKETPLACES,
    roles: Iterable[str] | None = None,
    store_name: str | None = None,
) -> Account:
    """Validate and build an account (marketplaces by id or country code; roles by name or alias)."""
    if not SELLER_ID_RE.match(selling_partner_id):
        raise ValueError("selling_partner_id must be 13-14 upper-case letters and digits starting with A")
    mids = []
    for m in marketplaces:
        mid = resolve(m).id
        if mid not in mids:
            mids.append(mid)
    if not mids:
        raise ValueError("an account needs at least one marketplace")
    role_set = set(ALL_ROLES) if roles is None else {role(r) for r in roles}
    return Account(selling_partner_id, store_name or f"Store {selling_partner_id[-4:]}", mids, role_set)
