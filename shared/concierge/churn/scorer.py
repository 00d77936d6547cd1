"""Scores customers with a trained churn model's artifact (train.py writes it), with numpy only: no scikit-learn, so
a function can score on a schedule.

The artifact (JSON, `ChurnModel`) holds the model and its calibration map:
- a logistic regression on standardised features: raw = intercept + Σ coef × (x − mean) / scale;
- or gradient-boosted trees: raw = init + learning_rate × Σ leaf value, each tree as arrays (feature, threshold,
  left, right, value); a row goes left when its value (as float32, as scikit-learn compares) is <= the threshold;
- the calibration (Platt): probability = 1 / (1 + exp(a × raw + b)).

The reasons are exact decompositions of the calibrated log-odds, log-odds = base + Σ feature effects:
- logistic regression: a feature's effect is −a × coef × (x − mean) / scale, its pull away from the typical customer;
- trees: path contributions (Saabas): along a row's path in each tree, a split on a feature moves the expected
  value from the node's to the child's, and that move is the feature's. Each inner node's value is the mean of the
  leaves under it (weighted by the training rows reaching them), so the moves add up exactly to the leaf's value.
Each effect is put in words from the row's own value ("no sign-in for 41 days").
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, Final, Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from concierge.churn.features import MODEL_FEATURES, RECENT_DAYS, WINDOW_DAYS, YEAR_DAYS, ChurnFeatures

FORMAT: Final = "concierge-churn/1"
REASONS = 3

RiskBand = Literal["low", "medium", "high"]
Matrix = NDArray[np.float64]


class ChurnModelError(ValueError):
    """A churn model artifact that cannot be used (missing, not JSON, not this format, or inconsistent)."""


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LogisticModel(_Part):
    kind: Literal["logistic_regression"] = "logistic_regression"
    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float

    @model_validator(mode="after")
    def _sizes(self) -> LogisticModel:
        if not len(self.mean) == len(self.scale) == len(self.coef):
            raise ValueError("mean, scale and coef must have one value per feature")
        if any(s <= 0 for s in self.scale):
            raise ValueError("every scale must be positive")
        return self


class Tree(_Part):
    """One regression tree: node 0 is the root; at a leaf, feature is -1 and left and right are -1."""

    feature: list[int]
    threshold: list[float]
    left: list[int]
    right: list[int]
    value: list[float] = Field(description="a leaf's value; an inner node's: the weighted mean of its leaves")

    @model_validator(mode="after")
    def _shape(self) -> Tree:
        n = len(self.feature)
        if not n or not len(self.threshold) == len(self.left) == len(self.right) == len(self.value) == n:
            raise ValueError("a tree needs one feature, threshold, left, right and value per node")
        for node in range(n):
            leaf = self.feature[node] < 0
            children = (self.left[node], self.right[node])
            if leaf != (children == (-1, -1)) or (not leaf and not all(node < c < n for c in children)):
                raise ValueError(f"node {node} has children {children} that are not a tree's")
        return self


class BoostedTrees(_Part):
    kind: Literal["gradient_boosting"] = "gradient_boosting"
    init: float
    learning_rate: float = Field(gt=0)
    trees: list[Tree] = Field(min_length=1)


class Calibration(_Part):
    """Platt scaling: probability = 1 / (1 + exp(a × raw + b))."""

    a: float
    b: float


class Bands(_Part):
    """A probability at or above `high` is high risk, at or above `medium` medium, else low."""

    medium: float = Field(0.25, gt=0, lt=1)
    high: float = Field(0.5, gt=0, lt=1)

    @model_validator(mode="after")
    def _ordered(self) -> Bands:
        if self.medium >= self.high:
            raise ValueError("the medium band must start below the high band")
        return self


class HeldOutFigures(_Part):
    """What the model measured on the held-out split it never saw (train.py), kept with it for the record."""

    customers: int
    base_rate: float
    auc: float
    brier: float
    base_rate_brier: float
    lift_top_decile: float


class ChurnModel(_Part):
    format: Literal["concierge-churn/1"]
    trained_at: datetime
    features: list[str] = Field(min_length=1)
    typical: list[float] = Field(description="each feature's mean over the training rows, for the reasons' words")
    model: Annotated[LogisticModel | BoostedTrees, Field(discriminator="kind")]
    calibration: Calibration
    bands: Bands = Field(default_factory=Bands)
    held_out: HeldOutFigures | None = None

    @model_validator(mode="after")
    def _consistent(self) -> ChurnModel:
        unknown = sorted(set(self.features) - set(MODEL_FEATURES))
        if unknown:
            raise ValueError(f"features this version does not build: {', '.join(unknown)}")
        if len(self.typical) != len(self.features):
            raise ValueError("typical must have one value per feature")
        width = len(self.features)
        if isinstance(self.model, LogisticModel) and len(self.model.coef) != width:
            raise ValueError(f"the logistic model has {len(self.model.coef)} coefficients for {width} features")
        if isinstance(self.model, BoostedTrees):
            used = max(max(t.feature) for t in self.model.trees)
            if used >= width:
                raise ValueError(f"a tree splits on feature {used}, beyond the {width} features")
        return self


class Reason(BaseModel):
    feature: str
    direction: Literal["raises", "lowers"]
    effect: float = Field(description="what the feature adds to the customer's churn log-odds")
    text: str


class ChurnScore(BaseModel):
    customer_id: str
    as_of: date
    probability: float = Field(ge=0, le=1)
    band: RiskBand
    reasons: list[Reason]


def load_model(path: Path) -> ChurnModel:
    """The artifact at `path`; ChurnModelError says what is wrong with it."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ChurnModelError(f"{path}: cannot be read ({error.strerror or error})") from None
    return parse_model(text, str(path))


