"""A proposal is stated to the customer by code, whatever the engine wrote: the order, the items and the amount."""

from __future__ import annotations

from concierge.actions.proposal import money, shown, summary, with_proposals
from concierge.conversation.turn import ActionResult, ActionStatus

REFUND = {
    "order_id": "#1018",
    "items": ["Stoneware Mug (Oat)"],
    "resolution": "refund",
    "refund_amount": "28.00",
    "currency": "USD",
    "refund_to": "your Visa card ending 4242",
    "line_ids": ["1"],
}
CANCEL = {
    "order_id": "A-20926",
    "items": ["Volt Power Bank (Black)", "Glide Wireless Mouse (White)"],
    "total": "118.00",
    "currency": "EUR",
    "refund_to": "your PayPal account",
}


def pending(tool: str, effect: dict, action_id: str = "A1") -> ActionResult:
    return ActionResult(
        call_id="c1",
        action_id=action_id,
        tool=tool,
        status=ActionStatus.PENDING_CONFIRMATION,
        result={"action_id": action_id, **effect},
    )


def test_a_reply_that_hides_the_proposal_gets_it_stated_by_code():
    reply, ids = with_proposals("Sure, I can help with that! Just say yes.", [pending("return_items", REFUND)])
    assert ids == ["A1"]
    assert "#1018" in reply and "Stoneware Mug" in reply and "$28.00" in reply and "Visa card ending 4242" in reply
    assert reply.startswith("Sure, I can help with that! Just say yes.")


def test_a_reply_that_states_the_order_items_and_amount_is_left_as_written():
    text = "To confirm: I'll refund $28.00 to your Visa card ending 4242 for the Stoneware Mug (Oat) from order #1018."
    assert with_proposals(text, [pending("return_items", REFUND)]) == (text, ["A1"])


def test_a_wrong_amount_in_the_reply_does_not_count_as_shown():
    assert not shown("I'll refund $30.00 for the Stoneware Mug from order #1018.", "return_items", REFUND)


def test_every_proposal_of_the_turn_is_stated():
    reply, ids = with_proposals("Done.", [pending("return_items", REFUND, "A1"), pending("cancel_order", CANCEL, "A2")])
    assert ids == ["A1", "A2"]
    assert "A-20926" in reply and "Volt Power Bank" in reply and "Glide Wireless Mouse" in reply and "€118.00" in reply


def test_nothing_is_added_when_nothing_was_proposed():
    executed = ActionResult(
        call_id="c1", action_id="A9", tool="track_shipment", status=ActionStatus.EXECUTED, result={}
    )
    assert with_proposals("It is on its way.", [executed]) == ("It is on its way.", [])


def test_summaries_name_what_happens():
    assert summary("return_items", REFUND) == (
        "return Stoneware Mug (Oat) from order #1018 for a refund of $28.00 to your Visa card ending 4242"
    )
    exchange = {
        **REFUND,
        "resolution": "exchange",
        "exchange_item": "Stoneware Mug (Slate)",
        "price_difference": "4.00",
    }
    assert "for Stoneware Mug (Slate), and you pay the difference of $4.00" in summary("return_items", exchange)
    change = {
        "order_id": "#1031",
        "currency": "USD",
        "shipping_address": {"line1": "2200 Hennepin Ave", "city": "Minneapolis", "postcode": "55405", "country": "US"},
    }
    assert (
        summary("modify_order", change) == "change order #1031: deliver it to 2200 Hennepin Ave, Minneapolis, 55405, US"
    )
    assert money("5", "CHF") == "5.00 CHF"
