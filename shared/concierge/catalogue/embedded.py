"""The embedded catalogue index: the local default, and the choice for a merchant without OpenSearch.

Listings and their vectors in one process: BM25 over the listings' fields (title three times, category and tags
twice: a shopper names what a product is called) and exact cosine over the vectors (one matrix product), the filters
applied to every listing before either, and the candidates ranked by `search.relevance`. A catalogue is small beside a
help center (thousands of products, not millions of passages), so the filters run over the listings themselves.

Stored as one .npz (`to_bytes`, `from_bytes`): the vectors, and the listings as one JSON document.
"""

from __future__ import annotations

import io
import json
import math
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

from concierge.catalogue.search import CatalogueFilters, CatalogueHit, Listing, ranked, relevance, terms

K1, B = 1.2, 0.75
FORMAT_VERSION = 1


def _weighted_terms(listing: Listing) -> Counter[str]:
    return Counter(terms(" ".join([listing.title] * 3 + [listing.category, *listing.tags] * 2 + [listing.text])))


class CatalogueIndexError(RuntimeError):
    """An index file this code cannot read, or vectors of another size than the embedder's."""


class EmbeddedCatalogue:
    def __init__(self, dimensions: int, embedder_name: str = "") -> None:
        self.dimensions = dimensions
        self.embedder_name = embedder_name
        self._listings: dict[str, Listing] = {}
        self._vectors: dict[str, np.ndarray] = {}
        self._stale = True
        self._order: list[str] = []
        self._matrix = np.zeros((0, dimensions), dtype=np.float32)
        self._terms: list[Counter[str]] = []
        self._df: Counter[str] = Counter()
        self._average = 0.0

    # writes ------------------------------------------------------------------------------------------------------
    def upsert(self, listings: Sequence[Listing], vectors: np.ndarray) -> None:
        vectors = np.asarray(vectors, dtype=np.float32).reshape(len(listings), -1) if listings else vectors
        if listings and vectors.shape[1] != self.dimensions:
            raise CatalogueIndexError(f"vectors have {vectors.shape[1]} dimensions, the index {self.dimensions}")
        for listing, vector in zip(listings, vectors, strict=True):
            self._listings[listing.product_id] = listing
            self._vectors[listing.product_id] = vector
        self._stale = True

    def delete(self, product_ids: Iterable[str]) -> int:
        removed = 0
        for product_id in set(product_ids):
            if self._listings.pop(product_id, None) is not None:
                self._vectors.pop(product_id)
                removed += 1
        self._stale |= bool(removed)
        return removed

    def product_ids(self) -> set[str]:
        return set(self._listings)

    def count(self) -> int:
        return len(self._listings)

    def _refresh(self) -> None:
        if not self._stale:
            return
        self._order = sorted(self._listings)
        self._matrix = (
            np.vstack([self._vectors[p] for p in self._order]).astype(np.float32)
            if self._order
            else np.zeros((0, self.dimensions), dtype=np.float32)
        )
        self._terms = [_weighted_terms(self._listings[p]) for p in self._order]
        self._df = Counter(term for counts in self._terms for term in counts)
        self._average = sum(sum(c.values()) for c in self._terms) / len(self._terms) if self._terms else 0.0
        self._stale = False

    # reads -------------------------------------------------------------------------------------------------------
    def search(
        self, query: str, vector: np.ndarray, k: int = 10, filters: CatalogueFilters | None = None
    ) -> list[CatalogueHit]:
        self._refresh()
        rows = [
            row
            for row, product_id in enumerate(self._order)
            if filters is None or filters.admits(self._listings[product_id])
        ]
        if not rows:
            return []
        wanted = list(dict.fromkeys(terms(query)))
        if not wanted:  # nothing to rank by: the products that pass, in a stable order (as OpenSearch gives them)
            return [CatalogueHit(listing=self._listings[self._order[row]], relevance=0.0) for row in rows[:k]]
        vector = np.asarray(vector, dtype=np.float32).reshape(-1)
        norm = float(np.linalg.norm(vector)) or 1.0
        cosines = (self._matrix[rows] @ vector) / (np.linalg.norm(self._matrix[rows], axis=1) * norm + 1e-12)
        n = len(self._order)
        hits = []
        for position, row in enumerate(rows):
            counts = self._terms[row]
            length = sum(counts.values())
            keyword = 0.0
            for term in wanted:
                tf = counts.get(term, 0)
                if tf:
                    idf = math.log(1 + (n - self._df[term] + 0.5) / (self._df[term] + 0.5))
                    keyword += idf * tf * (K1 + 1) / (tf + K1 * (1 - B + B * length / (self._average or 1.0)))
            listing = self._listings[self._order[row]]
            cosine = float(cosines[position])
            hits.append(
                CatalogueHit(
                    listing=listing,
                    relevance=relevance(query, listing, cosine),
                    keyword_score=round(keyword, 6),
                    vector_score=round(cosine, 6),
                )
            )
        return ranked(hits, k)

    # storage -----------------------------------------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        self._refresh()
        header = {
            "version": FORMAT_VERSION,
            "dimensions": self.dimensions,
            "embedder": self.embedder_name,
            "listings": [self._listings[p].model_dump(mode="json") for p in self._order],
        }
        buffer = io.BytesIO()
        np.savez(
            buffer,
            vectors=self._matrix,
            header=np.frombuffer(json.dumps(header).encode(), dtype=np.uint8),
        )
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> EmbeddedCatalogue:
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
                header = json.loads(arrays["header"].tobytes())
                vectors = np.array(arrays["vectors"], dtype=np.float32)
        except (OSError, ValueError, KeyError) as exc:
            raise CatalogueIndexError(f"not a catalogue index file ({exc})") from exc
        if header.get("version") != FORMAT_VERSION:
            raise CatalogueIndexError(
                f"catalogue index format {header.get('version')} (this code reads {FORMAT_VERSION}): import the store "
                "again"
            )
        index = cls(int(header["dimensions"]), header.get("embedder", ""))
        listings = [Listing.model_validate(item) for item in header["listings"]]
        if listings:
            index.upsert(listings, vectors)
        return index
