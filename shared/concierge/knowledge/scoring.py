"""Hybrid ranking and the confidence every index reports, in one place so the adapters agree."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass

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


def coverage(
    query_terms: Sequence[str],
    passage_terms: Collection[str],
    idf: Mapping[str, float] | None,
    unknown_weight: float = 1.0,
) -> float:
    """How much of the question the passage covers, weighted by term rarity when the index knows it, so that
    a passage sharing only a common word ("order") with an off-topic question stays below the threshold."""
    unique = list(dict.fromkeys(query_terms))
    if not unique:
        return 0.0
    weight: Callable[[str], float] = (lambda t: idf.get(t, unknown_weight)) if idf is not None else (lambda t: 1.0)
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


# A help center's section headed by the very question the customer asks ("How long does a refund take?" inside
# "how long until I get my money back after a return?") answers it better than a neighbour that merely shares its
# words. At most this much is added to the confidence, in proportion to how much of the heading the question asks.
HEADING_WEIGHT = 0.1


def heading_match(query_terms: Sequence[str], section: str) -> float:
    """0..1: the share of a question-shaped section heading's words that the question uses (0 for other headings)."""
    if not section.rstrip().endswith("?"):
        return 0.0
    heading = set(terms(section))
    return len(heading & set(query_terms)) / len(heading) if heading else 0.0


@dataclass(frozen=True)
class Calibration:
    """How an embedder's cosine enters the confidence: rescaled from `floor` (no likeness) to `ceiling` (full), and
    weighed against keyword coverage, which gets `coverage_weight`."""

    coverage_weight: float = COVERAGE_WEIGHT
    floor: float = 0.0
    ceiling: float = 1.0

    def similarity(self, cosine: float) -> float:
        return max(0.0, min(1.0, (cosine - self.floor) / (self.ceiling - self.floor)))


# Each embedder's cosines live on their own scale: over the demo store's labelled questions and its passages, the
# sentence model's median is 0.055 and its 90th percentile 0.31 (the hashing embedder's 0.016 and 0.14), and a
# question's closest passage is at 0.56 in the median (hashing 0.37). Taken as it is, MiniLM's cosine lifts passages on
# another topic over ANSWER_THRESHOLD. So MiniLM's counts from 0.3 (nothing) to 0.7 (full), and weighs a little more
# against keyword coverage (its likeness says more than hashed words'). Fitted on those labelled questions only
# (evaluation/knowledge/, benchmarks/knowledge_eval.py --embedder minilm; docs/knowledge.md, "Embeddings"): the values
# that keep no-answer recognition where the hashing embedder has it (0.95, the highest unanswerable question after the
# one both answer at 0.41, as with hashing) and answer the most answerable ones, where nearby values do about as well.
# Every other embedder (hashing, Titan) keeps the original blend, exactly.
CALIBRATIONS: dict[str, Calibration] = {"minilm-l6-v2": Calibration(coverage_weight=0.6, floor=0.3, ceiling=0.7)}
DEFAULT_CALIBRATION = Calibration()


def calibration(embedder: str) -> Calibration:
    return CALIBRATIONS.get(embedder, DEFAULT_CALIBRATION)


def blend(lexical: float, cosine: float, heading: float = 0.0, embedder: str = "") -> float:
    """The confidence from keyword coverage, the embeddings' cosine (on `embedder`'s scale) and the heading match."""
    scale = calibration(embedder)
    weight = scale.coverage_weight
    value = weight * lexical + (1 - weight) * scale.similarity(cosine) + HEADING_WEIGHT * heading
    return round(min(1.0, value), 4)


def confidence(
    query: str,
    passage_text: str,
    cosine: float,
    idf: Mapping[str, float] | None = None,
    unknown_weight: float = 1.0,
    section: str = "",
    embedder: str = "",
) -> float:
    """0..1: keyword coverage of the question by the passage, tempered by the embeddings' similarity, and raised
    when the passage's heading is the question asked."""
    passage_terms = set(terms(passage_text))
    asked = query_terms(query)
    return blend(coverage(asked, passage_terms, idf, unknown_weight), cosine, heading_match(asked, section), embedder)
