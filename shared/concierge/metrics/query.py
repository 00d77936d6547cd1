"""Reading the KPIs of a date range from its day summaries (never a Scan), then the formulas (docs/metrics.md).

`GET /v1/metrics` validates its query string into `MetricsQuery` and answers a `MetricsReport` (JSON) or its CSV.
"""

from __future__ import annotations

import csv
import io
import json
import zlib
from collections import defaultdict
from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from concierge.metrics import formulas, keys
from concierge.metrics.formulas import CES_SCALE, CSAT_SCALE, NPS_SCALE, Mean, NetPromoter, Percentiles, Proportion
from concierge.metrics.store import MetricsStore
from concierge.platform.clock import now
from concierge.platform.errors import CONVERSATION_NOT_FOUND, NotFound

if TYPE_CHECKING:
    from concierge.memory.store import MemoryStore

MAX_DAYS = 366
GroupBy = Literal["day", "channel", "intent", "none"]


def check_range(first: date, last: date, max_days: int = MAX_DAYS) -> None:
    """A report's date range, as its query validators check it (a ValueError is a 400 saying what is wrong)."""
    if last < first:
        raise ValueError("'to' is before 'from'")
    if (last - first).days + 1 > max_days:
        raise ValueError(f"at most {max_days} days per request")


class MetricsQuery(BaseModel):
    """The query string of GET /v1/metrics."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: date = Field(alias="from", description="first day (UTC), inclusive")
    to: date = Field(description="last day (UTC), inclusive")
    channel: str | None = Field(None, min_length=1, max_length=64, description="web | email | whatsapp (default: all)")
    intent: str | None = Field(None, min_length=1, max_length=64, description="e.g. return, track (default: all)")
    group_by: GroupBy = Field("day", description="the series: one point per day, channel or intent (none: totals only)")
    format: Literal["json", "csv"] = "json"
    low_scores: int = Field(20, ge=0, le=100, description="how many of the lowest-scoring conversations to list")
    agent_minutes: float = Field(
        6.0, gt=0, le=240, description="average minutes a human agent spends on a conversation (for hours saved)"
    )

    @field_validator("channel", "intent")
    @classmethod
    def _no_wildcards(cls, value: str | None) -> str | None:
        if value is not None and ("#" in value or value == keys.ALL):
            raise ValueError("must be a channel or intent name")
        return value

    @model_validator(mode="after")
    def _range(self) -> MetricsQuery:
        check_range(self.from_, self.to)
        return self

    def days(self) -> list[date]:
        return [self.from_ + timedelta(days=i) for i in range((self.to - self.from_).days + 1)]


class Money(BaseModel):
    currency: str
    amount: Decimal


class Kpis(BaseModel):
    conversations: int = Field(description="conversations closed")
    ai_resolution: Proportion = Field(description="resolved without a human / conversations")
    handoff: Proportion = Field(description="handed to a human / conversations")
    repeat_contact: Proportion = Field(description="came back on the same issue within 7 days / conversations")
    workload_reduction: Proportion = Field(description="conversations no human had to take / conversations")
    agent_hours_saved: float = Field(description="conversations no human had to take × agent_minutes / 60")
    csat: Proportion = Field(description="CSAT%: share of 4–5 answers among CSAT survey answers")
    nps: NetPromoter
    ces: Mean = Field(description="mean of 1 (very difficult) – 7 (very easy)")
    auto_csat: Proportion = Field(description="share of conversations whose Auto-CSAT is 4–5")
    auto_csat_mean: Mean
    first_response_ms: Percentiles
    resolution_ms: Percentiles = Field(description="start to close of resolved conversations")
    reply_latency_ms: Percentiles = Field(description="time to answer each customer message")
    customer_messages: int
    replies: int
    model_cost_usd: Decimal
    fallback_replies: int = Field(description="replies the deterministic engine gave because the model failed")
    redemptions: int = Field(description="discount codes issued by the assistant and used on an order")
    revenue: list[Money] = Field(description="order totals (after discount) of those orders, per currency")
    leads: int = Field(0, description="business requests whose answers were checked by the merchant's rule")
    leads_qualified: Proportion = Field(description="leads the rule qualified / leads")


class SeriesPoint(BaseModel):
    key: str = Field(description="the day (YYYY-MM-DD), channel or intent")
    kpis: Kpis


class LowScore(BaseModel):
    day: date
    conversation_id: str
    score: int
    source: Literal["auto", "csat"] = Field(description="Auto-CSAT, or the customer's own CSAT answer")
    channel: str
    intent: str
    reasons: list[str] = Field(default_factory=list, description="the Auto-CSAT reasons, most important first")
    transcript: str = Field(description="path of the operator transcript route")


class MetricsReport(BaseModel):
    from_: date = Field(serialization_alias="from")
    to: date
    channel: str | None
    intent: str | None
    group_by: GroupBy
    totals: Kpis
    series: list[SeriesPoint]
    low_scores: list[LowScore]


Counters = Mapping[str, Decimal]


def _scores(counters: Counters, prefix: str, scale: range) -> dict[int, int]:
    return {s: int(counters.get(f"{prefix}_{s}", 0)) for s in scale if counters.get(f"{prefix}_{s}", 0)}


def _histogram(counters: Counters, prefix: str) -> dict[int, int]:
    found = {}
    for name, value in counters.items():
        if name.startswith(prefix + "_") and value:
            found[int(name[len(prefix) + 1 :])] = int(value)
    return found


def kpis(counters: Counters, agent_minutes: float = 6.0) -> Kpis:
    """Every KPI from summed counters (the attributes `rollup` ADDs)."""

    def get(name: str) -> int:
        return int(counters.get(name, 0))

    n, handed = get("conv"), get("hand")
    revenue = sorted(
        (name[4:], Decimal(value)) for name, value in counters.items() if name.startswith("rev_") and value
    )
    return Kpis(
        conversations=n,
        ai_resolution=formulas.wilson(get("res"), n),
        handoff=formulas.wilson(handed, n),
        repeat_contact=formulas.wilson(get("rep"), n),
        workload_reduction=formulas.wilson(n - handed, n),
        agent_hours_saved=round((n - handed) * agent_minutes / 60, 2),
        csat=formulas.csat(_scores(counters, "csat", CSAT_SCALE)),
        nps=formulas.nps(_scores(counters, "nps", NPS_SCALE)),
        ces=formulas.ces(_scores(counters, "ces", CES_SCALE)),
        auto_csat=formulas.csat(_scores(counters, "auto", CSAT_SCALE)),
        auto_csat_mean=formulas.mean_of(_scores(counters, "auto", CSAT_SCALE)),
        first_response_ms=formulas.percentiles(_histogram(counters, "fr")),
        resolution_ms=formulas.percentiles(_histogram(counters, "rt")),
        reply_latency_ms=formulas.percentiles(_histogram(counters, "lat")),
        customer_messages=get("msgs"),
        replies=get("turns"),
        model_cost_usd=Decimal(counters.get("cost", 0)),
        fallback_replies=get("fallback"),
        redemptions=get("redeemed"),
        revenue=[Money(currency=currency, amount=amount) for currency, amount in revenue],
        leads=get("leads"),
        leads_qualified=formulas.wilson(get("leads_q"), get("leads")),
    )


def _add(into: dict[str, Decimal], item: Mapping[str, Any]) -> None:
    for name, value in item.items():
        if name not in ("pk", "sk") and isinstance(value, Decimal | int):
            into[name] = into.get(name, Decimal(0)) + Decimal(value)


def _compact(items: list[Mapping[str, Any]]) -> bytes:
    """A day's counters, every kind of slice, from its channel × intent items (the other kinds are their sums)."""
    kinds: dict[str, dict[str, dict[str, Decimal]]] = {kind: defaultdict(dict) for kind in keys.KINDS}
    for item in items:
        _, channel, intent = keys.parse_counter(item["pk"], item["sk"])
        for kind, part in (
            (keys.TOTAL, ""),
            (keys.BY_CHANNEL, channel),
            (keys.BY_INTENT, intent),
            (keys.BY_BOTH, f"{channel}#{intent}"),
        ):
            _add(kinds[kind][part], item)
    plain = {
        kind: {part: {name: str(value) for name, value in counters.items()} for part, counters in parts.items()}
        for kind, parts in kinds.items()
    }
    return zlib.compress(json.dumps(plain, separators=(",", ":"), sort_keys=True).encode(), 6)


