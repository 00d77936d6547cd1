"""Trains the churn model (`concierge churn train`) with scikit-learn, a development dependency: this module runs on a
developer's or merchant's machine, never in a function (the layer leaves it out; scorer.py scores the artifact).

1. The labelled rows are split once: a quarter is held out (stratified, seeded) and never used to fit or to choose.
2. The rest is split again: three quarters to fit, a quarter to validate the choice. Two candidates are fitted, each
   calibrated (Platt scaling, `CalibratedClassifierCV(method="sigmoid", cv=5, ensemble=False)`: the calibration map
   is fitted on cross-validated predictions, the model on all the rows it is given):
   - a logistic regression on standardised features;
   - gradient-boosted trees (200 trees of depth 3, learning rate 0.05, rows subsampled at 80%).
   The one with the lower log-loss on the validation rows wins: log-loss is a proper scoring rule, so it rewards
   ranking and calibration together (a model that ranks as well but says 30% for 15% loses).
3. The winner is fitted again on the whole training part, measured on the held-out rows (AUC, Brier score against
   the base rate's, a reliability table over deciles of predicted risk, lift at the top decile), and exported.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, cast

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel
from sklearn.calibration import CalibratedClassifierCV, calibration_curve
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from concierge.churn.features import MODEL_FEATURES, ChurnDataError, ChurnRow
from concierge.churn.scorer import (
    FORMAT,
    BoostedTrees,
    Calibration,
    ChurnModel,
    HeldOutFigures,
    LogisticModel,
    Scorer,
    Tree,
)

Family = Literal["logistic_regression", "gradient_boosting"]
FAMILIES: tuple[Family, ...] = ("logistic_regression", "gradient_boosting")
NAMES: dict[Family, str] = {"logistic_regression": "logistic regression", "gradient_boosting": "gradient boosting"}
HELD_OUT_SHARE = 0.25
VALIDATION_SHARE = 0.25
CALIBRATION_FOLDS = 5
BINS = 10
MIN_ROWS = 200
MIN_PER_CLASS = 20
CRITERION = "validation log-loss (lower wins)"


class Candidate(BaseModel):
    family: Family
    log_loss: float
    brier: float
    auc: float


class ReliabilityBin(BaseModel):
    predicted: float  # the mean predicted probability of the bin's customers
    observed: float  # the share of them that churned
    customers: int


class HeldOut(BaseModel):
    customers: int
    churned: int
    base_rate: float
    auc: float
    brier: float
    base_rate_brier: float  # the Brier score of saying the training base rate to everyone
    lift_top_decile: float
    top_decile_rate: float
    reliability: list[ReliabilityBin]


class TrainingReport(BaseModel):
    customers: int
    churned: int
    fitted: int
    validated: int
    candidates: list[Candidate]
    criterion: str
    chosen: Family
    held_out: HeldOut


@dataclass(frozen=True)
class Trained:
    """What `train` returns: the artifact, the report, and the fitted estimator it was exported from."""

    model: ChurnModel
    report: TrainingReport
    estimator: CalibratedClassifierCV


def estimator(family: Family, seed: int) -> CalibratedClassifierCV:
    """An unfitted, calibrated candidate."""
    base: Any
    if family == "logistic_regression":
        base = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    else:
        base = GradientBoostingClassifier(
            n_estimators=200, learning_rate=0.05, max_depth=3, subsample=0.8, min_samples_leaf=20, random_state=seed
        )
    return CalibratedClassifierCV(base, method="sigmoid", cv=CALIBRATION_FOLDS, ensemble=False)


def arrays(rows: Sequence[ChurnRow]) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """The rows' model inputs and labels; ChurnDataError when a label is missing or either class is too rare."""
    unlabelled = sum(row.churned is None for row in rows)
    if unlabelled:
        raise ChurnDataError(f"{unlabelled} of {len(rows)} rows have no churned label: training needs every label")
    y = np.asarray([int(bool(row.churned)) for row in rows], dtype=np.int64)
    churned = int(y.sum())
    if len(rows) < MIN_ROWS or min(churned, len(rows) - churned) < MIN_PER_CLASS:
        raise ChurnDataError(
            f"{len(rows)} rows with {churned} churned: training needs at least {MIN_ROWS} rows and "
            f"{MIN_PER_CLASS} of each outcome"
        )
    x = np.asarray([row.values() for row in rows], dtype=np.float64)
    return x, y


