"""Where the roll-up keeps its items, in the memory table (docs/metrics.md, Storage):

- counters of a day and slice ........... pk=METRIC#<month>#T   sk=C#<day>                     (the day's total)
                                          pk=METRIC#<month>#CH  sk=C#<day>#<channel>           (a channel's total)
                                          pk=METRIC#<month>#IN  sk=C#<day>#<intent>            (an intent's total)
                                          pk=METRIC#<month>#X   sk=C#<day>#<channel>#<intent>  never expire
- a low score ........................... pk=METRIC#<month>#L   sk=L#<day>#<score>#<conversation id>#<source>
- a day's summary ....................... pk=METRIC#<month>#D   sk=D#<day>   the day's low-score index (an attribute
                                          `l#<score>#<source>#<conversation id>` per entry, [channel, intent]; `ix`
                                          once complete), its counters compacted once the day is over (`c`), and `v`,
                                          which every roll-up write on it adds to (compaction writes only if unchanged)
- an event already counted .............. pk=METRIC#EVENT#<EventBridge id>  sk=SEEN           (TTL 14 days)
- a conversation's attribution .......... pk=CONV#<id>  sk=METRIC#META    (day, channel, intent; TTL 60 days)
- the latest score counted per kind ..... pk=CONV#<id>  sk=METRIC#SCORE#<csat|nps|ces|auto>   (TTL 60 days; its
                                          `erase_also` names its low-score entry, which erasure deletes too)
- a customer's last contact on an issue . pk=METRIC#REPEAT#<hash of customer id>  sk=<intent> (TTL 8 days)
- an offer's decisions of a day, by ...... pk=METRIC#<month>#O   sk=O#<day>#<offer id>#<channel>#<locale>   (counts per
  segment (outcome parity)                outcome, per refusal reason, presented: never expire; no customer in them)
- a customer exposed to an offer ........ pk=METRIC#OFFER#<offer id>  sk=<hash of customer id>   (docs/offers.md,
  (the unit of its lift)                  "Measuring"): group, first and last exposure, channel, locale, presented,
                                          accepted, redeemed, orders and revenue attributed; expires with the audit
                                          entries that name it (`erase_also`), which erasure follows
- a customer who entered a journey ...... pk=METRIC#JOURNEY#<journey id>  sk=<hash of customer id>   (docs/journeys.md,
  (the unit of its holdout comparison)    "Measuring"): group, first and last entry, the runs messaged and held out,
                                          replied, converted, orders and revenue; the customer's partition holds a
                                          marker that names it (`erase_also`), which erasure follows

The conversation's items live in its own partition, so erasing the conversation erases them. Each kind of counter
slice has a partition per month, and the low scores another, days leading the sort keys: a report reads one key range
per month it spans, of exactly the slices it needs (the day totals for the dashboard's series: 30 items for 30 days).
An event's four counter updates go to four partitions.

A report reads the day summaries of its range in one BatchGetItem (docs/metrics.md, Reading a range): a day that is
over is read from its summary, compacted from the counters at the first read after it ended (`COMPACT_AFTER`); a late
event for a day that is over removes the day's compacted counters in its own transaction (the next read compacts the
day again). The counter items stay the record; the summaries are derived from them and can always be rebuilt.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, date, datetime, timedelta

from concierge.memory.keys import (
    conversation_pk as conversation_pk,  # metric records live in the conversation's partition
)

ALL = "*"
COUNTER = "C#"
LOW = "L#"
EVENT_MARKER_DAYS = 14  # SQS keeps a message at most 14 days: no redelivery can come later
CONVERSATION_DAYS = 60  # surveys are answered within days, discount codes redeemed within their validity
REPEAT_WINDOW_DAYS = 7


def _clean(value: str) -> str:
    return (value or "unknown").replace("#", "_")[:64]


def month_pk(day: date, kind: str) -> str:
    """The partition of a month's counters of one kind of slice, or of its low scores (`LOWS`)."""
    return f"METRIC#{day:%Y-%m}#{kind}"


def month_spans(first: date, last: date) -> list[tuple[date, date]]:
    """The range `first`..`last` cut at month ends: one (first, last) pair per month partition it touches."""
    spans, start = [], first
    while start <= last:
        next_month = (start.replace(day=1) + timedelta(days=32)).replace(day=1)
        spans.append((start, min(last, next_month - timedelta(days=1))))
        start = next_month
    return spans


TOTAL, BY_CHANNEL, BY_INTENT, BY_BOTH = "T", "CH", "IN", "X"  # the kinds of counter slice
KINDS = (TOTAL, BY_CHANNEL, BY_INTENT, BY_BOTH)
LOWS = "L"
DAYS = "D"  # the day summaries
DAY = "D#"
LOW_INDEX = "l#"  # the prefix of a day summary's low-score index attributes
COMPACTED, INDEXED, VERSION = "c", "ix", "v"  # a day summary's compacted counters, complete index, write count
# A day is compacted at the first read at least this long after it ended. The roll-up treats an event as late (and
# removes the compacted counters of its day) when its day ended before the event is processed; an event processed
# before midnight commits within the surveys function's timeout (minutes), well inside this margin.
COMPACT_AFTER = timedelta(hours=1)


def kind_of(by_channel: bool, by_intent: bool) -> str:
    """The kind of counter whose slices are per channel, per intent, both or neither."""
    return {(False, False): TOTAL, (True, False): BY_CHANNEL, (False, True): BY_INTENT}.get(
        (by_channel, by_intent), BY_BOTH
    )


def slice_kind(channel: str, intent: str) -> str:
    """Which kind of counter holds the slice (`ALL` for every channel or every intent)."""
    return kind_of(channel != ALL, intent != ALL)


