"""The return-retention offer's store-credit bonus on moto (the demo store's `return-size-or-credit`: store credit
worth the refund plus 15%): presented at the return moment by the guardrails, paid by the return's execution only
when the customer chose store credit in the conversation where it was presented, never by `accept_offer`."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from concierge.actions import policy
from concierge.conversation.turn import ToolCall
from concierge.metrics import keys
from concierge.offers.holdout import Group, assign
from concierge.platform import wiring
from concierge.platform.settings import ActionsSettings, IngestSettings, current_settings
from tests.integration.test_actions import act
from tests.integration.test_offer_wiring import act as act_at_moment
from tests.integration.test_offer_wiring import nba_call

OFFER = "return-size-or-credit"


def returnable(treated: bool | None):
    """A customer in the wanted group with a delivered line that can be returned now for $20 to the approval limit."""
    settings = current_settings(ActionsSettings)
    store = wiring.reference_store(settings)
    profile = wiring.merchant_profiles(settings).get()
    salt = settings.holdout_salt()
    for customer in [f"c{n:04d}" for n in range(1, 120)] + ["alex", "sam", "jordan", "priya"]:
        if treated is not None and (assign(salt, OFFER, customer, 0.10) is Group.TREATMENT) is not treated:
            continue
        for order in store.recent_orders(customer, 50):
            products = {line.product_id: store.get_product(line.product_id) for line in order.lines}
            returned = store.returned_line_ids(order.id)
            for line in order.lines:
                amount = policy.refund_amount(order, [line.line_id])
                allowed = policy.evaluate_return(
                    order, [line.line_id], products, returned, datetime.now(UTC), profile.return_window_days
                ).allowed
                if allowed and Decimal("20") <= amount <= profile.max_auto_refund:
                    return customer, order, line, amount
    raise AssertionError("no returnable line for the test")


def store_credit(customer: str) -> Decimal:
    return wiring.reference_store(current_settings(IngestSettings)).store_credit(customer)[0]


def return_to_credit(stack, customer: str, conversation: str, order, line) -> dict:
    call = ToolCall(
        id=f"ret-{conversation}",
        tool="return_items",
        arguments={
            "order_id": order.id,
            "line_ids": [line.line_id],
            "resolution": "refund",
            "reason": "changed_mind",
            "refund_to": "store_credit",
        },
    )
    [pending] = act(stack, customer, conversation, call)
    assert pending["status"] == "pending_confirmation", pending
    confirm = ToolCall(id=f"ok-{conversation}", tool="confirm_action", arguments={"action_id": pending["action_id"]})
    [done] = act(stack, customer, conversation, confirm)
    return done


def propose_refund(stack, customer: str, conversation: str, order, line, reason: str = "changed_mind") -> str:
    """A refund to the original payment proposed in the conversation: the pending action the moment is about."""
    arguments = {"order_id": order.id, "line_ids": [line.line_id], "resolution": "refund", "reason": reason}
    [pending] = act(
        stack, customer, conversation, ToolCall(id=f"card-{conversation}", tool="return_items", arguments=arguments)
    )
    assert pending["status"] == "pending_confirmation" and pending["result"]["store_credit"] is False, pending
    return pending["action_id"]


def test_store_credit_chosen_after_the_offer_carries_its_bonus_and_accept_offer_cannot_grant_it(stack):
    customer, order, line, amount = returnable(treated=True)
    pending = propose_refund(stack, customer, "credit-1", order, line)
    # the amounts come from the pending refund, never from the hint: a forged value changes nothing
    hint = {"moment": "return_requested", "item_value": "9999", "order_id": "forged", "action_id": pending}
    [moment] = act_at_moment(stack, customer, "credit-1", nba_call(hint), text="I want to return it, it's not for me")
    found = moment["result"]
    assert found["presented"] is True and found["offer_id"] == OFFER, found
    credit = (amount * Decimal("1.15")).quantize(Decimal("0.01"))
    assert f"${credit:.2f} in store credit instead of the ${amount:.2f} refund" in found["message"]

    [taken] = act(stack, customer, "credit-1", ToolCall(id="take", tool="accept_offer", arguments={"offer_id": OFFER}))
    assert taken["status"] == "denied" and taken["reason"] == "taken_with_the_return"

    before = store_credit(customer)
    done = return_to_credit(stack, customer, "credit-1", order, line)
    assert done["status"] == "executed", done
    bonus = (amount * Decimal("0.15")).quantize(Decimal("0.01"))
    assert store_credit(customer) - before == amount + bonus
    unit = wiring.memory_store(current_settings(IngestSettings)).storage.get(keys.offer_unit_key(OFFER, customer))
    assert unit is not None and unit["accepted"] == 1


def test_store_credit_without_the_offer_in_that_conversation_is_the_refund_alone(stack):
    customer, order, line, amount = returnable(treated=None)  # a fresh conversation: no offer was presented in it
    before = store_credit(customer)
    done = return_to_credit(stack, customer, "credit-2", order, line)
    assert done["status"] == "executed", done
    assert store_credit(customer) - before == amount


def test_the_return_moment_needs_a_refund_waiting_in_that_conversation_for_that_customer(stack):
    customer, order, line, _ = returnable(treated=True)
    hint = {"moment": "return_requested", "order_id": order.id, "item_value": "50.00"}
    for conversation, arguments in (
        ("credit-3", hint),  # no pending refund named
        ("credit-4", {**hint, "action_id": "A000000000000"}),  # none with that id
    ):
        [moment] = act_at_moment(stack, customer, conversation, nba_call(arguments))
        assert moment["result"]["presented"] is False and moment["result"]["reason"] == "no_pending_refund", moment
    pending = propose_refund(stack, customer, "credit-5", order, line)
    [elsewhere] = act_at_moment(stack, customer, "credit-6", nba_call({**hint, "action_id": pending}))
    assert elsewhere["result"]["reason"] == "no_pending_refund", "a refund of another conversation is not this moment"
