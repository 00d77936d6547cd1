"""The embedded knowledge index: the local default, and an option for small merchants (no OpenSearch to pay for).

Hybrid search in one process: BM25 over an inverted index (postings as numpy arrays) and exact cosine over the
passage vectors (one matrix product), candidates from both, ranked by `scoring.hybrid`. The retrieval function
loads it once per warm container and reloads only when the S3 object's ETag changes.

The index is held as flat arrays, the same in memory and on disk, so loading it decodes nothing: the vectors, the
postings (CSR: term offsets, document rows, term frequencies), the BM25 statistics, the filters' columns and the
passages (one JSON document each, decoded only for the passages a search returns or weighs). A file is
memory-mapped; bytes read from S3 are used in place. The format is described in docs/knowledge.md ("The embedded
index file"); an index of the previous format (an .npz with every passage in one JSON document) still loads, at the old
cost, and the next sync that changes it writes the new format.
"""

from __future__ import annotations

import difflib
import io
import json
import mmap
import os
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from itertools import pairwise
from pathlib import Path
from typing import IO, Any

import numpy as np

from concierge.knowledge import scoring
from concierge.knowledge.port import Hit, Passage, SearchFilters
from concierge.knowledge.text import query_terms as query_terms_of
from concierge.knowledge.text import terms, typo_candidates

K1, B = 1.2, 0.75
FORMAT_VERSION = 3
LEGACY_VERSION = 2  # the .npz format: still read, never written
MAGIC = b"CONCIERGE-INDEX\n"  # 16 bytes, then the header's length (8 bytes, little endian), the header, the arrays
ALIGN = 64  # every array starts at a multiple of 64 bytes: aligned for numpy and BLAS, in a file or in bytes
RESYNC = "re-run `concierge knowledge sync`"


def _indexed_terms(passage: Passage) -> Counter[str]:
    # The heading counts twice: a question usually names what the heading says ("returns window").
    return Counter(terms(f"{passage.title} {passage.section} {passage.section} {passage.text}"))


def _locale_code(locale: str) -> str:
    return locale.split("-")[0].lower()


class _Strings:
    """Strings kept as one UTF-8 blob and their offsets: none is decoded until it is asked for. Sorted tables
    (the vocabulary, the products) are searched by bisection on the encoded bytes (UTF-8 keeps code point order)."""

    def __init__(self, blob: np.ndarray, offsets: np.ndarray) -> None:
        self.blob, self.offsets = blob, offsets
        self.data = blob.data

    @classmethod
    def of(cls, strings: Sequence[str]) -> _Strings:
        encoded = [s.encode() for s in strings]
        offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum([len(e) for e in encoded], dtype=np.int64)
        return cls(np.frombuffer(b"".join(encoded), dtype=np.uint8), offsets)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def bytes_of(self, i: int) -> bytes:
        return self.data[int(self.offsets[i]) : int(self.offsets[i + 1])].tobytes()

    def _lower_bound(self, key: bytes) -> int:
        low, high = 0, len(self)
        while low < high:
            middle = (low + high) // 2
            if self.bytes_of(middle) < key:
                low = middle + 1
            else:
                high = middle
        return low

    def find(self, text: str) -> int | None:
        key = text.encode()
        at = self._lower_bound(key)
        return at if at < len(self) and self.bytes_of(at) == key else None

    def initial_range(self, letter: str) -> tuple[int, int]:
        """The positions of the strings that start with this ASCII letter (terms are [a-z0-9]+)."""
        first = letter.encode()
        return self._lower_bound(first), self._lower_bound(bytes([first[0] + 1]))

    def slice(self, start: int, end: int) -> list[str]:
        bounds = self.offsets[start : end + 1].tolist()
        data = self.data
        return [data[a:b].tobytes().decode() for a, b in pairwise(bounds)]

    def tolist(self) -> list[str]:
        return self.slice(0, len(self))


