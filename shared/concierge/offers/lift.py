"""The lift an offer earned: its treatment group against its holdout group, with 95% intervals, or "not enough data".

Pure Python (math, and random with an explicit seed): the functions that report lift carry no numpy.

Rates (conversion, retention), with x customers of n converting (or staying) in a group and p = x / n:

    lift     = p_t − p_h
    se       = sqrt(p_t·(1 − p_t) / n_t + p_h·(1 − p_h) / n_h)     unpooled: the groups' rates need not be equal
    95%      = lift ± 1.96·se                                     two-proportion normal approximation (Wald)
    relative = p_t / p_h − 1, its 95% interval exp(ln(p_t / p_h) ± 1.96·sqrt((1 − p_t)/x_t + (1 − p_h)/x_h)) − 1
                                                                  (Katz's log interval for a ratio of proportions)

Revenue per customer: the mean over every customer of a group, 0 for those who bought nothing, so it holds both
more buyers and what they spend; lift = mean_t − mean_h. Revenue is skewed (many zeros, a few large orders), so its
95% interval is a percentile bootstrap: B times, draw n_t customers from the treatment group and n_h from the
holdout group with replacement, take the difference of the two means; the interval is the 2.5th and 97.5th
percentiles of the B differences (linear interpolation between order statistics at position q·(B − 1)). The same
resamples give the relative lift's interval. B and the seed are parameters, so a report is reproducible.

Minimum data, per group, below which the result is `NotEnoughData` and never a number:
- at least 30 customers: under that a mean's sampling distribution is far from the normal one both intervals lean on;
- rates: at least 5 customers with the event and 5 without (n·p ≥ 5 and n·(1 − p) ≥ 5, the usual condition for the
  normal approximation to a binomial; it also keeps p_h > 0, so the relative lift exists);
- revenue: at least 5 customers with revenue, so the bootstrap does not resample a handful of orders.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from concierge.metrics.formulas import Z95

MIN_CUSTOMERS = 30
MIN_EVENTS = 5
DEFAULT_RESAMPLES = 2000
MIN_RESAMPLES = 100


class Metric(StrEnum):
    CONVERSION = "conversion"
    RETENTION = "retention"
    REVENUE_PER_CUSTOMER = "revenue_per_customer"


class RateCounts(BaseModel):
    """A group's customers and how many of them had the event (converted, or stayed)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    customers: int = Field(ge=0)
    events: int = Field(ge=0)

    @model_validator(mode="after")
    def _within(self) -> RateCounts:
        if self.events > self.customers:
            raise ValueError(f"{self.events} events among {self.customers} customers")
        return self

    @property
    def rate(self) -> float:
        return self.events / self.customers


class RateLift(BaseModel):
    """Absolute lift in rate units (0.02 = two percentage points) and relative lift (0.25 = 25% more)."""

    model_config = ConfigDict(frozen=True)

    result: Literal["lift"] = "lift"
    metric: Metric
    treated: RateCounts
    holdout: RateCounts
    treated_rate: float
    holdout_rate: float
    lift: float
    low: float
    high: float
    relative: float
    relative_low: float
    relative_high: float


class MeanLift(BaseModel):
    """Revenue per customer: absolute lift in the shop's currency, relative lift, bootstrap intervals."""

    model_config = ConfigDict(frozen=True)

    result: Literal["lift"] = "lift"
    metric: Metric
    treated_customers: int
    holdout_customers: int
    treated_mean: float
    holdout_mean: float
    lift: float
    low: float
    high: float
    relative: float | None = Field(description="None when the holdout group's mean is not above 0")
    relative_low: float | None
    relative_high: float | None
    resamples: int
    seed: int


class NotEnoughData(BaseModel):
    model_config = ConfigDict(frozen=True)

    result: Literal["not_enough_data"] = "not_enough_data"
    metric: Metric
    treated_customers: int
    holdout_customers: int
    reason: str = Field(description="what is missing, in words: 'the holdout group has 12 customers; 30 are needed'")


def conversion_lift(treated: RateCounts, holdout: RateCounts) -> RateLift | NotEnoughData:
    """Lift in the share of customers who bought after the moment (treatment: offered; holdout: not)."""
    return _rate_lift(Metric.CONVERSION, treated, holdout)


def retention_lift(treated: RateCounts, holdout: RateCounts) -> RateLift | NotEnoughData:
    """Lift in the share of customers still customers after the period (a retention offer's measure)."""
    return _rate_lift(Metric.RETENTION, treated, holdout)


