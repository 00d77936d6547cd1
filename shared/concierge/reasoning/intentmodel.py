"""A small trained intent classifier: what a customer's message asks for, read from its words and letters.

A linear model (multinomial logistic regression) over hashed character n-grams (2 to 5 letters, within words, so
typos and word forms still share most of their features) and hashed word unigrams and bigrams, each block tf-idf
weighted and normalised. It is trained at build time (`concierge understanding --train`, scikit-learn, a
development dependency only) on messages written for shops of many verticals, the tuning half of the labelled set
and the sample stores' other labelled sets; never on the held-out half. The weights ship with the package
(`data/intent-model.npz`, float16); reading a message is a numpy dot product over the few hundred features it has,
so no service is called and nothing is downloaded.

Nothing here knows a store: the features are the customer's words, and the classes are `understanding.Intent`
values. Rules in code still decide what must never be missed (a person asked for, see `signals.score`).
"""

from __future__ import annotations

import math
import re
import zlib
from collections import Counter
from functools import lru_cache
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from numpy.typing import NDArray

MODEL_PATH = Path(__file__).parent / "data" / "intent-model.npz"
BUCKETS = 1 << 16  # hashed features per block; collisions cost little at this size
CHAR_SIZES = range(2, 6)
WORD = re.compile(r"(?u)\b\w\w+\b")
SPACES = re.compile(r"\s+")


def _bucket(feature: str) -> int:
    return zlib.crc32(feature.encode("utf-8")) % BUCKETS


def char_grams(text: str) -> Counter[int]:
    """Hashed 2- to 5-letter pieces of each word, the word padded with a space on each side (" kettel " shares
    " ket", "kett", "ttle"… with " kettle ")."""
    counts: Counter[int] = Counter()
    for word in SPACES.sub(" ", text.lower()).split():
        padded = f" {word} "
        for n in CHAR_SIZES:
            if len(padded) < n:
                break
            counts.update(_bucket(padded[i : i + n]) for i in range(len(padded) - n + 1))
    return counts


def word_grams(text: str) -> Counter[int]:
    """Hashed words and pairs of neighbouring words (in a block of their own)."""
    words = WORD.findall(text.lower())
    grams = [*words, *(f"{a} {b}" for a, b in pairwise(words))]
    return Counter(BUCKETS + _bucket(g) for g in grams)


def features(text: str, idf: NDArray[np.float32]) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
    """The message as sparse tf-idf features: (indexes, values), each block normalised to length 1."""
    indexes: list[int] = []
    values: list[float] = []
    for counts in (char_grams(text), word_grams(text)):
        if not counts:
            continue
        block = [(i, (1.0 + math.log(c)) * float(idf[i])) for i, c in counts.items()]
        norm = math.sqrt(sum(v * v for _, v in block)) or 1.0
        indexes.extend(i for i, _ in block)
        values.extend(v / norm for _, v in block)
    return np.asarray(indexes, dtype=np.int64), np.asarray(values, dtype=np.float32)


class IntentModel:
    """The trained weights: `classes` (intent values), `coef` (classes × features), `intercept`, `idf`."""

    def __init__(
        self,
        classes: Sequence[str],
        coef: NDArray[np.floating],
        intercept: NDArray[np.floating],
        idf: NDArray[np.floating],
    ) -> None:
        self.classes = list(classes)
        self.coef = np.asarray(coef, dtype=np.float32)
        self.intercept = np.asarray(intercept, dtype=np.float32)
        self.idf = np.asarray(idf, dtype=np.float32)

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> IntentModel:
        with np.load(path, allow_pickle=False) as data:
            return cls([str(c) for c in data["classes"]], data["coef"], data["intercept"], data["idf"])

    def save(self, path: Path = MODEL_PATH) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # float16 weights: a quarter of the size, and the same predictions (tests/unit/test_intentmodel.py)
        np.savez_compressed(
            path,
            classes=np.asarray(self.classes),
            coef=self.coef.astype(np.float16),
            intercept=self.intercept,
            idf=self.idf.astype(np.float16),
        )

    def probabilities(self, text: str) -> dict[str, float]:
        """Each intent's probability for this message."""
        indexes, values = features(text, self.idf)
        scores = self.intercept + (self.coef[:, indexes] @ values if len(indexes) else 0.0)
        exp = np.exp(scores - scores.max())
        return dict(zip(self.classes, (exp / exp.sum()).tolist(), strict=True))

    def predict(self, text: str) -> tuple[str, float]:
        """The likeliest intent and its probability."""
        probabilities = self.probabilities(text)
        best = max(probabilities, key=probabilities.__getitem__)
        return best, probabilities[best]


@lru_cache(maxsize=1)
def model() -> IntentModel:
    """The shipped model, loaded once per process (about 2 MB, a few tens of milliseconds)."""
    return IntentModel.load()


def train(texts: Iterable[str], labels: Iterable[str], strength: float = 30.0) -> IntentModel:
    """Fit the model on labelled messages (scikit-learn's logistic regression: a development dependency, imported
    only here). `strength` is the inverse of the L2 penalty."""
    from scipy.sparse import csr_matrix
    from sklearn.linear_model import LogisticRegression

    texts, labels = list(texts), list(labels)
    grams = [(char_grams(t), word_grams(t)) for t in texts]
    documents = np.zeros(2 * BUCKETS, dtype=np.float64)
    for chars, words in grams:
        for i in set(chars) | set(words):
            documents[i] += 1
    idf = (np.log((1 + len(texts)) / (1 + documents)) + 1).astype(np.float32)
    # the weights are saved as float16: features are computed from the rounded idf, in training as in use
    idf = idf.astype(np.float16).astype(np.float32)
    rows, cols, vals = [], [], []
    for row, text in enumerate(texts):
        indexes, values = features(text, idf)
        rows.extend([row] * len(indexes))
        cols.extend(indexes.tolist())
        vals.extend(values.tolist())
    matrix = csr_matrix((vals, (rows, cols)), shape=(len(texts), 2 * BUCKETS))
    fitted = LogisticRegression(C=strength, max_iter=5000).fit(matrix, labels)
    return IntentModel([str(c) for c in fitted.classes_], fitted.coef_, fitted.intercept_, idf)
