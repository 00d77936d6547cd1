"""A seeded month flows through the deployed event path on moto — PutEvents -> rule -> SQS -> surveys function ->
roll-up — and GET /v1/metrics equals a direct recomputation from the raw records (the generated events and the
Auto-CSAT scores the surveys function stored)."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from datetime import UTC, date, timedelta
from decimal import Decimal

import boto3
import pytest

from concierge.local.stack import REGION
from concierge.metrics import formulas
from concierge.metrics.rollup import NOT_AN_ISSUE, primary_intent
from concierge.metrics.simulate import envelope, simulate_month
from concierge.platform import topology, wiring
from concierge.platform.events import (
    ConversationClosed,
    DiscountRedeemed,
    EventPublisher,
    SurveyAnswered,
    TurnCompleted,
)
from concierge.platform.settings import IngestSettings, current_settings
from tests.credentials import customer_headers, operator_headers

END = date(2026, 10, 31)
FROM = END - timedelta(days=29)
OPERATOR = operator_headers("analyst", supervisor=False)
KPI_RULE = next(rule for rule in topology.RULES if rule.name == "kpi-events-to-surveys")


def drain(stack, stall: float = 120) -> None:
    """Poll every queue until the KPI queue and the conversation-closed queue are empty (retries included).

    Fails only when the queues stop moving for `stall` seconds, so a busy machine is slower, never red."""
    sqs = boto3.client("sqs", region_name=REGION)
    urls = [
        sqs.get_queue_url(QueueName=rule.queue_name)["QueueUrl"]
        for rule in topology.RULES
        if rule.function == topology.FunctionName.SURVEYS
    ]
    last_progress = time.monotonic()
    while time.monotonic() - last_progress < stall:
        if stack.poll_once():
            last_progress = time.monotonic()
            continue
        left = sum(
            int(v)
            for url in urls
            for v in sqs.get_queue_attributes(
                QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
            )["Attributes"].values()
        )
        if not left:
            return
        time.sleep(0.5)  # a survey that came before its conversation's close is back after the visibility timeout
    raise AssertionError(f"the queues stopped draining: nothing was processed for {stall:.0f} s")


@pytest.fixture(scope="module")
def month(stack):
    events = simulate_month(seed=11, end=END, conversations_per_day=6, auto_csat=False)
    EventPublisher(boto3.client("events", region_name=REGION), current_settings(IngestSettings).event_bus).publish(
        *events
    )
    drain(stack)
    assert stack.dead_letters()[KPI_RULE.name] == 0
    return events


def metrics(stack, **params) -> tuple[int, str]:
    query = {"from": FROM.isoformat(), "to": END.isoformat(), **params}
    status, _, body = stack.proxy("GET", "/v1/metrics", {}, OPERATOR, query, None)
    return status, body


# --- the direct recomputation -------------------------------------------------------------------------------------------
def raw_rows(events):
    memory = wiring.memory_store(current_settings(IngestSettings))
    closed = [e for e in events if isinstance(e, ConversationClosed)]
    about = {c.conversation_id: (c.occurred_at.date(), c.channel, primary_intent(c.intents)) for c in closed}
    conversations = []
    for c in closed:
        issue = primary_intent(c.intents)
        earlier = [
            p
            for p in closed
            if p.customer_id == c.customer_id and primary_intent(p.intents) == issue and p.occurred_at < c.occurred_at
        ]
        last = max(earlier, key=lambda p: p.occurred_at, default=None)
        repeat = (
            issue not in NOT_AN_ISSUE
            and last is not None
            and last.occurred_at <= c.started_at
            and c.started_at - last.occurred_at <= timedelta(days=7)
        )
        conversations.append(
            {
                "key": about[c.conversation_id],
                "resolution": c.resolution,
                "repeat": repeat,
                "turns": c.turns,
                "first_response": c.first_response_ms if c.turns else None,
                "resolution_ms": (c.occurred_at - c.started_at).total_seconds() * 1000
                if c.resolution == "resolved"
                else None,
            }
        )
    turns = [
        {
            "key": (t.occurred_at.date(), t.channel, t.intent),
            "latency": t.latency_ms,
            "cost": Decimal(str(t.cost_usd)),
            "fallback": t.engine == "deterministic-fallback",
        }
        for t in events
        if isinstance(t, TurnCompleted)
    ]
    latest: dict[tuple[str, str], SurveyAnswered] = {}
    for answer in (e for e in events if isinstance(e, SurveyAnswered)):
        known = latest.get((answer.conversation_id, answer.survey))
        if known is None or answer.occurred_at > known.occurred_at:
            latest[(answer.conversation_id, answer.survey)] = answer
    scores = [
        {"key": about[cid], "kind": kind, "score": a.score, "conversation_id": cid} for (cid, kind), a in latest.items()
    ]
    for c in closed:
        stored = memory.get_score(c.conversation_id, "auto")  # what the surveys function scored and published
        if stored is not None:
            scores.append(
                {
                    "key": about[c.conversation_id],
                    "kind": "auto",
                    "score": int(stored["score"]),
                    "conversation_id": c.conversation_id,
                }
            )
    revenue = [
        {"key": (r.occurred_at.date(), *about[r.conversation_id][1:]), "currency": r.currency, "total": r.order_total}
        for r in events
        if isinstance(r, DiscountRedeemed)
    ]
    return conversations, turns, scores, revenue


def expected_kpis(rows, want) -> dict:
    conversations, turns, scores, revenue = ([r for r in group if want(*r["key"])] for group in rows)
    n = len(conversations)
    count = lambda kind: {s: sum(1 for r in scores if r["kind"] == kind and r["score"] == s) for s in range(11)}  # noqa: E731
    nonzero = lambda counts: {s: k for s, k in counts.items() if k}  # noqa: E731
    handed = sum(r["resolution"] == "handed_off" for r in conversations)
    money = defaultdict(Decimal)
    for r in revenue:
        money[r["currency"]] += r["total"]
    auto = nonzero(count("auto"))
    return {
        "conversations": n,
        "ai_resolution": formulas.wilson(sum(r["resolution"] == "resolved" for r in conversations), n).model_dump(),
        "handoff": formulas.wilson(handed, n).model_dump(),
        "repeat_contact": formulas.wilson(sum(r["repeat"] for r in conversations), n).model_dump(),
        "workload_reduction": formulas.wilson(n - handed, n).model_dump(),
        "csat": formulas.csat(nonzero(count("csat"))).model_dump(),
        "nps": formulas.nps(nonzero(count("nps"))).model_dump(),
        "ces": formulas.ces(nonzero(count("ces"))).model_dump(),
        "auto_csat": formulas.csat(auto).model_dump(),
        "auto_csat_mean": formulas.mean_of(auto).model_dump(),
        "first_response_ms": formulas.percentiles(
            formulas.histogram(r["first_response"] for r in conversations if r["first_response"] is not None)
        ).model_dump(),
        "resolution_ms": formulas.percentiles(
            formulas.histogram(r["resolution_ms"] for r in conversations if r["resolution_ms"] is not None)
        ).model_dump(),
        "reply_latency_ms": formulas.percentiles(formulas.histogram(r["latency"] for r in turns)).model_dump(),
        "customer_messages": sum(r["turns"] for r in conversations),
        "replies": len(turns),
        "model_cost_usd": sum((r["cost"] for r in turns), Decimal(0)),
        "fallback_replies": sum(r["fallback"] for r in turns),
        "redemptions": len(revenue),
        "revenue": [{"currency": c, "amount": a} for c, a in sorted(money.items())],
        # the seeded month has no business requests (`lead.qualified` is counted in test_metrics_rollup.py)
        "leads": 0,
        "leads_qualified": formulas.wilson(0, 0).model_dump(),
    }


def observed(kpis: dict) -> dict:
    kpis = {k: v for k, v in kpis.items() if k != "agent_hours_saved"}
    kpis["model_cost_usd"] = Decimal(kpis["model_cost_usd"])
    kpis["revenue"] = [{"currency": m["currency"], "amount": Decimal(m["amount"])} for m in kpis["revenue"]]
    return kpis


def test_totals_equal_a_direct_recomputation_from_the_raw_records(stack, month):
    status, body = metrics(stack, group_by="none")
    assert status == 200, body
    report = json.loads(body)
    expected = expected_kpis(raw_rows(month), lambda day, channel, intent: FROM <= day <= END)
    assert observed(report["totals"]) == expected
    # the month is big enough that every KPI has data
    assert expected["csat"]["n"] > 20 and expected["nps"]["n"] > 5 and expected["ces"]["n"] > 5
    assert (
        expected["repeat_contact"]["hits"] > 0
        and expected["redemptions"] > 0
        and expected["auto_csat"]["n"] == len([e for e in month if isinstance(e, ConversationClosed)])
    )


@pytest.mark.parametrize("group_by", ["day", "channel", "intent"])
def test_every_series_point_equals_the_recomputation_of_its_slice(stack, month, group_by):
    status, body = metrics(stack, group_by=group_by, low_scores="0")
    assert status == 200, body
    rows = raw_rows(month)
    series = json.loads(body)["series"]
    position = {"day": 0, "channel": 1, "intent": 2}[group_by]
    for point in series:
        key = date.fromisoformat(point["key"]) if group_by == "day" else point["key"]
        assert observed(point["kpis"]) == expected_kpis(
            rows, lambda *k, key=key: k[position] == key and FROM <= k[0] <= END
        ), point["key"]
    if group_by == "day":
        assert [p["key"] for p in series] == [(FROM + timedelta(days=i)).isoformat() for i in range(30)]


def test_a_filtered_slice_and_its_csv_equal_the_recomputation(stack, month):
    status, body = metrics(stack, channel="email", intent="return", group_by="none")
    assert status == 200
    expected = expected_kpis(raw_rows(month), lambda day, channel, intent: channel == "email" and intent == "return")
    assert observed(json.loads(body)["totals"]) == expected
    status, text = metrics(stack, channel="email", intent="return", group_by="none", format="csv")
    header, total = text.splitlines()
    row = dict(zip(header.split(","), total.split(","), strict=True))
    assert row["key"] == "total" and int(row["conversations"]) == expected["conversations"]
    assert int(row["csat_n"]) == expected["csat"]["n"]


def test_the_lowest_scores_are_listed_with_their_reasons_and_transcript(stack, month):
    status, body = metrics(stack, group_by="none", low_scores="15")
    listed = json.loads(body)["low_scores"]
    _conversations, _, scores, _ = raw_rows(month)
    low = sorted(
        (s["score"], -s["key"][0].toordinal(), s["conversation_id"], s["kind"])
        for s in scores
        if s["kind"] in ("auto", "csat") and s["score"] <= 2
    )
    assert [(e["score"], e["conversation_id"], e["source"]) for e in listed] == [(s, c, k) for s, _, c, k in low[:15]]
    auto = next(e for e in listed if e["source"] == "auto")
    assert auto["reasons"], "an Auto-CSAT low score carries its reasons"
    status, _, body = stack.proxy(
        "GET", auto["transcript"], {"conversation_id": auto["conversation_id"]}, OPERATOR, {}, None
    )
    drilled = json.loads(body)
    assert status == 200 and drilled["auto_csat"]["score"] == auto["score"]
    # A seeded conversation has KPIs and scores but never had messages: the drill-down says so.
    assert drilled["messages"] == [] and drilled["note"].startswith("A seeded conversation of the demo month")
    # A low Auto-CSAT score is explained by what pulled it down first.
    assert all("(-" in entry["reasons"][0] for entry in listed if entry["source"] == "auto"), listed


def test_redelivered_events_are_counted_once(stack, month):
    before = json.loads(metrics(stack, group_by="none")[1])["totals"]
    # SQS delivers at least once: the same EventBridge events again, straight onto the KPI queue.
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.get_queue_url(QueueName=KPI_RULE.queue_name)["QueueUrl"]
    first = month[:40]
    envelopes = [envelope(event, f"again-{i}") for i, event in enumerate(first)]
    for item in envelopes + envelopes:
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(item))
    drain(stack)
    after = json.loads(metrics(stack, group_by="none")[1])["totals"]
    # Each of the 40 was new once (a fresh id), the copies changed nothing: only turns and closes add up again,
    # survey answers and Auto-CSAT keep the latest per conversation.
    added_turns = sum(isinstance(e, TurnCompleted) for e in first)
    added_closed = sum(isinstance(e, ConversationClosed) for e in first)
    assert after["replies"] == before["replies"] + added_turns
    assert after["conversations"] == before["conversations"] + added_closed
    assert after["csat"] == before["csat"] and after["nps"] == before["nps"]


def test_metrics_need_an_operator_and_a_valid_range(stack, month):
    customer = customer_headers("alex")  # a customer token does not pass the operator authorizer
    status, _, body = stack.proxy("GET", "/v1/metrics", {}, customer, {"from": "2026-10-01", "to": "2026-10-31"}, None)
    assert status == 401 and json.loads(body)["message"] == "Unauthorized"
    for query, problem in (
        ({"from": "2026-10-31", "to": "2026-10-01"}, "before"),
        ({"from": "2025-01-01", "to": "2026-10-01"}, "366"),
        ({"from": "2026-10-01", "to": "2026-10-31", "group_by": "week"}, "group_by"),
        ({"to": "2026-10-31"}, "from"),
    ):
        status, _, body = stack.proxy("GET", "/v1/metrics", {}, OPERATOR, query, None)
        assert status == 400 and problem in json.loads(body)["message"], body
    status, _, _ = stack.proxy(
        "GET", "/v1/conversations/nope/transcript", {"conversation_id": "nope"}, OPERATOR, {}, None
    )
    assert status == 404


def test_a_storefront_redemption_marks_the_code_used_and_its_revenue_reaches_the_kpis(stack, month):
    from datetime import datetime

    from concierge.store.commerce import Discount

    now = datetime.now(UTC)
    store = wiring.reference_store(current_settings(IngestSettings))
    # The conversation the code came from is in the month (its channel and intent get the revenue).
    source = next(e for e in month if isinstance(e, ConversationClosed))
    code = "NW-TESTREDEEM"
    assert store.issue_discount(
        Discount(
            code=code,
            customer_id=source.customer_id,
            percent=15,
            reason="apology",
            conversation_id=source.conversation_id,
            issued_at=now,
            expires_at=now + timedelta(days=30),
        ),
        cap_since=now - timedelta(days=90),
    )
    customer = {**customer_headers(source.customer_id), "content-type": "application/json"}
    order = json.dumps({"order_id": "NW77001", "order_total": "84.15", "currency": "USD"})
    path = {"code": code}
    status, _, body = stack.proxy("POST", f"/v1/discounts/{code}/redemptions", path, customer, {}, order)
    assert status == 200, body
    assert json.loads(body)["conversation_id"] == source.conversation_id
    status, _, body = stack.proxy("POST", f"/v1/discounts/{code}/redemptions", path, customer, {}, order)
    assert status == 409
    other = {**customer_headers("alex"), "content-type": "application/json"}
    assert stack.proxy("POST", "/v1/discounts/NW-OTHER/redemptions", {"code": "NW-OTHER"}, other, {}, order)[0] == 404
    assert stack.proxy("POST", f"/v1/discounts/{code}/redemptions", path, customer, {}, '{"order_id": "x"}')[0] == 400
    drain(stack)
    today = now.date().isoformat()
    status, _, body = stack.proxy(
        "GET",
        "/v1/metrics",
        {},
        OPERATOR,
        {"from": today, "to": today, "group_by": "none", "channel": source.channel},
        None,
    )
    totals = json.loads(body)["totals"]
    assert totals["redemptions"] == 1 and totals["revenue"] == [{"currency": "USD", "amount": "84.15"}]