def _uncompact(blob: Any, kind: str) -> list[tuple[str, str, dict[str, Decimal]]]:
    """(channel, intent, counters) of each slice of `kind` in a day's compacted counters."""
    data = blob.value if hasattr(blob, "value") else bytes(blob)  # boto3's Binary
    parts: dict[str, dict[str, str]] = json.loads(zlib.decompress(data))[kind]
    out = []
    for part, counters in parts.items():
        channel, intent = keys.ALL, keys.ALL
        if kind == keys.BY_CHANNEL:
            channel = part
        elif kind == keys.BY_INTENT:
            intent = part
        elif kind == keys.BY_BOTH:
            channel, intent = part.split("#", 1)
        out.append((channel, intent, {name: Decimal(value) for name, value in counters.items()}))
    return out


def _contiguous(days: list[date]) -> list[tuple[date, date]]:
    """`days` (sorted) as key ranges: one per run of consecutive days within a month."""
    runs: list[tuple[date, date]] = []
    for day in days:
        if runs and runs[-1][1] + timedelta(days=1) == day and runs[-1][1].month == day.month:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


class _Low:
    """A low-score entry: from a day summary's index (its item not read yet) or from its item."""

    def __init__(self, day: date, score: int, source: str, conversation_id: str, channel: str, intent: str) -> None:
        self.day, self.score, self.source, self.conversation_id = day, score, source, conversation_id
        self.channel, self.intent = channel, intent
        self.item: Mapping[str, Any] | None = None

    def order(self) -> tuple[int, int, str, str]:
        return (self.score, -self.day.toordinal(), self.conversation_id, self.source)


