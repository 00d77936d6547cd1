"""Sync documents into the configured knowledge index: the one code path for `concierge import`,
`concierge knowledge sync` and the ingest function (files uploaded to the knowledge bucket's documents/).
Each of them syncs one source (documents.py): the store, a help folder, the uploads; none touches another's.

The embedded index is one S3 object: writers read it with its ETag and write back only if it is unchanged
(S3 conditional writes), retrying on a race, so two uploads processed at once never lose each other's work.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from concierge.knowledge.documents import Document
from concierge.knowledge.sync import SyncReport, check_in_source, passage_count, sync
from concierge.platform import aws, wiring
from concierge.platform.settings import KnowledgeSettings

if TYPE_CHECKING:
    from concierge.knowledge.embedded import EmbeddedIndex
    from concierge.knowledge.embeddings import Embedder
    from concierge.knowledge.port import KnowledgeIndex

DOCUMENTS_PREFIX = "documents/"
ATTEMPTS = 5


class EmbedderMismatch(RuntimeError):
    pass


class ConcurrentUpdate(RuntimeError):
    pass


def _check(index: EmbeddedIndex, embedder: Embedder, settings: KnowledgeSettings) -> None:
    if (index.embedder, index.dimensions) != (embedder.name, embedder.dimensions):
        raise EmbedderMismatch(
            f"the stored index was embedded with {index.embedder} ({index.dimensions} dims), not {embedder.name} "
            f"({embedder.dimensions}): delete s3://{settings.knowledge_bucket}/{settings.knowledge_key} to rebuild it"
        )


def _apply(settings: KnowledgeSettings, change: Callable[[KnowledgeIndex], SyncReport]) -> SyncReport:
    if settings.knowledge_index == "opensearch":
        opensearch = wiring.opensearch_index(settings)
        opensearch.ensure_index()
        return change(opensearch)
    from concierge.knowledge.embedded import EmbeddedIndex, load_versioned, save_if_unchanged

    embedder = wiring.embedder(settings)
    s3 = aws.client("s3")
    for _ in range(ATTEMPTS):
        index, etag = load_versioned(s3, settings.knowledge_bucket, settings.knowledge_key)
        if index is None:
            index = EmbeddedIndex(embedder.dimensions, embedder.name)
        _check(index, embedder, settings)
        report = change(index)
        if not (report.passages_indexed or report.passages_removed) and not index.legacy_format:
            return report  # nothing changed (an index in the old format is rewritten, so it loads fast from now on)
        if save_if_unchanged(index, s3, settings.knowledge_bucket, settings.knowledge_key, etag):
            return report
    raise ConcurrentUpdate(f"the knowledge index changed under {ATTEMPTS} attempts in a row; retry")


def sync_knowledge(
    settings: KnowledgeSettings,
    documents: Sequence[Document],
    progress: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
    remove_missing: bool = True,
    *,
    source: str,
) -> SyncReport:
    """Make the index's `source` hold exactly `documents` (or, with remove_missing=False, add and update them
    only); every document's id must start with `<source>/`, and other sources' documents are left as they are."""
    check_in_source(documents, source)
    embedder = wiring.embedder(settings)

    def change(index: KnowledgeIndex) -> SyncReport:
        if on_total is not None:
            on_total(passage_count(documents, index))
        return sync(documents, index, embedder, progress, remove_missing=remove_missing, source=source)

    return _apply(settings, change)


def delete_documents(settings: KnowledgeSettings, document_ids: Sequence[str]) -> SyncReport:
    def change(index: KnowledgeIndex) -> SyncReport:
        removed = index.delete_documents(document_ids)
        return SyncReport(
            added=0, updated=0, unchanged=0, removed=len(document_ids), passages_indexed=0, passages_removed=removed
        )

    return _apply(settings, change)


def sync_uploads(settings: KnowledgeSettings, event: dict[str, Any]) -> SyncReport:
    """An S3 notification for documents/: created files are (re)indexed, deleted files removed, as documents
    of the uploads source (`documents/faq/shipping.md` -> `uploads/faq/shipping`)."""
    from urllib.parse import unquote_plus

    from concierge.knowledge.documents import UPLOADS_SOURCE, document_id, is_legacy_id, parse_source, source_id

    s3 = aws.client("s3")
    created: dict[str, Document] = {}
    removed: list[str] = []
    legacy: list[str] = []
    for record in event.get("Records", []):
        key = unquote_plus(record["s3"]["object"]["key"])
        if not key.startswith(DOCUMENTS_PREFIX) or key.endswith("/"):
            continue
        relative = key[len(DOCUMENTS_PREFIX) :]
        if record["eventName"].startswith("ObjectRemoved"):
            local = document_id(relative)
            removed.append(source_id(UPLOADS_SOURCE, local))
            created.pop(source_id(UPLOADS_SOURCE, local), None)
            if is_legacy_id(local):  # its copy from an index built before sources, if any
                legacy.append(local)
        else:
            raw = s3.get_object(Bucket=settings.knowledge_bucket, Key=key)["Body"].read().decode("utf-8", "replace")
            document = parse_source(relative, raw, source=UPLOADS_SOURCE)
            created[document.id] = document
            removed = [doc_id for doc_id in removed if doc_id != document.id]  # deleted, then uploaded again
    report = (
        sync_knowledge(settings, list(created.values()), remove_missing=False, source=UPLOADS_SOURCE)
        if created
        else None
    )
    gone = delete_documents(settings, [*removed, *legacy]) if removed else None
    return SyncReport(
        added=report.added if report else 0,
        updated=report.updated if report else 0,
        unchanged=report.unchanged if report else 0,
        removed=len(removed),
        passages_indexed=report.passages_indexed if report else 0,
        passages_removed=(report.passages_removed if report else 0) + (gone.passages_removed if gone else 0),
        legacy_removed=report.legacy_removed if report else 0,
        legacy_remaining=report.legacy_remaining if report else 0,
    )
