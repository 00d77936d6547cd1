"""A cart as the customer and the storefront see it (the API reply's `cart`, docs/shopping.md): its lines, totals,
delivery, the promotions applied, the checkout link, and each constraint as checked. Plain data: `carts` builds one,
the engines word it, the chat page and widget draw it.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from concierge.catalogue.policy import WEEKDAYS
from concierge.catalogue.promotions import AppliedPromotion

CartStatus = Literal["ready", "empty", "needs_goal"]
# The flow key the engine keeps the last cart's request under, so a follow-up can change its constraints
# (catalogue.prefetch reads it, catalogue.dialogue writes it). Here, with the cart, so that the deterministic engine
# does not import the request parser and the catalogue search for it (docs/performance.md).
FLOW_KEY = "shopping"


class CartLine(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)

    product_id: str
    title: str
    sku: str
    options: dict[str, str] = Field(default_factory=dict)
    quantity: int = Field(ge=1)
    unit_price: Decimal
    discount: Decimal = Decimal("0.00")
    line_total: Decimal = Field(description="unit price × quantity, less the line's promotion")
    promotion: str | None = Field(None, description="the label of the promotion this line takes")
    url: str
    add_to_cart_url: str | None = Field(None, description="the storefront's add-to-cart link, when it defines one")
    arrives_by: date | None = Field(None, description="the latest it arrives, when the shop states delivery times")
    why: list[str] = Field(default_factory=list, description="why it fits the goal and the constraints")


class ConstraintCheck(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)

    name: Literal["budget", "in_stock", "needed_by", "recipient_age", "dietary", "size", "min_price"]
    hard: bool = Field(description="budget, in stock and the date are hard: never broken")
    wanted: str
    satisfied: bool
    detail: str


class LeftOut(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)

    product_id: str
    title: str
    reason: str = Field(description="why, as said after the product's name: 'is out of stock'")
    close: bool = Field(True, description="it matched the goal: a constraint kept it out, not its words")


class CartTotals(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)

    currency: str
    subtotal: Decimal
    discount: Decimal
    shipping: Decimal | None = Field(description="None: the shop states no delivery cost; it is added at checkout")
    total: Decimal


class CartDelivery(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)

    method: Literal["standard", "express"] = Field(description="express only when the date needs it")
    cost: Decimal | None = Field(description="before promotions; None: the shop states none (added at checkout)")
    arrives_by: date | None = Field(description="the latest day every line arrives, when the shop states times")


class Cart(BaseModel):
    """A cart proposed to the customer (the API reply's `cart`; docs/shopping.md)."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    goal: str
    status: CartStatus = Field(
        description="ready: lines that keep every constraint; empty: nothing found keeps them (left_out says why); "
        "needs_goal: the request names nothing to look for"
    )
    lines: list[CartLine] = Field(default_factory=list)
    totals: CartTotals
    delivery: CartDelivery
    promotions: list[AppliedPromotion] = Field(default_factory=list)
    checkout_url: str | None = Field(None, description="the storefront's checkout link for these lines")
    constraints: list[ConstraintCheck] = Field(default_factory=list)
    satisfied: bool = Field(description="every hard constraint holds for this cart")
    left_out: list[LeftOut] = Field(default_factory=list, description="candidates not taken, with the reason")
    free_shipping_from: Decimal | None = Field(None, description="the subtotal free delivery starts at, when under it")
    browse: list[str] = Field(default_factory=list, description="categories to suggest when the goal names nothing")
    searched: str = Field("", description="the words looked for, when no product has any of them")


def day_phrase(day: date) -> str:
    return f"{WEEKDAYS[day.weekday()]} {day.day} {day.strftime('%B')}"
