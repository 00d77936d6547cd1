"""Refunds above the merchant's limit wait for a person: the approval workflow (the Standard state machine CDK
deploys, run by the local interpreter) on moto, with the real actions and ingest functions.

The limit is lowered to 10.00 for this module, so the demo's everyday orders need an approval."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from concierge.conversation.turn import ToolCall
from concierge.platform import aws, wiring
from concierge.platform.settings import IngestSettings, current_settings
from tests.credentials import customer_headers, operator_headers
from tests.integration.conftest import Client, local_stack, merchant, settings
from tests.integration.test_actions import act


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    for local in local_stack(tmp_path_factory):
        with merchant(max_auto_refund=Decimal("10.00")):  # the shop's merchant.json: refunds above $10 wait
            yield local


@pytest.fixture(scope="module")
def client(stack):
    return Client(stack)


def as_operator(operator_id: str, supervisor: bool = True) -> dict:
    return operator_headers(operator_id, supervisor)


def call(stack, method: str, path: str, headers: dict, body: dict | None = None, **params) -> tuple[int, dict]:
    status, _, text = stack.proxy(
        method,
        path,
        params,
        {"Content-Type": "application/json", **headers},
        {},
        json.dumps(body) if body is not None else None,
    )
    return status, json.loads(text) if text else {}


def decide(stack, action_id: str, verdict: str, operator: str = "dana", body: dict | None = None) -> tuple[int, dict]:
    return call(stack, "POST", f"/v1/approvals/{action_id}/{verdict}", as_operator(operator), body, action_id=action_id)


def store():
    return wiring.reference_store(current_settings(IngestSettings))


def memory():
    return wiring.memory_store(current_settings(IngestSettings))


def memory_table():
    """The raw memory table, for what a test inspects or plants directly."""
    return aws.table(current_settings(IngestSettings).memory_table)


def returnable_line(customer_id: str):
    """A delivered order of the customer within the return window, and one of its returnable lines."""
    now = datetime.now(UTC)
    for order in store().recent_orders(customer_id, 20):
        if order.status.value != "delivered" or now - order.shipment.delivered_at > timedelta(days=25):
            continue
        returned = store().returned_line_ids(order.id)
        for line in order.lines:
            product = store().get_product(line.product_id)
            if line.line_id not in returned and product.returnable:
                return order, line
    return None


def request_approval(stack, conversation_id: str) -> tuple[str, object, dict]:
    """Propose and confirm a refund for a demo customer with a recent delivery; returns the action awaiting approval."""
    from concierge.store.demo import generate_store

    taken = {a.get("customer_id") for a in memory_table().scan()["Items"] if str(a["sk"]).startswith("APPROVAL#")}
    candidates = (c.id for c in generate_store(seed=7).customers if c.id not in {"alex", "sam", "jordan", *taken})
    customer, (order, line) = next((c, found) for c in candidates if (found := returnable_line(c)))
    [pending] = act(
        stack,
        customer,
        conversation_id,
        ToolCall(
            id="p",
            tool="return_items",
            arguments={
                "order_id": order.id,
                "line_ids": [line.line_id],
                "resolution": "refund",
                "reason": "changed_mind",
            },
        ),
    )
    assert pending["status"] == "pending_confirmation" and pending["result"]["requires_approval"] is True
    # the conversation exists, as it would after the customer's turns, so the outcome can be told in it
    from concierge.memory.store import ConversationRecord

    at = datetime.now(UTC)
    memory().load(
        [
            memory().conversation_put(
                ConversationRecord(
                    conversation_id=conversation_id,
                    customer_id=customer,
                    channel="web",
                    started_at=at,
                    updated_at=at,
                    message_seq=2,
                )
            )
        ]
    )
    [confirmed] = act(
        stack,
        customer,
        conversation_id,
        ToolCall(id="c", tool="confirm_action", arguments={"action_id": pending["action_id"]}),
    )
    return customer, order, confirmed


def test_a_large_refund_waits_and_an_approval_executes_it_once(client, stack, tap):
    tap.drain()
    script = [
        "I need to return the blue shirt from my last order",
        "Yes, that's the one",
        "It's too small",
        "A refund please",
    ]
    replies = [client.say("alex", "ap-shirt", text) for text in script]
    assert "approval" in replies[-1].text and "$49.00" in replies[-1].text
    confirmed = client.say("alex", "ap-shirt", "Yes, please send it")
    [waiting] = confirmed.actions("return_items", "awaiting_approval")
    action_id = waiting["result"]["action_id"]
    assert action_id in confirmed.text and "teammate" in confirmed.text
    order_id = waiting["result"]["order_id"]
    assert store().refunds(order_id) == [], "nothing is refunded while a person has not decided"

    # The people who decide see it; nobody else does.
    status, listed = call(stack, "GET", "/v1/approvals", as_operator("dana"))
    assert status == 200
    [entry] = [a for a in listed["approvals"] if a["action_id"] == action_id]
    assert entry["summary"].startswith("Refund 49.00 USD to your Visa card ending 4242") and "task_token" not in entry
    alex = customer_headers("alex")  # a customer token never passes the operator authorizer
    assert call(stack, "GET", "/v1/approvals", alex)[0] == 401
    assert call(stack, "POST", f"/v1/approvals/{action_id}/approve", alex, action_id=action_id)[0] == 401
    # an agent sees the waiting action; deciding it takes a supervisor
    status, refused = call(stack, "POST", f"/v1/approvals/{action_id}/approve", as_operator("lee", supervisor=False))
    assert (status, refused["message"]) == (
        403,
        "Deciding an approval needs a supervisor: lee is not in the 'supervisor' group.",
    )
    assert call(stack, "GET", "/v1/approvals", as_operator("lee", supervisor=False))[0] == 200

    # Two people approve at the same moment: one decision counts, the other is told it was taken.
    outcomes: list[tuple[int, dict]] = []
    barrier = threading.Barrier(2)

    def approve(operator: str) -> None:
        barrier.wait()
        outcomes.append(decide(stack, action_id, "approve", operator))

    threads = [threading.Thread(target=approve, args=(name,)) for name in ("dana", "lee")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(status for status, _ in outcomes) == [200, 409]
    execution = stack.approvals.wait(action_id)
    assert execution["status"] == "SUCCEEDED"
    assert execution["states"] == ["WaitForDecision", "Approved?", "Execute", "NotifyCustomer"]

    ledger = store().refunds(order_id)
    assert [r.refund_amount for r in ledger] == [Decimal("49.00")]
    assert memory().get_action("ap-shirt", action_id)["status"] == "executed"
    # The customer is told in the conversation and by email; the QR-code email went out as for any return.
    told = [m for m in memory().transcript("ap-shirt") if m["role"] == "assistant"][-1]
    assert "approved your refund" in told["text"] and "49.00 USD" in told["text"]
    mails = [m for m in stack.outbox() if "alex@example.com" in m["to"]]
    assert any("approved your refund" in m["text"] for m in mails)
    events = tap.drain()
    [requested] = [e["detail"] for e in events if e["detail-type"] == "approval.requested"]
    assert (requested["action_id"], requested["amount"]) == (action_id, "49.00")
    audit = [
        e["detail"] for e in events if e["detail-type"] == "action.executed" and e["detail"]["action_id"] == action_id
    ]
    assert sorted(e["status"] for e in audit) == ["awaiting_approval", "executed"]
    executed = [e for e in audit if e["status"] == "executed"]
    assert len(executed) == 1 and executed[0]["decided_by"] in ("dana", "lee") and executed[0]["amount"] == "49.00"

    # Deciding again: nothing is waiting any more; and it is gone from the list.
    assert decide(stack, action_id, "approve")[0] == 404
    assert action_id not in [
        a["action_id"] for a in call(stack, "GET", "/v1/approvals", as_operator("dana"))[1]["approvals"]
    ]
    # The customer confirming again changes nothing either.
    again = client.say("alex", "ap-shirt", "yes")
    assert len(store().refunds(order_id)) == 1 and again.status == 200


def test_a_denial_refunds_nothing_and_tells_the_customer_why(stack, tap):
    tap.drain()
    customer, order, confirmed = request_approval(stack, "ap-deny")
    assert confirmed["status"] == "awaiting_approval"
    action_id = confirmed["action_id"]
    assert decide(stack, action_id, "deny", body={"note": "x" * 501})[0] == 400
    status, body = decide(stack, action_id, "deny", body={"note": "The item shows signs of wear."})
    assert (status, body["status"]) == (200, "denied")
    execution = stack.approvals.wait(action_id)
    assert execution["states"] == ["WaitForDecision", "Approved?", "Decline", "NotifyCustomer"]
    assert store().refunds(order.id) == []
    action = memory().get_action("ap-deny", action_id)
    assert (action["status"], action["reason"]) == ("denied", "approval_denied")
    told = [m for m in memory().transcript("ap-deny") if m["role"] == "assistant"][-1]["text"]
    assert "couldn't approve" in told and "signs of wear" in told
    email = store().get_customer(customer).email
    assert any(email in m["to"] and "signs of wear" in m["text"] for m in stack.outbox())
    denied = [
        e["detail"]
        for e in tap.drain()
        if e["detail-type"] == "action.executed" and e["detail"]["action_id"] == action_id
    ]
    assert sorted((e["status"], e["reason"] or "", e["decided_by"] or "") for e in denied) == [
        ("awaiting_approval", "", ""),
        ("denied", "approval_denied", "dana"),
    ]


def test_an_undecided_approval_expires_and_a_person_follows_up(stack, tap):
    with settings(CONCIERGE_APPROVAL_TIMEOUT_SECONDS="1"):
        tap.drain()
        _customer, order, confirmed = request_approval(stack, "ap-expire")
        action_id = confirmed["action_id"]
        execution = stack.approvals.wait(action_id, timeout=15)
    assert execution["states"] == ["WaitForDecision", "Expire", "NotifyCustomer"]
    assert store().refunds(order.id) == []
    assert memory().get_action("ap-expire", action_id)["reason"] == "approval_expired"
    told = [m for m in memory().transcript("ap-expire") if m["role"] == "assistant"][-1]["text"]
    assert "wasn't reviewed in time" in told
    events = tap.drain()
    assert any(
        e["detail-type"] == "handoff.requested" and e["detail"]["conversation_id"] == "ap-expire" for e in events
    )
    # Too late to decide now.
    assert decide(stack, action_id, "approve")[0] == 404
