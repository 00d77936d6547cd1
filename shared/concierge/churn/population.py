"""A synthetic population of customers whose churn follows a KNOWN mechanism, for tests and for measuring the trained
model against what the mechanism allows (docs/churn.md). Seeded: the same seed gives the same rows.

How a customer is drawn (all counts Poisson, so every row is a plausible `ChurnRow`):
- tenure: log-normal around 14 months (14 days to about 8 years);
- three hidden traits: engagement (sign-ins and feature use), buying (orders, partly tied to engagement) and trouble
  (support contacts, their sentiment and Auto-CSAT); and a quarter of the customers are fading: their last 30 days
  of sign-ins and last 90 days of orders run at a fraction of their earlier rate;
- windows are cut at the tenure (a customer of 20 days has no 90 days of history).

The mechanism: churn is Bernoulli with probability sigmoid(`INTERCEPT` + the sum of `EFFECTS`' terms), each term a
documented function of the row's own features, so a perfect model of the features is the mechanism itself, and its
AUC on a split is the best any model can do there (up to sampling noise):

| driver | term of the log-odds |
| --- | --- |
| login recency | +2.0 × days_since_sign_in / 90 |
| falling sign-ins | +1.0 × the share of the expected 30 days' sign-ins (a third of the 90 days') that did not happen |
| purchase recency | +1.2 × days_since_order / 365 |
| poor CSAT | +0.8 × (3.5 − auto_csat_90d) where positive (only with a conversation) |
| support contacts | +0.3 × support_contacts_90d (at most 5 counted) |
| feature use | −0.25 × log(1 + feature_uses_30d) |
| tenure | −0.3 × tenure in years (at most 3) |

The intercept puts the base rate near 15%.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import date

import numpy as np

from concierge.churn.features import RECENT_DAYS, WINDOW_DAYS, YEAR_DAYS, ChurnFeatures, ChurnRow

AS_OF = date(2026, 1, 31)
INTERCEPT = -2.5
FADING_SHARE = 0.25


def _falling(row: ChurnFeatures) -> float:
    expected = row.sign_ins_90d / 3
    return max(0.0, 1.0 - row.sign_ins_30d / expected) if row.sign_ins_90d >= 3 else 0.0


# driver -> (its term of the log-odds, the features a model may name it by)
EFFECTS: dict[str, tuple[Callable[[ChurnFeatures], float], frozenset[str]]] = {
    "login recency": (
        lambda r: 2.0 * r.days_since_sign_in / WINDOW_DAYS,
        frozenset({"days_since_sign_in", "sign_ins_30d", "sign_ins_90d"}),
    ),
    "falling sign-ins": (
        lambda r: 1.0 * _falling(r),
        frozenset({"sign_ins_30d", "sign_ins_90d", "days_since_sign_in"}),
    ),
    "purchase recency": (
        lambda r: 1.2 * r.days_since_order / YEAR_DAYS,
        frozenset({"days_since_order", "orders_90d", "orders_365d"}),
    ),
    "poor CSAT": (
        lambda r: 0.8 * max(0.0, 3.5 - r.auto_csat_90d) if r.auto_csat_90d is not None else 0.0,
        frozenset({"auto_csat_90d", "sentiment_90d"}),
    ),
    "support contacts": (
        lambda r: 0.3 * min(r.support_contacts_90d, 5),
        frozenset({"support_contacts_90d"}),
    ),
    "feature use": (
        lambda r: -0.25 * math.log1p(r.feature_uses_30d),
        frozenset({"feature_uses_30d", "feature_uses_90d", "features_used_90d"}),
    ),
    "tenure": (
        lambda r: -0.3 * min(r.tenure_days / 365, 3.0),
        frozenset({"tenure_days"}),
    ),
}


def log_odds(row: ChurnFeatures) -> float:
    return INTERCEPT + sum(term(row) for term, _ in EFFECTS.values())


def probability(row: ChurnFeatures) -> float:
    """The mechanism's churn probability for a row."""
    return 1.0 / (1.0 + math.exp(-log_odds(row)))


def drivers(row: ChurnFeatures, population: Sequence[ChurnFeatures]) -> list[tuple[str, float]]:
    """The mechanism's drivers of this row's risk, largest first: each term's value less its mean over
    `population` (what it adds to this customer's log-odds beyond the typical customer's)."""
    typical = {name: float(np.mean([term(r) for r in population])) for name, (term, _) in EFFECTS.items()}
    found = [(name, term(row) - typical[name]) for name, (term, _) in EFFECTS.items()]
    return sorted(found, key=lambda item: -item[1])