def parse_model(text: str, source: str) -> ChurnModel:
    """The artifact in `text` (read from `source`, which the errors name: a file, the deployed copy)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ChurnModelError(f"{source}: not a churn model (not JSON: {error.msg})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        found = data.get("format") if isinstance(data, dict) else None
        raise ChurnModelError(
            f"{source}: not a churn model of format {FORMAT} (format: {found!r}); train one with "
            "`concierge churn train`"
        )
    try:
        return ChurnModel.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ChurnModelError(f"{source}: {where}: {first['msg']}") from None


def save_model(model: ChurnModel, path: Path) -> None:
    path.write_text(model.model_dump_json(), encoding="utf-8")


class Scorer:
    """A model ready to score: its arrays built once."""

    def __init__(self, model: ChurnModel) -> None:
        self.model = model
        self._columns = [MODEL_FEATURES.index(name) for name in model.features]
        self._trees = (
            [
                tuple(np.asarray(a) for a in (t.feature, t.threshold, t.left, t.right, t.value))
                for t in model.model.trees
            ]
            if isinstance(model.model, BoostedTrees)
            else []
        )

    def matrix(self, rows: list[ChurnFeatures]) -> Matrix:
        """The model's inputs of each row, a missing value at its neutral value."""
        full = np.asarray([row.values() for row in rows], dtype=np.float64).reshape(len(rows), len(MODEL_FEATURES))
        return full[:, self._columns]

    def raw(self, x: Matrix) -> tuple[NDArray[np.float64], Matrix]:
        """The model's raw score of each row as (base, effects): raw = base + effects.sum(axis=1)."""
        model = self.model.model
        if isinstance(model, LogisticModel):
            effects = np.asarray(model.coef) * (x - np.asarray(model.mean)) / np.asarray(model.scale)
            return np.full(len(x), model.intercept), effects
        effects = np.zeros_like(x)
        base = np.full(len(x), model.init)
        compared = x.astype(np.float32).astype(np.float64)  # scikit-learn's trees compare float32 values
        rows = np.arange(len(x))
        for feature, threshold, left, right, value in self._trees:
            node = np.zeros(len(x), dtype=np.int64)
            base += model.learning_rate * value[0]
            while True:
                inner = feature[node] >= 0
                if not inner.any():
                    break
                split = np.where(inner, feature[node], 0)
                child = np.where(compared[rows, split] <= threshold[node], left[node], right[node])
                child = np.where(inner, child, node)
                effects[rows[inner], split[inner]] += model.learning_rate * (value[child] - value[node])[inner]
                node = child
        return base, effects

    def log_odds(self, rows: list[ChurnFeatures]) -> tuple[NDArray[np.float64], Matrix]:
        """Each row's calibrated churn log-odds as (base, effects), base + effects.sum(axis=1)."""
        base, effects = self.raw(self.matrix(rows))
        slope = -self.model.calibration.a
        return slope * base - self.model.calibration.b, slope * effects

    def probabilities(self, rows: list[ChurnFeatures]) -> NDArray[np.float64]:
        base, effects = self.raw(self.matrix(rows))
        calibration = self.model.calibration
        z = calibration.a * (base + effects.sum(axis=1)) + calibration.b
        return np.asarray(1.0 / (1.0 + np.exp(z)), dtype=np.float64)

    def band(self, probability: float) -> RiskBand:
        bands = self.model.bands
        return "high" if probability >= bands.high else "medium" if probability >= bands.medium else "low"

    def score(self, rows: list[ChurnFeatures], reasons: int = REASONS) -> list[ChurnScore]:
        if not rows:
            return []
        base, effects = self.log_odds(rows)
        probabilities = 1.0 / (1.0 + np.exp(-(base + effects.sum(axis=1))))
        typical = dict(zip(self.model.features, self.model.typical, strict=True))
        scores = []
        for row, probability, row_effects in zip(rows, probabilities, effects, strict=True):
            strongest = sorted(range(len(row_effects)), key=lambda j: -abs(row_effects[j]))[:reasons]
            scores.append(
                ChurnScore(
                    customer_id=row.customer_id,
                    as_of=row.as_of,
                    probability=float(probability),
                    band=self.band(float(probability)),
                    reasons=[
                        _reason(row, self.model.features[j], float(row_effects[j]), typical)
                        for j in strongest
                        if row_effects[j] != 0
                    ],
                )
            )
        return scores


