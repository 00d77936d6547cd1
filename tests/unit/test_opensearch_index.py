"""The OpenSearch knowledge index through the real opensearch-py client, against the local stand-in of the REST
API: what it sends (the k-NN mapping, bulk NDJSON, k-NN with the filters inside plus BM25, deletions), what it
makes of the answers (hybrid order, the shared confidence), throttling, Serverless' differences, and SigV4."""

from __future__ import annotations

import hashlib

import boto3
import numpy as np
import pytest
from botocore.credentials import Credentials
from opensearchpy import AWSV4SignerAuth, OpenSearch, RequestsHttpConnection
from opensearchpy.exceptions import AuthorizationException, RequestError, TransportError

from concierge.knowledge import opensearch, scoring
from concierge.knowledge.documents import from_article, in_source
from concierge.knowledge.embeddings import HashingEmbedder
from concierge.knowledge.opensearch import OpenSearchIndex, OpenSearchIndexError, cosine_from_score
from concierge.knowledge.port import ANSWER_THRESHOLD, Passage, SearchFilters
from concierge.knowledge.sync import sync
from concierge.local.opensearch_standin import OpenSearchStandIn
from concierge.store.demo import ARTICLES

DIMS = 8
INDEX = "knowledge-test"


def unit(*values: float) -> np.ndarray:
    vector = np.zeros(DIMS, dtype=np.float32)
    vector[: len(values)] = values
    return vector / np.linalg.norm(vector)


def passage(
    document_id: str,
    ordinal: int,
    title: str,
    text: str,
    section: str = "",
    locale: str = "en",
    products: tuple[str, ...] = (),
    document_hash: str = "h1",
) -> Passage:
    return Passage(
        id=f"{document_id}#{ordinal}",
        document_id=document_id,
        title=title,
        section=section,
        url=f"/help/{document_id}",
        locale=locale,
        product_ids=products,
        text=text,
        ordinal=ordinal,
        document_hash=document_hash,
    )


# A small help center with hand-made vectors: axis 0 is "refunds", axis 1 "shipping", axis 2 "jackets".
CORPUS = [
    (
        passage(
            "returns",
            0,
            "Returns",
            "Refunds reach your card within 5 business days after we receive the item.",
            "Refund timing",
        ),
        unit(1, 0.1),
    ),
    (passage("returns", 1, "Returns", "You can return unworn items within 30 days.", "Return window"), unit(0.8, 0.3)),
    (
        passage("shipping", 0, "Shipping", "Standard shipping takes 3 to 5 business days.", "Delivery times"),
        unit(0.1, 1),
    ),
    (
        passage(
            "jacket-care",
            0,
            "Trail jacket care",
            "Wash the trail jacket cold; refunds exclude washed-out colour.",
            products=("trail-jacket",),
        ),
        unit(0.3, 0, 1),
    ),
    (
        passage("boot-care", 0, "Boot care", "Refunds for boots need the original box.", products=("hiking-boot",)),
        unit(0.9, 0, 0, 0.4),
    ),
    (
        passage("retours", 0, "Retours", "Les remboursements arrivent sous 5 jours ouvrés.", locale="fr-FR"),
        unit(1, 0.05),
    ),
]


@pytest.fixture
def standin():
    server = OpenSearchStandIn().start()
    yield server
    server.stop()


@pytest.fixture
def serverless_standin():
    server = OpenSearchStandIn(serverless=True).start()
    yield server
    server.stop()


def client_for(server: OpenSearchStandIn) -> OpenSearch:
    return OpenSearch(hosts=[{"host": server.host, "port": server.port}], use_ssl=False, max_retries=0)


def make_index(server: OpenSearchStandIn, serverless: bool = False, dimensions: int = DIMS) -> OpenSearchIndex:
    index = OpenSearchIndex(client_for(server), INDEX, dimensions, serverless=serverless, initial_backoff=0.001)
    index.ensure_index()
    return index


@pytest.fixture
def index(standin) -> OpenSearchIndex:
    return make_index(standin)