class MetricsReader:
    """A report is one BatchGetItem of its days' summaries (and of the day totals of the days not yet compacted, when
    the report reads day totals), then one more of the low-score entries it lists. A day that is over and not yet
    compacted, or whose summary was invalidated by a late event, is compacted here: one Query of the channel ×
    intent counters per run of such days, and one of their low scores when the day's index is not complete, then a
    conditional write per day. Days not over yet (today) read their counters live: the day totals by key, other kinds
    by one Query."""

    def __init__(self, memory: MemoryStore) -> None:
        self._store = MetricsStore(memory)

    def report(self, query: MetricsQuery) -> MetricsReport:
        at = now()
        # One kind of counter answers each request: the day totals, unless a filter or the grouping needs a channel's
        # or an intent's slices (a kind's slices add up to the totals, so the totals come from the same items).
        by_channel = query.channel is not None or query.group_by == "channel"
        by_intent = query.intent is not None or query.group_by == "intent"
        kind = keys.kind_of(by_channel, by_intent)
        days = query.days()
        live = [day for day in days if not keys.compactable(day, at)]
        wanted = [keys.day_key(day) for day in days]
        if kind == keys.TOTAL:
            wanted += [keys.counter_key(day, keys.ALL, keys.ALL) for day in live]
        found = self._store.items(wanted)
        summaries = {day: found.get((key["pk"], key["sk"])) for day, key in zip(days, wanted, strict=False)}

        slices: dict[date, list[tuple[str, str, dict[str, Decimal]]]] = {}
        to_compact = [day for day in days if keys.compactable(day, at) and keys.COMPACTED not in (summaries[day] or {})]
        to_index = [day for day in days if keys.INDEXED not in (summaries[day] or {})] if query.low_scores else []
        # Days over, not compacted: their channel × intent counters, compacted, give every kind.
        compacted: dict[date, bytes] = {}
        if to_compact:
            by_day: dict[date, list[Mapping[str, Any]]] = defaultdict(list)
            for first, last in _contiguous(to_compact):
                for item in self._store.counters(keys.BY_BOTH, first, last):
                    by_day[keys.parse_counter(item["pk"], item["sk"])[0]].append(item)
            for day in to_compact:
                compacted[day] = _compact(by_day[day])
                slices[day] = _uncompact(compacted[day], kind)
        # Days not over (today): live counters, by key for the day totals, else one Query per run of days.
        if kind == keys.TOTAL:
            for day in live:
                total = keys.counter_key(day, keys.ALL, keys.ALL)
                live_total = found.get((total["pk"], total["sk"]))
                slices[day] = [(keys.ALL, keys.ALL, _counters(live_total))] if live_total else []
        else:
            for first, last in _contiguous(live):
                for item in self._store.counters(kind, first, last):
                    day, channel, intent = keys.parse_counter(item["pk"], item["sk"])
                    slices.setdefault(day, []).append((channel, intent, _counters(item)))
        for day in days:
            summary = summaries[day]
            if day not in slices:
                slices[day] = _uncompact(summary[keys.COMPACTED], kind) if summary and keys.COMPACTED in summary else []

        # The low-score index: from the summaries, rebuilt from the entries where it is not complete.
        lows: list[_Low] = []
        rebuilt: dict[date, dict[str, list[str]]] = {}
        if to_index:
            entries: dict[date, list[Mapping[str, Any]]] = defaultdict(list)
            for first, last in _contiguous(to_index):
                for item in self._store.low_scores(first, last):
                    entries[keys.low_day(item["sk"])].append(item)
            for day in to_index:
                rebuilt[day] = {}
                for entry in entries[day]:
                    item = dict(entry)
                    low = _Low(day, int(item["score"]), item["source"], item["conversation_id"], "", "")
                    low.channel, low.intent = item["channel"], item["intent"]
                    low.item = item
                    lows.append(low)
                    attribute = keys.low_attribute(low.score, low.source, low.conversation_id)
                    rebuilt[day][attribute] = [low.channel, low.intent]
        if query.low_scores:
            for day in days:
                if day in rebuilt or not summaries[day]:
                    continue
                for name, value in summaries[day].items():  # type: ignore[union-attr]
                    if name.startswith(keys.LOW_INDEX):
                        score, source, conversation_id = keys.parse_low_attribute(name)
                        lows.append(_Low(day, score, source, conversation_id, str(value[0]), str(value[1])))

        # What this report learnt, written back to each day summary it read, if no one changed it since.
        for day in sorted(set(compacted) | set(rebuilt)):
            sets: dict[str, Any] = {}
            if day in compacted:
                sets[keys.COMPACTED] = compacted[day]
            if day in rebuilt:
                sets |= rebuilt[day]
                sets[keys.INDEXED] = 1
            self._store.save_day(day, summaries[day], sets, ())

        totals: dict[str, Decimal] = {}
        groups: dict[str, dict[str, Decimal]] = defaultdict(dict)
        for day in days:
            for channel, intent, counters in slices[day]:
                if query.channel not in (None, channel) or query.intent not in (None, intent):
                    continue
                _add(totals, counters)
                group = {"day": day.isoformat(), "channel": channel, "intent": intent}.get(query.group_by)
                if group is not None:
                    _add(groups[group], counters)
        if query.group_by == "day":  # every day of the range, including quiet ones, so charts have no gaps
            for day in days:
                groups.setdefault(day.isoformat(), {})
        return MetricsReport(
            from_=query.from_,
            to=query.to,
            channel=query.channel,
            intent=query.intent,
            group_by=query.group_by,
            totals=kpis(totals, query.agent_minutes),
            series=[SeriesPoint(key=key, kpis=kpis(groups[key], query.agent_minutes)) for key in sorted(groups)],
            low_scores=self._lowest(query, lows, summaries),
        )

    def _lowest(
        self, query: MetricsQuery, lows: list[_Low], summaries: Mapping[date, Mapping[str, Any] | None]
    ) -> list[LowScore]:
        """The `low_scores` lowest entries, lowest first then newest, read from their items (which hold the reasons);
        an indexed entry whose item is gone (its conversation erased) is left out and removed from its day's index."""
        candidates = sorted(
            (low for low in lows if query.channel in (None, low.channel) and query.intent in (None, low.intent)),
            key=_Low.order,
        )
        chosen: list[_Low] = []
        gone: dict[date, list[str]] = defaultdict(list)
        while candidates and len(chosen) < query.low_scores:
            wanted = query.low_scores - len(chosen)
            batch, candidates = candidates[:wanted], candidates[wanted:]
            unread = [low for low in batch if low.item is None]
            found = self._store.items(
                [keys.low_key(low.day, low.score, low.conversation_id, low.source) for low in unread]
            )
            for low in batch:
                if low.item is None:
                    key = keys.low_key(low.day, low.score, low.conversation_id, low.source)
                    low.item = found.get((key["pk"], key["sk"]))
                    if low.item is None:
                        gone[low.day].append(keys.low_attribute(low.score, low.source, low.conversation_id))
                        continue
                chosen.append(low)
        for day, attributes in gone.items():
            self._store.save_day(day, summaries.get(day), {}, attributes)
        return [
            LowScore(
                day=low.day,
                conversation_id=low.conversation_id,
                score=low.score,
                source=low.source,  # type: ignore[arg-type]
                channel=str(item["channel"]),
                intent=str(item["intent"]),
                reasons=list(item.get("reasons", [])),
                transcript=f"/v1/conversations/{low.conversation_id}/transcript",
            )
            for low in chosen
            if (item := low.item) is not None
        ]


