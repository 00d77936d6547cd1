"""Handoff to people: the queue, routing, ownership, the package an agent works from, and the metrics hooks.

Ownership lives in its own item, never in the conversation's META (which every customer turn rewrites), so a
claim or a hand-back cannot be lost to a turn in flight:

- the owner ............. pk=CONV#<conversation>  sk=OWNER   owner human|ai, state waiting|assigned|closed|released,
                                                              queue, priority, who is assigned, the handoff's figures
- the queue entry ....... pk=HANDOFFS             sk=Q#<conversation>   (removed when handed back or closed)

While a person owns a conversation the AI does not answer on any channel: the turn workflow records the
customer's message and skips retrieval and the agent (workflows/turn.asl.json, "Person owns it?"); the agent's
replies are delivered on the customer's channel. A conversation a person closed and the customer reopens goes back
to that person; one handed back to the AI stays with the AI.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from concierge.memory import keys
from concierge.memory.storage import ConditionFailed, Storage
from concierge.memory.store import MemoryStore
from concierge.platform.errors import Conflict, Forbidden, NotFound

QUEUE_PK = keys.HANDOFFS
# Topic queues an agent can work from, chosen from the conversation's intents (the last one that names a topic).
QUEUES = {
    "returns": ("return", "exchange", "refund"),
    "orders": ("track", "cancel", "modify", "order_status"),
    "billing": ("payment", "billing"),
    "account": ("password", "appointment", "account"),
}
URGENT_REASONS = ("payment failure", "approval not decided in time")

# What the console's operations are refused with (the HTTP routes document them from here).
NO_HANDOFF = "There is no handoff for conversation {conversation_id}."
NOT_WITH_TEAM = "Conversation {conversation_id} is not with our team."
CLAIM_FIRST = "Claim the conversation before replying or closing it."
ASSIGNED_TO_ANOTHER = "This conversation is assigned to {agent}."
ALREADY_CLAIMED = "Another agent has already claimed this conversation."
NO_LONGER_ASSIGNED = "The conversation is no longer assigned to you."


class SupportHours(BaseModel):
    """When people answer. Outside these hours a handoff still queues, and the customer is told honestly when to
    expect a reply. No hours configured means always staffed."""

    model_config = ConfigDict(frozen=True)

    timezone: str = "UTC"
    weekdays: list[int] = Field([0, 1, 2, 3, 4], description="0 = Monday")
    open: time = time(9, 0)
    close: time = time(17, 0)

    def is_open(self, at: datetime) -> bool:
        local = at.astimezone(ZoneInfo(self.timezone))
        return local.weekday() in self.weekdays and self.open <= local.time() < self.close

    def next_open(self, at: datetime) -> datetime:
        zone = ZoneInfo(self.timezone)
        local = at.astimezone(zone)
        for days in range(8):
            day = (local + timedelta(days=days)).date()
            start = datetime.combine(day, self.open, tzinfo=zone)
            if day.weekday() in self.weekdays and start > local:
                return start
        return local

    @classmethod
    def from_setting(cls, raw: str | None) -> SupportHours | None:
        return cls.model_validate(json.loads(raw)) if raw else None


def route(reason: str, intents: list[str]) -> str:
    if "payment" in reason:
        return "billing"
    for intent in reversed(intents):
        for queue, names in QUEUES.items():
            if intent in names:
                return queue
    return "general"


def priority(reason: str, sentiment: float, customer_value: float) -> int:
    """0–100, higher first: urgency of the reason, how upset the customer is, and what they spend with us."""
    score = 30
    if any(r in reason for r in URGENT_REASONS):
        score += 30
    if "frustrated" in reason or "negative" in reason or "worse" in reason:
        score += 15
    score += int(max(0.0, -sentiment) * 20)  # -1 → +20
    score += min(15, int(customer_value // 100) * 3)  # +3 per 100 spent recently, at most +15
    return max(0, min(100, score))


class QueueEntry(BaseModel):
    """A conversation with our team, as the queue lists it."""

    conversation_id: str
    customer_id: str
    owner: Literal["human", "ai"]
    state: Literal["waiting", "assigned", "closed", "released"]
    queue: str
    priority: int = Field(description="0–100, highest first: urgency, the customer's sentiment, what they spend")
    reason: str
    channel: str
    handoff_at: datetime
    within_hours: bool = True
    promised_by: datetime | None = Field(None, description="out of hours: when the customer was told to expect a reply")
    assigned_to: str | None = None
    claimed_at: datetime | None = None
    first_human_response_at: datetime | None = None
    last_agent: str | None = None
    customer_messages: int = 0
    repeated_after_handoff: int = 0
    sentiment: float = 0.0
    intent: str = "unknown"


class Owner(QueueEntry):
    """Who owns the conversation now: the OWNER record."""

    @property
    def with_people(self) -> bool:
        """People own the conversation now (waiting for one, or assigned): the AI stays silent."""
        return self.owner == "human" and self.state in ("waiting", "assigned")

    summary: str = ""
    earlier_fingerprints: list[str] = Field(
        default_factory=list, description="the customer's messages before the handoff"
    )


@dataclass
class HandoffStore:
    """The repository of ownership records: the OWNER item and the queue entry that mirrors it. It alone reads and
    writes them, through the memory table's access layer (memory/storage.py)."""

    memory: MemoryStore

    @property
    def _db(self) -> Storage:
        return self.memory.storage

    @staticmethod
    def _key(conversation_id: str) -> dict[str, str]:
        return {"pk": keys.conversation_pk(conversation_id), "sk": keys.OWNER}

    def get(self, conversation_id: str) -> Owner | None:
        item = self._db.get(self._key(conversation_id), consistent=True)
        return Owner.model_validate(item) if item else None

    def put(self, owner: Owner) -> None:
        self._db.put(
            {**self._key(owner.conversation_id), **owner.model_dump(mode="json"), "expires_at": self._db.expiry()}
        )
        self._list(owner)

    def _list(self, owner: Owner) -> None:
        key = {"pk": QUEUE_PK, "sk": keys.queued_sk(owner.conversation_id)}
        if owner.with_people:
            entry = QueueEntry.model_validate(owner.model_dump()).model_dump(mode="json")
            self._db.put({**key, **entry, "expires_at": self._db.expiry()})
        else:
            self._db.delete(key)

    def queue(self, queue: str | None = None) -> list[dict[str, Any]]:
        listed = [i for i in self._db.listing(QUEUE_PK) if queue is None or i["queue"] == queue]
        return sorted(listed, key=lambda i: (-i["priority"], i["handoff_at"]))

    def update(
        self, conversation_id: str, changes: dict[str, Any], condition: str, values: dict[str, Any], conflict: str
    ) -> Owner:
        sets = {k: v for k, v in changes.items() if v is not None}
        removes = [k for k, v in changes.items() if v is None]
        expression = (
            "SET "
            + ", ".join(f"#{k} = :{k}" for k in sets)
            + (" REMOVE " + ", ".join(f"#{k}" for k in removes) if removes else "")
        )
        used = set(re.findall(r"#(\w+)", f"{expression} {condition}"))  # DynamoDB refuses unused placeholders
        try:
            item = self._db.update(
                self._key(conversation_id),
                expression,
                condition=condition,
                names={f"#{name}": name for name in used},
                values={**{f":{k}": v for k, v in sets.items()}, **values},
                returns=True,
            )
        except ConditionFailed:
            if self.get(conversation_id) is None:
                raise NotFound(NO_HANDOFF.format(conversation_id=conversation_id)) from None
            raise Conflict(conflict) from None
        owner = Owner.model_validate(item)
        self._list(owner)
        return owner


