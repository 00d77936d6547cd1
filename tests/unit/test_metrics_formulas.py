"""The scoring formulas against values computed by hand (docs/metrics.md)."""

from __future__ import annotations

import math

import pytest

from concierge.metrics import formulas
from concierge.metrics.formulas import bucket_of, bucket_value, ces, csat, histogram, nps, percentile, wilson


def test_wilson_interval_matches_the_hand_computed_one():
    # p = 0.8, z² = 3.8415; centre = (0.8 + z²/20) / (1 + z²/10) = 0.71674;
    # half = z / (1 + z²/10) · sqrt(0.016 + z²/400) = 0.22658
    share = wilson(8, 10)
    assert share.value == 0.8
    assert share.low == pytest.approx(0.49016, abs=1e-4)
    assert share.high == pytest.approx(0.94332, abs=1e-4)


def test_wilson_stays_inside_zero_and_one_at_the_edges():
    none, all_ = wilson(0, 5), wilson(5, 5)
    assert none.low == 0.0 and none.high == pytest.approx(0.43450, abs=1e-4)
    assert all_.high == 1.0 and all_.low == pytest.approx(0.56550, abs=1e-4)
    assert wilson(0, 0).value is None and wilson(0, 0).n == 0
    with pytest.raises(ValueError):
        wilson(3, 2)


def test_csat_is_the_share_of_fours_and_fives():
    share = csat({5: 3, 4: 2, 3: 1, 2: 1, 1: 1})
    assert (share.hits, share.n, share.value) == (5, 8, 0.625)
    assert (share.low, share.high) == (wilson(5, 8).low, wilson(5, 8).high)
    with pytest.raises(ValueError, match="outside 1–5"):
        csat({6: 1})


def test_nps_bands_and_interval():
    answers = [10, 10, 9, 9, 9, 8, 7, 6, 3, 0]  # 5 promoters, 2 passives (7–8), 3 detractors (0–6)
    result = nps({s: answers.count(s) for s in set(answers)})
    assert (result.promoters, result.passives, result.detractors, result.n) == (5, 2, 3, 10)
    assert result.value == pytest.approx(20.0)
    # var = 0.5 + 0.3 − 0.2² = 0.76; half = 1.96 · sqrt(0.076) = 0.54034 → 20 ± 54.03
    assert result.low == pytest.approx(20 - 54.034, abs=0.01)
    assert result.high == pytest.approx(20 + 54.034, abs=0.01)


@pytest.mark.parametrize(
    "score,band",
    [(10, "promoters"), (9, "promoters"), (8, "passives"), (7, "passives"), (6, "detractors"), (0, "detractors")],
)
def test_nps_band_edges(score, band):
    result = nps({score: 4})
    assert getattr(result, band) == 4
    assert result.value == {"promoters": 100.0, "passives": 0.0, "detractors": -100.0}[band]
    assert -100 <= result.low <= result.value <= result.high <= 100


def test_ces_mean_with_sample_variance():
    result = ces({7: 2, 5: 1, 3: 1})  # mean 5.5; s² = (2·1.5² + 0.5² + 2.5²) / 3 = 11/3
    half = 1.959964 * math.sqrt(11 / 3 / 4)
    assert result.value == 5.5
    assert result.low == pytest.approx(5.5 - half, abs=1e-4) and result.high == pytest.approx(5.5 + half, abs=1e-4)
    assert ces({}).value is None and ces({4: 1}).low is None


def test_histogram_buckets_have_fixed_bounds():
    assert bucket_of(0) == bucket_of(99.9) == 0
    assert bucket_of(100) == bucket_of(119.9) == 1
    assert bucket_of(120) == 2  # 100 · 1.2
    assert bucket_of(144) == 3  # 100 · 1.2²
    assert bucket_of(1e13) == formulas.LAST_BUCKET
    assert bucket_value(1) == pytest.approx(100 * math.sqrt(1.2))


def test_percentiles_are_nearest_rank_within_the_documented_error():
    values = [150, 300, 450, 800, 1200, 2000, 3500, 5000, 9000, 60000]
    buckets = histogram(values)
    # nearest rank: p50 is the 5th value (1200), p90 the 9th (9000)
    assert formulas.exact_percentile(values, 0.5) == 1200 and formulas.exact_percentile(values, 0.9) == 9000
    assert percentile(buckets, 0.5) == bucket_value(bucket_of(1200))
    for q, exact in ((0.5, 1200), (0.9, 9000)):
        assert abs(percentile(buckets, q) / exact - 1) <= formulas.MAX_RELATIVE_ERROR
    assert percentile({}, 0.5) is None


def test_histograms_add_up_so_percentiles_roll_up():
    first, second = [200, 400, 800], [1600, 3200]
    merged = histogram(first)
    for index, count in histogram(second).items():
        merged[index] = merged.get(index, 0) + count
    assert merged == histogram(first + second)
