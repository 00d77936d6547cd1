"""The offers' report on DynamoDB (moto): decisions and orders go through the real ledger writes (the actions
function's `put_offer_decisions`, the roll-up's `order.placed` and `discount.redeemed`), and the report read back
recovers a known effect, counts each order once, serves operators only, and loses a customer on erasure.
"""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest

from concierge.conversation.api import Channel
from concierge.metrics import keys
from concierge.metrics.rollup import Rollup
from concierge.metrics.store import MetricsStore
from concierge.offers import nba
from concierge.offers.catalogue import OfferMoment
from concierge.offers.guardrails import decide
from concierge.offers.holdout import Group
from concierge.offers.report import OfferReportQuery, build
from concierge.platform import wiring
from concierge.platform.events import DiscountRedeemed, OrderPlaced
from concierge.platform.settings import ActionsSettings, IngestSettings, current_settings
from tests.credentials import customer_headers, operator_headers

OPERATOR = operator_headers("analyst", supervisor=False)
TODAY = datetime.now(UTC).date()
MIDDAY = datetime.combine(TODAY, time(12), tzinfo=UTC)


def memory():
    return wiring.memory_store(current_settings(IngestSettings))


def an_offer(offer_id: str, share: float):
    """The demo store's sold-out alternative under another id (its own units) and holdout share."""
    offer = next(
        o
        for o in wiring.merchant_profile(current_settings(IngestSettings)).offers
        if o.kind.value == "out_of_stock_alternative"
    )
    return offer.model_copy(update={"id": offer_id, "holdout_share": share})


def expose(offer, customer_id: str, at: datetime, channel: Channel = Channel.WEB, locale: str = "en-US"):
    context = nba.offer_context(
        customer_id=customer_id,
        conversation_id=f"c-{uuid.uuid4().hex[:8]}",
        moment=OfferMoment.VARIANT_OUT_OF_STOCK,
        channel=channel,
        now=at,
        item_value=Decimal("40.00"),
    )
    decision = decide(offer, context, salt=current_settings(ActionsSettings).holdout_salt())
    if decision.outcome.value == "offer":
        decision = decision.model_copy(update={"presented": True})
    memory().put_offer_decisions([decision], locale=locale)
    return decision


def order(rollup: Rollup, customer_id: str, at: datetime, total: str, order_id: str | None = None):
    event = OrderPlaced(
        occurred_at=at,
        customer_id=customer_id,
        order_id=order_id or f"o-{uuid.uuid4().hex[:8]}",
        order_total=Decimal(total),
        currency="USD",
    )
    envelope = {"id": str(uuid.uuid4()), "detail-type": "order.placed", "detail": event.model_dump(mode="json")}
    return rollup.apply(envelope)


def report(offer, first: date, last: date):
    query = OfferReportQuery.model_validate({"from": first.isoformat(), "to": last.isoformat(), "resamples": 1000})
    [row] = [r for r in build(MetricsStore(memory()), [offer], query, TODAY).offers if r.offer_id == offer.id]
    return row


