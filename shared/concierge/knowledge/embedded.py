"""The embedded knowledge index: the local default, and an option for small merchants (no OpenSearch to pay for).

Hybrid search in one process: BM25 over an inverted index (postings as numpy arrays) and exact cosine over the
passage vectors (one matrix product), candidates from both, ranked by `scoring.hybrid`. Persisted as a single
.npz (passages, vectors, embedder) in S3 or a file; the retrieval function loads it once per warm container and
reloads only when the object's ETag changes.
"""

from __future__ import annotations

import difflib
import io
import json
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from concierge.knowledge import scoring
from concierge.knowledge.port import Hit, Passage, SearchFilters
from concierge.knowledge.text import query_terms as query_terms_of
from concierge.knowledge.text import terms, typo_candidates

K1, B = 1.2, 0.75
FORMAT_VERSION = 2


def _indexed_terms(passage: Passage) -> Counter[str]:
    # The heading counts twice: a question usually names what the heading says ("returns window").
    return Counter(terms(f"{passage.title} {passage.section} {passage.section} {passage.text}"))


class EmbeddedIndex:
    def __init__(self, dimensions: int, embedder: str = "hashing-v1") -> None:
        self.dimensions = dimensions
        self.embedder = embedder
        self.passages: list[Passage] = []
        self._vectors = np.zeros((0, dimensions), dtype=np.float32)
        self._terms: list[Counter[str]] = []
        self._dirty = True

    # KnowledgeIndex ------------------------------------------------------------------------
    def upsert(self, passages: Sequence[Passage], vectors: np.ndarray) -> None:
        vectors = np.asarray(vectors, dtype=np.float32).reshape(len(passages), self.dimensions)
        replaced = {p.id for p in passages}
        keep = [i for i, p in enumerate(self.passages) if p.id not in replaced]
        self.passages = [self.passages[i] for i in keep] + list(passages)
        self._vectors = np.vstack([self._vectors[keep], vectors]) if len(self.passages) else vectors
        self._terms = [self._terms[i] for i in keep] + [_indexed_terms(p) for p in passages]
        self._dirty = True

    def delete_documents(self, document_ids: Iterable[str]) -> int:
        gone = set(document_ids)
        keep = [i for i, p in enumerate(self.passages) if p.document_id not in gone]
        removed = len(self.passages) - len(keep)
        if removed:
            self.passages = [self.passages[i] for i in keep]
            self._vectors = self._vectors[keep]
            self._terms = [self._terms[i] for i in keep]
            self._dirty = True
        return removed

    def document_hashes(self) -> dict[str, str]:
        return {p.document_id: p.document_hash for p in self.passages}

    def count(self) -> int:
        return len(self.passages)

    # derived structures ------------------------------------------------------------------
    def _build(self) -> None:
        n = len(self.passages)
        vocabulary: dict[str, int] = {}
        postings: list[list[tuple[int, int]]] = []
        for row, counts in enumerate(self._terms):
            for term, tf in counts.items():
                tid = vocabulary.setdefault(term, len(postings))
                if tid == len(postings):
                    postings.append([])
                postings[tid].append((row, tf))
        self._vocabulary = vocabulary
        self._indptr = np.zeros(len(postings) + 1, dtype=np.int64)
        self._indptr[1:] = np.cumsum([len(p) for p in postings])
        flat = [entry for plist in postings for entry in plist]
        self._docs = np.fromiter((d for d, _ in flat), dtype=np.int32, count=len(flat))
        self._tf = np.fromiter((t for _, t in flat), dtype=np.float32, count=len(flat))
        lengths = np.fromiter((sum(c.values()) for c in self._terms), dtype=np.float32, count=n)
        average = float(lengths.mean()) if n else 1.0
        self._norm = K1 * (1 - B + B * lengths / (average or 1.0))
        df = np.diff(self._indptr).astype(np.float64)
        self._idf = np.log(1 + (n - df + 0.5) / (df + 0.5)).astype(np.float32)
        self._idf_by_term = {term: float(self._idf[tid]) for term, tid in vocabulary.items()}
        # A word the documents never use counts like a typical word: it lowers confidence without vetoing an
        # otherwise well-covered question ("warranty on boots" when the article says "footwear").
        self._unknown = statistics.median(self._idf_by_term.values()) if self._idf_by_term else 1.0
        locales = sorted({p.locale.split("-")[0].lower() for p in self.passages})
        self._locale_codes = {code: i for i, code in enumerate(locales)}
        self._locale = np.fromiter(
            (self._locale_codes[p.locale.split("-")[0].lower()] for p in self.passages), dtype=np.int16, count=n
        )
        self._generic = np.fromiter((not p.product_ids for p in self.passages), dtype=bool, count=n)
        # Spelling correction candidates: vocabulary words by first letter ("jaket" finds "jacket").
        self._by_initial: dict[str, list[str]] = {}
        for term in vocabulary:
            self._by_initial.setdefault(term[0], []).append(term)
        self._by_product: dict[str, list[int]] = {}
        for row, passage in enumerate(self.passages):
            for product in passage.product_ids:
                self._by_product.setdefault(product, []).append(row)
        self._dirty = False

    def _mask(self, filters: SearchFilters | None) -> np.ndarray | None:
        if filters is None or (filters.locale is None and filters.product_id is None):
            return None
        mask = np.ones(len(self.passages), dtype=bool)
        if filters.locale:
            code = self._locale_codes.get(filters.locale.split("-")[0].lower())
            mask &= (self._locale == code) if code is not None else False
        if filters.product_id:
            about = self._generic.copy()
            about[self._by_product.get(filters.product_id, [])] = True
            mask &= about
        return mask

    # search ------------------------------------------------------------------------------
    def keyword_scores(self, query_terms: Sequence[str]) -> np.ndarray:
        scores = np.zeros(len(self.passages), dtype=np.float32)
        for term in dict.fromkeys(query_terms):
            tid = self._vocabulary.get(term)
            if tid is None:
                continue
            start, end = self._indptr[tid], self._indptr[tid + 1]
            docs, tf = self._docs[start:end], self._tf[start:end]
            scores[docs] += self._idf[tid] * tf * (K1 + 1) / (tf + self._norm[docs])
        return scores

    def corrected(self, query_terms: Sequence[str]) -> list[str]:
        """Words the documents never use, replaced by the closest word they do use (typos), when one is close."""
        fixed = []
        for term in query_terms:
            if term not in self._vocabulary and len(term) >= 4 and not term.isdigit():
                pool = typo_candidates(term, self._by_initial.get(term[0], ()))
                swapped = [w for w in pool if len(w) == len(term) and sorted(w) == sorted(term)]  # "retrun"
                close = swapped or difflib.get_close_matches(term, pool, n=1, cutoff=0.8)
                term = close[0] if close else term
            fixed.append(term)
        return fixed

    def search(self, query: str, vector: np.ndarray, k: int = 5, filters: SearchFilters | None = None) -> list[Hit]:
        if not self.passages:
            return []
        if self._dirty:
            self._build()
        query_terms = self.corrected(query_terms_of(query))
        if not query_terms:
            return []
        keyword = self.keyword_scores(query_terms)
        cosine = self._vectors @ np.asarray(vector, dtype=np.float32)
        mask = self._mask(filters)
        if mask is not None:
            keyword = np.where(mask, keyword, 0.0)
            cosine = np.where(mask, cosine, -1.0)
        pool = max(4 * k, 40)
        candidates = set(_top(keyword, pool, positive=True)) | set(_top(cosine, pool, positive=False))
        if mask is not None:
            candidates = {c for c in candidates if mask[c]}
        if not candidates:
            return []
        rows = np.fromiter(candidates, dtype=np.int64)
        ranked = scoring.hybrid(keyword[rows], np.maximum(cosine[rows], 0.0))
        shortlist = np.argsort(-ranked, kind="stable")[: max(2 * k, 10)]
        unknown = scoring.unknown_word_weight(self._unknown, len(set(query_terms)))
        scored = []
        for position in shortlist:
            row = int(rows[position])
            lexical = scoring.coverage(query_terms, self._terms[row].keys(), self._idf_by_term, unknown)
            heading = scoring.heading_match(query_terms, self.passages[row].section)
            confidence = scoring.blend(lexical, float(cosine[row]), heading)
            # The final order also weighs how much of the question each passage answers, so a product page that
            # repeats "gift card" does not outrank the policy that says gift cards cannot be returned.
            scored.append((scoring.final_rank(float(ranked[position]), confidence), row, confidence))
        scored.sort(key=lambda entry: -entry[0])
        hits = [
            Hit(
                passage=self.passages[row],
                score=rank,
                confidence=confidence,
                keyword_score=float(keyword[row]),
                vector_score=float(cosine[row]),
            )
            for rank, row, confidence in scored[:k]
        ]
        return hits

    # persistence -------------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        meta = {
            "version": FORMAT_VERSION,
            "dimensions": self.dimensions,
            "embedder": self.embedder,
            "passages": [p.model_dump(mode="json") for p in self.passages],
        }
        buffer = io.BytesIO()
        np.savez_compressed(
            buffer, vectors=self._vectors, meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
        )
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> EmbeddedIndex:
        with np.load(io.BytesIO(data)) as archive:
            meta = json.loads(archive["meta"].tobytes().decode())
            vectors = archive["vectors"]
        if meta.get("version") != FORMAT_VERSION:
            raise ValueError(f"unsupported index version {meta.get('version')!r}: re-run `concierge knowledge sync`")
        index = cls(meta["dimensions"], meta["embedder"])
        passages = [Passage.model_validate(p) for p in meta["passages"]]
        index.upsert(passages, vectors)
        return index

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self.to_bytes())

    @classmethod
    def load(cls, path: Path) -> EmbeddedIndex:
        return cls.from_bytes(path.read_bytes())