def load(index: OpenSearchIndex, corpus=CORPUS) -> None:
    index.upsert([p for p, _ in corpus], np.stack([v for _, v in corpus]))


def sent(server: OpenSearchStandIn, path_end: str, method: str | None = None) -> list:
    return [r for r in server.requests if r.path.endswith(path_end) and (method is None or r.method == method)]


# schema ------------------------------------------------------------------------------------
def test_ensure_index_creates_a_knn_vector_hnsw_field_and_bm25_text_fields(index, standin):
    [template] = sent(standin, f"/_index_template/{INDEX}-template", "PUT")
    [create] = sent(standin, f"/{INDEX}", "PUT")
    body = create.body
    assert template.body["index_patterns"] == [INDEX] and template.body["template"] == body
    assert body["settings"]["index"]["knn"] is True
    properties = body["mappings"]["properties"]
    assert properties["embedding"] == {
        "type": "knn_vector",
        "dimension": DIMS,
        "method": {
            "name": "hnsw",
            "engine": "faiss",
            "space_type": "innerproduct",
            "parameters": {"m": 16, "ef_construction": 128},
        },
    }
    for name in ("title", "section", "text"):
        assert properties[name] == {"type": "text", "analyzer": "english"}
    for name in ("passage_id", "document_id", "locale", "product_ids", "document_hash"):
        assert properties[name] == {"type": "keyword"}
    assert properties["url"]["type"] == "keyword"
    assert (properties["ordinal"]["type"], properties["suspicious"]["type"]) == ("integer", "boolean")
    assert body["mappings"]["dynamic"] == "strict"

    standin.requests.clear()
    index.ensure_index()  # exists: checked, not created again
    assert [(r.method, r.path) for r in standin.requests] == [("HEAD", f"/{INDEX}"), ("GET", f"/{INDEX}/_mapping")]


def test_an_index_of_another_vector_size_is_refused(index, standin):
    with pytest.raises(OpenSearchIndexError, match="8-dimension vectors, the embedder makes 16"):
        OpenSearchIndex(client_for(standin), INDEX, 16).ensure_index()


def test_the_index_is_created_even_when_templates_are_not_allowed(standin):
    standin.fail_next(403, path="/_index_template/knowledge-test-template")
    make_index(standin)
    assert standin.app.indices[INDEX].properties["embedding"]["type"] == "knn_vector"


def test_serverless_settings_leave_shards_to_the_service(serverless_standin):
    make_index(serverless_standin, serverless=True)
    [create] = sent(serverless_standin, f"/{INDEX}", "PUT")
    assert create.body["settings"] == {"index": {"knn": True}}


# writes ------------------------------------------------------------------------------------
def test_upsert_sends_bulk_ndjson_with_the_passage_ids(index, standin):
    load(index)
    [bulk] = sent(standin, f"/{INDEX}/_bulk")
    actions, sources = bulk.body[::2], bulk.body[1::2]
    assert [a["index"]["_id"] for a in actions] == [p.id for p, _ in CORPUS]
    assert [s["passage_id"] for s in sources] == [p.id for p, _ in CORPUS]
    assert all(len(s["embedding"]) == DIMS for s in sources)
    assert sources[3]["product_ids"] == ["trail-jacket"] and sources[0]["product_ids"] == []
    assert sent(standin, f"/{INDEX}/_refresh")  # a domain: searchable when upsert returns
    assert index.count() == len(CORPUS)

    load(index, CORPUS[:2])  # the same ids again: replaced, not added
    assert index.count() == len(CORPUS)


def test_bulk_indexing_backs_off_and_retries_after_throttling(index, standin):
    standin.fail_next(429, times=2, path="/_bulk")
    load(index)
    assert len(sent(standin, "/_bulk")) == 3 and index.count() == len(CORPUS)

    standin.requests.clear()
    standin.fail_next_items(429, times=2)  # two items throttled: only they are sent again
    load(index)
    first, second = sent(standin, "/_bulk")
    assert len(first.body) == 2 * len(CORPUS) and len(second.body) == 2 * 2
    assert [line["index"]["_id"] for line in second.body[::2]] == [CORPUS[0][0].id, CORPUS[1][0].id]


