"""The journeys' records in the memory table, in the customer's partition (erasure deletes them with it): the signals
a journey remembers for a while (a charge, so that a second one of the same amount is recognised) and the cap slots
(a journey may message a customer `cap.messages` times in `cap.days`: one slot per message, taken with a conditional
write, so two runs at the same moment cannot both pass the cap)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from concierge.memory import keys
from concierge.memory.storage import ConditionFailed
from concierge.metrics import keys as metric_keys

if TYPE_CHECKING:
    from concierge.journeys.definitions import Cap
    from concierge.memory.store import MemoryStore
    from concierge.platform.events import Signal

# A signal is kept 33 days: longer than any journey's wait (at most 30 days, plus a night's quiet hours) and than the
# journey workflow's timeout (32 days), so a recheck always finds what happened since its signal; an onboarding
# journey's "first start" looks back as far.
REMEMBERED_DAYS = 33


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

    def take_slot(self, customer_id: str, journey_id: str, cap: Cap, at: datetime, run: str = "") -> bool:
        """Take one of the journey's cap slots for this customer; False when every slot was taken within the cap's
        period (the cap holds). A slot this same `run` took (a retried step) is its own again."""
        since = int((at - timedelta(days=cap.days)).timestamp())
        condition = "attribute_not_exists(sk) OR taken_at <= :since" + (" OR #run = :run" if run else "")
        values: dict[str, Any] = {":since": since, **({":run": run} if run else {})}
        for slot in range(cap.messages):
            taken = self._db.put(
                {
                    "pk": keys.customer_pk(customer_id),
                    "sk": keys.journey_slot_sk(journey_id, slot),
                    "taken_at": int(at.timestamp()),
                    "expires_at": int((at + timedelta(days=cap.days)).timestamp()),
                    **({"run": run} if run else {}),
                },
                condition=condition,
                values=values,
                names={"#run": "run"} if run else None,
            )
            if taken:
                return True
        return False

    def slot_free(self, customer_id: str, journey_id: str, cap: Cap, at: datetime, run: str = "") -> bool:
        """Whether `take_slot` would find a slot now (a read only: nothing is taken). A slot `run` took is free."""
        since = int((at - timedelta(days=cap.days)).timestamp())
        slots = [
            {"pk": keys.customer_pk(customer_id), "sk": keys.journey_slot_sk(journey_id, slot)}
            for slot in range(cap.messages)
        ]
        return any(
            item is None or int(item.get("taken_at", 0)) <= since or (run and item.get("run") == run)
            for item in self._db.get_many(slots, consistent=True)
        )

    def release_slot(self, customer_id: str, journey_id: str, cap: Cap, run: str) -> None:
        """Give back the slot `run` took, when it ended sending nothing a cap should count (a promoter's thank-you
        whose offer was refused or never decided): the slot is marked free (taken at 0), only if it is still
        this run's."""
        for slot in range(cap.messages):
            try:
                self._db.update(
                    {"pk": keys.customer_pk(customer_id), "sk": keys.journey_slot_sk(journey_id, slot)},
                    "SET taken_at = :free",
                    condition="#run = :run",
                    names={"#run": "run"},
                    values={":free": 0, ":run": run},
                )
            except ConditionFailed:
                continue

    # the journey's measuring unit (journeys/ledger.py) ---------------------------------------------------------------
    def record_entered(self, customer_id: str, journey_id: str, group: str, at: datetime) -> None:
        """The customer entered the journey (a run was scheduled): their unit's group (kept from the first entry)
        and first and latest entry, and the marker in their partition that names the unit, so erasing them erases
        it. A retried step writes the same values again."""
        unit = metric_keys.journey_unit_key(journey_id, customer_id)
        self._db.put(
            {
                "pk": keys.customer_pk(customer_id),
                "sk": keys.journey_unit_marker_sk(journey_id),
                "erase_also": [[unit["pk"], unit["sk"]]],
                "expires_at": self._db.expiry(),
            }
        )
        self._db.update(
            unit,
            "SET #g = if_not_exists(#g, :g), first_at = if_not_exists(first_at, :at), last_at = :at, expires_at = :exp",
            names={"#g": "group"},
            values={":g": group, ":at": at.astimezone(UTC).isoformat(), ":exp": self._db.expiry()},
        )

    def record_run(self, customer_id: str, journey_id: str, outcome: str, run: str) -> None:
        """A run `messaged` the customer, or was `held_out` (their group gets no message): the run is added to
        the unit's set, so a retried step counts once."""
        assert outcome in ("messaged", "held_out")
        self._db.update(
            metric_keys.journey_unit_key(journey_id, customer_id),
            f"ADD {outcome} :run",
            values={":run": {run}},
        )

    def unit(self, customer_id: str, journey_id: str) -> dict[str, Any] | None:
        return self._db.get(metric_keys.journey_unit_key(journey_id, customer_id), consistent=True)

    def record_converted(self, customer_id: str, journey_id: str, at: datetime) -> bool:
        """The customer did what the journey nudged them to (the onboarding step's feature used) within the
        attribution window of their latest entry: its conversion, in both groups alike. False when it is not."""
        from concierge.journeys import ledger

        unit = self.unit(customer_id, journey_id)
        if unit is None or not ledger.converts(unit, at):
            return False
        update = ledger.converted_update(journey_id, customer_id, at)
        self._db.update(update.key, update.expression, values=update.values)
        return True
