"""The merchant's return policy, evaluated from order data alone. Every decision carries a reason code the
agent can explain to the customer."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from concierge.models import Order, OrderStatus, Product


@dataclass(frozen=True)
class PolicyDecision:
    allowed: bool
    reason: str  # reason code
    explanation: str


ALLOW = PolicyDecision(True, "allowed", "")


def evaluate_return(
    order: Order,
    line_ids: list[str],
    products: dict[str, Product | None],
    already_returned: set[str],
    now: datetime,
    window_days: int,
) -> PolicyDecision:
    if order.status is not OrderStatus.DELIVERED:
        return PolicyDecision(
            False,
            f"order_{order.status.value}",
            f"Order {order.id} is {order.status.value}; returns start once an order has been delivered.",
        )
    delivered_at = order.shipment.delivered_at if order.shipment else None
    if delivered_at is None or now - delivered_at > timedelta(days=window_days):
        return PolicyDecision(
            False, "outside_return_window", f"Returns are accepted within {window_days} days of delivery."
        )
    for line_id in line_ids:
        line = order.line(line_id)
        if line is None:
            return PolicyDecision(False, "unknown_line", f"Order {order.id} has no item {line_id}.")
        if line_id in already_returned:
            return PolicyDecision(False, "already_returned", f"{line.title} from order {order.id} has already been returned.")
        product = products.get(line.product_id)
        if product is not None and not product.returnable:
            return PolicyDecision(False, "final_sale", f"{line.title} is final sale and cannot be returned.")
    return ALLOW


def refund_amount(order: Order, line_ids: list[str]) -> Decimal:
    """What the customer paid for those lines: computed here, never taken from the model or the customer."""
    return sum((order.line(i).unit_price * order.line(i).quantity for i in line_ids), Decimal("0.00"))
