"""What a customer of any shop asks, found on a fifth writer set for the sample stores (2026-12-03): a cancellation
asked for with its money, a cancellation only said to have happened, something to be added to an order, a parcel to
be stopped, and a question about what a thing does.

The shops here are made up (the small tech and homeware shop of test_understanding_lists_and_remedies.py and the
coffee shop of test_engine_other_shops.py): none of the sample stores' data."""

from __future__ import annotations

import pytest

from concierge.reasoning import signals
from concierge.reasoning.understanding import Intent, acting_intent, read
from tests.unit.test_engine_other_shops import ORDERS as COFFEE_ORDERS
from tests.unit.test_engine_other_shops import PENDING, Chat
from tests.unit.test_understanding_amounts_shades_and_orders import PRODUCTS
from tests.unit.test_understanding_lists_and_remedies import TECH


@pytest.mark.parametrize(
    "text",
    [
        "I don't want a replacement jug sent out, just cancel T-1080 and refund me. It's taken long enough.",
        "Hello, the jug (T-1080): I would like it cancelled and the money refunded, please.",
        "Not the napkins, that one can stay. It's the jug I'd like to cancel, it hasn't even shipped.",
    ],
)
def test_a_cancellation_asked_for_with_its_money_is_a_cancellation(text):
    assert acting_intent(text, "return") is Intent.CANCEL
    assert read(text, TECH, PRODUCTS).intent is Intent.CANCEL


@pytest.mark.parametrize(
    "text",
    [
        # sent back, or taken off, or the cancellation is of the return
        "please cancel the order and I'll send the jug back for a refund",
        "I'd like to cancel my return of the earbuds and have the refund instead",
    ],
)
def test_money_asked_beside_sending_back_is_not_made_a_cancellation(text):
    assert acting_intent(text, "return") is Intent.RETURN


def test_an_order_of_an_item_to_cancel_is_the_order_not_the_item():
    text = "Not the watch, it's the 2 m cable order I want to cancel."
    assert acting_intent(text, "remove_item") is Intent.CANCEL
    # an item of an order named to be cancelled stays the item taken off
    assert acting_intent("please cancel the slate mug from my order", "remove_item") is Intent.REMOVE_ITEM


def test_the_engine_cancels_an_order_asked_cancelled_with_its_money():
    reply = Chat(PENDING + COFFEE_ORDERS).say("The kettle (#505): I would like it cancelled and the money refunded.")
    assert "cancel" in reply.reply.lower() and "#505" in reply.reply
    assert "return" not in reply.reply.lower()


@pytest.mark.parametrize(
    "text",
    [
        "Could someone explain what happened to order T-1080? It shows as cancelled and I never cancelled it.",
        "why was my jug order cancelled?",
    ],
)
def test_a_cancellation_said_to_have_happened_is_asked_about_not_asked_for(text):
    assert acting_intent(text, "cancel") is Intent.QUESTION
    # asked for, it is one
    assert acting_intent("can you cancel T-1080? I'd like it cancelled today", "cancel") is Intent.CANCEL


def test_something_to_be_added_to_an_order_is_a_question():
    text = "Can I add a second jug to an order that hasn't shipped yet, or do I have to place a new one?"
    assert acting_intent(text, "question") is Intent.QUESTION
    assert acting_intent(text, "track") is Intent.QUESTION


@pytest.mark.parametrize(
    "text",
    ["Can you still stop the power bank from shipping? Found a cheaper one.", "pls stop the jug going out"],
)
def test_a_parcel_to_be_stopped_is_a_cancellation(text):
    assert acting_intent(text, "question") is Intent.CANCEL


def test_a_question_of_what_a_thing_does_is_a_question():
    text = "Do the Aura headphones work with two devices at the same time, like my phone and laptop?"
    assert signals.asked_about_it(text)
    assert read(text, TECH, PRODUCTS).intent is Intent.QUESTION
    assert not signals.asked_about_it("Do the headphones need sending back? they stopped charging")


def test_a_size_before_what_is_added_to_an_order_is_still_an_addition():
    text = (
        "Is it possible to add a second 1.8 L jug to the order that hasn't shipped yet, or would that be a new order?"
    )
    assert acting_intent(text, "question") is Intent.QUESTION


