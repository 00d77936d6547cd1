"""The knowledge index port: what every index (embedded, OpenSearch) stores and answers.

A passage is a piece of a merchant document: a section under a heading, with overlap into its neighbours.
Search is hybrid (keywords and vectors) with filters; every adapter reports the same `confidence` (0..1),
computed by `scoring.confidence`, so the agent's answer threshold means the same thing whichever index runs.
Retrieved text is data: nothing here or downstream executes or obeys it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    import numpy as np

# Hits below this confidence are not used to answer: the agent says it does not know, asks, or offers a human.
ANSWER_THRESHOLD = 0.45
# Where the digest of merchant.json is cited (documents.from_merchant). Here rather than in documents.py, so that the
# agent, which cites it, does not import the document parser and the store's models with it.
POLICY_URL = "/help/policies"


class Passage(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str = Field(description="<document id>#<ordinal>")
    document_id: str
    title: str
    section: str = ""
    url: str
    locale: str = "en"
    product_ids: tuple[str, ...] = ()
    text: str
    ordinal: int = 0
    document_hash: str = Field("", description="content hash of the whole document (incremental sync)")
    suspicious: bool = Field(False, description="reads like instructions to an AI: never quoted to customers")


class SearchFilters(BaseModel):
    model_config = ConfigDict(frozen=True)

    locale: str | None = Field(None, description='language ("en" matches en, en-US, en-GB)')
    product_id: str | None = Field(None, description="passages about this product, or about no product in particular")


@dataclass(frozen=True)
class Hit:
    passage: Passage
    score: float  # the hybrid ranking score (comparable within one result list only)
    confidence: float  # 0..1, comparable across queries and adapters: the answer threshold applies to it
    keyword_score: float = 0.0
    vector_score: float = 0.0


class KnowledgeIndex(Protocol):
    def upsert(self, passages: Sequence[Passage], vectors: np.ndarray) -> None:
        """Add or replace passages (by id) with their embeddings (an array of shape (len(passages), dims))."""

    def delete_documents(self, document_ids: Iterable[str]) -> int:
        """Remove every passage of these documents; returns how many passages were removed."""

    def document_hashes(self) -> dict[str, str]:
        """document id -> document_hash of what is indexed (what an incremental sync compares against)."""

    def search(self, query: str, vector: np.ndarray, k: int = 5, filters: SearchFilters | None = None) -> list[Hit]:
        """The k best passages for the question (its text and its embedding), best first."""

    def count(self) -> int: ...
