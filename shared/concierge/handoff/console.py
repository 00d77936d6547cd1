"""What the agent console does, for a signed operator: the queue, the handoff package, claim, reply on the
customer's channel, hand back to the AI, close with a resolution. The HTTP routes are in
concierge.web.routes.console."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from concierge.actions.approval_models import Notice
from concierge.conversation.turn import ConversationStatus
from concierge.handoff import queue as handoff
from concierge.memory import keys
from concierge.memory.store import MemoryStore
from concierge.platform.errors import NotFound
from concierge.platform.events import DomainEvent, EventPublisher, HandoffEnded
from concierge.store.models import Order, OrderStatus

if TYPE_CHECKING:
    from concierge.channels.inbox import TurnRunner
    from concierge.conversation.notices import NoticeServices
    from concierge.store.commerce import CommerceBackend

logger = logging.getLogger(__name__)


class AgentMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=4000)
    message_id: str | None = Field(
        None, max_length=80, description="the console's id for it: a resent request is not sent twice"
    )


class HandBack(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field("", max_length=500, description="for the record: why the AI can take it from here")


class CloseRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resolution: Literal["resolved", "unresolved"]
    reason: str = Field(min_length=3, max_length=200, description="e.g. 'replacement sent', 'refund approved'")


# --- what the console's operations answer (the HTTP routes' response bodies) -------------------------------------


class ConsoleQueueEntry(handoff.QueueEntry):
    customer_name: str | None = Field(description="the customer's name in the store, when it knows them")


class HandoffQueue(BaseModel):
    handoffs: list[ConsoleQueueEntry] = Field(description="highest priority first, then oldest")
    queues: list[str]


class HandoffPackage(BaseModel):
    """Everything an agent needs so the customer never repeats themselves (docs/handoff.md)."""

    conversation_id: str
    handoff: dict[str, Any]
    customer: dict[str, Any]
    history: dict[str, Any] = Field(
        description="summaries of earlier conversations and facts (verified customers only)"
    )
    orders: list[dict[str, Any]]
    open_orders: list[str]
    problem: dict[str, Any] = Field(description="summary, intent, sentiment and its trajectory, what was already tried")
    pending_approvals: list[dict[str, Any]]
    transcript: list[dict[str, Any]]
    suggested_reply: str


class ConsoleReceipt(BaseModel):
    """What became of a claim, reply, hand-back or close; the fields besides the id depend on the operation."""

    model_config = ConfigDict(extra="allow")

    conversation_id: str


class ConversationMessages(BaseModel):
    """A customer's conversation after a message number: what their chat page polls while a person answers."""

    conversation_id: str
    conversation_status: str
    owner: Literal["human", "ai"] = Field(description="who answers now")
    messages: list[dict[str, Any]] = Field(
        description="seq, role (customer|assistant|agent), text, channel, at, author"
    )


@dataclass
class ConsoleServices:
    memory: MemoryStore
    store: CommerceBackend
    events: EventPublisher
    notices: NoticeServices
    # Runs the turn workflow (the Step Functions one deployed, the in-process one locally): a hand-back answers what
    # the customer wrote while a person had the conversation. None: hand-backs answer the next message only.
    run_turn: TurnRunner | None = None

    @property
    def handoffs(self) -> handoff.HandoffStore:
        return handoff.HandoffStore(self.memory)


def queue(services: ConsoleServices, name: str | None) -> HandoffQueue:
    """The queue, each entry with the customer's name when the store knows it (the console shows names, not ids)."""
    entries = services.handoffs.queue(name)
    names: dict[str, str | None] = {}
    for entry in entries:
        customer_id = entry["customer_id"]
        if customer_id not in names:
            customer = services.store.get_customer(customer_id)
            names[customer_id] = customer.name if customer else None
        entry["customer_name"] = names[customer_id]
    return HandoffQueue.model_validate({"handoffs": entries, "queues": sorted({*handoff.QUEUES, "general"})})


