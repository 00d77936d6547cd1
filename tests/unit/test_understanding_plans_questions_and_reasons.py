"""Reading what customers of any shop mean, found by reading the tuning half with an intent model that never saw it
(each fifth read by a model trained without it) and by the sample stores' second labelled set (2026-12-03):
a request they had only planned and now take back, a question about what they may do with an item or about why
something was done, a product asked after until it is back in stock, a wish that is not thanks, an item they will
not need, a parcel to go to a locker or a neighbour, and what is said beside a request as its reason.

The shop here is made up (a coffee-and-kitchen shop of tests/unit/test_engine_other_shops.py, and the small
homeware shop of test_understanding_amounts_shades_and_orders.py): none of the sample stores' data."""

from __future__ import annotations

import pytest

from concierge.reasoning import signals
from concierge.reasoning.understanding import Intent, intents, read
from tests.unit.test_engine_other_shops import ORDERS, PENDING, Chat
from tests.unit.test_understanding_amounts_shades_and_orders import PRODUCTS, line, order


@pytest.mark.parametrize(
    "text",
    [
        # what they may do with it, not something to be done to it
        "Can I pack the power bank in my checked bag?",
        "If I get a second speaker, can I pair it with the one I already have for stereo?",
        "can we wash the napkins on a hot cycle?",
        # what the shop can tell them
        "Could you email me the user manual for the desk dock?",
        # why something was done
        "Why was my order 1006 cancelled? I never cancelled it myself.",
        "why were the earbuds refunded? I wanted them",
        # a product asked after, whatever the model reads in its words
        "Any idea when the lamp in brick red is back in stock?",
        "Any idea when the 3 TB drive is back in stock?",
    ],
)
def test_a_question_about_an_item_or_about_what_was_done_is_a_question(text):
    assert signals.understood(text)[0] == "question"


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        # a request's own verb, misspelt or not, is still the request
        ("can i chnage the lamp on my order to black insted of ivory?", "exchange"),
        ("can I send the lamp back?", "return"),
        ("Can I swap the lamp for the black one when it's back in stock?", "exchange"),
        ("Where is my order? The lamp was back in stock when I ordered it.", "track"),
    ],
)
def test_a_request_asked_as_a_question_is_still_the_request(text, intent):
    assert signals.understood(text)[0] == intent


class Reads:
    """An intent model that reads `intent` wherever `word` is and nothing surely elsewhere: the model being wrong
    (or reading only the request taken back) is what the rules beside it are for."""

    def __init__(self, word: str, intent: str) -> None:
        self.word, self.intent = word, intent

    def predict(self, text: str) -> tuple[str, float]:
        return (self.intent, 0.9) if self.word in text.lower() else ("unknown", 0.3)


@pytest.fixture
def model_reads(monkeypatch):
    from concierge.reasoning import intentmodel

    def use(word: str, intent: str) -> None:
        monkeypatch.setattr(intentmodel, "model", lambda: Reads(word, intent))

    return use


def test_a_request_they_had_meant_to_make_and_took_back_is_not_made():
    text = (
        "I'd meant to send the earbuds back, but honestly they've grown on me so I'm keeping them. Just out of "
        "curiosity though, how long do I normally have to return things?"
    )
    assert intents(text) == [Intent.QUESTION]


def test_a_request_taken_back_with_nothing_else_asked_leaves_nothing_to_do(model_reads):
    model_reads("cancel", "cancel")
    text = "I was going to cancel the lamp order but I'll keep it after all, no need to do anything."
    assert signals.understood(text)[0] == "unknown"


def test_a_wish_is_not_thanks():
    text = (
        "I got a new phone last week and it's USB-C, so the Lightning cable I bought from you is useless now. The "
        "same thing but with C on both ends would be perfect!"
    )
    assert signals.classify(text)[0] != "thanks"
    assert signals.classify("Perfect, thank you!")[0] == "thanks"


