"""The survey_promoter journey decided in code (docs/journeys.md): which answers are a promoter's (CSAT 5, NPS 9–10,
never CES) on every score of every scale, the same on the bus (the rule's content filter, on moto's EventBridge) and
in the journey's trigger; the signal built from the answer (never one a storefront can post); the journey on only in
a shop with an offer at the moment; the reasons a run sends nothing; and the thank-you's words (neutral ones, then
the offer's), on a made-up shop."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import boto3
import pytest
from pydantic import ValidationError

from concierge.journeys.definitions import SHIPPED, JourneySettings, definitions
from concierge.journeys.outreach import tell, tell_facts, tell_subject
from concierge.journeys.promoters import offer_channels, triggers, withheld
from concierge.journeys.runner import configured, from_event, in_force, parse
from concierge.journeys.signals import SignalRequest, SurveyAnswer, survey_answer
from concierge.offers.catalogue import Offer
from concierge.platform import topology
from concierge.platform.events import SurveyAnswered
from concierge.store.merchant import MerchantProfile
from concierge.store.models import Product, Variant
from concierge.surveys.models import SCALES, promoter

AT = datetime(2026, 11, 18, 10, tzinfo=UTC)
# A made-up tea shop (not one of the shipped stores) and its thank-you offer
SHOP = {"name": "Kettle & Co", "return_window_days": 14, "max_auto_refund": "50.00"}
THANKS = {
    "id": "tea-club-thanks",
    "kind": "feedback_subscribe",
    "trigger": {"moment": "survey_promoter", "categories": ["loose tea"]},
    "eligibility": {"channels": ["email"]},
    "value": {"type": "percent_off", "percent": 10},
    "code_template": "{prefix}-TEA-{unique}",
    "wording": {
        "subject": "Thank you from {shop}",
        "message": "The tea club sends the {product} monthly, with {value} every box: code {code}.",
    },
}
PRAISE = {**THANKS, "id": "tea-club", "trigger": {"moment": "positive_feedback", "categories": ["loose tea"]}}
EVERY_ANSWER = [(survey, score) for survey, scale in SCALES.items() for score in scale.scores]
PROMOTERS = {("csat", 5), ("nps", 9), ("nps", 10)}


def profile(**fields) -> MerchantProfile:
    return MerchantProfile.model_validate({**SHOP, **fields})


def answered(survey: str, score: int, at: datetime = AT, conversation_id: str = "conv-1") -> SurveyAnswered:
    return SurveyAnswered(
        occurred_at=at,
        conversation_id=conversation_id,
        customer_id="cust-1",
        survey=survey,
        score=score,
        channel="web",
        answered_via="api",
    )


# who is a promoter ---------------------------------------------------------------------------------------------------
def test_a_promoter_is_a_csat_5_or_an_nps_9_or_10_and_never_a_ces_answer():
    assert {answer for answer in EVERY_ANSWER if promoter(*answer)} == PROMOTERS
    assert not promoter("csat", None)


def test_the_journey_starts_from_a_promoter_s_answer_only():
    trigger = SHIPPED["survey_promoter"].trigger
    assert trigger.signal == "survey.answered"
    started = {
        answer
        for answer in EVERY_ANSWER
        if all(c.holds(survey_answer(answered(*answer)).model_dump(mode="json")) for c in trigger.conditions)
    }
    assert started == PROMOTERS


def test_the_bus_delivers_to_the_journeys_a_promoter_s_answers_only(monkeypatch):
    """The rule's pattern as deployed, on moto's EventBridge: every answer of every scale published, only the
    promoters' reach the journeys' queue; the storefront's signals still do."""
    from moto import mock_aws

    for name, value in {
        "AWS_ACCESS_KEY_ID": "t",
        "AWS_SECRET_ACCESS_KEY": "t",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    [rule] = [r for r in topology.RULES if r.name == "signals-to-journeys"]
    with mock_aws():
        events = boto3.client("events", region_name="us-east-1")
        sqs = boto3.client("sqs", region_name="us-east-1")
        events.create_event_bus(Name="bus")
        url = sqs.create_queue(QueueName="journeys")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name=rule.name, EventBusName="bus", EventPattern=json.dumps(rule.pattern))
        events.put_targets(Rule=rule.name, EventBusName="bus", Targets=[{"Id": "q", "Arn": arn}])
        entries = [
            {
                "Source": topology.EVENT_SOURCE,
                "DetailType": "survey.answered",
                "Detail": answered(*answer).model_dump_json(),
                "EventBusName": "bus",
            }
            for answer in EVERY_ANSWER
        ]
        entries.append(
            {
                "Source": topology.EVENT_SOURCE,
                "DetailType": "order.updated",
                "Detail": json.dumps({"customer_id": "c", "order_id": "1", "status": "delivered"}),
                "EventBusName": "bus",
            }
        )
        for start in range(0, len(entries), 10):
            events.put_events(Entries=entries[start : start + 10])
        delivered = []
        while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            for message in messages:
                delivered.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    surveys = {
        (e["detail"]["survey"], e["detail"]["score"]) for e in delivered if e["detail-type"] == "survey.answered"
    }
    assert surveys == PROMOTERS
    assert [e["detail-type"] for e in delivered].count("order.updated") == 1


