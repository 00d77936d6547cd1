"""What a journey's report is computed from (docs/journeys.md, "Measuring"): a unit per customer and journey, the
unit of its holdout comparison, as an offer's (offers/ledger.py).

    pk=METRIC#JOURNEY#<journey id>  sk=<hash of the customer id>
        group               treatment | holdout: assigned when they first entered (offers/holdout.py's keyed hash)
        first_at, last_at   their first and latest entry (a run whose conditions held and was scheduled)
        messaged            the runs that messaged them (a string set: a retried step adds nothing)
        held_out            the runs that would have messaged them, and did not: their group is held out
        replied_at          their first answer to one of its messages (turn.completed names the journey)
        converted_at, orders, revenue_<currency>
                            its conversion within ATTRIBUTION_DAYS of their latest entry, in both groups alike: an
                            order (`order.placed`, with its revenue), the onboarding step's feature used, or (the
                            churn nudge) the customer back: a sign-in, a feature used or an order

The comparison is by intention to treat: every customer who entered counts in their group, whether the message
was then sent, stopped by a recheck (a cart bought first) or held out, so the two groups stay alike. Only a nudge
has a holdout (definitions.HOLDABLE); a service message is never withheld and is measured by its replies.
Operations only: JourneyStore writes the entries of a run's steps, the roll-up the replies and orders.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from concierge.memory.storage import Update
from concierge.metrics import keys
from concierge.offers.ledger import ATTRIBUTION_DAYS

__all__ = ["ATTRIBUTION_DAYS", "order_updates", "replied_update"]


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat()


def replied_update(journey_id: str, customer_id: str, at: datetime) -> Update:
    """The customer answered the journey's message (the first customer turn of the conversation it opened)."""
    return Update(
        keys.journey_unit_key(journey_id, customer_id),
        "SET replied_at = if_not_exists(replied_at, :at)",
        values={":at": _iso(at)},
    )


def converts(unit: dict[str, Any], at: datetime) -> bool:
    """Whether something the customer did at `at` is the journey's conversion: they entered it, at most
    ATTRIBUTION_DAYS before."""
    if "group" not in unit or not unit.get("last_at"):
        return False
    entered = datetime.fromisoformat(unit["last_at"])
    entered = entered if entered.tzinfo else entered.replace(tzinfo=UTC)
    return entered <= at <= entered + timedelta(days=ATTRIBUTION_DAYS)


def converted_update(
    journey_id: str, customer_id: str, at: datetime, total: Decimal | None = None, currency: str | None = None
) -> Update:
    """The journey's conversion (its first time kept), with an order's revenue when it is one."""
    if total is None or currency is None:
        return Update(
            keys.journey_unit_key(journey_id, customer_id),
            "SET converted_at = if_not_exists(converted_at, :at)",
            values={":at": _iso(at)},
        )
    return Update(
        keys.journey_unit_key(journey_id, customer_id),
        "SET converted_at = if_not_exists(converted_at, :at) ADD orders :one, #r :total",
        names={"#r": f"revenue_{currency.upper()[:3]}"},
        values={":at": _iso(at), ":one": 1, ":total": total},
    )


def order_updates(
    units: dict[str, dict[str, Any]], *, customer_id: str, placed_at: datetime, total: Decimal, currency: str
) -> list[Update]:
    """An order placed at `placed_at`, for each journey that converts on one and that the customer entered at most
    ATTRIBUTION_DAYS before (`units`: theirs, by journey id): its conversion and revenue, in both groups alike."""
    return [
        converted_update(journey_id, customer_id, placed_at, total, currency)
        for journey_id, unit in sorted(units.items())
        if converts(unit, placed_at)
    ]


def unit_ids(journey_ids: Sequence[str], customer_id: str) -> list[dict[str, str]]:
    """The keys of the customer's units of these journeys (one BatchGetItem reads them)."""
    return [keys.journey_unit_key(j, customer_id) for j in journey_ids]
