"""Handoff to people on moto, through the turn workflow and the console routes: the package, the queue, one agent
per conversation, the AI silent while a person owns it, replies on the customer's channel, hand back and close."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime

import pytest

from concierge.channels.whatsapp import sign_payload
from concierge.handoff.queue import SupportHours, priority, route
from concierge.local.stack import DEV_WHATSAPP
from concierge.platform import wiring
from concierge.platform.settings import IngestSettings, current_settings
from concierge.store.merchant import SupportHoursConfig
from tests.credentials import customer_headers, operator_headers
from tests.integration.conftest import Client, merchant
from tests.integration.test_omnichannel import deliver, webhook, whatsapp_body


def operator(name: str) -> dict:
    return operator_headers(name, supervisor=False)


def customer(customer_id: str) -> dict:
    return customer_headers(customer_id)


def api(stack, method: str, path: str, headers: dict, body: dict | None = None, query: dict | None = None, **params):
    status, _, text = stack.proxy(
        method,
        path,
        params,
        {"Content-Type": "application/json", **headers},
        query or {},
        json.dumps(body) if body is not None else None,
    )
    return status, json.loads(text) if text else {}


def memory():
    return wiring.memory_store(current_settings(IngestSettings))


@pytest.fixture(scope="module")
def client(stack):
    return Client(stack)


@pytest.fixture(scope="module")
def angry(client, tap):
    """Jordan's parcel is late, and Jordan is fed up."""
    tap.drain()
    first = client.say("jordan", "ho-angry", "Where is my order?")
    second = client.say("jordan", "ho-angry", "This is ridiculous, I'm fed up. Third time asking, where is my jacket??")
    return first, second, tap.drain()


def test_an_angry_customer_is_handed_off_with_a_package(angry, stack):
    _, handed, events = angry
    assert handed.body["conversation_status"] == "handed_off" and handed.body["handoff"]
    [requested] = [e["detail"] for e in events if e["detail-type"] == "handoff.requested"]
    assert requested["queue"] == "orders" and requested["priority"] >= 50
    status, listed = api(stack, "GET", "/v1/handoffs", operator("dana"))
    assert status == 200 and "ho-angry" in [h["conversation_id"] for h in listed["handoffs"]]
    status, package = api(stack, "GET", "/v1/handoffs/ho-angry", operator("dana"), conversation_id="ho-angry")
    assert status == 200
    assert package["customer"]["name"] == "Jordan Lee" and package["open_orders"]
    assert package["problem"]["intent"] == "track" and package["problem"]["sentiment"] < 0
    assert [m["role"] for m in package["transcript"]][:2] == ["customer", "assistant"]
    late = package["open_orders"][0]
    assert package["suggested_reply"].startswith("Hi Jordan, I'm sorry") and late in package["suggested_reply"]
    assert api(stack, "GET", "/v1/handoffs", customer("jordan"))[0] == 401


