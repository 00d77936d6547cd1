"""The state of one customer turn as it flows through the workflow: ingest -> retrieval -> agent <-> actions -> reply.

Every function of the turn workflow reads a turn and returns it, enriched. `Turn` is the payload's shape between any
two steps, each field a step may not have filled yet optional; each step reads it as the stage it needs, so that the
type checker proves what that step has and a turn without it is refused where it comes in:

- `RejectedTurn`: ingest refused the message (its HTTP answer, nothing else); the workflow ends there;
- `ReadyTurn`: ingest accepted it: its message, customer, conversation and signals are set. Retrieval, the agent and
  the reply step read this (the reply step also when the agent failed, or a person owns the conversation);
- `DecidedTurn`: a ready turn with the agent's decision (`ReadyTurn.decided`), as the actions step reads it.

The stages add no field and change no field's serialized form: each is the same JSON, so the state machine and turns
in flight are unaffected. A turn that lacks what its stage needs fails validation with the error type
`turn_incomplete`, naming what it lacks.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from concierge.conversation.api import Channel, Citation, HttpResponse
from concierge.offers.moments import OfferMomentHint
from concierge.reasoning.costs import Usage
from concierge.store.merchant import MerchantProfile


class ConversationStatus(StrEnum):
    OPEN = "open"
    HANDED_OFF = "handed_off"
    CLOSED = "closed"


class ActionStatus(StrEnum):
    EXECUTED = "executed"
    PENDING_CONFIRMATION = "pending_confirmation"
    AWAITING_APPROVAL = "awaiting_approval"  # confirmed by the customer, above the limit: a person decides
    DENIED = "denied"
    FAILED = "failed"


class Signals(BaseModel):
    intent: str
    intent_confidence: float = Field(ge=0, le=1)
    sentiment: float = Field(ge=-1, le=1, description="VADER compound score of the message")
    frustrated: bool = False
    wants_human: bool = False
    asks: bool = Field(
        False, description="the message asks for something in so many words (a request phrase or a question)"
    )


class IncomingMessage(BaseModel):
    message_id: str
    text: str
    channel: Channel
    received_at: datetime


class CustomerRef(BaseModel):
    """Who the customer is, with no more personal data than the reply needs."""

    id: str
    first_name: str
    verified: bool = Field(True, description="False for a sender the channel could not verify: no account data")
    locale: str = Field("en", description="the customer's locale: knowledge is searched in its language")


class Note(BaseModel):
    """An answer given in a conversation, kept so that a later message on another channel can build on it."""

    topic: str = Field(description="what it was about, e.g. 'Trail Shell Jacket'")
    aspect: str = Field("", description="e.g. 'fit', 'material'")
    text: str
    channel: Channel


class ConversationSnapshot(BaseModel):
    status: ConversationStatus = ConversationStatus.OPEN
    started_at: datetime
    customer_turns: int = Field(0, description="customer messages so far, this one included")
    flow: dict[str, Any] = Field(default_factory=dict, description="the deterministic engine's dialogue state")
    channel: Channel = Channel.WEB
    notes: list[Note] = Field(default_factory=list)
    verified: bool = True
    channel_switched: bool = Field(False, description="this message is the conversation's first on this channel")
    linked_conversation_id: str | None = None
    sentiments: list[float] = Field(default_factory=list, description="sentiment of the customer's messages so far")
    offers_presented: list[str] = Field(
        default_factory=list, description="ids of the offers put in front of the customer in this conversation"
    )
    opened_by_us: bool = Field(
        False, description="the shop wrote first (a journey's message): the customer's first message answers it"
    )


class ConversationRecord(BaseModel):
    """The META item: the conversation's state and the running figures Auto-CSAT needs at close."""

    model_config = ConfigDict(defer_build=True)

    conversation_id: str
    customer_id: str
    channel: Channel
    status: ConversationStatus = ConversationStatus.OPEN
    started_at: datetime
    updated_at: datetime
    message_seq: int = 0
    customer_turns: int = 0
    flow: dict[str, Any] = Field(default_factory=dict)
    intents: list[str] = Field(default_factory=list)
    sentiments: list[float] = Field(default_factory=list)
    message_fingerprints: list[str] = Field(default_factory=list)
    repeated_messages: int = 0
    actions_executed: list[str] = Field(default_factory=list)
    actions_failed: int = 0
    handoff_reason: str | None = None
    first_response_ms: int | None = None
    resolved: bool = False
    facts: list[str] = Field(default_factory=list, description="what was done, for the summary at close")
    verified: bool = Field(True, description="the customer's identity was verified on the channel they used")
    channels: list[Channel] = Field(default_factory=list, description="every channel this conversation was held on")
    keywords: list[str] = Field(default_factory=list, description="topic terms of the customer's messages (threading)")
    notes: list[Note] = Field(default_factory=list, description="answers given, recalled when the channel changes")
    linked_conversation_id: str | None = Field(None, description="an open conversation on the same topic, elsewhere")
    reply_to: dict[str, str] = Field(default_factory=dict, description="channel -> address replies go to")
    last_inbound: dict[str, str] = Field(default_factory=dict, description="channel -> provider id of the last message")
    subject: str | None = None
    first_name: str | None = Field(None, description="the customer's first name when the conversation started")
    locale: str | None = Field(None, description="the customer's locale when the conversation started")
    offers_presented: list[str] = Field(
        default_factory=list, description="offers the next best action presented (a model may offer to take them)"
    )

    def snapshot(self) -> ConversationSnapshot:
        return ConversationSnapshot(
            status=self.status,
            started_at=self.started_at,
            customer_turns=self.customer_turns,
            flow=self.flow,
            channel=self.channel,
            notes=self.notes,
            verified=self.verified,
            linked_conversation_id=self.linked_conversation_id,
            sentiments=self.sentiments[-10:],
            offers_presented=self.offers_presented,
            # messages before the customer's first that are not theirs: the assistant or a person wrote first
            opened_by_us=self.customer_turns <= 1 and self.message_seq > self.customer_turns,
        )


