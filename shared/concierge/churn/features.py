"""The churn model's features: one row per customer as of a day, built from behaviour only, through the product's own
stores (docs/churn.md).

| feature | from |
| --- | --- |
| tenure_days | the customer's `created_at` in the store |
| sign_ins_30d, sign_ins_90d, days_since_sign_in | `customer.signed_in` signals, counted per day (activity.py) |
| feature_uses_30d, feature_uses_90d, features_used_90d | `feature.used` signals (their counts, and the codes) |
| orders_90d, orders_365d, days_since_order | the customer's orders in the store (`CommerceBackend.recent_orders`) |
| support_contacts_90d, sentiment_90d | the customer's conversations in memory and their messages' sentiment |
| auto_csat_90d | the Auto-CSAT of those conversations (surveys) |

A window of N days ends with the as-of day and holds N days (the last 30 days: as-of and the 29 before). A recency
is capped at its window: `days_since_sign_in` 90 means none in the last 90 days, `days_since_order` 365 none in the
last year. Without a conversation in 90 days, sentiment and Auto-CSAT are None (the model reads them as neutral).
No protected attribute, no contact detail and no message text is read: counts, dates, scores.

The export format is JSON Lines, one `ChurnRow` per line: the features and, when known, the `churned` label.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from statistics import fmean
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from concierge.churn.activity import ActivityDay, ActivityStore, day_of
from concierge.store.models import OrderStatus

if TYPE_CHECKING:
    from concierge.memory.store import MemoryStore
    from concierge.store.commerce import CommerceBackend
    from concierge.store.models import Customer, Order

RECENT_DAYS = 30
WINDOW_DAYS = 90
YEAR_DAYS = 365
ORDERS_READ = 500  # the newest orders read per customer: more than a year's worth for nearly every customer

# The model's inputs, in order (every numeric field of ChurnFeatures), and the value a missing one takes.
MODEL_FEATURES: tuple[str, ...] = (
    "tenure_days",
    "sign_ins_30d",
    "sign_ins_90d",
    "days_since_sign_in",
    "feature_uses_30d",
    "feature_uses_90d",
    "features_used_90d",
    "orders_90d",
    "orders_365d",
    "days_since_order",
    "support_contacts_90d",
    "sentiment_90d",
    "auto_csat_90d",
)
NEUTRAL: dict[str, float] = {"sentiment_90d": 0.0, "auto_csat_90d": 3.0}


class ChurnDataError(ValueError):
    """A churn data file that cannot be read (the message names the line and the field)."""


class ChurnFeatures(BaseModel):
    """A customer's behaviour as of a day."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    customer_id: str = Field(min_length=1, max_length=128)
    as_of: date
    tenure_days: int = Field(ge=0, description="days since the customer's account was created")
    sign_ins_30d: int = Field(ge=0)
    sign_ins_90d: int = Field(ge=0)
    days_since_sign_in: int = Field(ge=0, le=WINDOW_DAYS, description="90: no sign-in in the last 90 days")
    feature_uses_30d: int = Field(ge=0)
    feature_uses_90d: int = Field(ge=0)
    features_used_90d: int = Field(ge=0, description="how many different features were used in the last 90 days")
    orders_90d: int = Field(ge=0, description="orders placed (not cancelled)")
    orders_365d: int = Field(ge=0)
    days_since_order: int = Field(ge=0, le=YEAR_DAYS, description="365: no order in the last year")
    support_contacts_90d: int = Field(ge=0, description="conversations started in the last 90 days")
    sentiment_90d: float | None = Field(
        None, ge=-1, le=1, description="mean sentiment of the customer's messages in them; None without one"
    )
    auto_csat_90d: float | None = Field(None, ge=1, le=5, description="their mean Auto-CSAT; None without one")

    @model_validator(mode="after")
    def _windows_nest(self) -> ChurnFeatures:
        for short, long in (
            ("sign_ins_30d", "sign_ins_90d"),
            ("feature_uses_30d", "feature_uses_90d"),
            ("orders_90d", "orders_365d"),
        ):
            if getattr(self, short) > getattr(self, long):
                raise ValueError(f"{short} cannot exceed {long}: the shorter window is inside the longer")
        return self

    def values(self) -> list[float]:
        """The model's inputs (MODEL_FEATURES), a missing one at its neutral value."""
        found = [getattr(self, name) for name in MODEL_FEATURES]
        return [float(NEUTRAL[name] if v is None else v) for name, v in zip(MODEL_FEATURES, found, strict=True)]


class ChurnRow(ChurnFeatures):
    """A line of the export: the features and, when known, whether the customer churned after `as_of`."""

    churned: bool | None = None


@dataclass(frozen=True)
class FeatureSources:
    """The stores the features are read from (their ports: the reference store or a merchant's adapter, memory)."""

    store: CommerceBackend
    memory: MemoryStore