def test_a_population_with_a_known_effect_is_measured_with_intervals_that_contain_it(stack):
    """400 customers split by the real holdout assignment (share 0.5). Exposed 120 days ago; within the attribution
    window 40% of the treatment group and 20% of the holdout group order $50 (true conversion lift +0.20, revenue
    per customer +$10); 40 days later 50% and 30% order again (true retention lift +0.20)."""
    offer = an_offer("report-known-effect", 0.5)
    rollup = Rollup(memory())
    rng = random.Random(7)
    start = datetime.now(UTC) - timedelta(days=120)
    groups = {}
    for i in range(400):
        customer = f"pop-{i:04d}"
        decision = expose(offer, customer, start + timedelta(minutes=i))
        groups[customer] = decision.group
    for customer, group in groups.items():
        at = start + timedelta(minutes=int(customer[-4:]))
        if rng.random() < (0.40 if group is Group.TREATMENT else 0.20):
            assert order(rollup, customer, at + timedelta(days=3), "50.00").outcome == "counted"
        if rng.random() < (0.50 if group is Group.TREATMENT else 0.30):
            order(rollup, customer, at + timedelta(days=40), "30.00")

    row = report(offer, start.date(), start.date() + timedelta(days=1))
    treated = sum(1 for g in groups.values() if g is Group.TREATMENT)
    assert (row.treatment.customers, row.holdout.customers) == (treated, 400 - treated)
    assert row.offered == treated and row.held_out == 400 - treated and row.presented == treated
    assert row.conversion.result == "lift" and row.conversion.low <= 0.20 <= row.conversion.high
    assert row.retention.result == "lift" and row.retention.low <= 0.20 <= row.retention.high
    assert row.revenue_per_customer.result == "lift"
    assert row.revenue_per_customer.low <= 10.0 <= row.revenue_per_customer.high
    assert row.treatment.converted.value == pytest.approx(row.conversion.treated_rate)


def test_an_order_counts_once_and_only_within_its_windows(stack):
    offer = an_offer("report-windows", 0.1)
    rollup = Rollup(memory())
    now = datetime.now(UTC)
    customer = next(
        c
        for c in (f"win-{i}" for i in range(50))
        if expose(offer, c, now - timedelta(days=20)).group is Group.TREATMENT
    )
    # 20 days after the exposure: past the attribution window, not yet a mature retention: retention only
    assert order(rollup, customer, now, "25.00", order_id="W1").outcome == "counted"
    # the storefront calls twice for one order: counted once
    assert order(rollup, customer, now, "25.00", order_id="W1").outcome == "duplicate"
    # an order before any exposure counts for nothing
    stranger = "win-stranger"
    assert order(rollup, stranger, now, "25.00").outcome == "counted"
    unit = memory().storage.get(keys.offer_unit_key(offer.id, customer))
    assert unit is not None and "converted_at" not in unit and unit["retained_at"]
    assert memory().storage.get(keys.offer_unit_key(offer.id, stranger)) is None
    # a second exposure today: an order now converts, with its revenue
    expose(offer, customer, now)
    order(rollup, customer, now + timedelta(hours=1), "31.50", order_id="W2")
    unit = memory().storage.get(keys.offer_unit_key(offer.id, customer))
    assert unit["orders"] == 1 and unit["revenue_USD"] == 31.5 and unit["exposures"] == 2


def test_redemptions_and_segments_reach_the_report(stack):
    offer = an_offer("report-segments", 0.1)
    rollup = Rollup(memory())
    now = MIDDAY  # the exposures two hours before it are on the day the report is asked for, at any hour
    treated = []
    for i in range(30):
        channel, locale = (Channel.EMAIL, "de-DE") if i % 3 == 0 else (Channel.WEB, "en-US")
        decision = expose(offer, f"seg-{i}", now - timedelta(hours=2), channel, locale)
        if decision.group is Group.TREATMENT:
            treated.append(decision)
    redeemer = treated[0].customer_id
    order(rollup, redeemer, now, "80.00", order_id="R1")
    redeemed = DiscountRedeemed(
        occurred_at=now,
        code="NW-SEGMENTS",
        conversation_id=treated[0].conversation_id or "",
        customer_id=redeemer,
        order_id="R1",
        order_total=Decimal("80.00"),
        currency="USD",
        percent=10,
        offer_id=offer.id,
    )
    envelope = {"id": str(uuid.uuid4()), "detail-type": "discount.redeemed", "detail": redeemed.model_dump(mode="json")}
    assert rollup.apply(envelope).outcome == "counted"
    memory().record_offer_accepted(offer.id, redeemer)

    query = OfferReportQuery.model_validate({"from": TODAY.isoformat(), "to": TODAY.isoformat()})
    result = build(MetricsStore(memory()), [offer], query, TODAY)
    [row] = [r for r in result.offers if r.offer_id == offer.id]
    assert (row.redeemed, row.accepted, row.redeemed_revenue) == (1, 1, Decimal("80"))
    assert row.treatment.revenue == Decimal("80") and result.currency == "USD" and result.orders_reported
    assert row.conversion.result == "not_enough_data" and "30" in row.conversion.reason
    segments = {(s.dimension, s.segment): s for s in result.parity}
    assert segments[("channel", "email")].decided >= 10 and segments[("locale", "de-DE")].decided >= 10
    assert segments[("channel", "web")].offered.n == segments[("channel", "web")].decided


