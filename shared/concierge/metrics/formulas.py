"""Scoring formulas, pure: CSAT% with a Wilson interval, NPS with its interval, CES, rates, and percentiles from a
fixed bucketed histogram (so p50/p90 add up across days, channels and intents). Definitions: docs/metrics.md.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from pydantic import BaseModel

Z95 = 1.959963984540054  # two-sided 95%

# --- survey scales --------------------------------------------------------------------------------------------------
CSAT_SCALE = range(1, 6)
NPS_SCALE = range(11)
CES_SCALE = range(1, 8)


class Proportion(BaseModel):
    """A share with its 95% Wilson score interval; `value`, `low` and `high` are None when n is 0."""

    n: int
    hits: int
    value: float | None
    low: float | None
    high: float | None


class NetPromoter(BaseModel):
    n: int
    promoters: int
    passives: int
    detractors: int
    value: float | None  # −100..100
    low: float | None
    high: float | None


class Mean(BaseModel):
    n: int
    value: float | None
    low: float | None
    high: float | None


def wilson(hits: int, n: int, z: float = Z95) -> Proportion:
    """Wilson score interval: unlike p ± z·sqrt(p(1−p)/n) it stays inside [0, 1] and is honest for small n or p
    near 0 or 1 — the regime of a small merchant's first week."""
    if n < 0 or not 0 <= hits <= n:
        raise ValueError(f"need 0 <= hits <= n, got hits={hits}, n={n}")
    if n == 0:
        return Proportion(n=0, hits=0, value=None, low=None, high=None)
    p = hits / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z / (1 + z2 / n) * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return Proportion(n=n, hits=hits, value=p, low=max(0.0, centre - half), high=min(1.0, centre + half))


def csat(counts: Mapping[int, int]) -> Proportion:
    """CSAT% = share of 4s and 5s among 1–5 answers (`counts`: score -> answers)."""
    _check_scale(counts, CSAT_SCALE, "CSAT")
    n = sum(counts.values())
    return wilson(counts.get(4, 0) + counts.get(5, 0), n)


def nps(counts: Mapping[int, int], z: float = Z95) -> NetPromoter:
    """NPS = %promoters (9–10) − %detractors (0–6). Each answer scores +1, 0 or −1; NPS is 100 × their mean, and its
    interval is the normal approximation 100 × (mean ± z·sqrt(var/n)) with var = p₊ + p₋ − (p₊ − p₋)², clipped to
    [−100, 100]."""
    _check_scale(counts, NPS_SCALE, "NPS")
    n = sum(counts.values())
    promoters = counts.get(9, 0) + counts.get(10, 0)
    passives = counts.get(7, 0) + counts.get(8, 0)
    detractors = n - promoters - passives
    if n == 0:
        return NetPromoter(n=0, promoters=0, passives=0, detractors=0, value=None, low=None, high=None)
    p_plus, p_minus = promoters / n, detractors / n
    mean = p_plus - p_minus
    half = z * math.sqrt(max(0.0, p_plus + p_minus - mean * mean) / n)
    return NetPromoter(
        n=n,
        promoters=promoters,
        passives=passives,
        detractors=detractors,
        value=100 * mean,
        low=max(-100.0, 100 * (mean - half)),
        high=min(100.0, 100 * (mean + half)),
    )


def mean_of(counts: Mapping[int, int], z: float = Z95) -> Mean:
    """The mean of scored answers with a normal-approximation interval (sample variance, n − 1)."""
    n = sum(counts.values())
    if n == 0:
        return Mean(n=0, value=None, low=None, high=None)
    mean = sum(score * k for score, k in counts.items()) / n
    if n == 1:
        return Mean(n=1, value=mean, low=None, high=None)
    variance = sum(k * (score - mean) ** 2 for score, k in counts.items()) / (n - 1)
    half = z * math.sqrt(variance / n)
    return Mean(n=n, value=mean, low=mean - half, high=mean + half)


def ces(counts: Mapping[int, int]) -> Mean:
    """CES: the mean answer to "How easy was it to get what you needed?" on 1 (very difficult) – 7 (very easy)."""
    _check_scale(counts, CES_SCALE, "CES")
    return mean_of(counts)


def _check_scale(counts: Mapping[int, int], scale: range, name: str) -> None:
    outside = [score for score, k in counts.items() if k and score not in scale]
    if outside:
        raise ValueError(f"{name} scores outside {scale.start}–{scale.stop - 1}: {sorted(outside)}")


# --- durations: a fixed log-spaced histogram --------------------------------------------------------------------------
# Bucket i holds durations in [BASE·R^(i−1), BASE·R^i) ms; bucket 0 holds everything below BASE and the last bucket
# everything from BASE·R^(LAST−1) up. A percentile is reported as the geometric middle of its bucket, so within the
# covered range (100 ms to ~40 days) it is within a factor sqrt(R) of the bucket's values: at most 9.6% relative error.
BASE_MS = 100.0
RATIO = 1.2
LAST_BUCKET = 100  # 100 ms · 1.2^99 ≈ 6.9e9 ms ≈ 80 days: longer values share the last bucket
MAX_RELATIVE_ERROR = math.sqrt(RATIO) - 1


def bucket_of(ms: float) -> int:
    if ms < BASE_MS:
        return 0
    index = math.floor(math.log(ms / BASE_MS) / math.log(RATIO)) + 1
    # Guard the float edge: ms exactly on a boundary belongs to the upper bucket.
    if BASE_MS * RATIO**index <= ms:
        index += 1
    elif BASE_MS * RATIO ** (index - 1) > ms:
        index -= 1
    return min(index, LAST_BUCKET)


def bucket_value(index: int) -> float:
    """What a bucket reports: the geometric middle of its bounds (bucket 0: half of BASE)."""
    if index <= 0:
        return BASE_MS / 2
    return BASE_MS * RATIO ** (index - 1) * math.sqrt(RATIO)


class Percentiles(BaseModel):
    n: int
    p50: float | None
    p90: float | None


def percentile(buckets: Mapping[int, int], q: float) -> float | None:
    """The q-quantile (nearest rank: the smallest value with at least q·n values at or below it) of a histogram."""
    if not 0 < q <= 1:
        raise ValueError("q must be in (0, 1]")
    n = sum(buckets.values())
    if n == 0:
        return None
    rank = max(1, math.ceil(q * n))
    seen = 0
    for index in sorted(buckets):
        seen += buckets[index]
        if seen >= rank:
            return bucket_value(index)
    raise AssertionError("unreachable: rank <= n")


def percentiles(buckets: Mapping[int, int]) -> Percentiles:
    return Percentiles(n=sum(buckets.values()), p50=percentile(buckets, 0.5), p90=percentile(buckets, 0.9))


def histogram(values_ms: Iterable[float]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for value in values_ms:
        index = bucket_of(value)
        counts[index] = counts.get(index, 0) + 1
    return counts


def exact_percentile(values: Iterable[float], q: float) -> float | None:
    """Nearest-rank percentile of raw values (what the histogram approximates)."""
    ordered = sorted(values)
    if not ordered:
        return None
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]