def test_passages_that_still_fail_are_named(index, standin):
    standin.fail_next_items(400, times=1)
    with pytest.raises(OpenSearchIndexError, match=r"1 of 6 passages were not indexed .*: returns#0") as raised:
        load(index)
    assert raised.value.ids == ["returns#0"]

    standin.requests.clear()
    standin.fail_next_items(429, times=index.max_retries + 1)  # one passage, throttled on every attempt
    with pytest.raises(OpenSearchIndexError) as raised:
        load(index, CORPUS[2:3])
    assert raised.value.ids == ["shipping#0"] and len(sent(standin, "/_bulk")) == index.max_retries + 1


def test_a_bulk_answer_short_of_items_names_the_passages_it_left_out(index, standin, monkeypatch):
    send = index._send_bulk
    monkeypatch.setattr(index, "_send_bulk", lambda body, last: (send(body, last) or [])[:-1])
    with pytest.raises(OpenSearchIndexError, match="1 of 6 passages were not indexed") as raised:
        load(index)
    assert raised.value.ids == [CORPUS[-1][0].id]


def test_a_request_throttled_beyond_the_retries_raises(index, standin):
    standin.fail_next(429, times=index.max_retries + 1, path="/_bulk")
    with pytest.raises(TransportError):
        load(index)


# search ------------------------------------------------------------------------------------
def test_search_sends_knn_with_the_filters_inside_and_bm25_with_the_same_filters(index, standin):
    load(index)
    standin.requests.clear()
    query = unit(1, 0.1)
    index.search(
        "How long does a refund take?", query, k=3, filters=SearchFilters(locale="en-GB", product_id="trail-jacket")
    )
    [msearch] = sent(standin, f"/{INDEX}/_msearch")
    _, knn_body, _, keyword_body = msearch.body
    knn = knn_body["query"]["knn"]["embedding"]
    assert knn["k"] == knn_body["size"] == 20 and knn["vector"] == pytest.approx(query.tolist())
    clauses = knn["filter"]["bool"]["filter"]
    assert {
        "bool": {
            "should": [
                {"term": {"locale": {"value": "en", "case_insensitive": True}}},
                {"prefix": {"locale": {"value": "en-", "case_insensitive": True}}},
            ],
            "minimum_should_match": 1,
        }
    } in clauses
    assert {
        "bool": {
            "should": [
                {"term": {"product_ids": "trail-jacket"}},
                {"bool": {"must_not": [{"exists": {"field": "product_ids"}}]}},
            ],
            "minimum_should_match": 1,
        }
    } in clauses
    [multi_match] = keyword_body["query"]["bool"]["must"]
    assert multi_match["multi_match"]["fields"] == ["title^2", "section^2", "text"]
    assert "refund" in multi_match["multi_match"]["query"]
    assert keyword_body["query"]["bool"]["filter"] == clauses

    standin.requests.clear()
    index.search("refund", query, k=3)
    [msearch] = sent(standin, f"/{INDEX}/_msearch")
    assert (
        "filter" not in msearch.body[1]["query"]["knn"]["embedding"]
        and msearch.body[3]["query"]["bool"]["filter"] == []
    )


def test_filters_keep_the_language_and_the_product_or_no_product(index):
    load(index)
    found = {
        h.passage.id
        for h in index.search(
            "refunds", unit(1), k=10, filters=SearchFilters(locale="en-US", product_id="trail-jacket")
        )
    }
    assert found == {"returns#0", "returns#1", "shipping#0", "jacket-care#0"}  # not French, not about boots
    french = index.search("remboursements", unit(1), k=10, filters=SearchFilters(locale="fr"))
    assert [h.passage.id for h in french] == ["retours#0"]


