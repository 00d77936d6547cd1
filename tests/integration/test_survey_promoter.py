"""The survey_promoter journey on moto and the local interpreter (docs/journeys.md): a customer answers a survey through
the API, `survey.answered` goes on the bus, the `signals-to-journeys` rule carries a promoter's answer (and only a
promoter's) to the actions function, and after the wait the journey checks the answer still stands, asks the next
best action at the `survey_promoter` moment and sends one thank-you with the offer and its code, or nothing at all,
for a reason the run names.

Most tests run on a made-up shop's thank-you offer (half its customers held out) about a product the test itself
orders for the customer, so that nothing passes because of the demo's own data; one plays the demo shop's shipped
offer as configured.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import boto3
import pytest

from concierge.conversation.turn import ActionResult, ActionStatus, ConversationRecord, ToolCall
from concierge.journeys.runner import conversation_id_for, run_name
from concierge.journeys.signals import survey_answer
from concierge.local.stack import REGION
from concierge.offers import issuing
from concierge.offers.catalogue import Offer
from concierge.offers.holdout import Group, assign
from concierge.platform.events import ConversationClosed, EventPublisher, SurveyAnswered
from concierge.platform.settings import IngestSettings, current_settings
from concierge.store.models import OrderLine, OrderStatus
from concierge.surveys.models import SurveyOffer
from concierge.surveys.store import SurveyStore
from tests.credentials import customer_headers
from tests.integration.conftest import merchant
from tests.integration.test_journeys import answer_by_email, mails_to, verify_email
from tests.integration.test_journeys_more import MORNING, demo_customers, fresh_profile, memory, salt, store

JOURNEY = "survey_promoter"
# A made-up shop's thank-you: 10% off a subscription to a product the test orders, half its customers held out
THANKS = Offer.model_validate(
    {
        "id": "refill-thanks",
        "kind": "feedback_subscribe",
        "trigger": {"moment": "survey_promoter", "products": ["wool-socks", "linen-shirt"]},
        "eligibility": {"channels": ["email"], "rules": [{"fact": "previous_orders", "at_least": "1"}]},
        "cap": {"count": 1, "days": 90},
        "value": {"type": "percent_off", "percent": 10},
        "code_template": "{prefix}-REFILL-{unique}",
        "wording": {
            "subject": "A thank-you from {shop}",
            "message": "To say thanks: the {product} comes on subscription, and code {code} gives you {value} on it.",
        },
        "holdout_share": 0.5,
    }
)
SHOP = {"name": "Kettle & Co", "offers": [THANKS]}
DEMO_THANKS = "basics-subscription-thanks"  # the demo shop's own: socks, boxer briefs and crew tees, 15% off


@pytest.fixture
def clock(stack, monkeypatch):
    """The stack's wait clock at MORNING (after every demo order, outside the quiet hours), and the functions reading
    it: the journeys' steps, ingest, and the survey route that times an answer."""
    import functions.actions.handler as actions
    import functions.ingest.handler as ingest
    from concierge.web.routes import surveys

    stack.clock.advance(MORNING - stack.clock.now())
    for module in (actions, ingest, surveys):
        monkeypatch.setattr(module, "now", stack.clock.now)
    return stack.clock


TAKEN: set[str] = set()  # each test answers as customers of its own: the journey's and the offer's caps are theirs


def customers_in(group: Group, offer_id: str, share: float, count: int = 1) -> list[str]:
    found = [c for c in demo_customers() if c not in TAKEN and assign(salt(), offer_id, c, share) is group]
    assert len(found) >= count, f"the demo store has {count} more customers in the {group} group"
    TAKEN.update(found[:count])
    for customer in found[:count]:
        fresh_profile(customer)
        verify_email(customer)
    return found[:count]


