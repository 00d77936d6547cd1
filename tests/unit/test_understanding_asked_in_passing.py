"""Reading what customers of any shop mean, found on a fourth set of messages written for the sample stores by two
new writers who wrote in the manner of the labelled set's tuning half (2026-12-03): a question about an item with
why they ask after it, where a parcel is asked beside a sign-in problem, what they go on to say they need, an item
traded for another, and question words as texted.

The shops here are made up (the coffee shop of tests/unit/test_engine_other_shops.py and the small homeware shop of
test_understanding_amounts_shades_and_orders.py): none of the sample stores' data."""

from __future__ import annotations

import pytest

from concierge.reasoning import signals
from concierge.reasoning.understanding import Intent, acting_intent, read
from tests.unit.test_engine_other_shops import ORDERS as COFFEE_ORDERS
from tests.unit.test_engine_other_shops import PENDING, Chat
from tests.unit.test_understanding_amounts_shades_and_orders import PRODUCTS
from tests.unit.test_understanding_where_it_goes_and_what_is_refused import HOME


@pytest.mark.parametrize(
    "text",
    [
        "Is the glass jug fine in the dishwasher? I don't want to crack it.",
        "hey is the watch strap in my order the right one for my wrist size? dont wanna open it if not",
        "hi, is the lamp ok on a timer plug? I don't want it to burn out",
    ],
)
def test_a_question_about_an_item_with_why_they_ask_after_it_is_a_question(text):
    assert signals.asked_about_it(text)
    assert read(text, HOME, PRODUCTS).intent is Intent.QUESTION


@pytest.mark.parametrize(
    "text",
    [
        # what follows the question is why they want something done, not why they ask
        "Is the jug returnable? Got it last week and it turns out I prefer a smaller one.",
        "is my watch broken? it won't turn on",
    ],
)
def test_a_question_followed_by_a_reason_to_act_is_not_only_asked(text):
    assert not signals.asked_about_it(text)


def test_where_a_parcel_is_asked_before_a_sign_in_problem_is_read_first():
    text = (
        "Is my watch out for delivery tomorrow? I'm out until six. Also I can't sign in to check, the code never comes."
    )
    assert signals.beside_sign_in(text) == "track"
    assert read(text, HOME, PRODUCTS).intent is Intent.TRACK
    # said after the sign-in, the sign-in is what they ask first; the engine answers both either way
    after = "locked out of my account, the reset email never arrives. and when does the lamp ship"
    assert signals.beside_sign_in(after) == "track" and signals.beside_sign_in(after, first=True) is None
    assert read(after, HOME, PRODUCTS).intent is Intent.PASSWORD


def test_where_a_parcel_is_asked_beside_a_sign_in_problem_gets_both_answers():
    reply = (
        Chat(PENDING + COFFEE_ORDERS)
        .say(
            "Is my kettle out for delivery tomorrow? Also I can't sign in to check, the verification code never arrives."
        )
        .reply
    )
    assert "#505" in reply and "As for signing in:" in reply and "password-reset link" in reply


def test_what_they_go_on_to_say_they_need_is_no_question():
    text = (
        "Ignore what I said about returning the jug, I'm keeping it after all. What I do need is the lamp sent to my "
        "sister's place instead: 5810 Roosevelt Way NE, Seattle WA 98105."
    )
    assert read(text, HOME, PRODUCTS).intent is Intent.ADDRESS
    assert signals.QUESTION_START.match("what i need to know is whether it ships today")
    assert signals.QUESTION_START.match("what is the return window")


def test_an_item_traded_for_another_is_an_exchange_where_a_return_is_read():
    traded = "Hey, I'd like to trade two of the four jugs from HW-320 for the 1.8 L ones, they're too small for us."
    assert acting_intent(traded, "return") is Intent.EXCHANGE
    reading = read(traded, HOME, PRODUCTS)
    assert reading.intent is Intent.EXCHANGE and reading.variant == {"size": "1.8 L"}
    # a trade-in, or money asked for it, is not a swap
    assert acting_intent("can I trade in my old watch for store credit?", "return") is Intent.RETURN
    assert acting_intent("I'd trade the jug for a refund, honestly", "return") is Intent.RETURN


@pytest.mark.parametrize(("texted", "word"), [("wat", "what"), ("wut", "what"), ("wen", "when")])
def test_question_words_as_texted_are_read_as_the_words(texted, word):
    assert signals.normalize(f"{texted} does it mean") == f"{word} does it mean"


@pytest.mark.parametrize(
    ("text", "line1"),
    [
        ("send the rest to my office at 233 S Wacker Dr, Chicago IL 60606", "233 S Wacker Dr"),
        ("can it go to our new flat on 12 Rue Oberkampf, 75011 Paris", "12 Rue Oberkampf"),
        # a floor or a unit before the street is kept
        ("please send it to the 4th floor at 12 Main St, Boston MA 02110", "the 4th floor at 12 Main St"),
    ],
)
def test_the_street_is_told_from_the_place_named_before_it(text, line1):
    from concierge.reasoning.understanding import parse_address

    assert parse_address(text)["line1"] == line1


def test_a_request_asked_after_a_question_at_its_comma_is_a_request_of_its_own():
    text = "When will order HW-330 go out, can you pull the lamp off it before it does?"
    assert signals.requests(text) == ["When will order HW-330 go out", "can you pull the lamp off it before it does"]
    assert signals._classify("When will order HW-330 go out")[0] == "track"
    assert signals._classify("can you pull the lamp off it before it does")[0] == "remove_item"
    # not after a condition
    assert len(signals.requests("if it hasn't shipped yet, can you cancel it?")) == 1


@pytest.mark.parametrize(
    "text",
    [
        "I'm opening a small cafe and want around 40 of your jugs. Is there any discount for an order that size?",
        "We need around 15 lamps for our office. Do you have business pricing for that?",
    ],
)
def test_a_price_asked_for_many_is_a_question_whatever_the_model_reads(text):
    assert acting_intent(text, "exchange") is Intent.QUESTION
