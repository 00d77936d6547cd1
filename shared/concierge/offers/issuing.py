"""What the action layer can issue for an offer, and how an offer's value reads ("10% off"): shared by the next best
action (offers/nba.py, which never chooses an offer the action layer could not honour) and the `accept_offer` tool
(actions/executor.py, which issues the code).

Limits (docs/offers.md, "Codes and limits"):
- an offer's code is governed by the offer's own cap (decided by the guardrails, counted from the stored decisions),
  never by the one-code-per-`CONCIERGE_DISCOUNT_CAP_DAYS` rule of `issue_discount_code`;
- `CONCIERGE_DISCOUNT_MAX_PERCENT` holds for every percentage code, an offer's included;
- what the commerce port cannot represent is not issued: its `Discount` is a percentage, so `amount_off` and
  `free_trial` codes, and a `credit_bonus` (the port credits a return's refund, never a bonus on top), are refused
  with a reason rather than promised.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from decimal import Decimal

from concierge.offers.catalogue import AmountOff, CreditBonus, FreeTrial, Offer, OfferValue, PercentOff

# The value types the action layer issues today; None (another size, a reminder) issues nothing and is always fine.
ISSUABLE = frozenset({"percent_off", "amount_off", "credit_bonus"})  # a credit bonus: with the return (executor)
# `issue_discount`'s one-code window, for an offer code: none (the marker it writes is still the latest code, so an
# ad-hoc `issue_discount_code` waits CONCIERGE_DISCOUNT_CAP_DAYS after any code, an offer's included).
NO_WINDOW = datetime.max.replace(tzinfo=UTC)
# Discount.reason of an offer's code: attributes its redemptions to the offer (and, by the code, to the conversation).
REASON_PREFIX = "offer:"


def refusal(offer: Offer, max_percent: int) -> tuple[str, str] | None:
    """Why the action layer would not issue this offer, as (reason, explanation), or None when it would."""
    value = offer.value
    if value is None:
        return None
    if value.type not in ISSUABLE:
        return (
            "offer_not_issuable",
            f"Offers of {value.type.replace('_', ' ')} cannot be issued yet, so this one can't be taken here.",
        )
    if isinstance(value, PercentOff) and value.percent > max_percent:
        return "above_discount_limit", f"I can offer at most {max_percent}% off."
    return None


def discount_reason(offer_id: str) -> str:
    """The `Discount.reason` of a code issued for this offer ('offer:sold-out-alternative')."""
    return f"{REASON_PREFIX}{offer_id}"


def offer_of(discount_reason: str) -> str | None:
    """The offer id a discount was issued for, or None for an ad-hoc code."""
    return discount_reason.removeprefix(REASON_PREFIX) if discount_reason.startswith(REASON_PREFIX) else None


def action_id(conversation_id: str, customer_id: str, offer_id: str) -> str:
    """The action that takes an offer: one per conversation, customer and offer, so taking it twice (a retry, a
    second "yes") returns the first code instead of issuing another."""
    digest = hashlib.sha256(f"{conversation_id}:{customer_id}:offer:{offer_id}".encode()).hexdigest()
    return "O" + digest[:12].upper()


def value_words(value: OfferValue | None, currency: str | None = None) -> str:
    """The value as the wording's {value} says it: '10% off', '€15.00 off', 'a 10% bonus', 'a free 7-day trial'."""
    from concierge.actions.proposal import money

    match value:
        case PercentOff(percent=percent):
            return f"{percent}% off"
        case AmountOff(amount=amount):
            return f"{money(amount, currency)} off" if currency else f"{amount} off"
        case CreditBonus(percent=percent):
            return f"a {percent}% bonus"
        case FreeTrial(days=days):
            return f"a free {days}-day trial"
    return ""


def credit(value: OfferValue | None, refund: Decimal) -> Decimal | None:
    """The store credit a credit bonus gives for a refund (refund plus the bonus, to the cent), else None."""
    if not isinstance(value, CreditBonus):
        return None
    return (refund * (100 + value.percent) / 100).quantize(Decimal("0.01"))
