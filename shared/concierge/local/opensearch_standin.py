"""A recorded-contract stand-in of the OpenSearch REST API, for tests and local runs: no OpenSearch server can be
installed here, and moto mocks only the control plane.

It answers what `knowledge.opensearch.OpenSearchIndex` sends, with OpenSearch's request and response shapes:

- `HEAD|PUT|GET|DELETE /<index>` (create checks settings and mappings: known settings, field types, analyzers,
  the knn_vector method — and `index.knn` for it), `GET /<index>/_mapping`, `PUT /_index_template/<name>`
  (applied to indexes created without a body, or implicitly by a write);
- `_bulk` (`index`, `create`, `delete`; per-item results and the `errors` flag; documents checked against the
  mapping, `dynamic: strict` enforced, vector length checked);
- `_search`, `_msearch`, `_count`, `_delete_by_query`, `_refresh`. Queries: `knn` (exact search over the stored
  vectors with the mapping's space type and the engine's score, its `filter` honoured), `bool` (`must`,
  `filter`, `should` + `minimum_should_match`, `must_not`), `multi_match` (`best_fields`, `most_fields`; field
  boosts; `fuzziness` AUTO/0/1/2 with `prefix_length`) and `match` scored with Lucene's BM25 (k1 1.2, b 0.75),
  `term`, `terms`, `prefix` (with `case_insensitive`), `range` (`gt`, `gte`, `lt`, `lte` on numeric fields; a
  field holding several values matches when one of them is in range), `exists`, `match_all`; `sort` on keyword and
  numeric fields with `search_after`; `_source` filtering; `composite` aggregations (`terms` sources, `after`) with
  `terms`, `max`, `min` and `value_count` sub-aggregations.

Every request is recorded (`requests`: `(method, path, body)` tuples, the body parsed — a dict, a list of NDJSON
lines for `_bulk`/`_msearch`, or None — with `.headers`, `.query` and `.raw`). `fail_next(status, times)` answers
the next requests with an error (429, 503, ...), `fail_next_items(status, times)` fails the next bulk items
one by one. `serverless=True` behaves like a Serverless vector collection where it differs: no custom `_id` on
index/create, no `_refresh`, no `_delete_by_query`. With `credentials`, every request must carry a valid SigV4
signature for the stand-in's region and service (403 otherwise), checked with botocore. Anything else — an
unknown endpoint, query type, body key, setting or aggregation — is answered 400 with an OpenSearch-shaped
error, so a request the stand-in does not understand fails loudly instead of passing silently.

Not emulated: the real analyzers (text is analyzed with `concierge.knowledge.text.terms` — lowercase, stop words,
a light stemmer — not Lucene's english analyzer), HNSW approximation (k-NN is exact), Lucene's fuzzy rewrite
(a fuzzy match scores as the matched term times 1 - edits/length), shards and replicas, refresh latency
(writes are visible at once, also in `serverless` mode, where the real service takes seconds), versioning and
`if_seq_no`, dynamic mapping (fields outside a non-strict mapping are stored but not mapped), unknown URL
parameters (ignored, not refused), domain advanced options (`rest.action.multi.allow_explicit_index`), the exact
error text Serverless returns for what it does not support, security beyond SigV4 (data access policies,
fine-grained access control), and every API not listed above.
"""

from __future__ import annotations

import fnmatch
import hashlib
import hmac
import itertools
import json
import math
import re
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from werkzeug.serving import WSGIRequestHandler
from werkzeug.wrappers import Request, Response

from concierge.knowledge.text import terms
from concierge.local.served import ServedApp

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment
    from botocore.credentials import Credentials

K1, B = 1.2, 0.75
FIELD_TYPES = {"knn_vector", "text", "keyword", "integer", "long", "float", "double", "boolean", "date"}
ANALYZERS = {"standard", "english", "simple", "whitespace", "keyword"}
SETTINGS = {
    "index.knn",
    "index.number_of_shards",
    "index.number_of_replicas",
    "index.auto_expand_replicas",
    "index.refresh_interval",
    "index.knn.algo_param.ef_search",
}
ENGINE_SPACES = {
    "faiss": {"l2", "innerproduct", "cosinesimil"},
    "lucene": {"l2", "innerproduct", "cosinesimil"},
    "nmslib": {"l2", "innerproduct", "cosinesimil", "l1", "linf"},
}
SEARCH_KEYS = {"query", "size", "from", "_source", "sort", "search_after", "aggs", "aggregations", "track_total_hits"}
NDJSON_ENDPOINTS = {"_bulk", "_msearch"}


