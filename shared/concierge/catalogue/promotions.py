"""The merchant's promotions (merchant.json `promotions`), applied to a cart by code.

The rules, in order (docs/shopping.md):

1. Line promotions — `percent_off` and `buy_x_get_y` — apply to the lines in their scope (categories, products,
   tags); a line takes the one that saves it most, never two. `buy_x_get_y` makes `get` of every `buy + get` of the
   same item free. A `min_subtotal` is met by the subtotal of the lines in scope.
2. Order promotions — `amount_off` — then apply once to the cart, the one that saves most, when the subtotal of
   its lines in scope (after line discounts) reaches its `min_subtotal`; never more than that subtotal.
3. Delivery — the shop's standard delivery cost (merchant.json `delivery.cost`) — is free when a running
   `free_shipping` covers a line of the cart and the cart's subtotal after discounts reaches its `min_subtotal`.
   Express delivery (chosen when a date needs it) is never made free by it.

Only promotions running at the time (`starts_at` <= now < `ends_at`, and enabled) apply. Money is exact (Decimal),
rounded to the cent half up, line by line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from pydantic import BaseModel, ConfigDict, Field

from concierge.catalogue.policy import AmountOff, AnyPromotion, BuyXGetY, FreeShipping, PercentOff

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class PricedLine:
    """What pricing needs of a cart line."""

    product_id: str
    category: str
    tags: tuple[str, ...]
    unit_price: Decimal
    quantity: int

    @property
    def amount(self) -> Decimal:
        return cents(self.unit_price * self.quantity)


class AppliedPromotion(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    label: str
    kind: str
    saving: Decimal = Field(description="what it takes off the cart (for free shipping: the delivery cost saved)")


class Pricing(BaseModel):
    model_config = ConfigDict(frozen=True)

    line_discounts: list[Decimal]
    line_promotions: list[str | None] = Field(description="the id of the promotion each line took, if any")
    subtotal: Decimal
    discount: Decimal = Field(description="line and order promotions together")
    shipping: Decimal | None = Field(description="None: the shop states no delivery cost (added at checkout)")
    total: Decimal
    applied: list[AppliedPromotion]
    free_shipping_from: Decimal | None = Field(
        None, description="the subtotal a running free-shipping promotion needs, when this cart is under it"
    )


def running(promotions: Sequence[AnyPromotion], now: datetime) -> list[AnyPromotion]:
    return [p for p in promotions if p.running(now)]


def _in_scope(promotion: AnyPromotion, line: PricedLine) -> bool:
    return promotion.covers(line.product_id, line.category, list(line.tags))


def _scope_subtotal(promotion: AnyPromotion, lines: Sequence[PricedLine], discounts: Sequence[Decimal]) -> Decimal:
    return sum((line.amount - d for line, d in zip(lines, discounts, strict=True) if _in_scope(promotion, line)), ZERO)


def _line_saving(promotion: AnyPromotion, line: PricedLine) -> Decimal:
    if isinstance(promotion, PercentOff):
        return cents(line.amount * promotion.percent / 100)
    if isinstance(promotion, BuyXGetY):
        free = line.quantity // (promotion.buy + promotion.get) * promotion.get
        return cents(line.unit_price * free)
    return ZERO


def price(
    lines: Sequence[PricedLine],
    promotions: Sequence[AnyPromotion],
    now: datetime,
    shipping_cost: Decimal | None,
    free_shipping: bool = True,
) -> Pricing:
    """`free_shipping=False`: the delivery is not the standard one (express), which free-shipping promotions do not
    cover."""
    active = running(promotions, now)
    no_discounts = [ZERO] * len(lines)
    discounts: list[Decimal] = []
    taken: list[str | None] = []
    for line in lines:
        best, best_id = ZERO, None
        for promotion in active:
            if not isinstance(promotion, (PercentOff, BuyXGetY)) or not _in_scope(promotion, line):
                continue
            if promotion.min_subtotal is not None and _scope_subtotal(promotion, lines, no_discounts) < (
                promotion.min_subtotal
            ):
                continue
            saving = _line_saving(promotion, line)
            if saving > best:
                best, best_id = saving, promotion.id
        discounts.append(best)
        taken.append(best_id)
    subtotal = sum((line.amount for line in lines), ZERO)
    after_lines = subtotal - sum(discounts, ZERO)
    applied: dict[str, AppliedPromotion] = {}
    by_id = {p.id: p for p in active}
    for promotion_id, saving in zip(taken, discounts, strict=True):
        if promotion_id is None:
            continue
        promotion = by_id[promotion_id]
        before = applied.get(promotion_id)
        applied[promotion_id] = AppliedPromotion(
            id=promotion_id,
            label=promotion.label,
            kind=promotion.kind,
            saving=(before.saving if before else ZERO) + saving,
        )
    order_discount = ZERO
    best_order: AmountOff | None = None
    for promotion in active:
        if not isinstance(promotion, AmountOff):
            continue
        in_scope = _scope_subtotal(promotion, lines, discounts)
        if in_scope <= 0 or (promotion.min_subtotal is not None and in_scope < promotion.min_subtotal):
            continue
        saving = min(promotion.amount, in_scope)
        if saving > order_discount:
            order_discount, best_order = cents(saving), promotion
    if best_order is not None:
        applied[best_order.id] = AppliedPromotion(
            id=best_order.id, label=best_order.label, kind=best_order.kind, saving=order_discount
        )
    after_discounts = after_lines - order_discount
    shipping = shipping_cost
    free_from: Decimal | None = None
    if shipping_cost is not None and shipping_cost > 0 and lines and free_shipping:
        for promotion in active:
            if not isinstance(promotion, FreeShipping) or not any(_in_scope(promotion, line) for line in lines):
                continue
            if promotion.min_subtotal is None or after_discounts >= promotion.min_subtotal:
                shipping = ZERO
                applied[promotion.id] = AppliedPromotion(
                    id=promotion.id, label=promotion.label, kind=promotion.kind, saving=shipping_cost
                )
                free_from = None
                break
            free_from = promotion.min_subtotal if free_from is None else min(free_from, promotion.min_subtotal)
    if not lines:  # nothing to deliver
        shipping = None if shipping_cost is None else ZERO
    total = after_discounts + (shipping or ZERO)
    return Pricing(
        line_discounts=discounts,
        line_promotions=taken,
        subtotal=cents(subtotal),
        discount=cents(subtotal - after_discounts),
        shipping=shipping if shipping is None else cents(shipping),
        total=cents(total),
        applied=list(applied.values()),
        free_shipping_from=free_from,
    )
