"""The repository of the KPI records (metrics/keys.py lists them): their reads, and the roll-up's one transaction.

It alone reads and writes them, through the memory table's access layer (memory/storage.py). The roll-up (rollup.py)
decides what an event changes and hands the result here as counter deltas, low-score index changes and typed
operations (`Put`, `Delete`) on its own records; `commit` adds the event's marker, the counter updates and the day
summaries' updates and writes all of it at once. Reports read the day summaries and write them back when a day is
compacted or its index rebuilt (`save_day`, conditional on the summary being unchanged since it was read).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from concierge.memory.storage import Cancelled, ConditionFailed, Delete, Operation, Put, Update
from concierge.metrics import keys

if TYPE_CHECKING:
    from concierge.memory.store import MemoryStore
    from concierge.offers.guardrails import OfferDecision

Deltas = Mapping[tuple[date, str, str], Mapping[str, Decimal]]  # (day, channel, intent) -> counter -> amount
# day -> low-score index attribute (keys.low_attribute) -> [channel, intent] to set, or None to remove
LowIndex = Mapping[date, Mapping[str, list[str] | None]]


def _epoch(at: datetime, days: int) -> int:
    return int((at + timedelta(days=days)).timestamp())


class MetricsStore:
    def __init__(self, memory: MemoryStore) -> None:
        self._memory = memory
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

    def offer_exposures(self, customer_id: str, since: datetime) -> list[OfferDecision]:
        """The customer's offer exposures (offered or held out) since `since`: one Query of their audit trail."""
        return self._memory.offer_decisions(customer_id, since, exposures_only=True)

    def offer_units(self, customer_id: str, offer_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The customer's units of these offers (offers/ledger.py), by offer id: one BatchGetItem. RuntimeError when
        DynamoDB left some unread: the queue retries the event rather than count it wrongly."""
        wanted = [keys.offer_unit_key(offer_id, customer_id) for offer_id in offer_ids]
        items = self._db.batch_get(wanted, plain=True)
        if items is None:
            raise RuntimeError("the customer's offer units could not all be read; retrying")
        by_pk = {item["pk"]: item for item in items}
        return {o: by_pk[keys.offer_unit_pk(o)] for o in offer_ids if keys.offer_unit_pk(o) in by_pk}

    def journey_units(self, customer_id: str, journey_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The customer's units of these journeys (journeys/ledger.py), by journey id: one BatchGetItem. RuntimeError
        when DynamoDB left some unread: the queue retries the event rather than count it wrongly."""
        wanted = [keys.journey_unit_key(journey_id, customer_id) for journey_id in journey_ids]
        items = self._db.batch_get(wanted, plain=True)
        if items is None:
            raise RuntimeError("the customer's journey units could not all be read; retrying")
        by_pk = {item["pk"]: item for item in items}
        return {j: by_pk[keys.journey_unit_pk(j)] for j in journey_ids if keys.journey_unit_pk(j) in by_pk}

    def journey_units_of(self, journey_id: str) -> Iterator[dict[str, Any]]:
        """Every unit of a journey (a customer who entered it, within the memory table's retention): one Query."""
        yield from self._db.iterate(keys.journey_unit_pk(journey_id))

    def offer_counters(self, first: date, last: date) -> Iterator[dict[str, Any]]:
        """The offers' decision counters of the days `first`..`last` (offers/ledger.py): one Query per month."""
        for start, end in keys.month_spans(first, last):
            yield from self._db.iterate(keys.month_pk(start, keys.OFFERS), between=keys.offer_counter_range(start, end))

    def offer_units_of(self, offer_id: str) -> Iterator[dict[str, Any]]:
        """Every unit of an offer (a customer exposed to it, within the audit trail's retention): one Query."""
        yield from self._db.iterate(keys.offer_unit_pk(offer_id))

    # the roll-up's write ------------------------------------------------------------------------------------------
    def commit(
        self,
        event_id: str,
        at: datetime,
        deltas: Deltas,
        operations: Sequence[Put | Delete | Update],
        lows: LowIndex | None = None,
        processed_at: datetime | None = None,
    ) -> bool:
        """The event's marker (a conditional put, so a redelivered event counts once), an ADD on each counter item
        of `deltas`, the day summaries' updates, and `operations`, in one transaction. False if the event was
        counted before.

        A day summary is updated when the event changes the day's low-score index (`lows`), or when the event is
        late (its day ended before `processed_at`): then the day's compacted counters are removed, in the same
        transaction as the counts they no longer include, and the next report compacts the day again. Either adds 1
        to the summary's `v`, so a report that read it before cannot write over the change."""
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
        lows = lows or {}
        for day in sorted({day for day, _, _ in deltas} | set(lows)):
            late = processed_at is not None and keys.is_over(day, processed_at)
            changes = lows.get(day, {})
            if not late and not changes:
                continue
            attribute_names = {"#v": keys.VERSION}
            values: dict[str, Any] = {":one": 1}
            sets, removes = [], []
            for i, (attribute, value) in enumerate(sorted(changes.items())):
                attribute_names[f"#l{i}"] = attribute
                if value is None:
                    removes.append(f"#l{i}")
                else:
                    sets.append(f"#l{i} = :l{i}")
                    values[f":l{i}"] = value
            if late:
                attribute_names["#c"] = keys.COMPACTED
                removes.append("#c")
            expression = " ".join(
                part
                for part in (
                    "SET " + ", ".join(sets) if sets else "",
                    "REMOVE " + ", ".join(removes) if removes else "",
                    "ADD #v :one",
                )
                if part
            )
            writes.append(Update(keys.day_key(day), expression, names=attribute_names, values=values))
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
        page of one Query (values as DynamoDB keeps them: Decimal), read consistently."""
        between = keys.day_range(keys.COUNTER, first, last)
        return self._db.iterate(keys.month_pk(first, kind), between=between, plain=False, consistent=True)

    def low_scores(self, first: date, last: date) -> Iterator[dict[str, Any]]:
        """The low-score entries of the days `first`..`last` of one month: every page of one Query."""
        between = keys.day_range(keys.LOW, first, last)
        return self._db.iterate(keys.month_pk(first, keys.LOWS), between=between, plain=False, consistent=True)

    def items(self, wanted: Sequence[Mapping[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
        """The items at `wanted` that exist, by (pk, sk), read consistently (Decimal values): one BatchGetItem per
        100 keys, asked again (with a growing pause) when DynamoDB leaves keys unread."""
        found: dict[tuple[str, str], dict[str, Any]] = {}
        for start in range(0, len(wanted), 100):
            chunk = wanted[start : start + 100]
            for attempt in range(6):
                items = self._db.batch_get(chunk, plain=False)
                if items is not None:
                    found |= {(item["pk"], item["sk"]): item for item in items}
                    break
                time.sleep(0.05 * 2**attempt)
            else:
                raise RuntimeError("DynamoDB left keys unread; try again")
        return found

    def save_day(
        self, day: date, read: Mapping[str, Any] | None, sets: Mapping[str, Any], removes: Sequence[str]
    ) -> bool:
        """Write a report's work on a day summary (its compacted counters, its rebuilt index, index entries whose
        low-score item is gone) if the summary's `v` is still the one read: False when a roll-up or an erasure
        changed it meanwhile (the report keeps what it read; the next one tries again)."""
        names: dict[str, str] = {"#v": keys.VERSION}
        values: dict[str, Any] = {}
        parts = []
        assignments = []
        for i, (attribute, value) in enumerate(sets.items()):
            names[f"#s{i}"] = attribute
            values[f":s{i}"] = value
            assignments.append(f"#s{i} = :s{i}")
        if assignments:
            parts.append("SET " + ", ".join(assignments))
        removals = []
        for i, attribute in enumerate(removes):
            names[f"#r{i}"] = attribute
            removals.append(f"#r{i}")
        if removals:
            parts.append("REMOVE " + ", ".join(removals))
        if not parts:
            return True
        version = (read or {}).get(keys.VERSION)
        if version is None:
            condition = "attribute_not_exists(#v)"
        else:
            condition, values[":v"] = "#v = :v", version
        try:
            self._db.update(keys.day_key(day), " ".join(parts), condition=condition, names=names, values=values)
        except ConditionFailed:
            return False
        return True

    def conversation_metrics(self, conversation_id: str) -> dict[str, dict[str, Any]]:
        """A conversation's attribution and latest scores, by sort key (the drill-down)."""
        items = self._db.query(keys.conversation_pk(conversation_id), keys.CONVERSATION_METRIC, plain=False)
        return {item["sk"]: item for item in items}
