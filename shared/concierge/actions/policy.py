"""The merchant's return policy, evaluated from order data alone. Every decision carries a reason code the
agent can explain to the customer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from concierge.store.models import Order, OrderStatus, Product


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
    by_status = evaluate_status("return", order)
    if not by_status.allowed:
        return by_status
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
            return PolicyDecision(
                False, "already_returned", f"{line.title} from order {order.id} has already been returned."
            )
        product = products.get(line.product_id)
        if product is not None and not product.returnable:
            return PolicyDecision(False, "final_sale", f"{line.title} is final sale and cannot be returned.")
    return ALLOW


def refund_amount(order: Order, line_ids: list[str]) -> Decimal:
    """What the customer paid for those lines: computed here, never taken from the model or the customer."""
    total = Decimal("0.00")
    for line_id in line_ids:
        line = order.line(line_id)
        assert line is not None  # evaluate_return has found every line
        total += line.unit_price * line.quantity
    return total


# Which order statuses allow which action, and why not otherwise (reason code, explanation template).
STATUS_RULES: dict[str, dict[OrderStatus, tuple[bool, str, str]]] = {
    "return": {
        OrderStatus.PENDING: (
            False,
            "order_pending",
            "Order {id} has not shipped yet: it can be cancelled instead of returned.",
        ),
        OrderStatus.SHIPPED: (
            False,
            "order_shipped",
            "Order {id} is on its way; returns start once it has been delivered.",
        ),
        OrderStatus.DELIVERED: (True, "allowed", ""),
        OrderStatus.CANCELLED: (False, "order_cancelled", "Order {id} was cancelled, so there is nothing to return."),
    },
    "cancel": {
        OrderStatus.PENDING: (True, "allowed", ""),
        OrderStatus.SHIPPED: (
            False,
            "order_shipped",
            "Order {id} has already shipped, so it can't be cancelled; you can return it when it arrives.",
        ),
        OrderStatus.DELIVERED: (
            False,
            "order_delivered",
            "Order {id} has been delivered, so it can't be cancelled; it can be returned instead.",
        ),
        OrderStatus.CANCELLED: (False, "already_cancelled", "Order {id} is already cancelled."),
    },
}
STATUS_RULES["exchange"] = STATUS_RULES["return"]
STATUS_RULES["modify"] = {
    OrderStatus.PENDING: (True, "allowed", ""),
    OrderStatus.SHIPPED: (False, "order_shipped", "Order {id} has already shipped, so it can't be changed any more."),
    OrderStatus.DELIVERED: (
        False,
        "order_delivered",
        "Order {id} has been delivered, so it can't be changed; items can be returned or exchanged instead.",
    ),
    OrderStatus.CANCELLED: (False, "order_cancelled", "Order {id} was cancelled, so there is nothing to change."),
}


def evaluate_status(action: str, order: Order) -> PolicyDecision:
    allowed, reason, explanation = STATUS_RULES[action][order.status]
    return PolicyDecision(allowed, reason, explanation.format(id=order.id))


def evaluate_cancel(order: Order) -> PolicyDecision:
    return evaluate_status("cancel", order)


def evaluate_modify(order: Order, remove_line_ids: list[str]) -> PolicyDecision:
    by_status = evaluate_status("modify", order)
    if not by_status.allowed:
        return by_status
    unknown = [i for i in remove_line_ids if order.line(i) is None]
    if unknown:
        return PolicyDecision(False, "unknown_line", f"Order {order.id} has no item {unknown[0]}.")
    if remove_line_ids and len(set(remove_line_ids)) >= len(order.lines):
        return PolicyDecision(
            False, "would_empty_order", f"Removing every item cancels order {order.id}: it can be cancelled instead."
        )
    return ALLOW
