"""A recorded-contract stand-in of the OpenSearch REST API, for tests and local runs (no OpenSearch server can
be installed here, and moto mocks only the control plane).

It answers exactly the requests `knowledge.opensearch.OpenSearchIndex` sends — index existence and creation,
`_bulk` (index and delete), `_search` with a `knn` query (exact inner product, honouring its filter), a `bool`
with `multi_match` (BM25 over the analyzed text, with `fuzziness` ignored) and filters (`term`, `terms`,
`prefix`, `exists`, `must_not`, `should` + `minimum_should_match`), `search_after` on a keyword sort, a
`composite` aggregation with a `terms` sub-aggregation, `_count` and `_refresh` — and records every request
(method, path, headers, body) for tests to assert what the client sent. Anything else is answered 400 with an
OpenSearch-shaped error, so a request the stand-in does not understand fails loudly. Not emulated: analyzers
beyond lower-casing and stemming, HNSW approximation, scoring details, shards, refresh latency.
"""
from __future__ import annotations

import json
import math
import threading
import uuid
from collections import Counter
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from concierge.knowledge.text import terms


class _Reject(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _error(status: int, kind: str, reason: str) -> Response:
    body = {"error": {"root_cause": [{"type": kind, "reason": reason}], "type": kind, "reason": reason}, "status": status}
    return Response(json.dumps(body), status=status, mimetype="application/json")


class OpenSearchApp:
    def __init__(self) -> None:
        self.indices: dict[str, dict[str, Any]] = {}  # name -> {"body": create body, "docs": {id: source}}
        self.requests: list[dict[str, Any]] = []
        self._failures: list[tuple[int, str]] = []
        self._lock = threading.Lock()

    def fail_next(self, status: int, times: int = 1, path: str = "") -> None:
        """Answer the next `times` requests whose path ends with `path` (any request if empty) with `status`."""
        with self._lock:
            self._failures.extend([(status, path)] * times)

    def __call__(self, environ, start_response):
        request = Request(environ)
        raw = request.get_data(as_text=True)
        with self._lock:
            self.requests.append({"method": request.method, "path": request.path, "headers": dict(request.headers), "body": raw})
            failure = None
            for n, (status, suffix) in enumerate(self._failures):
                if request.path.endswith(suffix):
                    failure = self._failures.pop(n)[0]
                    break
        if failure:
            response = _error(failure, "too_many_requests" if failure == 429 else "unavailable", f"injected {failure}")
        else:
            try:
                response = self._dispatch(request, raw)
            except _Reject as reject:
                response = _error(reject.status, "parsing_exception", reject.reason)
        return response(environ, start_response)

    # routing -----------------------------------------------------------------------------
    def _dispatch(self, request: Request, raw: str) -> Response:
        parts = [p for p in request.path.split("/") if p]
        method = request.method
        if parts and parts[-1] == "_bulk":
            return self._json(self._bulk(raw, parts[0] if len(parts) == 2 else None))
        if len(parts) == 1 and method == "HEAD":
            return Response(status=200 if parts[0] in self.indices else 404)
        if len(parts) == 1 and method == "PUT":
            if parts[0] in self.indices:
                raise _Reject(400, f"index [{parts[0]}] already exists")
            self.indices[parts[0]] = {"body": json.loads(raw or "{}"), "docs": {}}
            return self._json({"acknowledged": True, "index": parts[0]})
        if len(parts) == 2:
            index = self._index(parts[0])
            if parts[1] == "_search" and method in ("GET", "POST"):
                return self._json(self._search(index, json.loads(raw or "{}")))
            if parts[1] == "_count":
                return self._json({"count": len(index["docs"])})
            if parts[1] == "_refresh":
                return self._json({"_shards": {"total": 1, "successful": 1, "failed": 0}})
        raise _Reject(400, f"the stand-in does not support {method} {request.path}")

    def _index(self, name: str) -> dict[str, Any]:
        if name not in self.indices:
            raise _Reject(404, f"no such index [{name}]")
        return self.indices[name]

    @staticmethod
    def _json(payload: Any) -> Response:
        return Response(json.dumps(payload), status=200, mimetype="application/json")

    # bulk --------------------------------------------------------------------------------
    def _bulk(self, raw: str, default_index: str | None) -> dict[str, Any]:
        lines = [json.loads(line) for line in raw.splitlines() if line.strip()]
        items, errors, position = [], False, 0
        while position < len(lines):
            (operation, meta), = lines[position].items()
            name = meta.get("_index", default_index)
            index = self._index(name)
            if operation in ("index", "create"):
                source = lines[position + 1]
                position += 2
                missing = [f for f in ("embedding",) if f not in source]
                if missing or len(source["embedding"]) != index["body"]["mappings"]["properties"]["embedding"]["dimension"]:
                    errors = True
                    items.append({operation: {"_index": name, "status": 400, "error": {"type": "mapper_parsing_exception",
                                                                                     "reason": "bad embedding"}}})
                    continue
                doc_id = meta.get("_id") or uuid.uuid4().hex
                index["docs"][doc_id] = source
                items.append({operation: {"_index": name, "_id": doc_id, "status": 201, "result": "created"}})
            elif operation == "delete":
                position += 1
                found = index["docs"].pop(meta["_id"], None) is not None
                items.append({"delete": {"_index": name, "_id": meta["_id"], "status": 200 if found else 404,
                                         "result": "deleted" if found else "not_found"}})
            else:
                raise _Reject(400, f"unsupported bulk operation {operation}")
        return {"took": 1, "errors": errors, "items": items}

    # search ------------------------------------------------------------------------------
    def _search(self, index: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        docs = index["docs"]
        if "aggs" in body or "aggregations" in body:
            return {"hits": {"total": {"value": len(docs)}, "hits": []},
                    "aggregations": self._aggregations(docs, body.get("aggs") or body["aggregations"])}
        query = body.get("query", {"match_all": {}})
        size = int(body.get("size", 10))
        if "knn" in query:
            (field, spec), = query["knn"].items()
            vector = spec["vector"]
            allowed = [i for i, d in docs.items() if "filter" not in spec or self._matches(d, spec["filter"])]
            scored = [(i, self._inner_product_score(docs[i][field], vector)) for i in allowed]
            scored.sort(key=lambda pair: -pair[1])
            scored = scored[: min(size, int(spec.get("k", size)))]
        else:
            scored = self._bm25(docs, query)
            if "sort" in body:
                (key, direction), = body["sort"][0].items()
                scored.sort(key=lambda pair: docs[pair[0]].get(key, ""), reverse=direction == "desc")
                after = body.get("search_after")
                if after:
                    scored = [pair for pair in scored if docs[pair[0]].get(key, "") > after[0]]
            scored = scored[:size]
        hits = []
        for doc_id, score in scored:
            hit: dict[str, Any] = {"_index": "", "_id": doc_id, "_score": score}
            source = body.get("_source", True)
            if source is not False:
                hit["_source"] = {k: v for k, v in docs[doc_id].items() if source is True or k in source}
            if "sort" in body:
                (key, _), = body["sort"][0].items()
                hit["sort"] = [docs[doc_id].get(key, "")]
            hits.append(hit)
        return {"took": 1, "hits": {"total": {"value": len(scored)}, "hits": hits}}

    @staticmethod
    def _inner_product_score(stored: list[float], vector: list[float]) -> float:
        product = sum(a * b for a, b in zip(stored, vector))
        return 1 + product if product >= 0 else 1 / (1 - product)

    def _bm25(self, docs: dict[str, dict], query: dict) -> list[tuple[str, float]]:
        must, filters = {"match_all": {}}, []
        if "bool" in query:
            must = query["bool"].get("must", {"match_all": {}})
            filters = query["bool"].get("filter", [])
            filters = filters if isinstance(filters, list) else [filters]
        elif "match_all" not in query and not any(k in query for k in ("term", "terms", "prefix")):
            raise _Reject(400, f"unsupported query {list(query)}")
        elif "match_all" not in query:
            filters = [query]
        candidates = [i for i, d in docs.items() if all(self._matches(d, f) for f in filters)]
        if "match_all" in must:
            return [(i, 1.0) for i in candidates]
        if "multi_match" not in must:
            raise _Reject(400, f"unsupported query {list(must)}")
        spec = must["multi_match"]
        fields = [(f.split("^")[0], float(f.split("^")[1]) if "^" in f else 1.0) for f in spec["fields"]]
        query_terms = terms(spec["query"])
        counts = {i: {f: Counter(terms(str(docs[i].get(f, "")))) for f, _ in fields} for i in docs}
        n = max(len(docs), 1)
        average = {f: (sum(sum(counts[j][f].values()) for j in docs) / n) or 1.0 for f, _ in fields}
        idf = {
            (f, t): math.log(1 + (n - df + 0.5) / (df + 0.5))
            for f, _ in fields for t in set(query_terms)
            for df in [sum(1 for j in docs if counts[j][f].get(t))]
        }
        scored = []
        for i in candidates:
            score = 0.0
            for field, boost in fields:
                tf_doc = counts[i][field]
                length = sum(tf_doc.values())
                for term in set(query_terms):
                    tf = tf_doc.get(term, 0)
                    if tf:
                        score += boost * idf[(field, term)] * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * length / average[field]))
            if score > 0:
                scored.append((i, score))
        scored.sort(key=lambda pair: -pair[1])
        return scored

    def _matches(self, doc: dict, clause: dict) -> bool:
        (kind, spec), = clause.items()
        if kind == "bool":
            filters = spec.get("filter", [])
            filters = filters if isinstance(filters, list) else [filters]
            must_not = spec.get("must_not", [])
            must_not = must_not if isinstance(must_not, list) else [must_not]
            should = spec.get("should", [])
            ok = all(self._matches(doc, f) for f in filters) and not any(self._matches(doc, f) for f in must_not)
            if should:
                ok = ok and sum(self._matches(doc, f) for f in should) >= int(spec.get("minimum_should_match", 1))
            return ok
        if kind in ("term", "terms", "prefix", "exists"):
            if kind == "exists":
                value = doc.get(spec["field"])
                return value not in (None, [], "")
            (field, wanted), = spec.items()
            values = doc.get(field)
            values = values if isinstance(values, list) else [values]
            if kind == "term":
                return wanted in values
            if kind == "terms":
                return any(v in values for v in wanted)
            return any(isinstance(v, str) and v.startswith(wanted) for v in values)
        raise _Reject(400, f"unsupported filter {kind}")

    @staticmethod
    def _aggregations(docs: dict[str, dict], aggs: dict) -> dict:
        (name, spec), = aggs.items()
        if "composite" not in spec:
            raise _Reject(400, "only composite aggregations are supported")
        composite = spec["composite"]
        (source_name, source), = composite["sources"][0].items()
        field = source["terms"]["field"]
        keys = sorted({d.get(field) for d in docs.values() if d.get(field) is not None})
        after = (composite.get("after") or {}).get(source_name)
        if after is not None:
            keys = [k for k in keys if k > after]
        keys = keys[: int(composite.get("size", 10))]
        (sub_name, sub), = spec.get("aggs", {}).items() if spec.get("aggs") else [("", None)]
        buckets = []
        for key in keys:
            bucket: dict[str, Any] = {"key": {source_name: key}, "doc_count": sum(1 for d in docs.values() if d.get(field) == key)}
            if sub:
                sub_field = sub["terms"]["field"]
                values = Counter(d.get(sub_field) for d in docs.values() if d.get(field) == key)
                bucket[sub_name] = {"buckets": [{"key": v, "doc_count": c} for v, c in values.most_common(int(sub["terms"].get("size", 10)))]}
            buckets.append(bucket)
        result: dict[str, Any] = {"buckets": buckets}
        if buckets:
            result["after_key"] = buckets[-1]["key"]
        return {name: result}


class OpenSearchStandIn:
    def __init__(self, port: int = 0) -> None:
        self.app = OpenSearchApp()
        self._server = make_server("127.0.0.1", port, self.app, threaded=True)
        self._thread: threading.Thread | None = None

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def port(self) -> int:
        return self._server.server_port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def requests(self) -> list[dict[str, Any]]:
        return self.app.requests

    def fail_next(self, status: int, times: int = 1, path: str = "") -> None:
        self.app.fail_next(status, times, path)

    def start(self) -> "OpenSearchStandIn":
        self._thread = threading.Thread(target=self._server.serve_forever, name="opensearch-standin", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
