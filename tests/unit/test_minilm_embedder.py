"""The MiniLM knowledge embedder: the sentence model's batches give each text the vector it gets alone, the vector
cache (hits, misses, damaged entries), which embedder a setting selects, and how each embedder's cosine counts in a
passage's confidence."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

import numpy as np
import pytest

from concierge.knowledge import scoring
from concierge.knowledge.embeddings import (
    HashingEmbedder,
    MiniLMEmbedder,
    embed_queries,
    embed_query,
    local_embedder,
    minilm_unavailable,
)
from concierge.knowledge.vectorcache import CACHE_ENV, CachedEmbedder, VectorCache, cache_dir, cached
from concierge.platform import wiring
from concierge.platform.settings import KnowledgeSettings, SettingsError
from concierge.reasoning import sentences

TEXTS = [
    "Where is my parcel?",
    "Kettle STILL isnt here 😤 order #1012",
    "x",
    "Descaling. Fill the kettle halfway with water and a sachet of citric acid, boil, leave it for twenty minutes. "
    * 12,  # past the model's 256 tokens: truncated, the longest of the batch
    "Storing your power bank. For storage longer than a month, charge it to about half and keep it cool.",
    "",
    "gift receipt",
]


@pytest.fixture(scope="module")
def model() -> sentences.SentenceEncoder:
    loaded = sentences.encoder()
    assert loaded is not None, "the sentence model is installed by `make` (requirements-models.txt)"
    return loaded


# Batches ------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("budget", [sentences.BATCH_TOKENS, 64, 10**6], ids=["default", "small batches", "one batch"])
def test_a_batch_gives_every_text_the_vector_it_gets_alone(model, budget):
    alone = np.stack([model.encode([text])[0] for text in TEXTS])
    together = model.encode(TEXTS, batch_tokens=budget)
    assert together.shape == (len(TEXTS), sentences.DIMENSIONS) and together.dtype == np.float32
    assert np.abs(together - alone).max() < 1e-5  # padding is neither attended to nor pooled; the order is kept
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)


def test_a_text_twice_in_a_batch_gets_the_same_vector_and_nothing_gives_an_empty_array(model):
    twice = model.encode(["gift receipt", "a much longer text about store credit and refunds", "gift receipt"])
    assert np.abs(twice[0] - twice[2]).max() < 1e-6
    assert model.encode([]).shape == (0, sentences.DIMENSIONS)


def test_the_embedder_embeds_in_batches_and_questions_as_alone(model):
    embedder = MiniLMEmbedder()
    assert (embedder.name, embedder.dimensions) == ("minilm-l6-v2", 384)
    vectors = embedder.embed(TEXTS)
    assert np.abs(vectors - model.encode(TEXTS)).max() < 1e-6
    questions = embedder.embed_queries(["gift receipt", "Where is my parcel?", "gift receipt"])
    assert np.abs(questions[0] - vectors[6]).max() < 1e-5 and np.abs(questions[1] - vectors[0]).max() < 1e-5
    assert questions[0] is questions[2]  # remembered
    assert np.abs(embedder.embed_query("x") - vectors[2]).max() < 1e-5
    assert embedder.embed([]).shape == (0, 384)


def test_a_turns_questions_get_the_vectors_they_get_one_by_one():
    """retrieval.search embeds a turn's queries together: the same vectors as one at a time, for every embedder."""
    queries = ["how do i return this?", "and do you ship to Canada", "where's my order"]
    for embedder in (HashingEmbedder(), MiniLMEmbedder()):
        together = embed_queries(embedder, queries)
        for query, vector in zip(queries, together, strict=True):
            assert np.abs(vector - embed_query(embedder, query)).max() < 1e-5


# The vector cache ---------------------------------------------------------------------------------------------------


class Counting:
    """An embedder that counts the texts it is asked to embed."""

    name = "counting:v1"
    dimensions = 8

    def __init__(self) -> None:
        self.asked: list[list[str]] = []

    def embed(self, texts):
        self.asked.append(list(texts))
        rows = np.array([[len(t) + 1.0, *range(7)] for t in texts], dtype=np.float32).reshape(len(texts), 8)
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_a_text_is_embedded_once_then_read_from_the_cache(tmp_path):
    inner = Counting()
    embedder = CachedEmbedder(inner, VectorCache(tmp_path))
    first = embedder.embed(["alpha", "beta", "alpha"])
    assert inner.asked == [["alpha", "beta"]]  # a miss each, embedded in one call; the repeat once
    assert (embedder.hits, embedder.misses) == (0, 2)
    again = CachedEmbedder(inner, VectorCache(tmp_path)).embed(["beta", "alpha", "gamma"])  # another process
    assert inner.asked == [["alpha", "beta"], ["gamma"]]
    assert np.array_equal(again[0], first[1]) and np.array_equal(again[1], first[0])
    assert (embedder.name, embedder.dimensions) == (inner.name, inner.dimensions)


