"""What a decision and an order add to the offers' report (offers/ledger.py): the counters by segment, the unit of
an exposure, and the attribution and retention windows, the same for both groups."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from concierge.conversation.api import Channel
from concierge.metrics import keys
from concierge.offers import ledger
from concierge.offers.catalogue import OfferKind, OfferMoment
from concierge.offers.guardrails import OfferDecision, Outcome, Reason
from concierge.offers.holdout import Group

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


def decision(outcome: Outcome, reason: Reason, *, at: datetime = NOW, presented: bool | None = None, offer="alt"):
    return OfferDecision(
        offer_id=offer,
        kind=OfferKind.OUT_OF_STOCK_ALTERNATIVE,
        moment=OfferMoment.VARIANT_OUT_OF_STOCK,
        customer_id="c-1",
        conversation_id="conv-1",
        channel=Channel.EMAIL,
        decided_at=at,
        outcome=outcome,
        reason=reason,
        detail="",
        group=Group.HOLDOUT if outcome is Outcome.HOLD_OUT else Group.TREATMENT,
        holdout_share=0.1,
        presented=presented,
    )


def test_a_refusal_counts_its_reason_and_makes_no_unit():
    updates, units = ledger.decision_updates(
        [decision(Outcome.NO_OFFER, Reason.CUSTOMER_UPSET)], locale="de-DE", expires_at=1
    )
    [counter] = updates
    assert counter.key == keys.offer_counter_key(NOW.date(), "alt", "email", "de-DE")
    assert sorted(counter.names.values()) == ["decided", "no_offer", "r_customer_upset"]
    assert units == {}


def test_an_offer_presented_counts_and_opens_its_unit_with_group_and_segment():
    updates, units = ledger.decision_updates(
        [decision(Outcome.OFFER, Reason.ELIGIBLE, presented=True)], locale=None, expires_at=99
    )
    counter, unit = updates
    assert sorted(counter.names.values()) == ["decided", "offer", "presented"]
    assert unit.key == keys.offer_unit_key("alt", "c-1") and units == {"alt": [unit.key["pk"], unit.key["sk"]]}
    assert unit.values[":g"] == "treatment" and unit.values[":lo"] == ledger.UNKNOWN_LOCALE
    assert "c-1" not in unit.key["sk"]  # the customer is a hash in the report's records


def unit(first: datetime, group: str = "holdout") -> dict:
    return {"group": group, "first_at": first.isoformat()}


def test_an_order_within_the_window_of_an_exposure_converts_in_either_group():
    exposures = [
        decision(Outcome.HOLD_OUT, Reason.HOLDOUT_GROUP, at=NOW - timedelta(days=30)),
        decision(Outcome.HOLD_OUT, Reason.HOLDOUT_GROUP, at=NOW - timedelta(days=2)),
    ]
    [update] = ledger.order_updates(
        exposures,
        {"alt": unit(NOW - timedelta(days=30))},
        customer_id="c-1",
        placed_at=NOW,
        total=Decimal("20"),
        currency="eur",
    )
    assert "converted_at" in update.expression and update.names == {"#r": "revenue_EUR"}


def test_a_later_order_is_retention_until_the_retention_window_ends_and_nothing_after():
    exposures = [decision(Outcome.OFFER, Reason.ELIGIBLE, at=NOW - timedelta(days=40), presented=True)]
    units = {"alt": unit(NOW - timedelta(days=40), "treatment")}
    [update] = ledger.order_updates(
        exposures, units, customer_id="c-1", placed_at=NOW, total=Decimal(1), currency="USD"
    )
    assert "retained_at" in update.expression and "converted_at" not in update.expression
    late = NOW + timedelta(days=ledger.RETENTION_DAYS)
    assert (
        ledger.order_updates(exposures, units, customer_id="c-1", placed_at=late, total=Decimal(1), currency="USD")
        == []
    )


def test_an_order_before_the_exposure_or_without_a_unit_counts_for_nothing():
    exposures = [decision(Outcome.OFFER, Reason.ELIGIBLE, at=NOW, presented=True)]
    before = NOW - timedelta(hours=1)
    units = {"alt": unit(NOW, "treatment")}
    assert (
        ledger.order_updates(exposures, units, customer_id="c-1", placed_at=before, total=Decimal(1), currency="USD")
        == []
    )
    assert ledger.order_updates(exposures, {}, customer_id="c-1", placed_at=NOW, total=Decimal(1), currency="USD") == []


# --- a sold-out moment a model reports, checked against the catalogue (offers/moments.py) ---------------------------
def test_a_model_reported_sold_out_variant_must_be_sold_out_in_the_catalogue():
    from concierge.offers.moments import sold_out_labels
    from concierge.store.models import Product, Variant

    beans = Product(
        id="house-beans",
        title="House Espresso Beans",
        category="coffee",
        url="https://beans.example/house",
        description="",
        variants=[
            Variant(sku="B-250-W", options={"weight": "250 g", "grind": "Whole bean"}, price=Decimal(9), stock=0),
            Variant(sku="B-250-F", options={"weight": "250 g", "grind": "Filter"}, price=Decimal(9), stock=4),
            Variant(sku="B-1K-W", options={"weight": "1 kg", "grind": "Whole bean"}, price=Decimal(30), stock=2),
        ],
    )
    assert sold_out_labels(beans, "250 g whole bean", "the filter grind") == (
        "House Espresso Beans (250 g / Whole bean)",
        "House Espresso Beans (Filter)",
        "B-250-F",
    )
    assert sold_out_labels(beans, "whole bean", "filter") is None, "whole bean is in stock in 1 kg"
    assert sold_out_labels(beans, "250 g whole bean", "decaf") is None, "no such variant"
    assert sold_out_labels(beans, "something", "filter") is None
