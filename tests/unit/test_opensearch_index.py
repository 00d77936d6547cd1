"""The OpenSearch knowledge index through the real opensearch-py client, against the local stand-in of the
REST API: the requests it sends (mapping, bulk, k-NN with filters, BM25, deletions) and what it makes of the
answers; SigV4 signing for Serverless and managed domains."""
from __future__ import annotations

import json

import numpy as np
import pytest
from opensearchpy import OpenSearch

from concierge.demo import ARTICLES
from concierge.knowledge.documents import Document, from_article, split
from concierge.knowledge.embeddings import HashingEmbedder
from concierge.knowledge.opensearch import OpenSearchIndex, inner_product_from_score
from concierge.knowledge.port import ANSWER_THRESHOLD, SearchFilters
from concierge.knowledge.sync import sync
from concierge.local.opensearch_standin import OpenSearchStandIn

EMBEDDER = HashingEmbedder()


@pytest.fixture
def standin():
    server = OpenSearchStandIn().start()
    yield server
    server.stop()


@pytest.fixture
def index(standin) -> OpenSearchIndex:
    client = OpenSearch(hosts=[{"host": standin.host, "port": standin.port}], use_ssl=False, max_retries=0)
    index = OpenSearchIndex(client, "knowledge-test", EMBEDDER.dimensions)
    index.ensure_index()
    return index


def bodies(standin, path_end: str) -> list:
    return [r["body"] for r in standin.requests if r["path"].endswith(path_end)]


def ask(index, question, **filters):
    return index.search(question, EMBEDDER.embed([question])[0], k=5, filters=SearchFilters(**filters) if filters else None)


def test_the_index_has_a_knn_vector_field_and_bm25_text_fields(index, standin):
    [create] = [json.loads(r["body"]) for r in standin.requests if r["method"] == "PUT"]
    properties = create["mappings"]["properties"]
    assert create["settings"]["index"]["knn"] is True
    assert properties["embedding"]["type"] == "knn_vector" and properties["embedding"]["dimension"] == 256
    assert properties["embedding"]["method"]["name"] == "hnsw"
    assert {properties[f]["type"] for f in ("title", "section", "text")} == {"text"}
    assert properties["document_id"]["type"] == properties["locale"]["type"] == "keyword"
    index.ensure_index()  # idempotent: exists, so no second create
    assert len([r for r in standin.requests if r["method"] == "PUT"]) == 1


def test_sync_indexes_in_bulk_and_searches_hybrid_with_filters(index, standin):
    documents = [from_article(a) for a in ARTICLES]
    report = sync(documents, index, EMBEDDER)
    assert report.passages_indexed == index.count() > 20
    bulk = bodies(standin, "/_bulk")[-1].splitlines()
    action, source = json.loads(bulk[0]), json.loads(bulk[1])
    assert action["index"]["_id"] == source["passage_id"] and len(source["embedding"]) == 256

    standin.requests.clear()
    best = ask(index, "how long does a refund take", locale="en-US", product_id="trail-jacket")[0]
    assert (best.passage.document_id, best.passage.section) == ("returns", "Refund timing")
    assert best.confidence >= ANSWER_THRESHOLD
    knn, keyword = [json.loads(b) for b in bodies(standin, "/_search")]
    knn_filter = knn["query"]["knn"]["embedding"]["filter"]["bool"]["filter"]
    assert {"prefix": {"locale": "en"}} in knn_filter and any("bool" in clause for clause in knn_filter)
    assert keyword["query"]["bool"]["must"]["multi_match"]["fields"] == ["title^2", "section^2", "text"]
    assert keyword["query"]["bool"]["filter"] == knn_filter
    assert ask(index, "how long does a refund take", locale="fr") == []
    assert all(h.confidence < ANSWER_THRESHOLD for h in ask(index, "do you sell pianos"))


def test_a_second_sync_changes_nothing_and_deleting_a_document_removes_its_passages(index):
    documents = [from_article(a) for a in ARTICLES]
    sync(documents, index, EMBEDDER)
    assert index.document_hashes() == {d.id: d.content_hash for d in documents}
    again = sync(documents, index, EMBEDDER)
    assert (again.added, again.updated, again.passages_indexed) == (0, 0, 0)

    before = index.count()
    returns = sum(len(split(d)) for d in documents if d.id == "returns")
    report = sync([d for d in documents if d.id != "returns"], index, EMBEDDER)
    assert (report.removed, report.passages_removed) == (1, returns)
    assert index.count() == before - returns
    assert all(h.passage.document_id != "returns" for h in ask(index, "how long does a refund take"))


def test_bulk_indexing_retries_after_throttling(index, standin):
    standin.fail_next(429, times=2, path="/_bulk")
    document = Document(id="gift", title="Gift wrapping", url="/g", body="## Gift wrapping\nWe wrap any order for $5.")
    sync([document], index, EMBEDDER)
    assert index.count() == 1
    assert ask(index, "do you gift wrap?")[0].passage.document_id == "gift"


def test_serverless_indexes_without_custom_ids_and_never_refreshes(standin):
    client = OpenSearch(hosts=[{"host": standin.host, "port": standin.port}], use_ssl=False, max_retries=0)
    index = OpenSearchIndex(client, "aoss-test", 8, serverless=True)
    index.ensure_index()
    vectors = np.eye(8, dtype=np.float32)[:2]
    passages = split(Document(id="a", title="A", url="/a", body="## One\nfirst\n## Two\nsecond"))
    index.upsert(passages, vectors)
    [bulk] = bodies(standin, "/_bulk")
    assert "_id" not in json.loads(bulk.splitlines()[0])["index"]
    assert not [r for r in standin.requests if r["path"].endswith("/_refresh")]
    assert index.delete_documents(["a"]) == 2 and index.count() == 0


def test_scores_convert_back_to_cosine():
    assert inner_product_from_score(1.8) == pytest.approx(0.8)
    assert inner_product_from_score(1 / 1.5) == pytest.approx(-0.5)


@pytest.mark.parametrize("service", ["aoss", "es"])
def test_requests_are_signed_with_sigv4_for_the_service(standin, service):
    from botocore.credentials import Credentials

    index = OpenSearchIndex.from_endpoint("https://search.example.com", service, "eu-west-1",
                                          credentials=Credentials("AKIDEXAMPLE", "secret", "token"))
    auth = index.client.transport.kwargs["http_auth"]
    assert auth.service == service
    client = OpenSearch(hosts=[{"host": standin.host, "port": standin.port}], use_ssl=False, http_auth=auth,
                        connection_class=type(index.client.transport.get_connection()))
    client.indices.exists(index="anything")
    headers = {k.lower(): v for k, v in standin.requests[-1]["headers"].items()}
    assert headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert f"/eu-west-1/{service}/aws4_request" in headers["authorization"]
    assert "x-amz-content-sha256" in headers and headers["x-amz-security-token"] == "token"
