"""The lift maths on hand-computed values: two-proportion intervals (unpooled), Katz's interval for the relative
lift, the percentile bootstrap for revenue per customer, and "not enough data" below the stated minimum."""

from __future__ import annotations

import math
import random
import statistics
from decimal import Decimal

import pytest
from pydantic import ValidationError

from concierge.offers.lift import (
    MIN_CUSTOMERS,
    MIN_EVENTS,
    Metric,
    NotEnoughData,
    RateCounts,
    RateLift,
    _binomial,
    _resampled_mean,
    conversion_lift,
    percentile,
    retention_lift,
    revenue_lift,
)

Z = 1.959963984540054


def rate(customers: int, events: int) -> RateCounts:
    return RateCounts(customers=customers, events=events)


def test_conversion_lift_on_hand_computed_values():
    result = conversion_lift(rate(500, 60), rate(500, 40))
    assert isinstance(result, RateLift) and result.metric is Metric.CONVERSION
    # p_t = 60/500 = 0.12, p_h = 40/500 = 0.08, lift = 0.04
    assert (result.treated_rate, result.holdout_rate) == (0.12, 0.08)
    assert result.lift == pytest.approx(0.04)
    # se = sqrt(0.12·0.88/500 + 0.08·0.92/500) = sqrt(0.0002112 + 0.0001472) = sqrt(0.0003584) = 0.0189315
    # half-width = 1.959964 · 0.0189315 = 0.0371050  ->  (0.0028950, 0.0771050)
    assert result.low == pytest.approx(0.0028950, abs=1e-7)
    assert result.high == pytest.approx(0.0771050, abs=1e-7)
    # relative = 0.12 / 0.08 − 1 = 0.5; Katz: ln 1.5 = 0.405465, se = sqrt(0.88/60 + 0.92/40) = sqrt(0.0376667)
    # = 0.194079, 1.959964 · 0.194079 = 0.380388: exp(0.025077) − 1 = 0.025394, exp(0.785853) − 1 = 1.194278
    assert result.relative == pytest.approx(0.5)
    assert result.relative_low == pytest.approx(0.025394, abs=1e-6)
    assert result.relative_high == pytest.approx(1.194278, abs=1e-6)


def test_a_small_holdout_gives_a_wide_interval_across_zero():
    # the default 10% holdout of 1,000 customers: 90/900 = 0.10 against 8/100 = 0.08, lift 0.02
    result = conversion_lift(rate(900, 90), rate(100, 8))
    assert isinstance(result, RateLift)
    # se = sqrt(0.1·0.9/900 + 0.08·0.92/100) = sqrt(0.0001 + 0.000736) = sqrt(0.000836) = 0.0289137
    # half-width = 1.959964 · 0.0289137 = 0.0566697  ->  (−0.0366697, 0.0766697): no lift shown yet
    assert result.low == pytest.approx(-0.0366697, abs=1e-7)
    assert result.high == pytest.approx(0.0766697, abs=1e-7)
    assert result.low < 0 < result.high


def test_retention_lift_is_the_same_maths_on_customers_who_stayed():
    result = retention_lift(rate(500, 400), rate(500, 350))
    assert isinstance(result, RateLift) and result.metric is Metric.RETENTION
    # p_t = 0.8, p_h = 0.7, lift = 0.1; se = sqrt(0.8·0.2/500 + 0.7·0.3/500) = sqrt(0.00074) = 0.0272029
    # half-width = 1.959964 · 0.0272029 = 0.0533168  ->  (0.0466832, 0.1533168)
    assert result.lift == pytest.approx(0.1)
    assert (result.low, result.high) == (pytest.approx(0.0466832, abs=1e-7), pytest.approx(0.1533168, abs=1e-7))
    # relative = 0.8/0.7 − 1 = 0.142857; Katz se = sqrt(0.2/400 + 0.3/350) = sqrt(0.00135714) = 0.0368394,
    # ln(8/7) = 0.133531 ± 0.072204: exp(0.061327) − 1 = 0.063247, exp(0.205735) − 1 = 0.228428
    assert result.relative == pytest.approx(1 / 7)
    assert (result.relative_low, result.relative_high) == (
        pytest.approx(0.063247, abs=1e-6),
        pytest.approx(0.228428, abs=1e-6),
    )


@pytest.mark.parametrize(
    "treated, holdout, reason",
    [
        ((500, 60), (29, 5), "the holdout group has 29 customers; at least 30 are needed"),
        ((20, 10), (500, 40), "the treatment group has 20 customers; at least 30 are needed"),
        ((500, 60), (300, 4), "the holdout group has 4 of 300 customers with the event; at least 5 with it and 5"),
        ((40, 36), (500, 40), "the treatment group has 36 of 40 customers with the event; at least 5 with it and 5"),
        ((0, 0), (0, 0), "the treatment group has 0 customers"),
    ],
)
def test_below_the_minimum_a_rate_is_not_enough_data_never_a_number(treated, holdout, reason):
    for lift in (conversion_lift, retention_lift):
        result = lift(rate(*treated), rate(*holdout))
        assert isinstance(result, NotEnoughData) and result.result == "not_enough_data"
        assert reason in result.reason
        assert (result.treated_customers, result.holdout_customers) == (treated[0], holdout[0])
        assert not hasattr(result, "lift")