def test_entries_are_keyed_by_the_embedder_and_its_dimensions_and_the_texts_sha256(tmp_path):
    cache = VectorCache(tmp_path)
    path = cache.path("counting:v1", 8, "alpha")
    assert path.relative_to(tmp_path).parts == (
        "counting_v1-8",
        path.name[:2],
        "8ed3f6ad685b959ead7022518e1af76cd816f8e8ec7ccdda1ed4018e8f2223f8.f32",
    )
    CachedEmbedder(Counting(), cache).embed(["alpha"])
    assert path.is_file() and path.stat().st_size == 8 * 4
    assert cache.get("counting:v1", 16, "alpha") is None  # another size: another entry
    assert cache.get("other", 8, "alpha") is None
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".partial")]  # written by rename


@pytest.mark.parametrize(
    "damage",
    [b"", b"\x00" * 7, b"\x00" * 32, np.full(8, np.nan, dtype="<f4").tobytes(), b"\x01" * 40],
    ids=["empty", "truncated", "zeros", "nan", "too long"],
)
def test_a_damaged_entry_is_ignored_and_written_again(tmp_path, damage):
    inner = Counting()
    cache = VectorCache(tmp_path)
    good = CachedEmbedder(inner, cache).embed(["alpha"])[0]
    path = cache.path(inner.name, inner.dimensions, "alpha")
    path.write_bytes(damage)
    again = CachedEmbedder(inner, cache).embed(["alpha"])[0]
    assert inner.asked == [["alpha"], ["alpha"]]  # embedded again
    assert np.array_equal(again, good)
    assert np.array_equal(cache.get(inner.name, inner.dimensions, "alpha"), good)  # and repaired


def test_a_cache_that_cannot_be_written_still_returns_the_vectors_and_warns_once(tmp_path, caplog):
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    inner = Counting()
    embedder = CachedEmbedder(inner, VectorCache(blocked / "cache"))
    with caplog.at_level(logging.WARNING, logger="concierge.knowledge.vectorcache"):
        vectors = embedder.embed(["alpha", "beta"])
        embedder.embed(["gamma"])
    assert vectors.shape == (2, 8) and np.allclose(np.linalg.norm(vectors, axis=1), 1)
    assert len([r for r in caplog.records if "cannot be written" in r.getMessage()]) == 1


def test_questions_are_never_written_to_the_cache(tmp_path):
    embedder = cached(MiniLMEmbedder(), tmp_path)
    assert isinstance(embedder, CachedEmbedder)
    embed_query(embedder, "can my sister return the gift?")
    embed_queries(embedder, ["what is your returns policy", "do you ship to Canada"])
    assert not list(tmp_path.rglob("*.f32"))
    embedder.embed(["Returns. Unworn items come back within 30 days."])
    assert len(list(tmp_path.rglob("*.f32"))) == 1


def test_where_the_cache_is(monkeypatch, tmp_path):
    for name in (CACHE_ENV, "XDG_CACHE_HOME", "AWS_LAMBDA_FUNCTION_NAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache_dir() == tmp_path / ".cache" / "concierge" / "vectors"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "concierge" / "vectors"
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "concierge-ingest")
    assert cache_dir() is None  # in Lambda: none unless configured
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "configured"))
    assert cache_dir() == tmp_path / "configured"
    monkeypatch.setenv(CACHE_ENV, "off")
    assert cache_dir() is None
    assert cached(HashingEmbedder()).__class__ is HashingEmbedder  # nothing to cache in


# Which embedder ----------------------------------------------------------------------------------------------------


def knowledge_settings(**env: str) -> KnowledgeSettings:
    from concierge.platform.settings import RetrievalSettings, required_env

    values = dict.fromkeys(required_env(RetrievalSettings.function), "x")
    return RetrievalSettings.from_env({**values, **env})


@pytest.fixture
def fresh_wiring():
    wiring.reset()
    yield
    wiring.reset()


def test_the_setting_selects_the_embedder(monkeypatch, tmp_path, fresh_wiring):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    minilm = wiring.embedder(knowledge_settings(CONCIERGE_EMBEDDER="minilm"))
    assert isinstance(minilm, CachedEmbedder) and isinstance(minilm.inner, MiniLMEmbedder)
    assert (minilm.name, minilm.dimensions) == ("minilm-l6-v2", 384)
    hashing = wiring.embedder(knowledge_settings(CONCIERGE_EMBEDDER="hashing", CONCIERGE_EMBEDDING_DIMENSIONS="512"))
    assert isinstance(hashing, HashingEmbedder) and hashing.dimensions == 512
    monkeypatch.setenv(CACHE_ENV, "off")
    assert isinstance(local_embedder("minilm", 256), MiniLMEmbedder)