def _dt(value: datetime) -> str:
    return value.isoformat()


def open_handoff(
    store: HandoffStore,
    *,
    conversation_id: str,
    customer_id: str,
    reason: str,
    summary: str,
    channel: str,
    intents: list[str],
    sentiments: list[float],
    fingerprints: list[str],
    customer_value: float,
    hours: SupportHours | None,
    now: datetime,
) -> Owner:
    """The conversation goes to people: routed to a queue, prioritised, and listed. Idempotent per conversation
    while it is waiting or assigned (a repeated handoff keeps its place and its owner)."""
    current = store.get(conversation_id)
    if current is not None and current.with_people:
        return current
    within = hours.is_open(now) if hours else True
    sentiment = sentiments[-1] if sentiments else 0.0
    owner = Owner(
        conversation_id=conversation_id,
        customer_id=customer_id,
        owner="human",
        state="waiting",
        queue=route(reason, intents),
        priority=priority(reason, sentiment, customer_value),
        reason=reason,
        summary=summary,
        channel=channel,
        handoff_at=now,
        within_hours=within,
        promised_by=None if within or hours is None else hours.next_open(now) + timedelta(hours=1),
        earlier_fingerprints=fingerprints[-20:],
        sentiment=sentiment,
        intent=intents[-1] if intents else "unknown",
        last_agent=current.last_agent if current else None,
    )
    store.put(owner)
    return owner