def score_customers(model: ChurnModel, rows: list[ChurnFeatures], reasons: int = REASONS) -> list[ChurnScore]:
    """Each customer's churn probability, risk band and the `reasons` features that moved it most, in the order of
    `rows`."""
    return Scorer(model).score(rows, reasons)


# the reasons' words --------------------------------------------------------------------------------------------------
def _times(n: int, one: str, many: str | None = None) -> str:
    return f"{n or 'no'} {one if n == 1 else (many or one + 's')}"


def _reason(row: ChurnFeatures, feature: str, effect: float, typical: dict[str, float]) -> Reason:
    value = getattr(row, feature)
    usual = typical[feature]
    words = _WORDS[feature](value, usual)
    return Reason(feature=feature, direction="raises" if effect > 0 else "lowers", effect=round(effect, 4), text=words)


def _days_since_sign_in(days: int, _: float) -> str:
    if days >= WINDOW_DAYS:
        return f"no sign-in in the last {WINDOW_DAYS} days"
    return "signed in today" if days == 0 else f"no sign-in for {_times(days, 'day')}"


def _days_since_order(days: int, _: float) -> str:
    if days >= YEAR_DAYS:
        return "no order in the last 12 months"
    return "ordered today" if days == 0 else f"last order {_times(days, 'day')} ago"


Words = Callable[[Any, float], str]  # (the row's value, the typical value) -> the reason in words


def _count(one: str, window: str, many: str | None = None) -> Words:
    def words(n: int, usual: float) -> str:
        figure = f"{usual:.0f}" if usual >= 10 else f"{usual:.1f}"
        return f"{_times(n, one, many)} in the last {window} (typical: {figure})"

    return words


def _sentiment(value: float | None, _: float) -> str:
    if value is None:
        return f"no conversation with support in the last {WINDOW_DAYS} days"
    tone = "negative" if value < -0.05 else "positive" if value > 0.05 else "neutral"
    return f"{tone} tone in conversations with support (sentiment {value:+.2f})"


def _auto_csat(value: float | None, _: float) -> str:
    if value is None:
        return f"no conversation with support in the last {WINDOW_DAYS} days"
    return f"Auto-CSAT {value:.1f} of 5 on conversations in the last {WINDOW_DAYS} days"


def _tenure(days: int, _: float) -> str:
    if days < 60:
        return f"a customer for {_times(days, 'day')}"
    months = days // 30
    return f"a customer for {_times(months, 'month')}" if months < 24 else f"a customer for {days // 365} years"


_WORDS: dict[str, Words] = {
    "tenure_days": _tenure,
    "sign_ins_30d": _count("sign-in", f"{RECENT_DAYS} days"),
    "sign_ins_90d": _count("sign-in", f"{WINDOW_DAYS} days"),
    "days_since_sign_in": _days_since_sign_in,
    "feature_uses_30d": _count("feature use", f"{RECENT_DAYS} days"),
    "feature_uses_90d": _count("feature use", f"{WINDOW_DAYS} days"),
    "features_used_90d": _count("different feature used", f"{WINDOW_DAYS} days", "different features used"),
    "orders_90d": _count("order", f"{WINDOW_DAYS} days"),
    "orders_365d": _count("order", "12 months"),
    "days_since_order": _days_since_order,
    "support_contacts_90d": _count("conversation with support", f"{WINDOW_DAYS} days", "conversations with support"),
    "sentiment_90d": _sentiment,
    "auto_csat_90d": _auto_csat,
}