def package(conversation_id: str, services: ConsoleServices) -> HandoffPackage:
    """Everything an agent needs so the customer never repeats themselves."""
    owner = services.handoffs.get(conversation_id)
    record = services.memory.get_conversation(conversation_id)
    if owner is None or record is None:
        raise NotFound(handoff.NO_HANDOFF.format(conversation_id=conversation_id))
    memory, store = services.memory, services.store
    customer = store.get_customer(owner.customer_id)
    orders = store.recent_orders(owner.customer_id, 5) if record.verified else []
    partition = memory.conversation_partition(conversation_id)
    tried = [
        {
            "tool": a["tool"],
            "status": a["status"],
            "reason": a.get("reason") or None,
            "explanation": (a.get("result") or {}).get("explanation"),
        }
        for a in partition
        if a["sk"].startswith(keys.ACTION) and a["tool"] not in ("create_handoff",)
    ]
    approvals = [
        {k: a[k] for k in ("action_id", "summary", "amount", "currency", "reason", "deadline", "status") if k in a}
        for a in partition
        if a["sk"].startswith(keys.APPROVAL) and a.get("status") == "waiting"
    ]
    # The conversation's messages are in the partition already read (and keep their author, unlike transcript()).
    transcript = [
        {k: m[k] for k in ("role", "text", "channel", "at", "author") if k in m}
        for m in partition
        if m["sk"].startswith(keys.MESSAGE)
    ]
    profile = memory.get_profile(owner.customer_id)
    summaries = memory.summaries(owner.customer_id) if record.verified else []
    return HandoffPackage.model_validate(
        {
            "conversation_id": conversation_id,
            "handoff": owner.model_dump(mode="json", exclude={"earlier_fingerprints"}),
            "customer": {
                "id": owner.customer_id,
                "name": customer.name if customer else None,
                "email": customer.email if customer else None,
                "verified": record.verified,
                "customer_since": customer.created_at.isoformat() if customer else None,
                # at least the summaries listed: a count below the list it heads reads as a mistake
                "conversations_before": max(profile.conversations if profile else 0, len(summaries)),
                "lifetime_value_recent": str(
                    sum((o.total for o in orders if o.status is not OrderStatus.CANCELLED), 0)
                ),
            },
            "history": {
                "summaries": [s.model_dump(mode="json") for s in summaries],
                "facts": [f.text for f in memory.facts(owner.customer_id)] if record.verified else [],
            },
            "orders": [
                {
                    "order_id": o.id,
                    "status": o.status.value,
                    "placed_at": o.placed_at.isoformat(),
                    "total": str(o.total),
                    "currency": o.currency,
                    "items": [line.title for line in o.lines],
                    "tracking": o.shipment.tracking_number if o.shipment else None,
                }
                for o in orders
            ],
            "open_orders": [o.id for o in orders if o.status in (OrderStatus.PENDING, OrderStatus.SHIPPED)],
            "problem": {
                "summary": owner.summary or f"{owner.reason}.",
                "intent": owner.intent,
                "intents": record.intents,
                "sentiment": record.sentiments[-1] if record.sentiments else 0.0,
                "sentiment_trajectory": record.sentiments,
                "already_tried": tried,
                "what_was_done": record.facts,
            },
            "pending_approvals": approvals,
            "transcript": transcript,
            "suggested_reply": suggested_reply(owner, customer.first_name if customer else None, orders, tried),
        }
    )


def suggested_reply(
    owner: handoff.Owner, first_name: str | None, orders: list[Order], tried: list[dict[str, Any]]
) -> str:
    """A first reply the agent can edit: it acknowledges what happened, so the customer hears they were read."""
    hello = f"Hi {first_name}, " if first_name else "Hi, "
    mood = "I'm sorry for the trouble — " if owner.sentiment < -0.2 or "frustrated" in owner.reason else ""
    in_flight = [o for o in orders if o.status in (OrderStatus.PENDING, OrderStatus.SHIPPED)]
    refused = [t for t in tried if t["status"] == "denied" and t.get("explanation")]
    if refused:
        about = f"I've read your conversation and I see that {refused[-1]['explanation'].rstrip('.').lower()}. "
    elif owner.intent in ("track",) and in_flight:
        about = f"I've read your conversation and I'm looking into order {in_flight[0].id} for you right now. "
    else:
        about = "I've read your conversation, so there's no need to repeat anything. "
    return f"{hello}{mood}{about}Here's what I can do: "


def claim(conversation_id: str, agent: str, services: ConsoleServices, now: datetime) -> ConsoleReceipt:
    owner = handoff.claim(services.handoffs, conversation_id, agent, now)
    return ConsoleReceipt.model_validate(
        {"conversation_id": conversation_id, "state": owner.state, "assigned_to": owner.assigned_to}
    )


