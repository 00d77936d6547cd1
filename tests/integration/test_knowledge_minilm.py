"""The MiniLM embedder through the product's own path on the local stack (CONCIERGE_EMBEDDER=minilm): the store and
a help document synced into the embedded index in S3 with the sentence model, a question in the customer's own words
found by the search the retrieval function runs where it shares no word with the passage (the hashing embedder does
not find it), and a re-sync of passages already embedded read from the vector cache."""

from __future__ import annotations

import pytest

from concierge.knowledge.documents import Document, documents_from_store
from concierge.knowledge.embedded import EmbeddedIndex
from concierge.knowledge.embeddings import HashingEmbedder
from concierge.knowledge.port import SearchFilters
from concierge.knowledge.retrieval import search
from concierge.knowledge.service import sync_knowledge
from concierge.knowledge.sync import sync
from concierge.knowledge.text import query_terms, terms
from concierge.knowledge.vectorcache import CACHE_ENV, CachedEmbedder
from concierge.platform import wiring
from concierge.platform.settings import IngestSettings, RetrievalSettings, current_settings
from concierge.store.demo import generate_store
from tests.integration.conftest import local_stack

KETTLE = Document(
    id="help/kettle-care",
    title="Kettle care",
    url="/help/kettle-care",
    body="## Descaling\nLimescale builds up where water is hard. Fill the kettle halfway with water and one sachet of "
    "citric acid, boil, let it stand for twenty minutes, then rinse twice.\n\n"
    "## Storing your power bank\nFor storage longer than a month, charge the power bank to about half and keep it "
    "somewhere cool and dry.\n\n"
    "## Gift receipts\nAsk for a gift receipt at checkout: the parcel then shows no prices.\n",
)
QUESTION = "how do i get rid of mineral deposits?"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    cache = tmp_path_factory.mktemp("vectors")
    yield from local_stack(tmp_path_factory, CONCIERGE_EMBEDDER="minilm", **{CACHE_ENV: str(cache)})


def test_a_question_in_other_words_finds_its_passage_with_minilm_where_hashing_does_not(stack):
    report = sync_knowledge(current_settings(IngestSettings), [KETTLE], source="help")
    assert report.passages_indexed == 3
    settings = current_settings(RetrievalSettings)
    index = wiring.knowledge_index(settings)
    assert isinstance(index, EmbeddedIndex) and (index.embedder, index.dimensions) == ("minilm-l6-v2", 384)

    hits = [hit for _, hit in search(index, wiring.embedder(settings), QUESTION, SearchFilters(locale="en"))]
    first = hits[0].passage
    assert (first.document_id, first.section) == ("help/kettle-care", "Descaling")
    assert not set(query_terms(QUESTION)) & set(terms(f"{first.title} {first.section} {first.text}"))  # no word shared

    embedder = HashingEmbedder()  # the same documents with the hashing embedder: the words decide, and none is shared
    hashed = EmbeddedIndex(embedder.dimensions, embedder.name)
    sync([*documents_from_store(generate_store()), KETTLE], hashed, embedder)
    found = [(h.passage.document_id, h.passage.section) for _, h in search(hashed, embedder, QUESTION)]
    assert found[0] != ("help/kettle-care", "Descaling")


def test_passages_already_embedded_are_read_from_the_vector_cache(stack):
    settings = current_settings(IngestSettings)
    sync_knowledge(settings, [KETTLE], source="help")
    embedder = wiring.embedder(settings)
    assert isinstance(embedder, CachedEmbedder)
    before = (embedder.hits, embedder.misses)
    copy = KETTLE.model_copy(update={"id": "manuals/kettle-care"})  # another source: its passages' texts are the same
    report = sync_knowledge(settings, [copy], source="manuals")
    assert report.passages_indexed == 3
    assert (embedder.hits - before[0], embedder.misses - before[1]) == (3, 0)
