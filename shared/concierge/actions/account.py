"""What `get_account` answers (docs/account.md): a verified customer's store credit, the gift cards they hold and
their recent orders with what each cost, how it was paid and the refunds issued on it — read only, and only ever
the customer's own.

- A gift card is never shown in full: its last 4 characters (`GiftCard.masked`), never its code, reach a reply, a
  model or a log.
- A gift card the customer names is looked for among the cards they hold, and nowhere else: a code that is someone
  else's and a code that does not exist get the same answer (`GIFT_CARD_NOT_FOUND`), and nothing is read that could
  tell them apart.
- A payment is its method, and for a card its brand and last 4 digits: nothing else of it is held.

The executor (`OrderLookups`) reads the store and applies the ownership rules; this module shapes what was read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from concierge.store.commerce import ReturnRecord
from concierge.store.models import GIFT_CARD_SHOWN, GiftCard, Order, Payment, compact_code

GIFT_CARD_NOT_FOUND = (
    "I couldn't find that gift card on your account. I can only see the gift cards held on your account."
)
STORE_CREDIT_ENTRIES = 5
# How payment methods other than a card are named (anything else: its own name, underscores as spaces).
METHOD_NAMES = {
    "paypal": "PayPal",
    "ideal": "iDEAL",
    "gift_card": "a gift card",
    "store_credit": "store credit",
    "apple_pay": "Apple Pay",
    "google_pay": "Google Pay",
    "klarna": "Klarna",
    "bank_transfer": "bank transfer",
    "sepa_debit": "SEPA direct debit",
}


def held_card(cards: Sequence[GiftCard], reference: str) -> GiftCard | None:
    """The card of `cards` (the customer's own) that what they wrote names: its whole code, or its last characters
    (at least 4), compared without spaces, dashes or case. None when it names none of them, or more than one."""
    wanted = compact_code(reference)
    if len(wanted) < GIFT_CARD_SHOWN:
        return None
    exact = [c for c in cards if c.compact == wanted]
    found = exact or [c for c in cards if c.compact.endswith(wanted)]
    return found[0] if len(found) == 1 else None


def payment_label(payment: Payment) -> str:
    """How an order was paid, as a customer reads it: "Visa card ending 4417", "PayPal", "iDEAL"."""
    if payment.method == "card":
        brand = f"{payment.brand} card" if payment.brand else "card"
        return f"{brand} ending {payment.last4}" if payment.last4 else brand
    return METHOD_NAMES.get(payment.method, payment.method.replace("_", " "))


def card_view(card: GiftCard, now: datetime) -> dict[str, Any]:
    if card.expires_at is not None and card.expires_at <= now:
        status = "expired"
    elif card.balance <= 0:
        status = "used up"
    else:
        status = "active"
    return {
        "card": card.masked,
        "last4": card.last4,
        "balance": str(card.balance),
        "currency": card.currency,
        "issued_at": card.issued_at.isoformat(),
        "expires_at": card.expires_at.isoformat() if card.expires_at else None,
        "status": status,
    }


def refund_view(record: ReturnRecord, order: Order) -> dict[str, Any]:
    titles = [line.title for line in order.lines if line.line_id in set(record.line_ids)]
    return {
        "reference": record.return_id,
        "amount": str(record.refund_amount),
        "currency": record.currency,
        "to": record.refund_to,
        "issued_at": record.created_at.isoformat(),
        "items": titles,
    }


def order_view(order: Order, refunds: Sequence[ReturnRecord]) -> dict[str, Any]:
    issued = [r for r in refunds if r.refund_amount > 0]
    return {
        "order_id": order.id,
        "placed_at": order.placed_at.isoformat(),
        "status": order.status.value,
        "items": [line.title for line in order.lines],
        "subtotal": str(order.subtotal),
        "shipping": str(order.shipping_cost),
        "tax": str(order.tax),
        "total": str(order.total),
        "currency": order.currency,
        "paid_with": payment_label(order.payment),
        "payment": {"method": order.payment.method, "brand": order.payment.brand, "last4": order.payment.last4},
        "refunds": [refund_view(r, order) for r in sorted(issued, key=lambda r: r.created_at)],
        "refunded": str(sum((r.refund_amount for r in issued), Decimal("0.00"))),
    }


def summary(
    balance: Decimal,
    entries: Sequence[Mapping[str, Any]],
    cards: Sequence[GiftCard],
    orders: Sequence[Order],
    refunds: Mapping[str, Sequence[ReturnRecord]],
    now: datetime,
    asked_card: GiftCard | None = None,
    named_order: Order | None = None,
) -> dict[str, Any]:
    """The `get_account` result: store credit, gift cards held, recent orders (the one named first), and the card or
    order the customer asked about, when they named one."""
    currency = next((str(e["currency"]) for e in entries if e.get("currency")), None)
    if currency is None and orders:
        currency = orders[0].currency  # no entry yet: the shop's currency, as its orders are paid
    result: dict[str, Any] = {
        "store_credit": {
            "balance": str(balance),
            "currency": currency,
            "entries": [dict(e) for e in entries[:STORE_CREDIT_ENTRIES]],
        },
        "gift_cards": [card_view(c, now) for c in cards],
        "orders": [order_view(o, refunds.get(o.id, ())) for o in orders],
    }
    if asked_card is not None:
        result["gift_card"] = card_view(asked_card, now)
    if named_order is not None:
        result["order"] = order_view(named_order, refunds.get(named_order.id, ()))
    return result
