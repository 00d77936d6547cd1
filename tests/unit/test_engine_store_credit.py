"""The return moment and a refund taken as store credit, on the made-up outdoor-gear shop of
test_engine_twelfth.py, turn by turn through the real action layer (no offers configured there: the credit is the
refund itself, and the moment is only named; tests/integration/test_offer_credit.py and the `offer-return-` scenarios
play it with the retention offer and its bonus)."""

from __future__ import annotations

import pytest

from concierge.engine.deterministic import asks_credit
from concierge.offers.catalogue import OfferMoment
from tests.unit.test_engine_twelfth import Chat

POLES = "the folding trekking poles are too wobbly for me. I'd like to send them back for a refund"


def test_a_refund_proposed_for_an_item_not_at_fault_names_the_return_moment_with_its_pending_action():
    chat = Chat()
    decision = chat.say(
        "I changed my mind about the insulated steel bottle from TR-4396. I would like to return it for a refund"
    )
    assert "refund" in decision.reply and "Shall I" in decision.reply
    [pending] = [action_id for action_id, a in chat.memory.actions.items() if a["status"] == "pending_confirmation"]
    assert decision.moment is not None and decision.moment.moment is OfferMoment.RETURN_REQUESTED
    assert decision.moment.action_id == pending and decision.moment.order_id == "TR-4396"
    assert decision.moment.shop_at_fault is False


def test_a_refund_for_a_broken_item_names_the_moment_as_the_shops_fault():
    chat = Chat()
    decision = chat.say("the head torch from TR-4399 arrived broken, it won't turn on. refund please")
    assert decision.moment is not None and decision.moment.shop_at_fault is True


@pytest.mark.parametrize(
    "answer", ["can I have store credit instead?", "actually I'll take the credit", "no, store credit please"]
)
def test_store_credit_chosen_at_the_confirmation_replaces_the_card_refund_and_waits_for_a_yes(answer):
    chat = Chat()
    chat.say(POLES)
    [card] = [a for a in chat.memory.actions.items() if a[1]["status"] == "pending_confirmation"]
    reply = chat.say(answer).reply
    assert [tool for tool, _ in chat.calls] == ["cancel_action", "return_items"]
    assert chat.memory.actions[card[0]]["status"] == "cancelled", "the card refund is withdrawn"
    [credit] = chat.actions("return_items", "pending_confirmation")
    assert credit["arguments"]["refund_to"] == "store_credit"
    assert "store credit" in reply and "Shall I" in reply and chat.executed("return_items") == []
    done = chat.say("yes").reply
    [executed] = chat.executed("return_items")
    assert executed["result"]["store_credit"] is True
    assert "of store credit is on your account" in done and "on its way" not in done


def test_a_refund_asked_for_as_store_credit_is_proposed_as_credit_and_names_no_moment():
    chat = Chat()
    decision = chat.say(  # the item named and how to resolve it: proposed at once
        "I changed my mind about the insulated steel bottle from TR-4396. I would like to return it for store credit"
    )
    [pending] = chat.actions("return_items", "pending_confirmation")
    assert pending["arguments"]["refund_to"] == "store_credit"
    assert decision.moment is None, "already credit: there is no refund left to retain"


@pytest.mark.parametrize("answer", ["yes, refund it to my credit card", "yes please, no store credit", "go ahead"])
def test_a_yes_that_names_the_card_or_refuses_credit_confirms_the_card_refund(answer):
    chat = Chat()
    chat.say(POLES)
    chat.say(answer)
    [executed] = chat.executed("return_items")
    assert executed["result"]["store_credit"] is False


@pytest.mark.parametrize(
    ("text", "asks"),
    [
        ("store credit please", True),
        ("I'll take the credit", True),
        ("as credit instead", True),
        ("credit would be fine", True),
        ("refund it to my credit card", False),
        ("credit it back to my card", False),
        ("no store credit, thanks", False),
        ("I don't want any store credit", False),
    ],
)
def test_asks_credit(text, asks):
    assert asks_credit(text) is asks


@pytest.mark.parametrize(
    "answer", ["no thanks, just the refund to my card", "no, just the refund please", "nah the refund is fine"]
)
def test_turning_down_what_was_offered_beside_the_refund_confirms_the_refund(answer):
    """Found on the fifteenth sets: the retention offer shown beside a refund proposal, "no, just the refund please"
    withdrew the refund. The no is to the offer; the refund it names is the one proposed."""
    chat = Chat()
    chat.say(POLES)
    chat.offers_presented = ["return-credit"]
    chat.say(answer)
    assert [tool for tool, _ in chat.calls] == ["confirm_action"]
    [executed] = chat.executed("return_items")
    assert executed["result"]["store_credit"] is False


def test_a_bare_no_after_an_offer_beside_the_proposal_withdraws_nothing_and_asks():
    chat = Chat()
    chat.say(POLES)
    chat.offers_presented = ["return-credit"]
    reply = chat.say("no thanks").reply
    assert chat.calls == [] and "Just to be sure" in reply
    assert chat.actions("return_items", "pending_confirmation"), "the refund still waits for a yes"
    chat.say("yes go ahead")
    assert chat.executed("return_items")


@pytest.mark.parametrize("answer", ["no, I don't want the refund anymore", "no refund thanks", "no, I'll keep them"])
def test_refusing_the_refund_itself_still_withdraws_it(answer):
    chat = Chat()
    chat.say(POLES)
    chat.offers_presented = ["return-credit"]
    chat.say(answer)
    assert [tool for tool, _ in chat.calls] == ["cancel_action"] and chat.executed("return_items") == []


@pytest.mark.parametrize("question", ["will the refund go back to my card?", "how long does the refund take"])
def test_a_question_about_the_refund_proposed_is_no_yes_to_it(question):
    chat = Chat()
    chat.say(POLES)
    chat.say(question)
    assert "confirm_action" not in [tool for tool, _ in chat.calls] and chat.executed("return_items") == []


def test_the_card_named_for_a_store_credit_proposal_is_no_yes_to_it():
    chat = Chat()
    chat.say(POLES)
    chat.say("can I have store credit instead?")
    chat.offers_presented = ["return-credit"]
    chat.say("no, just the refund to my card")
    assert "confirm_action" not in [tool for tool, _ in chat.calls] and chat.executed("return_items") == []
