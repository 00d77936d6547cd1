"""The repository of the KPI records (metrics/keys.py lists them): their reads, and the roll-up's one transaction.

It alone reads and writes them, through the memory table's access layer (storage.py). The roll-up (rollup.py)
decides what an event changes and hands the result here as counter deltas plus typed operations (`Put`, `Delete`)
on its own records; `commit` adds the event's marker and the counter updates and writes all of it at once.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from concierge.metrics import keys
from concierge.storage import Cancelled, Delete, Operation, Put, Update

if TYPE_CHECKING:
    from concierge.memory import MemoryStore

Deltas = Mapping[tuple[date, str, str], Mapping[str, Decimal]]  # (day, channel, intent) -> counter -> amount


def _epoch(at: datetime, days: int) -> int:
    return int((at + timedelta(days=days)).timestamp())


class MetricsStore:
    def __init__(self, memory: MemoryStore) -> None:
        self._db = memory.storage

    # the roll-up's reads ------------------------------------------------------------------------------------------
    def repeat_marker(self, customer_id: str, intent: str) -> dict[str, Any] | None:
        """The customer's last contact on `intent` (for repeat contacts), or None."""
        return self._db.get({"pk": keys.repeat_pk(customer_id), "sk": intent}, consistent=True)

    def conversation(self, conversation_id: str, *kinds: str) -> dict[str, dict[str, Any]]:
        """The conversation's attribution and the latest scores of `kinds`, by sort key: one BatchGetItem of at most
        3 keys. RuntimeError when DynamoDB left some unread: the queue retries the event rather than count it
        wrongly."""
        pk = keys.conversation_pk(conversation_id)
        wanted = [{"pk": pk, "sk": keys.META_SK}] + [
            {"pk": pk, "sk": keys.score_sk(kind)} for kind in dict.fromkeys(kinds)
        ]
        items = self._db.batch_get(wanted, plain=False)
        if items is None:
            raise RuntimeError("the conversation's metric records could not all be read; retrying")
        return {item["sk"]: item for item in items}

    # the roll-up's write ------------------------------------------------------------------------------------------
    def commit(self, event_id: str, at: datetime, deltas: Deltas, operations: Sequence[Put | Delete]) -> bool:
        """The event's marker (a conditional put, so a redelivered event counts once), an ADD on each counter item
        of `deltas`, and `operations`, in one transaction. False if the event was counted before."""
        writes: list[Operation] = [
            Put(
                {"pk": keys.event_pk(event_id), "sk": keys.SEEN_SK, "expires_at": _epoch(at, keys.EVENT_MARKER_DAYS)},
                condition="attribute_not_exists(pk)",
            )
        ]
        for (day, channel, intent), counts in deltas.items():
            names = sorted(counts)
            writes.append(
                Update(
                    keys.counter_key(day, channel, intent),
                    "ADD " + ", ".join(f"#a{i} :v{i}" for i in range(len(names))),
                    names={f"#a{i}": name for i, name in enumerate(names)},
                    values={f":v{i}": counts[name] for i, name in enumerate(names)},
                )
            )
        writes.extend(operations)
        try:
            self._db.transact(writes)
        except Cancelled:
            # The marker exists: this event was counted before (a redelivery). Anything else is retried by the queue.
            if self._db.get({"pk": keys.event_pk(event_id), "sk": keys.SEEN_SK}, consistent=True) is not None:
                return False
            raise
        return True

    # the reports' reads -------------------------------------------------------------------------------------------
    def counters(self, kind: str, first: date, last: date) -> Iterator[dict[str, Any]]:
        """The counter items of one kind of slice (keys.TOTAL, ...) for the days `first`..`last` of one month: every
        page of one Query (values as DynamoDB keeps them: Decimal)."""
        between = keys.day_range(keys.COUNTER, first, last)
        return self._db.iterate(keys.month_pk(first, kind), between=between, plain=False)

    def low_scores(self, first: date, last: date) -> Iterator[dict[str, Any]]:
        """The low-score entries of the days `first`..`last` of one month: every page of one Query."""
        between = keys.day_range(keys.LOW, first, last)
        return self._db.iterate(keys.month_pk(first, keys.LOWS), between=between, plain=False)

    def conversation_metrics(self, conversation_id: str) -> dict[str, dict[str, Any]]:
        """A conversation's attribution and latest scores, by sort key (the drill-down)."""
        items = self._db.query(keys.conversation_pk(conversation_id), keys.CONVERSATION_METRIC, plain=False)
        return {item["sk"]: item for item in items}