# the signal ----------------------------------------------------------------------------------------------------------
def test_the_answer_is_a_signal_of_its_own_that_no_storefront_can_post():
    signal = survey_answer(answered("nps", 10))
    assert signal.promoter and signal.customer_id == "cust-1" and signal.conversation_id == "conv-1"
    # the same answer delivered twice is one run; a changed answer (a later time) or another survey is another
    assert signal.signal_id == survey_answer(answered("nps", 10)).signal_id
    assert signal.signal_id != survey_answer(answered("nps", 10, at=AT + timedelta(minutes=3))).signal_id
    assert signal.signal_id != survey_answer(answered("csat", 5)).signal_id
    # a run's state carries it and reads it back; the promoter flag is always worked out from the answer
    assert parse(signal.model_dump(mode="json")) == signal
    forged = parse({**signal.model_dump(mode="json"), "score": 3, "promoter": True})
    assert isinstance(forged, SurveyAnswer) and not forged.promoter
    # off the queue: the bus envelope's detail-type says which it is
    envelope = {"detail-type": "survey.answered", "detail": answered("csat", 5).model_dump(mode="json")}
    assert from_event(envelope) == survey_answer(answered("csat", 5))
    with pytest.raises(ValidationError):  # POST /v1/signals takes no survey answer
        SignalRequest.model_validate(signal.model_dump(mode="json"))


# settings ------------------------------------------------------------------------------------------------------------
def test_the_journey_is_declared_with_a_short_wait_a_recheck_a_season_s_cap_and_consent():
    journey = SHIPPED["survey_promoter"]
    assert journey.wait_minutes == 60 and journey.rechecks == ["still_a_promoter"]
    assert (journey.cap.messages, journey.cap.days) == (1, 90)
    assert journey.personalization and journey.offer_moment == "survey_promoter" and journey.channels == ["email"]


def test_the_journey_runs_only_where_the_shop_has_an_offer_at_the_moment_and_can_be_turned_off():
    journey = SHIPPED["survey_promoter"]
    assert not configured(journey, profile())
    assert not configured(journey, profile(offers=[PRAISE]))  # praise in a chat is another moment
    assert not configured(journey, profile(offers=[{**THANKS, "enabled": False}]))
    shop = profile(offers=[THANKS])
    assert configured(journey, shop) and "survey_promoter" in [d.id for d in in_force(shop)]
    off = profile(offers=[THANKS], journeys={"changes": {"survey_promoter": {"enabled": False}}})
    assert "survey_promoter" not in [d.id for d in in_force(off)]
    with pytest.raises(ValidationError, match="no enabled offer at the survey_promoter moment"):
        profile(offers=[PRAISE], journeys={"changes": {"survey_promoter": {"enabled": True}}})
    changed = definitions(JourneySettings.model_validate({"changes": {"survey_promoter": {"wait_minutes": 15}}}))
    assert next(d for d in changed if d.id == "survey_promoter").wait_minutes == 15


def test_a_merchant_s_thank_you_wording_uses_no_urgency_and_only_what_it_can_fill():
    with pytest.raises(ValidationError, match="artificial urgency"):
        JourneySettings.model_validate({"changes": {"survey_promoter": {"subject": "Hurry, a thank-you inside"}}})
    with pytest.raises(ValidationError, match="cannot fill"):
        JourneySettings.model_validate({"changes": {"survey_promoter": {"message": "Thanks for the {score}!"}}})
    JourneySettings.model_validate({"changes": {"survey_promoter": {"message": "{merchant} loves the {product} too."}}})