def split(y: NDArray[np.int64], seed: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """(training, held-out) row indexes: a stratified quarter held out, the same for the same labels and seed."""
    indexes = np.arange(len(y))
    training, held_out = train_test_split(indexes, test_size=HELD_OUT_SHARE, stratify=y, random_state=seed)
    return np.sort(training), np.sort(held_out)


def train(rows: Sequence[ChurnRow], seed: int = 7, families: Sequence[Family] = FAMILIES) -> Trained:
    """Fit each of `families`, keep the one with the lowest validation log-loss, measure it on the held-out rows."""
    x, y = arrays(rows)
    training, held_out = split(y, seed)
    fit, validate = train_test_split(training, test_size=VALIDATION_SHARE, stratify=y[training], random_state=seed + 1)
    candidates = []
    for family in families:
        fitted = estimator(family, seed).fit(x[fit], y[fit])
        p = fitted.predict_proba(x[validate])[:, 1]
        candidates.append(
            Candidate(
                family=family,
                log_loss=float(log_loss(y[validate], p)),
                brier=float(brier_score_loss(y[validate], p)),
                auc=float(roc_auc_score(y[validate], p)),
            )
        )
    chosen = min(candidates, key=lambda c: c.log_loss).family
    final = estimator(chosen, seed).fit(x[training], y[training])
    figures = measure(y[held_out], final.predict_proba(x[held_out])[:, 1], float(y[training].mean()))
    model = export(
        final,
        typical=x[training].mean(axis=0),
        held_out=HeldOutFigures(
            customers=figures.customers,
            base_rate=figures.base_rate,
            auc=figures.auc,
            brier=figures.brier,
            base_rate_brier=figures.base_rate_brier,
            lift_top_decile=figures.lift_top_decile,
        ),
    )
    report = TrainingReport(
        customers=len(rows),
        churned=int(y.sum()),
        fitted=len(fit),
        validated=len(validate),
        candidates=candidates,
        criterion=CRITERION,
        chosen=chosen,
        held_out=figures,
    )
    return Trained(model=model, report=report, estimator=final)


def measure(y: NDArray[np.int64], p: NDArray[np.float64], training_rate: float) -> HeldOut:
    """The held-out figures of predictions `p` for outcomes `y`."""
    observed, predicted = calibration_curve(y, p, n_bins=BINS, strategy="quantile")
    # the customers in each bin, binned as calibration_curve bins them (it returns the non-empty bins only)
    edges = np.percentile(p, np.linspace(0, 100, BINS + 1))
    counts = np.bincount(np.searchsorted(edges[1:-1], p), minlength=BINS)
    counts = counts[counts != 0]
    top = np.argsort(-p, kind="stable")[: math.ceil(len(p) / 10)]
    base_rate = float(y.mean())
    top_rate = float(y[top].mean())
    return HeldOut(
        customers=len(y),
        churned=int(y.sum()),
        base_rate=base_rate,
        auc=float(roc_auc_score(y, p)),
        brier=float(brier_score_loss(y, p)),
        base_rate_brier=float(brier_score_loss(y, np.full(len(y), training_rate))),
        lift_top_decile=top_rate / base_rate,
        top_decile_rate=top_rate,
        reliability=[
            ReliabilityBin(predicted=float(a), observed=float(b), customers=int(n))
            for a, b, n in zip(predicted, observed, counts, strict=True)
        ],
    )


def export(
    fitted: CalibratedClassifierCV, typical: NDArray[np.float64], held_out: HeldOutFigures | None = None
) -> ChurnModel:
    """The artifact of a fitted candidate: its model, its calibration map, the training means."""
    [calibrated] = fitted.calibrated_classifiers_
    [calibrator] = calibrated.calibrators
    inner = calibrated.estimator
    model: LogisticModel | BoostedTrees
    if isinstance(inner, Pipeline):
        scaler, regression = cast(StandardScaler, inner[0]), cast(LogisticRegression, inner[-1])
        model = LogisticModel(
            mean=[float(v) for v in scaler.mean_],
            scale=[float(v) for v in scaler.scale_],
            coef=[float(v) for v in regression.coef_[0]],
            intercept=float(regression.intercept_[0]),
        )
    else:
        boosted = cast(GradientBoostingClassifier, inner)
        prior = float(boosted.init_.class_prior_[1])
        model = BoostedTrees(
            init=math.log(prior / (1 - prior)),
            learning_rate=float(boosted.learning_rate),
            trees=[_tree(stage[0].tree_) for stage in boosted.estimators_],
        )
    artifact = ChurnModel(
        format=FORMAT,
        trained_at=datetime.now(UTC).replace(microsecond=0),
        features=list(MODEL_FEATURES),
        typical=[float(v) for v in typical],
        model=model,
        calibration=Calibration(a=float(calibrator.a_), b=float(calibrator.b_)),
        held_out=held_out,
    )
    Scorer(artifact)  # the arrays build: a malformed export fails here, not at the first score
    return artifact


def _tree(tree: Any) -> Tree:
    """A fitted scikit-learn tree as the artifact's arrays; each inner node's value is the mean of its children's,
    weighted by the training rows reaching them, computed from the leaves up (children come after their parent)."""
    left = [int(v) for v in tree.children_left]
    right = [int(v) for v in tree.children_right]
    weight = [float(v) for v in tree.weighted_n_node_samples]
    value = [float(v) for v in tree.value[:, 0, 0]]
    for node in reversed(range(len(left))):
        if left[node] != -1:
            a, b = left[node], right[node]
            value[node] = (weight[a] * value[a] + weight[b] * value[b]) / (weight[a] + weight[b])
    leaf = [child == -1 for child in left]
    return Tree(
        feature=[-1 if is_leaf else int(f) for is_leaf, f in zip(leaf, tree.feature, strict=True)],
        threshold=[0.0 if is_leaf else float(t) for is_leaf, t in zip(leaf, tree.threshold, strict=True)],
        left=left,
        right=right,
        value=value,
    )


# the report in words -------------------------------------------------------------------------------------------------
def _percent(share: float) -> str:
    return f"{100 * share:.1f}%"


def report_text(report: TrainingReport) -> str:
    held = report.held_out
    lines = [
        f"Churn model trained on {report.customers} customers ({report.churned} churned, "
        f"{_percent(report.churned / report.customers)}): {report.fitted} to fit, {report.validated} to validate "
        f"the choice, {held.customers} held out.",
        "",
        f"Model choice, by {report.criterion}:",
        f"  {'candidate':<22}{'log-loss':>10}{'Brier':>10}{'AUC':>8}",
    ]
    for c in report.candidates:
        mark = "  <- chosen" if c.family == report.chosen else ""
        lines.append(f"  {NAMES[c.family]:<22}{c.log_loss:>10.4f}{c.brier:>10.4f}{c.auc:>8.3f}{mark}")
    winner = next(c for c in report.candidates if c.family == report.chosen)
    others = ", ".join(
        f"{c.log_loss:.4f} for {NAMES[c.family]}" for c in report.candidates if c.family != report.chosen
    )
    lines += [
        f"Chosen: {NAMES[report.chosen]} (validation log-loss {winner.log_loss:.4f}"
        + (f" against {others}" if others else "")
        + f"), fitted again on all {report.fitted + report.validated} training customers.",
        "",
        f"Held out ({held.customers} customers never used to fit or choose; {held.churned} churned, "
        f"{_percent(held.base_rate)}):",
        f"  AUC                     {held.auc:.3f}",
        f"  Brier score             {held.brier:.4f}   (the base rate alone: {held.base_rate_brier:.4f})",
        f"  lift at the top decile  {held.lift_top_decile:.2f}     ({_percent(held.top_decile_rate)} churned among "
        f"the riskiest 10%, {_percent(held.base_rate)} overall)",
        "",
        "Reliability (held out, by deciles of predicted risk):",
        f"  {'predicted':>10}{'observed':>10}{'customers':>11}",
    ]
    lines += [f"  {b.predicted:>10.3f}{b.observed:>10.3f}{b.customers:>11}" for b in held.reliability]
    return "\n".join(lines)
