"""A cache of passage vectors on the developer's disk, so that syncing passages already embedded costs a file read
instead of a forward pass of the sentence model: a fresh local stack imports the same store at every start of
`concierge dev`, at every scenario of `concierge eval` and in every test module that starts one. Used for the MiniLM
embedder (wiring.embedder); the hashing embedder is cheaper than the file read.

An entry is one vector, keyed by the embedder (its name and dimensions) and the sha256 of the text embedded: a file
`<directory>/<embedder>-<dimensions>/<first two hex digits>/<sha256>.f32` holding the vector's float32 values (little
endian), nothing else. It is written to a temporary file beside it and renamed over it, so two processes writing the
same entry at once leave one whole file, and a reader never sees half of one. A file that is not a whole unit vector
of the right size (damaged, truncated) is ignored and written again. Nothing is ever evicted: the entries are small
(1.5 KB for MiniLM's 384 dimensions) and the folder can be deleted at any time.

Where: `CONCIERGE_VECTOR_CACHE_DIR` (`off` turns the cache off), else the user's cache folder
(`$XDG_CACHE_HOME/concierge/vectors`, by default `~/.cache/concierge/vectors`). In a Lambda function, unless the
variable is set, there is no cache: ingest syncs only the documents that changed (sync.py), so a cache would hold
nothing a later sync asks for, and /tmp lives only as long as the execution environment.

Only what a sync embeds is cached; questions are not (`embed_query` and `embed_queries` bypass the cache): what
customers ask is not kept on disk.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import secrets
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from concierge.knowledge.embeddings import Embedder

CACHE_ENV = "CONCIERGE_VECTOR_CACHE_DIR"
OFF = "off"

logger = logging.getLogger(__name__)


def cache_dir() -> Path | None:
    """The configured folder, the user's cache folder, or None (turned off, or in Lambda with none configured)."""
    configured = os.environ.get(CACHE_ENV, "").strip()
    if configured:
        return None if configured.lower() == OFF else Path(configured).expanduser()
    if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        return None
    base = os.environ.get("XDG_CACHE_HOME", "").strip()
    return (Path(base) if base else Path.home() / ".cache") / "concierge" / "vectors"


class VectorCache:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._warned = False

    def _folder(self, embedder: str, dimensions: int) -> Path:
        return self.directory / f"{re.sub(r'[^A-Za-z0-9._-]', '_', embedder)}-{dimensions}"

    @staticmethod
    def key(text: str) -> str:
        return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()

    def path(self, embedder: str, dimensions: int, text: str) -> Path:
        digest = self.key(text)
        return self._folder(embedder, dimensions) / digest[:2] / f"{digest}.f32"

    def get(self, embedder: str, dimensions: int, text: str) -> np.ndarray | None:
        """The cached vector, or None: not cached, unreadable, or not a whole unit vector of `dimensions`."""
        try:
            data = self.path(embedder, dimensions, text).read_bytes()
        except OSError:
            return None
        if len(data) != 4 * dimensions:
            return None
        vector = np.frombuffer(data, dtype="<f4").astype(np.float32)
        if not np.isfinite(vector).all() or abs(float(np.linalg.norm(vector)) - 1.0) > 1e-3:
            return None
        return vector

    def put(self, embedder: str, dimensions: int, text: str, vector: np.ndarray) -> None:
        """Write one entry: a temporary file renamed over the entry. A cache that cannot be written (read-only, full)
        is warned about once and otherwise ignored: the vectors are still returned."""
        path = self.path(embedder, dimensions, text)
        partial = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.partial")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            partial.write_bytes(np.ascontiguousarray(vector, dtype="<f4").tobytes())
            os.replace(partial, path)
        except OSError as error:
            with contextlib.suppress(OSError):
                partial.unlink(missing_ok=True)
            if not self._warned:
                self._warned = True
                logger.warning("the vector cache in %s cannot be written (%s): vectors are not cached", path, error)


class CachedEmbedder:
    """An embedder whose vectors are looked up in a VectorCache first: only the texts not cached are embedded (in
    one call, so the model still batches them), then cached. Questions (`embed_query`) go to the embedder itself."""

    def __init__(self, embedder: Embedder, cache: VectorCache) -> None:
        self.inner = embedder
        self.cache = cache
        self.name = embedder.name
        self.dimensions = embedder.dimensions
        self.hits = 0
        self.misses = 0

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        missing: dict[str, list[int]] = {}  # a text twice in one call is embedded once
        for row, text in enumerate(texts):
            found = self.cache.get(self.name, self.dimensions, text)
            if found is None:
                missing.setdefault(text, []).append(row)
            else:
                out[row] = found
        self.hits += len(texts) - sum(len(rows) for rows in missing.values())
        self.misses += len(missing)
        if missing:
            fresh = self.inner.embed(list(missing))
            for (text, rows), vector in zip(missing.items(), fresh, strict=True):
                out[rows] = vector
                self.cache.put(self.name, self.dimensions, text, vector)
        return out

    def embed_query(self, text: str) -> np.ndarray:
        from concierge.knowledge.embeddings import query_vector

        return query_vector(self.inner, text)

    def embed_queries(self, texts: Sequence[str]) -> list[np.ndarray]:
        many = getattr(self.inner, "embed_queries", None)
        return list(many(texts)) if many is not None else [self.embed_query(text) for text in texts]


def cached(embedder: Embedder, directory: Path | None = None) -> Embedder:
    """The embedder behind the cache in `directory` (default: `cache_dir()`), or itself when there is none."""
    directory = directory if directory is not None else cache_dir()
    return embedder if directory is None else CachedEmbedder(embedder, VectorCache(directory))