def _top(values: np.ndarray, n: int, positive: bool) -> np.ndarray:
    if values.size == 0:
        return np.zeros(0, dtype=np.int64)
    n = min(n, values.size)
    top = np.argpartition(-values, n - 1)[:n]
    return top[values[top] > 0] if positive else top


def save_to_s3(index: EmbeddedIndex, s3_client: Any, bucket: str, key: str) -> None:  # s3_client: a boto3 S3 client
    s3_client.put_object(Bucket=bucket, Key=key, Body=index.to_bytes(), ContentType="application/octet-stream")


def load_from_s3(s3_client: Any, bucket: str, key: str) -> EmbeddedIndex | None:
    return load_versioned(s3_client, bucket, key)[0]


def load_versioned(s3_client: Any, bucket: str, key: str) -> tuple[EmbeddedIndex | None, str | None]:
    """The index and the ETag it was read at (for a conditional write back)."""
    try:
        response = s3_client.get_object(Bucket=bucket, Key=key)
    except s3_client.exceptions.NoSuchKey:
        return None, None
    return EmbeddedIndex.from_bytes(response["Body"].read()), response["ETag"]


def save_if_unchanged(index: EmbeddedIndex, s3_client: Any, bucket: str, key: str, etag: str | None) -> bool:
    """Write only if nobody wrote since `etag` was read (None: only if it does not exist yet). False on a race."""
    condition = {"IfMatch": etag} if etag else {"IfNoneMatch": "*"}
    try:
        s3_client.put_object(
            Bucket=bucket, Key=key, Body=index.to_bytes(), ContentType="application/octet-stream", **condition
        )
    except s3_client.exceptions.ClientError as exc:
        if exc.response["Error"]["Code"] in ("PreconditionFailed", "ConditionalRequestConflict", "412", "409"):
            return False
        raise
    return True


class IndexCache:
    """Loads the index once per process; re-reads it only when the S3 object's ETag changes."""

    def __init__(self) -> None:
        self._etag: str | None = None
        self._index: EmbeddedIndex | None = None

    def get(self, s3_client: Any, bucket: str, key: str) -> EmbeddedIndex | None:
        try:
            etag = s3_client.head_object(Bucket=bucket, Key=key)["ETag"]
        except s3_client.exceptions.ClientError as exc:
            if exc.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                return None  # nothing imported yet: answer without passages
            raise
        if etag != self._etag:
            self._index, self._etag = load_from_s3(s3_client, bucket, key), etag
        return self._index
