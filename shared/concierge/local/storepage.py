"""The local chat page's view of the store it runs: the customers in its picker, its name and suggestion chips."""

from __future__ import annotations

from typing import Any

from concierge.store.merchant import MerchantProfile
from concierge.store.models import StoreData


def picker_customers(data: StoreData, merchant: MerchantProfile) -> list[dict[str, Any]]:
    """Every customer of the store, for the local chat page's picker: the merchant's featured ones first, in their
    order, then the others by name (and id, as names repeat)."""
    featured = {customer_id: i for i, customer_id in enumerate(merchant.featured_customers)}
    customers = sorted(data.customers, key=lambda c: (featured.get(c.id, len(featured)), c.name.casefold(), c.id))
    return [{"id": c.id, "name": c.name, "email": c.email} for c in customers]


def page_info(data: StoreData, merchant: MerchantProfile) -> dict[str, Any]:
    """The local chat page's header and suggestion chips: merchant.json's, or made from the store's own data."""
    suggestions = list(merchant.suggestions)
    if not suggestions:
        first = (
            merchant.featured_customers[0]
            if merchant.featured_customers
            else (data.customers[0].id if data.customers else None)
        )
        delivered = sorted(
            (o for o in data.orders if o.customer_id == first and o.status.value == "delivered"),
            key=lambda o: o.placed_at,
            reverse=True,
        )
        if delivered:
            suggestions.append(f"I'd like to return the {delivered[0].lines[0].title} from my last order")
        suggestions += ["Where is my order?", "How long do refunds take?", "Talk to a human"]
    return {"name": merchant.name, "suggestions": suggestions[:6]}
