"""Hybrid ranking and the confidence every index reports, in one place so the adapters agree."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from concierge.knowledge.text import query_terms, terms

# Weight of the keyword side in the hybrid rank (the vector side gets the rest).
KEYWORD_WEIGHT = 0.6
# Confidence = COVERAGE_WEIGHT * keyword coverage + the rest * vector similarity.
COVERAGE_WEIGHT = 0.7


def min_max(values: np.ndarray) -> np.ndarray:
    """Scale a result list's scores to 0..1 so keyword and vector scores can be added (all equal -> 1)."""
    if values.size == 0:
        return values
    low, high = float(values.min()), float(values.max())
    if high - low < 1e-12:
        return np.ones_like(values, dtype=np.float32)
    return ((values - low) / (high - low)).astype(np.float32)


def hybrid(keyword: np.ndarray, vector: np.ndarray, keyword_weight: float = KEYWORD_WEIGHT) -> np.ndarray:
    return keyword_weight * min_max(keyword) + (1 - keyword_weight) * min_max(vector)


def coverage(query_terms: Sequence[str], passage_terms: set[str], idf: Mapping[str, float] | None, unknown_weight: float = 1.0) -> float:
    """How much of the question the passage covers, weighted by term rarity when the index knows it, so that
    a passage sharing only a common word ("order") with an off-topic question stays below the threshold."""
    unique = list(dict.fromkeys(query_terms))
    if not unique:
        return 0.0
    weight = (lambda t: idf.get(t, unknown_weight)) if idf is not None else (lambda t: 1.0)
    total = sum(weight(t) for t in unique)
    covered = sum(weight(t) for t in unique if t in passage_terms)
    return covered / total if total else 0.0


# A short question's every word matters ("can I pay with bitcoin": "bitcoin" is the point). In a long, chatty
# message most words the documents never use are context ("my son", "a hike next month"), so they weigh less.
SHORT_QUESTION_TERMS = 6


def unknown_word_weight(typical: float, distinct_terms: int) -> float:
    return typical * min(1.0, SHORT_QUESTION_TERMS / max(distinct_terms, 1))


def final_rank(hybrid_score: float, confidence: float) -> float:
    return 0.5 * hybrid_score + 0.5 * confidence


def blend(lexical: float, cosine: float) -> float:
    return round(COVERAGE_WEIGHT * lexical + (1 - COVERAGE_WEIGHT) * max(0.0, min(1.0, cosine)), 4)


def confidence(query: str, passage_text: str, cosine: float, idf: Mapping[str, float] | None = None, unknown_weight: float = 1.0) -> float:
    """0..1: keyword coverage of the question by the passage, tempered by the embeddings' similarity."""
    passage_terms = set(terms(passage_text))
    return blend(coverage(query_terms(query), passage_terms, idf, unknown_weight), cosine)
