"""A free trial of a paid plan: the plan's features in merchant.json, the moment a question about one of them reaches,
the guardrail that keeps a trial from subscribers and from a second try, the trial's code, and where the offer goes
in a reply."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from concierge.engine.offering import with_offer
from concierge.journeys.definitions import Subscriptions
from concierge.offers import moments
from concierge.offers.catalogue import Offer, OfferMoment
from concierge.offers.guardrails import OfferContext, Outcome, Reason, decide
from concierge.offers.holdout import Group, assign
from concierge.store.commerce import Discount
from concierge.store.merchant import MerchantProfile

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
SALT = "trial-test"
PLANS = Subscriptions.model_validate(
    {
        "manage_url": "/account/billing",
        "plans": [
            {
                "code": "pro",
                "name": "Beanstalk Pro",
                "price": "9.00",
                "currency": "USD",
                "interval": "month",
                "features": [
                    {"code": "brew_log", "name": "brew log", "mentions": ["brewing history", "past brews"]},
                    {"code": "recipes", "name": "recipe library", "mentions": ["barista recipes"]},
                ],
            },
            {"code": "team", "name": "Team", "price": "29.00", "currency": "USD", "interval": "month"},
        ],
    }
)
TRIAL = Offer.model_validate(
    {
        "id": "pro-trial",
        "kind": "feature_trial",
        "trigger": {"moment": "paid_feature_interest"},
        "eligibility": {"needs_personalization_consent": False},
        "cap": {"count": 1, "days": 365},
        "value": {"type": "free_trial", "days": 14, "plan": "pro"},
        "wording": {"message": "Want to try {feature}? Code {code} gives you {value} of Pro."},
    }
)
TREATED = next(c for c in (f"c{n}" for n in range(100)) if assign(SALT, TRIAL.id, c, 0.1) is Group.TREATMENT)


def context(**changes) -> OfferContext:
    base = {
        "customer_id": TREATED,
        "conversation_id": "conv-1",
        "moment": "paid_feature_interest",
        "channel": "web",
        "now": NOW,
        "plan": "pro",
        "sentiment": 0.2,
        "personalization_consent": False,
    }
    return OfferContext.model_validate(base | changes)


@pytest.mark.parametrize(
    ("text", "feature"),
    [
        ("Can I keep a log of my past brews?", "brew log"),
        ("do you have barista recipes somewhere", "recipe library"),
        ("what's in Beanstalk Pro?", "Beanstalk Pro"),
        ("Is there a brewing history? And recipes for barista drinks?", "brew log"),  # the first named wins
    ],
)
def test_a_question_naming_a_paid_feature_or_its_plan_is_the_moment(text, feature):
    hint = moments.paid_feature_interest(text, PLANS)
    assert hint is not None and hint.moment is OfferMoment.PAID_FEATURE_INTEREST
    assert (hint.feature, hint.plan) == (feature, "pro")


@pytest.mark.parametrize(
    "text",
    [
        "How do I cancel Beanstalk Pro?",
        "why was I charged for the brew log?",
        "I already pay for the recipe library and it's empty",
        "where is my order?",
        "do you sell a team kettle?",  # "Team" lists no features: nothing to try
        "my brews keep failing",  # "past brews" needs both words
    ],
)
def test_managing_a_subscription_or_naming_nothing_paid_is_not(text):
    assert moments.paid_feature_interest(text, PLANS) is None


def test_a_trial_is_never_for_a_subscriber_nor_a_second_time_and_only_for_its_own_plan():
    assert decide(TRIAL, context(), salt=SALT).outcome is Outcome.OFFER
    held = decide(TRIAL, context(plans_held=["pro"]), salt=SALT)
    assert (held.outcome, held.reason) == (Outcome.NO_OFFER, Reason.ALREADY_ON_PLAN)
    tried = decide(TRIAL, context(trials_had=["pro"]), salt=SALT)
    assert (tried.outcome, tried.reason) == (Outcome.NO_OFFER, Reason.TRIAL_USED)
    assert decide(TRIAL, context(plans_held=["team"], trials_had=["team"]), salt=SALT).outcome is Outcome.OFFER
    other = decide(TRIAL, context(plan="team"), salt=SALT)
    assert (other.outcome, other.reason) == (Outcome.NO_OFFER, Reason.NOT_THIS_MOMENT)
    upset = decide(TRIAL, context(frustrated=True, plans_held=["pro"]), salt=SALT)
    assert upset.reason is Reason.CUSTOMER_FRUSTRATED, "the mood is checked first"


def profile(**changes) -> MerchantProfile:
    base = json.loads((Path(__file__).resolve().parents[2] / "stores" / "electronics" / "merchant.json").read_text())
    return MerchantProfile.model_validate(base | changes)


def test_merchant_json_refuses_a_trial_of_a_plan_it_does_not_sell_or_that_gives_nothing_to_try():
    shipped = profile()
    assert shipped.subscriptions is not None
    trial = next(o for o in shipped.offers if o.kind.value == "feature_trial")
    with pytest.raises(ValidationError, match="subscriptions\\.plans does not list"):
        profile(subscriptions=None)
    bare = shipped.subscriptions.model_dump(mode="json")
    bare["plans"][0]["features"] = []
    with pytest.raises(ValidationError, match="lists no features"):
        profile(subscriptions=bare)
    twice = shipped.subscriptions.model_dump(mode="json")
    twice["plans"].append({**twice["plans"][0], "code": "orbit-max", "name": "Orbit Max"})
    with pytest.raises(ValidationError, match="names a feature of both"):
        profile(subscriptions=twice)
    assert trial.code("KE").startswith("KE-PLUS-")


def test_a_trial_code_names_its_plan_and_days_and_is_nothing_else():
    issued = {"code": "KE-PLUS-1", "customer_id": "u", "reason": "offer:t", "conversation_id": "c"}
    times = {"issued_at": NOW, "expires_at": NOW + timedelta(days=30)}
    trial = Discount.model_validate(issued | times | {"free_trial_days": 7, "plan": "orbit-plus"})
    assert trial.percent is None and trial.amount_off is None
    with pytest.raises(ValidationError, match="names its plan"):
        Discount.model_validate(issued | times | {"free_trial_days": 7})
    with pytest.raises(ValidationError, match="either a percentage, an amount off or a free trial"):
        Discount.model_validate(issued | times | {"free_trial_days": 7, "plan": "p", "percent": 10})


def test_the_offer_goes_before_a_closing_question_and_after_anything_else():
    offer = "Code X gives you a free trial."
    assert with_offer("The answer. Is there anything else I can help with?", offer) == (
        "The answer.\n\nCode X gives you a free trial.\n\nIs there anything else I can help with?"
    )
    assert with_offer("The answer.", offer) == "The answer.\n\nCode X gives you a free trial."
    assert with_offer("", offer) == offer
