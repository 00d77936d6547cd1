"""The roll-up: one event in, a constant number of DynamoDB requests out (docs/metrics.md, Roll-up).

Each event is applied in one TransactWriteItems: a conditional put of the event's marker (so a redelivered
EventBridge event is counted once), ADDs on the four counter items of its day × channel × intent slice (see
`keys.slices`), and the small records that later events need. Before the transaction at most one bounded read:
the customer's last contact on the issue (`conversation.closed`, for repeat contacts) or the conversation's
attribution and latest scores (surveys, Auto-CSAT, redemptions: one BatchGetItem of at most three keys).

When the event changes a day's low-score list, or is late (its day is over), the day's summary is updated in the same
transaction (`MetricsStore.commit`): a late event removes the day's compacted counters, which the next report rebuilds.

Surveys and Auto-CSAT count on their conversation's close day, channel and intent, and keep the latest value per
conversation and kind: a replaced answer moves one count from the old score to the new, and an answer older than the
one counted changes nothing. Revenue counts on the day the code was redeemed, and a lead (`lead.qualified`) on the day
it was qualified, in its channel's `lead` slice.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel

from concierge.memory.storage import Delete, Put, Update
from concierge.metrics import keys
from concierge.metrics.formulas import bucket_of
from concierge.metrics.store import MetricsStore
from concierge.platform.clock import now
from concierge.platform.events import (
    AutoCsatScored,
    ConversationClosed,
    DiscountRedeemed,
    DomainEvent,
    LeadQualified,
    OrderPlaced,
    SurveyAnswered,
    TurnCompleted,
)

if TYPE_CHECKING:
    from concierge.memory.store import MemoryStore

CONSUMED: tuple[type[DomainEvent], ...] = (
    ConversationClosed,
    TurnCompleted,
    SurveyAnswered,
    AutoCsatScored,
    DiscountRedeemed,
    OrderPlaced,
    LeadQualified,
)
_MODELS: dict[str, type[DomainEvent]] = {cls.detail_type: cls for cls in CONSUMED}
DETAIL_TYPES: tuple[str, ...] = tuple(_MODELS)
# Intents that say nothing about what the conversation was about.
NOT_AN_ISSUE = frozenset({"unknown", "greeting", "goodbye", "thanks", "affirm", "deny", "human", "other"})
# The slice a business request's qualification counts in (docs/leads.md): leads have their own row by intent, where
# conversations stay under their own intents.
LEAD_INTENT = "lead"
LOW_SCORE = 2  # Auto-CSAT and CSAT answers at or below this join the day's low-score list
LOW_SOURCES = ("auto", "csat")

Outcome = Literal["counted", "duplicate", "stale"]


class NotYetAttributed(RuntimeError):
    """A survey or Auto-CSAT arrived before its conversation's `conversation.closed`: retried by the queue."""


class Applied(BaseModel):
    outcome: Outcome
    detail_type: str
    requests: int  # DynamoDB requests made for this event (constant per detail type)


def primary_intent(intents: list[str]) -> str:
    """What the conversation was about: its first substantive intent ('human' when a person was all they asked for)."""
    for intent in intents:
        if intent not in NOT_AN_ISSUE:
            return intent
    return "human" if "human" in intents else "other"


def _utc_day(at: datetime) -> date:
    return (at if at.tzinfo is None else at.astimezone(UTC)).date()


def _epoch(at: datetime, days: int) -> int:
    return int((at + timedelta(days=days)).timestamp())