def build_row(
    customer: Customer, as_of: date, sources: FeatureSources, label_days: int | None = None
) -> ChurnRow | None:
    """The customer's row as of the end of `as_of` (UTC); None for a customer created after it. With `label_days`,
    `churned` says whether they placed no order, signed in to nothing and used no feature in the `label_days` days
    after `as_of` (which must all be past)."""
    tenure = (as_of - day_of(customer.created_at)).days
    if tenure < 0:
        return None
    first = as_of - timedelta(days=WINDOW_DAYS - 1)
    last = as_of + timedelta(days=label_days or 0)
    activity = ActivityStore(sources.memory).days(customer.id, first, last)
    orders = [o for o in sources.store.recent_orders(customer.id, ORDERS_READ) if o.status is not OrderStatus.CANCELLED]
    before = [a for a in activity if a.day <= as_of]
    start = datetime.combine(first, time(), UTC)
    conversations = sources.memory.conversations_started(
        customer.id, start, datetime.combine(as_of + timedelta(days=1), time(), UTC)
    )
    sentiments = [s for c in conversations for s in c.sentiments]
    scores = [sources.memory.get_score(c.conversation_id, "auto") for c in conversations]
    auto_csat = [float(s["score"]) for s in scores if s and s.get("score") is not None]
    row = ChurnRow.model_validate(
        {
            "customer_id": customer.id,
            "as_of": as_of,
            "tenure_days": tenure,
            **_activity(before, as_of),
            **_orders(orders, as_of),
            "support_contacts_90d": len(conversations),
            "sentiment_90d": round(fmean(sentiments), 4) if sentiments else None,
            "auto_csat_90d": round(fmean(auto_csat), 4) if auto_csat else None,
        }
    )
    if label_days is None:
        return row
    return row.model_copy(update={"churned": not _active_after(activity, orders, as_of, last)})


def build_rows(
    customers: Iterable[Customer], as_of: date, sources: FeatureSources, label_days: int | None = None
) -> Iterator[ChurnRow]:
    """`build_row` for each customer created by `as_of`."""
    for customer in customers:
        row = build_row(customer, as_of, sources, label_days)
        if row is not None:
            yield row


def export_day(today: date, as_of: date | None = None, label_days: int | None = None) -> date:
    """The as-of day of an export: `as_of`, else today, or with a label the day `label_days` before today.
    ChurnDataError when the label's days are not all past, or a window is impossible."""
    if label_days is not None and label_days < 1:
        raise ChurnDataError(f"the label needs at least one day after the as-of day (got {label_days})")
    day = as_of or today - timedelta(days=label_days or 0)
    if day > today:
        raise ChurnDataError(f"the as-of day {day} is in the future")
    if label_days is not None and day + timedelta(days=label_days) > today:
        raise ChurnDataError(
            f"a churn label over {label_days} days after {day} needs those days to be past: use an as-of day on or "
            f"before {today - timedelta(days=label_days)}"
        )
    return day


def _within(day: date, as_of: date, days: int) -> bool:
    return as_of - timedelta(days=days - 1) <= day <= as_of


def _activity(days: list[ActivityDay], as_of: date) -> dict[str, int]:
    signed_in = [a.day for a in days if a.sign_ins]
    return {
        "sign_ins_30d": sum(a.sign_ins for a in days if _within(a.day, as_of, RECENT_DAYS)),
        "sign_ins_90d": sum(a.sign_ins for a in days),
        "days_since_sign_in": (as_of - max(signed_in)).days if signed_in else WINDOW_DAYS,
        "feature_uses_30d": sum(a.feature_uses for a in days if _within(a.day, as_of, RECENT_DAYS)),
        "feature_uses_90d": sum(a.feature_uses for a in days),
        "features_used_90d": len(frozenset().union(*(a.features for a in days))),
    }


def _orders(orders: list[Order], as_of: date) -> dict[str, int]:
    placed = [d for d in (day_of(o.placed_at) for o in orders) if d <= as_of]
    return {
        "orders_90d": sum(_within(d, as_of, WINDOW_DAYS) for d in placed),
        "orders_365d": sum(_within(d, as_of, YEAR_DAYS) for d in placed),
        "days_since_order": min((as_of - max(placed)).days, YEAR_DAYS) if placed else YEAR_DAYS,
    }


def _active_after(activity: list[ActivityDay], orders: list[Order], as_of: date, last: date) -> bool:
    return any(as_of < a.day <= last and (a.sign_ins or a.feature_uses) for a in activity) or any(
        as_of < day_of(o.placed_at) <= last for o in orders
    )


# the export file -----------------------------------------------------------------------------------------------------
def write_rows(rows: Iterable[ChurnRow], path: Path) -> int:
    """Write the rows as JSON Lines; how many."""
    written = 0
    with path.open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(row.model_dump_json(exclude_none=False) + "\n")
            written += 1
    return written


def read_rows(path: Path) -> list[ChurnRow]:
    """The rows of a JSON Lines file (blank lines skipped); ChurnDataError names the first bad line and field."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise ChurnDataError(f"{path}: cannot be read ({error.strerror or error})") from None
    rows = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rows.append(ChurnRow.model_validate(json.loads(line)))
        except json.JSONDecodeError as error:
            raise ChurnDataError(f"{path}:{number}: not JSON ({error.msg})") from None
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "row"
            raise ChurnDataError(f"{path}:{number}: {where}: {first['msg']}") from None
    return rows