def reopen(store: HandoffStore, owner: Owner, now: datetime) -> Owner:
    """A customer writes again in a conversation a person closed: it goes back to that person."""
    # A new episode: its clock starts now, so its first human response is yet to come (the previous one, earlier
    # than `now`, would make the episode's response time negative).
    reopened = owner.model_copy(
        update={
            "state": "assigned" if owner.last_agent else "waiting",
            "assigned_to": owner.last_agent,
            "handoff_at": now,
            "reason": f"reopened after {owner.reason}",
            "claimed_at": now if owner.last_agent else None,
            "first_human_response_at": None,
        }
    )
    store.put(reopened)
    return reopened


def note_customer_message(store: HandoffStore, owner: Owner, fingerprint: str) -> bool:
    """Count a customer message written while people own the conversation; True if it repeats one the customer
    had already written before the handoff (they had to repeat themselves)."""
    repeated = fingerprint in owner.earlier_fingerprints
    store.update(
        owner.conversation_id,
        {
            "customer_messages": owner.customer_messages + 1,
            "repeated_after_handoff": owner.repeated_after_handoff + int(repeated),
        },
        "attribute_exists(pk)",
        {},
        "The conversation changed; retry.",
    )
    return repeated


def claim(store: HandoffStore, conversation_id: str, agent: str, now: datetime) -> Owner:
    """One agent takes the conversation: a conditional write, so two agents cannot both claim it."""
    return store.update(
        conversation_id,
        {"state": "assigned", "assigned_to": agent, "claimed_at": now, "last_agent": agent},
        "#owner = :human AND #state = :waiting",
        {":human": "human", ":waiting": "waiting"},
        ALREADY_CLAIMED,
    )


def require_assignee(owner: Owner | None, agent: str, conversation_id: str) -> Owner:
    if owner is None or not owner.with_people:
        raise NotFound(NOT_WITH_TEAM.format(conversation_id=conversation_id))
    if owner.state != "assigned":
        raise Conflict(CLAIM_FIRST)
    if owner.assigned_to != agent:
        raise Forbidden(ASSIGNED_TO_ANOTHER.format(agent=owner.assigned_to))
    return owner


def responded(store: HandoffStore, owner: Owner, agent: str, now: datetime) -> Owner:
    if owner.first_human_response_at is not None:
        return owner
    return store.update(
        owner.conversation_id,
        {"first_human_response_at": now},
        "#state = :assigned AND assigned_to = :agent",
        {":assigned": "assigned", ":agent": agent},
        NO_LONGER_ASSIGNED,
    )


def finish(store: HandoffStore, owner: Owner, agent: str, state: Literal["closed", "released"], now: datetime) -> Owner:
    """Close (the person resolved it) or hand back to the AI (`released`)."""
    return store.update(
        owner.conversation_id,
        {
            "state": state,
            "owner": "human" if state == "closed" else "ai",
            "last_agent": agent if state == "closed" else None,
        },
        "#state = :assigned AND assigned_to = :agent",
        {":assigned": "assigned", ":agent": agent},
        NO_LONGER_ASSIGNED,
    )


def first_response_ms(owner: Owner) -> int | None:
    if owner.first_human_response_at is None:
        return None
    return max(0, int((owner.first_human_response_at - owner.handoff_at).total_seconds() * 1000))
