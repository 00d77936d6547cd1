"""The embeddings port: Amazon Bedrock Titan Text Embeddings v2 in the cloud, a light hashing embedder locally.

The local embedder downloads nothing and needs no model: it hashes words, word pairs and character 4-grams
(which survive typos: "waterprof" still shares most of "waterproof") into a fixed number of dimensions. It is
deterministic across processes (CRC32, never Python's salted hash), so vectors persisted by one process
match queries embedded by another.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from itertools import pairwise
from typing import Any, Protocol, cast

import numpy as np

from concierge.knowledge.text import terms


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


def embed_query(embedder: Embedder, query: str) -> np.ndarray:
    """A question's vector, after the same rewrites its keywords get (how customers say what documents write)."""
    from concierge.knowledge.text import rewrite_query

    return cast("np.ndarray", embedder.embed([rewrite_query(query)])[0])  # a row of the (1, dimensions) array