class Profile(BaseModel):
    """A customer's profile (memory/store.py stores it): counters, the last summary, consent."""

    model_config = ConfigDict(defer_build=True)

    customer_id: str
    conversations: int = 0
    last_summary: str | None = None
    last_conversation_id: str | None = None
    last_closed_at: datetime | None = None
    personalization: bool = Field(True, description="consent to recall personal details in later conversations")
    surveys: bool = Field(True, description="consent to satisfaction surveys after a conversation")
    journeys: bool | None = Field(
        None,
        description="consent to messages the assistant starts (docs/journeys.md): False once they opted out, True "
        "once they opted in, None when they never said",
    )
    merged_from: list[str] = Field(default_factory=list)


class ProfileRead(BaseModel):
    """The customer's profile as receive read it (None: the customer has none yet), so retrieval does not read it
    again."""

    profile: Profile | None = None


class PassageHit(BaseModel):
    passage_id: str
    title: str
    section: str
    url: str
    text: str
    confidence: float
    suspicious: bool = Field(False, description="reads like instructions to an AI: untrusted, never quoted")
    request: int = Field(0, description="0: found for the whole message; n: for its n-th request alone")


class ActionNote(BaseModel):
    """An action of this conversation, as the model is told of it: a proposal awaiting the customer's yes carries the
    id the model confirms it with on a later turn."""

    action_id: str
    tool: str
    status: ActionStatus
    effect: dict[str, Any] = Field(default_factory=dict, description="what it does: order, items, amount")
    reason: str | None = None


class MemoryContext(BaseModel):
    """What retrieval recalls for the agent: bounded in reads and in size, whatever the history length."""

    returning: bool = False
    personalization: bool = Field(True, description="False when the customer opted out: nothing personal recalled")
    last_summary: str | None = None
    last_conversation_at: datetime | None = None
    summaries: list[str] = Field(default_factory=list, description="earlier conversations, newest first")
    open_issues: list[str] = Field(default_factory=list, description="unresolved matters from earlier conversations")
    facts: list[str] = Field(default_factory=list, description="durable facts: sizes, preferences, interests")
    recent_messages: list[dict[str, str]] = Field(default_factory=list)
    linked_notes: list[Note] = Field(default_factory=list, description="answers given in a linked open conversation")
    actions: list[ActionNote] = Field(default_factory=list, description="this conversation's actions (model path)")
    tokens: int = Field(0, description="approximate size of this context in tokens")


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
    recorded: bool = Field(True, description="False for a lookup: the reply writes its record, with the turn")


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
    notes: list[Note] = Field(default_factory=list, description="answers worth remembering in this conversation")
    engine: str = "deterministic"
    confidence: float | None = Field(None, description="the model's confidence in its reply")
    intent: str | None = Field(None, description="the model's reading of the customer's intent")
    usage: Usage = Field(default_factory=Usage, description="model tokens and cost of this step")
    assistant_content: list[dict[str, Any]] = Field(
        default_factory=list,
        description="the model's own content when it called tools, sent back exactly as received "
        "(thinking blocks keep their signatures)",
    )
    fallback: Literal["transient", "request", "no_key", "malformed", "continued", "deadline", "circuit_open"] | None = (
        Field(None, description="why the deterministic engine answered instead of the model")
    )
    moment: OfferMomentHint | None = Field(
        None,
        description="the reply is at an offer moment (offers/moments.py): the offering wrapper asks the actions "
        "function's next_best_action about it (engine/offering.py); None: no offer moment",
    )


