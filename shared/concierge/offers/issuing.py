"""What the action layer can issue for an offer, and how an offer's value reads ("10% off"): shared by the next best
action (offers/nba.py, which never chooses an offer the action layer could not honour) and the `accept_offer` tool
(actions/executor.py, which issues the code).

Limits (docs/offers.md, "Codes and limits"):
- an offer's code is governed by the offer's own cap (decided by the guardrails, counted from the stored decisions),
  never by the one-code-per-`CONCIERGE_DISCOUNT_CAP_DAYS` rule of `issue_discount_code`;
- `CONCIERGE_DISCOUNT_MAX_PERCENT` holds for every percentage code, an offer's included;
- a `free_trial` code names its plan and days (`Discount.free_trial_days`, `plan`): the storefront starts the trial
  when the code is used, and reports that as the code's redemption (its order is the trial's start);
- a `credit_bonus` is not a code: it is paid with the return that takes it (actions/executor.py).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from concierge.offers.catalogue import AmountOff, CreditBonus, FreeTrial, Offer, OfferValue, PercentOff

if TYPE_CHECKING:
    from concierge.store.commerce import CommerceBackend

# The value types the action layer issues today; None (another size, a reminder) issues nothing and is always fine.
ISSUABLE = frozenset({"percent_off", "amount_off", "free_trial", "credit_bonus"})  # a bonus: with the return
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


class CodeNotIssued(Exception):
    """The code could not be issued: `reason` (a denial's code) and the explanation the customer may read."""

    def __init__(self, reason: str, explanation: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.explanation = explanation


def issue_code(
    store: CommerceBackend,
    offer: Offer,
    *,
    customer_id: str,
    first_name: str,
    shop: str,
    code_prefix: str,
    conversation_id: str,
    now: datetime,
    valid_days: int,
    currency: str | None = None,
) -> dict[str, Any]:
    """Issue the offer's code to the customer, attributed to the conversation and the offer (`Discount.reason`), and
    the result `accept_offer` returns: the code, its value and expiry, the `accepted` template and its values. The
    one code path of an offer's code: the action layer's (`ActionExecutor._take_offer`, run once per conversation,
    customer and offer) and a journey's (journeys/runner.py, once per run). An amount off is in `currency` (a cart's),
    else in the currency of the customer's latest order. CodeNotIssued when it cannot be issued."""
    from concierge.store.commerce import Discount

    values = {"first_name": first_name, "shop": shop, "value": value_words(offer.value)}
    result: dict[str, Any] = {"offer_id": offer.id, "kind": offer.kind.value, "accepted": offer.wording.accepted}
    code = offer.code(code_prefix)
    if code is not None:
        value: dict[str, Any]
        if isinstance(offer.value, AmountOff):  # in the shop's currency: the one the customer's orders are in
            if currency is None:
                latest = store.recent_orders(customer_id, 1)
                if not latest:
                    raise CodeNotIssued("code_not_issued", "This offer needs an order of yours to know its currency.")
                currency = latest[0].currency
            value = {"amount_off": offer.value.amount, "currency": currency}
            values["value"] = value_words(offer.value, currency)
        elif isinstance(offer.value, FreeTrial):
            value = {"free_trial_days": offer.value.days, "plan": offer.value.plan}
        else:
            assert isinstance(offer.value, PercentOff)  # refusal() let only these three through
            value = {"percent": offer.value.percent}
        discount = Discount(
            code=code,
            customer_id=customer_id,
            reason=discount_reason(offer.id),
            conversation_id=conversation_id,
            issued_at=now,
            expires_at=now + timedelta(days=valid_days),
            **value,
        )
        # the offer's cap governs its codes (the guardrails counted it): no one-code window here
        if not store.issue_discount(discount, NO_WINDOW):
            raise CodeNotIssued("code_not_issued", "The code couldn't be issued just now; please try again.")
        values["code"] = code
        result |= {
            "code": code,
            **{k: str(v) if isinstance(v, Decimal) else v for k, v in value.items()},
            "expires_at": discount.expires_at.isoformat(),
            "single_use": True,
        }
    result["values"] = values
    return result