def test_results_are_in_hybrid_order_with_the_shared_confidence(index):
    load(index)
    question, vector = "When will my refund reach my card?", unit(1, 0.2)
    hits = index.search(question, vector, k=4, filters=SearchFilters(locale="en"))
    assert hits[0].passage.id == "returns#0" and hits[0].confidence >= ANSWER_THRESHOLD
    stored = {p.id: v for p, v in CORPUS}
    for hit in hits:
        p = hit.passage
        assert hit.vector_score == pytest.approx(float(stored[p.id] @ vector), abs=1e-5)  # the exact cosine, both sides
        assert hit.confidence == scoring.confidence(question, f"{p.title} {p.section} {p.text}", hit.vector_score)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    # The rank: the hybrid of the candidates' two score lists (min-max scaled), weighed with the confidence.
    full = {h.passage.id: h for h in index.search(question, vector, k=20, filters=SearchFilters(locale="en"))}
    every_keyword = np.array([h.keyword_score for h in full.values()], dtype=np.float32)
    every_cosine = np.maximum(np.array([h.vector_score for h in full.values()], dtype=np.float32), 0)
    ranked = dict(zip(full, scoring.hybrid(every_keyword, every_cosine), strict=True))
    for hit in hits:
        assert hit.score == pytest.approx(scoring.final_rank(float(ranked[hit.passage.id]), hit.confidence), abs=1e-5)
    assert all(
        h.confidence < ANSWER_THRESHOLD for h in index.search("Do you sell pianos?", unit(0, 0, 0, 0, 0, 1), k=3)
    )


def test_passages_found_only_by_keywords_or_only_by_vectors_are_both_candidates(index, standin):
    fillers = [
        (passage(f"filler-{n}", 0, "Notes", f"Nothing of interest, note {n}."), unit(0.1, 1, 0.01 * n))
        for n in range(25)
    ]
    load(index, CORPUS + fillers)
    standin.requests.clear()
    hits = index.search("Do boots need the box?", unit(0.1, 1), k=3)
    [msearch] = sent(standin, "/_msearch")
    knn_ids = {
        h["_source"]["passage_id"] for h in index.client.search(index=INDEX, body=msearch.body[1])["hits"]["hits"]
    }
    by_id = {h.passage.id: h for h in hits}
    assert "boot-care#0" not in knn_ids and by_id["boot-care#0"].keyword_score > 0  # found by BM25 alone
    assert by_id["boot-care#0"].vector_score == pytest.approx(float(unit(0.9, 0, 0, 0.4) @ unit(0.1, 1)), abs=1e-5)
    assert by_id["shipping#0"].keyword_score == 0 and by_id["shipping#0"].vector_score > 0.99  # by k-NN alone


def test_the_demo_help_center_answers_through_opensearch(standin):
    embedder = HashingEmbedder()
    index = make_index(standin, dimensions=embedder.dimensions)
    documents = [in_source("store", from_article(a)) for a in ARTICLES]
    report = sync(documents, index, embedder, source="store")
    assert report.passages_indexed == index.count() > 20
    assert index.document_hashes() == {d.id: d.content_hash for d in documents}
    assert sync(documents, index, embedder, source="store").passages_indexed == 0  # nothing changed, nothing re-indexed
    # Another source's sync leaves the store's documents alone, and an empty one removes only its own.
    help_page = in_source("help", from_article(ARTICLES[0]))
    assert sync([help_page], index, embedder, source="help").removed == 0
    assert index.document_hashes() == {d.id: d.content_hash for d in [*documents, help_page]}
    assert sync([], index, embedder, source="help").removed == 1
    assert index.document_hashes() == {d.id: d.content_hash for d in documents}

    question = "how long does a refund take"
    best = index.search(
        question, embedder.embed([question])[0], filters=SearchFilters(locale="en-US", product_id="trail-jacket")
    )[0]
    assert (best.passage.document_id, best.passage.section) == ("store/returns", "Refund timing")
    assert best.passage.url == next(a.url for a in ARTICLES if a.id == "returns") + "#refund-timing"
    assert best.confidence >= ANSWER_THRESHOLD
    assert all(
        h.confidence < ANSWER_THRESHOLD
        for h in index.search("do you sell pianos", embedder.embed(["do you sell pianos"])[0])
    )


