"""What a turn searches the help center for: the question a customer asks, not the story around it, and each of
several requests on its own; and how the index reads the words (stems, typos, question-shaped headings)."""

from __future__ import annotations

import pytest

from concierge.knowledge.documents import Document
from concierge.knowledge.embedded import EmbeddedIndex
from concierge.knowledge.embeddings import HashingEmbedder
from concierge.knowledge.port import ANSWER_THRESHOLD
from concierge.knowledge.retrieval import MAX_REQUESTS, search, search_queries
from concierge.knowledge.sync import sync
from concierge.knowledge.text import stem, terms

EMBEDDER = HashingEmbedder()

HELP = """# Shipping and delivery

## How long does delivery take?
Orders leave the same working day and arrive in 2 to 4 working days.

## How much does shipping cost?
Standard shipping is 4.95, and free on orders of 50 or more.

## Do you ship outside the country?
We ship to Canada and Mexico for a flat 19; delivery takes 6 to 10 business days.

# Refunds

## How long does a refund take?
Once your parcel reaches us, your money is back on your card within 3 business days.

## Refunds over 250
Large refunds are reviewed by a teammate first, usually within one business day.

# Exchanges

## How does an exchange work?
We email you a prepaid label for the item you are sending back and ship the new one when it is scanned.

# Bulk orders

## Do you offer discounts on bulk orders?
Orders of 24 or more of the same item get 10% off.

# Warranty

## What does the warranty cover?
Defects in materials and workmanship for two years, such as a battery that no longer holds its charge.

# Payments

## When am I charged?
Your card is authorised when you order and charged when the order ships.

# Care

## Cast-iron casserole
Hand wash only. Oven safe to 250 degrees.
"""


@pytest.fixture(scope="module")
def index() -> EmbeddedIndex:
    built = EmbeddedIndex(EMBEDDER.dimensions, EMBEDDER.name)
    sync([Document(id="help/faq", title="Help", url="https://shop.example/help", body=HELP)], built, EMBEDDER)
    return built


def best(index: EmbeddedIndex, message: str):
    hits = search(index, EMBEDDER, message)
    assert hits, message
    return hits[0]


def first_query(message: str) -> str:
    return search_queries(message)[0][1]


# what is searched ------------------------------------------------------------------------------------------------
def test_a_side_story_in_the_same_sentence_is_not_searched():
    assert (
        first_query("we need about 40 mugs for our office kitchen, is there any discount for buying that many?")
        == "is there any discount for buying that many?"
    )
    assert first_query("Hi, what is the casserole made of? Thanks, Alex") == "what is the casserole made of?"


def test_a_question_asked_without_a_question_mark_is_still_the_question():
    assert first_query("do you ship to canada, my sister lives in toronto") == "do you ship to canada"
    # a plain request has nothing to cut
    assert search_queries("I want to return my kettle") == [(0, "I want to return my kettle")]
    message = "Can't find the tracking number. I ordered the kettle last week"  # "can't" does not ask
    assert search_queries(message) == [(0, message)]


def test_a_question_that_points_back_is_searched_with_the_message_around_it():
    message = "thinking of buying the casserole as a gift. if he doesn't like it can it be returned?"
    assert (0, message) in search_queries(message)


def test_a_second_request_that_says_it_gets_what_the_first_named():
    queries = dict(
        search_queries("what temperature can the casserole take in the oven? and can it go in the dishwasher?")
    )
    assert "casserole" in queries[2] and "dishwasher" in queries[2]


def test_two_questions_in_two_sentences_are_searched_each_on_its_own():
    queries = search_queries(
        "I'm moving to Zurich, will you still deliver to me there? And while I'm still in "
        "Valencia, how long does delivery normally take?"
    )
    assert (1, "will you still deliver to me there?") in queries
    assert (2, "how long does delivery normally take?") in queries


def test_searches_per_message_are_bounded():
    message = (
        " and ".join(
            [
                "what is the price of the kettle",
                "do you ship to canada",
                "how long do refunds take",
                "can I pay by card",
                "what is the warranty",
            ]
        )
        + "?"
    )
    queries = search_queries(message)
    assert len(queries) <= 2 + MAX_REQUESTS


# how the index reads words ---------------------------------------------------------------------------------------
def test_the_chat_around_a_question_is_not_searched_for():
    assert terms("quick question btw: do you ship to canada? thanks lol") == terms("do you ship to canada?")


def test_words_of_one_stem_match_however_they_are_inflected():
    assert stem("shipping") == stem("shipped") == stem("ships") == stem("ship")
    assert stem("filled") == "fill" and stem("added") == "add"


def test_a_real_word_is_not_corrected_into_a_shorter_one_but_typos_are(index):
    index.search("x", EMBEDDER.embed(["x"])[0])  # build the vocabulary
    assert index.corrected(["spend"]) == ["spend"]  # not "send"
    assert index.corrected(["refundd"]) == ["refund"]  # a doubled letter
    assert index.corrected(["refnd"]) == ["refund"]  # a dropped one


# what answers -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("message", "section"),
    [
        # the heading that is the question wins over a neighbour that shares its words
        ("how long until I get my money back after a return?", "How long does a refund take?"),
        ("how much do I need to spend for free shipping?", "How much does shipping cost?"),
        ("do you ship to canada, my sister lives in toronto", "Do you ship outside the country?"),
        (
            "we need about 40 mugs for the office, is there any discount for buying that many?",
            "Do you offer discounts on bulk orders?",
        ),
        (
            "the battery on my mouse only lasts 2 days now, I bought it in august. is that covered?",
            "What does the warranty cover?",
        ),
        ("I paid by card yesterday, when does the money actually leave my account?", "When am I charged?"),
    ],
)
def test_the_passage_that_answers_is_found_with_confidence(index, message, section):
    number, hit = best(index, message)
    assert (number, hit.passage.section) == (0, section)
    assert hit.confidence >= ANSWER_THRESHOLD


def test_each_request_of_a_message_finds_its_own_answer(index):
    # searched with the tracking question around it, the refund question would rank its neighbour first
    hits = {
        hit.passage.section: hit
        for _, hit in search(index, EMBEDDER, "where is my order, and how long do refunds take?")
    }
    timing, neighbour = hits["How long does a refund take?"], hits.get("Refunds over 250")
    assert timing.confidence >= ANSWER_THRESHOLD
    assert neighbour is None or neighbour.confidence < timing.confidence


@pytest.mark.parametrize("message", ["do you sell pianos?", "can I pay with bitcoin", "what is the weather today"])
def test_what_the_help_center_does_not_answer_stays_below_the_threshold(index, message):
    assert all(hit.confidence < ANSWER_THRESHOLD for _, hit in search(index, EMBEDDER, message))
