"""What one turn costs in DynamoDB requests, on the deployed state machine over moto: the conversation is read once
(with its owner and the customer's profile, in one batch), the turn's state travels in the workflow payload, a
lookup's record is written with the reply, and none of it grows with the conversation's length."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import boto3
import pytest

from concierge.local.stack import REGION
from concierge.memory import longterm
from concierge.memory.store import MemoryStore
from concierge.platform import wiring
from concierge.platform.clock import now
from concierge.platform.settings import IngestSettings, current_settings


@pytest.fixture(scope="module")
def calls(stack) -> Iterator[Counter[str]]:
    """Every DynamoDB request the functions make from here on, by operation (clients are made again to see them)."""
    counted: Counter[str] = Counter()
    boto3.setup_default_session(region_name=REGION)
    assert boto3.DEFAULT_SESSION is not None
    boto3.DEFAULT_SESSION.events.register("before-call.dynamodb", lambda model, **_: counted.update([model.name]))
    wiring.reset()
    yield counted
    boto3.setup_default_session(region_name=REGION)
    wiring.reset()


def requests_of(client, calls: Counter[str], customer: str, conversation: str, text: str) -> tuple[int, dict]:
    calls.clear()
    reply = client.say(customer, conversation, text)
    assert reply.status == 200, reply.body
    return sum(calls.values()), reply.body


def test_a_tracking_question_later_in_a_conversation_takes_four_requests_however_long_it_is(client, calls):
    requests_of(client, calls, "sam", "calls-short", "hi")
    short, body = requests_of(client, calls, "sam", "calls-short", "where is my order?")
    assert [a["tool"] for a in body["actions"]] == ["track_shipment"]
    # the conversation's state and owner with the profile; the message; the customer's orders; the reply (with the
    # lookup's record)
    assert short == 4, calls
    for n in range(12):
        requests_of(
            client, calls, "sam", "calls-long", "Do you ship to Canada?" if n % 2 else "How long do refunds take?"
        )
    long, _ = requests_of(client, calls, "sam", "calls-long", "where is my order?")
    assert long == short


def test_the_lookup_is_recorded_with_the_reply(client, calls):
    requests_of(client, calls, "sam", "calls-audit", "where is my order?")
    assert "PutItem" not in calls  # no write of its own: the reply's transaction carries it
    memory = MemoryStore(
        boto3.resource("dynamodb", region_name=REGION).Table(current_settings(IngestSettings).memory_table), 30
    )
    recorded = [i for i in memory.conversation_partition("calls-audit") if i["sk"].startswith("ACTION#")]
    assert [(i["tool"], i["status"], i["customer_id"]) for i in recorded] == [("track_shipment", "executed", "sam")]


def test_the_turn_that_executes_a_refund_takes_at_most_eight_requests(client, calls):
    script = [
        "I need to return the blue shirt from my last order",
        "Yes, that's the one",
        "It's too small",
        "A refund please",
    ]
    for text in script:
        requests_of(client, calls, "alex", "calls-refund", text)
    count, body = requests_of(client, calls, "alex", "calls-refund", "Yes, go ahead")
    assert [(a["tool"], a["status"]) for a in body["actions"]] == [("return_items", "executed")]
    assert count <= 8, calls


def test_what_is_remembered_before_a_conversation_closes_is_recalled_in_the_next(client, calls):
    """Recall reads nothing for a customer with no profile, so the first fact remembered writes one."""
    memory = wiring.memory_store(current_settings(IngestSettings))
    assert memory.get_profile("jordan") is None
    requests_of(client, calls, "jordan", "calls-asked", "What is the Trail Shell Jacket made of?")
    profile = memory.get_profile("jordan")
    assert profile is not None  # remembered: an interest, while that conversation is still open
    recalled = longterm.recall(memory, "jordan", "calls-next", profile)
    assert any("Trail Shell Jacket" in fact for fact in recalled.facts), recalled


def test_a_conversation_closed_by_a_person_during_a_turn_stays_closed(client, calls, stack, monkeypatch):
    """The reply is written on the conversation as receive stored it only when nothing changed it since: a person's
    change in the meantime makes the reply read it again and build on it."""
    requests_of(client, calls, "sam", "calls-closed", "hi")
    memory = wiring.memory_store(current_settings(IngestSettings))
    original = stack.handler("agent")

    def close_then_decide(event, context):  # a person closes it in the console while the agent decides
        memory.set_status("calls-closed", "closed", now())
        return original(event, context)

    monkeypatch.setitem(stack._handlers, "agent", close_then_decide)
    requests_of(client, calls, "sam", "calls-closed", "How long do refunds take?")
    record = memory.get_conversation("calls-closed")
    assert record is not None and record.status.value == "closed"
    assert record.message_seq == 4  # both replies stored, none overwritten
