"""The embedded index's file format: an index read from a file (memory-mapped) or from bytes (as from S3) answers
exactly as the index that was built, with the same scores; reading it tokenizes and decodes nothing; changing a
read index gives what building the changed passages from scratch gives; and an index of the previous format still
loads, while anything else is refused with a message that says what to do."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from concierge.knowledge import embedded
from concierge.knowledge.documents import Document, documents_from_store, split
from concierge.knowledge.embedded import MAGIC, EmbeddedIndex
from concierge.knowledge.embeddings import HashingEmbedder, embed_query
from concierge.knowledge.port import Passage, SearchFilters
from concierge.knowledge.sync import embedding_text, sync
from concierge.store.demo import generate_store

EMBEDDER = HashingEmbedder()

# Passages in other languages and about products, so that every filter has something to keep and to drop.
EXTRA = [
    Document(
        id="help/retours",
        title="Retours et remboursements",
        url="/fr/aide/retours",
        locale="fr-FR",
        body="## Délai de retour\nVous avez 30 jours pour retourner un article.\n## Remboursement\n"
        "Le remboursement arrive sous 5 jours ouvrés.",
    ),
    Document(
        id="help/versand",
        title="Versand",
        url="/de/hilfe/versand",
        locale="de",
        body="## Lieferzeit\nWir liefern in 2 bis 4 Werktagen. Express shipping kostet 9 Euro.",
    ),
    Document(
        id="help/jacket-care",
        title="Caring for the trail shell jacket",
        url="/help/jacket-care",
        locale="en-GB",
        product_ids=("trail-jacket", "beanie"),
        body="## Washing\nWash the waterproof jacket cold and tumble dry low to renew the water repellency.\n"
        "## Repairs\nSmall tears are repaired free of charge within the warranty.",
    ),
]

QUESTIONS = [
    "how long does a refund take",
    "do you ship to canada",
    "what is the trail shell jacket made of",
    "can I return underwear",
    "is there a warranty on boots",
    "do you accept paypal",
    "can I pay with bitcoin",
    "waterprof jaket",  # typos the index corrects from its vocabulary
    "retrun policy",
    "refnd",
    "shippping cost",
    "remboursement retour",
    "lieferzeit",
    "how do I wash my jacket",
]

FILTERS = [
    None,
    SearchFilters(locale="en-US"),
    SearchFilters(locale="fr"),
    SearchFilters(locale="xx"),
    SearchFilters(product_id="trail-jacket"),
    SearchFilters(locale="en", product_id="hiking-boot"),
    SearchFilters(product_id="no-such-product"),
]


def answers(index: EmbeddedIndex) -> list[list[tuple[Passage, float, float, float, float]]]:
    """Every hit of every question under every filter, with every score (compared exactly, not approximately)."""
    return [
        [
            (h.passage, h.score, h.confidence, h.keyword_score, h.vector_score)
            for h in index.search(question, embed_query(EMBEDDER, question), k=k, filters=filters)
        ]
        for question in QUESTIONS
        for filters in FILTERS
        for k in (3, 12)
    ]


@pytest.fixture(scope="module")
def built() -> EmbeddedIndex:
    index = EmbeddedIndex(EMBEDDER.dimensions, EMBEDDER.name)
    sync([*documents_from_store(generate_store()), *EXTRA], index, EMBEDDER)
    return index


@pytest.fixture(scope="module")
def expected(built) -> list:
    found = answers(built)
    assert sum(map(len, found)) > 500 and any(not hits for hits in found), "the questions find passages, not all"
    return found


def test_an_index_read_from_a_file_or_from_bytes_answers_exactly_as_the_built_one(built, expected, tmp_path):
    path = tmp_path / "index.npz"
    built.save(path)
    assert path.read_bytes().startswith(MAGIC)
    from_file, from_bytes = EmbeddedIndex.load(path), EmbeddedIndex.from_bytes(path.read_bytes())
    for loaded in (from_file, from_bytes):
        assert (loaded.dimensions, loaded.embedder, loaded.count()) == (built.dimensions, built.embedder, built.count())
        assert answers(loaded) == expected
        assert loaded.passages == built.passages and loaded.document_hashes() == built.document_hashes()
        assert not loaded.legacy_format
    assert from_bytes.to_bytes() == built.to_bytes(), "reading and writing again changes nothing"


def test_reading_an_index_tokenizes_nothing_and_decodes_only_the_passages_searches_weigh(built, monkeypatch):
    data = built.to_bytes()

    def tokenize(passage):
        raise AssertionError("a loaded index must not tokenize its passages again")

    decoded = []
    read = embedded._Tables.passage

    def counting(tables, row):
        decoded.append(row)
        return read(tables, row)

    monkeypatch.setattr(embedded, "_indexed_terms", tokenize)
    monkeypatch.setattr(embedded._Tables, "passage", counting)
    loaded = EmbeddedIndex.from_bytes(data)
    assert decoded == []
    hits = loaded.search("how long does a refund take", embed_query(EMBEDDER, "how long does a refund take"), k=5)
    assert hits and len(decoded) <= 10 < built.count(), "only the shortlist is decoded"
    assert not loaded._tables.vectors.flags.owndata, "the vectors are the bytes read, not a copy"


def test_a_file_is_memory_mapped_and_replacing_it_does_not_disturb_a_reader(built, tmp_path):
    path = tmp_path / "index.npz"
    built.save(path)
    reader = EmbeddedIndex.load(path)
    question = "how long does a refund take"
    before = [(h.passage.id, h.score) for h in reader.search(question, embed_query(EMBEDDER, question))]
    smaller = EmbeddedIndex.from_bytes(built.to_bytes())
    smaller.delete_documents(["store/returns"])
    smaller.save(path)  # a new file renamed over the old one: the reader keeps its mapping of the old one
    assert [(h.passage.id, h.score) for h in reader.search(question, embed_query(EMBEDDER, question))] == before
    assert EmbeddedIndex.load(path).count() == smaller.count() < reader.count()
    assert [p.name for p in tmp_path.iterdir()] == ["index.npz"], "no partial file is left behind"


def test_changing_a_read_index_gives_what_building_the_changed_passages_gives(built):
    in_memory = EmbeddedIndex(EMBEDDER.dimensions, EMBEDDER.name)
    sync([*documents_from_store(generate_store()), *EXTRA], in_memory, EMBEDDER)
    loaded = EmbeddedIndex.from_bytes(built.to_bytes())
    changed = Document(
        id="store/returns",
        title="Returns",
        url="/help/returns",
        body="## Return window\nYou have 60 days to return an unworn jacket.\n## Exchanges by post\nPost it back.",
    )
    new = split(changed)
    vectors = EMBEDDER.embed([embedding_text(p) for p in new])
    for index in (in_memory, loaded):
        assert index.delete_documents(["store/returns", "help/versand"]) > 0
        index.upsert(new, vectors)
        index.upsert(new[:1], vectors[:1])  # replacing a passage by its id
    assert loaded.passages == in_memory.passages and loaded.document_hashes() == in_memory.document_hashes()
    assert answers(loaded) == answers(in_memory)
    fresh = EmbeddedIndex(EMBEDDER.dimensions, EMBEDDER.name)
    fresh.upsert(loaded.passages, EMBEDDER.embed([embedding_text(p) for p in loaded.passages]))
    assert answers(fresh) == answers(loaded)
    assert EmbeddedIndex.from_bytes(loaded.to_bytes()).to_bytes() == fresh.to_bytes()


def test_an_empty_index_round_trips():
    empty = EmbeddedIndex.from_bytes(EmbeddedIndex(EMBEDDER.dimensions, EMBEDDER.name).to_bytes())
    assert empty.count() == 0 and empty.document_hashes() == {} and empty.passages == []
    assert empty.search("refund", embed_query(EMBEDDER, "refund")) == []


def legacy_bytes(index: EmbeddedIndex, version: int = 2) -> bytes:
    """The index as the previous format wrote it: one compressed .npz, every passage in one JSON document."""
    meta = {
        "version": version,
        "dimensions": index.dimensions,
        "embedder": index.embedder,
        "passages": [p.model_dump(mode="json") for p in index.passages],
    }
    buffer = io.BytesIO()
    vectors = EMBEDDER.embed([embedding_text(p) for p in index.passages])
    np.savez_compressed(buffer, vectors=vectors, meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8))
    return buffer.getvalue()


def test_an_index_of_the_previous_format_loads_and_is_written_in_the_new_one(built, expected):
    legacy = EmbeddedIndex.from_bytes(legacy_bytes(built))
    assert legacy.legacy_format and answers(legacy) == expected
    rewritten = EmbeddedIndex.from_bytes(legacy.to_bytes())
    assert not rewritten.legacy_format and rewritten.to_bytes().startswith(MAGIC) and answers(rewritten) == expected


def test_other_files_are_refused_with_what_to_do(built):
    data = built.to_bytes()
    with pytest.raises(ValueError, match=r"unsupported index version 1: re-run `concierge knowledge sync`"):
        EmbeddedIndex.from_bytes(legacy_bytes(built, version=1))
    with pytest.raises(ValueError, match="not a Concierge knowledge index: re-run"):
        EmbeddedIndex.from_bytes(b"<html>not an index</html>")
    assert data.count(b'"version": 3,') == 1
    with pytest.raises(ValueError, match=r"unsupported index version 9 .*upgrade Concierge"):
        EmbeddedIndex.from_bytes(data.replace(b'"version": 3,', b'"version": 9,'))
    with pytest.raises(ValueError, match=r"damaged .*re-run"):
        EmbeddedIndex.from_bytes(data[: len(data) // 2])  # cut short: its arrays are not all there
    with pytest.raises(ValueError, match=r"damaged .*re-run"):
        EmbeddedIndex.from_bytes(data[:100])  # its header is not all there


def test_pickled_data_is_never_loaded():
    buffer = io.BytesIO()
    np.savez(buffer, vectors=np.zeros((1, 4), dtype=np.float32), meta=np.array([{"version": 2}], dtype=object))
    with pytest.raises(ValueError, match="allow_pickle=False"):
        EmbeddedIndex.from_bytes(buffer.getvalue())
