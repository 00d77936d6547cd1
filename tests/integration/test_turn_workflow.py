"""The turn workflow end to end on moto: the state machine CDK deploys, the five handlers, DynamoDB, EventBridge,
SQS and SES — observed through what a customer, a merchant and the survey pipeline would see."""

from __future__ import annotations

import base64
from decimal import Decimal

import boto3
import pytest

from concierge.local.stack import REGION
from concierge.platform import wiring
from concierge.platform.settings import IngestSettings, current_settings

SHIRT = "Classic Oxford Shirt (Blue, L)"


@pytest.fixture(scope="module")
def shirt_return(client, tap):
    """Alex returns the blue shirt for a refund, then says goodbye (which closes the conversation)."""
    tap.drain()
    script = [
        "I need to return the blue shirt from my last order",
        "Yes, that's the one",
        "It's too small",
        "A refund please",
        "Yes, go ahead",
        "Thanks, that's all",
    ]
    replies = [client.say("alex", "it-return", text) for text in script]
    return replies, tap.drain()


def test_every_turn_answers_200(shirt_return):
    replies, _ = shirt_return
    assert [r.status for r in replies] == [200] * 6


def test_the_shirt_is_found_in_the_latest_order_without_an_order_number(shirt_return):
    first = shirt_return[0][0]
    assert SHIRT in first.text
    assert "order number" not in first.text.lower()


def test_the_refund_is_priced_from_the_order_and_sent_to_the_original_card(shirt_return, stack):
    replies, _ = shirt_return
    proposed = replies[3].actions("return_items", "pending_confirmation")
    assert proposed and proposed[0]["result"]["refund_amount"] == "49.00"
    executed = replies[4].actions("return_items", "executed")
    assert len(executed) == 1
    result = executed[0]["result"]
    assert result["refund_amount"] == "49.00"
    assert result["refund_to"] == "your Visa card ending 4242"
    assert "$49.00" in replies[4].text
    store = wiring.reference_store(current_settings(IngestSettings))
    ledger = store.refunds(result["order_id"])
    assert [(r.refund_amount, r.return_id) for r in ledger] == [(Decimal("49.00"), result["return_id"])]


def test_the_drop_off_email_carries_a_qr_code(shirt_return, stack):
    emails = [e for e in stack.outbox() if "alex@example.com" in e["to"]]
    assert emails, "no email was sent to Alex"
    email = emails[-1]
    assert SHIRT in email["text"]
    qr = [part for part in email["attachments"] if part["content_type"] == "image/png"]
    assert qr and base64.b64decode(qr[0]["data_base64"]).startswith(b"\x89PNG")
    assert "data:image/png;base64," in email["html"], "the QR image must be referenced inline by the HTML body"


def test_every_message_turn_and_action_is_in_memory(shirt_return):
    memory = boto3.resource("dynamodb", region_name=REGION).Table(current_settings(IngestSettings).memory_table)
    items = memory.query(KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": "CONV#it-return"})[
        "Items"
    ]
    kinds = [item["sk"].split("#")[0] for item in items]
    assert kinds.count("MSG") == 12  # six customer messages, six replies
    assert kinds.count("TURN") == 6
    assert kinds.count("ACTION") >= 1
    assert all("expires_at" in item for item in items), "every memory item must expire (retention)"


def test_domain_events_reach_the_bus(shirt_return):
    _, events = shirt_return
    types = [e["detail-type"] for e in events]
    assert types.count("turn.completed") == 6
    executed = [e["detail"] for e in events if e["detail-type"] == "action.executed"]
    assert [(e["tool"], e["status"], e["amount"]) for e in executed] == [("return_items", "executed", "49.00")]
    closed = [e["detail"] for e in events if e["detail-type"] == "conversation.closed"]
    assert len(closed) == 1 and closed[0]["resolution"] == "resolved"


def test_auto_csat_is_scored_through_the_bus_sqs_path(shirt_return, stack):
    while stack.poll_once():
        pass
    score = wiring.memory_store(current_settings(IngestSettings)).get_score("it-return", "auto")
    assert score is not None
    assert 4 <= score["score"] <= 5
    assert score["reasons"], "a score must explain itself"
    assert set(stack.dead_letters().values()) == {0}


def test_the_same_shirt_cannot_be_returned_twice(shirt_return, client):
    client.say("alex", "it-again", "I need to return the blue shirt from my last order")
    reply = client.say("alex", "it-again", "yes")
    later = [reply]
    for text in ("too small", "refund", "yes"):
        later.append(client.say("alex", "it-again", text))
    assert not any(r.actions("return_items", "executed") for r in later)
    assert len(wiring.reference_store(current_settings(IngestSettings)).refunds("NW10002")) == 1


def test_a_returning_customer_is_welcomed_back_with_what_happened(shirt_return, client):
    reply = client.say("alex", "it-next-day", "hi")
    assert "welcome back" in reply.text.lower()
    assert "refund" in reply.text.lower()
