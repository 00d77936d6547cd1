"""`decide`: every "never" rule refuses with its reason, the holdout group is recorded as held out, and a decision
is a record with no customer data beyond ids; the context cannot carry a protected attribute."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from pydantic import BaseModel, ValidationError

from concierge.conversation.api import Channel
from concierge.memory.store import MemoryStore
from concierge.offers.catalogue import PROTECTED_ATTRIBUTES, PROXY_ATTRIBUTES, Offer
from concierge.offers.guardrails import (
    UPSET_SENTIMENT,
    Exposure,
    OfferContext,
    OfferDecision,
    Outcome,
    Reason,
    audit_item,
    decide,
)
from concierge.offers.holdout import Group, assign

NOW = datetime(2026, 11, 29, 15, 0, tzinfo=UTC)
SALT = "hearthside-test"

RETENTION = Offer.model_validate(
    {
        "id": "return-store-credit",
        "kind": "return_retention",
        "trigger": {"moment": "return_requested", "categories": ["mugs"]},
        "eligibility": {"channels": ["web", "email"], "rules": [{"fact": "previous_orders", "at_least": 1}]},
        "cap": {"count": 1, "days": 90},
        "value": {"type": "credit_bonus", "percent": 10},
        "wording": {"message": "Or {credit} in store credit instead of the {refund} refund ({value} on top)?"},
        "holdout_share": 0.1,
    }
)


def customer_in(group: Group, offer: Offer = RETENTION) -> str:
    """The first synthetic customer id the holdout puts in `group` for the offer."""
    return next(
        c for c in (f"cust_{n}" for n in range(1000)) if assign(SALT, offer.id, c, offer.holdout_share) is group
    )


TREATED, HELD_OUT = customer_in(Group.TREATMENT), customer_in(Group.HOLDOUT)


def moment(**changes) -> OfferContext:
    """A customer returning a mug on the web, calm, consenting, with one earlier order."""
    base = {
        "customer_id": TREATED,
        "conversation_id": "conv-1",
        "moment": "return_requested",
        "channel": "web",
        "now": NOW,
        "product_id": "stoneware-mug",
        "product_category": "Mugs",
        "sentiment": -0.2,
        "sentiments": [0.1],
        "personalization_consent": True,
        "facts": {"previous_orders": 1, "item_value": "22.00"},
    }
    return OfferContext.model_validate(base | changes)


def test_a_calm_eligible_customer_in_the_treatment_group_is_offered_it():
    decision = decide(RETENTION, moment(), salt=SALT)
    assert (decision.outcome, decision.reason, decision.group) == (Outcome.OFFER, Reason.ELIGIBLE, Group.TREATMENT)
    assert decision.value == RETENTION.value and decision.exposure is not None


def test_the_holdout_group_is_recorded_as_held_out_after_every_guardrail_passed():
    decision = decide(RETENTION, moment(customer_id=HELD_OUT), salt=SALT)
    assert (decision.outcome, decision.reason, decision.group) == (
        Outcome.HOLD_OUT,
        Reason.HOLDOUT_GROUP,
        Group.HOLDOUT,
    )
    assert decision.detail == "in the holdout group (10% of customers)"
    # what they would have been offered is kept, for the comparison; it counts as an exposure
    assert decision.value == RETENTION.value
    assert decision.exposure == Exposure(offer_id=RETENTION.id, conversation_id="conv-1", at=NOW)


def test_a_held_out_customer_refused_by_a_guardrail_is_not_offered_and_keeps_their_group():
    decision = decide(RETENTION, moment(customer_id=HELD_OUT, frustrated=True), salt=SALT)
    assert (decision.outcome, decision.reason, decision.group) == (
        Outcome.NO_OFFER,
        Reason.CUSTOMER_FRUSTRATED,
        Group.HOLDOUT,
    )
    assert decision.value is None and decision.exposure is None


@pytest.mark.parametrize(
    "changes, reason, detail",
    [
        ({"person_owns": True}, Reason.PERSON_OWNS_CONVERSATION, "a person owns the conversation"),
        ({"frustrated": True}, Reason.CUSTOMER_FRUSTRATED, "the customer is frustrated"),
        ({"sentiment": UPSET_SENTIMENT}, Reason.CUSTOMER_UPSET, "sentiment at or below -0.5"),
        ({"sentiments": [0.4, -0.72, 0.1]}, Reason.CUSTOMER_UPSET, "sentiment at or below -0.5"),
        ({"shop_at_fault": True}, Reason.SHOP_AT_FAULT, "owed a fix, not an offer"),
        ({"declined": True}, Reason.CUSTOMER_DECLINED, "want no credit, discount or offer"),
        ({"channel": "whatsapp"}, Reason.CHANNEL_NOT_ELIGIBLE, "the offer is not made on whatsapp"),
        ({"personalization_consent": False}, Reason.NO_PERSONALIZATION_CONSENT, "needs consent to personalization"),
        ({"facts": {"previous_orders": 0}}, Reason.NOT_ELIGIBLE, "needs previous_orders at least 1"),
        ({"facts": {}}, Reason.NOT_ELIGIBLE, "needs previous_orders at least 1"),
        ({"moment": "variant_out_of_stock"}, Reason.NOT_THIS_MOMENT, "the offer applies at return_requested"),
        ({"product_category": "cookware"}, Reason.NOT_THIS_MOMENT, "not in the offer's categories"),
    ],
)
def test_each_never_rule_and_eligibility_refuses_with_its_reason(changes, reason, detail):
    for customer in (TREATED, HELD_OUT):  # the group never overrides a refusal
        decision = decide(RETENTION, moment(customer_id=customer, **changes), salt=SALT)
        assert (decision.outcome, decision.reason) == (Outcome.NO_OFFER, reason)
        assert detail in decision.detail


def test_mild_regret_is_not_upset():
    # "Unfortunately the mug is too small" scores -0.34: another size is still a fair thing to suggest
    assert decide(RETENTION, moment(sentiment=-0.34), salt=SALT).outcome is Outcome.OFFER


def test_never_twice_in_a_conversation_whatever_offer_came_first():
    earlier = Exposure(offer_id="sold-out-alternative", conversation_id="conv-1", at=NOW - timedelta(minutes=3))
    decision = decide(RETENTION, moment(exposures=[earlier]), salt=SALT)
    assert (decision.outcome, decision.reason) == (Outcome.NO_OFFER, Reason.ALREADY_IN_CONVERSATION)
    other_conversation = earlier.model_copy(update={"conversation_id": "conv-0"})
    assert decide(RETENTION, moment(exposures=[other_conversation]), salt=SALT).outcome is Outcome.OFFER


def test_the_cap_counts_this_offers_exposures_in_its_period():
    def exposed(days_ago: float, offer_id: str = RETENTION.id) -> Exposure:
        return Exposure(offer_id=offer_id, conversation_id="conv-0", at=NOW - timedelta(days=days_ago))

    capped = decide(RETENTION, moment(exposures=[exposed(89)]), salt=SALT)
    assert (capped.reason, capped.detail) == (Reason.CAP_REACHED, "at most 1 per customer in 90 days")
    assert decide(RETENTION, moment(exposures=[exposed(90)]), salt=SALT).outcome is Outcome.OFFER
    assert decide(RETENTION, moment(exposures=[exposed(5, "cart-reminder")]), salt=SALT).outcome is Outcome.OFFER


def test_a_switched_off_offer_is_never_made():
    off = RETENTION.model_copy(update={"enabled": False})
    assert decide(off, moment(), salt=SALT).reason is Reason.OFFER_DISABLED


def test_a_cart_reminder_waits_for_its_hours_and_needs_no_conversation():
    reminder = Offer.model_validate(
        {
            "id": "cart-reminder",
            "kind": "cart_reminder",
            "trigger": {"moment": "cart_abandoned", "after_hours": 24},
            "eligibility": {"channels": ["email"], "rules": [{"fact": "cart_value", "at_least": 30}]},
            "wording": {"message": "Your basket at {shop} still holds the {items}."},
            "holdout_share": 0,
        }
    )
    journey = {
        "conversation_id": None,
        "moment": "cart_abandoned",
        "channel": "email",
        "sentiment": None,
        "sentiments": [],
        "product_id": None,
        "product_category": None,
        "facts": {"cart_value": "48.00"},
    }
    early = decide(reminder, moment(cart_idle_hours=3, **journey), salt=SALT)
    assert (early.reason, early.detail) == (Reason.NOT_THIS_MOMENT, "the cart has not been left for 24 hours yet")
    due = decide(reminder, moment(cart_idle_hours=26, **journey), salt=SALT)
    assert (due.outcome, due.conversation_id) == (Outcome.OFFER, None)
    # a share of 0 holds nobody out
    assert decide(reminder, moment(cart_idle_hours=26, customer_id=HELD_OUT, **journey), salt=SALT).outcome is (
        Outcome.OFFER
    )


def _field_names(model: type[BaseModel]) -> set[str]:
    names = set()
    for name, info in model.model_fields.items():
        names.add(name)
        annotation = info.annotation
        for inner in (annotation, *getattr(annotation, "__args__", ())):
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                names |= _field_names(inner)
    return names


def test_the_context_has_no_field_for_a_protected_attribute_or_a_proxy_and_refuses_one():
    names = _field_names(OfferContext)
    assert "facts" in names and "previous_orders" in names  # the walk reaches the nested models
    assert not names & {*PROTECTED_ATTRIBUTES, *PROXY_ATTRIBUTES}
    for attribute in ("age", "gender", "ethnicity", "religion", "health", "postcode"):
        with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
            moment(**{attribute: "x"})
        with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
            moment(facts={attribute: 1})


def test_a_decision_is_a_record_of_ids_rules_and_the_offer_never_the_customers_values():
    decision = decide(RETENTION, moment(facts={"previous_orders": 0, "item_value": "22.00"}), salt=SALT)
    record = decision.model_dump(mode="json")
    assert record == {
        "offer_id": "return-store-credit",
        "kind": "return_retention",
        "moment": "return_requested",
        "customer_id": TREATED,
        "conversation_id": "conv-1",
        "channel": "web",
        "decided_at": "2026-11-29T15:00:00Z",
        "outcome": "no_offer",
        "reason": "not_eligible",
        "detail": "needs previous_orders at least 1",
        "group": "treatment",
        "holdout_share": 0.1,
        "value": None,
        "presented": None,  # set by the next best action on an `offer` decision (offers/nba.py)
    }
    assert OfferDecision.model_validate(record) == decision
    assert "22.00" not in str(record)


def test_a_decision_goes_into_the_customers_audit_trail():
    decision = decide(RETENTION, moment(customer_id=HELD_OUT), salt=SALT)
    item = audit_item(MemoryStore(None, ttl_days=365), decision).item
    assert item["pk"] == f"CUST#{HELD_OUT}" and item["sk"].startswith("AUDIT#")
    assert item["sk"].startswith(f"AUDIT#{decision.decided_at.isoformat()}#"), "keyed by the decision's time"
    assert item["action"] == "offer.decided"
    assert item["detail"]["outcome"] == "hold_out" and item["detail"]["value"]["percent"] == Decimal(10)


def test_the_context_takes_the_mood_as_values_and_an_aware_time():
    with pytest.raises(ValidationError, match="less than or equal to 1"):
        moment(sentiment=1.5)
    with pytest.raises(ValidationError, match="timezone"):
        moment(now=datetime(2026, 11, 29, 15, 0))
    assert moment(channel=Channel.EMAIL).channel is Channel.EMAIL


@pytest.mark.parametrize(
    ("text", "turned_down"),
    [
        ("just the money back please, no store credit", True),
        ("I don't want a voucher, refund to my card", True),
        ("no discounts please, just cancel it", True),
        ("refund it to my card without any offers", True),
        ("refund it to my credit card please", False),
        ("not to my credit card, to my bank", False),
        ("can I have store credit instead?", False),
        ("is there a discount for bulk orders?", False),
    ],
)
def test_what_turns_an_offer_down_in_so_many_words(text, turned_down):
    from concierge.offers.moments import declines

    assert declines(text) is turned_down