class _Reject(Exception):
    """An OpenSearch error response: status, error type, reason."""

    def __init__(self, status: int, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.status, self.kind, self.reason = status, kind, reason

    def body(self) -> dict[str, Any]:
        cause = {"type": self.kind, "reason": self.reason}
        return {"error": {"root_cause": [cause], **cause}, "status": self.status}


def _bad(reason: str, kind: str = "parsing_exception") -> _Reject:
    return _Reject(400, kind, reason)


class RecordedRequest(tuple[Any, ...]):
    """`(method, path, body)`, with `.headers`, `.query` (URL parameters) and `.raw` (the body as sent); also
    readable by name (`request["path"]`)."""

    headers: dict[str, str]
    query: dict[str, str]
    raw: str

    def __new__(
        cls, method: str, path: str, body: Any, headers: dict[str, str], query: dict[str, str], raw: str
    ) -> RecordedRequest:
        self = super().__new__(cls, (method, path, body))
        self.headers, self.query, self.raw = headers, query, raw
        return self

    method = property(lambda self: tuple.__getitem__(self, 0))
    path = property(lambda self: tuple.__getitem__(self, 1))
    body = property(lambda self: tuple.__getitem__(self, 2))

    def __getitem__(self, key: Any) -> Any:
        return getattr(self, key) if isinstance(key, str) else tuple.__getitem__(self, key)


@dataclass
class _Index:
    name: str
    settings: dict[str, Any]
    mappings: dict[str, Any]
    docs: dict[str, dict[str, Any]] = field(default_factory=dict)
    tokens: dict[str, dict[str, Counter[str]]] = field(default_factory=dict)  # doc id -> text field -> term counts
    seq: itertools.count[int] = field(default_factory=itertools.count)

    @property
    def properties(self) -> dict[str, dict[str, Any]]:
        properties: dict[str, dict[str, Any]] = self.mappings.get("properties", {})
        return properties

    stats: dict[str, tuple[int, float, Counter[str]]] = field(default_factory=dict)  # field -> (docs, mean length, df)

    def put(self, doc_id: str, source: dict[str, Any]) -> None:
        self.docs[doc_id] = source
        self.tokens[doc_id] = {
            name: Counter(terms(str(source.get(name) or "")))
            for name, spec in self.properties.items()
            if spec.get("type") == "text"
        }
        self.stats.clear()

    def pop(self, doc_id: str) -> bool:
        self.tokens.pop(doc_id, None)
        self.stats.clear()
        return self.docs.pop(doc_id, None) is not None

    def field_stats(self, name: str) -> tuple[int, float, Counter[str]]:
        """Documents with the text field, their mean length in terms, and each term's document frequency."""
        if name not in self.stats:
            present = [counts[name] for counts in self.tokens.values() if counts.get(name)]
            df: Counter[str] = Counter()
            for counts in present:
                df.update(counts.keys())
            mean = sum(sum(c.values()) for c in present) / len(present) if present else 1.0
            self.stats[name] = (len(present), mean or 1.0, df)
        return self.stats[name]


def _flatten(settings: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in settings.items():
        if isinstance(value, dict):
            flat |= _flatten(value, f"{prefix}{key}.")
        else:
            flat[f"{prefix}{key}"] = value
    return {k if k.startswith("index.") else f"index.{k}": v for k, v in flat.items()}


def _levenshtein(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def _allowed_edits(fuzziness: Any, term: str) -> int:
    if fuzziness in (None, 0, "0"):
        return 0
    if str(fuzziness).upper() == "AUTO":
        return 0 if len(term) < 3 else 1 if len(term) <= 5 else 2
    if str(fuzziness) in ("1", "2"):
        return int(fuzziness)
    raise _bad(f"fuzziness [{fuzziness}] is not supported by the stand-in")


def _values(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


class OpenSearchApp:
    """The WSGI app. Requests are served one at a time (a lock), so the stored state is always consistent."""

    def __init__(
        self,
        serverless: bool = False,
        credentials: Credentials | tuple[str, ...] | None = None,
        region: str = "us-east-1",
        service: str = "es",
    ) -> None:
        self.serverless = serverless
        self.indices: dict[str, _Index] = {}
        self.templates: dict[str, dict[str, Any]] = {}
        self.requests: list[RecordedRequest] = []
        self._failures: list[tuple[int, str]] = []
        self._item_failures: list[int] = []
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self._verifier = _SigV4Verifier(credentials, region, service) if credentials is not None else None

    # test controls -----------------------------------------------------------------------
    def fail_next(self, status: int, times: int = 1, path: str = "") -> None:
        """Answer the next `times` requests whose path ends with `path` (any request if empty) with `status`."""
        if not 400 <= status <= 599:
            raise ValueError(f"fail_next takes an error status, got {status}")
        with self._lock:
            self._failures.extend([(status, path)] * times)

    def fail_next_items(self, status: int = 429, times: int = 1) -> None:
        """Fail the next `times` bulk items (index, create or delete) with `status`, the rest of the request as
        usual."""
        with self._lock:
            self._item_failures.extend([status] * times)

    def documents(self, index: str) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {doc_id: dict(source) for doc_id, source in self._index(index).docs.items()}

    # WSGI --------------------------------------------------------------------------------
    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        raw_bytes = request.get_data()
        raw = raw_bytes.decode("utf-8", errors="replace")
        parts = [p for p in request.path.split("/") if p]
        with self._lock:
            try:
                body = self._parse(raw, ndjson=bool(parts) and parts[-1] in NDJSON_ENDPOINTS)
            except _Reject as reject:
                body = raw
                self._record(request, body, raw)
                return self._error(reject, request.method)(environ, start_response)
            self._record(request, body, raw)
            try:
                if self._verifier is not None:
                    self._verifier.verify(request, raw_bytes)
                self._inject_failure(request.path)
                response = self._dispatch(request.method, parts, body)
            except _Reject as reject:
                response = self._error(reject, request.method)
        return response(environ, start_response)

    def _record(self, request: Request, body: Any, raw: str) -> None:
        self.requests.append(
            RecordedRequest(request.method, request.path, body, dict(request.headers), request.args.to_dict(), raw)
        )

    @staticmethod
    def _parse(raw: str, ndjson: bool) -> Any:
        if not raw.strip():
            return None
        try:
            if ndjson:
                return [json.loads(line) for line in raw.splitlines() if line.strip()]
            return json.loads(raw)
        except json.JSONDecodeError as error:
            raise _bad(f"Failed to parse content to map: {error}", "parse_exception") from None

    def _inject_failure(self, path: str) -> None:
        for n, (status, suffix) in enumerate(self._failures):
            if path.endswith(suffix):
                self._failures.pop(n)
                kind = {429: "rejected_execution_exception", 503: "unavailable_shards_exception"}.get(
                    status, "exception"
                )
                raise _Reject(status, kind, f"injected by the stand-in: {status}")

    @staticmethod
    def _error(reject: _Reject, method: str) -> Response:
        if method == "HEAD":
            return Response(status=reject.status)
        return Response(json.dumps(reject.body()), status=reject.status, mimetype="application/json")

    @staticmethod
    def _json(payload: Any, status: int = 200) -> Response:
        return Response(json.dumps(payload), status=status, mimetype="application/json")

    # routing -----------------------------------------------------------------------------
    def _dispatch(self, method: str, parts: list[str], body: Any) -> Response:
        if parts and parts[-1] == "_bulk" and len(parts) <= 2 and method in ("POST", "PUT"):
            return self._json(self._bulk(body or [], parts[0] if len(parts) == 2 else None))
        if parts and parts[-1] == "_msearch" and len(parts) <= 2 and method in ("GET", "POST"):
            return self._json(self._msearch(body or [], parts[0] if len(parts) == 2 else None))
        if len(parts) == 2 and parts[0] == "_index_template":
            return self._template(method, parts[1], body)
        if len(parts) == 1 and not parts[0].startswith("_"):
            return self._index_api(method, parts[0], body)
        if len(parts) == 2 and not parts[0].startswith("_"):
            index, endpoint = parts
            if endpoint == "_mapping" and method == "GET":
                return self._json({index: {"mappings": self._index(index).mappings}})
            if endpoint == "_search" and method in ("GET", "POST"):
                return self._json(self._search(self._index(index), body or {}))
            if endpoint == "_count" and method in ("GET", "POST"):
                self._only(body or {}, {"query"}, "count")
                target = self._index(index)
                matches = self._matching(target, (body or {}).get("query", {"match_all": {}}))
                return self._json({"count": len(matches), "_shards": {"total": 1, "successful": 1, "failed": 0}})
            if endpoint == "_refresh" and method in ("GET", "POST"):
                self._index(index)
                if self.serverless:
                    raise _bad("refresh is not supported by OpenSearch Serverless", "illegal_argument_exception")
                return self._json({"_shards": {"total": 1, "successful": 1, "failed": 0}})
            if endpoint == "_delete_by_query" and method == "POST":
                if self.serverless:  # what clients report from Serverless: 404
                    raise _Reject(
                        404, "illegal_argument_exception", "delete by query is not supported by OpenSearch Serverless"
                    )
                return self._json(self._delete_by_query(self._index(index), body or {}))
        raise _bad(
            f"no handler found for uri [/{'/'.join(parts)}] and method [{method}] (not emulated by the stand-in)",
            "illegal_argument_exception",
        )

    def _index(self, name: str) -> _Index:
        if name not in self.indices:
            raise _Reject(404, "index_not_found_exception", f"no such index [{name}]")
        return self.indices[name]

    @staticmethod
    def _only(body: dict[str, Any], allowed: set[str], where: str) -> None:
        unknown = sorted(set(body) - allowed)
        if unknown:
            raise _bad(f"Unknown key [{unknown[0]}] in {where} (not emulated by the stand-in)")

    # indexes and templates ---------------------------------------------------------------
    def _index_api(self, method: str, name: str, body: Any) -> Response:
        if method == "HEAD":
            return Response(status=200 if name in self.indices else 404)
        if method == "GET":
            index = self._index(name)
            return self._json({name: {"settings": index.settings, "mappings": index.mappings}})
        if method == "DELETE":
            self._index(name)
            del self.indices[name]
            return self._json({"acknowledged": True})
        if method == "PUT":
            if name in self.indices:
                raise _Reject(400, "resource_already_exists_exception", f"index [{name}] already exists")
            if name != name.lower():
                raise _bad(f"Invalid index name [{name}], must be lowercase", "invalid_index_name_exception")
            self.indices[name] = self._create(name, body)
            return self._json({"acknowledged": True, "shards_acknowledged": True, "index": name})
        raise _bad(f"no handler found for uri [/{name}] and method [{method}]", "illegal_argument_exception")

    def _create(self, name: str, body: dict[str, Any] | None) -> _Index:
        template = self._template_for(name)
        body = body or {}
        self._only(body, {"settings", "mappings", "aliases"}, "create index")
        settings = _flatten(template.get("settings", {})) | _flatten(body.get("settings", {}))
        mappings = body.get("mappings") or template.get("mappings") or {}
        for key in settings:
            if key not in SETTINGS:
                raise _bad(f"unknown setting [{key}] (or not emulated by the stand-in)", "illegal_argument_exception")
        self._check_mappings(mappings, settings)
        return _Index(name, settings, mappings)

    @staticmethod
    def _check_mappings(mappings: dict[str, Any], settings: dict[str, Any]) -> None:
        OpenSearchApp._only(mappings, {"dynamic", "properties", "_source", "_meta"}, "mappings")
        if mappings.get("dynamic", True) not in (True, False, "true", "false", "strict"):
            raise _bad(
                f"dynamic must be true, false or strict, not {mappings['dynamic']!r}", "mapper_parsing_exception"
            )
        for name, spec in mappings.get("properties", {}).items():
            kind = spec.get("type")
            if kind not in FIELD_TYPES:
                raise _bad(f"No handler for type [{kind}] declared on field [{name}]", "mapper_parsing_exception")
            if kind == "text" and spec.get("analyzer", "standard") not in ANALYZERS:
                raise _bad(
                    f"analyzer [{spec['analyzer']}] has not been configured in mappings", "mapper_parsing_exception"
                )
            if kind != "knn_vector":
                continue
            dimension = spec.get("dimension")
            if not isinstance(dimension, int) or not 1 <= dimension <= 16000:
                raise _bad(
                    f"Dimension value must be an integer between 1 and 16000 on field [{name}]",
                    "mapper_parsing_exception",
                )
            method = spec.get("method")
            if method is None:
                continue
            if str(settings.get("index.knn", False)).lower() != "true":
                raise _bad(
                    f"Cannot set modelId or method parameters when index.knn setting is false [{name}]",
                    "mapper_parsing_exception",
                )
            if method.get("name") != "hnsw":
                raise _bad(f"method [{method.get('name')}] is not emulated by the stand-in", "mapper_parsing_exception")
            engine, space = method.get("engine", "faiss"), method.get("space_type", "l2")
            if space not in ENGINE_SPACES.get(engine, set()):
                raise _bad(f"engine [{engine}] does not support space type [{space}]", "mapper_parsing_exception")

    def _template(self, method: str, name: str, body: Any) -> Response:
        if method in ("PUT", "POST"):
            if not isinstance(body, dict):
                raise _bad("request body is required", "action_request_validation_exception")
            self._only(
                body, {"index_patterns", "template", "priority", "composed_of", "version", "_meta"}, "index template"
            )
            if not body.get("index_patterns"):
                raise _bad("index patterns are missing", "action_request_validation_exception")
            template = body.get("template", {})
            self._only(template, {"settings", "mappings", "aliases"}, "template")
            self._check_mappings(template.get("mappings", {}), _flatten(template.get("settings", {})))
            self.templates[name] = body
            return self._json({"acknowledged": True})
        if method == "HEAD":
            return Response(status=200 if name in self.templates else 404)
        if method == "GET":
            if name not in self.templates:
                raise _Reject(404, "resource_not_found_exception", f"index template matching [{name}] not found")
            return self._json({"index_templates": [{"name": name, "index_template": self.templates[name]}]})
        raise _bad(
            f"no handler found for uri [/_index_template/{name}] and method [{method}]", "illegal_argument_exception"
        )

    def _template_for(self, index: str) -> dict[str, Any]:
        matching = [
            t
            for t in self.templates.values()
            if any(fnmatch.fnmatchcase(index, p) for p in _values(t["index_patterns"]))
        ]
        matching.sort(key=lambda t: -int(t.get("priority", 0)))
        return matching[0].get("template", {}) if matching else {}

    # bulk --------------------------------------------------------------------------------
    def _bulk(self, lines: list[dict[str, Any]], default_index: str | None) -> dict[str, Any]:
        items, position = [], 0
        started = time.perf_counter()
        while position < len(lines):
            if len(lines[position]) != 1:
                raise _bad(
                    f"Malformed action/metadata line [{position + 1}], expected a single operation",
                    "illegal_argument_exception",
                )
            ((operation, meta),) = lines[position].items()
            if operation not in ("index", "create", "delete"):
                raise _bad(
                    f"Malformed action/metadata line [{position + 1}], the stand-in does not emulate [{operation}]",
                    "illegal_argument_exception",
                )
            self._only(meta, {"_index", "_id"}, f"bulk {operation} metadata")
            source = None
            if operation != "delete":
                if position + 1 >= len(lines):
                    raise _bad("The bulk request must be terminated by a newline [\\n]", "illegal_argument_exception")
                source = lines[position + 1]
            position += 1 if operation == "delete" else 2
            name = meta.get("_index", default_index)
            if name is None:
                raise _bad("index is missing", "action_request_validation_exception")
            items.append({operation: self._bulk_item(operation, name, meta.get("_id"), source)})
        errors = any(not 200 <= next(iter(item.values()))["status"] < 300 for item in items)
        return {"took": int((time.perf_counter() - started) * 1000), "errors": errors, "items": items}

    def _bulk_item(
        self, operation: str, name: str, doc_id: str | None, source: dict[str, Any] | None
    ) -> dict[str, Any]:
        def failure(status: int, kind: str, reason: str) -> dict[str, Any]:
            return {"_index": name, "_id": doc_id, "status": status, "error": {"type": kind, "reason": reason}}

        if self._item_failures:
            status = self._item_failures.pop(0)
            kind = "rejected_execution_exception" if status == 429 else "exception"
            return failure(status, kind, f"injected by the stand-in: {status}")
        if operation == "delete":
            if doc_id is None:
                return failure(400, "action_request_validation_exception", "id is missing")
            if name not in self.indices:
                return failure(404, "index_not_found_exception", f"no such index [{name}]")
            found = self.indices[name].pop(doc_id)
            return {
                "_index": name,
                "_id": doc_id,
                "result": "deleted" if found else "not_found",
                "status": 200 if found else 404,
                "_version": 1,
            }
        if name not in self.indices:  # implicit creation, with the matching template if there is one
            self.indices[name] = self._create(name, None)
        index = self.indices[name]
        vector_index = any(spec.get("type") == "knn_vector" for spec in index.properties.values())
        if self.serverless and vector_index and doc_id is not None:
            return failure(
                400, "illegal_argument_exception", "Document ID is not supported in create/index operation request"
            )
        problem = self._invalid_document(index, source)
        if problem:
            return failure(400, *problem)
        if doc_id is None:
            doc_id = f"{next(self._ids):020d}"
        exists = doc_id in index.docs
        if operation == "create" and exists:
            return failure(
                409, "version_conflict_engine_exception", f"[{doc_id}]: version conflict, document already exists"
            )
        index.put(doc_id, cast(dict[str, Any], source))  # _invalid_document found a dict
        return {
            "_index": name,
            "_id": doc_id,
            "_version": 1,
            "result": "updated" if exists else "created",
            "status": 200 if exists else 201,
            "_seq_no": next(index.seq),
            "_primary_term": 1,
            "_shards": {"total": 1, "successful": 1, "failed": 0},
        }

    @staticmethod
    def _invalid_document(index: _Index, source: Any) -> tuple[str, str] | None:
        if not isinstance(source, dict):
            return "mapper_parsing_exception", "failed to parse, document is empty"
        properties = index.properties
        for key, value in source.items():
            spec = properties.get(key)
            if spec is None:
                if index.mappings.get("dynamic") == "strict":
                    return (
                        "strict_dynamic_mapping_exception",
                        f"mapping set to strict, dynamic introduction of [{key}] within [_doc] is not allowed",
                    )
                continue
            kind = spec["type"]
            if value is None:
                continue
            if kind == "knn_vector":
                if not isinstance(value, list) or not all(
                    isinstance(x, (int, float)) and not isinstance(x, bool) for x in value
                ):
                    return "mapper_parsing_exception", f"failed to parse field [{key}] of type [knn_vector]"
                if len(value) != spec["dimension"]:
                    return (
                        "mapper_parsing_exception",
                        f"Vector dimension mismatch. Expected: {spec['dimension']}, Given: {len(value)}",
                    )
            elif (kind in ("keyword", "text") and not all(isinstance(v, str) for v in _values(value))) or (
                kind in ("integer", "long")
                and not all(isinstance(v, int) and not isinstance(v, bool) for v in _values(value))
            ):
                return "mapper_parsing_exception", f"failed to parse field [{key}] of type [{kind}]"
            elif kind == "boolean" and not all(isinstance(v, bool) for v in _values(value)):
                return "mapper_parsing_exception", f"failed to parse field [{key}] of type [boolean]"
        return None

    # search ------------------------------------------------------------------------------
    def _msearch(self, lines: list[dict[str, Any]], default_index: str | None) -> dict[str, Any]:
        if len(lines) % 2:
            raise _bad("The msearch request must be header and body pairs", "illegal_argument_exception")
        responses = []
        for header, body in zip(lines[::2], lines[1::2], strict=True):
            try:
                self._only(header, {"index"}, "msearch header")
                name = header.get("index", default_index)
                if name is None:
                    raise _bad("index is missing", "action_request_validation_exception")
                responses.append({**self._search(self._index(name), body), "status": 200})
            except _Reject as reject:
                responses.append(reject.body())
        return {"took": 1, "responses": responses}

    def _search(self, index: _Index, body: dict[str, Any]) -> dict[str, Any]:
        self._only(body, SEARCH_KEYS, "search request")
        query = body.get("query", {"match_all": {}})
        size, offset = int(body.get("size", 10)), int(body.get("from", 0))
        if isinstance(query, dict) and set(query) == {"knn"}:
            scored = self._knn(index, query["knn"])
        else:
            scored = self._matching(index, query)
        total = len(scored)
        if "sort" in body:
            scored, sort_values = self._sorted(index, scored, body["sort"], body.get("search_after"))
        else:
            if "search_after" in body:
                raise _bad("search_after needs a sort", "illegal_argument_exception")
            scored.sort(key=lambda pair: -pair[1])
            sort_values = None
        page = list(range(len(scored)))[offset : offset + size]
        hits = []
        for n in page:
            doc_id, score = scored[n]
            hit: dict[str, Any] = {"_index": index.name, "_id": doc_id, "_score": None if sort_values else score}
            source = self._filter_source(index.docs[doc_id], body.get("_source", True))
            if source is not None:
                hit["_source"] = source
            if sort_values:
                hit["sort"] = sort_values[n]
            hits.append(hit)
        result: dict[str, Any] = {
            "took": 1,
            "timed_out": False,
            "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
            "hits": {
                "total": {"value": total, "relation": "eq"},
                "max_score": max((h["_score"] for h in hits if h["_score"] is not None), default=None),
                "hits": hits,
            },
        }
        aggs = body.get("aggs", body.get("aggregations"))
        if aggs is not None:
            result["aggregations"] = self._aggregations(index, [doc_id for doc_id, _ in scored], aggs)
        return result

    @staticmethod
    def _filter_source(source: dict[str, Any], wanted: Any) -> dict[str, Any] | None:
        if wanted is False:
            return None
        if wanted is True:
            return dict(source)
        if isinstance(wanted, str):
            wanted = [wanted]
        if isinstance(wanted, dict):
            includes, excludes = _values(wanted.get("includes")), _values(wanted.get("excludes"))
        elif isinstance(wanted, list):
            includes, excludes = wanted, []
        else:
            raise _bad(f"[_source] must be a boolean, a list or an object, not {wanted!r}")
        keep = {k: v for k, v in source.items() if not includes or any(fnmatch.fnmatchcase(k, p) for p in includes)}
        return {k: v for k, v in keep.items() if not any(fnmatch.fnmatchcase(k, p) for p in excludes)}

    def _matching(self, index: _Index, query: dict[str, Any]) -> list[tuple[str, float]]:
        scored = []
        for doc_id in index.docs:
            score = self._evaluate(index, doc_id, query, scoring=True)
            if score is not None:
                scored.append((doc_id, score))
        return scored

    def _sorted(
        self, index: _Index, scored: list[tuple[str, float]], sort: Any, after: Any
    ) -> tuple[list[tuple[str, float]], list[list[Any]]]:
        keys = []
        for item in _values(sort):
            if isinstance(item, str):
                name, order = item, "asc"
            else:
                ((name, spec),) = item.items()
                order = spec if isinstance(spec, str) else spec.get("order", "asc")
            if name != "_score":
                kind = index.properties.get(name, {}).get("type")
                if kind == "text":
                    raise _bad(
                        f"Text fields are not optimised for operations that require per-document field data "
                        f"like aggregations and sorting, so these operations are disabled by default. "
                        f"Please use a keyword field instead. [{name}]",
                        "illegal_argument_exception",
                    )
                if kind is None or kind == "knn_vector":
                    raise _bad(f"No mapping found for [{name}] in order to sort on", "query_shard_exception")
            keys.append((name, order))

        def value(doc_id: str, score: float, name: str) -> Any:
            if name == "_score":
                return score
            values = _values(index.docs[doc_id].get(name))
            return min(values) if values else None

        rows = [(doc_id, score, [value(doc_id, score, name) for name, _ in keys]) for doc_id, score in scored]

        def compare_key(row: tuple[str, float, list[Any]]) -> tuple[tuple[bool, Any], ...]:
            return tuple(
                ((v is None), v if order == "asc" else _Reverse(v)) for v, (_, order) in zip(row[2], keys, strict=True)
            )

        rows.sort(key=compare_key)
        if after is not None:
            if len(_values(after)) != len(keys):
                raise _bad("search_after has as many values as the sort has fields", "illegal_argument_exception")
            marker = compare_key(("", 0.0, _values(after)))
            rows = [row for row in rows if compare_key(row) > marker]
        return [(doc_id, score) for doc_id, score, _ in rows], [values for _, _, values in rows]

    # queries -----------------------------------------------------------------------------
    def _evaluate(self, index: _Index, doc_id: str, clause: Any, scoring: bool) -> float | None:
        """The clause's score for the document, or None when it does not match."""
        if not isinstance(clause, dict) or len(clause) != 1:
            raise _bad(f"a query is an object with one query type, not {json.dumps(clause)[:200]}")
        ((kind, spec),) = clause.items()
        doc = index.docs[doc_id]
        if kind == "match_all":
            return 1.0
        if kind == "bool":
            return self._bool(index, doc_id, spec, scoring)
        if kind in ("term", "terms", "prefix"):
            return 1.0 if self._term_like(index, doc_id, kind, spec) else None
        if kind == "range":
            return 1.0 if self._range(index, doc_id, spec) else None
        if kind == "exists":
            self._only(spec, {"field", "boost"}, "exists")
            return 1.0 if _values(doc.get(spec["field"])) else None
        if kind == "multi_match":
            return self._multi_match(index, doc_id, spec)
        if kind == "match":
            ((name, options),) = spec.items()
            options = options if isinstance(options, dict) else {"query": options}
            self._only(options, {"query", "fuzziness", "prefix_length", "operator", "boost"}, "match")
            return self._bm25_fields(index, doc_id, options, [(name, float(options.get("boost", 1.0)))], "most_fields")
        if kind == "knn":
            raise _bad(
                "a knn query inside another query is not emulated by the stand-in (send it as the top-level query)"
            )
        raise _bad(f"unknown query [{kind}]", "parsing_exception")

    def _bool(self, index: _Index, doc_id: str, spec: dict[str, Any], scoring: bool) -> float | None:
        self._only(spec, {"must", "filter", "should", "must_not", "minimum_should_match", "boost"}, "bool")
        score = 0.0
        for clause in _values(spec.get("must")):
            result = self._evaluate(index, doc_id, clause, scoring)
            if result is None:
                return None
            score += result
        for clause in _values(spec.get("filter")):
            if self._evaluate(index, doc_id, clause, scoring=False) is None:
                return None
        for clause in _values(spec.get("must_not")):
            if self._evaluate(index, doc_id, clause, scoring=False) is not None:
                return None
        should = [self._evaluate(index, doc_id, clause, scoring) for clause in _values(spec.get("should"))]
        matched = [s for s in should if s is not None]
        default = 0 if (spec.get("must") or spec.get("filter")) else 1 if should else 0
        minimum = spec.get("minimum_should_match", default)
        if not str(minimum).isdigit():
            raise _bad(f"minimum_should_match [{minimum}] is not emulated by the stand-in (a count only)")
        minimum = int(minimum)
        if len(matched) < minimum:
            return None
        return (score + sum(matched)) * float(spec.get("boost", 1.0)) if scoring else 0.0

    def _term_like(self, index: _Index, doc_id: str, kind: str, spec: dict[str, Any]) -> bool:
        spec = {k: v for k, v in spec.items() if k != "boost"}
        if len(spec) != 1:
            raise _bad(f"[{kind}] query takes one field")
        ((name, wanted),) = spec.items()
        insensitive = False
        if isinstance(wanted, dict) and kind != "terms":
            self._only(wanted, {"value", "case_insensitive", "boost"}, kind)
            insensitive, wanted = bool(wanted.get("case_insensitive", False)), wanted["value"]
        if kind == "terms" and not isinstance(wanted, list):
            raise _bad("[terms] query takes a list of values")
        mapping = index.properties.get(name, {})
        if mapping.get("type") == "text":  # a term query on a text field matches an analyzed term
            values: list[Any] = list(index.tokens[doc_id].get(name, {}))
        else:
            values = _values(index.docs[doc_id].get(name))

        def same(a: Any, b: Any) -> bool:
            if insensitive and isinstance(a, str) and isinstance(b, str):
                return a.lower() == b.lower()
            equal: bool = a == b
            return equal

        if kind == "term":
            return any(same(v, wanted) for v in values)
        if kind == "terms":
            return any(same(v, w) for v in values for w in wanted)
        prefix = wanted.lower() if insensitive else wanted
        return any(isinstance(v, str) and (v.lower() if insensitive else v).startswith(prefix) for v in values)

    def _range(self, index: _Index, doc_id: str, spec: dict[str, Any]) -> bool:
        if len(spec) != 1:
            raise _bad("[range] query takes one field")
        ((name, bounds),) = spec.items()
        if not isinstance(bounds, dict) or not bounds:
            raise _bad(f"[range] query on [{name}] takes an object of bounds")
        self._only(bounds, {"gt", "gte", "lt", "lte", "boost"}, "range")
        if index.properties.get(name, {}).get("type") not in ("integer", "long", "float", "double"):
            raise _bad(f"[range] on [{name}] is emulated on numeric fields only")
        checks = {
            "gt": lambda v, b: v > b,
            "gte": lambda v, b: v >= b,
            "lt": lambda v, b: v < b,
            "lte": lambda v, b: v <= b,
        }
        limits = {op: float(bound) for op, bound in bounds.items() if op != "boost"}
        return any(
            all(checks[op](float(value), bound) for op, bound in limits.items())
            for value in _values(index.docs[doc_id].get(name))
        )

    def _multi_match(self, index: _Index, doc_id: str, spec: dict[str, Any]) -> float | None:
        self._only(
            spec,
            {"query", "fields", "type", "fuzziness", "prefix_length", "operator", "tie_breaker", "boost"},
            "multi_match",
        )
        kind = spec.get("type", "best_fields")
        if kind not in ("best_fields", "most_fields"):
            raise _bad(f"multi_match type [{kind}] is not emulated by the stand-in")
        fields = []
        for item in spec.get("fields") or []:
            name, _, boost = item.partition("^")
            fields.append((name, float(boost or 1.0)))
        if not fields:
            raise _bad("multi_match needs fields (the stand-in does not emulate index.query.default_field)")
        return self._bm25_fields(index, doc_id, spec, fields, kind)

    def _bm25_fields(
        self, index: _Index, doc_id: str, spec: dict[str, Any], fields: list[tuple[str, float]], kind: str
    ) -> float | None:
        query_terms = terms(str(spec.get("query", "")))
        operator = str(spec.get("operator", "or")).lower()
        prefix_length = int(spec.get("prefix_length", 0))
        scores = []
        for name, boost in fields:
            if index.properties.get(name, {}).get("type") != "text":
                continue
            per_term = [
                self._bm25(index, doc_id, name, term, spec.get("fuzziness"), prefix_length) for term in query_terms
            ]
            matched = [s for s in per_term if s > 0]
            if not matched or (operator == "and" and len(matched) < len(per_term)):
                continue
            scores.append(boost * sum(matched))
        if not scores:
            return None
        if kind == "most_fields":
            total = sum(scores)
        else:
            best = max(scores)
            total = best + float(spec.get("tie_breaker", 0.0)) * (sum(scores) - best)
        return total * float(spec.get("boost", 1.0))

    def _bm25(self, index: _Index, doc_id: str, name: str, term: str, fuzziness: Any, prefix_length: int) -> float:
        counts = index.tokens[doc_id].get(name, Counter())
        if not counts:
            return 0.0
        edits = _allowed_edits(fuzziness, term)
        best = 0.0
        documents, average, frequencies = index.field_stats(name)
        length = sum(counts.values())
        for candidate, tf in counts.items():
            if candidate == term:
                similarity = 1.0
            elif (
                edits and candidate[:prefix_length] == term[:prefix_length] and abs(len(candidate) - len(term)) <= edits
            ):
                distance = _levenshtein(candidate, term)
                if distance > edits:
                    continue
                similarity = 1.0 - distance / min(len(candidate), len(term))
            else:
                continue
            df = frequencies[candidate]
            idf = math.log(1 + (documents - df + 0.5) / (df + 0.5))
            best = max(best, similarity * idf * tf / (tf + K1 * (1 - B + B * length / average)))
        return best

    def _knn(self, index: _Index, knn: dict[str, Any]) -> list[tuple[str, float]]:
        if len(knn) != 1:
            raise _bad("[knn] query takes one field")
        ((name, spec),) = knn.items()
        self._only(spec, {"vector", "k", "filter", "boost", "method_parameters"}, "knn")
        mapping = index.properties.get(name, {})
        if mapping.get("type") != "knn_vector":
            raise _bad(f"Field '{name}' is not knn_vector type.", "illegal_argument_exception")
        vector, k = spec.get("vector"), spec.get("k")
        if not isinstance(k, int) or k < 1:
            raise _bad("[knn] requires k > 0", "illegal_argument_exception")
        if not isinstance(vector, list) or len(vector) != mapping["dimension"]:
            raise _bad(
                f"Query vector has invalid dimension: {len(vector or [])}. Dimension should be: {mapping['dimension']}",
                "illegal_argument_exception",
            )
        method = mapping.get("method", {})
        engine, space = method.get("engine", "faiss"), method.get("space_type", mapping.get("space_type", "l2"))
        if "filter" in spec and engine == "nmslib":
            raise _bad("Engine [NMSLIB] does not support filters", "illegal_argument_exception")
        scored = []
        for doc_id, doc in index.docs.items():
            stored = doc.get(name)
            if not stored:
                continue
            if "filter" in spec and self._evaluate(index, doc_id, spec["filter"], scoring=False) is None:
                continue
            scored.append((doc_id, _knn_score(space, engine, stored, vector)))
        scored.sort(key=lambda pair: -pair[1])
        return scored[:k]

    # aggregations ------------------------------------------------------------------------
    def _aggregations(self, index: _Index, doc_ids: list[str], aggs: dict[str, Any]) -> dict[str, Any]:
        result = {}
        for name, spec in aggs.items():
            spec = dict(spec)
            sub = spec.pop("aggs", spec.pop("aggregations", None))
            if len(spec) != 1:
                raise _bad(f"aggregation [{name}] has one type")
            ((kind, options),) = spec.items()
            if kind == "composite":
                result[name] = self._composite(index, doc_ids, options, sub)
            elif kind == "terms" and sub is None:
                self._only(options, {"field", "size"}, "terms aggregation")
                values = Counter(v for d in doc_ids for v in _values(index.docs[d].get(options["field"])))
                ordered = sorted(values.items(), key=lambda kv: (-kv[1], str(kv[0])))[: int(options.get("size", 10))]
                result[name] = {
                    "doc_count_error_upper_bound": 0,
                    "sum_other_doc_count": max(0, sum(values.values()) - sum(c for _, c in ordered)),
                    "buckets": [{"key": v, "doc_count": c} for v, c in ordered],
                }
            elif kind in ("max", "min", "value_count") and sub is None:
                self._only(options, {"field"}, f"{kind} aggregation")
                field_values = [v for d in doc_ids for v in _values(index.docs[d].get(options["field"]))]
                if kind == "value_count":
                    result[name] = {"value": len(field_values)}
                else:
                    result[name] = {"value": (max if kind == "max" else min)(field_values) if field_values else None}
            else:
                raise _bad(f"aggregation [{kind}] (here) is not emulated by the stand-in")
        return result

    def _composite(
        self, index: _Index, doc_ids: list[str], options: dict[str, Any], sub: dict[str, Any] | None
    ) -> dict[str, Any]:
        self._only(options, {"size", "sources", "after"}, "composite aggregation")
        sources = []
        for source in options.get("sources", []):
            ((name, spec),) = source.items()
            if set(spec) != {"terms"}:
                raise _bad("only terms sources are emulated in composite aggregations")
            self._only(spec["terms"], {"field"}, "composite terms source")
            field_name = spec["terms"]["field"]
            if index.properties.get(field_name, {}).get("type") in ("text", None):
                raise _bad(
                    f"composite source field [{field_name}] must be a keyword or numeric field",
                    "illegal_argument_exception",
                )
            sources.append((name, field_name))
        groups: dict[tuple[Any, ...], list[str]] = {}
        for doc_id in doc_ids:
            doc = index.docs[doc_id]
            for key in itertools.product(*[_values(doc.get(f)) for _, f in sources]):
                groups.setdefault(key, []).append(doc_id)
        keys = sorted(groups)
        after = options.get("after")
        if after:
            marker = tuple(after[name] for name, _ in sources)
            keys = [key for key in keys if key > marker]
        keys = keys[: int(options.get("size", 10))]
        buckets = []
        for key in keys:
            bucket: dict[str, Any] = {
                "key": {name: value for (name, _), value in zip(sources, key, strict=True)},
                "doc_count": len(groups[key]),
            }
            if sub:
                bucket |= self._aggregations(index, groups[key], sub)
            buckets.append(bucket)
        result: dict[str, Any] = {"buckets": buckets}
        if buckets:
            result["after_key"] = buckets[-1]["key"]
        return result

    # delete by query ---------------------------------------------------------------------
    def _delete_by_query(self, index: _Index, body: dict[str, Any]) -> dict[str, Any]:
        self._only(body, {"query"}, "delete by query")
        if "query" not in body:
            raise _bad("query is missing", "action_request_validation_exception")
        matches = [doc_id for doc_id, _ in self._matching(index, body["query"])]
        for doc_id in matches:
            index.pop(doc_id)
        return {
            "took": 1,
            "timed_out": False,
            "total": len(matches),
            "deleted": len(matches),
            "batches": 1,
            "version_conflicts": 0,
            "noops": 0,
            "retries": {"bulk": 0, "search": 0},
            "failures": [],
        }


class _Reverse:
    """Descending order for any comparable value in a sort key."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __lt__(self, other: _Reverse) -> bool:
        less: bool = other.value < self.value
        return less

    def __eq__(self, other: object) -> bool:
        same: bool = isinstance(other, _Reverse) and other.value == self.value
        return same

    def __gt__(self, other: _Reverse) -> bool:
        greater: bool = other.value > self.value
        return greater


def _knn_score(space: str, engine: str, stored: list[float], vector: list[float]) -> float:
    """OpenSearch's k-NN score for the space type (the k-NN "spaces" reference)."""
    dot = sum(a * b for a, b in zip(stored, vector, strict=False))
    if space == "innerproduct":
        if engine == "lucene":
            return dot + 1 if dot > 0 else 1 / (1 - dot)
        distance = -dot
        return 1 / (1 + distance) if distance >= 0 else -distance + 1
    if space == "cosinesimil":
        norms = math.sqrt(sum(a * a for a in stored)) * math.sqrt(sum(b * b for b in vector))
        if norms == 0:
            raise _bad("zero vector is not supported for cosine similarity", "illegal_argument_exception")
        return (2 - (1 - dot / norms)) / 2
    if space == "l2":
        return 1 / (1 + sum((a - b) ** 2 for a, b in zip(stored, vector, strict=False)))
    if space == "l1":
        return 1 / (1 + sum(abs(a - b) for a, b in zip(stored, vector, strict=False)))
    if space == "linf":
        return 1 / (1 + max(abs(a - b) for a, b in zip(stored, vector, strict=False)))
    raise _bad(f"space type [{space}] is not emulated by the stand-in")


class _SigV4Verifier:
    """Checks a request's SigV4 signature the way AWS does: the canonical request rebuilt from what arrived, the
    payload hash against the body, the credential scope against the region and service."""

    PATTERN = re.compile(
        r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
        r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$"
    )

    def __init__(self, credentials: Credentials | tuple[str, ...], region: str, service: str) -> None:
        from botocore.credentials import Credentials

        if isinstance(credentials, tuple):
            credentials = Credentials(*credentials)
        self.credentials, self.region, self.service = credentials, region, service

    def verify(self, request: Request, body: bytes) -> None:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        match = self.PATTERN.match(request.headers.get("Authorization", ""))
        if not match:
            raise _Reject(403, "security_exception", "Missing or malformed SigV4 Authorization header")
        access_key, day, region, service, signed, signature = match.groups()
        if access_key != self.credentials.access_key:
            raise _Reject(403, "security_exception", "The security token included in the request is invalid")
        if (region, service) != (self.region, self.service):
            raise _Reject(
                403,
                "security_exception",
                f"Credential should be scoped to a valid region and service ({self.region}/{self.service}), "
                f"not {region}/{service}",
            )
        timestamp = request.headers.get("X-Amz-Date", "")
        if not timestamp.startswith(day):
            raise _Reject(403, "security_exception", "X-Amz-Date does not match the credential scope date")
        if request.headers.get("X-Amz-Content-SHA256") != hashlib.sha256(body).hexdigest():
            raise _Reject(403, "security_exception", "The provided x-amz-content-sha256 header does not match the body")
        if self.credentials.token and request.headers.get("X-Amz-Security-Token") != self.credentials.token:
            raise _Reject(403, "security_exception", "The security token included in the request is invalid")
        uri = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI") or request.full_path
        headers = {name: request.headers.get(name, "") for name in signed.split(";")}
        rebuilt = AWSRequest(method=request.method, url=f"http://{request.host}{uri}", data=body, headers=headers)
        rebuilt.context["timestamp"] = timestamp
        signer = SigV4Auth(self.credentials, service, region)
        expected = signer.signature(signer.string_to_sign(rebuilt, signer.canonical_request(rebuilt)), rebuilt)
        if not hmac.compare_digest(expected, signature):
            raise _Reject(
                403,
                "security_exception",
                "The request signature we calculated does not match the signature you provided",
            )


class _Quiet(WSGIRequestHandler):
    """No access log: the stand-in records every request itself."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


class OpenSearchStandIn(ServedApp):
    """Serves an `OpenSearchApp` on 127.0.0.1 from a daemon thread; point an opensearch-py client at `host`/`port`
    (or `OpenSearchIndex.from_endpoint(url, ...)`)."""

    name = "OpenSearch stand-in"
    app: OpenSearchApp

    def __init__(
        self,
        port: int = 0,
        *,
        serverless: bool = False,
        credentials: Credentials | tuple[str, ...] | None = None,
        region: str = "us-east-1",
        service: str | None = None,
    ) -> None:
        super().__init__(
            OpenSearchApp(serverless, credentials, region, service or ("aoss" if serverless else "es")),
            port,
            request_handler=_Quiet,
        )

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received, oldest first (the live list: `requests.clear()` forgets them)."""
        return self.app.requests

    def fail_next(self, status: int, times: int = 1, path: str = "") -> None:
        self.app.fail_next(status, times, path)

    def fail_next_items(self, status: int = 429, times: int = 1) -> None:
        self.app.fail_next_items(status, times)

    def documents(self, index: str) -> dict[str, dict[str, Any]]:
        """The stored documents of an index, by internal id."""
        return self.app.documents(index)
