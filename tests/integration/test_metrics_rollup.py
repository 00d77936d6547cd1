"""The roll-up's rules on a moto table: exactly once per event id, latest answer wins, repeat contacts within 7 days,
and a constant number of DynamoDB requests per event whatever the table holds."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import boto3
import pytest
from moto import mock_aws

from concierge.local import moto_workarounds
from concierge.memory.store import MemoryStore
from concierge.metrics.query import MetricsQuery, MetricsReader
from concierge.metrics.rollup import NotYetAttributed, Rollup
from concierge.metrics.simulate import envelope
from concierge.platform.events import (
    AutoCsatScored,
    ConversationClosed,
    LeadQualified,
    SurveyAnswered,
    TurnCompleted,
)

T0 = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)
DAY0 = T0.date()


@pytest.fixture
def table(monkeypatch):
    for key, value in {
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        moto_workarounds.install()  # as the local runtime runs: a cancelled transaction must still change nothing
        dynamodb = boto3.resource("dynamodb", region_name="us-east-1")
        yield dynamodb.create_table(
            TableName="memory",
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        )


def closed(
    conversation_id: str, at: datetime, customer: str = "c1", intent: str = "return", **changes
) -> ConversationClosed:
    return ConversationClosed(
        **{
            "occurred_at": at,
            "conversation_id": conversation_id,
            "customer_id": customer,
            "channel": "web",
            "started_at": at - timedelta(minutes=5),
            "turns": 2,
            "resolution": "resolved",
            "intents": ["greeting", intent],
            "first_response_ms": 800,
            **changes,
        }
    )


def answer(conversation_id: str, score: int, at: datetime, survey: str = "csat") -> SurveyAnswered:
    return SurveyAnswered(
        occurred_at=at,
        conversation_id=conversation_id,
        customer_id="c1",
        survey=survey,
        score=score,
        channel="web",
        answered_via="chat",
    )


def totals(table, day: date = DAY0, **query):
    return MetricsReader(MemoryStore(table, 30)).report(
        MetricsQuery.model_validate({"from": day, "to": day + timedelta(days=19), "group_by": "none", **query})
    )


def test_the_same_event_id_is_counted_once(table):
    rollup = Rollup(MemoryStore(table, 30))
    event = envelope(closed("a", T0), "id-1")
    assert rollup.apply(event).outcome == "counted"
    assert rollup.apply(event).outcome == "duplicate"
    assert totals(table).totals.conversations == 1


def test_a_replaced_answer_moves_its_count_and_an_older_one_changes_nothing(table):
    rollup = Rollup(MemoryStore(table, 30))
    rollup.apply(envelope(closed("a", T0), "c"))
    rollup.apply(envelope(answer("a", 2, T0 + timedelta(hours=1)), "s1"))
    report = totals(table)
    assert (report.totals.csat.n, report.totals.csat.hits) == (1, 0)
    assert [(e.conversation_id, e.score, e.source) for e in report.low_scores] == [("a", 2, "csat")]
    # erasing the conversation's partition reaches its entry in the day's list, and the day summary indexing it
    record = table.get_item(Key={"pk": "CONV#a", "sk": "METRIC#SCORE#csat"})["Item"]
    [[pk, sk], [summary_pk, summary_sk]] = record["erase_also"]
    assert table.get_item(Key={"pk": pk, "sk": sk})["Item"]["conversation_id"] == "a"
    assert (summary_pk, summary_sk) == ("METRIC#2026-10#D", "D#2026-10-05")
    rollup.apply(envelope(answer("a", 5, T0 + timedelta(days=2)), "s2"))  # changed their mind, another day
    assert rollup.apply(envelope(answer("a", 1, T0 + timedelta(hours=3)), "s0")).outcome == "stale"  # delivered late
    report = totals(table)
    assert (report.totals.csat.n, report.totals.csat.hits) == (1, 1)
    assert report.low_scores == []  # no longer a low score


def test_a_score_before_its_conversation_closed_is_retried(table):
    rollup = Rollup(MemoryStore(table, 30))
    early = envelope(
        AutoCsatScored(
            occurred_at=T0,
            conversation_id="b",
            customer_id="c1",
            channel="web",
            score=1,
            scorer="explainable-1",
            reasons=["Ended without a resolution (-1.00)"],
        ),
        "auto-b",
    )
    with pytest.raises(NotYetAttributed):
        rollup.apply(early)
    rollup.apply(envelope(closed("b", T0, resolution="unresolved"), "closed-b"))
    assert rollup.apply(early).outcome == "counted"
    report = totals(table)
    assert report.totals.auto_csat.n == 1 and report.low_scores[0].reasons == ["Ended without a resolution (-1.00)"]


def test_repeat_contact_on_the_same_issue_within_seven_days(table):
    rollup = Rollup(MemoryStore(table, 30))
    rollup.apply(envelope(closed("first", T0), "1"))
    rollup.apply(envelope(closed("other-issue", T0 + timedelta(days=1), intent="track"), "2"))  # not the same issue
    rollup.apply(envelope(closed("again", T0 + timedelta(days=3)), "3"))  # back about the return: a repeat
    rollup.apply(envelope(closed("much-later", T0 + timedelta(days=11)), "4"))  # 8 days after: not a repeat
    rollup.apply(envelope(closed("someone-else", T0 + timedelta(days=3), customer="c2"), "5"))
    assert totals(table).totals.repeat_contact.hits == 1
    assert totals(table, intent="return").totals.repeat_contact.n == 4


def test_requests_per_event_do_not_grow_with_the_table(table):
    rollup = Rollup(MemoryStore(table, 30))
    requests = []
    for i in range(300):
        at = T0 + timedelta(minutes=i)
        requests.append(rollup.apply(envelope(closed(f"k{i}", at, customer=f"c{i % 7}"), f"k{i}")).requests)
        requests.append(
            rollup.apply(
                envelope(
                    TurnCompleted(
                        occurred_at=at,
                        conversation_id=f"k{i}",
                        customer_id="c",
                        turn=1,
                        channel="web",
                        intent="return",
                        sentiment=0,
                        engine="deterministic",
                        latency_ms=500 + i,
                    ),
                    f"t{i}",
                )
            ).requests
        )
        requests.append(rollup.apply(envelope(answer(f"k{i}", 1 + i % 5, at), f"s{i}")).requests)
    assert set(requests[:30]) == set(requests[-30:]) == {1, 2}
    assert totals(table).totals.conversations == 300


def test_a_range_is_read_in_one_query_per_month_and_keeps_to_its_days(table):
    """Conversations on both sides of a month's end and outside the range: a 30-day report across the two months
    counts exactly the days asked for, lists their low scores lowest first, and reads each month once."""
    rollup = Rollup(MemoryStore(table, 30))
    first = datetime(2026, 10, 20, 9, 0, tzinfo=UTC)
    for n, day in enumerate([0, 5, 11, 12, 20, 29, 30, 31, 45]):  # 11 = Oct 31, 12 = Nov 1; 30 and later: outside
        at = first + timedelta(days=day)
        rollup.apply(envelope(closed(f"m{n}", at, intent="track" if n % 2 else "return"), f"m{n}"))
        rollup.apply(envelope(answer(f"m{n}", 1 + n % 3, at + timedelta(hours=1)), f"a{n}"))
    queries = []
    table.meta.client.meta.events.register("before-call.dynamodb.Query", lambda **_: queries.append(1))
    report = MetricsReader(MemoryStore(table, 30)).report(
        MetricsQuery.model_validate({"from": first.date(), "to": first.date() + timedelta(days=29), "group_by": "day"})
    )
    assert len(queries) == 4  # the day totals and the low scores, of October and of November, whatever the volume
    assert report.totals.conversations == 6  # days 0, 5, 11, 12, 20 and 29
    assert len(report.series) == 30 and sum(p.kpis.conversations for p in report.series) == 6
    assert [p.kpis.conversations for p in report.series if p.key in ("2026-10-31", "2026-11-01")] == [1, 1]
    # answers 1 + n % 3: the low ones (1 and 2) of the six conversations in the range, lowest score first
    assert [(e.conversation_id, e.score) for e in report.low_scores] == [
        ("m3", 1),
        ("m0", 1),
        ("m4", 2),
        ("m1", 2),
    ]
    by_intent = MetricsReader(MemoryStore(table, 30)).report(
        MetricsQuery.model_validate(
            {"from": first.date(), "to": first.date() + timedelta(days=29), "group_by": "intent", "low_scores": 0}
        )
    )
    assert {p.key: p.kpis.conversations for p in by_intent.series} == {"return": 3, "track": 3}


def lead(conversation_id: str, qualified: bool, at: datetime, channel: str = "web") -> LeadQualified:
    return LeadQualified(
        occurred_at=at,
        conversation_id=conversation_id,
        customer_id="c1",
        channel=channel,
        qualified=qualified,
        answers={"devices": 30 if qualified else 4},
        link="https://shop.example/business",
    )


def test_leads_count_once_each_with_the_share_the_rule_qualified_on_their_own_issue(table):
    rollup = Rollup(MemoryStore(table, 30))
    rollup.apply(envelope(closed("a", T0, intent="question"), "closed-a"))
    first = envelope(lead("a", True, T0), "lead-1")
    assert rollup.apply(first).outcome == "counted"
    assert rollup.apply(first).outcome == "duplicate"  # a redelivery is not a second lead
    rollup.apply(envelope(lead("b", False, T0 + timedelta(hours=1), channel="email"), "lead-2"))
    rollup.apply(envelope(lead("c", False, T0 + timedelta(days=1)), "lead-3"))

    report = totals(table)
    assert report.totals.leads == 3 and report.totals.conversations == 1
    assert (report.totals.leads_qualified.value, report.totals.leads_qualified.n) == (pytest.approx(1 / 3), 3)
    # by issue: the leads have their row, the conversation stays under its own issue
    by_intent = {p.key: p.kpis for p in totals(table, group_by="intent").series}
    assert (by_intent["lead"].leads, by_intent["lead"].conversations) == (3, 0)
    assert (by_intent["question"].leads, by_intent["question"].conversations) == (0, 1)
    assert totals(table, channel="email").totals.leads == 1
    assert totals(table, day=DAY0 + timedelta(days=1)).totals.leads == 1  # on the day it was qualified
