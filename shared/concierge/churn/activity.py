"""A customer's sign-ins and feature use, kept per day for the churn model's features (churn/features.py).

The storefront reports them as signals (`customer.signed_in`, `feature.used`: POST /v1/signals, docs/journeys.md);
the actions function takes them off the `signals-to-journeys` queue and counts each in one item per customer and day
(UTC), in the customer's partition (erasure deletes it with the partition):

    pk=CUST#<customer id>  sk=ACTIVITY#<yyyy-mm-dd>   sign_ins, feature_uses, features (the codes used), seen

`seen` holds the ids of the signals counted that day, and the count is added only if the signal's id is not among
them (one conditional update): a signal delivered or sent twice counts once. Codes and counts only, never text.
An item is kept KEPT_DAYS after its day (at most the memory table's retention): long enough to build features over
90 days as of a date 90 days back, with the 90 days after it for a churn label (`concierge churn export`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from concierge.memory import keys
from concierge.memory.storage import ConditionFailed
from concierge.platform.events import CustomerSignedIn, FeatureUsed

if TYPE_CHECKING:
    from concierge.memory.store import MemoryStore
    from concierge.platform.events import Signal

ACTIVITY_KINDS = frozenset({CustomerSignedIn.detail_type, FeatureUsed.detail_type})
KEPT_DAYS = 200


class ActivityDay(BaseModel):
    """What a customer did on one day (UTC)."""

    model_config = ConfigDict(frozen=True)

    day: date
    sign_ins: int = Field(0, ge=0)
    feature_uses: int = Field(0, ge=0)
    features: frozenset[str] = Field(default_factory=frozenset, description="the codes of the features used")


def day_of(at: datetime) -> date:
    """The UTC day of a moment (a moment without a zone is taken as UTC)."""
    return (at if at.tzinfo is not None else at.replace(tzinfo=UTC)).astimezone(UTC).date()


class ActivityStore:
    """The repository of activity days: it alone reads and writes them, through the memory table's access layer."""

    def __init__(self, memory: MemoryStore) -> None:
        self._db = memory.storage

    def record(self, signal: Signal) -> bool:
        """Count a sign-in or a feature use in its day; False when this signal was counted before (or is neither)."""
        day = day_of(signal.occurred_at)
        kept = int(datetime.combine(day + timedelta(days=KEPT_DAYS), time(), UTC).timestamp())
        values: dict[str, object] = {
            ":ids": {signal.signal_id},
            ":id": signal.signal_id,
            ":expires": min(kept, self._db.expiry()),
        }
        if isinstance(signal, CustomerSignedIn):
            counts = "sign_ins :one"
            values[":one"] = 1
        elif isinstance(signal, FeatureUsed):
            counts = "feature_uses :uses, features :feature"
            values |= {":uses": signal.count, ":feature": {signal.feature}}
        else:
            return False
        try:
            self._db.update(
                {"pk": keys.customer_pk(signal.customer_id), "sk": keys.activity_sk(day)},
                f"SET expires_at = :expires ADD seen :ids, {counts}",
                condition="NOT contains(seen, :id)",
                values=values,
            )
        except ConditionFailed:
            return False
        return True

    def days(self, customer_id: str, first: date, last: date) -> list[ActivityDay]:
        """The customer's activity on the days from `first` to `last` (both included) that have any, oldest first."""
        items = self._db.query(keys.customer_pk(customer_id), between=(keys.activity_sk(first), keys.activity_sk(last)))
        return [
            ActivityDay(
                day=date.fromisoformat(item["sk"].removeprefix(keys.ACTIVITY)),
                sign_ins=item.get("sign_ins", 0),
                feature_uses=item.get("feature_uses", 0),
                features=frozenset(item.get("features") or ()),
            )
            for item in items
        ]
