"""Lift measured on a simulated shop with a known true effect (no AWS needed): customers split by the real holdout
assignment, the offer lifting conversion from 8% to 10% at a 10% discount, order values log-normal. Over 200 seeded
runs the 95% intervals hold the true lifts in about 95% of runs and the point estimates average to the truth."""

from __future__ import annotations

import math
import random

import pytest

from concierge.offers.holdout import Group, assign
from concierge.offers.lift import MeanLift, NotEnoughData, RateCounts, RateLift, conversion_lift, revenue_lift

SALT = "simulated-shop"
OFFER_ID = "sold-out-alternative"
SHARE = 0.25  # more than the default 10%, so 200 runs of the bootstrap stay quick; the maths does not depend on it
CUSTOMERS = [f"sim_{n:05d}" for n in range(1600)]
RUNS = 200
RESAMPLES = 400

P_HOLDOUT, P_TREATED = 0.08, 0.10
DISCOUNT = 0.90  # a treated buyer pays 90% of the order
MU, SIGMA = math.log(60.0), 0.6  # order value: log-normal, mean exp(µ + σ²/2) = 60·e^0.18 = 71.83
MEAN_ORDER = math.exp(MU + SIGMA**2 / 2)
MEAN_SQUARE_ORDER = math.exp(2 * MU + 2 * SIGMA**2)

TRUE_CONVERSION_LIFT = P_TREATED - P_HOLDOUT  # 0.02
# revenue per customer: P(buy) × mean paid; 0.10·0.9·71.83 − 0.08·71.83 = 0.01·71.83 = 0.718
TRUE_REVENUE_LIFT = P_TREATED * DISCOUNT * MEAN_ORDER - P_HOLDOUT * MEAN_ORDER


def _revenue_variance(p: float, scale: float) -> float:
    """Variance of one customer's revenue: p·scale²·E[X²] − (p·scale·E[X])²."""
    return p * scale**2 * MEAN_SQUARE_ORDER - (p * scale * MEAN_ORDER) ** 2


@pytest.fixture(scope="module")
def groups() -> dict[str, Group]:
    return {c: assign(SALT, OFFER_ID, c, SHARE) for c in CUSTOMERS}


def simulate(groups: dict[str, Group], seed: int) -> tuple[list[float], list[float]]:
    """Each customer's revenue in one run: treated ones buy with 10% chance and pay 90%, held-out ones 8% and 100%."""
    rng = random.Random(seed)
    treated, holdout = [], []
    for customer in CUSTOMERS:
        is_treated = groups[customer] is Group.TREATMENT
        buys = rng.random() < (P_TREATED if is_treated else P_HOLDOUT)
        paid = rng.lognormvariate(MU, SIGMA) * (DISCOUNT if is_treated else 1.0) if buys else 0.0
        (treated if is_treated else holdout).append(paid)
    return treated, holdout


@pytest.fixture(scope="module")
def runs(groups: dict[str, Group]) -> list[tuple[RateLift, MeanLift]]:
    results = []
    for seed in range(RUNS):
        treated, holdout = simulate(groups, seed)
        conversion = conversion_lift(
            RateCounts(customers=len(treated), events=sum(1 for v in treated if v > 0)),
            RateCounts(customers=len(holdout), events=sum(1 for v in holdout if v > 0)),
        )
        revenue = revenue_lift(treated, holdout, resamples=RESAMPLES, seed=seed)
        assert isinstance(conversion, RateLift) and isinstance(revenue, MeanLift), seed
        results.append((conversion, revenue))
    return results


def test_the_holdout_takes_its_share_of_the_simulated_shop(groups):
    held = sum(1 for g in groups.values() if g is Group.HOLDOUT)
    assert abs(held - SHARE * len(CUSTOMERS)) < 4 * math.sqrt(len(CUSTOMERS) * SHARE * (1 - SHARE))  # sd 17


def test_the_conversion_interval_holds_the_true_lift_in_about_95_percent_of_runs(runs):
    covered = sum(1 for conversion, _ in runs if conversion.low <= TRUE_CONVERSION_LIFT <= conversion.high)
    # a 95% interval over 200 runs: 190 expected, sd sqrt(200·0.95·0.05) = 3.1; 180–198 is the band asked for
    assert 0.90 * RUNS <= covered <= 0.99 * RUNS, covered


def test_the_revenue_interval_holds_the_true_lift_in_about_95_percent_of_runs(runs):
    covered = sum(1 for _, revenue in runs if revenue.low <= TRUE_REVENUE_LIFT <= revenue.high)
    assert 0.90 * RUNS <= covered <= 0.99 * RUNS, covered


def test_the_point_estimates_are_unbiased(runs, groups):
    n_t = sum(1 for g in groups.values() if g is Group.TREATMENT)
    n_h = len(CUSTOMERS) - n_t
    # the mean of 200 estimates is within 4 standard errors of the truth: se of one run / sqrt(200)
    conversion_se = math.sqrt(P_TREATED * (1 - P_TREATED) / n_t + P_HOLDOUT * (1 - P_HOLDOUT) / n_h)
    mean_conversion = sum(c.lift for c, _ in runs) / RUNS
    assert abs(mean_conversion - TRUE_CONVERSION_LIFT) < 4 * conversion_se / math.sqrt(RUNS)
    revenue_se = math.sqrt(_revenue_variance(P_TREATED, DISCOUNT) / n_t + _revenue_variance(P_HOLDOUT, 1.0) / n_h)
    mean_revenue = sum(r.lift for _, r in runs) / RUNS
    assert abs(mean_revenue - TRUE_REVENUE_LIFT) < 4 * revenue_se / math.sqrt(RUNS)


def test_a_shop_too_small_for_its_holdout_reports_not_enough_data():
    # 200 customers at the default 10%: about 20 held out, below the 30 a group needs
    customers = [f"small_{n}" for n in range(200)]
    small = {c: assign(SALT, OFFER_ID, c, 0.10) for c in customers}
    rng = random.Random(0)
    revenue = {c: (rng.lognormvariate(MU, SIGMA) if rng.random() < 0.3 else 0.0) for c in customers}
    treated = [revenue[c] for c in customers if small[c] is Group.TREATMENT]
    holdout = [revenue[c] for c in customers if small[c] is Group.HOLDOUT]
    conversion = conversion_lift(
        RateCounts(customers=len(treated), events=sum(1 for v in treated if v > 0)),
        RateCounts(customers=len(holdout), events=sum(1 for v in holdout if v > 0)),
    )
    for result in (conversion, revenue_lift(treated, holdout, resamples=100)):
        assert isinstance(result, NotEnoughData)
        assert f"the holdout group has {len(holdout)} customers; at least 30 are needed" == result.reason
