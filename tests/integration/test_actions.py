"""The actions function on moto: it acts only for the verified customer, only under policy, only after
confirmation, and records every attempt."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from concierge.conversation.api import Channel
from concierge.conversation.turn import (
    ConversationSnapshot,
    CustomerRef,
    DecidedTurn,
    Decision,
    IncomingMessage,
    Signals,
    ToolCall,
)
from concierge.local.stack import REGION
from concierge.platform import wiring
from concierge.platform.settings import IngestSettings, current_settings


def act(stack, customer_id: str, conversation_id: str, *calls: ToolCall, shown: bool = True) -> list[dict]:
    """One round of tool calls through the actions function, as a model makes them. With `shown`, the proposals it
    made are then marked shown, as storing the reply that states them does (conversations.reply)."""
    now = datetime.now(UTC)
    turn = DecidedTurn(
        conversation_id=conversation_id,
        customer=CustomerRef(id=customer_id, first_name=customer_id.title()),
        message=IncomingMessage(message_id=f"{conversation_id}:1", text="yes", channel=Channel.WEB, received_at=now),
        signals=Signals(intent="affirm", intent_confidence=0.9, sentiment=0.0),
        conversation=ConversationSnapshot(started_at=now, customer_turns=1),
        decision=Decision(next="actions", tool_calls=list(calls)),
        started_at=now,
    )
    results = stack.invoke("actions", {"kind": "turn.act", "turn": turn.model_dump(mode="json")})["results"]
    if shown:
        show_proposals(conversation_id, results)
    return results


def show_proposals(conversation_id: str, results: list[dict]) -> None:
    table = boto3.resource("dynamodb", region_name=REGION).Table(current_settings(IngestSettings).memory_table)
    for result in results:
        if result["status"] == "pending_confirmation":
            table.update_item(
                Key={"pk": f"CONV#{conversation_id}", "sk": f"ACTION#{result['action_id']}"},
                UpdateExpression="SET shown_at = :at",
                ExpressionAttributeValues={":at": datetime.now(UTC).isoformat()},
            )


def orders_of(customer_id: str):
    return wiring.reference_store(current_settings(IngestSettings)).recent_orders(customer_id, 50)


@pytest.fixture(scope="module")
def sams_order(stack):
    return orders_of("sam")[0]


def test_naming_another_customers_order_reveals_nothing_and_is_audited(stack, tap, sams_order):
    tap.drain()
    [track, ret] = act(
        stack,
        "alex",
        "sec-1",
        ToolCall(id="c1", tool="track_shipment", arguments={"order_id": sams_order.id}),
        ToolCall(
            id="c2",
            tool="return_items",
            arguments={"order_id": sams_order.id, "line_ids": ["1"], "resolution": "refund", "reason": "too_small"},
        ),
    )
    [missing] = act(stack, "alex", "sec-1", ToolCall(id="c3", tool="track_shipment", arguments={"order_id": "NW99999"}))
    for result in (track, ret):
        assert result["status"] == "denied" and result["reason"] == "order_not_found"
        assert sams_order.shipment.tracking_number not in str(result)
    # the same answer as for an order that does not exist, so probing ids learns nothing
    assert track["result"] == missing["result"]
    audited = [e["detail"] for e in tap.drain() if e["detail-type"] == "action.executed"]
    assert {(e["tool"], e["status"], e["customer_id"]) for e in audited} >= {
        ("track_shipment", "denied", "alex"),
        ("return_items", "denied", "alex"),
    }
    stored = wiring.memory_store(current_settings(IngestSettings)).get_action("sec-1", ret["action_id"])
    assert stored["status"] == "denied"


def test_a_return_waits_for_confirmation_and_only_the_owner_can_confirm(stack, sams_order):
    delivered = next(o for o in orders_of("alex") if o.status.value == "delivered")
    [pending] = act(
        stack,
        "alex",
        "sec-2",
        ToolCall(
            id="c1",
            tool="return_items",
            arguments={
                "order_id": delivered.id,
                "line_ids": [delivered.lines[0].line_id],
                "resolution": "refund",
                "reason": "too_small",
            },
        ),
    )
    assert pending["status"] == "pending_confirmation"
    store = wiring.reference_store(current_settings(IngestSettings))
    assert store.refunds(delivered.id) == [], "nothing is refunded before the customer confirms"

    [stolen] = act(
        stack, "sam", "sec-2", ToolCall(id="c2", tool="confirm_action", arguments={"action_id": pending["action_id"]})
    )
    assert stolen["status"] == "denied" and stolen["reason"] == "unknown_action"
    assert store.refunds(delivered.id) == []

    [done] = act(
        stack, "alex", "sec-2", ToolCall(id="c3", tool="confirm_action", arguments={"action_id": pending["action_id"]})
    )
    assert done["status"] == "executed"
    # Delivered again (a retry, a double click): the same result, and still one refund.
    [again] = act(
        stack, "alex", "sec-2", ToolCall(id="c4", tool="confirm_action", arguments={"action_id": pending["action_id"]})
    )
    assert again["status"] == "executed" and again["result"]["return_id"] == done["result"]["return_id"]
    assert len(store.refunds(delivered.id)) == 1


def test_amounts_cannot_be_supplied_by_the_caller(stack):
    delivered = next(o for o in orders_of("alex") if o.status.value == "delivered")
    [result] = act(
        stack,
        "alex",
        "sec-3",
        ToolCall(
            id="c1",
            tool="return_items",
            arguments={
                "order_id": delivered.id,
                "line_ids": ["1"],
                "resolution": "refund",
                "reason": "too_small",
                "refund_amount": "5000",
            },
        ),
    )
    assert result["status"] == "failed" and result["reason"] == "invalid_arguments"
    assert "refund_amount" in result["result"]["explanation"]


def test_an_order_still_in_transit_cannot_be_returned_yet(stack, sams_order):
    assert sams_order.status.value == "shipped"
    [result] = act(
        stack,
        "sam",
        "sec-4",
        ToolCall(
            id="c1",
            tool="return_items",
            arguments={
                "order_id": sams_order.id,
                "line_ids": [sams_order.lines[0].line_id],
                "resolution": "refund",
                "reason": "too_small",
            },
        ),
    )
    assert result["status"] == "denied" and result["reason"] == "order_shipped"
    assert "delivered" in result["result"]["explanation"], "a denial says why, so the assistant can tell the customer"


def test_unknown_tools_are_refused(stack):
    [result] = act(stack, "alex", "sec-5", ToolCall(id="c1", tool="refund_everything", arguments={}))
    assert result["status"] == "denied" and result["reason"] == "unknown_tool"


def test_fifty_concurrent_deliveries_of_one_refund_make_one_refund_and_one_ledger_entry(stack):
    from concurrent.futures import ThreadPoolExecutor

    delivered = [o for o in orders_of("alex") if o.status.value == "delivered" and o.lines]
    order = delivered[0]
    line = order.lines[-1].line_id
    [pending] = act(
        stack,
        "alex",
        "sec-50",
        ToolCall(
            id="p1",
            tool="return_items",
            arguments={"order_id": order.id, "line_ids": [line], "resolution": "refund", "reason": "changed_mind"},
        ),
    )
    assert pending["status"] == "pending_confirmation", (pending["reason"], pending["result"])
    store = wiring.reference_store(current_settings(IngestSettings))
    refunds_before = len(store.refunds(order.id))
    emails_before = len(stack.outbox())

    def confirm(n: int) -> dict:
        [result] = act(
            stack,
            "alex",
            "sec-50",
            ToolCall(id=f"c{n}", tool="confirm_action", arguments={"action_id": pending["action_id"]}),
        )
        return result

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(confirm, range(50)))
    assert len(store.refunds(order.id)) == refunds_before + 1, "one ledger entry"
    assert store.returned_line_ids(order.id) >= {line}
    assert len(stack.outbox()) == emails_before + 1, "one confirmation email"
    executed = [r for r in results if r["status"] == "executed"]
    assert executed and {r["result"]["return_id"] for r in executed} == {executed[0]["result"]["return_id"]}
    assert {r["reason"] for r in results if r["status"] != "executed"} <= {"in_progress"}
    stored = wiring.memory_store(current_settings(IngestSettings)).get_action("sec-50", pending["action_id"])
    assert stored["status"] == "executed"
    # the run-once record keeps the status and the tool only: the outcome (an address, an email) stays in the
    # action, which erasure deletes; a repeat reads it from there
    table = boto3.resource("dynamodb", region_name=REGION).Table(current_settings(IngestSettings).memory_table)
    records = [
        i for i in table.scan()["Items"] if i["pk"].startswith("idempotency#") and i.get("status") == "COMPLETED"
    ]
    assert records and all(json.loads(r["data"]).keys() == {"status", "tool"} for r in records), records[:1]
    assert all("alex" not in json.dumps(r, default=str) for r in records)


def test_a_pending_order_is_cancelled_once_after_confirmation_and_a_shipped_one_never(stack):
    store = wiring.reference_store(current_settings(IngestSettings))
    pending_order = next(
        o
        for c in (
            "c0001",
            "c0002",
            "c0003",
            "c0004",
            "c0005",
            "c0006",
            "c0007",
            "c0008",
            "c0009",
            "c0010",
            "c0011",
            "c0012",
            "c0013",
            "c0014",
            "c0015",
            "c0016",
            "c0017",
            "c0018",
            "c0019",
            "c0020",
        )
        for o in orders_of(c)
        if o.status.value == "pending"
    )
    owner = pending_order.customer_id
    [proposal] = act(
        stack, owner, "sec-cancel", ToolCall(id="k1", tool="cancel_order", arguments={"order_id": pending_order.id})
    )
    assert proposal["status"] == "pending_confirmation" and store.get_order(pending_order.id).status.value == "pending"
    [done] = act(
        stack,
        owner,
        "sec-cancel",
        ToolCall(id="k2", tool="confirm_action", arguments={"action_id": proposal["action_id"]}),
    )
    assert done["status"] == "executed" and store.get_order(pending_order.id).status.value == "cancelled"
    [again] = act(
        stack, owner, "sec-cancel", ToolCall(id="k3", tool="cancel_order", arguments={"order_id": pending_order.id})
    )
    assert (again["status"], again["reason"]) == ("denied", "already_cancelled")

    shipped = next(o for o in orders_of("sam") if o.status.value == "shipped")
    [refused] = act(
        stack, "sam", "sec-cancel-2", ToolCall(id="k4", tool="cancel_order", arguments={"order_id": shipped.id})
    )
    assert (refused["status"], refused["reason"]) == ("denied", "order_shipped")
    assert "return it when it arrives" in refused["result"]["explanation"]


def test_discount_codes_are_unique_single_use_capped_and_attributed(stack):

    from concierge.store.commerce import DiscountRefused

    [too_big] = act(
        stack,
        "sam",
        "sec-disc",
        ToolCall(id="d0", tool="issue_discount_code", arguments={"percent": 40, "reason": "apology"}),
    )
    assert (too_big["status"], too_big["reason"]) == ("denied", "above_discount_limit")
    [issued] = act(
        stack,
        "sam",
        "sec-disc",
        ToolCall(id="d1", tool="issue_discount_code", arguments={"percent": 10, "reason": "apology"}),
    )
    assert (
        issued["status"] == "executed" and issued["result"]["code"].startswith("NO-") and issued["result"]["single_use"]
    )
    [second] = act(
        stack,
        "sam",
        "sec-disc",
        ToolCall(id="d2", tool="issue_discount_code", arguments={"percent": 10, "reason": "goodwill"}),
    )
    assert (second["status"], second["reason"]) == ("denied", "discount_limit_reached")

    store = wiring.reference_store(current_settings(IngestSettings))
    code = issued["result"]["code"]
    now = datetime.now(UTC)
    with pytest.raises(DiscountRefused, match="not_yours"):
        store.redeem_discount(code, "alex", "NW99990", now)
    redeemed = store.redeem_discount(code, "sam", "NW99991", now)
    assert (redeemed.conversation_id, redeemed.redeemed_order_id, redeemed.percent) == ("sec-disc", "NW99991", 10)
    with pytest.raises(DiscountRefused, match="already_redeemed"):
        store.redeem_discount(code, "sam", "NW99992", now)

    [other] = act(
        stack,
        "alex",
        "sec-disc-2",
        ToolCall(id="d3", tool="issue_discount_code", arguments={"percent": 15, "reason": "retention"}),
    )
    with pytest.raises(DiscountRefused, match="expired"):
        store.redeem_discount(other["result"]["code"], "alex", "NW99993", now + timedelta(days=31))


def test_a_proposal_no_stored_reply_has_shown_cannot_be_confirmed(stack, tap):
    """Another turn of the same conversation (a burst, a second tab) confirming a proposal whose reply is not stored
    yet: the customer has not seen it, so nothing happens and the refusal is audited."""
    tap.drain()
    store = wiring.reference_store(current_settings(IngestSettings))
    # an order of theirs delivered yesterday, so it can go back whatever the hour (the demo's own orders are dated by
    # day and leave the return window during the day) and no other test has returned it
    template = next(o for o in orders_of("c0003") if o.status.value == "delivered" and o.shipment)
    yesterday = datetime.now(UTC) - timedelta(days=1)
    delivered = template.model_copy(
        update={
            "id": "NW99980",
            "placed_at": yesterday - timedelta(days=3),
            "shipment": template.shipment.model_copy(update={"delivered_at": yesterday}),
        }
    )
    store.put_orders([delivered])
    [pending] = act(
        stack,
        "c0003",
        "sec-unshown",
        ToolCall(
            id="u1",
            tool="return_items",
            arguments={
                "order_id": delivered.id,
                "line_ids": [delivered.lines[-1].line_id],
                "resolution": "refund",
                "reason": "too_small",
            },
        ),
        shown=False,
    )
    assert pending["status"] == "pending_confirmation", (pending["reason"], pending["result"])
    before = len(store.refunds(delivered.id))
    [early] = act(
        stack,
        "c0003",
        "sec-unshown",
        ToolCall(id="u2", tool="confirm_action", arguments={"action_id": pending["action_id"]}),
    )
    assert (early["status"], early["reason"]) == ("denied", "not_shown")
    assert len(store.refunds(delivered.id)) == before, "nothing is refunded"
    assert any(e["detail-type"] == "action.executed" and e["detail"]["reason"] == "not_shown" for e in tap.drain())
    show_proposals("sec-unshown", [pending])  # the reply stating it is stored
    [done] = act(
        stack,
        "c0003",
        "sec-unshown",
        ToolCall(id="u3", tool="confirm_action", arguments={"action_id": pending["action_id"]}),
    )
    assert done["status"] == "executed"


def test_a_return_confirmed_after_the_customer_left_the_store_records_nothing(stack):
    """The customer's store record is read before the return is recorded: no account, no return, no refund."""
    store = wiring.reference_store(current_settings(IngestSettings))
    delivered = next(o for o in orders_of("alex") if o.status.value == "delivered" and o.lines)
    order = delivered.model_copy(update={"id": f"{delivered.id}-GONE"})  # a twin nothing else has returned from
    store.put_orders([order])
    customer, line = "alex", order.lines[0].line_id
    arguments = {"order_id": order.id, "line_ids": [line], "resolution": "refund", "reason": "changed_mind"}
    [pending] = act(stack, customer, "sec-gone", ToolCall(id="p1", tool="return_items", arguments=arguments))
    assert pending["status"] == "pending_confirmation", (pending["reason"], pending["result"])
    table = boto3.resource("dynamodb", region_name=REGION).Table(current_settings(IngestSettings).store_table)
    key = {"pk": f"CUSTOMER#{customer}", "sk": "META"}
    saved = table.get_item(Key=key)["Item"]
    refunds_before = len(store.refunds(order.id))
    table.delete_item(Key=key)
    try:
        confirm = ToolCall(id="c1", tool="confirm_action", arguments={"action_id": pending["action_id"]})
        [result] = act(stack, customer, "sec-gone", confirm)
    finally:
        table.put_item(Item=saved)
    assert (result["status"], result["reason"]) == ("denied", "unknown_customer")
    assert len(store.refunds(order.id)) == refunds_before and line not in store.returned_line_ids(order.id)
    stored = wiring.memory_store(current_settings(IngestSettings)).get_action("sec-gone", pending["action_id"])
    assert stored["status"] == "denied"
