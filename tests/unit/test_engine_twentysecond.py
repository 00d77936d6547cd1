"""The deterministic engine on a made-up outdoor-gear shop, on the kinds of failure the twenty-second scenario sets of
the sample stores found: a no that turns down the alternatives taken as a no to the item; a change of mind from the
refund prepared to an exchange not taken; "the biggest one" read as no variant; options listed so that two read as
four."""

from __future__ import annotations

import pytest

from concierge.engine.deterministic import alternatives, no_to_alternatives
from concierge.reasoning import signals
from concierge.reasoning.understanding import acting_intent
from tests.unit.fakes import ShopChat
from tests.unit.test_engine_twelfth import CUSTOMER, NOW, PRODUCTS, SHOP, order, product_of

BEANIE = product_of("beanie", "Merino Beanie", [{"colour": c} for c in ("Black", "Grey", "Rust")], "29.00")
MUG = product_of("mug", "Enamel Camp Mug", [{"volume": v} for v in ("250 ml", "350 ml", "500 ml")], "18.00")
POT = product_of(
    "pot",
    "Enamel Camp Pot",
    [{"capacity": c, "colour": k} for c in ("3 L", "5 L") for k in ("Red", "Blue")],
    "64.00",
)
SHOP_PRODUCTS = [*PRODUCTS, BEANIE, MUG, POT]


class Chat(ShopChat):
    def __init__(self) -> None:
        orders = [
            order("TR-5102", "delivered", 4, [("beanie", "Black")], SHOP_PRODUCTS),
            order("TR-5101", "delivered", 5, [("mug", "250 ml")], SHOP_PRODUCTS),
            order("TR-5100", "delivered", 6, [("pot", "3 L")], SHOP_PRODUCTS),
        ]
        super().__init__(SHOP, SHOP_PRODUCTS, CUSTOMER, orders, NOW, conversation_id="conv-22")


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("nah i dont want another colour or credit, just my money back pls", "i dont want another colour"),
        ("no, I don't want a replacement, refund it", "I don't want a replacement"),
        ("no, not that one", "no, not that one"),
        ("nope, the other one", "nope, the other one"),
    ],
)
def test_a_no_opening_a_refusal_of_alternatives_belongs_to_the_refusal(text: str, kept: str) -> None:
    assert no_to_alternatives(text).startswith(kept)


def test_a_no_to_the_alternatives_keeps_the_item_and_refunds_it() -> None:
    chat = Chat()
    reply = chat.say("the merino beanie is not what i hoped for, kinda itchy. can i return it?").reply
    assert "Merino Beanie" in reply and "TR-5102" in reply
    reply = chat.say("nah i dont want another colour or credit, just my money back pls").reply
    assert "Which item" not in reply
    chat.say("yep go ahead")
    executed = chat.actions("return_items", "executed")
    assert [(a["arguments"]["order_id"], a["arguments"]["resolution"]) for a in executed] == [("TR-5102", "refund")]


def test_an_exchange_asked_instead_of_the_refund_prepared_replaces_it() -> None:
    chat = Chat()
    reply = chat.say("I'd like to return the red camp pot, refund please.").reply
    assert "Shall I go ahead?" in reply
    reply = chat.say("Actually, wait. It's too small for group trips. Could I swap it for the 5 L one in red instead?")
    assert "5 L" in reply.reply and "Shall I go ahead?" in reply.reply
    chat.say("Yes, do the swap and charge the difference to my card.")
    executed = chat.actions("return_items", "executed")
    assert [(a["arguments"]["resolution"], a["arguments"].get("exchange_sku")) for a in executed] == [
        ("exchange", POT.variants[2].sku)
    ]
    assert not [a for a in executed if a["arguments"]["resolution"] == "refund"]


@pytest.mark.parametrize("text", ["can i swap the camp mug for the bigest one?", "swap my mug for the largest size"])
def test_the_biggest_one_is_the_end_of_the_range_not_the_next_step(text: str) -> None:
    chat = Chat()
    reply = chat.say(text).reply
    if "Shall I go ahead?" not in reply:
        reply = chat.say("yes that's the one").reply
    assert "500 ml" in reply and "350 ml" not in reply


def test_labels_of_several_options_are_listed_apart() -> None:
    assert alternatives(["Blue", "5 L", "5 L, Blue"]) == "Blue; 5 L; or 5 L, Blue"
    assert alternatives(["Blue", "Grey"]) == "Blue or Grey"


@pytest.mark.parametrize(
    "text",
    [
        "changed my mind on the camp stove i ordered yesterday, can u cancel it before it ships?",
        "I've changed my mind on the head torch. Can you cancel that order?",
    ],
)
def test_a_mind_changed_about_something_bought_is_why_they_ask(text: str) -> None:
    assert signals.score(text).intent == "cancel"


@pytest.mark.parametrize(
    ("text", "not_intent"),
    [
        ("I changed my mind about the return, can you just send me the bigger one?", "return"),
        ("Actually I changed my mind about the cancellation, keep the order", "cancel"),
    ],
)
def test_a_mind_changed_about_a_request_still_takes_it_back(text: str, not_intent: str) -> None:
    assert signals.score(text).intent != not_intent


def test_an_item_in_an_order_that_has_shipped_is_never_changed_in_another_order() -> None:
    class OneOrderPending(ShopChat):
        def __init__(self) -> None:
            orders = [
                order("TR-6002", "pending", 1, [("stove", "Gas")]),
                order("TR-6001", "shipped", 3, [("daypack", "26 L"), ("bottle", "500 ml")]),
            ]
            super().__init__(SHOP, PRODUCTS, CUSTOMER, orders, NOW, conversation_id="conv-22b")

    chat = OneOrderPending()
    reply = chat.say(
        "Hey, I changed my mind on the daypack I ordered with the bottle. Can you take it off / cancel it?"
    )
    chat.say("ok then")
    assert all(args.get("order_id") != "TR-6002" for _, args in chat.calls)
    assert "TR-6001" in reply.reply and "shipped" in reply.reply
    assert chat.actions("cancel_order", "executed") == [] and chat.actions("modify_order", "executed") == []


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("Can you check order TR-4402 for me?", "track"),
        ("could you look up TR-4402?", "track"),
        ("can you check whether order TR-4402 can be gift wrapped?", "question"),
    ],
)
def test_an_order_asked_to_be_checked_is_asked_after(text: str, intent: str) -> None:
    assert acting_intent(text, signals.score(text).intent).value == intent


@pytest.mark.parametrize(
    "text",
    [
        "Bit silly of me: I bought your trekking poles and then got a pair as a gift the very next week. So it's "
        "useless to me now. Can it go back?",
        "Bit silly of me: I bought your USB-C to Lightning cable and then switched to an Android phone the very next "
        "week. So it's useless to me now. Can it go back?",
    ],
)
def test_a_statement_beside_a_request_is_why_it_is_made_not_a_request(text: str) -> None:
    assert signals.score(text).intent == "return"
