"""Holdout assignment: a keyed hash, so the same in every process and after every cold start; the share honoured on
100,000 synthetic customers; independent between offers and between merchants."""

from __future__ import annotations

import hashlib
import hmac
import math

import pytest

from concierge.offers.holdout import Group, assign, holdout_point

SALT = "northwind-outfitters"
CUSTOMERS = [f"cust_{n:06d}" for n in range(100_000)]


@pytest.fixture(scope="module")
def points() -> list[float]:
    return [holdout_point(SALT, "sold-out-alternative", c) for c in CUSTOMERS]


def test_the_point_is_the_documented_keyed_hash_and_the_same_everywhere():
    digest = hmac.new(SALT.encode(), b"sold-out-alternative\x1falex", hashlib.sha256).hexdigest()
    assert holdout_point(SALT, "sold-out-alternative", "alex") == int(digest[:16], 16) / 2**64
    # a literal, so a change of formula (or anything process-dependent, such as Python's salted hash()) shows up
    assert holdout_point(SALT, "sold-out-alternative", "alex") == 0.8695015125875514
    assert assign(SALT, "sold-out-alternative", "alex", 0.1) is Group.TREATMENT


@pytest.mark.parametrize("share", [0.05, 0.10, 0.25, 0.5])
def test_the_share_is_honoured_on_100k_customers(points, share):
    held = sum(1 for p in points if p < share)
    # binomial: sd = sqrt(n·s·(1 − s)), 95 at s = 0.10; four sd either side (a 1 in 15,000 miss for a fair hash)
    tolerance = 4 * math.sqrt(len(points) * share * (1 - share))
    assert abs(held - share * len(points)) < tolerance, (held, share)


def test_assign_agrees_with_the_point(points):
    for customer, point in zip(CUSTOMERS[:2000], points[:2000], strict=True):
        expected = Group.HOLDOUT if point < 0.1 else Group.TREATMENT
        assert assign(SALT, "sold-out-alternative", customer, 0.1) is expected


def test_raising_the_share_keeps_everyone_held_out_held_out(points):
    held_at_10 = {c for c, p in zip(CUSTOMERS, points, strict=True) if p < 0.10}
    held_at_20 = {c for c, p in zip(CUSTOMERS, points, strict=True) if p < 0.20}
    assert held_at_10 < held_at_20


def test_offers_and_merchants_have_independent_groups(points):
    other_offer = [holdout_point(SALT, "cart-reminder", c) for c in CUSTOMERS[:20_000]]
    other_shop = [holdout_point("kestrel-electronics", "sold-out-alternative", c) for c in CUSTOMERS[:20_000]]
    for other in (other_offer, other_shop):
        both = sum(1 for p, q in zip(points, other, strict=False) if p < 0.1 and q < 0.1)
        # independent: 1% of 20,000 held out of both (sd ≈ 14)
        assert 140 < both < 260, both


def test_a_salt_is_required_and_a_share_stays_within_half():
    with pytest.raises(ValueError, match="a holdout salt is required"):
        holdout_point("", "sold-out-alternative", "alex")
    with pytest.raises(ValueError, match=r"between 0 and 0\.5"):
        assign(SALT, "sold-out-alternative", "alex", 0.6)
    assert all(assign(SALT, "x", c, 0) is Group.TREATMENT for c in CUSTOMERS[:1000])
