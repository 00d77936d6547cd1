"""The records an offer's report is computed from (docs/offers.md, "Measuring"): what each decision adds, and what a
customer's later orders, acceptances and redemptions add. Operations only; `MemoryStore` and the roll-up write them
in their own transactions, and `offers/report.py` reads them.

Two kinds of record (keys in metrics/keys.py):

- **decision counters**, per day × offer × channel × locale: how many decisions, per outcome and per refusal
  reason, and how many were presented. No customer in them: the outcome-parity view across channels and locales.
- **a unit per customer and offer** (the unit of the holdout comparison, keyed by a hash of the customer's id): their
  group, first and last exposure (offered or held out), the channel and locale of the first, how often it was
  presented, accepted and redeemed, and the orders and revenue attributed to it. An order counts for an offer when
  it is placed within `ATTRIBUTION_DAYS` of an exposure to it (conversion and revenue, in both groups alike), and as
  retention when it is placed more than `ATTRIBUTION_DAYS` and at most `RETENTION_DAYS` after the first exposure.

The locale is recorded to audit the outcomes by segment; no decision reads it (`OfferContext` has no locale).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from concierge.memory.storage import Update
from concierge.metrics import keys

if TYPE_CHECKING:
    from concierge.offers.guardrails import OfferDecision

ATTRIBUTION_DAYS = 14  # an order this soon after an exposure is the offer's conversion (and its revenue)
RETENTION_DAYS = 90  # an order after the attribution window and up to this long after the first exposure: retained
UNKNOWN_LOCALE = "unknown"


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat()


def decision_updates(
    decisions: Sequence[OfferDecision], *, locale: str | None, expires_at: int
) -> tuple[list[Update], dict[str, list[str]]]:
    """What decisions add: one counter update per day × offer × channel × locale, and one unit update per customer
    and offer exposed (a transaction may touch an item once, so decisions sharing one are summed). Returns the
    operations and, per offer exposed, the unit's key (for the audit entries' `erase_also`); `decisions` are of one
    customer, as a moment's are."""
    from concierge.offers.guardrails import Outcome

    segment = (locale or UNKNOWN_LOCALE)[:16]
    counters: dict[tuple[str, str], dict[str, int]] = {}
    exposed: dict[tuple[str, str], list[OfferDecision]] = {}
    for decision in decisions:
        key = keys.offer_counter_key(
            keys.utc_day(decision.decided_at), decision.offer_id, decision.channel.value, segment
        )
        counts = counters.setdefault((key["pk"], key["sk"]), {})
        names = ["decided", decision.outcome.value]
        if decision.outcome is Outcome.NO_OFFER:
            names.append(f"r_{decision.reason.value}")
        if decision.presented:
            names.append("presented")
        for name in names:
            counts[name] = counts.get(name, 0) + 1
        if decision.exposure is not None:
            exposed.setdefault((decision.offer_id, decision.customer_id), []).append(decision)
    operations = [
        Update(
            {"pk": pk, "sk": sk},
            "ADD " + ", ".join(f"#c{i} :c{i}" for i in range(len(counts))),
            names={f"#c{i}": name for i, name in enumerate(sorted(counts))},
            values={f":c{i}": counts[name] for i, name in enumerate(sorted(counts))},
        )
        for (pk, sk), counts in counters.items()
    ]
    units: dict[str, list[str]] = {}
    for (offer_id, customer_id), group in exposed.items():
        first, last = min(group, key=lambda d: d.decided_at), max(group, key=lambda d: d.decided_at)
        key = keys.offer_unit_key(offer_id, customer_id)
        units[offer_id] = [key["pk"], key["sk"]]
        operations.append(
            Update(
                key,
                "SET #g = if_not_exists(#g, :g), first_at = if_not_exists(first_at, :first), last_at = :last, "
                "channel = if_not_exists(channel, :ch), locale = if_not_exists(locale, :lo), expires_at = :exp "
                "ADD exposures :n, presented :p",
                names={"#g": "group"},
                values={
                    ":g": first.group.value,
                    ":first": _iso(first.decided_at),
                    ":last": _iso(last.decided_at),
                    ":ch": first.channel.value,
                    ":lo": segment,
                    ":exp": expires_at,
                    ":n": len(group),
                    ":p": sum(1 for d in group if d.presented),
                },
            )
        )
    return operations, units


def accepted_update(offer_id: str, customer_id: str) -> Update:
    """The customer took the offer (accept_offer issued its code on their yes)."""
    return Update(
        keys.offer_unit_key(offer_id, customer_id),
        "ADD accepted :one",
        condition="attribute_exists(pk)",
        values={":one": 1},
    )


def redeemed_update(offer_id: str, customer_id: str, total: Decimal, currency: str) -> Update:
    """The offer's code was used on an order (discount.redeemed)."""
    return Update(
        keys.offer_unit_key(offer_id, customer_id),
        "ADD redeemed :one, #r :total",
        names={"#r": f"redeemed_{currency.upper()[:3]}"},
        values={":one": 1, ":total": total},
    )


def order_updates(
    exposures: Sequence[OfferDecision],
    units: dict[str, dict[str, Any]],
    *,
    customer_id: str,
    placed_at: datetime,
    total: Decimal,
    currency: str,
) -> list[Update]:
    """An order placed at `placed_at` and the customer's exposures before it (offered or held out, from their audit
    trail) and their units (by offer id): per offer, a conversion with its revenue when an exposure is at most
    `ATTRIBUTION_DAYS` old, or retention when the first exposure is older than that and at most `RETENTION_DAYS` old.
    The same rule for both groups: the holdout comparison needs nothing else."""
    updates: list[Update] = []
    before = [e for e in exposures if e.decided_at <= placed_at]
    for offer_id in sorted({e.offer_id for e in before}):
        unit = units.get(offer_id)
        if not unit or "group" not in unit:
            continue  # exposed before the ledger existed, or erased since
        latest = max(e.decided_at for e in before if e.offer_id == offer_id)
        first = datetime.fromisoformat(unit["first_at"])
        names = {"#r": f"revenue_{currency.upper()[:3]}"}
        if placed_at - latest <= timedelta(days=ATTRIBUTION_DAYS):
            updates.append(
                Update(
                    keys.offer_unit_key(offer_id, customer_id),
                    "SET converted_at = if_not_exists(converted_at, :at) ADD orders :one, #r :total",
                    names=names,
                    values={":at": _iso(placed_at), ":one": 1, ":total": total},
                )
            )
        elif placed_at - first <= timedelta(days=RETENTION_DAYS):
            updates.append(
                Update(
                    keys.offer_unit_key(offer_id, customer_id),
                    "SET retained_at = if_not_exists(retained_at, :at)",
                    values={":at": _iso(placed_at)},
                )
            )
    return updates
