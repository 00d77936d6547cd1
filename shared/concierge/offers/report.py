"""The offers' report (GET /v1/offers/report, the dashboard's offer view; docs/offers.md, "Measuring").

Per offer of the range: its decisions (offered, held out, refused and why), how often it was presented, accepted and
redeemed and the revenue of its redeemed codes; its treatment group against its holdout group (customers first
exposed in the range: conversion, retention and revenue per customer, with lift, 95% intervals and n, or "not enough
data"); and, across all offers, the outcomes by channel and by locale (outcome parity: is any segment offered less,
or converted less, than the others?).

Read from the ledger's records (offers/ledger.py): the decision counters (one Query per month) and each offer's units
(one Query per offer). A unit belongs to the range by its first exposure.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from concierge.metrics import keys
from concierge.metrics.formulas import Proportion, wilson
from concierge.metrics.query import MAX_DAYS, check_range
from concierge.metrics.store import MetricsStore
from concierge.offers import ledger, lift
from concierge.offers.catalogue import Offer

REFUSAL_PREFIX = "r_"


class OfferReportQuery(BaseModel):
    """The query string of GET /v1/offers/report."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: date = Field(alias="from", description="first day (UTC) of first exposures, inclusive")
    to: date = Field(description="last day (UTC), inclusive")
    currency: str | None = Field(
        None, pattern=r"^[A-Z]{3}$", description="the currency of revenue (default: the one most orders were paid in)"
    )
    resamples: int = Field(
        lift.DEFAULT_RESAMPLES, ge=lift.MIN_RESAMPLES, le=10_000, description="bootstrap resamples for revenue lift"
    )

    @model_validator(mode="after")
    def _range(self) -> OfferReportQuery:
        check_range(self.from_, self.to, MAX_DAYS)
        return self


class GroupOutcome(BaseModel):
    """One group of an offer (treatment: could be offered it; holdout: the same conversations without it)."""

    customers: int = Field(description="customers first exposed in the range")
    converted: Proportion = Field(description=f"ordered within {ledger.ATTRIBUTION_DAYS} days of an exposure")
    retained: Proportion = Field(
        description=f"ordered {ledger.ATTRIBUTION_DAYS}–{ledger.RETENTION_DAYS} days after the first exposure, among "
        f"customers first exposed at least {ledger.RETENTION_DAYS} days ago"
    )
    revenue: Decimal = Field(description="revenue of the orders attributed, in the shop's currency")
    revenue_per_customer: float | None


class OfferRow(BaseModel):
    offer_id: str
    kind: str | None = Field(description="None for an offer no longer in merchant.json")
    enabled: bool
    holdout_share: float | None
    decided: int = Field(description="decisions made at its moments in the range")
    offered: int
    held_out: int
    refused: int
    refusals: dict[str, int] = Field(description="refused decisions by reason (guardrails.Reason)")
    presented: int = Field(description="shown to the customer (an offered decision the next best action chose)")
    accepted: int = Field(description="taken with a yes (offers whose code is shown on acceptance)")
    redeemed: int = Field(description="codes used on an order")
    redeemed_revenue: Decimal = Field(description="what those orders paid, in the shop's currency")
    treatment: GroupOutcome
    holdout: GroupOutcome
    conversion: lift.RateLift | lift.NotEnoughData
    retention: lift.RateLift | lift.NotEnoughData
    revenue_per_customer: lift.MeanLift | lift.NotEnoughData


class SegmentRow(BaseModel):
    """All offers, one channel or locale: who reaches a moment, who is offered, who buys."""

    dimension: Literal["channel", "locale"]
    segment: str
    decided: int
    offered: Proportion = Field(description="decisions that offered (of those decided)")
    refused_for_mood: int = Field(description="refused because the customer was upset or frustrated")
    presented: int
    treated_customers: int
    converted: Proportion = Field(description="treatment-group customers who ordered within the attribution window")