def test_a_parcel_to_go_to_a_locker_or_a_neighbour_is_an_address_change(model_reads):
    model_reads("won't be home", "appointment")  # a day they are out reads like a booking
    for text in (
        "I won't be home on Tuesday, so the power bank would be better off going to the Packstation round the corner",
        "I won't be home on Friday, could it be left with my neighbour at number 12?",
    ):
        assert read(text, [], PRODUCTS).intent is Intent.ADDRESS, text


def test_a_parcel_to_go_elsewhere_is_an_address_change_where_the_model_reads_an_item_taken_off(model_reads):
    model_reads("packstation", "remove_item")  # "better off going to…" read as the item going off the order
    text = "I won't be home on Tuesday, so the power bank would be better off going to the Packstation round the corner"
    assert read(text, [], PRODUCTS).intent is Intent.ADDRESS


def test_an_item_taken_off_and_the_rest_sent_elsewhere_is_still_an_item_taken_off(model_reads):
    model_reads("office", "remove_item")
    text = "Please take the mug off my order and send the rest to my office instead."
    assert read(text, [], PRODUCTS).intent is Intent.REMOVE_ITEM


def test_an_unsent_item_they_are_not_going_to_need_is_taken_off():
    assert signals.unwanted_unsent("so I'm not really going to need the one in order HW-330")
    reply = (
        Chat(PENDING).say("My brother gave me his old grinder, so I'm not really going to need the one in #504.").reply
    )
    assert "take the Hand Burr Grinder (Black) off order #504" in reply, reply


@pytest.mark.parametrize(
    "text",
    [
        "I'd like to send back the two glass jugs I bought with the napkins. Lovely, just too small for my fridge.",
        "The cable I ordered along with the dock is too short to reach my desk. I'd like to send it back and get a "
        "refund.",
    ],
)
def test_why_they_send_it_back_is_no_swap_and_wants_no_other_variant(text):
    orders = [order("HW-340", "delivered", line(1, "jug", {"size": "900 ml"}), line(2, "napkins", {"colour": "Oat"}))]
    orders.append(order("HW-341", "delivered", line(1, "cable", {"length": "1 m"}), line(2, "hub")))
    reading = read(text, orders, PRODUCTS)
    assert reading.intents == [Intent.RETURN]
    assert reading.variant is None


def test_the_engine_answers_why_an_order_was_cancelled_and_cancels_nothing():
    """ "Why was my order cancelled?" is a question: the engine used to read it as a cancellation and offer to
    cancel the order."""
    reply = Chat(PENDING + ORDERS).say("Why was my order #505 cancelled? I never cancelled it myself.").reply
    assert "cancel it" not in reply and "To confirm" not in reply, reply


def test_the_engine_starts_no_return_for_a_product_asked_after_until_it_is_back_in_stock():
    """It read "Any idea when the grinder in white is back in stock?" as a return of the customer's grinder."""
    reply = Chat(PENDING + ORDERS).say("Any idea when the grinder in white is back in stock?").reply
    assert "return" not in reply, reply


def test_the_engine_does_not_cancel_what_they_said_they_would_keep(model_reads):
    model_reads("cancel", "cancel")
    reply = (
        Chat(PENDING).say("I was going to cancel my order but I'll keep it after all, no need to do anything.").reply
    )
    assert "cancel" not in reply.lower(), reply


@pytest.mark.parametrize(
    ("text", "model_word", "model_intent"),
    [
        ("my mouse from August, the scroll wheel is broken since some days, it scrolls alone.", "mouse", "track"),
        (
            "Every time I copy a big folder to the drive my laptop freezes. Doesn't seem right for a drive at that "
            "price.",
            "drive",
            "question",
        ),
    ],
)
def test_a_fault_reported_with_nothing_asked_is_a_return_whatever_the_model_reads(
    model_reads, text, model_word, model_intent
):
    model_reads(model_word, model_intent)
    assert signals.understood(text)[0] == "return"