def _counters(item: Mapping[str, Any]) -> dict[str, Decimal]:
    counters: dict[str, Decimal] = {}
    _add(counters, item)
    return counters


# --- CSV --------------------------------------------------------------------------------------------------------------
def _row(key: str, k: Kpis) -> dict[str, object]:
    row: dict[str, object] = {"key": key, "conversations": k.conversations}
    for name in ("ai_resolution", "handoff", "repeat_contact", "workload_reduction", "csat", "auto_csat"):
        share: Proportion = getattr(k, name)
        row |= {name: share.value, f"{name}_low": share.low, f"{name}_high": share.high, f"{name}_n": share.n}
    row |= {
        "agent_hours_saved": k.agent_hours_saved,
        "nps": k.nps.value,
        "nps_low": k.nps.low,
        "nps_high": k.nps.high,
        "nps_n": k.nps.n,
        "ces": k.ces.value,
        "ces_low": k.ces.low,
        "ces_high": k.ces.high,
        "ces_n": k.ces.n,
    }
    for name in ("first_response_ms", "resolution_ms", "reply_latency_ms"):
        p: Percentiles = getattr(k, name)
        row |= {f"{name}_p50": p.p50, f"{name}_p90": p.p90, f"{name}_n": p.n}
    row |= {
        "model_cost_usd": k.model_cost_usd,
        "redemptions": k.redemptions,
        "revenue": " ".join(f"{m.amount} {m.currency}" for m in k.revenue),
        "leads": k.leads,
        "leads_qualified": k.leads_qualified.value,
        "leads_qualified_low": k.leads_qualified.low,
        "leads_qualified_high": k.leads_qualified.high,
    }
    return row