def test_the_minimum_itself_is_enough():
    assert (MIN_CUSTOMERS, MIN_EVENTS) == (30, 5)
    # 30 customers, 5 with the event and 25 without, in each group
    assert isinstance(conversion_lift(rate(30, 5), rate(30, 25)), RateLift)


def test_counts_are_checked():
    with pytest.raises(ValidationError, match="6 events among 5 customers"):
        rate(5, 6)


def test_revenue_of_identical_customers_has_no_spread():
    # every treated customer spent 10, every held-out one 4: every resample's means are 10 and 4
    result = revenue_lift([10.0] * 30, [4.0] * 30, resamples=200, seed=7)
    assert result.result == "lift" and result.metric is Metric.REVENUE_PER_CUSTOMER
    assert (result.treated_mean, result.holdout_mean, result.lift) == (10.0, 4.0, 6.0)
    assert (result.low, result.high) == (6.0, 6.0)
    assert (result.relative, result.relative_low, result.relative_high) == (1.5, 1.5, 1.5)  # 10/4 − 1


def test_revenue_lift_and_its_bootstrap_interval():
    treated = [0.0] * 20 + [30.0] * 10  # mean 300/30 = 10
    holdout = [Decimal("0")] * 25 + [Decimal("24.00")] * 5  # mean 120/30 = 4; Decimals are accepted
    result = revenue_lift(treated, holdout, resamples=2000, seed=1)
    assert result.result == "lift"
    assert result.lift == 6.0 and result.relative == 1.5
    # the bootstrap's spread is the plug-in one: var_t = 900·10/30 − 10² = 200, var_h = 576·5/30 − 4² = 80,
    # se = sqrt(200/30 + 80/30) = 3.0551, so the normal interval would be 6 ± 5.988 = (0.012, 11.988); the
    # percentile interval of 2,000 resamples lands within a resample step (30/30 = 1) of it
    assert result.low == pytest.approx(0.012, abs=1.0) and result.high == pytest.approx(11.988, abs=1.0)
    assert (result.resamples, result.seed) == (2000, 1)
    # 5 held-out buyers of 30: some resamples hold none, so the ratio has no interval
    assert (result.relative_low, result.relative_high) == (None, None)


def test_the_bootstrap_is_reproducible_by_its_seed():
    treated, holdout = [0.0] * 20 + [30.0] * 10, [0.0] * 25 + [24.0] * 5
    first = revenue_lift(treated, holdout, resamples=300, seed=11)
    assert revenue_lift(treated, holdout, resamples=300, seed=11) == first
    assert revenue_lift(treated, holdout, resamples=300, seed=12) != first


@pytest.mark.parametrize(
    "treated, holdout, reason",
    [
        ([5.0] * 29, [5.0] * 30, "the treatment group has 29 customers; at least 30 are needed"),
        ([5.0] * 30, [0.0] * 26 + [9.0] * 4, "the holdout group has 4 customers with revenue; at least 5 are needed"),
    ],
)
def test_below_the_minimum_revenue_is_not_enough_data(treated, holdout, reason):
    result = revenue_lift(treated, holdout, resamples=100)
    assert isinstance(result, NotEnoughData) and result.reason == reason


def test_a_bootstrap_needs_resamples_and_finite_values():
    with pytest.raises(ValueError, match="at least 100 resamples"):
        revenue_lift([1.0] * 30, [1.0] * 30, resamples=99)
    with pytest.raises(ValueError, match="finite"):
        revenue_lift([math.inf] + [1.0] * 29, [1.0] * 30)


def test_percentile_interpolates_between_order_statistics():
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5  # position 0.5·3 = 1.5: halfway between 2 and 3
    assert percentile([float(v) for v in range(101)], 0.025) == 2.5  # position 0.025·100 = 2.5
    assert (percentile([1.0, 2.0], 0.0), percentile([1.0, 2.0], 1.0)) == (1.0, 2.0)
    with pytest.raises(ValueError):
        percentile([], 0.5)


def test_the_shortcut_resample_has_the_plain_resamples_distribution():
    # 90 customers with nothing and 10 with 10: a resample's mean has expectation 1 and variance
    # (plug-in variance 100·0.1 − 1² = 9) / 100 = 0.09, the binomial count expectation 500·0.1 = 50, variance 45
    rng = random.Random(5)
    values = [0.0] * 90 + [10.0] * 10
    means = [_resampled_mean(rng, values, [10.0] * 10) for _ in range(4000)]
    assert statistics.fmean(means) == pytest.approx(1.0, abs=0.02)  # se sqrt(0.09/4000) = 0.0047
    assert statistics.pvariance(means) == pytest.approx(0.09, rel=0.1)
    counts = [_binomial(rng, 500, 0.1) for _ in range(4000)]
    assert statistics.fmean(counts) == pytest.approx(50, abs=0.5)  # se sqrt(45/4000) = 0.11
    assert statistics.pvariance(counts) == pytest.approx(45, rel=0.1)
