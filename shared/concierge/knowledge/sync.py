"""Incremental, idempotent sync of a document set into a knowledge index (embedded or OpenSearch).

Unchanged documents (same content hash) are skipped; changed ones are re-split, re-embedded and replace their
old passages; documents no longer in the set are removed. Running it twice in a row changes nothing.

With a `source` (what every sync into a deployed index names: see documents.py), the set is that source's
documents only: documents of other sources are neither compared nor removed, and a document outside the
source is refused. Such a sync also replaces the document's copy from an index built before sources (the same
id without the `<source>/` prefix, when it has no '/').
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from concierge.knowledge.documents import Document, check_source, is_legacy_id, split
from concierge.knowledge.embeddings import Embedder, batched
from concierge.knowledge.port import KnowledgeIndex, Passage


@dataclass(frozen=True)
class SyncReport:
    added: int
    updated: int
    unchanged: int
    removed: int
    passages_indexed: int
    passages_removed: int
    legacy_removed: int = 0  # documents indexed before sources, replaced by this sync's copies
    legacy_remaining: int = 0  # documents indexed before sources still in the index (docs/knowledge.md)


def embedding_text(passage: Passage) -> str:
    return (
        f"{passage.title}. {passage.section}. {passage.text}" if passage.section else f"{passage.title}. {passage.text}"
    )


def source_prefix(source: str) -> str:
    return f"{check_source(source)}/"


def check_in_source(documents: Sequence[Document], source: str) -> None:
    prefix = source_prefix(source)
    outside = [d.id for d in documents if not d.id.startswith(prefix)]
    if outside:
        raise ValueError(
            f"{len(outside)} documents are not in the source {source!r} (their ids must start with {prefix!r}): "
            f"{', '.join(outside[:5])}"
        )


def sync(
    documents: Sequence[Document],
    index: KnowledgeIndex,
    embedder: Embedder,
    progress: Callable[[int], None] | None = None,
    remove_missing: bool = True,
    batch_size: int = 64,
    *,
    source: str | None = None,
) -> SyncReport:
    """`progress(n)` is called as passages are embedded (n at a time), e.g. a progress bar's update.

    Without a `source` the documents are the whole index (a standalone index: tests, benchmarks); with one,
    they are that source's documents and nothing outside it is touched."""
    ids = [d.id for d in documents]
    duplicates = sorted({i for i in ids if ids.count(i) > 1}) if len(set(ids)) != len(ids) else []
    if duplicates:
        raise ValueError(f"duplicate document ids: {', '.join(duplicates[:5])}")
    indexed = index.document_hashes()
    legacy: list[str] = []
    remaining = 0
    if source is None:
        current = indexed
    else:
        check_in_source(documents, source)
        prefix = source_prefix(source)
        current = {doc_id: digest for doc_id, digest in indexed.items() if doc_id.startswith(prefix)}
        old = {doc_id for doc_id in indexed if is_legacy_id(doc_id)}
        legacy = sorted(old & {doc_id[len(prefix) :] for doc_id in ids})
        remaining = len(old) - len(legacy)
    wanted = set(ids)
    changed = [d for d in documents if current.get(d.id) != d.content_hash]
    missing = [doc_id for doc_id in current if doc_id not in wanted] if remove_missing else []
    stale = [d.id for d in changed if d.id in current]
    gone = [*stale, *missing, *legacy]
    removed_passages = index.delete_documents(gone) if gone else 0
    passages = [p for d in changed for p in split(d)]
    vectors = batched(embedder, [embedding_text(p) for p in passages], batch_size, progress)
    if passages:
        index.upsert(passages, vectors)
    return SyncReport(
        added=len(changed) - len(stale),
        updated=len(stale),
        unchanged=len(documents) - len(changed),
        removed=len(missing),
        passages_indexed=len(passages),
        passages_removed=removed_passages,
        legacy_removed=len(legacy),
        legacy_remaining=remaining,
    )


def passage_count(documents: Sequence[Document], index: KnowledgeIndex) -> int:
    """How many passages a sync would embed (for sizing a progress bar)."""
    current = index.document_hashes()
    return sum(len(split(d)) for d in documents if current.get(d.id) != d.content_hash)
