"""The day summaries' pure parts: when a day may be compacted, the index attributes, and the compacted counters
giving back every kind of slice exactly (Decimal sums, not floats)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from concierge.metrics import keys
from concierge.metrics.query import _compact, _uncompact


def test_a_day_is_late_at_midnight_and_compactable_an_hour_after():
    day = date(2026, 10, 31)
    assert not keys.is_over(day, datetime(2026, 10, 31, 23, 59, tzinfo=UTC))
    assert keys.is_over(day, datetime(2026, 11, 1, 0, 0, tzinfo=UTC))
    assert not keys.compactable(day, datetime(2026, 11, 1, 0, 59, tzinfo=UTC))
    assert keys.compactable(day, datetime(2026, 11, 1, 1, 0, tzinfo=UTC))


def test_day_keys_and_index_attributes():
    assert keys.day_key(date(2026, 10, 5)) == {"pk": "METRIC#2026-10#D", "sk": "D#2026-10-05"}
    name = keys.low_attribute(1, "csat", "conv#with#hashes")
    assert name.startswith(keys.LOW_INDEX) and keys.parse_low_attribute(name) == (1, "csat", "conv#with#hashes")


def test_compacted_counters_give_every_kind_exactly():
    def item(channel: str, intent: str, **counters: Decimal) -> dict:
        return {**keys.counter_key(date(2026, 10, 5), channel, intent), **counters}

    items = [
        item("web", "return", conv=Decimal(2), cost=Decimal("0.0013")),
        item("web", "track", conv=Decimal(1), cost=Decimal("0.0021")),
        item("email", "return", conv=Decimal(4), rev_EUR=Decimal("19.90")),
    ]
    blob = _compact(items)
    assert _uncompact(blob, keys.TOTAL) == [
        (keys.ALL, keys.ALL, {"conv": Decimal(7), "cost": Decimal("0.0034"), "rev_EUR": Decimal("19.90")})
    ]
    by_channel = {c: counters for c, _, counters in _uncompact(blob, keys.BY_CHANNEL)}
    assert by_channel == {
        "web": {"conv": 3, "cost": Decimal("0.0034")},
        "email": {"conv": 4, "rev_EUR": Decimal("19.90")},
    }
    by_intent = {i: counters["conv"] for _, i, counters in _uncompact(blob, keys.BY_INTENT)}
    assert by_intent == {"return": 6, "track": 1}
    assert sorted((c, i) for c, i, _ in _uncompact(blob, keys.BY_BOTH)) == [
        ("email", "return"),
        ("web", "return"),
        ("web", "track"),
    ]
