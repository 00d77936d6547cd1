"""Day summaries on a moto table: a day that is over is compacted at the first report after it and read from its
summary afterwards; a late event removes the compacted counters in its own transaction (never double-counted, never
lost); concurrent writers lose no counts; a range spanning two months with today in it adds up; the low-score index
follows answers, erasures and rebuilds."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest

from concierge.memory.store import MemoryStore
from concierge.metrics import keys, query, rollup
from concierge.metrics.query import MetricsQuery, MetricsReader
from concierge.metrics.rollup import Rollup
from concierge.metrics.simulate import envelope
from concierge.metrics.store import MetricsStore
from concierge.platform import aws
from concierge.platform.events import ConversationClosed, SurveyAnswered, TurnCompleted
from tests.integration.test_metrics_rollup import table  # noqa: F401  # the moto table fixture

NOW = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)  # today is 1 November; October is over
TODAY = NOW.date()


@pytest.fixture
def clock(monkeypatch):
    """The time the roll-up processes events and reports are read at (a list, so a test can move it)."""
    at = [NOW]
    monkeypatch.setattr(rollup, "now", lambda: at[0])
    monkeypatch.setattr(query, "now", lambda: at[0])
    return at


def closed(conversation_id: str, at: datetime, intent: str = "return", channel: str = "web") -> ConversationClosed:
    return ConversationClosed(
        occurred_at=at,
        conversation_id=conversation_id,
        customer_id=f"cust-{conversation_id}",
        channel=channel,
        started_at=at - timedelta(minutes=5),
        turns=2,
        resolution="resolved",
        intents=[intent],
        first_response_ms=900,
    )


def answer(conversation_id: str, score: int, at: datetime) -> SurveyAnswered:
    return SurveyAnswered(
        occurred_at=at,
        conversation_id=conversation_id,
        customer_id=f"cust-{conversation_id}",
        survey="csat",
        score=score,
        channel="web",
        answered_via="chat",
    )


def turn(n: int, at: datetime) -> TurnCompleted:
    return TurnCompleted(
        occurred_at=at,
        conversation_id=f"t{n}",
        customer_id="c",
        turn=1,
        channel="web",
        intent="track",
        sentiment=0,
        engine="deterministic",
        latency_ms=400,
        cost_usd=0.0013,
    )


def report(table, first: date, last: date, **params):
    return MetricsReader(MemoryStore(table, 30)).report(
        MetricsQuery.model_validate({"from": first, "to": last, **params})
    )


def summary(table, day: date) -> dict:
    return table.get_item(Key=keys.day_key(day), ConsistentRead=True).get("Item") or {}


def calls(table, operation: str) -> list[int]:
    seen: list[int] = []
    table.meta.client.meta.events.register(f"before-call.dynamodb.{operation}", lambda **_: seen.append(1))
    return seen


def test_a_day_over_is_compacted_once_and_then_read_from_its_summary(table, clock):
    apply = Rollup(MemoryStore(table, 30)).apply
    day = date(2026, 10, 20)
    for n in range(5):
        apply(
            envelope(
                closed(f"a{n}", datetime(2026, 10, 20, 9 + n, tzinfo=UTC), intent="track" if n % 2 else "return"),
                f"c{n}",
            )
        )
    apply(envelope(answer("a0", 1, datetime(2026, 10, 20, 15, tzinfo=UTC)), "s0"))
    assert keys.COMPACTED not in summary(table, day)
    first = report(table, day - timedelta(days=10), day + timedelta(days=10), low_scores=5)
    assert keys.COMPACTED in summary(table, day) and summary(table, day)[keys.INDEXED] == 1
    queries, batches = calls(table, "Query"), calls(table, "BatchGetItem")
    again = report(table, day - timedelta(days=10), day + timedelta(days=10), low_scores=5)
    assert again == first and first.totals.conversations == 5
    assert [(e.conversation_id, e.score) for e in again.low_scores] == [("a0", 1)]
    assert len(queries) == 0 and len(batches) == 2  # the summaries, then the low-score entries listed


def test_the_summary_gives_what_the_counters_give_for_every_kind(table, clock, monkeypatch):
    apply = Rollup(MemoryStore(table, 30)).apply
    start = datetime(2026, 10, 10, 8, tzinfo=UTC)
    for n in range(40):
        at = start + timedelta(hours=13 * n)
        channel = ("web", "email", "whatsapp")[n % 3]
        apply(
            envelope(
                closed(f"k{n}", at, intent=("return", "track", "refund", "human")[n % 4], channel=channel), f"k{n}"
            )
        )
        apply(envelope(answer(f"k{n}", 1 + n % 5, at + timedelta(hours=2)), f"a{n}"))
        apply(envelope(turn(n, at), f"t{n}"))
    requests = [
        {"group_by": group, **filters}
        for group in ("day", "channel", "intent", "none")
        for filters in ({}, {"channel": "email"}, {"intent": "track"}, {"channel": "web", "intent": "return"})
    ]
    first, last = date(2026, 10, 3), TODAY
    compacted = [report(table, first, last, **params) for params in requests]
    assert all(keys.COMPACTED in summary(table, date(2026, 10, d)) for d in range(10, 31))
    monkeypatch.setattr(keys, "COMPACT_AFTER", timedelta(days=400))  # every day read live, from the counters
    live = [report(table, first, last, **params) for params in requests]
    assert compacted == live
    assert compacted[0].totals.conversations == 40 and compacted[0].totals.model_cost_usd > 0


def test_a_late_event_after_compaction_is_counted_once(table, clock):
    apply = Rollup(MemoryStore(table, 30)).apply
    day, at = date(2026, 10, 25), datetime(2026, 10, 25, 12, tzinfo=UTC)
    apply(envelope(closed("x", at), "x"))
    assert report(table, day, day).totals.conversations == 1
    assert keys.COMPACTED in summary(table, day)
    # days later: a survey answer and a conversation delivered late, both for the 25th
    apply(envelope(answer("x", 2, NOW - timedelta(hours=1)), "late-answer"))
    assert keys.COMPACTED not in summary(table, day)  # removed in the event's own transaction
    apply(envelope(closed("y", at + timedelta(hours=3)), "late-close"))
    apply(envelope(closed("y", at + timedelta(hours=3)), "late-close"))  # redelivered: counted once
    read = report(table, day, day)
    assert (read.totals.conversations, read.totals.csat.n) == (2, 1)
    assert keys.COMPACTED in summary(table, day)  # compacted again
    assert report(table, day, day) == read
    assert [(e.conversation_id, e.score) for e in read.low_scores] == [("x", 2)]


def test_a_late_event_between_a_compaction_s_read_and_write_is_not_lost(table, clock, monkeypatch):
    """The roll-up commits while a report is compacting the day: the report's conditional write fails (the summary's
    `v` moved), it answers with what it read, and the next report compacts the day with the late event in it."""
    apply = Rollup(MemoryStore(table, 30)).apply
    day, at = date(2026, 10, 25), datetime(2026, 10, 25, 12, tzinfo=UTC)
    apply(envelope(closed("x", at), "x"))
    counters = MetricsStore.counters

    def counters_then_a_late_event(self, kind, first, last):
        items = list(counters(self, kind, first, last))
        monkeypatch.setattr(MetricsStore, "counters", counters)
        apply(envelope(closed("late", at + timedelta(hours=1)), "late"))
        return iter(items)

    monkeypatch.setattr(MetricsStore, "counters", counters_then_a_late_event)
    saved = []
    save_day = MetricsStore.save_day
    monkeypatch.setattr(MetricsStore, "save_day", lambda *a: saved.append(save_day(*a)) or saved[-1])
    assert report(table, day, day).totals.conversations == 1  # read before the late event committed
    assert saved == [False] and keys.COMPACTED not in summary(table, day)
    assert report(table, day, day).totals.conversations == 2
    assert saved == [False, True]


def test_concurrent_writers_and_readers_lose_no_counts(table, clock):
    """Late turns for yesterday and today's, applied from eight threads while reports compact yesterday. Each thread
    reads and writes through a Table of its own, as each Lambda instance has (`aws.PerThreadTable`): a boto3 Table
    shared by threads swaps its condition placeholders between them."""
    shared_table = aws.PerThreadTable(table.name)
    memory = MemoryStore(shared_table, 30)
    yesterday = TODAY - timedelta(days=1)
    events = [
        envelope(
            turn(n, datetime.combine(yesterday if n % 2 else TODAY, datetime.min.time(), UTC) + timedelta(minutes=n)),
            f"t{n}",
        )
        for n in range(160)
    ]
    errors: list[BaseException] = []

    def write(part: list) -> None:
        applier = Rollup(memory)
        for event in part:
            for _ in range(20):  # a conflicting transaction is retried, as the queue would
                try:
                    applier.apply(event)
                    break
                except Exception as exc:
                    error = exc
            else:
                errors.append(error)

    def read() -> None:
        for _ in range(10):
            try:
                report(shared_table, yesterday - timedelta(days=3), TODAY)
            except RuntimeError as exc:  # moto's Query walks its dicts unlocked while a write changes them
                if "changed size during iteration" not in str(exc):
                    errors.append(exc)
            except Exception as exc:
                errors.append(exc)

    threads = [threading.Thread(target=write, args=(events[i::8],)) for i in range(8)]
    threads += [threading.Thread(target=read) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    final = report(table, yesterday, TODAY)
    assert final.totals.replies == 160
    assert [p.kpis.replies for p in final.series] == [80, 80]
    report(table, yesterday, TODAY)
    assert keys.COMPACTED in summary(table, yesterday) and keys.COMPACTED not in summary(table, TODAY)


def test_a_range_spanning_two_months_with_today(table, clock):
    apply = Rollup(MemoryStore(table, 30)).apply
    days = [date(2026, 10, 3), date(2026, 10, 15), date(2026, 10, 31), TODAY]
    for n, day in enumerate(days):
        at = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=2 + n)
        apply(envelope(closed(f"m{n}", at, intent="track" if n % 2 else "return"), f"m{n}"))
        apply(envelope(answer(f"m{n}", 1 + n % 2, at + timedelta(minutes=30)), f"s{n}"))
    apply(envelope(closed("before", datetime(2026, 10, 2, 23, tzinfo=UTC)), "before"))  # outside the range
    first = TODAY - timedelta(days=29)
    assert first == date(2026, 10, 3)
    for _ in range(2):  # compacting, then from the summaries
        by_day = report(table, first, TODAY, low_scores=10)
        assert by_day.totals.conversations == 4 and len(by_day.series) == 30
        assert {p.key: p.kpis.conversations for p in by_day.series if p.kpis.conversations} == {
            d.isoformat(): 1 for d in days
        }
        assert [(e.conversation_id, e.score) for e in by_day.low_scores] == [("m2", 1), ("m0", 1), ("m3", 2), ("m1", 2)]
        by_intent = report(table, first, TODAY, group_by="intent", low_scores=0)
        assert {p.key: p.kpis.conversations for p in by_intent.series} == {"return": 2, "track": 2}
    assert keys.COMPACTED in summary(table, date(2026, 10, 31)) and keys.COMPACTED not in summary(table, TODAY)
    # today goes on: its counters are read live
    apply(envelope(closed("m9", NOW + timedelta(hours=1)), "m9"))
    assert report(table, first, TODAY).totals.conversations == 5


def test_yesterday_is_read_live_until_an_hour_after_midnight(table, clock):
    apply = Rollup(MemoryStore(table, 30)).apply
    clock[0] = datetime(2026, 11, 1, 0, 30, tzinfo=UTC)
    apply(envelope(closed("y", datetime(2026, 10, 31, 23, 50, tzinfo=UTC)), "y"))
    assert report(table, date(2026, 10, 31), TODAY).totals.conversations == 1
    assert keys.COMPACTED not in summary(table, date(2026, 10, 31))
    apply(envelope(closed("z", datetime(2026, 10, 31, 23, 55, tzinfo=UTC)), "z"))
    clock[0] = datetime(2026, 11, 1, 1, 5, tzinfo=UTC)
    assert report(table, date(2026, 10, 31), TODAY).totals.conversations == 2
    assert keys.COMPACTED in summary(table, date(2026, 10, 31))


def test_the_low_score_index_follows_changed_answers_and_erasure(table, clock):
    apply = Rollup(MemoryStore(table, 30)).apply
    day, at = date(2026, 10, 20), datetime(2026, 10, 20, 9, tzinfo=UTC)
    for n in range(3):
        apply(envelope(closed(f"e{n}", at + timedelta(hours=n)), f"e{n}"))
        apply(envelope(answer(f"e{n}", 1, at + timedelta(hours=n, minutes=10)), f"a{n}"))
    listed = lambda: [e.conversation_id for e in report(table, day, day, low_scores=10).low_scores]  # noqa: E731
    assert listed() == ["e0", "e1", "e2"]  # one day, one score: by conversation
    apply(envelope(answer("e1", 5, NOW - timedelta(hours=2)), "changed"))  # changed their mind: no longer low
    assert keys.low_attribute(1, "csat", "e1") not in summary(table, day)
    assert listed() == ["e0", "e2"]
    # erasure deletes what the score record's erase_also names: the entry and the day summary, rebuilt on reading
    record = table.get_item(Key={"pk": "CONV#e0", "sk": "METRIC#SCORE#csat"})["Item"]
    for pk, sk in record["erase_also"]:
        table.delete_item(Key={"pk": pk, "sk": sk})
    assert listed() == ["e2"]
    assert summary(table, day)[keys.INDEXED] == 1 and keys.low_attribute(1, "csat", "e0") not in summary(table, day)
    assert report(table, day, day).totals.conversations == 3  # the counters are kept (anonymous)
    # an entry gone while its day summary still names it (an erasure racing a report) is left out and unindexed
    table.delete_item(Key=keys.low_key(day, 1, "e2", "csat"))
    assert listed() == []
    assert not any(name.startswith(keys.LOW_INDEX) for name in summary(table, day))
