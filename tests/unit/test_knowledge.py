"""The embedded knowledge index: articles split into passages, keyword ranking with an answer threshold, and the
index persisted in S3 (moto) and cached per warm function."""
from __future__ import annotations

import json

import boto3
import pytest

from concierge.demo import ARTICLES
from concierge.knowledge import (
    ANSWER_THRESHOLD, IndexCache, KeywordIndex, load_index, save_index, split_article,
)
from concierge.models import Article

BUCKET = "concierge-knowledge-test"
KEY = "knowledge/index.json"


@pytest.fixture(scope="module")
def index() -> KeywordIndex:
    return KeywordIndex.build([p for article in ARTICLES for p in split_article(article)])


def test_an_article_is_split_into_one_passage_per_heading():
    article = Article(
        id="care", title="Caring for your clothes", url="/help/care", topic="care",
        body="# Caring for your clothes\nA short intro.\n\n## Washing\nWash **cold** and inside out.\n\n"
             "## Drying & ironing\nLine dry. Iron on _low_.\n\n## Empty section\n\n",
    )
    passages = split_article(article)

    assert [p.section for p in passages] == ["", "Washing", "Drying & ironing"]  # the empty section is dropped
    assert [p.id for p in passages] == ["care#0", "care#1", "care#2"]
    assert [p.url for p in passages] == ["/help/care", "/help/care#washing", "/help/care#drying-ironing"]
    assert passages[0].text == "A short intro."  # the "# " title line is not body text
    assert passages[1].text == "Wash cold and inside out."  # markdown emphasis stripped
    assert passages[2].text == "Line dry. Iron on low."
    assert {p.title for p in passages} == {"Caring for your clothes"}
    assert {p.locale for p in passages} == {"en"}


def test_the_returns_article_has_its_four_sections():
    returns = next(a for a in ARTICLES if a.id == "returns")
    assert [p.section for p in split_article(returns)] == [
        "Return window", "How to return an item", "Refund timing", "Items that cannot be returned",
    ]


def test_refund_timing_question_is_answered_from_the_returns_article(index):
    hits = index.search("how long does a refund take")

    assert hits[0].passage.article_id == "returns"
    assert hits[0].passage.section == "Refund timing"
    assert hits[0].confidence >= ANSWER_THRESHOLD
    assert "2 business days" in hits[0].passage.text


@pytest.mark.parametrize(
    ("question", "article", "section"),
    [
        ("do you accept paypal", "payments", "Accepted payment methods"),
        ("is there a warranty on my boots", "warranty", "What is covered"),
        ("can I return underwear", "returns", "Items that cannot be returned"),
        ("do you ship to canada", "shipping", "International shipping"),
        ("what are your delivery times", "shipping", "Delivery times"),
        ("how much is express shipping", "shipping", "Shipping costs"),
        pytest.param(
            "how long does shipping take", "shipping", "Delivery times", id="how-long-does-shipping-take",
        ),
    ],
)
def test_help_center_questions_find_the_right_section(index, question, article, section):
    best = index.search(question)[0]
    assert (best.passage.article_id, best.passage.section) == (article, section)
    assert best.confidence >= ANSWER_THRESHOLD


@pytest.mark.parametrize("question", ["do you sell pianos", "can I order a piano", "what is the weather today"])
def test_an_unrelated_question_is_never_confident_enough_to_answer(index, question):
    assert all(hit.confidence < ANSWER_THRESHOLD for hit in index.search(question))


def test_a_question_sharing_only_a_common_word_still_finds_passages_but_below_the_threshold(index):
    hits = index.search("can I order a piano")
    assert hits, "'order' is in the help center, so there are keyword hits"
    assert max(hit.confidence for hit in hits) < ANSWER_THRESHOLD


def test_search_respects_k_locale_and_empty_queries(index):
    assert len(index.search("shipping", k=2)) == 2
    assert index.search("shipping", locale="fr-FR") == []
    assert index.search("shipping", locale="en-GB")
    assert index.search("") == []
    assert index.search("how do I") == []  # only stopwords
    assert KeywordIndex([]).search("refund") == []


def test_removing_an_article_drops_its_passages(index):
    smaller = index.remove_article("returns")
    assert "returns" in index.article_ids() and "returns" not in smaller.article_ids()
    assert all(hit.passage.article_id != "returns" for hit in smaller.search("how long does a refund take"))


def test_json_round_trip_keeps_every_passage_and_the_ranking(index):
    copy = KeywordIndex.from_json(index.to_json())
    assert copy.passages == index.passages
    question = "how long does a refund take"
    assert [h.passage.id for h in copy.search(question)] == [h.passage.id for h in index.search(question)]


def test_an_index_of_an_unknown_version_is_refused(index):
    document = json.loads(index.to_json()) | {"version": 2}
    with pytest.raises(ValueError, match="unsupported index version 2"):
        KeywordIndex.from_json(json.dumps(document))


# S3 persistence (moto) -----------------------------------------------------------------------------------------
@pytest.fixture
def s3(monkeypatch):
    from moto import mock_aws

    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


class CountingS3:
    """The S3 client, counting the object downloads the cache makes."""

    def __init__(self, client) -> None:
        self._client = client
        self.downloads = 0

    def get_object(self, **kwargs):
        self.downloads += 1
        return self._client.get_object(**kwargs)

    def __getattr__(self, name):
        return getattr(self._client, name)


def test_save_and_load_through_s3(s3, index):
    save_index(index, s3, BUCKET, KEY)

    head = s3.head_object(Bucket=BUCKET, Key=KEY)
    assert head["ContentType"] == "application/json"
    loaded = load_index(s3, BUCKET, KEY)
    assert loaded.passages == index.passages
    assert loaded.search("do you accept paypal")[0].passage.article_id == "payments"


def test_cache_answers_none_before_anything_is_imported(s3):
    assert IndexCache().get(s3, BUCKET, KEY) is None


def test_cache_downloads_once_and_again_only_when_the_object_changes(s3, index):
    counting = CountingS3(s3)
    cache = IndexCache()
    save_index(index, s3, BUCKET, KEY)

    first = cache.get(counting, BUCKET, KEY)
    second = cache.get(counting, BUCKET, KEY)
    assert first is second and counting.downloads == 1
    assert "returns" in first.article_ids()

    save_index(index.remove_article("returns"), s3, BUCKET, KEY)  # a re-import changes the ETag
    third = cache.get(counting, BUCKET, KEY)
    assert counting.downloads == 2
    assert "returns" not in third.article_ids()


def test_cache_does_not_hide_other_s3_errors(s3):
    from botocore.exceptions import ClientError

    class Forbidden:
        exceptions = s3.exceptions

        def head_object(self, **kwargs):
            raise ClientError({"Error": {"Code": "403", "Message": "Forbidden"}}, "HeadObject")

    with pytest.raises(ClientError):
        IndexCache().get(Forbidden(), BUCKET, KEY)

