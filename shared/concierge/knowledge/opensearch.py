"""The OpenSearch knowledge index (OpenSearch Serverless vector collections or managed domains), through
opensearch-py with SigV4.

One index holds every passage: a `knn_vector` field (HNSW, faiss, inner product on unit vectors = cosine) and
BM25 text fields. A search sends two queries — k-NN with the filters inside (efficient filtering) and BM25 with
the same filters — and ranks their union with `scoring.hybrid`; confidence comes from `scoring.confidence`, as
for the embedded index. Deletions search for the passages' internal ids and delete them in bulk, which works on
both Serverless (no `_delete_by_query`, no custom ids in vector collections) and managed domains.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal

import numpy as np

from concierge.knowledge import scoring
from concierge.knowledge.port import Hit, Passage, SearchFilters

PAGE = 500
FIELDS = ("passage_id", "document_id", "title", "section", "url", "locale", "product_ids", "text", "ordinal",
          "document_hash", "suspicious")


class OpenSearchIndexError(RuntimeError):
    pass


def inner_product_from_score(score: float) -> float:
    """faiss inner-product scores are 1 + ip (ip >= 0) or 1 / (1 - ip) (ip < 0); our vectors are unit length,
    so the inner product is the cosine."""
    return score - 1.0 if score >= 1.0 else 1.0 - 1.0 / score


class OpenSearchIndex:
    def __init__(self, client, index_name: str = "concierge-knowledge", dimensions: int = 256, serverless: bool = False) -> None:
        self.client = client
        self.index_name = index_name
        self.dimensions = dimensions
        self.serverless = serverless

    @classmethod
    def from_endpoint(
        cls, endpoint: str, service: Literal["aoss", "es"], region: str, index_name: str = "concierge-knowledge",
        dimensions: int = 256, credentials=None,
    ) -> "OpenSearchIndex":
        import boto3
        from opensearchpy import AWSV4SignerAuth, OpenSearch, RequestsHttpConnection

        if endpoint.startswith("http://"):  # the local stand-in only: no TLS, no signing
            host, _, port = endpoint.removeprefix("http://").rstrip("/").partition(":")
            client = OpenSearch(hosts=[{"host": host, "port": int(port or 80)}], use_ssl=False, max_retries=3,
                                retry_on_status=(429, 502, 503, 504))
            return cls(client, index_name, dimensions, serverless=service == "aoss")
        host = endpoint.removeprefix("https://").rstrip("/")
        auth = AWSV4SignerAuth(credentials or boto3.Session().get_credentials(), region, service)
        client = OpenSearch(
            hosts=[{"host": host, "port": 443}], http_auth=auth, use_ssl=True, verify_certs=True,
            connection_class=RequestsHttpConnection, timeout=10, max_retries=3, retry_on_timeout=True,
            retry_on_status=(429, 502, 503, 504), pool_maxsize=8,
        )
        return cls(client, index_name, dimensions, serverless=service == "aoss")

    # schema ------------------------------------------------------------------------------
    def index_body(self) -> dict[str, Any]:
        text = {"type": "text", "analyzer": "english"}
        keyword = {"type": "keyword"}
        return {
            "settings": {"index": {"knn": True}},
            "mappings": {
                "properties": {
                    "embedding": {
                        "type": "knn_vector",
                        "dimension": self.dimensions,
                        "method": {"name": "hnsw", "engine": "faiss", "space_type": "innerproduct",
                                   "parameters": {"m": 16, "ef_construction": 128}},
                    },
                    "title": text, "section": text, "text": text,
                    "passage_id": keyword, "document_id": keyword, "locale": keyword, "product_ids": keyword,
                    "document_hash": keyword, "url": {"type": "keyword", "index": False},
                    "ordinal": {"type": "integer"}, "suspicious": {"type": "boolean"},
                }
            },
        }

    def ensure_index(self) -> None:
        if not self.client.indices.exists(index=self.index_name):
            self.client.indices.create(index=self.index_name, body=self.index_body())

    def _refresh(self) -> None:
        if not self.serverless:  # Serverless has no refresh API: new documents are searchable within seconds
            self.client.indices.refresh(index=self.index_name)

    # writes ------------------------------------------------------------------------------
    def upsert(self, passages: Sequence[Passage], vectors) -> None:
        from opensearchpy import helpers

        if not passages:
            return
        self._delete_where({"terms": {"passage_id": [p.id for p in passages]}}, refresh=False)
        vectors = np.asarray(vectors, dtype=np.float32)
        actions = []
        for passage, vector in zip(passages, vectors):
            source = {**passage.model_dump(mode="json", exclude={"id"}), "passage_id": passage.id, "embedding": vector.tolist()}
            action = {"_op_type": "index", "_index": self.index_name, "_source": source}
            if not self.serverless:
                action["_id"] = passage.id
            actions.append(action)
        failed = []
        for ok, item in helpers.streaming_bulk(
            self.client, actions, chunk_size=PAGE, max_retries=5, initial_backoff=0.2, max_backoff=5,
            raise_on_error=False, raise_on_exception=True,
        ):
            if not ok:
                failed.append(item)
        if failed:
            raise OpenSearchIndexError(f"{len(failed)} passages were not indexed: {failed[:3]}")
        self._refresh()

    def delete_documents(self, document_ids: Iterable[str]) -> int:
        ids = list(document_ids)
        return self._delete_where({"terms": {"document_id": ids}}) if ids else 0

    def _delete_where(self, query: dict, refresh: bool = True) -> int:
        from opensearchpy import helpers

        internal_ids = [hit["_id"] for hit in self._scan(query, source=False)]
        if not internal_ids:
            return 0
        actions = [{"_op_type": "delete", "_index": self.index_name, "_id": i} for i in internal_ids]
        deleted, errors = helpers.bulk(self.client, actions, chunk_size=PAGE, max_retries=5, initial_backoff=0.2, raise_on_error=False)
        if errors:
            raise OpenSearchIndexError(f"{len(errors)} passages were not deleted: {errors[:3]}")
        if refresh:
            self._refresh()
        return deleted

    def _scan(self, query: dict, source: bool | list[str]) -> Iterable[dict]:
        """Every match, in pages ordered by passage id (search_after works on Serverless and domains alike)."""
        after = None
        while True:
            body: dict[str, Any] = {"size": PAGE, "query": query, "sort": [{"passage_id": "asc"}], "_source": source}
            if after is not None:
                body["search_after"] = after
            hits = self.client.search(index=self.index_name, body=body)["hits"]["hits"]
            yield from hits
            if len(hits) < PAGE:
                return
            after = hits[-1]["sort"]

    # reads -------------------------------------------------------------------------------
    def document_hashes(self) -> dict[str, str]:
        hashes: dict[str, str] = {}
        after = None
        while True:
            composite: dict[str, Any] = {"size": PAGE, "sources": [{"document_id": {"terms": {"field": "document_id"}}}]}
            if after:
                composite["after"] = after
            body = {"size": 0, "aggs": {"documents": {"composite": composite,
                                                      "aggs": {"hash": {"terms": {"field": "document_hash", "size": 1}}}}}}
            result = self.client.search(index=self.index_name, body=body)["aggregations"]["documents"]
            for bucket in result["buckets"]:
                values = bucket["hash"]["buckets"]
                hashes[bucket["key"]["document_id"]] = values[0]["key"] if values else ""
            after = result.get("after_key")
            if not after or len(result["buckets"]) < PAGE:
                return hashes

    def count(self) -> int:
        return int(self.client.count(index=self.index_name)["count"])

    @staticmethod
    def filter_clauses(filters: SearchFilters | None) -> list[dict]:
        clauses: list[dict] = []
        if filters and filters.locale:
            clauses.append({"prefix": {"locale": filters.locale.split("-")[0].lower()}})
        if filters and filters.product_id:
            clauses.append({"bool": {"should": [{"term": {"product_ids": filters.product_id}},
                                                {"bool": {"must_not": {"exists": {"field": "product_ids"}}}}],
                                     "minimum_should_match": 1}})
        return clauses

    def search(self, query: str, vector, k: int = 5, filters: SearchFilters | None = None) -> list[Hit]:
        pool = max(4 * k, 20)
        clauses = self.filter_clauses(filters)
        knn: dict[str, Any] = {"vector": np.asarray(vector, dtype=np.float32).tolist(), "k": pool}
        if clauses:
            knn["filter"] = {"bool": {"filter": clauses}}
        vector_hits = self.client.search(
            index=self.index_name, body={"size": pool, "_source": list(FIELDS), "query": {"knn": {"embedding": knn}}}
        )["hits"]["hits"]
        keyword_hits = self.client.search(
            index=self.index_name,
            body={"size": pool, "_source": list(FIELDS), "query": {"bool": {
                "must": {"multi_match": {"query": query, "fields": ["title^2", "section^2", "text"], "fuzziness": "AUTO"}},
                "filter": clauses,
            }}},
        )["hits"]["hits"]
        candidates: dict[str, dict] = {}
        for hit in vector_hits:
            candidates.setdefault(hit["_source"]["passage_id"], {"source": hit["_source"], "keyword": 0.0, "cosine": 0.0})
            candidates[hit["_source"]["passage_id"]]["cosine"] = inner_product_from_score(float(hit["_score"]))
        for hit in keyword_hits:
            candidates.setdefault(hit["_source"]["passage_id"], {"source": hit["_source"], "keyword": 0.0, "cosine": 0.0})
            candidates[hit["_source"]["passage_id"]]["keyword"] = float(hit["_score"])
        if not candidates:
            return []
        entries = list(candidates.values())
        ranked = scoring.hybrid(np.array([e["keyword"] for e in entries]), np.maximum(np.array([e["cosine"] for e in entries]), 0))
        hits = []
        for position in np.argsort(-ranked, kind="stable")[: max(2 * k, 10)]:
            entry = entries[int(position)]
            source = entry["source"]
            passage = Passage(id=source["passage_id"], **{f: source[f] for f in FIELDS if f != "passage_id" and f in source})
            confidence = scoring.confidence(query, f"{passage.title} {passage.section} {passage.text}", entry["cosine"])
            hits.append(Hit(passage=passage, score=scoring.final_rank(float(ranked[position]), confidence),
                            confidence=confidence, keyword_score=entry["keyword"], vector_score=entry["cosine"]))
        hits.sort(key=lambda hit: -hit.score)
        hits = hits[:k]
        return hits

