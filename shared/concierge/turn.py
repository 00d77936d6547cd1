"""The state of one customer turn as it flows through the workflow: ingest -> retrieval -> agent <-> actions -> reply.

Every function of the turn workflow reads a `Turn` and returns it, enriched.
"""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field

from concierge.api import Channel, Citation, HttpResponse


class ConversationStatus(StrEnum):
    OPEN = "open"
    HANDED_OFF = "handed_off"
    CLOSED = "closed"


class ActionStatus(StrEnum):
    EXECUTED = "executed"
    PENDING_CONFIRMATION = "pending_confirmation"
    DENIED = "denied"
    FAILED = "failed"


class Signals(BaseModel):
    intent: str
    intent_confidence: float = Field(ge=0, le=1)
    sentiment: float = Field(ge=-1, le=1, description="VADER compound score of the message")
    frustrated: bool = False
    wants_human: bool = False


class IncomingMessage(BaseModel):
    message_id: str
    text: str
    channel: Channel
    received_at: datetime


class CustomerRef(BaseModel):
    """Who the verified customer is, with no more personal data than the reply needs."""

    id: str
    first_name: str


class ConversationSnapshot(BaseModel):
    status: ConversationStatus = ConversationStatus.OPEN
    started_at: datetime
    customer_turns: int = Field(0, description="customer messages so far, this one included")
    flow: dict[str, Any] = Field(default_factory=dict, description="the deterministic engine's dialogue state")


class PassageHit(BaseModel):
    passage_id: str
    title: str
    section: str
    url: str
    text: str
    confidence: float


class MemoryContext(BaseModel):
    """What retrieval recalls for the agent: bounded, whatever the history length."""

    returning: bool = False
    last_summary: str | None = None
    last_conversation_at: datetime | None = None
    recent_messages: list[dict[str, str]] = Field(default_factory=list)


class ToolCall(BaseModel):
    id: str
    tool: str
    arguments: dict[str, Any] = Field(default_factory=dict)


class ActionResult(BaseModel):
    call_id: str
    action_id: str
    tool: str
    status: ActionStatus
    result: dict[str, Any] = Field(default_factory=dict)
    reason: str | None = Field(None, description="policy reason code when denied or failed")


class Handoff(BaseModel):
    reason: str
    status: Literal["requested", "queued"] = "queued"
    message: str


class Decision(BaseModel):
    next: Literal["actions", "reply"]
    tool_calls: list[ToolCall] = Field(default_factory=list)
    reply: str = ""
    citations: list[Citation] = Field(default_factory=list)
    handoff: Handoff | None = None
    close: Literal["resolved", "unresolved"] | None = Field(None, description="close the conversation after this reply")
    resolved: bool = Field(False, description="this turn completed the customer's request")
    flow: dict[str, Any] = Field(default_factory=dict)
    engine: str = "deterministic"


class LoopState(BaseModel):
    steps: int = 0


class Turn(BaseModel):
    accepted: bool = True
    http: HttpResponse | None = None
    conversation_id: str = ""
    customer: CustomerRef | None = None
    message: IncomingMessage | None = None
    signals: Signals | None = None
    conversation: ConversationSnapshot | None = None
    memory: MemoryContext = Field(default_factory=MemoryContext)
    passages: list[PassageHit] = Field(default_factory=list)
    decision: Decision | None = None
    results: list[ActionResult] = Field(default_factory=list)
    loop: LoopState = Field(default_factory=LoopState)
    errors: dict[str, Any] = Field(default_factory=dict)
    started_at: datetime | None = None

    @classmethod
    def rejected(cls, http: HttpResponse) -> "Turn":
        return cls(accepted=False, http=http)

    def results_for(self, tool: str) -> list[ActionResult]:
        return [result for result in self.results if result.tool == tool]