def order(customer_id: str, product_id: str, order_id: str, placed_at: datetime) -> str:
    """An order of the customer, delivered, of one product of the catalogue (placed after every demo order)."""
    product = store().get_product(product_id)
    variant = product.variants[0]
    line = OrderLine(
        line_id=f"{order_id}-1",
        product_id=product.id,
        sku=variant.sku,
        title=product.title,
        options=variant.options,
        quantity=1,
        unit_price=variant.price,
    )
    template = store().recent_orders("sam", 1)[0]
    placed = template.model_copy(
        update={
            "id": order_id,
            "customer_id": customer_id,
            "placed_at": placed_at,
            "status": OrderStatus.DELIVERED,
            "lines": [line],
        }
    )
    store().put_orders([placed])
    return order_id


def surveyed(stack, customer_id: str, conversation_id: str, *, order_id: str | None = None, sentiments=()) -> None:
    """A closed web conversation of the customer (about `order_id`: they looked it up), offered every survey."""
    at = stack.clock.now() - timedelta(hours=1)
    record = ConversationRecord(
        conversation_id=conversation_id,
        customer_id=customer_id,
        channel="web",
        started_at=at,
        updated_at=at,
        message_seq=2,
        customer_turns=1,
        sentiments=list(sentiments),
        channels=["web"],
        resolved=True,
    )
    memory().load([memory().conversation_put(record)])
    if order_id is not None:
        call = ToolCall(id="lookup", tool="get_order", arguments={"order_id": order_id})
        result = ActionResult(call_id="lookup", action_id="A-LOOKUP", tool="get_order", status=ActionStatus.EXECUTED)
        memory().put_action(conversation_id, customer_id, call, result, None)
    surveys = SurveyStore(memory())
    for survey in ("csat", "nps", "ces"):
        surveys.offer(
            SurveyOffer(
                conversation_id=conversation_id,
                customer_id=customer_id,
                survey=survey,
                channel="web",
                reason="test",
                offered_at=at,
                answer_by=at + timedelta(days=7),
            )
        )
    # the close the KPI roll-up attributes the answers to (its surveys are already offered: none is offered again)
    closed = ConversationClosed(
        occurred_at=at,
        conversation_id=conversation_id,
        customer_id=customer_id,
        channel="web",
        started_at=at,
        turns=1,
        resolution="resolved",
        sentiments=list(sentiments),
    )
    EventPublisher(boto3.client("events", region_name=REGION), current_settings(IngestSettings).event_bus).publish(
        closed
    )
    while stack.poll_once():
        pass


def answer(stack, customer_id: str, conversation_id: str, survey: str, score: int) -> str:
    """The customer answers through the API (POST /v1/conversations/{id}/surveys); the events it publishes are
    delivered. Returns the journey run's name this answer would start."""
    status, _, body = stack.proxy(
        "POST",
        f"/v1/conversations/{conversation_id}/surveys",
        {"conversation_id": conversation_id},
        {**customer_headers(customer_id), "content-type": "application/json"},
        {},
        json.dumps({"survey": survey, "score": score}),
    )
    assert status == 200, body
    answered = json.loads(body)
    while stack.poll_once():
        pass
    event = SurveyAnswered(
        occurred_at=datetime.fromisoformat(answered["answered_at"]),
        conversation_id=conversation_id,
        customer_id=customer_id,
        survey=survey,
        score=score,
        channel="web",
        answered_via="api",
    )
    return run_name(JOURNEY, customer_id, survey_answer(event).signal_id)


def started(stack, name: str) -> bool:
    return name in stack.journeys.executions


def finish(stack, name: str, wait: timedelta = timedelta(minutes=61)) -> dict:
    stack.clock.advance(wait)
    return stack.journeys.wait(name)


def checked(execution: dict) -> dict:
    return execution["output"]["checked"]["Payload"]


def entered(execution: dict) -> dict:
    return execution["output"]["entered"]["Payload"]


def address(customer_id: str) -> str:
    return store().get_customer(customer_id).email.lower()


def decisions(customer_id: str) -> list:
    return [d for d in memory().offer_decisions(customer_id, MORNING - timedelta(days=1)) if d.moment.value == JOURNEY]


