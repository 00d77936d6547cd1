"""The catalogue index on OpenSearch: a second index beside the knowledge index (same collection or domain, same
client, same write path: `knowledge.opensearch.OpenSearchIndex`'s bulk writes, retries and Serverless rules).

One document per product: the listing's words as BM25 text fields (`name`: title and category, `tags`: tags and
attribute names, `body`: the rest), its vector (`embedding`, the knowledge index's k-NN settings), and the figures
the filters read as keyword and numeric fields (`prices` and `in_stock_prices`, several values each: a range query
matches a product when one of its prices is in range; `delivery_days`; `min_age`, `max_age`; `category`; `food` and
`dietary`). The whole listing is stored (`listing`, not indexed) so a hit gives back exactly what was indexed.

A search is one `_msearch`: k-NN with the filters inside the knn clause, and BM25 with the same filters; their union
is ranked by `search.relevance` on the listings themselves, as the embedded index ranks them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from concierge.catalogue.search import CatalogueFilters, CatalogueHit, Listing, ranked, relevance
from concierge.knowledge.opensearch import OpenSearchIndex, OpenSearchIndexError, cosine_from_score
from concierge.knowledge.text import query_terms

if TYPE_CHECKING:
    from opensearchpy import OpenSearch

DEFAULT_CATALOGUE_INDEX = "concierge-catalogue"
KEYWORD_FIELDS = ["name^3", "tags^2", "body"]
SOURCE = ["product_id", "listing"]


class _CatalogueWrites(OpenSearchIndex):
    """The knowledge adapter's index creation and writes, with the catalogue's mapping and id field."""

    ID_FIELD: ClassVar[str] = "product_id"

    def index_body(self) -> dict[str, Any]:
        text = {"type": "text", "analyzer": "english"}
        keyword = {"type": "keyword"}
        return self.vector_index(
            {
                "name": text,
                "tags": text,
                "body": text,
                "product_id": keyword,
                "category": keyword,
                "prices": {"type": "double"},
                "in_stock_prices": {"type": "double"},
                "in_stock": {"type": "boolean"},
                "delivery_days": {"type": "integer"},
                "min_age": {"type": "integer"},
                "max_age": {"type": "integer"},
                "food": {"type": "boolean"},
                "dietary": keyword,
                "listing": {"type": "keyword", "index": False},
            }
        )


def _document(listing: Listing, vector: np.ndarray) -> dict[str, Any]:
    return {
        "product_id": listing.product_id,
        "name": listing.name_text,
        "tags": listing.tag_text,
        "body": listing.weak_text,
        "category": listing.category.lower(),
        "prices": [float(p) for p in listing.prices],
        "in_stock_prices": [float(p) for p in listing.in_stock_prices],
        "in_stock": listing.in_stock,
        "delivery_days": listing.delivery_days,
        "min_age": listing.min_age,
        "max_age": listing.max_age,
        "food": listing.dietary is not None,
        "dietary": list(listing.dietary or ()),
        "listing": listing.model_dump_json(),
        "embedding": [float(x) for x in vector],
    }


def filter_clauses(filters: CatalogueFilters | None) -> list[dict[str, Any]]:
    """The filters as query clauses, the same in the knn clause and the BM25 query (`CatalogueFilters.admits`, as
    OpenSearch reads it)."""
    if filters is None:
        return []
    clauses: list[dict[str, Any]] = []
    if filters.in_stock:
        clauses.append({"term": {"in_stock": True}})
    if filters.min_price is not None or filters.max_price is not None:
        bounds: dict[str, float] = {"gte": float(filters.min_price or 0)}
        if filters.max_price is not None:
            bounds["lte"] = float(filters.max_price)
        clauses.append({"range": {"in_stock_prices" if filters.in_stock else "prices": bounds}})
    if filters.within_days is not None:
        clauses.append({"range": {"delivery_days": {"lte": filters.within_days}}})
    if filters.categories:
        clauses.append({"terms": {"category": list(filters.categories)}})
    if filters.age is not None:
        clauses.append(
            {
                "bool": {
                    "must_not": [
                        {"range": {"min_age": {"gt": filters.age}}},
                        {"range": {"max_age": {"lt": filters.age}}},
                    ]
                }
            }
        )
    if filters.dietary:
        clauses.append(
            {
                "bool": {
                    "should": [
                        {"term": {"food": False}},
                        {"bool": {"filter": [{"term": {"dietary": need}} for need in filters.dietary]}},
                    ],
                    "minimum_should_match": 1,
                }
            }
        )
    return clauses


class OpenSearchCatalogue:
    """The `CatalogueIndex` port on OpenSearch. `client` is an `opensearchpy.OpenSearch` (the knowledge index's)."""

    def __init__(
        self,
        client: OpenSearch,
        index_name: str = DEFAULT_CATALOGUE_INDEX,
        dimensions: int = 256,
        serverless: bool = False,
    ) -> None:
        self._writes = _CatalogueWrites(client, index_name, dimensions, serverless)
        self.client = client
        self.index_name = index_name
        self.dimensions = dimensions

    @classmethod
    def beside(cls, knowledge: OpenSearchIndex, index_name: str = DEFAULT_CATALOGUE_INDEX) -> OpenSearchCatalogue:
        """The catalogue index in the knowledge index's collection or domain, through the same client."""
        return cls(knowledge.client, index_name, knowledge.dimensions, knowledge.serverless)

    def ensure_index(self) -> None:
        self._writes.ensure_index()

    # writes --------------------------------------------------------------------------------------------------
    def upsert(self, listings: Sequence[Listing], vectors: np.ndarray) -> None:
        if not listings:
            return
        vectors = np.asarray(vectors, dtype=np.float32).reshape(len(listings), -1)
        if vectors.shape[1] != self.dimensions:
            raise ValueError(f"vectors have {vectors.shape[1]} dimensions, the index {self.dimensions}")
        writes = self._writes
        if writes.serverless:
            writes._delete_where({"terms": {"product_id": [listing.product_id for listing in listings]}})
        actions = [
            (
                {"index": {} if writes.serverless else {"_id": listing.product_id}},
                _document(listing, vector),
                listing.product_id,
            )
            for listing, vector in zip(listings, vectors, strict=True)
        ]
        failed = [name for name, ok, _ in writes._bulk(actions) if not ok]
        if failed:
            raise OpenSearchIndexError(
                f"{len(failed)} of {len(listings)} products were not indexed into {self.index_name}: "
                f"{', '.join(failed[:20])}",
                failed,
            )
        writes._refresh()

    def delete(self, product_ids: Iterable[str]) -> int:
        ids = sorted(set(product_ids))
        return self._writes._delete_where({"terms": {"product_id": ids}}) if ids else 0

    # reads ---------------------------------------------------------------------------------------------------
    def product_ids(self) -> set[str]:
        return {hit["_source"]["product_id"] for hit in self._writes._scan({"match_all": {}}, ["product_id"])}

    def count(self) -> int:
        return self._writes.count()

    def search(
        self, query: str, vector: np.ndarray, k: int = 10, filters: CatalogueFilters | None = None
    ) -> list[CatalogueHit]:
        from opensearchpy.exceptions import NotFoundError

        vector = np.asarray(vector, dtype=np.float32).reshape(-1)
        clauses = filter_clauses(filters)
        pool = max(4 * k, 20)
        if not query_terms(query):  # nothing to rank by: the products that pass, in a stable order
            body = {
                "size": k,
                "_source": SOURCE,
                "query": {"bool": {"filter": clauses}} if clauses else {"match_all": {}},
                "sort": [{"product_id": "asc"}],
            }
            try:
                found = self.client.search(index=self.index_name, body=body)["hits"]["hits"]
            except NotFoundError:
                return []
            return [CatalogueHit(listing=_listing(hit["_source"]), relevance=0.0) for hit in found]
        knn: dict[str, Any] = {"vector": [float(x) for x in vector], "k": pool}
        if clauses:
            knn["filter"] = {"bool": {"filter": clauses}}
        vector_body = {"size": pool, "_source": SOURCE, "query": {"knn": {"embedding": knn}}}
        keyword_body = {
            "size": pool,
            "_source": [*SOURCE, "embedding"],
            "query": {
                "bool": {
                    "must": [{"multi_match": {"query": query, "fields": KEYWORD_FIELDS, "type": "most_fields"}}],
                    "filter": clauses,
                }
            },
        }
        try:
            responses = self.client.msearch(index=self.index_name, body=[{}, vector_body, {}, keyword_body])[
                "responses"
            ]
        except NotFoundError:
            return []
        for response in responses:
            if "error" in response:
                failure = response["error"]
                if isinstance(failure, dict) and failure.get("type") == "index_not_found_exception":
                    return []
                raise OpenSearchIndexError(f"catalogue search failed: {json.dumps(failure)[:500]}")
        vector_hits, keyword_hits = (r["hits"]["hits"] for r in responses)
        norm = float(np.linalg.norm(vector)) or 1.0
        found_by: dict[str, dict[str, Any]] = {}
        for hit in vector_hits:
            found_by[hit["_source"]["product_id"]] = {
                "source": hit["_source"],
                "keyword": 0.0,
                "cosine": cosine_from_score(float(hit["_score"])),
            }
        for hit in keyword_hits:
            source = hit["_source"]
            entry = found_by.setdefault(source["product_id"], {"source": source, "keyword": 0.0, "cosine": None})
            entry["keyword"] = float(hit["_score"])
            if entry["cosine"] is None:
                stored = np.asarray(source.get("embedding") or [], dtype=np.float32)
                entry["cosine"] = (
                    float(stored @ vector) / (norm * (float(np.linalg.norm(stored)) or 1.0))
                    if stored.shape == vector.shape
                    else 0.0
                )
        hits = []
        for entry in found_by.values():
            listing = _listing(entry["source"])
            hits.append(
                CatalogueHit(
                    listing=listing,
                    relevance=relevance(query, listing, entry["cosine"]),
                    keyword_score=round(entry["keyword"], 6),
                    vector_score=round(entry["cosine"], 6),
                )
            )
        return ranked(hits, k)


def _listing(source: dict[str, Any]) -> Listing:
    return Listing.model_validate_json(source["listing"])