def test_what_a_product_tracks_is_no_parcel():
    text = "Does sleep tracking on the Pulse watch need the paid subscription, or is the basic version free?"
    assert acting_intent(text, "question") is Intent.QUESTION
    assert acting_intent(text, "track") is Intent.QUESTION
    # a parcel's tracking still is
    assert acting_intent("does the watch order have tracking yet?", "question") is Intent.TRACK


def test_a_fault_asked_about_as_what_may_happen_is_no_fault_reported():
    assert not signals.said_faulty("Are the glass jugs ok to go from the freezer into the oven or will they crack?")
    assert not signals.said_faulty("would it scratch my pans if I use it every day?")
    assert signals.said_faulty("the glass jug cracked the first time I used it")
    text = "When is my lamp going out? Also is the jug ok from the freezer into the oven or will it crack?"
    assert read(text, TECH, PRODUCTS).intents == [Intent.TRACK, Intent.QUESTION]


@pytest.mark.parametrize(
    "text",
    [
        "I'd like to cancel the lamp, going with another after all. Can I also speak to somebody about a double charge?",
        "My jug has cracked. I'd like to return it, and since it's probably past your window I'd prefer a real person "
        "handles this.",
    ],
)
def test_a_person_asked_for_beside_a_request_is_read_with_it(text):
    assert signals.asks_for_person(text)
    assert Intent.HUMAN in read(text, TECH, PRODUCTS).intents


@pytest.mark.parametrize(
    "text",
    [
        "I emailed earlier asking you to cancel my kettle order. Please ignore that, I still want it. Could you ship "
        "it to my office instead? 233 S Wacker Dr, Chicago, IL 60606.",
        "I nearly hit cancel on the kettle order, but no, I'll keep it. Could it go to my office instead though? "
        "233 S Wacker Dr, Floor 12, Chicago, IL 60606.",
    ],
)
def test_a_cancellation_asked_earlier_and_taken_back_is_not_proposed(text):
    assert acting_intent(text, "cancel") is Intent.ADDRESS
    reply = Chat(PENDING + COFFEE_ORDERS).say(text).reply
    assert "233 S Wacker Dr" in reply and "#505" in reply
    assert "cancel" not in reply.lower()


def test_a_cancellation_asked_earlier_and_not_taken_back_still_is():
    text = "I emailed earlier asking you to cancel my kettle order and nobody replied. Please cancel it."
    assert acting_intent(text, "cancel") is Intent.CANCEL


def test_a_cancellation_and_a_return_joined_by_and_are_both_taken_up():
    chat = Chat(PENDING + COFFEE_ORDERS)
    reply = chat.say("cancel the kettle and send back the oat mug please").reply
    assert "#505" in reply and "cancel" in reply and "return" in reply
    assert "can't be cancelled" not in reply  # not the mug's delivered order cancelled
    after = chat.say("yes").reply
    assert "#505 is cancelled" in after and "Stoneware Mug (Oat)" in after and "#500" in after
    # the money of a cancellation is one request with it
    reply = Chat(PENDING + COFFEE_ORDERS).say("cancel the kettle order and refund me").reply
    assert "#505" in reply and "return" not in reply


def test_a_return_asked_beside_an_address_change_is_not_dropped_by_the_yes():
    chat = Chat(PENDING + COFFEE_ORDERS)
    first = chat.say(
        "please return the grinder from #501 and change the address on #504 to 233 S Wacker Dr, Chicago, IL 60606"
    ).reply
    assert "Hand Burr Grinder" in first and "233 S Wacker Dr" in first
    after = chat.say("yes").reply
    # the address change is made, and the return goes on to how they want their money
    assert "#504 will go to the new address" in after
    assert "refund $89.00" in after and after.rstrip().endswith("?")
    assert after.index("#504") < after.index("refund $89.00")  # what is done first, the question last
    chat.say("refund please")
    chat.say("yes")
    assert chat.executed("return_items") and chat.executed("modify_order")


@pytest.mark.parametrize(
    "text",
    [
        "I was about to cancel the kettle, but let's not. Could you change it to matte black instead of steel?",
        "I was going to cancel the kettle order completely, but I don't think I need to. Could you just make it the "
        "matte black one?",
    ],
)
def test_a_cancellation_about_to_be_asked_and_taken_back_is_not_proposed(text):
    assert signals.without_earlier_request(text).startswith("Could you")
    assert not signals.asks_to_cancel(text)
    assert acting_intent(text, "cancel") is Intent.EXCHANGE
    reply = Chat(PENDING + COFFEE_ORDERS).say(text).reply
    assert "cancel it" not in reply