class OfferReport(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: date = Field(alias="from")
    to: date
    currency: str | None = Field(description="of every amount; None when no order has been reported")
    attribution_days: int = ledger.ATTRIBUTION_DAYS
    retention_days: int = ledger.RETENTION_DAYS
    min_customers: int = Field(lift.MIN_CUSTOMERS, description="per group, before a lift is reported")
    orders_reported: bool = Field(
        description="whether any order reached the ledger (POST /v1/orders): without, no conversion is measured"
    )
    offers: list[OfferRow]
    parity: list[SegmentRow]


def build(store: MetricsStore, offers: Sequence[Offer], query: OfferReportQuery, today: date) -> OfferReport:
    counters = list(store.offer_counters(query.from_, query.to))
    configured = {o.id: o for o in offers}
    ids = list(configured) + sorted({keys.parse_offer_counter(c["sk"])[1] for c in counters} - set(configured))
    by_offer: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    by_segment: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for item in counters:
        _, offer_id, channel, locale = keys.parse_offer_counter(item["sk"])
        for name, value in item.items():
            if name in ("pk", "sk") or not isinstance(value, int | float | Decimal):
                continue
            by_offer[offer_id][name] += int(value)
            by_segment[("channel", channel)][name] += int(value)
            by_segment[("locale", locale)][name] += int(value)
    start = datetime.combine(query.from_, datetime.min.time(), UTC)
    end = datetime.combine(query.to + timedelta(days=1), datetime.min.time(), UTC)
    mature = datetime.combine(today, datetime.min.time(), UTC) - timedelta(days=ledger.RETENTION_DAYS)
    rows: list[OfferRow] = []
    treated_by_segment: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    units_of = {
        offer_id: [u for u in store.offer_units_of(offer_id) if "group" in u and start <= parse_at(u["first_at"]) < end]
        for offer_id in ids
    }
    every = [u for units in units_of.values() for u in units]
    any_orders = any(u.get("orders") or u.get("retained_at") for u in every)
    currency = query.currency or main_currency(every)
    for offer_id, units in units_of.items():
        for unit in units:
            if unit["group"] == "treatment":
                treated_by_segment[("channel", unit.get("channel", "unknown"))].append(unit)
                treated_by_segment[("locale", unit.get("locale", ledger.UNKNOWN_LOCALE))].append(unit)
        offer = configured.get(offer_id)
        rows.append(_row(offer_id, offer, by_offer[offer_id], units, currency, mature, query.resamples))
    parity = [
        SegmentRow(
            dimension=dimension,  # type: ignore[arg-type]  # the keys are built above from the two literals
            segment=segment,
            decided=counts["decided"],
            offered=wilson(counts["offer"], counts["decided"]),
            refused_for_mood=counts["r_customer_frustrated"] + counts["r_customer_upset"],
            presented=counts["presented"],
            treated_customers=len(treated_by_segment[(dimension, segment)]),
            converted=wilson(
                sum(1 for u in treated_by_segment[(dimension, segment)] if u.get("converted_at")),
                len(treated_by_segment[(dimension, segment)]),
            ),
        )
        for (dimension, segment), counts in sorted(by_segment.items())
    ]
    return OfferReport(
        from_=query.from_,
        to=query.to,
        currency=currency,
        orders_reported=any_orders,
        offers=rows,
        parity=parity,
    )


def main_currency(units: Iterable[dict[str, Any]]) -> str | None:
    """The currency most of the attributed orders were paid in (a shop sells in one, as a rule)."""
    seen: dict[str, int] = defaultdict(int)
    for unit in units:
        for name in unit:
            if name.startswith(("revenue_", "redeemed_")):
                seen[name.rsplit("_", 1)[1]] += 1
    return max(seen, key=lambda c: (seen[c], c)) if seen else None


def parse_at(value: str) -> datetime:
    at = datetime.fromisoformat(value)
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def unit_money(unit: dict[str, Any], prefix: str, currency: str | None) -> Decimal:
    return Decimal(str(unit.get(f"{prefix}_{currency}", 0))) if currency else Decimal(0)


def _group(
    units: Iterable[dict[str, Any]], currency: str | None, mature: datetime
) -> tuple[GroupOutcome, list[Decimal]]:
    units = list(units)
    revenues = [unit_money(u, "revenue", currency) for u in units]
    old = [u for u in units if parse_at(u["first_at"]) <= mature]
    total = sum(revenues, Decimal(0))
    return (
        GroupOutcome(
            customers=len(units),
            converted=wilson(sum(1 for u in units if u.get("converted_at")), len(units)),
            retained=wilson(sum(1 for u in old if u.get("retained_at")), len(old)),
            revenue=total,
            revenue_per_customer=float(total) / len(units) if units else None,
        ),
        revenues,
    )


def _counts(outcome: Proportion) -> lift.RateCounts:
    return lift.RateCounts(customers=outcome.n, events=outcome.hits)


def _row(
    offer_id: str,
    offer: Offer | None,
    counts: dict[str, int],
    units: list[dict[str, Any]],
    currency: str | None,
    mature: datetime,
    resamples: int,
) -> OfferRow:
    treated, treated_revenue = _group((u for u in units if u["group"] == "treatment"), currency, mature)
    held, held_revenue = _group((u for u in units if u["group"] == "holdout"), currency, mature)
    return OfferRow(
        offer_id=offer_id,
        kind=offer.kind.value if offer else None,
        enabled=bool(offer and offer.enabled),
        holdout_share=offer.holdout_share if offer else None,
        decided=counts.get("decided", 0),
        offered=counts.get("offer", 0),
        held_out=counts.get("hold_out", 0),
        refused=counts.get("no_offer", 0),
        refusals={k[len(REFUSAL_PREFIX) :]: v for k, v in sorted(counts.items()) if k.startswith(REFUSAL_PREFIX)},
        presented=counts.get("presented", 0),
        accepted=sum(int(u.get("accepted", 0)) for u in units),
        redeemed=sum(int(u.get("redeemed", 0)) for u in units),
        redeemed_revenue=sum((unit_money(u, "redeemed", currency) for u in units), Decimal(0)),
        treatment=treated,
        holdout=held,
        conversion=lift.conversion_lift(_counts(treated.converted), _counts(held.converted)),
        retention=lift.retention_lift(_counts(treated.retained), _counts(held.retained)),
        revenue_per_customer=lift.revenue_lift(
            treated_revenue, held_revenue, resamples=resamples, seed=_seed(offer_id)
        ),
    )


def _seed(offer_id: str) -> int:
    """The bootstrap's seed: fixed per offer, so the same data gives the same interval on every load."""
    return int.from_bytes(offer_id.encode()[:8].ljust(8, b"\0"), "big")