class _Tables:
    """Everything an index holds, as arrays (row = passage). Built in memory from passages, or viewed in place
    in a loaded file or bytes; never modified: a change makes new tables (`_merge`)."""

    def __init__(
        self,
        arrays: dict[str, np.ndarray],
        average: float,
        unknown: float,
        locales: list[str],
        keys: tuple[list[str], list[str], list[str]] | None = None,
        keys_json: np.ndarray | None = None,
    ) -> None:
        self.arrays = arrays
        self.n = int(arrays["passage_offsets"].size - 1)
        self.vectors = arrays["vectors"]
        self.vocabulary = _Strings(arrays["terms"], arrays["term_offsets"])
        self.indptr, self.docs, self.tf = arrays["postings_indptr"], arrays["postings_docs"], arrays["postings_tf"]
        self.rank, self.idf, self.lengths = arrays["postings_rank"], arrays["idf"], arrays["lengths"]
        self.locale, self.generic = arrays["locale"], arrays["generic"]
        self.products = _Strings(arrays["products"], arrays["product_offsets"])
        self.product_indptr, self.product_rows = arrays["product_indptr"], arrays["product_rows"]
        self.passages = _Strings(arrays["passages"], arrays["passage_offsets"])
        self.average, self.unknown, self.locales = average, unknown, locales
        self.locale_codes = {code: i for i, code in enumerate(locales)}
        self._keys, self._keys_json = keys, keys_json
        self._norm: np.ndarray | None = None
        self._initials: dict[str, list[str]] = {}
        self._tids: dict[str, int | None] = {}

    # BM25 and the vocabulary -------------------------------------------------------------------------------------
    @property
    def norm(self) -> np.ndarray:
        if self._norm is None:
            self._norm = K1 * (1 - B + B * self.lengths / (self.average or 1.0))
        return self._norm

    def tid(self, term: str) -> int | None:
        """The term's row in the vocabulary, or None (a bisection, remembered: questions repeat their words)."""
        if term in self._tids:
            return self._tids[term]
        if len(self._tids) >= 100_000:
            self._tids.clear()
        found = self._tids[term] = self.vocabulary.find(term)
        return found

    def by_initial(self, letter: str) -> list[str]:
        """Vocabulary words by first letter, in the order the passages first use them (spelling correction)."""
        found = self._initials.get(letter)
        if found is None:
            start, end = self.vocabulary.initial_range(letter)
            first = self.indptr[start:end]  # each term's first posting: its first passage, and its place in it
            order = np.lexsort((self.rank[first], self.docs[first]))
            words = self.vocabulary.slice(start, end)
            found = self._initials[letter] = [words[i] for i in order.tolist()]
        return found

    def contains(self, tid: int, rows: np.ndarray) -> np.ndarray:
        """Whether each of these passages uses the term (its postings are sorted by row)."""
        docs = self.docs[self.indptr[tid] : self.indptr[tid + 1]]
        at = np.searchsorted(docs, rows)
        return (at < docs.size) & (docs[np.minimum(at, docs.size - 1)] == rows) if docs.size else rows < 0

    def product_rows_of(self, product_id: str) -> np.ndarray:
        at = self.products.find(product_id)
        if at is None:
            return np.zeros(0, dtype=np.int64)
        return self.product_rows[self.product_indptr[at] : self.product_indptr[at + 1]]

    # what writers need ---------------------------------------------------------------------------------------------
    def keys_json(self) -> bytes:
        if self._keys_json is not None:
            return self._keys_json.tobytes()
        ids, document_ids, hashes = self.row_keys()
        return json.dumps({"ids": ids, "document_ids": document_ids, "document_hashes": hashes}).encode()

    def row_keys(self) -> tuple[list[str], list[str], list[str]]:
        """Every passage's id, document id and document hash (decoded on first use: writers only need them)."""
        if self._keys is None:
            assert self._keys_json is not None, "tables are built with their keys or read with them"
            loaded = json.loads(self._keys_json.tobytes())
            self._keys = (loaded["ids"], loaded["document_ids"], loaded["document_hashes"])
        return self._keys

    def passage(self, row: int) -> Passage:
        return Passage.model_validate_json(self.passages.bytes_of(row))


