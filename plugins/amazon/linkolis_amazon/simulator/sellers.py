"""Sellers API v1: ``getMarketplaceParticipations``."""

from __future__ import annotations

from typing import Any

from .marketplaces import MARKETPLACES
from .wire import Call


def get_marketplace_participations(call: Call) -> dict[str, Any]:
    acct = call.account
    payload = []
    for mid in acct.marketplace_ids:
        m = MARKETPLACES[mid]
        payload.append(
            {
                "marketplace": {
                    "id": m.id,
                    "name": m.name,
                    "countryCode": m.iso_country,
                    "defaultCurrencyCode": m.currency,
                    "defaultLanguageCode": m.language,
                    "domainName": m.domain,
                },
                "participation": {"isParticipating": True, "hasSuspendedListings": mid in acct.suspended_marketplaces},
                "storeName": acct.store_name,
            }
        )
    return {"payload": payload}