def to_csv(report: MetricsReport) -> str:
    """One row per series point, then a `total` row; intervals as _low/_high columns, sample sizes as _n."""
    rows = [_row(point.key, point.kpis) for point in report.series] + [_row("total", report.totals)]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {
                name: "" if value is None else (round(value, 6) if isinstance(value, float) else value)
                for name, value in row.items()
            }
        )
    return out.getvalue()


# --- drill-down -------------------------------------------------------------------------------------------------------
class ScoreOut(BaseModel):
    score: int
    reasons: list[str] = Field(default_factory=list)


class TranscriptOut(BaseModel):
    conversation_id: str
    customer_id: str | None
    channel: str | None
    intent: str | None = Field(description="the conversation's issue, as the KPIs count it")
    day: date | None = Field(description="the day its KPIs count on (its close, UTC)")
    status: str | None
    messages: list[dict[str, str]] = Field(description="role, text, channel, at — in order")
    auto_csat: ScoreOut | None
    surveys: dict[str, int] = Field(description="the customer's latest answer per survey (csat, nps, ces)")
    note: str | None = Field(
        default=None, description="why there are no messages (a seeded conversation, or erased or expired), if none"
    )


SEEDED_NOTE = (
    "A seeded conversation of the demo month (concierge demo-month): its KPIs, Auto-CSAT score and survey answers "
    "are simulated, and it never had messages, so there is no transcript to show."
)


def transcript(conversation_id: str, memory: MemoryStore) -> TranscriptOut:
    """A conversation for the dashboard's drill-down; NotFound when nothing is held about it."""
    record = memory.get_conversation(conversation_id)
    metric = MetricsStore(memory).conversation_metrics(conversation_id)
    meta = metric.get(keys.META_SK)
    if record is None and meta is None:
        raise NotFound(CONVERSATION_NOT_FOUND)
    stored = memory.get_score(conversation_id, "auto")
    auto = metric.get(keys.score_sk("auto"))
    if stored is not None:
        auto_out = ScoreOut(
            score=int(stored["score"]),
            reasons=[r["detail"] if isinstance(r, dict) else str(r) for r in stored.get("reasons", [])],
        )
    elif auto is not None:
        auto_out = ScoreOut(score=int(auto["score"]), reasons=list(auto.get("reasons", [])))
    else:
        auto_out = None
    messages = memory.transcript(conversation_id) if record else []
    note = None
    if not messages:
        note = (
            SEEDED_NOTE
            if record is None and keys.is_seeded(conversation_id)
            else "No messages are held for this conversation: erased, or expired."
        )
    return TranscriptOut(
        conversation_id=conversation_id,
        customer_id=record.customer_id if record else None,
        channel=(meta or {}).get("channel") or (record.channel.value if record else None),
        intent=(meta or {}).get("intent"),
        day=date.fromisoformat(meta["day"]) if meta else None,
        status=record.status.value if record else None,
        messages=messages,
        auto_csat=auto_out,
        surveys={
            kind: int(metric[keys.score_sk(kind)]["score"])
            for kind in ("csat", "nps", "ces")
            if keys.score_sk(kind) in metric
        },
        note=note,
    )
