"""Where the roll-up keeps its items, in the memory table (docs/metrics.md, Storage):

- counters of a day and slice ........... pk=METRIC#<day>  sk=C#<channel>#<intent>   ('*' = all), never expire
- low scores of a day ................... pk=METRIC#<day>  sk=L#<score>#<conversation id>#<source>
- an event already counted .............. pk=METRIC#EVENT#<EventBridge id>  sk=SEEN           (TTL 14 days)
- a conversation's attribution .......... pk=CONV#<id>  sk=METRIC#META    (day, channel, intent; TTL 60 days)
- the latest score counted per kind ..... pk=CONV#<id>  sk=METRIC#SCORE#<csat|nps|ces|auto>   (TTL 60 days; its
                                          `erase_also` names its low-score entry, which erasure deletes too)
- a customer's last contact on an issue . pk=METRIC#REPEAT#<hash of customer id>  sk=<intent> (TTL 8 days)

The conversation's items live in its own partition, so erasing the conversation erases them.
"""

from __future__ import annotations

import hashlib
from datetime import date

from concierge.keys import conversation_pk as conversation_pk  # metric records live in the conversation's partition

ALL = "*"
COUNTER = "C#"
LOW = "L#"
EVENT_MARKER_DAYS = 14  # SQS keeps a message at most 14 days: no redelivery can come later
CONVERSATION_DAYS = 60  # surveys are answered within days, discount codes redeemed within their validity
REPEAT_WINDOW_DAYS = 7


def _clean(value: str) -> str:
    return (value or "unknown").replace("#", "_")[:64]


def day_pk(day: date) -> str:
    return f"METRIC#{day.isoformat()}"


def counter_sk(channel: str, intent: str) -> str:
    return f"{COUNTER}{_clean(channel) if channel != ALL else ALL}#{_clean(intent) if intent != ALL else ALL}"


def parse_counter_sk(sk: str) -> tuple[str, str]:
    _, channel, intent = sk.split("#", 2)
    return channel, intent


def low_sk(score: int, conversation_id: str, source: str) -> str:
    return f"{LOW}{score}#{conversation_id}#{source}"


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


def slices(channel: str, intent: str) -> list[tuple[str, str]]:
    """The four counter items one event adds to: its slice, its channel's and intent's totals, the day total."""
    return [(channel, intent), (channel, ALL), (ALL, intent), (ALL, ALL)]