def test_only_the_channels_the_offer_is_made_on_are_written_on():
    journey = SHIPPED["survey_promoter"].model_copy(update={"channels": ["whatsapp", "email"]})
    assert offer_channels(journey, profile(offers=[THANKS])) == ["email"]
    anywhere = {**THANKS, "eligibility": {"channels": []}}
    assert offer_channels(journey, profile(offers=[anywhere])) == ["whatsapp", "email"]
    whatsapp_only = {**THANKS, "eligibility": {"channels": ["whatsapp"]}}
    assert offer_channels(SHIPPED["survey_promoter"], profile(offers=[whatsapp_only])) == []


def test_the_product_is_one_the_offer_s_trigger_names():
    def product(id_: str, category: str) -> Product:
        variant = Variant(sku=f"{id_}-1", options={}, price="12.00", stock=3)
        return Product(id=id_, title=id_.title(), category=category, description="", url="/p", variants=[variant])

    by_category = Offer.model_validate(THANKS)
    assert triggers(by_category, product("sencha", "Loose Tea")) and not triggers(by_category, product("pot", "pots"))
    by_product = Offer.model_validate({**THANKS, "trigger": {"moment": "survey_promoter", "products": ["sencha"]}})
    assert triggers(by_product, product("sencha", "anything")) and not triggers(
        by_product, product("oolong", "loose tea")
    )


# what the run says and sends ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("offer", "reason"),
    [
        ({"offer_id": "t", "outcome": "hold_out", "reason": "holdout_group", "exposed": True}, "held_out"),
        ({"offer_id": "t", "outcome": "no_offer", "reason": "cap_reached", "exposed": False}, "offer_refused"),
        ({"offer_id": "t", "outcome": "offer", "reason": "code_not_issued", "exposed": True}, "offer_not_presented"),
        ({"outcome": "none", "reason": "no_product", "exposed": False}, "no_product"),
        ({"outcome": "none", "reason": "no_salt", "exposed": False}, "no_offer"),
        ({"offer_id": "t", "outcome": "offer", "reason": "eligible", "presented": True, "message": "m"}, None),
    ],
)
def test_without_its_offer_presented_the_thank_you_is_not_sent_and_the_run_says_why(offer, reason):
    assert withheld({"survey": "csat", "offer": offer}) == reason


def test_the_thank_you_is_the_shop_s_thanks_then_the_offer_in_its_own_words():
    shop = profile(offers=[THANKS])
    journey = SHIPPED["survey_promoter"]
    offer = {
        "offer_id": "tea-club-thanks",
        "outcome": "offer",
        "presented": True,
        "message": "The tea club sends the Sencha monthly, with 10% off every box: code KC-TEA-3F9A0C1E.",
        "subject": "Thank you from Kettle & Co",
        "code": "KC-TEA-3F9A0C1E",
    }
    signal = survey_answer(answered("nps", 9))
    context = {"survey": "nps", "conversation_id": "conv-1", "product": "Sencha", "offer": offer}
    text = tell(journey, shop, signal, context, ZoneInfo("UTC"))
    thanks, said, closing = text.split("\n\n")
    assert thanks == "Thank you for your feedback, and for saying you'd recommend Kettle & Co: it means a lot to us."
    assert said == offer["message"] and "reply" in closing
    assert tell_subject(journey, shop, signal, context, ZoneInfo("UTC")) == "Thank you from Kettle & Co"
    # a CSAT answer is thanked for the help; without the offer's subject, a neutral one
    csat = {**context, "survey": "csat", "offer": {**offer, "subject": None}}
    assert tell(journey, shop, signal, csat, ZoneInfo("UTC")).startswith(
        "Thank you for your feedback on the help you got from Kettle & Co"
    )
    assert tell_subject(journey, shop, signal, csat, ZoneInfo("UTC")) == "Thank you from Kettle & Co"
    # the merchant's own opening instead of the neutral thanks, with the product filled in
    opening = journey.model_copy(update={"message": "Thank you! We're glad the {product} hit the spot."})
    assert tell(opening, shop, signal, context, ZoneInfo("UTC")).startswith(
        "Thank you! We're glad the Sencha hit the spot.\n\nThe tea club"
    )
    [fact] = tell_facts(journey, context)
    assert "tea-club-thanks presented, code KC-TEA-3F9A0C1E" in fact and "conv-1" in fact
