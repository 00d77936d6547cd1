"""Scheduled churn scoring and the churn_risk journey decided in code (docs/churn.md, docs/journeys.md): the journey's
declaration and the merchant's threshold, the signal no storefront can post, the deployed model read once per
version, a pass over the store in pages (the threshold, once per customer and day, a page delivered twice, a page
another invocation holds), the help built from the reasons, nothing chosen, and the message's words, which name the
step or the feature and never the score. On moto's DynamoDB, with Ledgerly (tests/unit/churn_shop.py), a made-up
bookkeeping app."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from concierge.churn.activity import ActivityStore
from concierge.churn.deployed import DeployedModels
from concierge.churn.scheduled import LEASE, PageInFlight, ScoringRuns, ScoringServices, first_page, score_page
from concierge.churn.scorer import ChurnModelError
from concierge.conversation.api import Channel
from concierge.conversation.turn import ConversationRecord, ConversationStatus
from concierge.journeys import churn
from concierge.journeys.definitions import SHIPPED, JourneySettings, definitions
from concierge.journeys.outreach import tell, tell_facts, tell_subject
from concierge.journeys.runner import JourneyServices, parse
from concierge.journeys.signals import SignalRequest
from concierge.memory.store import MemoryStore
from concierge.platform import topology
from concierge.platform.events import ChurnRisk, ChurnScoringRequested, CustomerSignedIn, FeatureUsed
from concierge.store.commerce import ReferenceStore
from concierge.store.merchant import MerchantProfile
from concierge.store.models import Address, Customer, Order, OrderLine, OrderStatus, Payment
from tests.unit.churn_shop import AS_OF, MORNING, SIGNED_UP, logistic_model, merchant_json
from tests.unit.fakes import FakeEvents
from tests.unit.moto_tables import memory, tables  # noqa: F401 (fixtures)

JOURNEY = SHIPPED["churn_risk"]
UTC_ZONE = ZoneInfo("UTC")


def ledgerly(**changes) -> MerchantProfile:
    return MerchantProfile.model_validate(merchant_json(**changes))


def risk(customer_id: str = "robin", reasons: list[str] | None = None, **fields) -> ChurnRisk:
    return ChurnRisk(
        occurred_at=MORNING,
        customer_id=customer_id,
        signal_id=f"churn:{AS_OF.isoformat()}",
        as_of=AS_OF,
        probability=fields.pop("probability", 0.8),
        band=fields.pop("band", "high"),
        reasons=reasons if reasons is not None else ["days_since_sign_in", "days_since_order", "feature_uses_30d"],
    )


# the declaration -----------------------------------------------------------------------------------------------------
def test_the_journey_waits_a_day_rechecks_the_customer_is_still_quiet_and_nudges_once_a_season_with_consent():
    assert JOURNEY.trigger.signal == "churn.risk" and JOURNEY.wait_minutes == 24 * 60
    assert JOURNEY.rechecks == ["still_quiet"] and (JOURNEY.cap.messages, JOURNEY.cap.days) == (1, 90)
    assert JOURNEY.personalization and JOURNEY.channels == ["email"] and JOURNEY.threshold is None
    assert JOURNEY.quiet_hours is not None  # the same quiet hours as the other journeys


def test_the_threshold_and_the_cap_are_the_merchant_s_and_no_other_journey_takes_a_threshold():
    settings = JourneySettings.model_validate(
        {"changes": {"churn_risk": {"threshold": 0.7, "cap": {"messages": 1, "days": 180}}}}
    )
    [changed] = [d for d in definitions(settings) if d.id == "churn_risk"]
    assert changed.threshold == 0.7 and changed.cap.days == 180 and changed.rechecks == ["still_quiet"]
    with pytest.raises(ValidationError, match="only churn_risk starts from a churn probability"):
        JourneySettings.model_validate({"changes": {"abandoned_cart": {"threshold": 0.7}}})
    with pytest.raises(ValidationError):
        JourneySettings.model_validate({"changes": {"churn_risk": {"threshold": 0}}})


def test_a_merchant_s_opening_uses_no_urgency_and_no_placeholder_it_cannot_fill():
    with pytest.raises(ValidationError, match="artificial urgency"):
        JourneySettings.model_validate({"changes": {"churn_risk": {"message": "Last chance to get started!"}}})
    with pytest.raises(ValidationError, match="cannot fill"):
        JourneySettings.model_validate({"changes": {"churn_risk": {"message": "Your churn score is {probability}"}}})
    JourneySettings.model_validate({"changes": {"churn_risk": {"message": "From all of us at {merchant}:"}}})


def test_the_signal_carries_codes_only_and_no_storefront_can_post_it():
    signal = risk()
    assert parse(signal.model_dump(mode="json")) == signal  # a run's state carries it and reads it back
    with pytest.raises(ValidationError):  # POST /v1/signals does not take it
        SignalRequest.model_validate(signal.model_dump(mode="json"))
    with pytest.raises(ValidationError):  # a reason is a feature's code, never words
        risk(reasons=["no sign-in for 41 days"])
    [rule] = [r for r in topology.RULES if r.name == "signals-to-journeys"]
    assert "churn.risk" in rule.detail_types  # the bus takes it to the journeys as any signal


# on moto ---------------------------------------------------------------------------------------------------------------
@pytest.fixture
def store(tables) -> ReferenceStore:
    return ReferenceStore(tables[topology.STORE_TABLE.logical_id])


def day(days_before: int) -> datetime:
    return datetime.combine(AS_OF, datetime.min.time(), UTC) - timedelta(days=days_before, hours=-9)


def person(customer_id: str) -> Customer:
    return Customer(id=customer_id, email=f"{customer_id}@ledgerly.example", name="Sam Lee", created_at=SIGNED_UP)


def bought(order_id: str, customer_id: str, days_before: int, total: str = "120.00") -> Order:
    return Order(
        id=order_id,
        customer_id=customer_id,
        placed_at=day(days_before),
        status=OrderStatus.DELIVERED,
        currency="EUR",
        lines=[
            OrderLine(
                line_id="1",
                product_id="p",
                sku="p-1",
                title="A year",
                options={},
                quantity=1,
                unit_price=Decimal(total),
            )
        ],
        shipping_address=Address(name="Sam Lee", line1="1 Main St", city="Springfield", postcode="1", country="NL"),
        payment=Payment(method="card"),
    )


def signed_in(memory: MemoryStore, customer_id: str, days_before: int) -> None:
    ActivityStore(memory).record(
        CustomerSignedIn(occurred_at=day(days_before), customer_id=customer_id, signal_id=f"in-{customer_id}")
    )


def used(memory: MemoryStore, customer_id: str, feature: str, days_before: int, count: int = 1) -> None:
    signal = FeatureUsed(
        occurred_at=day(days_before),
        customer_id=customer_id,
        signal_id=f"use-{customer_id}-{feature}-{days_before}",
        feature=feature,
        count=count,
    )
    ActivityStore(memory).record(signal)


@pytest.fixture
def customers(memory, store):
    """By the model's weights (churn_shop.py), as of AS_OF: quiet 0.994, drifting 0.959, lapsed buyer 0.613 (her
    orders alone raise it), active 0.044."""
    store.put_customers([person(c) for c in ("quiet", "drifting", "lapsed", "active")])
    signed_in(memory, "quiet", 45)
    signed_in(memory, "drifting", 20)
    for who in ("lapsed", "active"):
        signed_in(memory, who, 2)
        used(memory, who, "bank.connect", 3, count=25)
    store.put_orders([bought("L-1", "active", 10)])
    return ["quiet", "drifting", "lapsed", "active"]


@pytest.fixture
def scoring(memory, store):
    events = FakeEvents()
    shop = {"merchant": ledgerly()}
    services = ScoringServices(
        memory=memory,
        store=store,
        pages=store,
        merchant=lambda: shop["merchant"],
        models=DeployedModels(store._table),
        events=events,  # type: ignore[arg-type]
    )
    return services, events, shop


def run_pass(services: ScoringServices, events: FakeEvents, as_of: date, page_size: int = 100) -> list[ChurnRisk]:
    """The schedule's first page, then each page's request for the next, as the queue would deliver them."""
    start = len(events.published)
    pending = [first_page(MORNING, as_of, page_size)]
    while pending:
        score_page(pending.pop(), services, MORNING)
        new = events.published[start:]
        start = len(events.published)
        pending += [e for e in new if isinstance(e, ChurnScoringRequested)]
    return [e for e in events.published if isinstance(e, ChurnRisk) and e.as_of == as_of]


def test_without_a_deployed_model_nothing_is_scored_and_the_log_says_so(scoring, customers, caplog):
    services, events, _ = scoring
    caplog.set_level(logging.INFO, logger="concierge.churn.scheduled")
    scored = score_page(first_page(MORNING, AS_OF), services, MORNING)
    assert scored.outcome == "no_model" and events.published == []
    assert "no churn model is deployed" in caplog.records[-1].said


def test_the_threshold_is_the_merchant_s_setting_else_the_model_s_high_band(scoring, customers):
    services, events, shop = scoring
    services.models.deploy(logistic_model(high=0.5), MORNING)
    published = run_pass(services, events, AS_OF)
    assert {s.customer_id for s in published} == {"quiet", "drifting", "lapsed"}  # 0.5 and above; not 0.044
    quiet = next(s for s in published if s.customer_id == "quiet")
    assert quiet.band == "high" and round(quiet.probability, 3) == 0.994 and quiet.signal_id == "churn:2026-11-17"
    assert quiet.reasons == ["days_since_sign_in", "days_since_order", "feature_uses_30d"]
    assert next(s for s in published if s.customer_id == "lapsed").reasons == ["days_since_order"]
    shop["merchant"] = ledgerly(journeys={"changes": {"churn_risk": {"threshold": 0.95}}})
    next_day = date(2026, 11, 18)
    assert {s.customer_id for s in run_pass(services, events, next_day)} == {"quiet", "drifting"}
    shop["merchant"] = ledgerly(journeys={"changes": {"churn_risk": {"enabled": False}}})
    assert score_page(first_page(MORNING, date(2026, 11, 19)), services, MORNING).outcome == "journey_off"


def test_the_store_is_scored_a_page_at_a_time_and_each_customer_is_published_once_a_day(scoring, customers, store):
    services, events, _ = scoring
    services.models.deploy(logistic_model(), MORNING)
    published = run_pass(services, events, AS_OF, page_size=2)
    requests = [e for e in events.published if isinstance(e, ChurnScoringRequested)]
    pages = store.approximate_items() // 2 + (store.approximate_items() % 2 > 0)
    assert [r.page for r in requests] == list(range(2, pages + 1)) and {r.pages for r in requests} == {pages}
    assert sorted(s.customer_id for s in published) == ["drifting", "lapsed", "quiet"]
    # each page delivered again, and a second pass of the same day: scored once, published once
    for again in [first_page(MORNING, AS_OF, 2), *requests]:
        assert score_page(again, services, MORNING).outcome == "already_scored"
    assert len(run_pass(services, events, AS_OF, page_size=2)) == len(published)


def test_a_page_another_invocation_holds_comes_back_later_and_a_failed_one_is_claimed_again_after_its_lease(memory):
    runs = ScoringRuns(memory)
    assert runs.claim(AS_OF, 3, MORNING)
    with pytest.raises(PageInFlight):
        runs.claim(AS_OF, 3, MORNING + timedelta(seconds=5))  # still being scored
    assert runs.claim(AS_OF, 3, MORNING + LEASE + timedelta(seconds=1))  # that invocation failed: taken again
    runs.done(AS_OF, 3, MORNING + LEASE + timedelta(seconds=2))
    assert not runs.claim(AS_OF, 3, MORNING + timedelta(hours=1))  # done: never scored again
    assert runs.pages(AS_OF, 7, MORNING) == 7 and runs.pages(AS_OF, 9, MORNING) == 7  # a retried first page


def test_the_deployed_model_is_read_again_only_when_its_version_changes(store):
    models = DeployedModels(store._table)
    assert models.current() is None
    first = models.deploy(logistic_model(high=0.5), MORNING)
    read = models.current()
    assert read is not None and read.version == first and models.current() is read  # kept by the warm process
    second = models.deploy(logistic_model(high=0.6), MORNING + timedelta(days=1))
    assert second != first and models.current().model.bands.high == 0.6  # type: ignore[union-attr]
    assert DeployedModels(store._table).current().version == second  # type: ignore[union-attr]
    third = models.deploy(logistic_model(high=0.7), MORNING + timedelta(days=2))
    artifacts = {i["sk"] for i in store._table.scan()["Items"] if i["sk"].startswith("CHURN_MODEL#")}
    assert artifacts == {f"CHURN_MODEL#{second}", f"CHURN_MODEL#{third}"}  # the current one and the one before
    with pytest.raises(ChurnModelError, match="format"):
        from concierge.churn.scorer import parse_model

        parse_model('{"format": "something-else"}', "the model sent")


# the help and the decision ---------------------------------------------------------------------------------------------
def help_of(kind: str, id_: str, **fields) -> churn.Help:
    return churn.Help(kind=kind, id=id_, **fields)  # type: ignore[arg-type]


def test_each_kind_of_help_answers_its_reasons_and_nothing_answers_the_orders():
    found = [
        help_of("step", "step:invoice.create", name="Send your first invoice"),
        help_of("feature", "feature:reports.custom", name="Custom reports", plan="Pro"),
        help_of("put_right", "put_right:c-1", conversation_id="c-1", started_at="2026-11-03T09:00:00+00:00"),
    ]
    usage = churn.candidates(found, ["days_since_sign_in", "days_since_order", "feature_uses_30d"], Decimal("1"))
    # the first reason weighs 3, the second 2, the third 1: sign-ins and feature use are 4 of 6
    assert [(c.id, c.value) for c in usage] == [
        ("step:invoice.create", Decimal("0.67")),
        ("feature:reports.custom", Decimal("0.67")),
        ("put_right:c-1", Decimal("0.00")),
    ]
    support = churn.candidates(found, ["auto_csat_90d", "feature_uses_30d", "sentiment_90d"], Decimal("120.00"))
    assert [c.value for c in support] == [Decimal("40.00"), Decimal("40.00"), Decimal("80.00")]
    assert support[2].acceptance > support[0].acceptance > support[1].acceptance
    orders_only = churn.candidates(found, ["days_since_order", "orders_365d"], Decimal("300.00"))
    assert all(c.value == 0 for c in orders_only)  # no "we miss you" for a customer who stopped buying
    new_customer = churn.candidates(found[:2], ["tenure_days"], Decimal("1"))
    assert [c.value for c in new_customer] == [Decimal("1.00"), Decimal("0.00")]  # a first step, for a new account


def services(memory: MemoryStore, store: ReferenceStore, merchant: MerchantProfile) -> JourneyServices:
    return JourneyServices(memory=memory, store=store, merchant=lambda: merchant)


def test_nothing_is_chosen_for_a_lapsed_buyer_and_then_no_message_goes(memory, store, customers):
    shop = ledgerly(onboarding=[], subscriptions=None)  # a shop with no steps to point to
    decided = churn.decide(
        risk("lapsed", ["days_since_order"]), services(memory, store, shop), shop, MORNING, "email", "j"
    )
    assert decided == {"decision": {"chosen": "nothing", "why": "no_help", "candidates": [], "scores": {}}}
    assert churn.withheld(decided) == "nothing_chosen"
    # in Ledgerly a step is left, but it answers none of her reasons: still nothing
    decided = churn.decide(
        risk("lapsed", ["days_since_order"]), services(memory, store, ledgerly()), ledgerly(), MORNING, "email", "j"
    )
    assert decided["decision"]["chosen"] == "nothing" and decided["decision"]["why"] == "reasons_unanswered"
    assert "help" not in decided and churn.withheld(decided) == "nothing_chosen"


def test_the_help_is_found_in_the_shop_s_and_the_customer_s_data(memory, store, customers):
    used(memory, "quiet", "bank.connect", 120)  # long ago, still within the activity kept
    decided = churn.decide(risk("quiet"), services(memory, store, ledgerly()), ledgerly(), MORNING, "email", "j")
    assert decided["help"] == {
        "kind": "step",
        "id": "step:invoice.create",
        "name": "Send your first invoice",
        "link": "https://ledgerly.example/invoices",
    }
    assert decided["step"]["name"] == "Send your first invoice"  # what the answers read ("how do I do that?")
    # a conversation that went badly, for reasons about support
    record = ConversationRecord(
        conversation_id="c-bad",
        customer_id="quiet",
        channel=Channel.WEB,
        status=ConversationStatus.CLOSED,
        started_at=day(14),
        updated_at=day(14),
        customer_turns=3,
        sentiments=[-0.1, 0.0],
    )
    memory.load([memory.conversation_put(record), *memory.conversation_index_puts(record)])
    memory.put_score("c-bad", "auto", {"score": 2})
    support = risk("quiet", ["auto_csat_90d", "support_contacts_90d"])
    decided = churn.decide(support, services(memory, store, ledgerly()), ledgerly(), MORNING, "email", "j")
    assert decided["help"]["kind"] == "put_right" and decided["help"]["conversation_id"] == "c-bad"
    assert "step" not in decided


def test_the_customer_active_since_the_day_scored_or_who_ordered_is_no_longer_quiet(memory, store, customers):
    shop = ledgerly()
    quiet = services(memory, store, shop)
    assert churn.quiet_changed(risk("quiet"), quiet, MORNING + timedelta(days=1)) is None
    signed_in(memory, "quiet", -1)  # the day after the day scored
    assert churn.quiet_changed(risk("quiet"), quiet, MORNING + timedelta(days=1)) == "active_since"
    store.put_orders([bought("L-9", "drifting", -1)])
    assert churn.quiet_changed(risk("drifting"), quiet, MORNING + timedelta(days=1)) == "ordered_since"
    used(memory, "lapsed", "reports.custom", 2)  # on the day scored or before: already in the score
    assert churn.quiet_changed(risk("lapsed"), quiet, MORNING + timedelta(days=1)) is None


# the words -------------------------------------------------------------------------------------------------------------
def never_says_the_score(text: str) -> None:
    lowered = text.lower()
    assert "%" not in text
    assert not any(word in lowered for word in ("risk", "churn", "score", "leaving", "miss you", "inactive", "quiet"))


@pytest.mark.parametrize(
    ("chosen", "says", "subject"),
    [
        (
            {"kind": "step", "id": "step:invoice.create", "name": "Send your first invoice", "link": "/help/invoices"},
            "A tip for Ledgerly: Send your first invoice. Here's how: /help/invoices",
            "A tip for Ledgerly",
        ),
        (
            {"kind": "feature", "id": "feature:reports.custom", "name": "Custom reports", "plan": "Pro"},
            "A tip for getting more out of Pro with Ledgerly: Custom reports. Reply and I'll tell you how.",
            "A tip for Ledgerly",
        ),
        (
            {
                "kind": "put_right",
                "id": "put_right:c-1",
                "conversation_id": "c-1",
                "started_at": "2026-11-03T23:30:00Z",
            },
            "You were in touch with us on 3 November, and I want to make sure we got things right for you. Is there "
            "anything we can still put right?",
            "Following up from Ledgerly",
        ),
    ],
)
def test_the_message_names_the_step_the_feature_or_the_conversation_s_day_and_never_the_score(chosen, says, subject):
    shop = ledgerly()
    context = {"help": chosen, "decision": {"chosen": f"help:{chosen['id']}"}}
    text = tell(JOURNEY, shop, risk(probability=0.97), context, UTC_ZONE)
    assert text.startswith(says)
    assert "0.97" not in text and "97" not in text and "high" not in text.lower()
    never_says_the_score(text)
    assert tell_subject(JOURNEY, shop, risk(), context, UTC_ZONE) == subject
    assert (
        chosen["id"] in tell_facts(JOURNEY, context)[0]
        or chosen.get("conversation_id") in tell_facts(JOURNEY, context)[0]
    )
    if chosen["kind"] == "put_right":
        assert "person" in text  # a person is offered
        # the day is the customer's own: 23:30 UTC on the 3rd is the 4th in Tokyo
        assert "on 4 November" in tell(JOURNEY, shop, risk(), context, ZoneInfo("Asia/Tokyo"))
    # the merchant's opening comes first, the facts in code's words after it
    opening = JOURNEY.model_copy(update={"message": "From all of us at {merchant}:"})
    assert tell(opening, shop, risk(), context, UTC_ZONE).startswith(f"From all of us at Ledgerly: {says[:20]}")