def test_two_agents_cannot_both_claim_the_conversation(angry, stack):
    outcomes = []
    barrier = threading.Barrier(2)

    def take(name: str) -> None:
        barrier.wait()
        outcomes.append(
            (name, api(stack, "POST", "/v1/handoffs/ho-angry/claim", operator(name), conversation_id="ho-angry")[0])
        )

    threads = [threading.Thread(target=take, args=(n,)) for n in ("dana", "lee")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(status for _, status in outcomes) == [200, 409]
    winner = next(name for name, status in outcomes if status == 200)
    loser = next(name for name, status in outcomes if status == 409)
    assert (
        api(
            stack, "POST", "/v1/handoffs/ho-angry/messages", operator(loser), {"text": "hi"}, conversation_id="ho-angry"
        )[0]
        == 403
    )
    pytest.winner = winner


def test_the_ai_stays_silent_while_a_person_owns_the_conversation_and_the_reply_reaches_the_customer(
    angry, client, stack
):
    agent = pytest.winner
    invocations = dict(stack.invocations)
    quiet = client.say("jordan", "ho-angry", "Hello? Is anyone there?")
    assert quiet.status == 200 and quiet.body["reply"] is None and quiet.body["conversation_status"] == "handed_off"
    assert (
        stack.invocations["agent"] == invocations["agent"]
        and stack.invocations["retrieval"] == invocations["retrieval"]
    )
    status, _sent = api(
        stack,
        "POST",
        "/v1/handoffs/ho-angry/messages",
        operator(agent),
        {
            "text": "Hi Jordan, I'm Dana. Your jacket is at the depot; I've asked for it to go out today.",
            "message_id": "m1",
        },
        conversation_id="ho-angry",
    )
    assert status == 200
    again = api(
        stack,
        "POST",
        "/v1/handoffs/ho-angry/messages",
        operator(agent),
        {
            "text": "Hi Jordan, I'm Dana. Your jacket is at the depot; I've asked for it to go out today.",
            "message_id": "m1",
        },
        conversation_id="ho-angry",
    )
    assert again[1]["reason"] == "already_sent", "a resent console request is not sent twice"
    status, page = api(
        stack,
        "GET",
        "/v1/conversations/ho-angry/messages",
        customer("jordan"),
        query={"after": "0"},
        conversation_id="ho-angry",
    )
    assert status == 200 and page["owner"] == "human"
    agent_messages = [m for m in page["messages"] if m["role"] == "agent"]
    assert len(agent_messages) == 1 and agent_messages[0]["author"] == agent
    assert (
        api(stack, "GET", "/v1/conversations/ho-angry/messages", customer("sam"), conversation_id="ho-angry")[0] == 404
    )
    package = api(stack, "GET", "/v1/handoffs/ho-angry", operator(agent), conversation_id="ho-angry")[1]
    assert [m.get("author") for m in package["transcript"] if m["role"] == "agent"] == [agent], (
        "the console names who replied"
    )


def test_hand_back_lets_the_ai_answer_again_and_is_measured(angry, client, stack, tap):
    agent = pytest.winner
    tap.drain()
    assert (
        api(
            stack,
            "POST",
            "/v1/handoffs/ho-angry/release",
            operator(agent),
            {"note": "tracking answered"},
            conversation_id="ho-angry",
        )[0]
        == 200
    )
    answered = client.say("jordan", "ho-angry", "What is your return policy?")
    assert answered.body["reply"] is not None and answered.body["conversation_status"] != "handed_off"
    [ended] = [e["detail"] for e in tap.drain() if e["detail-type"] == "handoff.ended"]
    assert ended["outcome"] == "handed_back" and ended["agent"] == agent
    assert ended["first_human_response_ms"] is not None and ended["customer_messages"] == 1
    assert "ho-angry" not in [
        h["conversation_id"] for h in api(stack, "GET", "/v1/handoffs", operator("dana"))[1]["handoffs"]
    ]


@pytest.mark.parametrize("channel", ["web", "email", "whatsapp"])
def test_asking_for_a_human_hands_off_on_the_first_turn_in_every_channel(channel, client, stack):
    text = {
        "web": "I want a human",
        "email": "Can I talk to a real person please?",
        "whatsapp": "agent please, I need a representative",
    }[channel]
    if channel == "web":
        reply = client.say("sam", "ho-human-web", text)
        assert reply.body["handoff"] and reply.body["conversation_status"] == "handed_off"
        conversation_id = "ho-human-web"
    elif channel == "email":
        from email.message import EmailMessage

        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = "newcomer@example.org", "support@northwind.example", "help"
        message.set_content(text)
        stack.receive_email(message.as_bytes())
        deliver(stack)
        conversation_id = None
    else:
        body = whatsapp_body("15035550199", "Sam", text, "wamid.ho-human")
        webhook(stack, body, sign_payload(body, DEV_WHATSAPP["app_secret"]))
        deliver(stack)
        conversation_id = None
    queue = api(stack, "GET", "/v1/handoffs", operator("dana"))[1]["handoffs"]
    mine = [
        h
        for h in queue
        if h["channel"] == channel and (conversation_id is None or h["conversation_id"] == conversation_id)
    ]
    assert mine and mine[0]["reason"] == "customer asked for a human"
    record = memory().get_conversation(mine[0]["conversation_id"])
    assert record.customer_turns == 1, "handed off on the first message"


def test_a_conversation_a_person_closed_returns_to_that_person(client, stack, tap):
    client.say("sam", "ho-close", "I want to speak to a human")
    assert api(stack, "POST", "/v1/handoffs/ho-close/claim", operator("lee"), conversation_id="ho-close")[0] == 200
    assert (
        api(
            stack,
            "POST",
            "/v1/handoffs/ho-close/close",
            operator("lee"),
            {"resolution": "maybe", "reason": "x"},
            conversation_id="ho-close",
        )[0]
        == 400
    )
    tap.drain()
    assert (
        api(
            stack,
            "POST",
            "/v1/handoffs/ho-close/close",
            operator("lee"),
            {"resolution": "resolved", "reason": "answered by phone"},
            conversation_id="ho-close",
        )[0]
        == 200
    )
    kinds = {e["detail-type"] for e in tap.drain()}
    assert {"handoff.ended", "conversation.closed"} <= kinds
    reopened = client.say("sam", "ho-close", "One more thing about that")
    assert reopened.body["reply"] is None, "the person who closed it has it again; the AI stays silent"
    [entry] = [
        h
        for h in api(stack, "GET", "/v1/handoffs", operator("dana"))[1]["handoffs"]
        if h["conversation_id"] == "ho-close"
    ]
    assert (entry["state"], entry["assigned_to"]) == ("assigned", "lee")


@pytest.mark.parametrize("second_end", ["close", "release"])
def test_a_reopened_conversation_closes_or_goes_back_to_the_ai_with_its_events(client, stack, tap, second_end):
    conversation = f"ho-reopen-{second_end}"
    client.say("sam", conversation, "I want to speak to a human")
    assert (
        api(stack, "POST", f"/v1/handoffs/{conversation}/claim", operator("lee"), conversation_id=conversation)[0]
        == 200
    )
    assert (
        api(
            stack,
            "POST",
            f"/v1/handoffs/{conversation}/messages",
            operator("lee"),
            {"text": "Hi, Lee here.", "message_id": "r1"},
            conversation_id=conversation,
        )[0]
        == 200
    )
    assert (
        api(
            stack,
            "POST",
            f"/v1/handoffs/{conversation}/close",
            operator("lee"),
            {"resolution": "resolved", "reason": "answered"},
            conversation_id=conversation,
        )[0]
        == 200
    )
    client.say("sam", conversation, "Sorry, one more question")  # back to Lee: a new episode
    tap.drain()
    body = (
        {"resolution": "resolved", "reason": "answered again"} if second_end == "close" else {"note": "over to the AI"}
    )
    status, answer = api(
        stack, "POST", f"/v1/handoffs/{conversation}/{second_end}", operator("lee"), body, conversation_id=conversation
    )
    assert status == 200, answer
    events = {e["detail-type"]: e["detail"] for e in tap.drain()}
    assert "handoff.ended" in events
    assert events["handoff.ended"]["first_human_response_ms"] is None  # nobody has answered the reopened episode yet
    assert ("conversation.closed" in events) == (second_end == "close")
    [entry] = [
        h
        for h in api(stack, "GET", "/v1/handoffs", operator("dana"))[1]["handoffs"]
        if h["conversation_id"] == conversation
    ] or [None]
    assert entry is None or entry["state"] in ("closed", "released")


def test_routing_priority_and_hours_by_hand():
    assert route("customer asked for a human", ["greeting", "return"]) == "returns"
    assert route("payment failure", ["track"]) == "billing"
    assert route("customer asked for a human", ["greeting"]) == "general"
    assert priority("customer asked for a human", 0.0, 0) == 30
    assert priority("payment failure", -1.0, 1000) == 30 + 30 + 20 + 15
    assert priority("customer is frustrated", -0.5, 250) == 30 + 15 + 10 + 6
    hours = SupportHours(timezone="America/New_York", weekdays=[0, 1, 2, 3, 4])
    saturday = datetime(2026, 11, 21, 15, 0, tzinfo=UTC)  # 10:00 in New York, a Saturday
    assert not hours.is_open(saturday)
    assert hours.next_open(saturday).isoformat() == "2026-11-23T09:00:00-05:00"
    assert hours.is_open(datetime(2026, 11, 23, 15, 0, tzinfo=UTC))


def test_out_of_hours_the_customer_is_told_when_to_expect_a_reply(client, stack):
    with merchant(support_hours=SupportHoursConfig(timezone="UTC", weekdays=[], open="09:00", close="17:00")):
        reply = client.say("alex", "ho-night", "I need a real person")
    assert "away right now" in reply.text and "will reply here by" in reply.text


def test_a_hand_back_answers_what_the_customer_asked_meanwhile(client, stack):
    conversation = "ho-waiting"
    client.say("sam", conversation, "I want to speak to a human")
    assert (
        api(stack, "POST", f"/v1/handoffs/{conversation}/claim", operator("lee"), conversation_id=conversation)[0]
        == 200
    )
    reply = {"text": "Hi Sam, Lee here. Let me look.", "message_id": "w1"}
    assert (
        api(
            stack, "POST", f"/v1/handoffs/{conversation}/messages", operator("lee"), reply, conversation_id=conversation
        )[0]
        == 200
    )
    waiting = client.say("sam", conversation, "Also, how long do refunds take?")
    assert waiting.body["reply"] is None, "Lee has it: the AI is silent"

    status, released = api(
        stack,
        "POST",
        f"/v1/handoffs/{conversation}/release",
        operator("lee"),
        {"note": "the AI can answer that"},
        conversation_id=conversation,
    )
    assert status == 200 and released["answered"] is True, released
    status, page = api(
        stack, "GET", f"/v1/conversations/{conversation}/messages", customer("sam"), conversation_id=conversation
    )
    last = page["messages"][-1]
    assert status == 200 and last["role"] == "assistant" and "refund" in last["text"].lower(), page["messages"][-3:]
    # Nothing is waiting any more: handing back again (after a new handoff) answers nothing twice.
    assert memory().unanswered(conversation) == []