# --- a promoter thanked ----------------------------------------------------------------------------------------------
def test_a_promoter_s_answer_is_thanked_after_the_wait_with_the_offer_and_a_code_of_its_own(stack, clock):
    [customer] = customers_in(Group.TREATMENT, THANKS.id, 0.5)
    order(customer, "wool-socks", f"PR-{customer}-1", MORNING - timedelta(hours=2))
    with merchant(**SHOP):
        surveyed(stack, customer, f"sv-{customer}")
        name = answer(stack, customer, f"sv-{customer}", "nps", 10)
        assert started(stack, name)
        stack.clock.advance(timedelta(minutes=50))  # the wait (an hour) is not over: nothing yet
        assert not stack.journeys.executions[name]["done"].wait(0.5) and not mails_to(stack, address(customer))
        execution = finish(stack, name, timedelta(minutes=11))
        assert execution["states"] == ["Enter", "Applies?", "Wait", "Check", "Still applies?", "Send"]
        [mail] = mails_to(stack, address(customer))
        conversation = conversation_id_for(JOURNEY, customer, survey_answer_id(execution))
    offer = checked(execution)["context"]["offer"]
    code = offer["code"]
    first_name = store().get_customer(customer).first_name
    assert mail["subject"] == "A thank-you from Kettle & Co"
    text = mail["text"].replace("\r\n", "\n")
    # one message: the thanks for the answer, then the offer in the shop's words, about the product they ordered
    assert text.startswith(
        f"Hi {first_name},\n\nThank you for your feedback, and for saying you'd recommend Kettle & Co"
    )
    assert (
        f"To say thanks: the {store().get_product('wool-socks').title} comes on subscription, and code {code} gives "
        "you 10% off on it." in text
    )
    assert code.startswith("KC-REFILL-") and "Reply STOP" in text and f"+{conversation}@" in json.dumps(mail)
    # the code is the customer's, attributed to the offer and to the conversation the thank-you opened
    redeemed = store().redeem_discount(code, customer, f"PR-{customer}-2", MORNING + timedelta(days=2))
    assert (issuing.offer_of(redeemed.reason), redeemed.conversation_id) == (THANKS.id, conversation)
    # the decision is recorded (offered, presented) in that conversation, at the survey_promoter moment
    [decision] = decisions(customer)
    assert (decision.outcome.value, decision.presented, decision.conversation_id) == ("offer", True, conversation)
    assert memory().get_conversation(conversation).offers_presented == [THANKS.id]
    # the customer's answer continues the conversation with its context: the code again, with its product
    with merchant(**SHOP):
        reply = answer_by_email(stack, customer, conversation, "Sorry, what was the code again?")
    assert code in reply and "10% off" in reply and store().get_product("wool-socks").title in reply, reply


def test_a_held_out_customer_gets_no_message_at_all_and_the_decision_is_recorded_as_held_out(stack, clock):
    [held] = customers_in(Group.HOLDOUT, THANKS.id, 0.5)
    order(held, "wool-socks", f"PR-{held}-1", MORNING - timedelta(hours=2))
    with merchant(**SHOP):
        surveyed(stack, held, f"sv-{held}")
        execution = finish(stack, answer(stack, held, f"sv-{held}", "csat", 5))
    assert "Send" not in execution["states"] and checked(execution)["reason"] == "held_out"
    assert not mails_to(stack, address(held))
    conversation = conversation_id_for(JOURNEY, held, survey_answer_id(execution))
    assert memory().get_conversation(conversation) is None  # no conversation opened, no code issued
    [decision] = decisions(held)
    assert (decision.offer_id, decision.outcome.value, decision.group.value) == (THANKS.id, "hold_out", "holdout")
    assert checked(execution)["context"]["offer"]["outcome"] == "hold_out"


def test_a_detractor_a_passive_or_an_effort_answer_starts_nothing(stack, clock):
    [customer] = customers_in(Group.TREATMENT, THANKS.id, 0.5)
    order(customer, "wool-socks", f"PR-{customer}-1", MORNING - timedelta(hours=2))
    with merchant(**SHOP):
        surveyed(stack, customer, f"sv-{customer}")
        names = [
            answer(stack, customer, f"sv-{customer}", "csat", 4),  # satisfied, not a promoter
            answer(stack, customer, f"sv-{customer}", "nps", 8),  # a passive
            answer(stack, customer, f"sv-{customer}", "nps", 2),  # a detractor
            answer(stack, customer, f"sv-{customer}", "ces", 7),  # the easiest: effort, not advocacy
        ]
        stack.clock.advance(timedelta(hours=2))
    assert not any(started(stack, name) for name in names)
    assert not mails_to(stack, address(customer)) and decisions(customer) == []