def test_the_settings_accept_minilm_and_nothing_unknown():
    assert knowledge_settings(CONCIERGE_EMBEDDER="minilm").embedder == "minilm"
    with pytest.raises(SettingsError, match="CONCIERGE_EMBEDDER"):
        knowledge_settings(CONCIERGE_EMBEDDER="bert")


def test_without_the_model_minilm_falls_back_to_hashing_and_says_so(monkeypatch, tmp_path, caplog):
    monkeypatch.setenv(sentences.MODEL_DIR_ENV, str(tmp_path))  # a folder without the model's files
    assert "no model.safetensors and tokenizer.json" in (minilm_unavailable() or "")
    with caplog.at_level(logging.WARNING, logger="concierge.knowledge.embeddings"):
        embedder = local_embedder("minilm", 256)
    assert isinstance(embedder, HashingEmbedder) and embedder.dimensions == 256
    [record] = [r for r in caplog.records if "CONCIERGE_EMBEDDER=minilm" in r.getMessage()]
    assert "using the hashing embedder" in record.getMessage() and "requirements-models.txt" in record.getMessage()


def test_the_installed_model_is_available():
    assert minilm_unavailable() is None


def test_choosing_minilm_loads_nothing_until_a_text_is_embedded(tmp_path):
    """The weights load on the first text (a cold start that never searches pays nothing): selecting the embedder
    only looks the model's files up."""
    code = (
        "import sys, json\n"
        "from concierge.knowledge.embeddings import local_embedder\n"
        "e = local_embedder('minilm', 256)\n"
        "before = sorted(m for m in ('tokenizers', 'safetensors', 'concierge.reasoning.sentences') if m in sys.modules)\n"
        "e.embed(['hello'])\n"
        "after = sorted(m for m in ('tokenizers', 'safetensors') if m in sys.modules)\n"
        "print(json.dumps([type(e).__name__, before, after]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, CACHE_ENV: str(tmp_path)},
    )
    kind, before, after = json.loads(result.stdout.strip().splitlines()[-1])
    assert kind == "CachedEmbedder"
    assert "tokenizers" not in before and "safetensors" not in before
    assert after == ["safetensors", "tokenizers"]


# Confidence on each embedder's scale --------------------------------------------------------------------------------


def test_the_hashing_and_titan_confidence_is_the_blend_it_always_was():
    for name in ("", "hashing-v1", "amazon.titan-embed-text-v2:0"):
        for lexical, cosine, heading in [(0.5, 0.3, 0.0), (1.0, 0.9, 1.0), (0.0, -0.2, 0.0), (0.2, 1.4, 0.5)]:
            old = round(min(1.0, 0.7 * lexical + 0.3 * max(0.0, min(1.0, cosine)) + 0.1 * heading), 4)
            assert scoring.blend(lexical, cosine, heading, name) == old


def test_minilms_cosine_counts_from_its_own_floor_to_its_ceiling():
    calibration = scoring.calibration(MiniLMEmbedder.name)
    assert (calibration.coverage_weight, calibration.floor, calibration.ceiling) == (0.6, 0.3, 0.7)
    assert scoring.blend(0.0, 0.3, embedder=MiniLMEmbedder.name) == 0.0  # another topic: no likeness
    assert scoring.blend(0.0, 0.5, embedder=MiniLMEmbedder.name) == 0.2
    assert scoring.blend(0.5, 0.7, embedder=MiniLMEmbedder.name) == 0.7
    assert scoring.blend(1.0, 0.95, 1.0, MiniLMEmbedder.name) == 1.0
    assert scoring.confidence("gift receipt", "Gift receipts", 0.7, embedder=MiniLMEmbedder.name) == 1.0


def test_the_embedded_index_scores_with_the_calibration_of_the_embedder_it_was_built_with():
    from concierge.knowledge.documents import Document, split
    from concierge.knowledge.embedded import EmbeddedIndex
    from concierge.knowledge.sync import embedding_text

    document = Document(
        id="help/kettle", title="Kettle care", url="/help/kettle", body="## Descaling\nBoil citric acid in it."
    )
    passages = split(document)
    embedder = MiniLMEmbedder()
    index = EmbeddedIndex(embedder.dimensions, embedder.name)
    index.upsert(passages, embedder.embed([embedding_text(p) for p in passages]))
    [hit] = index.search("how do i get rid of mineral deposits", embed_query(embedder, "get rid of mineral deposits"))
    assert hit.confidence == scoring.blend(0.0, hit.vector_score, 0.0, embedder.name)
    assert hit.confidence != scoring.blend(0.0, hit.vector_score)