@pytest.mark.parametrize(
    "text",
    [
        "Not right now, but how long does the warranty on the speaker last?",
        "Can't right now as I'm away, so how long do I have to send the speaker back?",
    ],
)
def test_not_right_now_is_when_not_a_fault(model_reads, text):
    """ "not right now" says when, not that the item is not as it should be: the question stays a question."""
    model_reads("speaker", "question")
    assert signals.understood(text)[0] == "question"


def test_a_fault_said_of_a_new_item_is_a_return_not_a_swap(model_reads):
    """ "…can't be right for a new one" says what the item is, not that a new one is wanted."""
    model_reads("new one", "exchange")
    text = "The kettle from March already leaks after two days. That can't be right for a new one."
    assert signals.understood(text)[0] == "return"
    assert (
        signals.understood("The kettle already leaks after two days. Can you swap it for a new one?")[0] == "exchange"
    )
    assert signals.understood("It leaks, not good for a new one. I'd like a replacement please.")[0] == "exchange"


def test_a_fault_beside_where_something_is_asks_where_it_is(model_reads):
    model_reads("replacement", "track")
    assert signals.understood("The first one arrived broken, where is the replacement you sent?")[0] == "track"


def test_an_idiom_that_looks_taken_back_takes_nothing_back(model_reads):
    """ "never mind a flat white" (let alone) names no request: what the model read stays, where it used to drop to
    nothing once a request taken back left nothing to read (a whole-store scenario caught it)."""
    model_reads("never mind", "return")  # the whole message read as a return, what is left of it as nothing
    text = "The mugs are tiny, barely fit a small tea, never mind a proper coffee. Not sure what to do with them now"
    assert signals.understood(text)[0] == "return"


def test_a_refusal_said_on_its_own_takes_the_request_back(model_reads):
    """ "Never mind, I'll keep it" takes back what the model reads in it, though it names no request."""
    model_reads("never mind", "return")
    assert signals.understood("Never mind, I'll keep it.")[0] == "unknown"


def test_a_request_beside_the_sign_in_that_stops_them_is_asked_first():
    """ "want to return it but I can't log in…" asks for the return: the engine used to answer only the password."""
    text = (
        "The grinder squeaks horribly every time I use it. I want to return it but I can't log in, it says my "
        "password is wrong and the reset email never shows up"
    )
    assert signals.understood(text)[0] == "return"
    assert "like to return" in Chat(PENDING + ORDERS).say(text).reply


@pytest.mark.parametrize(
    "text",
    [
        "No need for a human, just tell me where my order is",
        "I don't need a person, just a quick answer: can I return the mug without the original box?",
        "I don't want to talk to a person",
    ],
)
def test_a_person_said_not_to_be_wanted_is_not_asked_for(text):
    """The engine handed these to the team: the words of a person asked for were read, not the "don't"."""
    assert not signals.score(text).wants_human
    assert "passing you to" not in Chat(PENDING + ORDERS).say(text).reply


@pytest.mark.parametrize(
    "text",
    ["I want to talk to a person, I do not want a bot", "I don't think you can help. Can I talk to a person?"],
)
def test_a_person_asked_for_beside_a_refusal_of_something_else_is_still_asked_for(text):
    assert signals.score(text).wants_human


def test_on_what_condition_an_item_may_go_back_is_a_question(model_reads):
    model_reads("return", "return")
    for text in (
        "Quick one: can I return the mug without the original box?",
        "can I still return the kettle if I've used it once?",
    ):
        assert signals.understood(text)[0] == "question", text
    # a fault reported beside it, or a condition of politeness, is the return asked for
    assert signals.understood("The kettle leaks. Can I still return it if I've used it?")[0] == "return"
    assert signals.understood("Can I return the mug if possible? It is too small.")[0] == "return"


def test_a_question_said_as_a_wish_asks_something():
    """ "I just want to know if…" asks (the engine then looks for the passage closest in meaning), with or without a
    person said not to be needed before it."""
    for text in (
        "I don't need a person, I just want to know if the pan is oven-safe.",
        "I was wondering whether the pan works on induction",
    ):
        assert signals.score(text).asks, text