# deletions and hashes ----------------------------------------------------------------------
@pytest.mark.parametrize("serverless", [False, True], ids=["domain", "serverless"])
def test_deleting_a_document_removes_every_passage(serverless, standin, serverless_standin):
    server = serverless_standin if serverless else standin
    index = make_index(server, serverless=serverless)
    load(index)
    server.requests.clear()
    assert index.delete_documents(["returns", "never-indexed"]) == 2
    assert index.count() == len(CORPUS) - 2
    assert "returns" not in index.document_hashes()
    assert all(h.passage.document_id != "returns" for h in index.search("refund return", unit(1, 0.2), k=10))
    if serverless:  # no _delete_by_query, no _refresh: the internal ids are found, then deleted in bulk
        [bulk] = sent(server, "/_bulk")
        assert [list(line) for line in bulk.body] == [["delete"], ["delete"]]
        assert not sent(server, "/_delete_by_query") and not sent(server, "/_refresh")
    else:
        [delete] = sent(server, "/_delete_by_query")
        assert delete.body == {"query": {"terms": {"document_id": ["never-indexed", "returns"]}}}
    assert index.delete_documents([]) == 0


def test_serverless_indexes_without_custom_ids_and_replaces_by_passage_id(serverless_standin):
    index = make_index(serverless_standin, serverless=True)
    load(index)
    [bulk] = sent(serverless_standin, "/_bulk")
    assert all("_id" not in line["index"] for line in bulk.body[::2])
    load(index, CORPUS[:2])  # upsert again: the old copies are deleted first
    assert index.count() == len(CORPUS)
    stored = serverless_standin.documents(INDEX)
    assert sorted(s["passage_id"] for s in stored.values()) == sorted(p.id for p, _ in CORPUS)
    assert not sent(serverless_standin, "/_refresh")

    # What a domain does (custom ids) is refused by a Serverless vector collection.
    domain_style = OpenSearchIndex(client_for(serverless_standin), INDEX, DIMS, serverless=False)
    with pytest.raises(OpenSearchIndexError, match="not indexed"):
        domain_style.upsert([CORPUS[0][0]], CORPUS[0][1][None])


def test_document_hashes_pages_through_every_document(index, standin, monkeypatch):
    monkeypatch.setattr(opensearch, "PAGE", 2)
    load(index)
    index.upsert([passage("returns", 2, "Returns", "Exchanges are free.", document_hash="h2")], unit(1)[None])
    hashes = index.document_hashes()
    assert hashes == {
        "boot-care": "h1",
        "jacket-care": "h1",
        "retours": "h1",
        "shipping": "h1",
        "returns": "",
    }  # passages of two versions: reported as unknown, so the next sync redoes it
    pages = [r.body["aggs"]["documents"]["composite"] for r in sent(standin, "/_search") if "aggs" in r.body]
    assert [p.get("after") for p in pages] == [None, {"document_id": "jacket-care"}, {"document_id": "returns"}]


def test_a_missing_index_is_empty(standin):
    index = OpenSearchIndex(client_for(standin), "not-created-yet", DIMS)
    assert index.search("refund", unit(1)) == [] and index.count() == 0 and index.document_hashes() == {}
    assert index.delete_documents(["returns"]) == 0


# the stand-in fails loudly -----------------------------------------------------------------
def test_requests_the_stand_in_does_not_understand_fail(index):
    load(index)
    with pytest.raises(RequestError, match="unknown query \\[fuzzy_like_this\\]"):
        index.client.search(index=INDEX, body={"query": {"fuzzy_like_this": {"like": "refund"}}})
    with pytest.raises(RequestError, match="invalid dimension"):
        index.client.search(index=INDEX, body={"query": {"knn": {"embedding": {"vector": [1.0, 0.0], "k": 3}}}})
    with pytest.raises(RequestError, match="Text fields are not optimised"):
        index.client.search(index=INDEX, body={"query": {"match_all": {}}, "sort": [{"title": "asc"}]})
    item = index.client.bulk(body=[{"index": {"_index": INDEX}}, {"passage_id": "x", "colour": "red"}])["items"][0]
    assert item["index"]["error"]["type"] == "strict_dynamic_mapping_exception"


