"""The journeys' records in the memory table, in the customer's partition (erasure deletes them with it): the signals
a journey remembers for a while (a charge, so that a second one of the same amount is recognised) and the cap slots
(a journey may message a customer `cap.messages` times in `cap.days`: one slot per message, taken with a conditional
write, so two runs at the same moment cannot both pass the cap)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from concierge.memory import keys

if TYPE_CHECKING:
    from concierge.journeys.definitions import Cap
    from concierge.memory.store import MemoryStore
    from concierge.platform.events import Signal

REMEMBERED_DAYS = 8  # a signal is kept a week and a day: longer than any journey's interval or wait


class JourneyStore:
    def __init__(self, memory: MemoryStore) -> None:
        self._db = memory.storage

    def remember(self, signal: Signal) -> None:
        """Keep the signal (ids, codes and amounts only) for REMEMBERED_DAYS; a signal sent again is kept once."""
        at = signal.occurred_at
        self._db.put(
            {
                "pk": keys.customer_pk(signal.customer_id),
                "sk": keys.signal_sk(signal.detail_type, at, signal.signal_id),
                "expires_at": int((at + timedelta(days=REMEMBERED_DAYS)).timestamp()),
                "signal": signal.model_dump(mode="json"),
            }
        )

    def recent(self, customer_id: str, kind: str, since: datetime) -> list[dict[str, Any]]:
        """The signals of `kind` about the customer that occurred at `since` or later, oldest first."""
        low = keys.signal_sk(kind, since, "")
        high = keys.signal_prefix(kind) + "\uffff"
        items = self._db.query(keys.customer_pk(customer_id), between=(low, high), consistent=True)
        return [dict(item["signal"]) for item in items]

    def take_slot(self, customer_id: str, journey_id: str, cap: Cap, at: datetime) -> bool:
        """Take one of the journey's cap slots for this customer; False when every slot was taken within the cap's
        period (the cap holds)."""
        since = int((at - timedelta(days=cap.days)).timestamp())
        for slot in range(cap.messages):
            taken = self._db.put(
                {
                    "pk": keys.customer_pk(customer_id),
                    "sk": keys.journey_slot_sk(journey_id, slot),
                    "taken_at": int(at.timestamp()),
                    "expires_at": int((at + timedelta(days=cap.days)).timestamp()),
                },
                condition="attribute_not_exists(sk) OR taken_at <= :since",
                values={":since": since},
            )
            if taken:
                return True
        return False
