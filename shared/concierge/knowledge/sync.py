"""Incremental, idempotent sync of a document set into a knowledge index (embedded or OpenSearch).

Unchanged documents (same content hash) are skipped; changed ones are re-split, re-embedded and replace their
old passages; documents no longer in the set are removed. Running it twice in a row changes nothing.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from concierge.knowledge.documents import Document, split
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


def embedding_text(passage: Passage) -> str:
    return f"{passage.title}. {passage.section}. {passage.text}" if passage.section else f"{passage.title}. {passage.text}"


def sync(
    documents: Sequence[Document],
    index: KnowledgeIndex,
    embedder: Embedder,
    progress: Callable[[int], None] | None = None,
    remove_missing: bool = True,
    batch_size: int = 64,
) -> SyncReport:
    """`progress(n)` is called as passages are embedded (n at a time), e.g. a progress bar's update."""
    ids = [d.id for d in documents]
    duplicates = sorted({i for i in ids if ids.count(i) > 1}) if len(set(ids)) != len(ids) else []
    if duplicates:
        raise ValueError(f"duplicate document ids: {', '.join(duplicates[:5])}")
    current = index.document_hashes()
    changed = [d for d in documents if current.get(d.id) != d.content_hash]
    missing = [doc_id for doc_id in current if doc_id not in set(ids)] if remove_missing else []
    stale = [d.id for d in changed if d.id in current]
    removed_passages = index.delete_documents([*stale, *missing]) if (stale or missing) else 0
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
    )


def passage_count(documents: Sequence[Document], index: KnowledgeIndex) -> int:
    """How many passages a sync would embed (for sizing a progress bar)."""
    current = index.document_hashes()
    return sum(len(split(d)) for d in documents if current.get(d.id) != d.content_hash)