def test_scores_convert_back_to_cosine():
    assert cosine_from_score(1.8) == pytest.approx(0.8)
    assert cosine_from_score(1.0) == pytest.approx(0.0)
    assert cosine_from_score(1 / 1.5) == pytest.approx(-0.5)
    assert cosine_from_score(0.9, "cosinesimil") == pytest.approx(0.8)


# SigV4 -------------------------------------------------------------------------------------
KEYS = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "session-token")


@pytest.fixture
def role_credentials(monkeypatch):
    """What boto3 finds in a Lambda: the role's temporary credentials."""
    monkeypatch.setattr(boto3.Session, "get_credentials", lambda self: KEYS)


def test_from_endpoint_builds_a_signed_tls_client(role_credentials):
    index = OpenSearchIndex.from_endpoint("abc123.eu-west-1.aoss.amazonaws.com", "aoss", "eu-west-1", dimensions=DIMS)
    transport = index.client.transport
    assert transport.hosts == [{"host": "abc123.eu-west-1.aoss.amazonaws.com", "port": 443}]
    assert transport.connection_class is RequestsHttpConnection
    assert transport.kwargs["use_ssl"] is True and transport.kwargs["verify_certs"] is True
    assert set(transport.retry_on_status) == {429, 502, 503, 504} and transport.max_retries == 3
    auth = transport.kwargs["http_auth"]
    assert isinstance(auth, AWSV4SignerAuth) and (auth.service, auth.signer.region) == ("aoss", "eu-west-1")
    assert index.serverless and (index.index_name, index.dimensions) == ("concierge-knowledge", DIMS)
    domain = OpenSearchIndex.from_endpoint("https://search-kb.eu-west-1.es.amazonaws.com/", "es", "eu-west-1")
    assert domain.client.transport.hosts[0]["host"] == "search-kb.eu-west-1.es.amazonaws.com" and not domain.serverless
    with pytest.raises(ValueError, match="service must be"):
        OpenSearchIndex.from_endpoint("abc", "opensearch", "eu-west-1")  # type: ignore[arg-type]


@pytest.mark.parametrize("service", ["aoss", "es"])
def test_every_request_is_signed_with_sigv4_for_the_service(service, role_credentials):
    server = OpenSearchStandIn(
        serverless=service == "aoss", credentials=KEYS, region="eu-west-1", service=service
    ).start()
    try:
        index = OpenSearchIndex.from_endpoint(server.url, service, "eu-west-1", "signed", DIMS, sign=True)
        index.ensure_index()  # the stand-in checks every signature: a bad one is answered 403
        load(index)
        assert index.search("refund", unit(1), k=2)[0].passage.id == "returns#0"
        for request in server.requests:
            headers = {k.lower(): v for k, v in request.headers.items()}
            assert headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
            assert f"/eu-west-1/{service}/aws4_request" in headers["authorization"]
            assert headers["x-amz-content-sha256"] == hashlib.sha256(request.raw.encode()).hexdigest()
            assert headers["x-amz-security-token"] == "session-token"

        elsewhere = OpenSearchIndex.from_endpoint(server.url, service, "us-east-1", "signed", DIMS, sign=True)
        with pytest.raises(AuthorizationException, match="region and service"):
            elsewhere.count()
        unsigned = OpenSearchIndex.from_endpoint(server.url, service, "eu-west-1", "signed", DIMS)  # http: unsigned
        with pytest.raises(AuthorizationException, match="Authorization"):
            unsigned.count()
    finally:
        server.stop()
