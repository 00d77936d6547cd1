"""The rest of the tool catalogue on moto: changing a pending order, store credit, appointments, a password reset
and a message by email — each for the verified customer only, writes only after confirmation, and audited."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from concierge.conversation.turn import ToolCall
from concierge.platform import wiring
from concierge.platform.settings import IngestSettings, current_settings
from concierge.store.commerce import ReturnRecord
from tests.integration.test_actions import act, orders_of


def store():
    return wiring.reference_store(current_settings(IngestSettings))


def call(tool: str, n: str, **arguments) -> ToolCall:
    return ToolCall(id=f"{tool}-{n}", tool=tool, arguments=arguments)


@pytest.fixture(scope="module")
def pending_order(stack):
    from concierge.store.demo import generate_store

    for customer in generate_store(seed=7).customers:
        pending = [o for o in orders_of(customer.id) if o.status.value == "pending" and len(o.lines) > 1]
        if pending:
            return pending[0]
    pytest.fail("the demo store has a pending order with several items")


def test_a_pending_order_gets_a_new_address_and_loses_an_item_only_after_confirmation(stack, tap, pending_order):
    tap.drain()
    owner, order = pending_order.customer_id, pending_order
    address = {"name": "Pat Doe", "line1": "9 Elm St", "city": "Bozeman", "postcode": "59715", "country": "US"}
    removed = order.lines[-1]
    [proposed] = act(
        stack,
        owner,
        "mod-1",
        call("modify_order", "1", order_id=order.id, shipping_address=address, remove_line_ids=[removed.line_id]),
    )
    assert proposed["status"] == "pending_confirmation"
    expected_total = order.total - removed.unit_price * removed.quantity
    assert Decimal(proposed["result"]["total_after"]) == expected_total, "the new total is computed from the order"
    assert store().get_order(order.id).shipping_address.city != "Bozeman", (
        "nothing changes before the customer confirms"
    )

    # Someone else naming the order learns nothing and changes nothing.
    [theirs] = act(stack, "alex", "mod-x", call("modify_order", "x", order_id=order.id, shipping_address=address))
    assert (theirs["status"], theirs["reason"]) == ("denied", "order_not_found")

    [done] = act(stack, owner, "mod-1", call("confirm_action", "2", action_id=proposed["action_id"]))
    assert done["status"] == "executed"
    changed = store().get_order(order.id)
    assert changed.shipping_address.city == "Bozeman" and removed.line_id not in [
        line.line_id for line in changed.lines
    ]
    assert changed.total == expected_total
    audited = {
        (e["detail"]["tool"], e["detail"]["status"], e["detail"].get("reason"))
        for e in tap.drain()
        if e["detail-type"] == "action.executed"
    }
    assert {("modify_order", "executed", None), ("modify_order", "denied", "order_not_found")} <= audited


def test_a_shipped_order_cannot_be_modified(stack):
    shipped = next(o for o in orders_of("sam") if o.status.value == "shipped")
    [refused] = act(
        stack,
        "sam",
        "mod-2",
        call(
            "modify_order",
            "1",
            order_id=shipped.id,
            shipping_address={"name": "S", "line1": "1 A St", "city": "X", "postcode": "12345", "country": "US"},
        ),
    )
    assert (refused["status"], refused["reason"]) == ("denied", "order_shipped")
    [empty] = act(stack, "sam", "mod-2", call("modify_order", "2", order_id=shipped.id))
    assert (empty["status"], empty["reason"]) == ("failed", "invalid_arguments")


def test_a_refund_as_store_credit_lands_on_the_balance_once(stack):
    delivered = next(
        o
        for o in orders_of("alex")
        if o.status.value == "delivered" and datetime.now(UTC) - o.shipment.delivered_at < timedelta(days=25)
    )
    line = next(x for x in delivered.lines if x.line_id not in store().returned_line_ids(delivered.id))
    [before] = act(stack, "alex", "credit-1", call("get_store_credit", "0"))
    [proposed] = act(
        stack,
        "alex",
        "credit-1",
        call(
            "return_items",
            "1",
            order_id=delivered.id,
            line_ids=[line.line_id],
            resolution="refund",
            reason="changed_mind",
            refund_to="store_credit",
        ),
    )
    assert proposed["result"]["refund_to"] == "store credit on your account"
    [done] = act(stack, "alex", "credit-1", call("confirm_action", "2", action_id=proposed["action_id"]))
    [again] = act(stack, "alex", "credit-1", call("confirm_action", "3", action_id=proposed["action_id"]))
    assert done["status"] == again["status"] == "executed"
    [after] = act(stack, "alex", "credit-1", call("get_store_credit", "4"))
    gained = Decimal(after["result"]["balance"]) - Decimal(before["result"]["balance"])
    assert gained == line.unit_price * line.quantity
    assert after["result"]["entries"][0]["reference"] == f"return {done['result']['return_id']}"
    ledger: list[ReturnRecord] = store().refunds(delivered.id)
    assert [r.credit_customer_id for r in ledger if r.return_id == done["result"]["return_id"]] == ["alex"]


def test_an_appointment_slot_is_booked_once(stack):
    [slots] = act(stack, "alex", "appt-1", call("find_appointment_slots", "1", kind="fitting", limit=3))
    assert slots["status"] == "executed" and len(slots["result"]["slots"]) == 3
    first = slots["result"]["slots"][0]["slot_id"]
    [mine] = act(stack, "alex", "appt-1", call("book_appointment", "2", slot_id=first))
    [theirs] = act(stack, "sam", "appt-2", call("book_appointment", "2", slot_id=first))
    assert mine["status"] == theirs["status"] == "pending_confirmation", "both may ask for it"
    [booked] = act(stack, "alex", "appt-1", call("confirm_action", "3", action_id=mine["action_id"]))
    [lost] = act(stack, "sam", "appt-2", call("confirm_action", "3", action_id=theirs["action_id"]))
    assert booked["status"] == "executed" and (lost["status"], lost["reason"]) == ("denied", "slot_taken")
    [later] = act(stack, "sam", "appt-2", call("find_appointment_slots", "4", kind="fitting", limit=3))
    assert first not in [s["slot_id"] for s in later["result"]["slots"]], "a booked slot is no longer offered"
    [invented] = act(stack, "sam", "appt-2", call("book_appointment", "5", slot_id="fitting@2020-01-01T03:00Z"))
    assert (invented["status"], invented["reason"]) == ("denied", "unknown_slot")
    [unknown] = act(stack, "sam", "appt-2", call("find_appointment_slots", "6", kind="massage"))
    assert unknown["reason"] == "unknown_appointment_kind" and "fitting" in unknown["result"]["explanation"]


def test_a_password_reset_link_goes_only_to_the_account_email_and_works_once(stack):
    [sent] = act(stack, "sam", "reset-1", call("send_password_reset", "1"))
    assert sent["status"] == "executed" and "token" not in str(sent["result"]), "the link never enters the conversation"
    email = store().get_customer("sam").email
    [mail] = [m for m in stack.outbox() if email in m["to"] and m["subject"] == "Reset your password"]
    token = re.search(r"\?token=([\w-]+)", mail["text"]).group(1)
    [again] = act(stack, "sam", "reset-1", call("send_password_reset", "2"))
    assert (again["status"], again["reason"]) == ("denied", "reset_recently_sent")
    token_hash = hashlib.sha256(token.encode()).hexdigest()
    now = datetime.now(UTC)
    assert store().redeem_password_reset(token_hash, now) == "sam"
    assert store().redeem_password_reset(token_hash, now) is None, "single use"


def test_a_message_is_emailed_to_the_customers_own_address(stack):
    [sent] = act(
        stack,
        "alex",
        "msg-1",
        call("send_message", "1", subject="Your return steps", text="1. Pack it. 2. Drop it off."),
    )
    assert sent["status"] == "executed" and sent["result"]["to"] == "a***@example.com"
    assert any(m["subject"] == "Your return steps" and set(m["to"]) == {"alex@example.com"} for m in stack.outbox())
    [hijack] = act(stack, "alex", "msg-1", call("send_message", "2", subject="x" * 3, text="hi", to="evil@example.com"))
    assert (hijack["status"], hijack["reason"]) == ("failed", "invalid_arguments"), "there is no recipient argument"


# through the turn workflow, with the deterministic engine ---------------------------------------------------------
@pytest.fixture(scope="module")
def client(stack):
    from tests.integration.conftest import Client

    return Client(stack)


def test_forgot_password_sends_a_link_and_an_unverified_sender_gets_none(client, stack):
    reply = client.say("jordan", "pw-1", "I forgot my password and can't log in")
    assert reply.actions("send_password_reset", "executed")
    assert "j***@example.com" in reply.text and "30 minutes" in reply.text
    assert "token=" not in reply.text


def test_an_appointment_is_offered_picked_and_booked_after_a_yes(client):
    offered = client.say("jordan", "appt-chat", "Can I book a fitting appointment?")
    assert "1." in offered.text and "3." in offered.text and "Which one suits you" in offered.text
    picked = client.say("jordan", "appt-chat", "the second one please")
    assert picked.actions("book_appointment", "pending_confirmation") and "Shall I book it?" in picked.text
    booked = client.say("jordan", "appt-chat", "yes")
    assert booked.actions("book_appointment", "executed") and "You're booked" in booked.text


def test_two_returns_in_one_conversation_are_two_actions(client, stack):
    """A second return in the same conversation must not replay the first one's confirmation."""
    from concierge.store.demo import generate_store

    def candidates():
        for customer in generate_store(seed=7).customers:
            for order in orders_of(customer.id)[:1]:  # the flow looks in the latest order
                if order.status.value != "delivered" or datetime.now(UTC) - order.shipment.delivered_at > timedelta(
                    days=25
                ):
                    continue
                lines = [
                    line
                    for line in order.lines
                    if store().get_product(line.product_id).returnable
                    and line.line_id not in store().returned_line_ids(order.id)
                ]
                titles = {line.title for line in lines}
                if len(lines) >= 2 and len(titles) == len(lines):
                    yield customer.id, order, lines

    customer, delivered, open_lines = next(candidates())
    replies = []
    for line in open_lines[:2]:
        for text in (
            f"I want to return the {line.title}",
            "yes that one",
            "it's too small",
            "a refund please",
            "yes go ahead",
        ):
            replies.append(client.say(customer, "two-returns", text))
    executed = [a for r in replies for a in r.actions("return_items", "executed")]
    assert len({a["result"]["return_id"] for a in executed}) == 2
    assert len(store().refunds(delivered.id)) >= 2
