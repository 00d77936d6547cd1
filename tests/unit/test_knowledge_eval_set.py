"""The labelled knowledge evaluation set (evaluation/knowledge/questions.jsonl) is well formed and its labels
name real passages of the demo help center.

The sections are read from the demo store directly (the articles' Markdown headings and the three sections of
a product page), not through the knowledge index, so a change in splitting or search cannot hide a bad label.
Retrieval quality itself is measured by benchmarks/knowledge_eval.py, not asserted here.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from concierge.knowledge.documents import STORE_SOURCE, from_article, source_id, split
from concierge.store.demo import generate_store

SET = Path(__file__).resolve().parents[2] / "evaluation" / "knowledge" / "questions.jsonl"
KINDS = {"direct", "paraphrase", "typo", "conversational", "no_answer"}
PRODUCT_OVERVIEW = "Overview"
PRODUCT_MATERIAL = "Material: what is it made of?"
PRODUCT_FIT = "Fit and sizing: does it run small or large?"


def article_sections(article) -> list[str]:
    """The sections an article's passages get, from the product's own splitter (no copy of its rules here)."""
    return list(dict.fromkeys(p.section for p in split(from_article(article))))


@pytest.fixture(scope="module")
def store():
    return generate_store()


@pytest.fixture(scope="module")
def article_passages(store) -> set[tuple[str, str]]:
    """(document id, section) as the import indexes them: the article's id in the store source."""
    return {
        (source_id(STORE_SOURCE, article.id), section)
        for article in store.articles
        for section in article_sections(article)
    }


@pytest.fixture(scope="module")
def passages(store, article_passages) -> set[tuple[str, str]]:
    products = set()
    for product in store.products:
        document_id = source_id(STORE_SOURCE, f"product-{product.id}")
        products.add((document_id, PRODUCT_OVERVIEW))
        if product.material:
            products.add((document_id, PRODUCT_MATERIAL))
        if product.fit:
            products.add((document_id, PRODUCT_FIT))
    return article_passages | products


@pytest.fixture(scope="module")
def lines() -> list[str]:
    return [line for line in SET.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def questions(lines) -> list[dict]:
    return [json.loads(line) for line in lines]


def test_the_section_parser_reads_the_demo_headings(store, article_passages):
    shipping = next(a for a in store.articles if a.id == "shipping")
    assert article_sections(shipping) == ["", "Delivery times", "Shipping costs", "International shipping"]
    assert ("store/returns", "Items that cannot be returned") in article_passages


def test_every_line_is_one_question_in_the_documented_format(lines, questions):
    assert len(lines) == len(questions)
    for item in questions:
        assert set(item) == {"id", "question", "expected", "kind"}, item
        assert re.fullmatch(r"q\d{3}", item["id"]), item["id"]
        assert isinstance(item["question"], str) and len(item["question"].split()) >= 3, item["id"]
        assert item["kind"] in KINDS, item["id"]
        assert isinstance(item["expected"], list), item["id"]
        for expected in item["expected"]:
            assert set(expected) == {"document_id", "section"}, item["id"]


def test_every_label_names_a_real_passage(questions, passages):
    unknown = [
        (item["id"], expected["document_id"], expected["section"])
        for item in questions
        for expected in item["expected"]
        if (expected["document_id"], expected["section"]) not in passages
    ]
    assert not unknown, f"labels naming no passage of the demo help center: {unknown}"


def test_labels_are_not_repeated_within_a_question(questions):
    for item in questions:
        labels = [(e["document_id"], e["section"]) for e in item["expected"]]
        assert len(labels) == len(set(labels)), item["id"]


def test_ids_are_unique(questions):
    ids = Counter(item["id"] for item in questions)
    assert not [i for i, n in ids.items() if n > 1]


def test_no_two_questions_are_the_same(questions):
    normalised = Counter(" ".join(re.findall(r"[a-z0-9]+", item["question"].lower())) for item in questions)
    assert not [q for q, n in normalised.items() if n > 1]


def test_the_set_is_large_and_has_every_kind(questions):
    kinds = Counter(item["kind"] for item in questions)
    assert len(questions) >= 60
    assert kinds["no_answer"] >= 15
    assert set(kinds) == KINDS, kinds


def test_no_answer_questions_and_only_they_expect_nothing(questions):
    for item in questions:
        assert (item["kind"] == "no_answer") == (not item["expected"]), item["id"]


def test_every_article_section_is_asked_about(questions, article_passages):
    asked = {(e["document_id"], e["section"]) for item in questions for e in item["expected"]}
    headed = {(doc, section) for doc, section in article_passages if section}
    assert not sorted(headed - asked), "article sections no question expects"


def test_product_material_and_fit_are_both_asked_about(questions):
    sections = {
        e["section"] for item in questions for e in item["expected"] if e["document_id"].startswith("store/product-")
    }
    assert {PRODUCT_MATERIAL, PRODUCT_FIT} <= sections