class _Plan:
    """What one event changes: counter deltas per (day, channel, intent) and writes of the roll-up's other records."""

    def __init__(self) -> None:
        self.deltas: dict[tuple[date, str, str], dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
        self.items: list[Put | Delete | Update] = []
        self.lows: dict[date, dict[str, list[str] | None]] = defaultdict(dict)  # the day summaries' index changes

    def add(self, day: date, channel: str, intent: str, **counts: Decimal | int) -> None:
        for slice_ in keys.slices(channel, intent):
            for name, value in counts.items():
                self.deltas[(day, *slice_)][name] += Decimal(value)


class Rollup:
    """Decides what each event changes; its records are read and written by `MetricsStore` (metrics/store.py)."""

    def __init__(self, memory: MemoryStore) -> None:
        self._store = MetricsStore(memory)

    # entry point ---------------------------------------------------------------------------------------------------
    def apply(self, envelope: dict[str, Any]) -> Applied:
        """`envelope` is the EventBridge event as SQS delivers it (its `id` makes the apply idempotent)."""
        detail_type = envelope.get("detail-type")
        if not isinstance(detail_type, str) or (model := _MODELS.get(detail_type)) is None:
            raise ValueError(f"the roll-up does not consume {detail_type!r}")
        event = model.model_validate(envelope["detail"])
        plan, reads, marker = _Plan(), 0, envelope["id"]
        if isinstance(event, ConversationClosed):
            reads = self._closed(event, plan)
        elif isinstance(event, TurnCompleted):
            self._turn(event, plan)
        elif isinstance(event, SurveyAnswered | AutoCsatScored):
            reads = 1
            if not self._score(event, plan):
                return Applied(outcome="stale", detail_type=detail_type, requests=reads)
        elif isinstance(event, LeadQualified):
            counts = {"leads": 1, "leads_q": 1} if event.qualified else {"leads": 1}
            plan.add(_utc_day(event.occurred_at), event.channel, LEAD_INTENT, **counts)
        elif isinstance(event, OrderPlaced):
            reads = self._ordered(event, plan)
            marker = f"order.placed#{keys.opaque(event.customer_id)}#{event.order_id}"  # one count per order
        else:
            assert isinstance(event, DiscountRedeemed)  # the last of CONSUMED
            reads = 1
            self._redeemed(event, plan)
        counted = self._commit(marker, event.occurred_at, plan)
        return Applied(
            outcome="counted" if counted else "duplicate", detail_type=detail_type, requests=reads + 1 + (not counted)
        )

    # one method per event ----------------------------------------------------------------------------------------
    def _closed(self, event: ConversationClosed, plan: _Plan) -> int:
        day, intent = _utc_day(event.occurred_at), primary_intent(event.intents)
        counts: dict[str, int] = {
            "conv": 1,
            {"resolved": "res", "handed_off": "hand", "unresolved": "unres"}[event.resolution]: 1,
            "msgs": event.turns,
        }
        if event.turns:
            counts[f"fr_{bucket_of(event.first_response_ms)}"] = 1
        if event.resolution == "resolved":
            duration_ms = max(0.0, (event.occurred_at - event.started_at).total_seconds() * 1000)
            counts[f"rt_{bucket_of(duration_ms)}"] = 1
        reads = 0
        if intent not in NOT_AN_ISSUE:
            reads = 1
            marker = self._store.repeat_marker(event.customer_id, intent)
            last_at = datetime.fromisoformat(marker["last_at"]) if marker else None
            if (
                marker is not None  # there is a marker
                and last_at is not None
                and marker["conversation"] != keys.opaque(event.conversation_id)
                and last_at <= event.started_at
                and event.started_at - last_at <= timedelta(days=keys.REPEAT_WINDOW_DAYS)
            ):
                counts["rep"] = 1
            if last_at is None or last_at < event.occurred_at:  # an older conversation delivered late moves nothing
                plan.items.append(
                    Put(
                        {
                            "pk": keys.repeat_pk(event.customer_id),
                            "sk": intent,
                            "last_at": event.occurred_at.isoformat(),
                            "conversation": keys.opaque(event.conversation_id),
                            "expires_at": _epoch(event.occurred_at, keys.REPEAT_WINDOW_DAYS + 1),
                        }
                    )
                )
        plan.add(day, event.channel, intent, **counts)
        plan.items.append(
            Put(
                {
                    "pk": keys.conversation_pk(event.conversation_id),
                    "sk": keys.META_SK,
                    "day": day.isoformat(),
                    "channel": event.channel,
                    "intent": intent,
                    "expires_at": _epoch(event.occurred_at, keys.CONVERSATION_DAYS),
                }
            )
        )
        return reads

    def _turn(self, event: TurnCompleted, plan: _Plan) -> None:
        counts: dict[str, Decimal | int] = {"turns": 1, f"lat_{bucket_of(event.latency_ms)}": 1}
        if event.cost_usd:
            counts["cost"] = Decimal(str(event.cost_usd))
        if event.engine == "deterministic-fallback":
            counts["fallback"] = 1
        plan.add(
            _utc_day(event.occurred_at),
            event.channel,
            event.intent if event.intent not in ("", None) else "unknown",
            **counts,
        )
        if event.journey:  # the answer to a journey's message: its reply (journeys/ledger.py)
            from concierge.journeys import ledger as journeys

            plan.items.append(journeys.replied_update(event.journey, event.customer_id, event.occurred_at))

    def _score(self, event: SurveyAnswered | AutoCsatScored, plan: _Plan) -> bool:
        kind = event.survey if isinstance(event, SurveyAnswered) else "auto"
        records = self._store.conversation(event.conversation_id, kind, "auto")
        meta = records.get(keys.META_SK)
        if meta is None:
            raise NotYetAttributed(f"conversation {event.conversation_id} is not rolled up yet")
        at = event.occurred_at
        previous = records.get(keys.score_sk(kind))
        if previous is not None and datetime.fromisoformat(previous["at"]) >= at:
            return False  # the latest answer is already counted
        # A score is about its conversation: it counts on the conversation's day, channel and intent.
        day, channel, intent = date.fromisoformat(meta["day"]), meta["channel"], meta["intent"]
        plan.add(day, channel, intent, **{f"{kind}_{event.score}": 1})
        if previous is not None:
            plan.add(
                date.fromisoformat(previous["day"]),
                previous["channel"],
                previous["intent"],
                **{f"{kind}_{int(previous['score'])}": -1},
            )
            previous_day = date.fromisoformat(previous["day"])
            old_low = keys.low_key(previous_day, int(previous["score"]), event.conversation_id, kind)
            new_low = keys.low_key(day, event.score, event.conversation_id, kind)
            # One transaction may not touch an item twice: a low entry that stays at the same key is just overwritten.
            if (
                kind in LOW_SOURCES
                and int(previous["score"]) <= LOW_SCORE
                and not (event.score <= LOW_SCORE and old_low == new_low)
            ):
                plan.items.append(Delete(old_low))
                plan.lows[previous_day][keys.low_attribute(int(previous["score"]), kind, event.conversation_id)] = None
        reasons = (
            list(event.reasons)
            if isinstance(event, AutoCsatScored)
            else list((records.get(keys.score_sk("auto")) or {}).get("reasons", []))
        )
        record = {
            "pk": keys.conversation_pk(event.conversation_id),
            "sk": keys.score_sk(kind),
            "score": event.score,
            "at": at.isoformat(),
            "day": day.isoformat(),
            "channel": channel,
            "intent": intent,
            "expires_at": _epoch(at, keys.CONVERSATION_DAYS),
        }
        if reasons:
            record["reasons"] = reasons[:5]
        low_entry = kind in LOW_SOURCES and event.score <= LOW_SCORE
        if low_entry:
            # Erasing the conversation's partition follows this pointer to the entry in the month's low-score list.
            # The day summary goes too: it indexes the entry, and the next report rebuilds it from what is left.
            low_key, summary = keys.low_key(day, event.score, event.conversation_id, kind), keys.day_key(day)
            record["erase_also"] = [[low_key["pk"], low_key["sk"]], [summary["pk"], summary["sk"]]]
        # Optimistic: the record must still be the one read, so two answers processed at once cannot both move counts.
        if previous is None:
            plan.items.append(Put(record, condition="attribute_not_exists(pk)"))
        else:
            seen = {":seen": previous["at"]}
            plan.items.append(Put(record, condition="#at = :seen", names={"#at": "at"}, values=seen))
        if low_entry:
            low = {
                **keys.low_key(day, event.score, event.conversation_id, kind),
                "conversation_id": event.conversation_id,
                "score": event.score,
                "source": kind,
                "at": at.isoformat(),
                "channel": channel,
                "intent": intent,
            }
            if reasons:
                low["reasons"] = reasons[:5]
            plan.items.append(Put(low))
            plan.lows[day][keys.low_attribute(event.score, kind, event.conversation_id)] = [channel, intent]
        return True

    def _redeemed(self, event: DiscountRedeemed, plan: _Plan) -> None:
        meta = self._store.conversation(event.conversation_id).get(keys.META_SK) or {}
        counts: dict[str, Decimal | int] = {"redeemed": 1, f"rev_{event.currency.upper()[:3]}": event.order_total}
        # A code redeemed after its conversation's attribution expired still counts, in the day's totals.
        plan.add(_utc_day(event.occurred_at), meta.get("channel", "unknown"), meta.get("intent", "other"), **counts)
        if event.offer_id:  # an offer's code: its unit in the offers' report (offers/ledger.py)
            from concierge.offers import ledger

            plan.items.append(
                ledger.redeemed_update(event.offer_id, event.customer_id, event.order_total, event.currency)
            )

    def _ordered(self, event: OrderPlaced, plan: _Plan) -> int:
        """An order counts for each offer the customer was exposed to (offers/ledger.py): one Query of their exposures
        in the retention window, one BatchGetItem of those offers' units. Returns the reads made."""
        from concierge.journeys import ledger as journeys
        from concierge.journeys.definitions import SHIPPED
        from concierge.offers import ledger

        converting = sorted(j for j, d in SHIPPED.items() if d.converts_on in ("order", "activity"))
        entered = self._store.journey_units(event.customer_id, converting)  # the journeys' conversions
        plan.items += journeys.order_updates(
            entered,
            customer_id=event.customer_id,
            placed_at=event.occurred_at,
            total=event.order_total,
            currency=event.currency,
        )
        since = event.occurred_at - timedelta(days=ledger.RETENTION_DAYS)
        exposures = self._store.offer_exposures(event.customer_id, since)
        if not exposures:
            return 2
        units = self._store.offer_units(event.customer_id, sorted({e.offer_id for e in exposures}))
        plan.items += ledger.order_updates(
            exposures,
            units,
            customer_id=event.customer_id,
            placed_at=event.occurred_at,
            total=event.order_total,
            currency=event.currency,
        )
        return 3

    # the one write -------------------------------------------------------------------------------------------------
    def _commit(self, event_id: str, at: datetime, plan: _Plan) -> bool:
        return self._store.commit(event_id, at, plan.deltas, plan.items, plan.lows, now())
