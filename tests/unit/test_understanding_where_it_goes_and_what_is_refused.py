"""Reading what customers of any shop mean, found on a third set of messages written for the sample stores by two
new writers (2026-12-03): where a parcel goes said as where it is set to go, a cancellation said as what they want
cancelled, whether a parcel comes in time, a parcel to go to a locker "instead" told beside where it is, a question
after a comma or a second thing they are doing after "and", another one of an item wanted after a fault, and the
money refused for an item they still want another one of.

The shops here are made up (the coffee shop of tests/unit/test_engine_other_shops.py and the small homeware shop of
test_understanding_amounts_shades_and_orders.py): none of the sample stores' data."""

from __future__ import annotations

import pytest

from concierge.reasoning import signals
from concierge.reasoning.understanding import Intent, acting_intent, intents, read
from tests.unit.test_engine_other_shops import ORDERS as COFFEE_ORDERS
from tests.unit.test_engine_other_shops import PENDING, Chat
from tests.unit.test_understanding_amounts_shades_and_orders import PRODUCTS, line, order

HOME = [
    order("HW-330", "pending", line(1, "lamp", {"colour": "Ivory"})),
    order("HW-320", "delivered", line(1, "jug", {"size": "1.2 L"}), line(2, "napkins", {"colour": "Oat"})),
    order("HW-305", "shipped", line(1, "watch", {"colour": "Black"})),
]


class Unsure:
    """An intent model that is sure of nothing: what the phrase rules read decides."""

    def predict(self, text: str) -> tuple[str, float]:
        return "unknown", 0.2


@pytest.fixture
def rules_decide(monkeypatch):
    from concierge.reasoning import intentmodel

    monkeypatch.setattr(intentmodel, "model", lambda: Unsure())


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        # where it is set to go is where they no longer live
        (
            "I placed an order yesterday and only now noticed it's set to ship to our old place on Elm St. We handed "
            "the keys back last week.",
            "address",
        ),
        ("the lamp is going to my old address, I moved in May", "address"),
        # what they want cancelled, said after the thing
        ("Not the jug! It's the floor lamp I ordered on Saturday that I want cancelled.", "cancel"),
        ("the napkins, I'd like them cancelled please", "cancel"),
    ],
)
def test_a_request_said_in_other_words_than_its_verb_is_read(rules_decide, text, intent):
    assert signals.understood(text)[0] == intent


def test_an_order_said_to_have_been_cancelled_is_no_cancellation_asked():
    assert signals.classify("my lamp order was cancelled, why?")[0] != "cancel"


@pytest.mark.parametrize(
    "text",
    [
        "The big lamp I ordered on Wednesday, is it going to get here before next weekend?",
        "will my watch arrive by Friday? it's a gift",
    ],
)
def test_whether_a_parcel_comes_in_time_asks_where_it_is(text):
    assert acting_intent(text, "question") is Intent.TRACK


def test_a_parcel_to_go_to_a_locker_instead_told_beside_where_it_is_is_an_address_change():
    text = "dhl says my parcel is in transit but im not home monday, can u send it to the packstation on main st insted"
    assert acting_intent(text, "track") is Intent.ADDRESS
    # ...not where it is asked in a request of its own
    asked = "when is the watch coming? if it's tuesday can it go to my office instead, 12 Main St, Springfield 12345"
    assert acting_intent(asked, "track") is Intent.TRACK


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "change address on HW-330 to 5120 Main St, Kansas City 64112, when does it ship",
            [Intent.ADDRESS, Intent.TRACK],
        ),
        (
            "Swap the 1.2 L jug for the 1.8 L and I'm sending the napkins back too",
            [Intent.EXCHANGE, Intent.RETURN],
        ),
    ],
)
def test_a_question_after_a_comma_and_a_second_thing_done_after_and_are_requests_of_their_own(text, expected):
    read_intents = intents(text)
    assert all(intent in read_intents for intent in expected)