def counter_key(day: date, channel: str, intent: str) -> dict[str, str]:
    named = [_clean(value) for value in (channel, intent) if value != ALL]
    return {"pk": month_pk(day, slice_kind(channel, intent)), "sk": "#".join([f"{COUNTER}{day.isoformat()}", *named])}


def parse_counter(pk: str, sk: str) -> tuple[date, str, str]:
    """(day, channel, intent) of a counter item, `ALL` for a total."""
    kind = pk.rsplit("#", 1)[1]
    _, day, *named = sk.split("#", 3)
    channel = named[0] if kind in (BY_CHANNEL, BY_BOTH) else ALL
    intent = named[-1] if kind in (BY_INTENT, BY_BOTH) else ALL
    return date.fromisoformat(day), channel, intent


def low_key(day: date, score: int, conversation_id: str, source: str) -> dict[str, str]:
    return {"pk": month_pk(day, LOWS), "sk": f"{LOW}{day.isoformat()}#{score}#{conversation_id}#{source}"}


def day_key(day: date) -> dict[str, str]:
    """The day's summary (its low-score index, and its counters compacted once it is over)."""
    return {"pk": month_pk(day, DAYS), "sk": f"{DAY}{day.isoformat()}"}


def low_attribute(score: int, source: str, conversation_id: str) -> str:
    """The name of a low-score entry's attribute in its day summary's index."""
    return f"{LOW_INDEX}{score}#{source}#{conversation_id}"


def parse_low_attribute(name: str) -> tuple[int, str, str]:
    """(score, source, conversation id) of a low-score index attribute."""
    _, score, source, conversation_id = name.split("#", 3)
    return int(score), source, conversation_id


def utc_day(at: datetime) -> date:
    return (at if at.tzinfo is None else at.astimezone(UTC)).date()


def is_over(day: date, at: datetime) -> bool:
    """The day ended before `at`: an event for it processed at `at` is late."""
    return day < utc_day(at)


def compactable(day: date, at: datetime) -> bool:
    """The day ended at least `COMPACT_AFTER` before `at`: its counters may be compacted into its summary."""
    return day < utc_day(at - COMPACT_AFTER)


def low_day(sk: str) -> date:
    return date.fromisoformat(sk.split("#", 2)[1])


def day_range(prefix: str, first: date, last: date) -> tuple[str, str]:
    """The sort keys of the days `first`..`last` of one month, in a partition whose keys start `prefix` and a day."""
    return f"{prefix}{first.isoformat()}", f"{prefix}{last.isoformat()}#~"


SEEN_SK = "SEEN"  # an event already counted


def event_pk(event_id: str) -> str:
    return f"METRIC#EVENT#{event_id}"


CONVERSATION_METRIC = "METRIC#"  # the prefix of the metric items in a conversation's partition
META_SK = f"{CONVERSATION_METRIC}META"


def score_sk(kind: str) -> str:
    return f"{CONVERSATION_METRIC}SCORE#{kind}"


def opaque(identifier: str) -> str:
    """A one-way hash: the repeat marker needs to recognize a customer or a conversation, not to name them (it is
    not in their partitions, so erasure does not reach it; it expires within 8 days)."""
    return hashlib.sha256(identifier.encode()).hexdigest()[:32]


def repeat_pk(customer_id: str) -> str:
    return f"METRIC#REPEAT#{opaque(customer_id)}"


OFFERS = "O"  # the month partition of the offers' decision counters


def offer_counter_key(day: date, offer_id: str, channel: str, locale: str) -> dict[str, str]:
    return {
        "pk": month_pk(day, OFFERS),
        "sk": f"O#{day.isoformat()}#{_clean(offer_id)}#{_clean(channel)}#{_clean(locale)}",
    }


def offer_counter_range(first: date, last: date) -> tuple[str, str]:
    """The sort keys of the offers' counters of the days `first`..`last` of one month."""
    return day_range("O#", first, last)


def parse_offer_counter(sk: str) -> tuple[date, str, str, str]:
    """(day, offer id, channel, locale) of an offer counter's sort key."""
    _, day, offer_id, channel, locale = sk.split("#")
    return date.fromisoformat(day), offer_id, channel, locale


def offer_unit_pk(offer_id: str) -> str:
    return f"METRIC#OFFER#{_clean(offer_id)}"


def offer_unit_key(offer_id: str, customer_id: str) -> dict[str, str]:
    """A customer's record for an offer's lift: keyed by a hash of their id (the report never needs to name them)."""
    return {"pk": offer_unit_pk(offer_id), "sk": opaque(customer_id)}


def journey_unit_pk(journey_id: str) -> str:
    return f"METRIC#JOURNEY#{_clean(journey_id)}"


def journey_unit_key(journey_id: str, customer_id: str) -> dict[str, str]:
    """A customer's record for a journey's holdout comparison, keyed by a hash of their id, as an offer's unit."""
    return {"pk": journey_unit_pk(journey_id), "sk": opaque(customer_id)}


def slices(channel: str, intent: str) -> list[tuple[str, str]]:
    """The four counter items one event adds to: its slice, its channel's and intent's totals, the day total."""
    return [(channel, intent), (channel, ALL), (ALL, intent), (ALL, ALL)]


# The id of a seeded conversation (metrics/simulate.py, `concierge demo-month`): sim-{seed}-{number}.
SEEDED_ID = re.compile(r"sim-\d+-\d{5}")


def seeded_id(seed: int, number: int) -> str:
    return f"sim-{seed}-{number:05d}"


def is_seeded(conversation_id: str) -> bool:
    """Whether an id is a seeded conversation's: it has KPIs, scores and surveys, and never had messages."""
    return SEEDED_ID.fullmatch(conversation_id) is not None
