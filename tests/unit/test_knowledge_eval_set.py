"""The labelled knowledge evaluation set: its labels match the demo help center, and retrieval quality stays
above the floor the product promises (recall@5 >= 0.90, unanswerable questions recognised >= 80%)."""
from __future__ import annotations

import importlib.util
from collections import Counter
from pathlib import Path

import pytest

from concierge.demo import generate_store
from concierge.knowledge.documents import documents_from_store, split

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("knowledge_eval", ROOT / "benchmarks" / "knowledge_eval.py")
knowledge_eval = importlib.util.module_from_spec(spec)
spec.loader.exec_module(knowledge_eval)


@pytest.fixture(scope="module")
def questions():
    return knowledge_eval.load()


def test_every_label_names_a_real_passage(questions):
    sections = {(p.document_id, p.section) for d in documents_from_store(generate_store()) for p in split(d)}
    for item in questions:
        for expected in item["expected"]:
            assert (expected["document_id"], expected["section"]) in sections, item["id"]


def test_the_set_is_large_and_varied(questions):
    ids = [q["id"] for q in questions]
    kinds = Counter(q["kind"] for q in questions)
    assert len(set(ids)) == len(ids) >= 60
    assert set(kinds) == {"direct", "paraphrase", "typo", "conversational", "no_answer"}
    assert kinds["no_answer"] >= 15 and all(not q["expected"] for q in questions if q["kind"] == "no_answer")
    assert all(q["expected"] for q in questions if q["kind"] != "no_answer")


def test_retrieval_quality_stays_above_the_floor():
    overall = knowledge_eval.evaluate(k=5)["overall"]
    assert overall["recall_at_k"] >= 0.90
    assert overall["no_answer_recognised"] >= 0.80