def test_the_routes_record_orders_for_customers_and_report_to_operators_only(stack):
    body = json.dumps({"order_id": "HTTP-1", "order_total": "12.00", "currency": "USD"})
    customer = {**customer_headers("alex"), "content-type": "application/json"}
    status, _, answer = stack.proxy("POST", "/v1/orders", {}, customer, {}, body)
    assert status == 200 and json.loads(answer)["order_id"] == "HTTP-1"
    bad = json.dumps({"order_id": "HTTP-2", "order_total": "-1", "currency": "usd"})
    status, _, answer = stack.proxy("POST", "/v1/orders", {}, customer, {}, bad)
    assert status == 400 and "order_total" in json.loads(answer)["message"]
    assert stack.proxy("POST", "/v1/orders", {}, {"content-type": "application/json"}, {}, body)[0] == 401

    span = {"from": TODAY.isoformat(), "to": TODAY.isoformat()}
    status, _, answer = stack.proxy("GET", "/v1/offers/report", {}, customer_headers("alex"), span, None)
    assert status == 401
    status, _, answer = stack.proxy(
        "GET", "/v1/offers/report", {}, OPERATOR, {"from": "2026-10-02", "to": "2026-10-01"}, None
    )
    assert status == 400 and "before" in json.loads(answer)["message"]
    status, _, answer = stack.proxy("GET", "/v1/offers/report", {}, OPERATOR, span, None)
    assert status == 200, answer
    report_body = json.loads(answer)
    configured = {o.id for o in wiring.merchant_profile(current_settings(IngestSettings)).offers}
    assert configured <= {row["offer_id"] for row in report_body["offers"]}
    assert report_body["attribution_days"] == 14 and "parity" in report_body


def test_erasing_a_customer_removes_their_units(stack):
    from concierge.memory.privacy import erase

    offer = an_offer("report-erasure", 0.1)
    customer = "erase-me-offers"
    expose(offer, customer, datetime.now(UTC))
    key = keys.offer_unit_key(offer.id, customer)
    assert memory().storage.get(key) is not None
    erase(customer, wiring.http_services(current_settings(IngestSettings)).privacy, datetime.now(UTC))
    assert memory().storage.get(key) is None


def test_a_moment_that_meets_a_concurrent_one_on_a_shared_counter_is_written_on_a_second_try(stack, monkeypatch):
    from concierge.memory.storage import Cancelled

    store = memory()
    real, calls = store.storage.write, []

    def conflicting(operations):
        calls.append(len(operations))
        if len(calls) == 1:  # another moment held the day's counter: DynamoDB cancels, nothing is written
            raise Cancelled(["None", "TransactionConflict"])
        real(operations)

    monkeypatch.setattr(store.storage, "write", conflicting)
    offer = an_offer("report-conflict", 0.1)
    context = nba.offer_context(
        customer_id="conflict-1",
        conversation_id="conv-conflict",
        moment=OfferMoment.VARIANT_OUT_OF_STOCK,
        channel=Channel.WEB,
        now=datetime.now(UTC),
        item_value=Decimal("40.00"),
    )
    store.put_offer_decisions(
        [decide(offer, context, salt=current_settings(ActionsSettings).holdout_salt())], locale="en-US"
    )
    assert len(calls) == 2
    assert [d.offer_id for d in store.offer_decisions("conflict-1", datetime.now(UTC) - timedelta(hours=1))] == [
        "report-conflict"
    ]