def _empty(dimensions: int) -> _Tables:
    start = np.zeros(1, dtype=np.int64)
    arrays: dict[str, np.ndarray] = {
        "vectors": np.zeros((0, dimensions), dtype=np.float32),
        "terms": np.zeros(0, dtype=np.uint8),
        "term_offsets": start,
        "postings_indptr": start,
        "postings_docs": np.zeros(0, dtype=np.int32),
        "postings_tf": np.zeros(0, dtype=np.uint8),
        "postings_rank": np.zeros(0, dtype=np.uint8),
        "idf": np.zeros(0, dtype=np.float32),
        "lengths": np.zeros(0, dtype=np.float32),
        "locale": np.zeros(0, dtype=np.int16),
        "generic": np.zeros(0, dtype=bool),
        "products": np.zeros(0, dtype=np.uint8),
        "product_offsets": start,
        "product_indptr": start,
        "product_rows": np.zeros(0, dtype=np.int32),
        "passages": np.zeros(0, dtype=np.uint8),
        "passage_offsets": start,
    }
    return _Tables(arrays, 1.0, 1.0, [], ([], [], []))


def _merge(old: _Tables, keep: np.ndarray | None, passages: Sequence[Passage], vectors: np.ndarray) -> _Tables:
    """New tables: the rows of `old` that `keep` keeps (all when None), then `passages`. Only the new passages are
    tokenized; the kept rows' postings, columns and JSON are carried over as arrays. The result is what a build from
    scratch of the same passages in the same order gives: same vocabulary, same statistics, same scores."""
    kept = np.arange(old.n) if keep is None else np.flatnonzero(keep)
    kept_mask = np.zeros(old.n, dtype=bool)
    kept_mask[kept] = True
    row_of = np.full(old.n, -1, dtype=np.int64)
    row_of[kept] = np.arange(kept.size)
    base, n = kept.size, kept.size + len(passages)
    new_rows = np.arange(base, n, dtype=np.int64)

    # postings, with each entry's term frequency and the term's place among the passage's distinct terms
    counts = [_indexed_terms(p) for p in passages]
    sizes = np.fromiter((len(c) for c in counts), dtype=np.int64, count=len(counts))
    new_terms = [term for c in counts for term in c]
    vocabulary, indptr, docs, chosen, order = _merge_lists(
        old.vocabulary, old.indptr, old.docs, kept_mask, row_of, new_terms, np.repeat(new_rows, sizes)
    )
    new_tf = np.fromiter((tf for c in counts for tf in c.values()), dtype=np.int64, count=len(new_terms))
    tf = np.concatenate([old.tf[chosen].astype(np.int64), new_tf])[order]
    new_rank = np.arange(len(new_terms), dtype=np.int64) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    rank = np.concatenate([old.rank[chosen].astype(np.int64), new_rank])[order]
    df = np.diff(indptr).astype(np.float64)
    idf = np.log(1 + (n - df + 0.5) / (df + 0.5)).astype(np.float32)
    # A word the documents never use counts like a typical word: it lowers confidence without vetoing an
    # otherwise well-covered question ("warranty on boots" when the article says "footwear").
    unknown = statistics.median(idf.tolist()) if vocabulary else 1.0
    new_lengths = np.fromiter((sum(c.values()) for c in counts), dtype=np.float32, count=len(counts))
    lengths = np.concatenate([old.lengths[kept], new_lengths])
    average = float(lengths.mean()) if n else 1.0

    # filters: language codes, passages about no product, and product -> passages
    new_codes = [_locale_code(p.locale) for p in passages]
    old_codes = old.locale[kept]
    locales = sorted({old.locales[c] for c in np.unique(old_codes).tolist()} | set(new_codes))
    code_of = {code: i for i, code in enumerate(locales)}
    remap = np.array([code_of.get(code, -1) for code in old.locales], dtype=np.int16)
    locale = np.concatenate([remap[old_codes], np.fromiter(map(code_of.get, new_codes), np.int16, len(new_codes))])
    new_generic = np.fromiter((not p.product_ids for p in passages), dtype=bool, count=len(passages))
    pairs = [(product, base + j) for j, p in enumerate(passages) for product in p.product_ids]
    products, product_indptr, product_rows, _, _ = _merge_lists(
        old.products,
        old.product_indptr,
        old.product_rows,
        kept_mask,
        row_of,
        [product for product, _ in pairs],
        np.fromiter((row for _, row in pairs), dtype=np.int64, count=len(pairs)),
    )

    # the passages: the kept rows' JSON as it is, the new ones serialised; and the keys writers compare
    new_json = [p.model_dump_json().encode() for p in passages]
    kept_json, kept_sizes = _gather(old.passages, kept)
    passage_offsets = np.zeros(n + 1, dtype=np.int64)
    passage_offsets[1:] = np.cumsum(np.concatenate([kept_sizes, np.fromiter(map(len, new_json), np.int64)]))
    picked = kept.tolist()
    ids, document_ids, hashes = ([column[i] for i in picked] for column in old.row_keys())
    keys = (
        ids + [p.id for p in passages],
        document_ids + [p.document_id for p in passages],
        hashes + [p.document_hash for p in passages],
    )
    vocabulary_table, product_table = _Strings.of(vocabulary), _Strings.of(products)
    arrays = {
        "vectors": np.ascontiguousarray(np.concatenate([old.vectors[kept], vectors]), dtype=np.float32),
        "terms": vocabulary_table.blob,
        "term_offsets": vocabulary_table.offsets,
        "postings_indptr": indptr,
        "postings_docs": docs,
        "postings_tf": _smallest(tf.astype(np.int64)),  # counts: a float32 again when a search reads them
        "postings_rank": _smallest(rank),
        "idf": idf,
        "lengths": lengths,
        "locale": locale.astype(np.int16),
        "generic": np.concatenate([old.generic[kept], new_generic]),
        "products": product_table.blob,
        "product_offsets": product_table.offsets,
        "product_indptr": product_indptr,
        "product_rows": product_rows,
        "passages": np.frombuffer(kept_json + b"".join(new_json), dtype=np.uint8),
        "passage_offsets": passage_offsets,
    }
    return _Tables(arrays, average, unknown, locales, keys)