class LoopState(BaseModel):
    steps: int = 0


class Turn(BaseModel):
    """A turn between any two steps: what a step may not have filled yet is optional. The steps read it as one of
    its stages below (RejectedTurn, ReadyTurn, DecidedTurn); no function builds a plain `Turn`, so it is built on
    first use."""

    model_config = ConfigDict(defer_build=True)

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
    tool_rounds: list[list[ToolCall]] = Field(default_factory=list, description="the tool calls of each action round")
    assistant_rounds: list[list[dict[str, Any]]] = Field(
        default_factory=list,
        description="the model's content of each action round (empty for the deterministic engine)",
    )
    prefetched: int = Field(
        0,
        ge=0,
        description="how many of the first tool rounds retrieval ran before the agent decided (the read-only lookups "
        "the message plainly needs, actions/prefetch.py): the agent never asked for them, so they count against no "
        "engine's budget of action rounds",
    )
    usage: Usage = Field(default_factory=Usage, description="model tokens and cost of the whole turn")
    errors: dict[str, Any] = Field(default_factory=dict)
    started_at: datetime | None = None
    deadline: datetime | None = Field(None, description="when the turn must be answered by: no model call runs past it")
    merchant: MerchantProfile | None = Field(None, description="merchant.json: the wording and policy of this shop")
    profile: ProfileRead | None = Field(None, description="the customer's profile, when receive read it")
    record: ConversationRecord | None = Field(
        None,
        description="the conversation as receive stored it: the reply is written on top of it without reading it "
        "again (a conditional write: when anything changed it since, the reply reads it and is built again)",
    )

    @classmethod
    def rejected(cls, http: HttpResponse) -> RejectedTurn:
        return RejectedTurn(http=http)

    def results_for(self, tool: str) -> list[ActionResult]:
        return [result for result in self.results if result.tool == tool]

    @property
    def agent_rounds(self) -> int:
        """The action rounds the agent asked for and the actions function ran (the prefetched ones left out)."""
        return len(self.tool_rounds) - min(self.prefetched, len(self.tool_rounds))


class RejectedTurn(Turn):
    """Ingest refused the message: the workflow answers with `http` and ends (built on first use: only a refusal
    needs it)."""

    model_config = ConfigDict(defer_build=True)

    accepted: Literal[False] = False
    http: HttpResponse


class ReadyTurn(Turn):
    """A turn ingest accepted: its message, customer, conversation and signals are set."""

    model_config = ConfigDict(defer_build=False)  # every step reads or writes one: built at import

    # the fields this stage requires, in the order a refusal names them
    stage_needs: ClassVar[tuple[str, ...]] = ("message", "customer", "conversation", "signals")
    stage_name: ClassVar[str] = "a turn ingest accepted"

    accepted: Literal[True] = True
    customer: CustomerRef
    message: IncomingMessage
    signals: Signals
    conversation: ConversationSnapshot

    @model_validator(mode="before")
    @classmethod
    def _has_what_its_stage_needs(cls, data: Any) -> Any:
        """One error naming all that is missing, rather than one per field in pydantic's words."""
        if isinstance(data, dict):
            missing = [name for name in cls.stage_needs if data.get(name) is None]
            if data.get("accepted") is False:
                missing.insert(0, "acceptance (ingest rejected it)")
            if missing:
                raise PydanticCustomError(
                    "turn_incomplete",
                    "{stage} ({model}) has its {needs}; this one has no {missing}",
                    {
                        "stage": cls.stage_name,
                        "model": cls.__name__,
                        "needs": ", ".join(cls.stage_needs),
                        "missing": ", ".join(missing),
                    },
                )
        return data

    def decided(self, decision: Decision, errors: dict[str, str] | None = None) -> DecidedTurn:
        """The turn after the agent's step: its decision, the step's model usage added and, when it asks for an
        action round, that round counted (`loop.steps`: the workflow runs a round while the count is at most
        MAX_ACTION_ROUNDS, so the count is the state the loop needs and no separate workflow step keeps it)."""
        steps = self.loop.steps + (decision.next == "actions")
        return DecidedTurn.model_validate(
            {
                **dict(self),
                "decision": decision,
                "usage": self.usage.add(decision.usage),
                "errors": self.errors if errors is None else errors,
                "loop": self.loop.model_copy(update={"steps": steps}),
            }
        )


class DecidedTurn(ReadyTurn):
    """A ready turn with the agent's decision, as the actions step reads it."""

    stage_needs: ClassVar[tuple[str, ...]] = (*ReadyTurn.stage_needs, "decision")
    stage_name: ClassVar[str] = "a turn the agent decided"

    decision: Decision