def test_a_promoter_s_answer_changed_within_the_wait_is_not_thanked_and_a_change_to_another_promoter_s_once(
    stack, clock
):
    slipped, changed = customers_in(Group.TREATMENT, THANKS.id, 0.5, count=2)
    for customer in (slipped, changed):
        order(customer, "wool-socks", f"PR-{customer}-1", MORNING - timedelta(hours=2))
    with merchant(**SHOP):
        surveyed(stack, slipped, f"sv-{slipped}")
        surveyed(stack, changed, f"sv-{changed}")
        ten = answer(stack, slipped, f"sv-{slipped}", "nps", 10)
        nine = answer(stack, changed, f"sv-{changed}", "nps", 9)
        stack.clock.advance(timedelta(minutes=5))
        six = answer(stack, slipped, f"sv-{slipped}", "nps", 6)  # corrected: replaced within the survey's window
        later = answer(stack, changed, f"sv-{changed}", "nps", 10)
        stack.clock.advance(timedelta(minutes=61))
        runs = {name: stack.journeys.wait(name) for name in (ten, nine, later)}
    assert not started(stack, six)
    assert checked(runs[ten])["reason"] == checked(runs[nine])["reason"] == "answer_changed"
    assert not mails_to(stack, address(slipped)) and decisions(slipped) == []
    # the later promoter's answer is the one thanked, once
    assert runs[later]["states"][-1] == "Send" and len(mails_to(stack, address(changed))) == 1


def test_without_consent_to_personalization_nothing_is_decided_or_sent(stack, clock):
    refused, withdrawn = customers_in(Group.TREATMENT, THANKS.id, 0.5, count=2)
    for customer in (refused, withdrawn):
        order(customer, "wool-socks", f"PR-{customer}-1", MORNING - timedelta(hours=2))
    fresh_profile(refused, personalization=False)
    try:
        with merchant(**SHOP):
            surveyed(stack, refused, f"sv-{refused}")
            surveyed(stack, withdrawn, f"sv-{withdrawn}")
            first = answer(stack, refused, f"sv-{refused}", "csat", 5)
            second = answer(stack, withdrawn, f"sv-{withdrawn}", "csat", 5)
            fresh_profile(withdrawn, personalization=False)  # consent withdrawn during the wait
            stack.clock.advance(timedelta(minutes=61))
            assert entered(stack.journeys.wait(first))["reason"] == "no_personalization_consent"
            assert checked(stack.journeys.wait(second))["reason"] == "no_personalization_consent"
    finally:
        fresh_profile(refused)
        fresh_profile(withdrawn)
    for customer in (refused, withdrawn):
        assert not mails_to(stack, address(customer)) and decisions(customer) == []


def test_one_thank_you_in_90_days_however_many_surveys_a_promoter_answers(stack, clock):
    [customer] = customers_in(Group.TREATMENT, THANKS.id, 0.5)
    order(customer, "wool-socks", f"PR-{customer}-1", MORNING - timedelta(hours=2))
    with merchant(**SHOP):
        surveyed(stack, customer, f"sv-{customer}-1")
        assert finish(stack, answer(stack, customer, f"sv-{customer}-1", "csat", 5))["states"][-1] == "Send"
        stack.clock.advance(timedelta(days=40))
        surveyed(stack, customer, f"sv-{customer}-2")
        again = finish(stack, answer(stack, customer, f"sv-{customer}-2", "nps", 10))
    assert checked(again)["reason"] == "capped"
    assert len(mails_to(stack, address(customer))) == 1 and len(decisions(customer)) == 1


