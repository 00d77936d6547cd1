"""The floor the product promises for knowledge retrieval, on the labelled set in evaluation/knowledge/:
recall@5 >= 0.90 on answerable questions, and unanswerable questions recognised >= 80% of the time."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_retrieval_quality_stays_above_the_floor():
    spec = importlib.util.spec_from_file_location("knowledge_eval", ROOT / "benchmarks" / "knowledge_eval.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    overall = module.evaluate(k=5)["overall"]
    assert overall["questions"] >= 60
    assert overall["recall_at_k"] >= 0.90
    assert overall["no_answer_recognition"] >= 0.80