def _rate_lift(metric: Metric, treated: RateCounts, holdout: RateCounts) -> RateLift | NotEnoughData:
    for group, counts in (("treatment", treated), ("holdout", holdout)):
        short = _too_few(group, counts.customers)
        if short is None and min(counts.events, counts.customers - counts.events) < MIN_EVENTS:
            short = (
                f"the {group} group has {counts.events} of {counts.customers} customers with the event; at least "
                f"{MIN_EVENTS} with it and {MIN_EVENTS} without are needed"
            )
        if short is not None:
            return NotEnoughData(
                metric=metric, treated_customers=treated.customers, holdout_customers=holdout.customers, reason=short
            )
    p_t, p_h = treated.rate, holdout.rate
    lift = p_t - p_h
    se = math.sqrt(p_t * (1 - p_t) / treated.customers + p_h * (1 - p_h) / holdout.customers)
    log_ratio = math.log(p_t / p_h)
    log_se = math.sqrt((1 - p_t) / treated.events + (1 - p_h) / holdout.events)
    return RateLift(
        metric=metric,
        treated=treated,
        holdout=holdout,
        treated_rate=p_t,
        holdout_rate=p_h,
        lift=lift,
        low=lift - Z95 * se,
        high=lift + Z95 * se,
        relative=p_t / p_h - 1,
        relative_low=math.exp(log_ratio - Z95 * log_se) - 1,
        relative_high=math.exp(log_ratio + Z95 * log_se) - 1,
    )


def revenue_lift(
    treated: Sequence[float | Decimal],
    holdout: Sequence[float | Decimal],
    *,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> MeanLift | NotEnoughData:
    """Lift in revenue per customer: one value per customer of each group (0 for those who bought nothing)."""
    if resamples < MIN_RESAMPLES:
        raise ValueError(f"a bootstrap needs at least {MIN_RESAMPLES} resamples, not {resamples}")
    t = [float(v) for v in treated]
    h = [float(v) for v in holdout]
    if not all(math.isfinite(v) for v in (*t, *h)):
        raise ValueError("revenue values must be finite numbers")
    for group, values in (("treatment", t), ("holdout", h)):
        short = _too_few(group, len(values))
        buyers = sum(1 for v in values if v > 0)
        if short is None and buyers < MIN_EVENTS:
            short = f"the {group} group has {buyers} customers with revenue; at least {MIN_EVENTS} are needed"
        if short is not None:
            return NotEnoughData(
                metric=Metric.REVENUE_PER_CUSTOMER, treated_customers=len(t), holdout_customers=len(h), reason=short
            )
    mean_t, mean_h = math.fsum(t) / len(t), math.fsum(h) / len(h)
    rng = random.Random(seed)
    earning_t, earning_h = [v for v in t if v != 0], [v for v in h if v != 0]
    differences, ratios = [], []
    for _ in range(resamples):
        resampled_t = _resampled_mean(rng, t, earning_t)
        resampled_h = _resampled_mean(rng, h, earning_h)
        differences.append(resampled_t - resampled_h)
        ratios.append(resampled_t / resampled_h - 1 if resampled_h > 0 else math.nan)
    differences.sort()
    relative_bounds: tuple[float | None, float | None] = (None, None)
    if mean_h > 0 and not any(math.isnan(r) for r in ratios):
        ratios.sort()
        relative_bounds = (percentile(ratios, 0.025), percentile(ratios, 0.975))
    return MeanLift(
        metric=Metric.REVENUE_PER_CUSTOMER,
        treated_customers=len(t),
        holdout_customers=len(h),
        treated_mean=mean_t,
        holdout_mean=mean_h,
        lift=mean_t - mean_h,
        low=percentile(differences, 0.025),
        high=percentile(differences, 0.975),
        relative=mean_t / mean_h - 1 if mean_h > 0 else None,
        relative_low=relative_bounds[0],
        relative_high=relative_bounds[1],
        resamples=resamples,
        seed=seed,
    )


def percentile(ordered: Sequence[float], q: float) -> float:
    """The q-quantile of sorted values, interpolating linearly between the order statistics around q·(len − 1)."""
    if not ordered or not 0 <= q <= 1:
        raise ValueError("needs sorted values and 0 <= q <= 1")
    position = q * (len(ordered) - 1)
    below = math.floor(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (position - below) * (ordered[above] - ordered[below])


def _resampled_mean(rng: random.Random, values: list[float], earning: list[float]) -> float:
    """The mean of len(values) draws with replacement from `values`, whose non-zero ones are `earning`. Most
    customers of a group bought nothing and add 0 to any draw, so when fewer than half have revenue, only the draws
    that land on one are made: their number is binomial(n, share with revenue), then which ones is a uniform draw
    among them. The same distribution as drawing all n, for a fraction of the work (a dashboard's groups run to tens
    of thousands of customers)."""
    n = len(values)
    if 2 * len(earning) > n:
        return sum(rng.choices(values, k=n)) / n
    return sum(rng.choices(earning, k=_binomial(rng, n, len(earning) / n))) / n


def _binomial(rng: random.Random, n: int, q: float) -> int:
    """Successes in n independent trials of probability q (0 < q < 1), counted by jumping from one success to the
    next: the gap is geometric, 1 + floor(ln U / ln(1 − q)) with U uniform in (0, 1]."""
    if q <= 0:
        return 0
    log_miss = math.log1p(-q)
    successes = trial = 0
    while True:
        trial += 1 + int(math.log(1.0 - rng.random()) / log_miss)
        if trial > n:
            return successes
        successes += 1


def _too_few(group: str, customers: int) -> str | None:
    if customers < MIN_CUSTOMERS:
        return f"the {group} group has {customers} customers; at least {MIN_CUSTOMERS} are needed"
    return None
