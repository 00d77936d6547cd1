"""Sync documents into the configured knowledge index: the one code path for `concierge import`,
`concierge knowledge sync` and the ingest function (documents uploaded to the knowledge bucket)."""
from __future__ import annotations

from collections.abc import Callable, Sequence

from concierge import aws, wiring
from concierge.knowledge.documents import Document
from concierge.knowledge.sync import SyncReport, passage_count, sync
from concierge.settings import Settings


class EmbedderMismatch(RuntimeError):
    pass


def open_index(settings: Settings):
    """The index to write to: OpenSearch (created if missing), or the embedded index as stored in S3 (or a new one)."""
    embedder = wiring.embedder(settings)
    if settings.knowledge_index == "opensearch":
        index = wiring._opensearch_index(settings)
        index.ensure_index()
        return index
    from concierge.knowledge.embedded import EmbeddedIndex, load_from_s3

    index = load_from_s3(aws.client("s3"), settings.knowledge_bucket, settings.knowledge_key)
    if index is None:
        return EmbeddedIndex(embedder.dimensions, embedder.name)
    if (index.embedder, index.dimensions) != (embedder.name, embedder.dimensions):
        raise EmbedderMismatch(
            f"the stored index was embedded with {index.embedder} ({index.dimensions} dims), not {embedder.name} "
            f"({embedder.dimensions}): delete s3://{settings.knowledge_bucket}/{settings.knowledge_key} to rebuild it"
        )
    return index


def sync_knowledge(
    settings: Settings,
    documents: Sequence[Document],
    progress: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
) -> SyncReport:
    index = open_index(settings)
    if on_total is not None:
        on_total(passage_count(documents, index))
    report = sync(documents, index, wiring.embedder(settings), progress)
    if settings.knowledge_index == "embedded" and (report.passages_indexed or report.passages_removed):
        from concierge.knowledge.embedded import save_to_s3

        save_to_s3(index, aws.client("s3"), settings.knowledge_bucket, settings.knowledge_key)
    return report
