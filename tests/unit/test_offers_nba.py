"""The next best action (offers/nba.py): scoring with its reasons, the choice among offers, help and nothing, the
context an engine builds, the wording rendered, the tools a model sees, and the holdout salt setting. No network:
the store and the bus are in-memory fakes."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest

from concierge.conversation.api import Channel
from concierge.conversation.turn import Profile, ProfileRead
from concierge.offers import issuing, nba
from concierge.offers.catalogue import Offer, OfferMoment
from concierge.offers.guardrails import Exposure, OfferDecision, OfferFacts, Outcome, Reason
from concierge.offers.holdout import Group, assign
from concierge.platform.events import OfferPresented
from concierge.platform.settings import ActionsSettings, OfferSaltMissing
from concierge.store.demo import DEMO_MERCHANT, DEMO_OFFERS
from concierge.store.models import Customer

NOW = datetime(2026, 11, 29, 15, 0, tzinfo=UTC)
SALT = "nba-test-salt"
BASE_ENV = {"CONCIERGE_MEMORY_TABLE": "memory", "CONCIERGE_STORE_TABLE": "store", "CONCIERGE_EVENT_BUS": "bus"}
SOLD_OUT = next(o for o in DEMO_OFFERS if o.id == "sold-out-alternative")  # 10% off, holdout 10%
SECOND = Offer.model_validate(
    {
        "id": "sold-out-five",
        "kind": "out_of_stock_alternative",
        "trigger": {"moment": "variant_out_of_stock"},
        "eligibility": {"needs_personalization_consent": False},
        "value": {"type": "percent_off", "percent": 5},
        "wording": {"message": "The {alternative} is in stock: {value} with code {code}."},
        "holdout_share": 0.1,
    }
)


def customer_in(group: Group, *offers: Offer) -> str:
    """A synthetic customer id in `group` for every offer given."""
    return next(
        c
        for c in (f"cust_{n}" for n in range(5000))
        if all(assign(SALT, o.id, c, o.holdout_share) is group for o in offers)
    )


TREATED = customer_in(Group.TREATMENT, SOLD_OUT, SECOND)
HELD_OUT = customer_in(Group.HOLDOUT, SOLD_OUT)


@dataclass
class FakeMemory:
    decisions: list[OfferDecision] = field(default_factory=list)
    reads: int = 0

    def put_offer_decisions(self, decisions, *, locale=None):
        self.decisions += decisions

    def offer_decisions(self, customer_id, since, *, exposures_only=False):
        self.reads += 1
        return [
            d
            for d in self.decisions
            if d.customer_id == customer_id and d.decided_at >= since and (d.exposure or not exposures_only)
        ]

    def offer_exposures(self, customer_id, since):
        return [d.exposure for d in self.offer_decisions(customer_id, since, exposures_only=True) if d.exposure]


@dataclass
class FakeEvents:
    published: list = field(default_factory=list)

    def publish(self, *events):
        self.published += events


@dataclass
class Services:
    offers: list[Offer]
    settings: ActionsSettings = field(
        default_factory=lambda: ActionsSettings.from_env(BASE_ENV | {"CONCIERGE_OFFER_SALT": SALT})
    )
    memory: FakeMemory = field(default_factory=FakeMemory)
    events: FakeEvents = field(default_factory=FakeEvents)

    def merchant(self):
        return DEMO_MERCHANT.model_copy(update={"offers": self.offers})


def sold_out(customer_id: str = TREATED, **changes) -> nba.OfferContext:
    values = {
        "customer_id": customer_id,
        "conversation_id": "conv-1",
        "moment": OfferMoment.VARIANT_OUT_OF_STOCK,
        "channel": Channel.WEB,
        "now": NOW,
        "item_value": Decimal("80.00"),
    } | changes
    return nba.offer_context(**values)


# --- the salt ----------------------------------------------------------------------------------------------------------
def test_the_holdout_salt_is_a_setting_required_where_offers_are_decided():
    settings = ActionsSettings.from_env(BASE_ENV | {"CONCIERGE_OFFER_SALT": "arn:aws:cloudformation:stack/x/uuid"})
    assert settings.holdout_salt() == "arn:aws:cloudformation:stack/x/uuid"
    assert "arn:aws" not in repr(settings), "the salt is a key: kept out of reprs and logs"
    missing = ActionsSettings.from_env(BASE_ENV)
    with pytest.raises(OfferSaltMissing, match="CONCIERGE_OFFER_SALT"):
        missing.holdout_salt()
    services = Services([SOLD_OUT], settings=missing)
    with pytest.raises(OfferSaltMissing):
        nba.consider(services, sold_out())
    assert services.memory.decisions == [], "nothing is decided with an unstable holdout"
    # a moment without offers needs no salt
    assert nba.consider(Services([], settings=missing), sold_out()).chosen.kind == "nothing"


def test_the_local_stack_has_a_fixed_salt():
    from concierge.local.stack import LOCAL_VALUES

    assert LOCAL_VALUES["offer_salt"]


# --- scoring -----------------------------------------------------------------------------------------------------------
def test_an_offer_scores_its_prior_acceptance_times_what_it_keeps_with_its_reasons():
    candidate = nba.score_offer(SOLD_OUT, OfferFacts(item_value=Decimal("80.00")))
    # 0.20 (default for a sold-out alternative) x (80.00 - 8.00 for 10% off) = 14.40
    assert candidate.score == pytest.approx(14.40)
    assert candidate.reasons == [
        "acceptance 0.20 (default for out_of_stock_alternative)",
        "benefit 72.00 = item value 80.00 − cost 8.00 (10% off)",
        "score 14.40",
    ]
    configured = nba.score_offer(SOLD_OUT, OfferFacts(order_value=Decimal("50")), {"sold-out-alternative": 0.5})
    assert configured.score == pytest.approx(22.5) and "configured for sold-out-alternative" in configured.reasons[0]
    unknown = nba.score_offer(SOLD_OUT, OfferFacts())
    assert unknown.score == pytest.approx(0.2 * 0.9) and "nominal" in unknown.reasons[1]


def test_nothing_is_chosen_unless_something_scores_above_it_and_help_wins_a_tie():
    assert nba.choose([]) is nba.NOTHING
    zero = nba.score_help(nba.HelpCandidate(id="article:returns", value=Decimal("0")))
    assert nba.choose([zero]) is nba.NOTHING
    offer = nba.Candidate(kind="offer", id="x", score=5.0, eligible=True, reasons=[])
    help_ = nba.Candidate(kind="help", id="h", score=5.0, eligible=True, reasons=[])
    refused = nba.Candidate(kind="offer", id="y", score=50.0, eligible=False, reasons=[])
    assert nba.choose([offer, help_, refused]).id == "h"


def test_the_offer_a_calm_treated_customer_is_decided_is_chosen_presented_and_recorded():
    services = Services([SOLD_OUT])
    result = nba.consider(services, sold_out())
    assert (result.chosen.kind, result.chosen.id) == ("offer", "sold-out-alternative")
    [decision] = services.memory.decisions
    assert decision.outcome is Outcome.OFFER and decision.presented is True
    assert result.offer_decision == decision and services.memory.reads == 1, "exposures: one read"
    [event] = services.events.published
    assert isinstance(event, OfferPresented) and event.offer_id == "sold-out-alternative"
    assert event.value_type == "percent_off" and event.score == pytest.approx(14.4)
    assert [c.kind for c in result.candidates] == ["offer", "nothing"]


def test_better_help_wins_and_the_offer_decided_is_recorded_but_not_presented():
    services = Services([SOLD_OUT])
    help_ = nba.HelpCandidate(id="restock-alert", description="tell them when it is back", value=Decimal("80.00"))
    result = nba.consider(services, sold_out(), help=[help_])
    assert (result.chosen.kind, result.chosen.id) == ("help", "restock-alert")  # 0.5 x 80 = 40 > 14.40
    [decision] = services.memory.decisions
    assert decision.outcome is Outcome.OFFER and decision.presented is False
    assert services.events.published == []
    assert nba.offer_tool_schemas([SOLD_OUT], result.decisions) == [], "a model never sees an offer not presented"


def test_a_held_out_customer_gets_help_or_nothing_and_the_decision_is_an_exposure():
    services = Services([SOLD_OUT])
    result = nba.consider(services, sold_out(HELD_OUT))
    assert result.chosen.kind == "nothing"
    [decision] = services.memory.decisions
    assert (decision.outcome, decision.reason, decision.presented) == (Outcome.HOLD_OUT, Reason.HOLDOUT_GROUP, None)
    [offer] = [c for c in result.candidates if c.kind == "offer"]
    assert not offer.eligible and offer.reasons[0].startswith("hold_out: holdout_group")


def test_offers_are_decided_best_first_and_the_rest_refused_as_already_in_the_conversation():
    services = Services([SECOND, SOLD_OUT])  # 5% off keeps more of the sale, so it scores higher
    result = nba.consider(services, sold_out())
    assert [(d.offer_id, d.reason) for d in result.decisions] == [
        ("sold-out-five", Reason.ELIGIBLE),
        ("sold-out-alternative", Reason.ALREADY_IN_CONVERSATION),
    ]
    assert result.chosen.id == "sold-out-five" and len(services.memory.decisions) == 2, "refusals recorded too"
    # a later moment of the same conversation: never twice
    again = nba.consider(services, sold_out(now=NOW + timedelta(minutes=5)))
    assert again.chosen.kind == "nothing"
    assert {d.reason for d in again.decisions} == {Reason.ALREADY_IN_CONVERSATION}


def test_a_frustrated_customer_is_refused_and_the_refusal_recorded_with_its_reason():
    services = Services([SOLD_OUT])
    result = nba.consider(services, sold_out(signals=SimpleNamespace(frustrated=True, sentiment=-0.2)))
    assert result.chosen.kind == "nothing"
    [decision] = services.memory.decisions
    assert (decision.outcome, decision.reason) == (Outcome.NO_OFFER, Reason.CUSTOMER_FRUSTRATED)


def test_offers_the_action_layer_cannot_honour_are_never_decided():
    from concierge.offers.catalogue import FreeTrial

    trial = SimpleNamespace(value=FreeTrial(type="free_trial", days=7, plan="pro"))
    too_much = Offer.model_validate(
        {**SOLD_OUT.model_dump(mode="json"), "id": "big", "value": {"type": "percent_off", "percent": 40}}
    )
    services = Services([too_much])
    result = nba.consider(services, sold_out())
    assert result.chosen.kind == "nothing" and services.memory.decisions == []
    reasons = {c.id: c.reasons[0] for c in result.candidates if c.kind == "offer"}
    assert "at most 15% off" in reasons["big"]
    assert issuing.refusal(trial, 15) is None, "a free trial's code is issued (it names its plan and days)"
    amount = Offer.model_validate(
        {**SOLD_OUT.model_dump(mode="json"), "id": "euro-off", "value": {"type": "amount_off", "amount": "15.00"}}
    )
    assert issuing.refusal(amount, 15) is None, "an amount off is issued in the shop's currency"


def test_a_journey_makes_at_most_one_offer_per_moment():
    services = Services([SECOND, SOLD_OUT])
    result = nba.consider(services, sold_out(conversation_id=None))
    assert [d.offer_id for d in result.decisions] == ["sold-out-five"]
    assert any("one offer per moment" in c.reasons[0] for c in result.candidates if not c.eligible)


def test_the_cap_counts_exposures_from_earlier_conversations():
    services = Services([SOLD_OUT])  # one per customer in 30 days
    nba.consider(services, sold_out())
    later = nba.consider(services, sold_out(conversation_id="conv-2", now=NOW + timedelta(days=3)))
    assert [d.reason for d in later.decisions] == [Reason.CAP_REACHED]
    month = nba.consider(services, sold_out(conversation_id="conv-3", now=NOW + timedelta(days=31)))
    assert month.chosen.id == "sold-out-alternative"


def test_the_lookback_covers_the_longest_cap_and_the_whole_conversation():
    assert nba.lookback([SOLD_OUT], NOW) == NOW - timedelta(days=30)
    assert nba.lookback([], NOW) == NOW - timedelta(days=1)
    assert nba.lookback([SOLD_OUT], NOW, NOW - timedelta(days=40)) == NOW - timedelta(days=40)


# --- the context -------------------------------------------------------------------------------------------------------
def order(placed: datetime, total: str = "50.00"):
    from concierge.store.models import Order

    return Order.model_validate(
        {
            "id": f"NW{placed:%m%d%H}",
            "customer_id": "alex",
            "placed_at": placed.isoformat(),
            "status": "delivered",
            "lines": [
                {
                    "line_id": "1",
                    "product_id": "oxford-shirt",
                    "sku": "OX-M",
                    "title": "Oxford Shirt",
                    "options": {"size": "M"},
                    "quantity": 1,
                    "unit_price": total,
                }
            ],
            "shipping_address": {"name": "A", "line1": "1 St", "city": "X", "postcode": "12345", "country": "US"},
            "payment": {"method": "visa", "last4": "4242"},
        }
    )


def test_the_context_is_built_from_what_the_engine_knows():
    from concierge.store.models import Product

    product = Product.model_validate(
        {
            "id": "oxford-shirt",
            "title": "Oxford Shirt",
            "category": "Shirts",
            "description": "",
            "url": "/p/oxford",
            "variants": [{"sku": "OX-M", "options": {"size": "M"}, "price": "49.00", "stock": 0}],
        }
    )
    customer = Customer(id="alex", email="a@x.example", name="Alex Morgan", created_at=NOW - timedelta(days=400))
    orders = [order(NOW - timedelta(days=10), "60.00"), order(NOW - timedelta(days=100), "40.00")]
    context = nba.offer_context(
        customer_id="alex",
        conversation_id="conv-9",
        moment=OfferMoment.RETURN_REQUESTED,
        channel=Channel.EMAIL,
        now=NOW,
        signals=SimpleNamespace(frustrated=False, sentiment=-0.34),
        sentiments=[0.2, -0.1],
        person_owns=False,
        shop_at_fault=True,
        profile=ProfileRead(profile=Profile(customer_id="alex")),
        product=product,
        item_value=Decimal("49.00"),
        order=orders[0],
        customer=customer,
        orders=orders,
    )
    assert (context.product_id, context.product_category, context.channel) == ("oxford-shirt", "Shirts", Channel.EMAIL)
    assert (context.sentiment, context.sentiments, context.shop_at_fault) == (-0.34, [0.2, -0.1], True)
    assert context.personalization_consent is True
    facts = context.facts
    assert (facts.item_value, facts.order_value, facts.previous_orders) == (Decimal("49.00"), orders[0].total, 2)
    assert (facts.lifetime_spend, facts.customer_days, facts.days_since_last_order) == (
        orders[0].total + orders[1].total,
        400,
        10,
    )
    # without consent, the customer's history is not even read into the context
    private = nba.offer_context(
        customer_id="alex",
        moment=OfferMoment.RETURN_REQUESTED,
        channel=Channel.WEB,
        now=NOW,
        profile=Profile(customer_id="alex", personalization=False),
        customer=customer,
        orders=orders,
    )
    assert private.personalization_consent is False
    assert (private.facts.previous_orders, private.facts.lifetime_spend, private.facts.customer_days) == (
        None,
        None,
        None,
    )
    assert nba.offer_context(customer_id="new", moment=OfferMoment.RETURN_REQUESTED, channel=Channel.WEB, now=NOW)


# --- wording and tools -------------------------------------------------------------------------------------------------
def test_the_wording_is_rendered_from_the_moment():
    values = nba.MomentValues(
        first_name="Alex",
        wanted="Oxford Shirt (M, blue)",
        alternative="Oxford Shirt (M, white)",
        code="NO-ALT-1A2B3C4D",
    )
    assert nba.render_offer(SOLD_OUT, values) == (
        "Sorry, Alex, the Oxford Shirt (M, blue) is sold out. The Oxford Shirt (M, white) is in stock and very "
        "close. If you'd like it, here's 10% off with code NO-ALT-1A2B3C4D."
    )
    assert nba.render_offer(SOLD_OUT, values, "accepted").startswith("Great choice. Code NO-ALT-1A2B3C4D takes 10% off")
    assert nba.shows_code(SOLD_OUT)
    with pytest.raises(nba.OfferRenderError, match=r"no value for \{code\}"):
        nba.render_offer(SOLD_OUT, values.model_copy(update={"code": None}))
    credit = next(o for o in DEMO_OFFERS if o.id == "return-size-or-credit")
    text = nba.render_offer(credit, nba.MomentValues(first_name="Sam", refund=Decimal("40.00"), currency="USD"))
    assert "$46.00 in store credit instead of the $40.00 refund: a 15% bonus on top" in text
    reminder = next(o for o in DEMO_OFFERS if o.id == "cart-reminder")
    values = nba.MomentValues(first_name="Jo", shop="Northwind", items=["Wool Socks", "Crew Tee", "Trail Cap"])
    assert nba.render_offer(reminder, values, "subject") == "Your basket at Northwind"
    assert "the Wool Socks, Crew Tee and Trail Cap." in nba.render_offer(reminder, values)
    assert (
        issuing.value_words(
            Offer.model_validate(
                {**SECOND.model_dump(mode="json"), "value": {"type": "amount_off", "amount": "15"}}
            ).value,
            "EUR",
        )
        == "€15.00 off"
    )


def test_a_model_is_given_accept_offer_only_for_the_offer_presented():
    from concierge.actions.tools import tool_schemas

    assert "accept_offer" not in {t["name"] for t in tool_schemas()}, "never in the standing tool list"
    services = Services([SECOND, SOLD_OUT])
    result = nba.consider(services, sold_out())
    [tool] = nba.offer_tool_schemas([SECOND, SOLD_OUT], result.decisions)
    assert tool["name"] == "accept_offer"
    assert tool["input_schema"]["properties"]["offer_id"]["enum"] == ["sold-out-five"]
    assert "sold-out-five: out of stock alternative, 5% off" in tool["description"]
    json.dumps(tool)  # a plain JSON definition
    assert nba.offer_tool_schemas([SOLD_OUT], []) == []


def test_an_exposure_is_what_the_decision_stores():
    services = Services([SOLD_OUT])
    nba.consider(services, sold_out())
    assert services.memory.offer_exposures(TREATED, NOW - timedelta(days=1)) == [
        Exposure(offer_id="sold-out-alternative", conversation_id="conv-1", at=NOW)
    ]