def reply(
    conversation_id: str, agent: str, message: AgentMessage, services: ConsoleServices, now: datetime
) -> ConsoleReceipt:
    """The agent's reply: written into the conversation and delivered on the customer's channel."""
    from concierge.conversation.notices import deliver_notice

    owner = handoff.require_assignee(services.handoffs.get(conversation_id), agent, conversation_id)
    notice = Notice(
        conversation_id=conversation_id,
        customer_id=owner.customer_id,
        key=f"agent:{message.message_id or uuid.uuid4().hex}",
        text=message.text,
        subject="A reply from our team",
    )
    outcome = deliver_notice(notice, services.notices, now, role="agent", author=agent, email_web=False)
    handoff.responded(services.handoffs, owner, agent, now)
    return ConsoleReceipt(conversation_id=conversation_id, **{k: v for k, v in outcome.items() if k != "provider_id"})


def hand_back(
    conversation_id: str, agent: str, request: HandBack, services: ConsoleServices, now: datetime
) -> ConsoleReceipt:
    owner = handoff.require_assignee(services.handoffs.get(conversation_id), agent, conversation_id)
    owner = handoff.finish(services.handoffs, owner, agent, "released", now)
    services.memory.set_status(conversation_id, ConversationStatus.OPEN.value, now)
    _ended(owner, agent, "handed_back", None, request.note or None, services, now)
    return ConsoleReceipt.model_validate(
        {"conversation_id": conversation_id, "owner": "ai", "answered": _answer_waiting(owner, services)}
    )


def _answer_waiting(owner: handoff.Owner, services: ConsoleServices) -> bool:
    """What the customer wrote after the person's last reply is answered by the AI now, on the customer's channel
    (a web chat page shows it when it next asks for messages), rather than left until they write again."""
    from concierge.conversation.api import TurnResponse
    from concierge.conversation.notices import send_on_channel

    if services.run_turn is None or not services.memory.unanswered(owner.conversation_id):
        return False
    status, body = services.run_turn(
        {"resume": {"conversation_id": owner.conversation_id, "customer_id": owner.customer_id}}
    )
    if status != 200:
        logger.warning("the AI could not answer after a hand-back", extra={"status": status})
        return False
    response = TurnResponse.model_validate_json(body)
    record = services.memory.get_conversation(owner.conversation_id)
    if response.reply is None or record is None:
        return False
    send_on_channel(record, response.reply.text, "Re: your question", services.notices, email_web=False)
    return True


def close(
    conversation_id: str, agent: str, request: CloseRequest, services: ConsoleServices, now: datetime
) -> ConsoleReceipt:
    from concierge.conversation.edges import closed_event_of

    owner = handoff.require_assignee(services.handoffs.get(conversation_id), agent, conversation_id)
    owner = handoff.finish(services.handoffs, owner, agent, "closed", now)
    services.memory.set_status(conversation_id, ConversationStatus.CLOSED.value, now)
    record = services.memory.get_conversation(conversation_id)
    last = next(
        (m["text"] for m in reversed(services.memory.recent_messages(conversation_id, 5)) if m["role"] == "customer"),
        "",
    )
    events = []
    if record is not None:
        if request.resolution == "resolved":
            record = record.model_copy(update={"resolved": True})
        events.append(closed_event_of(record, None, f"Closed by our team: {request.reason}.", now, last))
    _ended(owner, agent, "closed", request.resolution, request.reason, services, now, also=events)
    return ConsoleReceipt.model_validate(
        {"conversation_id": conversation_id, "status": "closed", "resolution": request.resolution}
    )


def _ended(
    owner: handoff.Owner,
    agent: str,
    outcome: Literal["closed", "handed_back"],
    resolution: Literal["resolved", "unresolved"] | None,
    reason: str | None,
    services: ConsoleServices,
    now: datetime,
    also: Sequence[DomainEvent] = (),
) -> None:
    services.events.publish(
        HandoffEnded(
            occurred_at=now,
            conversation_id=owner.conversation_id,
            customer_id=owner.customer_id,
            outcome=outcome,
            resolution=resolution,
            resolution_reason=reason,
            reason=owner.reason,
            queue=owner.queue,
            agent=agent,
            first_human_response_ms=handoff.first_response_ms(owner),
            customer_messages=owner.customer_messages,
            repeated_after_handoff=owner.repeated_after_handoff,
        ),
        *also,
    )
