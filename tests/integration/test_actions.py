"""The actions function on moto: it acts only for the verified customer, only under policy, only after
confirmation, and records every attempt."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from concierge import wiring
from concierge.settings import current_settings
from concierge.turn import ConversationSnapshot, CustomerRef, Decision, ToolCall, Turn


def act(stack, customer_id: str, conversation_id: str, *calls: ToolCall) -> list[dict]:
    now = datetime.now(timezone.utc)
    turn = Turn(
        conversation_id=conversation_id,
        customer=CustomerRef(id=customer_id, first_name=customer_id.title()),
        conversation=ConversationSnapshot(started_at=now, customer_turns=1),
        decision=Decision(next="actions", tool_calls=list(calls)),
        started_at=now,
    )
    out = stack.invoke("actions", {"kind": "turn.act", "turn": turn.model_dump(mode="json")})
    return out["results"]


def orders_of(customer_id: str):
    return wiring.reference_store(current_settings()).recent_orders(customer_id, 50)


@pytest.fixture(scope="module")
def sams_order(stack):
    return orders_of("sam")[0]


def test_naming_another_customers_order_reveals_nothing_and_is_audited(stack, tap, sams_order):
    tap.drain()
    [track, ret] = act(
        stack, "alex", "sec-1",
        ToolCall(id="c1", tool="track_shipment", arguments={"order_id": sams_order.id}),
        ToolCall(id="c2", tool="return_items", arguments={"order_id": sams_order.id, "line_ids": ["1"], "resolution": "refund", "reason": "too_small"}),
    )
    [missing] = act(stack, "alex", "sec-1", ToolCall(id="c3", tool="track_shipment", arguments={"order_id": "NW99999"}))
    for result in (track, ret):
        assert result["status"] == "denied" and result["reason"] == "order_not_found"
        assert sams_order.shipment.tracking_number not in str(result)
    # the same answer as for an order that does not exist, so probing ids learns nothing
    assert track["result"] == missing["result"]
    audited = [e["detail"] for e in tap.drain() if e["detail-type"] == "action.executed"]
    assert {(e["tool"], e["status"], e["customer_id"]) for e in audited} >= {
        ("track_shipment", "denied", "alex"), ("return_items", "denied", "alex")
    }
    stored = wiring.memory_store(current_settings()).get_action("sec-1", ret["action_id"])
    assert stored["status"] == "denied"


def test_a_return_waits_for_confirmation_and_only_the_owner_can_confirm(stack, sams_order):
    delivered = next(o for o in orders_of("alex") if o.status.value == "delivered")
    [pending] = act(
        stack, "alex", "sec-2",
        ToolCall(id="c1", tool="return_items", arguments={"order_id": delivered.id, "line_ids": [delivered.lines[0].line_id], "resolution": "refund", "reason": "too_small"}),
    )
    assert pending["status"] == "pending_confirmation"
    store = wiring.reference_store(current_settings())
    assert store.refunds(delivered.id) == [], "nothing is refunded before the customer confirms"

    [stolen] = act(stack, "sam", "sec-2", ToolCall(id="c2", tool="confirm_action", arguments={"action_id": pending["action_id"]}))
    assert stolen["status"] == "denied" and stolen["reason"] == "unknown_action"
    assert store.refunds(delivered.id) == []

    [done] = act(stack, "alex", "sec-2", ToolCall(id="c3", tool="confirm_action", arguments={"action_id": pending["action_id"]}))
    assert done["status"] == "executed"
    # Delivered again (a retry, a double click): the same result, and still one refund.
    [again] = act(stack, "alex", "sec-2", ToolCall(id="c4", tool="confirm_action", arguments={"action_id": pending["action_id"]}))
    assert again["status"] == "executed" and again["result"]["return_id"] == done["result"]["return_id"]
    assert len(store.refunds(delivered.id)) == 1


def test_amounts_cannot_be_supplied_by_the_caller(stack):
    delivered = next(o for o in orders_of("alex") if o.status.value == "delivered")
    [result] = act(
        stack, "alex", "sec-3",
        ToolCall(id="c1", tool="return_items", arguments={"order_id": delivered.id, "line_ids": ["1"], "resolution": "refund", "reason": "too_small", "refund_amount": "5000"}),
    )
    assert result["status"] == "failed" and result["reason"] == "invalid_arguments"
    assert "refund_amount" in result["result"]["explanation"]


def test_an_order_still_in_transit_cannot_be_returned_yet(stack, sams_order):
    assert sams_order.status.value == "shipped"
    [result] = act(
        stack, "sam", "sec-4",
        ToolCall(id="c1", tool="return_items", arguments={"order_id": sams_order.id, "line_ids": [sams_order.lines[0].line_id], "resolution": "refund", "reason": "too_small"}),
    )
    assert result["status"] == "denied" and result["reason"] == "order_shipped"
    assert "delivered" in result["result"]["explanation"], "a denial says why, so the assistant can tell the customer"


def test_unknown_tools_are_refused(stack):
    [result] = act(stack, "alex", "sec-5", ToolCall(id="c1", tool="refund_everything", arguments={}))
    assert result["status"] == "denied" and result["reason"] == "unknown_tool"