def test_where_an_order_is_asked_after_a_comma_is_answered_beside_the_change():
    reply = (
        Chat(PENDING + COFFEE_ORDERS)
        .say("please change the address on order #505 to 5 Elm St, Austin TX 78702, when does it ship")
        .reply
    )
    assert "will be delivered to Robin Park, 5 Elm St" in reply and "hasn't shipped yet" in reply


class ReadsTheFault:
    """An intent model that reads the whole message as a return (the fault in it), the part wanting another one of
    the item as an exchange, and the question as a question."""

    def predict(self, text: str) -> tuple[str, float]:
        text = text.lower()
        if "btw" in text and "small" in text:
            return "return", 0.9
        if "want" in text:
            return "exchange", 0.9
        return ("question", 0.9) if "window" in text else ("unknown", 0.2)


def test_another_one_of_an_item_wanted_after_a_fault_is_an_exchange_unless_money_is_asked(monkeypatch):
    from concierge.reasoning import intentmodel

    monkeypatch.setattr(intentmodel, "model", lambda: ReadsTheFault())
    text = "jug from my last delivery is too small, want the 1.8 L same colour. whats the return window btw"
    wanted = read(text, HOME, PRODUCTS)
    assert wanted.intent is Intent.EXCHANGE and wanted.variant == {"size": "1.8 L"}
    assert wanted.intents == [Intent.EXCHANGE, Intent.QUESTION]
    # money asked back beside the other one: the return stands
    text = "jug from my last delivery is too small, want a refund or the 1.8 L. whats the return window btw"
    assert read(text, HOME, PRODUCTS).intent is Intent.RETURN


def test_the_money_refused_for_an_item_they_want_another_one_of_is_still_about_that_item():
    reading = read("not a refund on the jug, i want the bigger 1.8s", HOME, PRODUCTS)
    assert reading.intent is Intent.EXCHANGE and reading.item == "jug" and reading.variant == {"size": "1.8 L"}
    # ...but a refund no longer wanted at all takes the item back: the rest of the message is about another
    other = read("No need for a refund on the jug any more. Where is my watch though?", HOME, PRODUCTS)
    assert other.item == "watch"


class ReadsASwap:
    """An intent model that reads a swap in every message (as it may where an item is said to be too small)."""

    def predict(self, text: str) -> tuple[str, float]:
        return "exchange", 0.8


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("dutch oven is too small for us, refund that", "return"),
        ("The jug is tiny. I'd like my money back please.", "return"),
        # another one said, or the money refused: the swap stands
        ("not a refund, I'd rather have the bigger one", "exchange"),
        ("can I swap it for the bigger one and get a refund for the difference?", "exchange"),
    ],
)
def test_money_asked_back_with_nothing_said_of_another_one_is_a_return(monkeypatch, text, intent):
    from concierge.reasoning import intentmodel

    monkeypatch.setattr(intentmodel, "model", lambda: ReadsASwap())
    assert signals.understood(text)[0] == intent


class ReadsTheAddress:
    """An intent model that reads the address change where an office is named, and nothing surely elsewhere."""

    def predict(self, text: str) -> tuple[str, float]:
        return ("address", 0.9) if "office" in text else ("unknown", 0.2)


def test_a_question_after_what_leads_to_it_is_a_request_of_its_own(monkeypatch):
    from concierge.reasoning import intentmodel

    monkeypatch.setattr(intentmodel, "model", lambda: ReadsTheAddress())
    text = (
        "could you send my desk dock order to my office instead? It's 12 Main St, Springfield 12345. And a question "
        "while I'm here: will the dock charge my laptop while it runs two screens"
    )
    assert intents(text) == [Intent.ADDRESS, Intent.QUESTION]


def test_where_the_rest_of_an_order_goes_after_an_item_taken_off_is_a_request_of_its_own():
    text = "take the power bank off HW-310, send the rest to my office 12 Main St, Springfield 12345"
    assert intents(text) == [Intent.REMOVE_ITEM, Intent.ADDRESS]
