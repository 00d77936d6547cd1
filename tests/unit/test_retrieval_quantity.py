"""A question about a quantity the customer said before it ("we want about 60 of the notebooks. any discount for
that many?"): on its own it names one word of the help center's, so the search once fell back to the whole message,
whose side story drowned it. A quantity pointed back at is what help centers call a bulk order, with or without a
verb before it. A made-up stationery shop, neither sample store."""

from __future__ import annotations

import pytest

from concierge.knowledge.documents import Document
from concierge.knowledge.embedded import EmbeddedIndex
from concierge.knowledge.embeddings import HashingEmbedder
from concierge.knowledge.port import ANSWER_THRESHOLD
from concierge.knowledge.retrieval import search
from concierge.knowledge.sync import sync
from concierge.knowledge.text import query_terms

EMBEDDER = HashingEmbedder()

HELP = """# Trade and volume orders

## Do you discount bulk orders?
Orders of 50 or more of one product get 12% off; write to us for a quote.

## Can we pay by invoice?
Business accounts can pay by invoice within 30 days.

# Delivery

## How long does delivery take?
Orders leave within a working day and arrive in 2 to 4 working days.

## My parcel is late
If your parcel is 3 or more days late, we open a trace with the carrier.

# Paper

## Dot-grid notebook
A5 notebooks with 120 pages of 100 gsm paper that fountain pens don't bleed through.
"""


@pytest.fixture(scope="module")
def index() -> EmbeddedIndex:
    built = EmbeddedIndex(EMBEDDER.dimensions, EMBEDDER.name)
    sync([Document(id="help/faq", title="Help", url="https://paper.example/help", body=HELP)], built, EMBEDDER)
    return built


@pytest.mark.parametrize(
    "message",
    [
        "we're starting a little studio and want about 60 of the dot-grid notebooks. any discount for that many?",
        "Our school wants 80 notebooks. Do you give a discount on this many?",
    ],
)
def test_a_discount_for_a_quantity_said_before_the_question_finds_the_bulk_answer(index, message):
    hits = search(index, EMBEDDER, message)
    _, best = hits[0]
    assert best.passage.section == "Do you discount bulk orders?"
    assert best.confidence >= ANSWER_THRESHOLD


@pytest.mark.parametrize("message", ["thanks for so many lovely notebooks", "why did I get so many emails from you"])
def test_many_of_something_else_is_not_a_bulk_order(message):
    assert "bulk" not in query_terms(message)