def test_the_offer_is_about_the_order_the_conversation_named_else_the_latest_and_never_an_invented_product(
    stack, clock
):
    named, latest, nothing = customers_in(Group.TREATMENT, THANKS.id, 0.5, count=3)
    # named: the conversation looked up an older order (a linen shirt); a newer one holds socks
    older = order(named, "linen-shirt", f"PR-{named}-1", MORNING - timedelta(hours=5))
    order(named, "wool-socks", f"PR-{named}-2", MORNING - timedelta(hours=2))
    # latest: no order named; the most recent order that holds a product of the offer is the one
    order(latest, "linen-shirt", f"PR-{latest}-1", MORNING - timedelta(hours=5))
    order(latest, "wool-socks", f"PR-{latest}-2", MORNING - timedelta(hours=2))
    # nothing: an offer about a product none of their orders holds
    nowhere = THANKS.model_copy(update={"trigger": THANKS.trigger.model_copy(update={"products": ["no-such-product"]})})
    with merchant(**SHOP):
        surveyed(stack, named, f"sv-{named}", order_id=older)
        surveyed(stack, latest, f"sv-{latest}")
        surveyed(stack, nothing, f"sv-{nothing}")
        runs = [answer(stack, c, f"sv-{c}", "csat", 5) for c in (named, latest)]
        with merchant(name="Kettle & Co", offers=[nowhere]):
            none = answer(stack, nothing, f"sv-{nothing}", "csat", 5)
        stack.clock.advance(timedelta(minutes=61))
        done = [stack.journeys.wait(name) for name in runs]
    linen, socks = store().get_product("linen-shirt").title, store().get_product("wool-socks").title
    named_mail = mails_to(stack, address(named))[-1]["text"]
    latest_mail = mails_to(stack, address(latest))[-1]["text"]
    assert linen in named_mail and socks not in named_mail
    assert socks in latest_mail and linen not in latest_mail
    assert checked(done[0])["context"]["order_id"] == older
    assert entered(stack.journeys.wait(none))["reason"] == "no_product"
    assert not mails_to(stack, address(nothing)) and decisions(nothing) == []


def test_an_answer_about_a_conversation_that_ended_upset_gets_no_offer_and_the_cap_is_given_back(stack, clock):
    [customer] = customers_in(Group.TREATMENT, THANKS.id, 0.5)
    order(customer, "wool-socks", f"PR-{customer}-1", MORNING - timedelta(hours=2))
    with merchant(**SHOP):
        surveyed(stack, customer, f"sv-{customer}-1", sentiments=[-0.8, 0.4])
        upset = finish(stack, answer(stack, customer, f"sv-{customer}-1", "csat", 5))
        assert checked(upset)["reason"] == "offer_refused"
        assert checked(upset)["context"]["offer"]["reason"] == "customer_upset"
        assert not mails_to(stack, address(customer))
        # refused is no exposure: the journey's slot was given back, and a later, calm promoter's answer is thanked
        stack.clock.advance(timedelta(days=3))
        surveyed(stack, customer, f"sv-{customer}-2", sentiments=[0.2, 0.6])
        calm = finish(stack, answer(stack, customer, f"sv-{customer}-2", "nps", 9))
    assert calm["states"][-1] == "Send" and len(mails_to(stack, address(customer))) == 1
    assert [d.reason.value for d in decisions(customer)] == ["customer_upset", "eligible"]


def test_the_demo_shop_s_own_thank_you_subscription_as_shipped(stack, clock):
    [customer] = customers_in(Group.TREATMENT, DEMO_THANKS, 0.1)
    order(customer, "crew-tee", f"PR-{customer}-1", MORNING - timedelta(hours=2))
    surveyed(stack, customer, f"sv-{customer}")
    execution = finish(stack, answer(stack, customer, f"sv-{customer}", "csat", 5))
    assert execution["states"][-1] == "Send"
    [mail] = mails_to(stack, address(customer))
    offer = checked(execution)["context"]["offer"]
    assert offer["offer_id"] == DEMO_THANKS and offer["code"] in mail["text"] and "15% off" in mail["text"]
    assert (
        store().get_product("crew-tee").title in mail["text"]
        and mail["subject"] == "A small thank-you from Northwind Outfitters"
    )


def survey_answer_id(execution: dict) -> str:
    return execution["output"]["entered"]["Payload"]["signal"]["signal_id"]
