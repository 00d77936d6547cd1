"""How well Auto-CSAT predicts the CSAT customers actually give, over the conversations that have both.

Pure functions over (auto, real) pairs of 1–5 scores: mean absolute error, Pearson and Spearman correlation (ties
get their average rank), exact and within-one agreement, and the 5×5 confusion table (rows: Auto-CSAT, columns: the
customer's answer). `pairs_between` reads the stored pairs one day-partition at a time (no table scan).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

if TYPE_CHECKING:
    from concierge.surveys.store import SurveyStore

SCORES = (1, 2, 3, 4, 5)


class CalibrationReport(BaseModel):
    pairs: int
    mean_auto: float | None
    mean_real: float | None
    mae: float | None = Field(description="mean absolute error, in points of the 1–5 scale")
    pearson: float | None = Field(description="None when either side has no variance (or fewer than two pairs)")
    spearman: float | None
    exact: float | None = Field(description="share of pairs where Auto-CSAT equals the answer")
    within_one: float | None
    confusion: list[list[int]] = Field(description="confusion[auto-1][real-1] = number of pairs")


def pearson(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    if len(xs) != len(ys):
        raise ValueError("pearson needs two sequences of the same length")
    n = len(xs)
    if n < 2:
        return None
    mx, my = sum(xs) / n, sum(ys) / n
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    if sxx == 0 or syy == 0:
        return None
    return sxy / math.sqrt(sxx * syy)


def ranks(values: Sequence[float]) -> list[float]:
    """1-based ranks; tied values share the average of the ranks they span."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    result = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        for position in range(start, end + 1):
            result[order[position]] = (start + end) / 2 + 1
        start = end + 1
    return result


def spearman(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    return pearson(ranks(xs), ranks(ys))


def calibrate(pairs: Iterable[tuple[int, int]]) -> CalibrationReport:
    pairs = list(pairs)
    for auto, real in pairs:
        if auto not in SCORES or real not in SCORES:
            raise ValueError(f"CSAT scores are 1 to 5, got ({auto}, {real})")
    confusion = [[0] * 5 for _ in SCORES]
    for auto, real in pairs:
        confusion[auto - 1][real - 1] += 1
    n = len(pairs)
    if n == 0:
        return CalibrationReport(
            pairs=0,
            mean_auto=None,
            mean_real=None,
            mae=None,
            pearson=None,
            spearman=None,
            exact=None,
            within_one=None,
            confusion=confusion,
        )
    autos, reals = [a for a, _ in pairs], [r for _, r in pairs]
    return CalibrationReport(
        pairs=n,
        mean_auto=sum(autos) / n,
        mean_real=sum(reals) / n,
        mae=sum(abs(a - r) for a, r in pairs) / n,
        pearson=pearson(autos, reals),
        spearman=spearman(autos, reals),
        exact=sum(a == r for a, r in pairs) / n,
        within_one=sum(abs(a - r) <= 1 for a, r in pairs) / n,
        confusion=confusion,
    )


def _number(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def table(report: CalibrationReport) -> str:
    """The report as Markdown: the summary line, then the confusion table."""
    lines = [
        "| pairs | MAE | Pearson | Spearman | exact | within one | mean Auto-CSAT | mean CSAT |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
        f"| {report.pairs} | {_number(report.mae)} | {_number(report.pearson)} | {_number(report.spearman)} | "
        f"{_number(None if report.exact is None else 100 * report.exact, 0)}% | "
        f"{_number(None if report.within_one is None else 100 * report.within_one, 0)}% | "
        f"{_number(report.mean_auto)} | {_number(report.mean_real)} |",
        "",
        "| Auto-CSAT \\ answer | 1 | 2 | 3 | 4 | 5 |",
        "| --- | --- | --- | --- | --- | --- |",
        *[f"| {auto} | " + " | ".join(str(c) for c in report.confusion[auto - 1]) + " |" for auto in SCORES],
    ]
    return "\n".join(lines)


def pairs_between(surveys: SurveyStore, first: date, last: date) -> list[tuple[int, int]]:
    """The stored (auto, real) pairs of conversations closed from `first` to `last` (inclusive): one query per day."""
    if last < first:
        raise ValueError(f"the range ends ({last}) before it starts ({first})")
    found: list[tuple[int, int]] = []
    day = first
    while day <= last:
        found += [(int(item["auto"]), int(item["real"])) for item in surveys.pairs(day)]
        day += timedelta(days=1)
    return found
