"""The journeys' report (GET /v1/journeys/report, the dashboard's Journeys section; docs/journeys.md, "Measuring").

Per journey, over the customers who first entered it in the range (its units, journeys/ledger.py): how many entered,
how many messages it sent and held back, and, for each group, how many were messaged, replied and converted, with
the holdout comparison of conversion and revenue per customer (offers/lift.py: 95% intervals, or "not enough data")
where the journey has a holdout and a conversion. Read in one Query per journey.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from concierge.journeys.definitions import JourneyDefinition
from concierge.journeys.ledger import ATTRIBUTION_DAYS
from concierge.metrics.formulas import Proportion, wilson
from concierge.metrics.store import MetricsStore
from concierge.offers import lift
from concierge.offers.report import OfferReportQuery, main_currency, parse_at, unit_money


class JourneyReportQuery(OfferReportQuery):
    """The query string of GET /v1/journeys/report: the range of first entries (and the revenue's currency)."""


class JourneyGroup(BaseModel):
    """One group of a journey: treatment (messaged unless a recheck stopped it) or holdout (never messaged)."""

    customers: int = Field(description="customers who first entered the journey in the range")
    messaged: int = Field(description="customers it messaged")
    replied: Proportion = Field(description="customers who answered its message, of those messaged")
    converted: Proportion = Field(
        description=f"customers who converted within {ATTRIBUTION_DAYS} days of entering (an order, or the "
        "onboarding step done), of those who entered"
    )
    revenue: Decimal = Field(description="revenue of the orders that converted, in the shop's currency")
    revenue_per_customer: float | None


class JourneyRow(BaseModel):
    journey_id: str
    enabled: bool = Field(description="the journey runs for this shop (on, and configured)")
    holdout_share: float
    converts_on: Literal["order", "feature", "activity"] | None = Field(
        description="None: a service message, measured by replies"
    )
    entered: int = Field(description="customers who first entered it in the range")
    messages: int = Field(description="messages sent to them")
    held_out: int = Field(description="messages not sent because the customer is in the holdout group")
    treatment: JourneyGroup
    holdout: JourneyGroup
    conversion: lift.RateLift | lift.NotEnoughData | None = Field(
        description="treatment against holdout; None without a holdout or a conversion"
    )
    revenue_per_customer: lift.MeanLift | lift.NotEnoughData | None


class JourneyReport(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: date = Field(alias="from")
    to: date
    currency: str | None = Field(description="of every amount; None when no converting order was reported")
    attribution_days: int = ATTRIBUTION_DAYS
    min_customers: int = Field(lift.MIN_CUSTOMERS, description="per group, before a lift is reported")
    journeys: list[JourneyRow]


def build(
    store: MetricsStore,
    in_force: Sequence[JourneyDefinition],
    defined: Sequence[JourneyDefinition],
    query: JourneyReportQuery,
) -> JourneyReport:
    """`defined`: every journey with the merchant's changes (definitions()); `in_force`: those that run here."""
    start = datetime.combine(query.from_, datetime.min.time(), UTC)
    end = datetime.combine(query.to + timedelta(days=1), datetime.min.time(), UTC)
    units_of = {
        d.id: [u for u in store.journey_units_of(d.id) if "group" in u and start <= parse_at(u["first_at"]) < end]
        for d in defined
    }
    currency = query.currency or main_currency(u for units in units_of.values() for u in units)
    running = {d.id for d in in_force}
    rows = [
        _row(d, d.id in running, units_of[d.id], currency, query.resamples)
        for d in defined
        if d.id in running or units_of[d.id]
    ]
    return JourneyReport(from_=query.from_, to=query.to, currency=currency, journeys=rows)


def _group(units: Iterable[dict[str, Any]], currency: str | None) -> tuple[JourneyGroup, list[Decimal]]:
    units = list(units)
    messaged = [u for u in units if u.get("messaged")]
    revenues = [unit_money(u, "revenue", currency) for u in units]
    total = sum(revenues, Decimal(0))
    return (
        JourneyGroup(
            customers=len(units),
            messaged=len(messaged),
            replied=wilson(sum(1 for u in messaged if u.get("replied_at")), len(messaged)),
            converted=wilson(sum(1 for u in units if u.get("converted_at")), len(units)),
            revenue=total,
            revenue_per_customer=float(total) / len(units) if units else None,
        ),
        revenues,
    )


def _row(
    definition: JourneyDefinition, enabled: bool, units: list[dict[str, Any]], currency: str | None, resamples: int
) -> JourneyRow:
    treated, treated_revenue = _group((u for u in units if u["group"] == "treatment"), currency)
    held, held_revenue = _group((u for u in units if u["group"] == "holdout"), currency)
    compared = definition.holdout_share > 0 and definition.converts_on is not None
    return JourneyRow(
        journey_id=definition.id,
        enabled=enabled,
        holdout_share=definition.holdout_share,
        converts_on=definition.converts_on,
        entered=len(units),
        messages=sum(len(u.get("messaged") or ()) for u in units),
        held_out=sum(len(u.get("held_out") or ()) for u in units),
        treatment=treated,
        holdout=held,
        conversion=(
            lift.conversion_lift(
                lift.RateCounts(customers=treated.converted.n, events=treated.converted.hits),
                lift.RateCounts(customers=held.converted.n, events=held.converted.hits),
            )
            if compared
            else None
        ),
        revenue_per_customer=(
            lift.revenue_lift(treated_revenue, held_revenue, resamples=resamples, seed=_seed(definition.id))
            if compared and definition.converts_on in ("order", "activity")
            else None
        ),
    )


def _seed(journey_id: str) -> int:
    """The bootstrap's seed: fixed per journey, so the same data gives the same interval on every load."""
    return int.from_bytes(f"j:{journey_id}".encode()[:8].ljust(8, b"\0"), "big")