def _smallest(counts: np.ndarray) -> np.ndarray:
    """Non-negative integers in the smallest unsigned type that holds them (the file is downloaded at every cold
    start: term frequencies and places fit a byte almost always)."""
    top = int(counts.max()) if counts.size else 0
    return counts.astype(np.uint8 if top < 2**8 else np.uint16 if top < 2**16 else np.uint32)


def _merge_lists(
    names: _Strings,
    indptr: np.ndarray,
    rows: np.ndarray,
    kept: np.ndarray,
    row_of: np.ndarray,
    new_names: list[str],
    new_rows: np.ndarray,
) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """An inverted list (sorted names, each with its ascending rows) without the rows not kept and with new
    (name, row) entries, whose rows come after every kept one. Returns the names still used (sorted), their offsets,
    their rows, and how to carry an entry payload over: `concatenate([old[chosen], new])[order]`."""
    old_names = names.tolist()
    old_ids = np.repeat(np.arange(len(old_names), dtype=np.int64), np.diff(indptr))
    chosen = kept[rows]
    old_ids, old_rows = old_ids[chosen], row_of[rows[chosen]]
    used = np.flatnonzero(np.bincount(old_ids, minlength=len(old_names))).tolist()
    merged = sorted({old_names[i] for i in used} | set(new_names))
    at = {name: i for i, name in enumerate(merged)}
    remap = np.fromiter((at.get(name, -1) for name in old_names), dtype=np.int64, count=len(old_names))
    ids = np.concatenate([remap[old_ids], np.fromiter(map(at.__getitem__, new_names), np.int64, len(new_names))])
    # Stable by name: the kept entries keep their (ascending) rows and come before the new rows, which follow them.
    order = np.argsort(ids, kind="stable")
    offsets = np.zeros(len(merged) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum(np.bincount(ids, minlength=len(merged)))
    return merged, offsets, np.concatenate([old_rows, new_rows])[order].astype(np.int32), chosen, order


def _gather(strings: _Strings, rows: np.ndarray) -> tuple[bytes, np.ndarray]:
    """The bytes of these rows of a string table, joined, and each row's size: one slice per run of rows."""
    if rows.size == 0:
        return b"", np.zeros(0, dtype=np.int64)
    offsets = strings.offsets
    breaks = np.flatnonzero(np.diff(rows) != 1) + 1
    firsts = rows[np.concatenate([[0], breaks])]
    lasts = rows[np.concatenate([breaks, [rows.size]]) - 1]
    runs = zip(offsets[firsts].tolist(), offsets[lasts + 1].tolist(), strict=True)
    return b"".join(strings.data[a:b] for a, b in runs), np.diff(offsets)[rows]


class EmbeddedIndex:
    def __init__(self, dimensions: int, embedder: str = "hashing-v1") -> None:
        self.dimensions = dimensions
        self.embedder = embedder
        # The format the index was read in (None: built here). An index read in an older format is written in the
        # current one by the next save.
        self.loaded_format: int | None = None
        self._tables = _empty(dimensions)
        self._decoded: dict[int, Passage] = {}

    @property
    def legacy_format(self) -> bool:
        """True when the index was read from an older format: save it to make later loads fast."""
        return self.loaded_format is not None and self.loaded_format != FORMAT_VERSION

    @property
    def passages(self) -> list[Passage]:
        """Every passage, in row order (decodes them all: searches decode only the passages they weigh)."""
        return [self._passage(row) for row in range(self.count())]

    def _passage(self, row: int) -> Passage:
        found = self._decoded.get(row)
        if found is None:
            found = self._decoded[row] = self._tables.passage(row)
        return found

    def _change(self, keep: np.ndarray | None, passages: Sequence[Passage], vectors: np.ndarray) -> None:
        kept = np.arange(self.count()) if keep is None else np.flatnonzero(keep)
        row_of = np.full(self.count(), -1, dtype=np.int64)
        row_of[kept] = np.arange(kept.size)
        moved = {row: int(row_of[row]) for row in self._decoded}
        decoded = {moved[row]: p for row, p in self._decoded.items() if moved[row] >= 0}
        decoded.update({kept.size + j: p for j, p in enumerate(passages)})
        self._tables = _merge(self._tables, keep, passages, vectors)
        self._decoded = decoded

    # KnowledgeIndex ------------------------------------------------------------------------
    def upsert(self, passages: Sequence[Passage], vectors: np.ndarray) -> None:
        vectors = np.asarray(vectors, dtype=np.float32).reshape(len(passages), self.dimensions)
        if not passages:
            return
        replaced = {p.id for p in passages}
        ids = self._tables.row_keys()[0]
        keep = np.fromiter((i not in replaced for i in ids), dtype=bool, count=len(ids))
        self._change(keep, passages, vectors)

    def delete_documents(self, document_ids: Iterable[str]) -> int:
        gone = set(document_ids)
        documents = self._tables.row_keys()[1]
        keep = np.fromiter((d not in gone for d in documents), dtype=bool, count=len(documents))
        removed = int(keep.size - keep.sum())
        if removed:
            self._change(keep, [], np.zeros((0, self.dimensions), dtype=np.float32))
        return removed

    def document_hashes(self) -> dict[str, str]:
        _, documents, hashes = self._tables.row_keys()
        return dict(zip(documents, hashes, strict=True))

    def count(self) -> int:
        return self._tables.n

    # search ------------------------------------------------------------------------------
    def _mask(self, filters: SearchFilters | None) -> np.ndarray | None:
        if filters is None or (filters.locale is None and filters.product_id is None):
            return None
        tables = self._tables
        mask = np.ones(tables.n, dtype=bool)
        if filters.locale:
            code = tables.locale_codes.get(_locale_code(filters.locale))
            mask &= (tables.locale == code) if code is not None else False
        if filters.product_id:
            about = tables.generic.copy()
            about[tables.product_rows_of(filters.product_id)] = True
            mask &= about
        return mask

    def keyword_scores(self, query_terms: Sequence[str]) -> np.ndarray:
        tables = self._tables
        scores = np.zeros(tables.n, dtype=np.float32)
        for term in dict.fromkeys(query_terms):
            tid = tables.tid(term)
            if tid is None:
                continue
            start, end = tables.indptr[tid], tables.indptr[tid + 1]
            docs, tf = tables.docs[start:end], tables.tf[start:end].astype(np.float32)
            scores[docs] += tables.idf[tid] * tf * (K1 + 1) / (tf + tables.norm[docs])
        return scores

    def corrected(self, query_terms: Sequence[str]) -> list[str]:
        """Words the documents never use, replaced by the closest word they do use (typos), when one is close."""
        tables = self._tables
        fixed = []
        for term in query_terms:
            if len(term) >= 4 and not term.isdigit() and tables.tid(term) is None:
                pool = typo_candidates(term, tables.by_initial(term[0]))
                swapped = [w for w in pool if len(w) == len(term) and sorted(w) == sorted(term)]  # "retrun"
                close = swapped or difflib.get_close_matches(term, pool, n=1, cutoff=0.8)
                term = close[0] if close else term
            fixed.append(term)
        return fixed

    def search(self, query: str, vector: np.ndarray, k: int = 5, filters: SearchFilters | None = None) -> list[Hit]:
        tables = self._tables
        if not tables.n:
            return []
        query_terms = self.corrected(query_terms_of(query))
        if not query_terms:
            return []
        keyword = self.keyword_scores(query_terms)
        cosine = tables.vectors @ np.asarray(vector, dtype=np.float32)
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
        unknown = scoring.unknown_word_weight(tables.unknown, len(set(query_terms)))
        # The question's words the index knows, their weights, and which shortlisted passages use each.
        known = {t: tid for t in dict.fromkeys(query_terms) if (tid := tables.tid(t)) is not None}
        idf = {t: float(tables.idf[tid]) for t, tid in known.items()}
        short_rows = rows[shortlist]
        uses = {t: tables.contains(tid, short_rows) for t, tid in known.items()}
        scored = []
        for place, position in enumerate(shortlist.tolist()):
            row = int(rows[position])
            passage_terms = {t for t, used in uses.items() if used[place]}
            lexical = scoring.coverage(query_terms, passage_terms, idf, unknown)
            heading = scoring.heading_match(query_terms, self._passage(row).section)
            confidence = scoring.blend(lexical, float(cosine[row]), heading, self.embedder)
            # The final order also weighs how much of the question each passage answers, so a product page that
            # repeats "gift card" does not outrank the policy that says gift cards cannot be returned.
            scored.append((scoring.final_rank(float(ranked[position]), confidence), row, confidence))
        scored.sort(key=lambda entry: -entry[0])
        return [
            Hit(
                passage=self._passage(row),
                score=rank,
                confidence=confidence,
                keyword_score=float(keyword[row]),
                vector_score=float(cosine[row]),
            )
            for rank, row, confidence in scored[:k]
        ]

    # persistence -------------------------------------------------------------------------
    def write(self, stream: IO[bytes]) -> None:
        """Write the index in the current format (docs/knowledge.md, "The embedded index file")."""
        tables = self._tables
        arrays = {**tables.arrays, "keys": np.frombuffer(tables.keys_json(), dtype=np.uint8)}
        layout: dict[str, list[Any]] = {}
        offset = 0
        for name, array in arrays.items():
            layout[name] = [array.dtype.newbyteorder("<").str, list(array.shape), offset]
            offset = _aligned(offset + array.nbytes)
        header = {
            "version": FORMAT_VERSION,
            "dimensions": self.dimensions,
            "embedder": self.embedder,
            "count": tables.n,
            "average_length": tables.average,
            "unknown_idf": tables.unknown,
            "locales": tables.locales,
            "arrays": layout,
        }
        encoded = json.dumps(header).encode()
        start = _aligned(len(MAGIC) + 8 + len(encoded))
        stream.write(MAGIC + len(encoded).to_bytes(8, "little") + encoded)
        written = len(MAGIC) + 8 + len(encoded)
        for name, array in arrays.items():
            at = start + layout[name][2]
            stream.write(b"\0" * (at - written))
            data = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<"))
            stream.write(data.data.cast("B") if data.size else b"")
            written = at + array.nbytes

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        self.write(buffer)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview | mmap.mmap) -> EmbeddedIndex:
        """The index these bytes hold; its arrays are views of the bytes (nothing is copied or decoded)."""
        view = memoryview(data).toreadonly()
        if view[: len(MAGIC)].tobytes() == MAGIC:
            return cls._from_buffer(view)
        if view[:4].tobytes() == b"PK\x03\x04":  # a zip: the .npz of the format before
            return cls._from_npz(view.tobytes())
        raise ValueError(f"not a Concierge knowledge index: {RESYNC}")

    @classmethod
    def _from_buffer(cls, data: memoryview) -> EmbeddedIndex:
        try:
            size = int.from_bytes(data[len(MAGIC) : len(MAGIC) + 8], "little")
            header = json.loads(data[len(MAGIC) + 8 : len(MAGIC) + 8 + size].tobytes())
            version = header["version"]
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"the knowledge index is damaged (its header does not read): {RESYNC}") from exc
        if version != FORMAT_VERSION:
            raise ValueError(
                f"unsupported index version {version!r} (this Concierge reads {FORMAT_VERSION}): upgrade Concierge "
                f"or {RESYNC}"
            )
        start = _aligned(len(MAGIC) + 8 + size)
        try:
            arrays = {
                name: _view(data, start + offset, np.dtype(dtype), tuple(shape))
                for name, (dtype, shape, offset) in header["arrays"].items()
            }
            keys_json = arrays.pop("keys")
            average, unknown = float(header["average_length"]), float(header["unknown_idf"])
            tables = _Tables(arrays, average, unknown, list(header["locales"]), None, keys_json)
            index = cls(int(header["dimensions"]), str(header["embedder"]))
            count = header["count"]
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"the knowledge index is damaged ({exc}): {RESYNC}") from exc
        if tables.n != count or tables.vectors.shape != (tables.n, index.dimensions):
            raise ValueError(f"the knowledge index is damaged (its arrays do not match its header): {RESYNC}")
        index._tables, index.loaded_format = tables, FORMAT_VERSION
        return index

    @classmethod
    def _from_npz(cls, data: bytes) -> EmbeddedIndex:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            meta = json.loads(archive["meta"].tobytes().decode())
            vectors = archive["vectors"]
        if meta.get("version") != LEGACY_VERSION:
            raise ValueError(f"unsupported index version {meta.get('version')!r}: {RESYNC}")
        index = cls(meta["dimensions"], meta["embedder"])
        index.upsert([Passage.model_validate(p) for p in meta["passages"]], vectors)
        index.loaded_format = LEGACY_VERSION
        return index

    def save(self, path: Path) -> None:
        """Write to a new file and rename it over `path`: a process that has the old file mapped keeps reading it."""
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
        try:
            with partial.open("wb") as stream:
                self.write(stream)
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)

    @classmethod
    def load(cls, path: Path) -> EmbeddedIndex:
        """The index in this file, memory-mapped: pages are read when a search touches them."""
        with path.open("rb") as stream:
            if stream.read(len(MAGIC)) != MAGIC:
                stream.seek(0)
                return cls.from_bytes(stream.read())
            mapped = mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ)
        return cls.from_bytes(mapped)


def _view(data: memoryview, offset: int, dtype: np.dtype, shape: tuple[int, ...]) -> np.ndarray:
    """An array of the index's bytes, in place (a read-only view: nothing is copied)."""
    count = int(np.prod(shape))
    if not count:
        return np.zeros(shape, dtype=dtype)
    return np.frombuffer(data, dtype=dtype, count=count, offset=offset).reshape(shape)


def _aligned(offset: int) -> int:
    return -(-offset // ALIGN) * ALIGN


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
    return EmbeddedIndex.from_bytes(_read_body(response)), response["ETag"]


def _read_body(response: dict[str, Any]) -> bytes | bytearray:
    """The object's bytes, read into one buffer of its size: `read()` would hold the chunks and their join at once,
    twice the index in memory for a moment."""
    body, size = response["Body"], response.get("ContentLength")
    if not isinstance(size, int) or not hasattr(body, "iter_chunks"):
        return bytes(body.read())
    data = bytearray(size)
    at = 0
    for chunk in body.iter_chunks(chunk_size=1 << 20):
        data[at : at + len(chunk)] = chunk
        at += len(chunk)
    if at != size:
        raise OSError(f"the knowledge index was read short ({at} of {size} bytes)")
    return data


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
