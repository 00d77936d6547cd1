"""The `build_cart` tool: a cart built from named products of the live catalogue (the commerce store, read once for
them all), by the rules of `carts`. The actions function runs it when a model asks; retrieval runs it for a message
code reads as a shopping request, before the agent decides (`catalogue.prefetch`). It reads nothing of the
customer's and writes nothing: the storefront puts a line in its cart when the customer asks it to.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from concierge.catalogue.carts import build_cart, products_in_order
from concierge.catalogue.requests import ShoppingRequest

if TYPE_CHECKING:
    from concierge.actions.tools import BuildCart
    from concierge.store.commerce import CommerceBackend
    from concierge.store.merchant import MerchantProfile


def request_of(arguments: BuildCart) -> ShoppingRequest:
    return ShoppingRequest(
        goal=arguments.goal,
        query=arguments.query,
        budget=arguments.budget,
        min_price=arguments.min_price,
        needed_by=arguments.needed_by,
        recipient_age=arguments.recipient_age,
        dietary=tuple(d.strip().lower() for d in arguments.dietary),
        sizes=tuple(arguments.sizes),
        quantities=dict(arguments.quantities),
        items=tuple(arguments.items),
    )


def run(arguments: BuildCart, store: CommerceBackend, merchant: MerchantProfile, now: datetime) -> dict[str, Any]:
    """The tool's result: {"cart": …} (catalogue.cart.Cart as JSON)."""
    found = store.lookup(arguments.product_ids).products
    cart = build_cart(
        request_of(arguments), products_in_order(found, arguments.product_ids), merchant, now, arguments.pick
    )
    return {"cart": cart.model_dump(mode="json")}
