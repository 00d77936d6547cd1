"""The OpenSearch knowledge index — an OpenSearch Serverless vector collection ("aoss") or a managed OpenSearch
Service domain ("es") — through opensearch-py, signed with SigV4.

One index holds every passage: `embedding` is a `knn_vector` (HNSW on the faiss engine, which Serverless vector
collections and domains both support — with efficient k-NN filtering on domains from OpenSearch 2.9 — and inner
product: the embedders write unit vectors, so the inner product is the cosine), and `title`, `section`, `text`
are BM25 text fields (english analyzer). A search is one `_msearch` round trip with two queries — k-NN with the
filters inside the knn clause (efficient filtering: k results that all pass the filter) and BM25 over the headings
and text with the same filters — whose union is ranked client-side with `scoring.hybrid`; `Hit.confidence` comes
from `scoring.confidence` exactly as for every index, so the answer threshold means the same thing.

Serverless and managed domains differ, and this adapter takes the difference into account (`serverless=True`):

- Vector collections assign their own document ids: an index action must not carry `_id`. The passage id is a
  keyword field (`passage_id`) on both, and on a domain it is also the `_id`, so re-indexing replaces in place.
  On Serverless, `upsert` first deletes any passage with the same `passage_id`, then indexes.
- Serverless has no `_delete_by_query` and no `_refresh`: deletions search for the internal ids (paged with
  `search_after`) and delete them with `_bulk`; writes become searchable after a short delay (seconds), so a
  delete issued right after an upsert of the same passages may not see them yet. Domains use
  `_delete_by_query` and an explicit refresh, so what was written is searchable when the call returns.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Literal, cast

import numpy as np

from concierge.knowledge import scoring
from concierge.knowledge.port import Hit, Passage, SearchFilters
from concierge.knowledge.text import query_terms, rewrite_query

if TYPE_CHECKING:
    from botocore.credentials import Credentials
    from opensearchpy import OpenSearch

logger = logging.getLogger(__name__)

DEFAULT_INDEX = "concierge-knowledge"
PAGE = 500  # bulk actions per request, and hits per page when paging through an index
MAX_BULK_BYTES = 5 * 1024 * 1024
# The passage fields stored next to the vector; `passage_id` is Passage.id.
FIELDS = (
    "passage_id",
    "document_id",
    "title",
    "section",
    "url",
    "locale",
    "product_ids",
    "text",
    "ordinal",
    "document_hash",
    "suspicious",
)
KEYWORD_FIELDS = ["title^2", "section^2", "text"]
SPACE_TYPE = "innerproduct"
ENGINE = "faiss"


class OpenSearchIndexError(RuntimeError):
    """A write that OpenSearch refused or that still failed after the retries; `ids` names the passages."""

    def __init__(self, message: str, ids: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.ids = list(ids)


def cosine_from_score(score: float, space_type: str = SPACE_TYPE) -> float:
    """The cosine behind a k-NN `_score`, for unit vectors. faiss/nmslib inner product: score = 1 + ip when ip > 0,
    1 / (1 - ip) otherwise; cosinesimil: score = (1 + cos) / 2 (the OpenSearch k-NN "spaces" reference)."""
    if space_type == "innerproduct":
        if score <= 0:
            raise ValueError(f"not an inner-product k-NN score: {score}")
        return score - 1.0 if score >= 1.0 else 1.0 - 1.0 / score
    if space_type == "cosinesimil":
        return 2.0 * score - 1.0
    raise ValueError(f"no cosine for space type {space_type!r}")


inner_product_from_score = cosine_from_score  # the name the first version exported


def _is_missing_index(error: Exception) -> bool:
    return getattr(error, "status_code", None) == 404 and "index_not_found" in str(getattr(error, "error", ""))


class OpenSearchIndex:
    """The `KnowledgeIndex` port on OpenSearch. `client` is an `opensearchpy.OpenSearch`; `serverless` says it talks
    to an OpenSearch Serverless collection (see the module docstring for what changes)."""

    # The keyword field that names a document (paging and Serverless deletes sort and match on it); the catalogue
    # index (concierge.catalogue.opensearch) reuses this adapter's writes with its own mapping and id field.
    ID_FIELD: ClassVar[str] = "passage_id"

    def __init__(
        self,
        client: OpenSearch,
        index_name: str = DEFAULT_INDEX,
        dimensions: int = 256,
        serverless: bool = False,
        *,
        embedder: str = "",
        max_retries: int = 5,
        initial_backoff: float = 0.5,
        max_backoff: float = 8.0,
    ) -> None:
        self.client = client
        self.index_name = index_name
        self.dimensions = dimensions
        self.serverless = serverless
        self.embedder = embedder  # the name of the embedder of the vectors: how its cosines count (scoring.calibration)
        self.max_retries = max_retries
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff

    @classmethod
    def from_endpoint(
        cls,
        endpoint: str,
        service: Literal["aoss", "es"],
        region: str,
        index_name: str = DEFAULT_INDEX,
        dimensions: int = 256,
        *,
        embedder: str = "",
        credentials: Credentials | None = None,
        sign: bool | None = None,
        timeout: float = 10.0,
        max_retries: int = 3,
    ) -> OpenSearchIndex:
        """A client for `endpoint` — a host ("abc123.us-east-1.aoss.amazonaws.com", as the stack configures it) or
        a URL — signing every request with SigV4 for `service` ("aoss": Serverless, "es": a domain) in `region`,
        with the Lambda role's credentials (boto3's chain) unless `credentials` are given.

        `https://` and bare hosts use TLS on 443 with certificate checks. `http://host:port` is for the local
        stand-in only: unsigned unless `sign=True` (the stand-in can check signatures too)."""
        from opensearchpy import OpenSearch

        if service not in ("aoss", "es"):
            raise ValueError(f"service must be 'aoss' (Serverless) or 'es' (a domain), not {service!r}")
        scheme, _, rest = endpoint.rpartition("://")
        scheme = scheme or "https"
        host, _, port = rest.strip().rstrip("/").partition(":")
        tls = scheme == "https"
        sign = tls if sign is None else sign
        options: dict[str, Any] = {
            "hosts": [{"host": host, "port": int(port or (443 if tls else 80))}],
            "use_ssl": tls,
            "verify_certs": tls,
            "timeout": timeout,
            "max_retries": max_retries,
            "retry_on_timeout": True,
            "retry_on_status": (429, 502, 503, 504),
        }
        if sign:
            import boto3
            from opensearchpy import AWSV4SignerAuth, RequestsHttpConnection

            credentials = credentials or boto3.Session().get_credentials()
            if credentials is None:
                raise RuntimeError("no AWS credentials to sign OpenSearch requests with")
            # opensearch-py pairs AWSV4SignerAuth (a requests auth) with RequestsHttpConnection.
            options |= {
                "http_auth": AWSV4SignerAuth(credentials, region, service),
                "connection_class": RequestsHttpConnection,
                "pool_maxsize": 8,
            }
        return cls(OpenSearch(**options), index_name, dimensions, serverless=service == "aoss", embedder=embedder)

    # schema ------------------------------------------------------------------------------
    def index_body(self) -> dict[str, Any]:
        """Settings and mappings of the index. `dynamic: strict` makes a write with an unexpected field fail
        instead of silently growing the mapping."""
        text = {"type": "text", "analyzer": "english"}
        keyword = {"type": "keyword"}
        return self.vector_index(
            {
                "title": text,
                "section": text,
                "text": text,
                "passage_id": keyword,
                "document_id": keyword,
                "locale": keyword,
                "product_ids": keyword,
                "document_hash": keyword,
                "url": {"type": "keyword", "index": False},
                "ordinal": {"type": "integer"},
                "suspicious": {"type": "boolean"},
            }
        )

    def vector_index(self, fields: dict[str, Any]) -> dict[str, Any]:
        """An index of these `fields` beside the k-NN `embedding` (HNSW, this adapter's engine and space, the
        embedder's dimensions), with a strict mapping; shards and replicas set except on Serverless, which manages
        them itself. The catalogue's index is one too (catalogue/opensearch.py)."""
        settings: dict[str, Any] = {"knn": True}
        if not self.serverless:
            settings |= {"number_of_shards": 1, "auto_expand_replicas": "0-1"}
        embedding = {
            "type": "knn_vector",
            "dimension": self.dimensions,
            "method": {
                "name": "hnsw",
                "engine": ENGINE,
                "space_type": SPACE_TYPE,
                "parameters": {"m": 16, "ef_construction": 128},
            },
        }
        return {
            "settings": {"index": settings},
            "mappings": {"dynamic": "strict", "properties": {"embedding": embedding, **fields}},
        }

    @property
    def template_name(self) -> str:
        return f"{self.index_name}-template"

    def index_template(self) -> dict[str, Any]:
        """A composable index template for exactly this index name: if the index is ever deleted and a write
        recreates it implicitly, it still gets the k-NN mapping rather than a dynamic one (a float array)."""
        return {
            "index_patterns": [self.index_name],
            "priority": 100,
            "template": self.index_body(),
            "_meta": {"managed_by": "concierge"},
        }

    def ensure_index(self) -> None:
        """Create the index (and its template) when missing; check the vector size of an existing one."""
        from opensearchpy.exceptions import RequestError

        if self.client.indices.exists(index=self.index_name):
            self._check_dimensions()
            return
        self._put_template()
        try:
            self.client.indices.create(index=self.index_name, body=self.index_body())
        except RequestError as error:  # another writer created it first
            if "resource_already_exists" not in str(error.error):
                raise

    def _put_template(self) -> None:
        from opensearchpy.exceptions import AuthorizationException, NotFoundError, RequestError

        put = getattr(self.client.indices, "put_index_template", None)
        if put is None:
            return
        try:
            put(name=self.template_name, body=self.index_template())
        except (AuthorizationException, NotFoundError, RequestError) as error:
            # The index is created with the same body next, so a template is a safety net, not a requirement.
            logger.warning("index template not stored (%s); creating the index directly", error)

    def _check_dimensions(self) -> None:
        mapping = self.client.indices.get_mapping(index=self.index_name)
        index_mapping: dict[str, Any] = next(iter(mapping.values()), {})
        properties = index_mapping.get("mappings", {}).get("properties", {})
        found = properties.get("embedding", {}).get("dimension")
        if found is not None and int(found) != self.dimensions:
            raise OpenSearchIndexError(
                f"index {self.index_name} holds {found}-dimension vectors, the embedder makes {self.dimensions}: "
                f"delete the index (or configure another index name) and sync again"
            )

    def _refresh(self) -> None:
        if not self.serverless:  # Serverless has no refresh API
            self.client.indices.refresh(index=self.index_name)

    # writes ------------------------------------------------------------------------------
    def _source(self, passage: Passage, vector: np.ndarray) -> dict[str, Any]:
        return {
            "passage_id": passage.id,
            "document_id": passage.document_id,
            "title": passage.title,
            "section": passage.section,
            "url": passage.url,
            "locale": passage.locale,
            "product_ids": list(passage.product_ids),
            "text": passage.text,
            "ordinal": passage.ordinal,
            "document_hash": passage.document_hash,
            "suspicious": passage.suspicious,
            "embedding": [float(x) for x in vector],
        }

    def upsert(self, passages: Sequence[Passage], vectors: np.ndarray) -> None:
        if not passages:
            return
        vectors = np.asarray(vectors, dtype=np.float32).reshape(len(passages), -1)
        if vectors.shape[1] != self.dimensions:
            raise ValueError(f"vectors have {vectors.shape[1]} dimensions, the index {self.dimensions}")
        if self.serverless:  # no custom ids: replace = delete the old copies, then index
            self._delete_where({"terms": {"passage_id": [p.id for p in passages]}})
        actions = []
        for passage, vector in zip(passages, vectors, strict=True):
            # The index is in the URL path, not in the actions (domains may refuse explicit indexes in bodies).
            meta = {} if self.serverless else {"_id": passage.id}
            actions.append(({"index": meta}, self._source(passage, vector), passage.id))
        failed = [name for name, ok, _ in self._bulk(actions) if not ok]
        if failed:
            raise OpenSearchIndexError(
                f"{len(failed)} of {len(passages)} passages were not indexed into {self.index_name}: "
                f"{', '.join(failed[:20])}{' ...' if len(failed) > 20 else ''}",
                failed,
            )
        self._refresh()

    def _bulk(
        self, actions: Sequence[tuple[dict[str, Any], dict[str, Any] | None, str]]
    ) -> Iterator[tuple[str, bool, dict[str, Any]]]:
        """Send (action, source or None, name) triples with `_bulk`, in chunks of PAGE actions (and at most
        MAX_BULK_BYTES); yield (name, ok, item) for each. A throttled request (429) or throttled items are sent
        again after an exponential backoff, up to `max_retries` times; the bulk API answers one item per
        action, in order, so every failure is named exactly — on Serverless too, where items carry no passage
        id."""
        dumps = self.client.transport.serializer.dumps
        for chunk in _chunks(
            [
                (name, dumps(action) + "\n" + (dumps(source) + "\n" if source is not None else ""))
                for action, source, name in actions
            ]
        ):
            pending = chunk
            for attempt in range(self.max_retries + 1):
                if attempt:
                    time.sleep(min(self.max_backoff, self.initial_backoff * 2 ** (attempt - 1)))
                items = self._send_bulk("".join(lines for _, lines in pending), attempt == self.max_retries)
                if items is None:  # the whole request was throttled
                    continue
                retry = []
                for (name, lines), item in zip(pending, items, strict=False):
                    ((_, result),) = item.items()
                    status = int(result.get("status", 500))
                    if status == 429 and attempt < self.max_retries:
                        retry.append((name, lines))
                    else:
                        yield name, 200 <= status < 300 or (status == 404 and "delete" in item), result
                for name, _ in pending[len(items) :]:  # an answer short of items: those actions are not known done
                    yield name, False, {"status": 502, "error": "the bulk answer has no item for this action"}
                pending = retry
                if not pending:
                    break

    def _send_bulk(self, body: str, last: bool) -> list[dict[str, Any]] | None:
        from opensearchpy.exceptions import TransportError

        try:
            response = self.client.bulk(body=body, index=self.index_name)
        except TransportError as error:
            if error.status_code == 429 and not last:
                return None
            raise
        return cast("list[dict[str, Any]]", response["items"])

    def delete_documents(self, document_ids: Iterable[str]) -> int:
        ids = sorted(set(document_ids))
        if not ids:
            return 0
        if self.serverless:
            return self._delete_where({"terms": {"document_id": ids}})
        deleted = 0
        for start in range(0, len(ids), PAGE):
            try:
                response = self.client.delete_by_query(
                    index=self.index_name,
                    body={"query": {"terms": {"document_id": ids[start : start + PAGE]}}},
                    params={"refresh": "true", "conflicts": "proceed"},
                )
            except Exception as error:
                if _is_missing_index(error):
                    return 0
                raise
            if response.get("failures"):
                raise OpenSearchIndexError(f"delete by query failed: {response['failures'][:3]}")
            deleted += int(response.get("deleted", 0))
        return deleted

    def _delete_where(self, query: dict[str, Any]) -> int:
        """Serverless: find the internal ids of the matches, then delete them in bulk."""
        internal = [hit["_id"] for hit in self._scan(query, source=False)]
        if not internal:
            return 0
        results = list(self._bulk([({"delete": {"_id": i}}, None, i) for i in internal]))
        failed = [name for name, ok, _ in results if not ok]
        if failed:
            raise OpenSearchIndexError(f"{len(failed)} passages were not deleted from {self.index_name}", failed)
        self._refresh()
        return sum(1 for _, _, result in results if result.get("result") == "deleted")

    def _scan(self, query: dict[str, Any], source: bool | list[str]) -> Iterator[dict[str, Any]]:
        """Every match, in pages ordered by passage id (`search_after`: Serverless and domains alike)."""
        after = None
        while True:
            body: dict[str, Any] = {"size": PAGE, "query": query, "sort": [{self.ID_FIELD: "asc"}], "_source": source}
            if after is not None:
                body["search_after"] = after
            try:
                hits = self.client.search(index=self.index_name, body=body)["hits"]["hits"]
            except Exception as error:
                if _is_missing_index(error):
                    return
                raise
            yield from hits
            if len(hits) < PAGE:
                return
            after = hits[-1]["sort"]

    # reads -------------------------------------------------------------------------------
    def document_hashes(self) -> dict[str, str]:
        """document id -> document_hash, paging through a composite aggregation (any number of documents). A
        document whose passages disagree (a sync interrupted halfway) reports "" so the next sync redoes it."""
        hashes: dict[str, str] = {}
        after = None
        while True:
            composite: dict[str, Any] = {
                "size": PAGE,
                "sources": [{"document_id": {"terms": {"field": "document_id"}}}],
            }
            if after:
                composite["after"] = after
            body = {
                "size": 0,
                "aggs": {
                    "documents": {
                        "composite": composite,
                        "aggs": {"hashes": {"terms": {"field": "document_hash", "size": 2}}},
                    }
                },
            }
            try:
                result = self.client.search(index=self.index_name, body=body)["aggregations"]["documents"]
            except Exception as error:
                if _is_missing_index(error):
                    return hashes
                raise
            for bucket in result["buckets"]:
                values = bucket["hashes"]["buckets"]
                hashes[bucket["key"]["document_id"]] = values[0]["key"] if len(values) == 1 else ""
            after = result.get("after_key")
            if not after or len(result["buckets"]) < PAGE:
                return hashes

    def count(self) -> int:
        try:
            return int(self.client.count(index=self.index_name)["count"])
        except Exception as error:
            if _is_missing_index(error):
                return 0
            raise

    @staticmethod
    def filter_clauses(filters: SearchFilters | None) -> list[dict[str, Any]]:
        """The filters as query clauses, the same in the knn clause and the BM25 query:
        locale — the language ("en-US" -> "en") matches locale "en" and "en-*";
        product — passages about that product, or about no product in particular."""
        clauses: list[dict[str, Any]] = []
        if filters and filters.locale:
            language = filters.locale.split("-")[0].lower()
            clauses.append(
                {
                    "bool": {
                        "should": [
                            {"term": {"locale": {"value": language, "case_insensitive": True}}},
                            {"prefix": {"locale": {"value": f"{language}-", "case_insensitive": True}}},
                        ],
                        "minimum_should_match": 1,
                    }
                }
            )
        if filters and filters.product_id:
            clauses.append(
                {
                    "bool": {
                        "should": [
                            {"term": {"product_ids": filters.product_id}},
                            {"bool": {"must_not": [{"exists": {"field": "product_ids"}}]}},
                        ],
                        "minimum_should_match": 1,
                    }
                }
            )
        return clauses

    def search_bodies(
        self, query: str, vector: np.ndarray, k: int, filters: SearchFilters | None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """The k-NN and BM25 request bodies. BM25 also returns the stored vectors, so passages found only by
        keywords get their exact cosine (the confidence needs it) rather than none."""
        pool = max(4 * k, 20)
        clauses = self.filter_clauses(filters)
        knn: dict[str, Any] = {"vector": [float(x) for x in vector], "k": pool}
        if clauses:
            knn["filter"] = {"bool": {"filter": clauses}}
        vector_body = {"size": pool, "_source": list(FIELDS), "query": {"knn": {"embedding": knn}}}
        keyword_body = {
            "size": pool,
            "_source": [*FIELDS, "embedding"],
            "query": {
                "bool": {
                    # The question as the help center would word it (the same rewrites the embedded index applies).
                    "must": [
                        {
                            "multi_match": {
                                "query": rewrite_query(query),
                                "fields": KEYWORD_FIELDS,
                                "type": "most_fields",
                                "fuzziness": "AUTO",
                                "prefix_length": 1,
                            }
                        }
                    ],
                    "filter": clauses,
                }
            },
        }
        return vector_body, keyword_body

    def search(self, query: str, vector: np.ndarray, k: int = 5, filters: SearchFilters | None = None) -> list[Hit]:
        if not query_terms(query):  # nothing to search for (as in the embedded index)
            return []
        vector = np.asarray(vector, dtype=np.float32).reshape(-1)
        norm = float(np.linalg.norm(vector)) or 1.0
        vector_body, keyword_body = self.search_bodies(query, vector, k, filters)
        try:
            responses = self.client.msearch(index=self.index_name, body=[{}, vector_body, {}, keyword_body])[
                "responses"
            ]
        except Exception as error:
            if _is_missing_index(error):
                return []
            raise
        for response in responses:
            if "error" in response:
                failure = response["error"]
                if isinstance(failure, dict) and failure.get("type") == "index_not_found_exception":
                    return []
                raise OpenSearchIndexError(f"search failed: {json.dumps(failure)[:500]}")
        vector_hits, keyword_hits = (r["hits"]["hits"] for r in responses)

        candidates: dict[str, dict[str, Any]] = {}
        for hit in vector_hits:
            source = hit["_source"]
            candidates[source["passage_id"]] = {
                "source": source,
                "keyword": 0.0,
                "cosine": cosine_from_score(float(hit["_score"])),
            }
        for hit in keyword_hits:
            source = hit["_source"]
            entry = candidates.setdefault(source["passage_id"], {"source": source, "keyword": 0.0, "cosine": None})
            entry["keyword"] = float(hit["_score"])
            if entry["cosine"] is None:
                stored = np.asarray(source.get("embedding") or [], dtype=np.float32)
                entry["cosine"] = (
                    float(stored @ vector) / (norm * (float(np.linalg.norm(stored)) or 1.0))
                    if stored.shape == vector.shape
                    else 0.0
                )
        if not candidates:
            return []
        entries = list(candidates.values())
        ranked = scoring.hybrid(
            np.array([e["keyword"] for e in entries], dtype=np.float32),
            np.maximum(np.array([e["cosine"] for e in entries], dtype=np.float32), 0.0),
        )
        scored = []
        for position in np.argsort(-ranked, kind="stable")[: max(2 * k, 10)]:
            entry = entries[int(position)]
            passage = _passage(entry["source"])
            confidence = scoring.confidence(
                query,
                f"{passage.title} {passage.section} {passage.text}",
                entry["cosine"],
                section=passage.section,
                embedder=self.embedder,
            )
            # As in the embedded index, the final order also weighs how much of the question a passage answers.
            scored.append(
                Hit(
                    passage=passage,
                    score=scoring.final_rank(float(ranked[position]), confidence),
                    confidence=confidence,
                    keyword_score=entry["keyword"],
                    vector_score=entry["cosine"],
                )
            )
        scored.sort(key=lambda hit: -hit.score)
        return scored[:k]


def _passage(source: dict[str, Any]) -> Passage:
    fields = {f: source[f] for f in FIELDS if f != "passage_id" and source.get(f) is not None}
    return Passage(id=source["passage_id"], **fields)


def _chunks(items: list[tuple[str, str]]) -> Iterator[list[tuple[str, str]]]:
    chunk: list[tuple[str, str]] = []
    size = 0
    for name, lines in items:
        if chunk and (len(chunk) >= PAGE or size + len(lines) > MAX_BULK_BYTES):
            yield chunk
            chunk, size = [], 0
        chunk.append((name, lines))
        size += len(lines)
    if chunk:
        yield chunk