def _counts_in(rng: np.random.Generator, rate: np.ndarray, days: np.ndarray) -> np.ndarray:
    return np.asarray(rng.poisson(np.maximum(rate * days, 0.0)), dtype=np.int64)


def _last_day(rng: np.random.Generator, recent: np.ndarray, older: np.ndarray, split: int, cap: int) -> np.ndarray:
    """Days since the latest event: the earliest of `recent` uniform days in [0, split), else of `older` in [split,
    cap), else `cap` (none)."""
    out = np.full(recent.shape, cap)
    for i, (r, o) in enumerate(zip(recent, older, strict=True)):
        if r:
            out[i] = int(rng.integers(0, split, size=r).min())
        elif o:
            out[i] = int(rng.integers(split, cap, size=o).min())
    return out


def simulate(customers: int, seed: int, as_of: date = AS_OF) -> list[ChurnRow]:
    """`customers` rows as of `as_of`, each labelled by a draw from the mechanism."""
    rng = np.random.default_rng(seed)
    n = customers
    tenure = np.clip(np.round(np.exp(rng.normal(math.log(420), 0.9, n))), 14, 3000).astype(int)
    engagement = rng.normal(0, 1, n)
    buying = 0.5 * engagement + math.sqrt(0.75) * rng.normal(0, 1, n)
    trouble = rng.normal(0, 1, n)
    fading = rng.random(n) < FADING_SHARE
    slowdown = np.where(fading, rng.uniform(0.0, 0.5, n), 1.0)

    # the days of each window the customer existed for
    in_30 = np.minimum(tenure, RECENT_DAYS)
    in_90 = np.minimum(tenure, WINDOW_DAYS)
    in_365 = np.minimum(tenure, YEAR_DAYS)

    sign_in_rate = np.exp(1.6 + 0.8 * engagement) / 30  # a day
    recent_sign_ins = _counts_in(rng, sign_in_rate * slowdown, in_30)
    older_sign_ins = _counts_in(rng, sign_in_rate, in_90 - in_30)
    since_sign_in = _last_day(rng, recent_sign_ins, older_sign_ins, RECENT_DAYS, WINDOW_DAYS)

    uses_per_sign_in = np.exp(0.8 + 0.5 * engagement + 0.3 * rng.normal(0, 1, n))
    recent_uses = rng.poisson(recent_sign_ins * uses_per_sign_in)
    older_uses = rng.poisson(older_sign_ins * uses_per_sign_in)
    uses_90 = recent_uses + older_uses
    breadth = np.minimum(uses_90, 1 + rng.poisson(np.exp(0.7 + 0.4 * engagement)))

    order_rate = np.exp(0.9 + 0.6 * buying) / YEAR_DAYS
    recent_orders = _counts_in(rng, order_rate * slowdown, in_90)
    older_orders = _counts_in(rng, order_rate, in_365 - in_90)
    since_order = _last_day(rng, recent_orders, older_orders, WINDOW_DAYS, YEAR_DAYS)

    contacts = rng.poisson(np.exp(-1.3 + 0.6 * trouble + 0.4 * fading))
    rows = []
    for i in range(n):
        sentiment = auto_csat = None
        if contacts[i]:
            per_conversation = np.clip(rng.normal(0.15 - 0.25 * trouble[i], 0.3, contacts[i]), -1, 1)
            scores = np.clip(np.round(rng.normal(3.9 - 0.7 * trouble[i], 0.9, contacts[i])), 1, 5)
            sentiment, auto_csat = round(float(per_conversation.mean()), 4), round(float(scores.mean()), 4)
        row = ChurnRow(
            customer_id=f"sim-{seed}-{i:06d}",
            as_of=as_of,
            tenure_days=int(tenure[i]),
            sign_ins_30d=int(recent_sign_ins[i]),
            sign_ins_90d=int(recent_sign_ins[i] + older_sign_ins[i]),
            days_since_sign_in=int(since_sign_in[i]),
            feature_uses_30d=int(recent_uses[i]),
            feature_uses_90d=int(uses_90[i]),
            features_used_90d=int(breadth[i]),
            orders_90d=int(recent_orders[i]),
            orders_365d=int(recent_orders[i] + older_orders[i]),
            days_since_order=int(since_order[i]),
            support_contacts_90d=int(contacts[i]),
            sentiment_90d=sentiment,
            auto_csat_90d=auto_csat,
        )
        rows.append(row.model_copy(update={"churned": bool(rng.random() < probability(row))}))
    return rows
