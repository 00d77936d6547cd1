"""Claude as the agent: the tool-use loop runs through the turn workflow (agent -> actions -> agent, bounded), and
the customer always gets a reply — when the model cannot answer, the deterministic engine decides instead.

The request's shape comes from the capability table (reasoning/models.py): on models that accept forced tool use,
each step is `tool_choice: any` (the last round forces `reply_to_customer`); on models that reject it (Sonnet 5.5,
Opus 5.5), `auto` with the documented thinking setting, and the last round `none` — a plain-text end of turn is then
accepted as the reply. When the model calls action tools, its whole content (thinking blocks and their signatures
included) is kept and sent back exactly as received on the next round.

A timeout, a 429, a 5xx or an overload is passing: a warning, and the fallback answers. A 400/401/403/404 is a
configuration error: logged at ERROR with the API's message and request id, counted in ModelRequestErrors, and the
fallback answers too (the customer is never left without a reply).
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field, ValidationError

from concierge.conversation.api import Citation
from concierge.conversation.turn import ActionStatus, Decision, ReadyTurn, ToolCall
from concierge.platform.settings import AgentSettings, ModelSettings
from concierge.reasoning import escalation, prompt
from concierge.reasoning.client import ModelClient, assistant_content, model_errors
from concierge.reasoning.costs import Usage, usage_of
from concierge.workflows import MAX_ACTION_ROUNDS

if TYPE_CHECKING:
    from anthropic.types import Message
    from anthropic.types.beta import BetaMessage

    from concierge.engine.deterministic import DeterministicEngine
    from concierge.offers.moments import OfferMomentHint

logger = logging.getLogger(__name__)
# A greeting ends at its first comma or stop: "Hi Alex, your order shipped, …" loses "Hi Alex, " and nothing more.
GREETING = re.compile(
    r"^\s*(hi|hello|hey|dear|good (morning|afternoon|evening))\b[^,.!?\n]{0,30}[,.!]\s*", re.IGNORECASE
)
AI_MENTION = re.compile(r"\bAI\b")
# Kept from the turn's budget for what follows a model call: the actions, the deterministic engine if it must
# answer instead, and storing the reply.
AFTER_THE_MODEL_SECONDS = 2.0


class SoldOut(BaseModel):
    """The model's word that the variant wanted is sold out and another in stock: the actions function checks it
    against the catalogue before any offer is considered (actions/executor.py)."""

    product_id: str = Field(min_length=1, max_length=80)
    wanted: str = Field(min_length=1, max_length=120)
    alternative: str = Field(min_length=1, max_length=120)
    order_id: str | None = Field(None, max_length=40)


class ModelReply(BaseModel):
    text: str = Field(min_length=1)
    intent: str = "unknown"
    confidence: float | None = Field(None, ge=0, le=1)
    resolved: bool = False
    document_ids: list[str] = Field(default_factory=list)
    sold_out: SoldOut | None = None


class MalformedAnswer(RuntimeError):
    pass


def make_client(settings: ModelSettings, judge: bool = False) -> ModelClient:
    """The model client for the agent (or the Auto-CSAT judge). The SDK is imported on the first call only."""
    return ModelClient(settings, settings.judge_model_id if judge else settings.agent_model)


class ClaudeEngine:
    def __init__(self, client: ModelClient, settings: AgentSettings, fallback: DeterministicEngine) -> None:
        self.client = client
        self.settings = settings
        self.fallback = fallback  # the deterministic engine
        self.prices = settings.prices()

    def decide(self, turn: ReadyTurn) -> Decision:
        # Escalation is code, not prompt: these hand off before any model is asked.
        reason = escalation.trigger(turn, turn.conversation.sentiments, turn.conversation.flow.get("misses", 0))
        if reason is None:
            reason = self._handoff_under_way(turn)
        if reason is not None:
            return self.fallback.handoff(turn, reason).model_copy(update={"engine": "claude"})
        if any(not content for content in turn.assistant_rounds[turn.prefetched :]):
            # The deterministic engine took a round of this turn over: it finishes the turn (the model would be
            # sent tool calls it never made). A prefetched round is no engine's: the model is shown it as lookups
            # made before it was asked (reasoning/prompt.py).
            return self._fall_back(turn, "continued")
        try:
            response = self._ask(turn)
        except model_errors() as error:
            return self._fall_back(turn, self.client.report(error, "agent"))
        usage = usage_of(response.usage, self.client.model, self.prices)
        try:
            decision = self._interpret(turn, response)
        except MalformedAnswer as error:
            logger.warning("malformed model answer, the deterministic engine answers: %s", error)
            return self._fall_back(turn, "malformed", usage)
        except ValidationError as error:  # its values may quote the customer: only where it failed is logged
            where = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['type']}" for e in error.errors())
            logger.warning("malformed model reply (%s), the deterministic engine answers", where)
            return self._fall_back(turn, "malformed", usage)
        return decision.model_copy(update={"usage": usage})

    # the call ----------------------------------------------------------------------------
    def _ask(self, turn: ReadyTurn) -> Message | BetaMessage:
        family = self.client.family
        last_round = turn.loop.steps >= MAX_ACTION_ROUNDS
        # What is left for the model: the turn's deadline less what the rest of the turn needs after it.
        deadline = turn.deadline.timestamp() - AFTER_THE_MODEL_SECONDS if turn.deadline else None
        return self.client.create(
            deadline=deadline,
            max_tokens=self.settings.model_max_tokens or family.max_tokens,
            system=prompt.system_blocks(self.settings, turn.merchant),
            tools=prompt.tools(turn),
            tool_choice=family.tool_choice(prompt.REPLY_TOOL, last_round),
            # A model that thinks between tool calls must find its thinking at the start of the latest assistant
            # message of a tool loop: it is not sent an assistant message it did not write (the prefetched lookups
            # go in the context instead)
            messages=prompt.messages(turn, prefetched_as_round=not family.thinking_blocks),
            **family.request_options(),
        )

    def _interpret(self, turn: ReadyTurn, response: Message | BetaMessage) -> Decision:
        if response.stop_reason == "max_tokens":
            raise MalformedAnswer("max_tokens reached before the answer was complete")
        content = assistant_content(response)
        uses = [block for block in content if block.get("type") == "tool_use"]
        actions = [block for block in uses if block["name"] != prompt.REPLY_TOOL]
        given = {tool["name"] for tool in prompt.tools(turn)}
        if unknown := sorted({block["name"] for block in actions} - given):
            # a tool it was not given (next_best_action, or accept_offer with no offer made) is never run
            raise MalformedAnswer(f"called tools it was not given: {unknown}")
        if actions:
            calls = [
                ToolCall(id=block["id"], tool=block["name"], arguments=dict(block.get("input") or {}))
                for block in actions
            ]
            return Decision(
                next="actions",
                tool_calls=calls,
                flow=turn.conversation.flow,
                engine="claude",
                assistant_content=content,
            )
        replies = [block for block in uses if block["name"] == prompt.REPLY_TOOL]
        if replies:
            reply = ModelReply.model_validate(replies[0].get("input") or {})
        elif self.client.family.forced_tool_use:
            raise MalformedAnswer(f"no tool call although one was forced (stop_reason {response.stop_reason})")
        else:
            # Models without forced tool use may end the turn in plain text: that text is the reply.
            text = "\n\n".join(
                b["text"].strip() for b in content if b.get("type") == "text" and b.get("text", "").strip()
            )
            if not text:
                raise MalformedAnswer(f"neither a reply nor a tool call (stop_reason {response.stop_reason})")
            reply = ModelReply(text=text, intent=turn.signals.intent)
        flow: dict[str, Any]
        text, flow = self._greeted(turn, reply.text), {}
        if reply.confidence is not None and reply.confidence < escalation.LOW_CONFIDENCE and not reply.resolved:
            text = f"{text} If you'd like, I can connect you with a member of our team who can help."
            flow = {"name": "offer_handoff", "reason": "low confidence in an answer"}
        return Decision(
            next="reply",
            reply=text,
            flow=flow,
            resolved=reply.resolved,
            engine="claude",
            confidence=reply.confidence,
            intent=reply.intent,
            citations=self._citations(turn, reply.document_ids),
            close="resolved" if reply.intent in ("thanks", "goodbye") and reply.resolved else None,
            moment=self._moment(turn, reply),
        )

    @staticmethod
    def _moment(turn: ReadyTurn, reply: ModelReply) -> OfferMomentHint | None:
        """The offer moment of the turn, for the offering wrapper (engine/offering.py), named in code where code can
        see it: a refund proposed this turn (the return moment, from the proposal's result, as the deterministic
        engine names it); praise of a product, as the deterministic engine reads it (a praise phrase, clearly
        positive, no question, nothing done this turn); a sold-out variant the model reported from a tool result,
        which the actions function checks against the catalogue. Whether anything is offered is the guardrails' call."""
        from concierge.offers import moments
        from concierge.offers.catalogue import OfferMoment

        if reply.sold_out is not None:
            return moments.OfferMomentHint(
                moment=OfferMoment.VARIANT_OUT_OF_STOCK,
                product_id=reply.sold_out.product_id,
                wanted=reply.sold_out.wanted,
                alternative=reply.sold_out.alternative,
                order_id=reply.sold_out.order_id,
            )
        proposed = [
            r for r in turn.results if r.tool == "return_items" and r.status is ActionStatus.PENDING_CONFIRMATION
        ]
        if proposed:  # a refund proposed this turn, waiting for the customer's yes (the actions function checks)
            return moments.return_requested(proposed[-1].result)
        if turn.results or "?" in turn.message.text:
            return None
        return moments.positive_feedback(turn.message.text, turn.signals.sentiment, turn.signals.frustrated)

    def _greeted(self, turn: ReadyTurn, text: str) -> str:
        """The first reply says it comes from the AI assistant — once: the model is told not to greet, and a
        greeting it wrote anyway gives way to this one."""
        if turn.conversation.customer_turns != 1 or turn.conversation.opened_by_us or AI_MENTION.search(text):
            return text  # (a conversation the shop opened: its first message already said who writes)
        name = turn.merchant.name if turn.merchant else self.settings.merchant_name
        intro = f"Hi {turn.customer.first_name}, I'm the {name} AI assistant."
        rest = GREETING.sub("", text, count=1).strip()
        return f"{intro} {rest[:1].upper()}{rest[1:]}" if rest else intro

    @staticmethod
    def _citations(turn: ReadyTurn, document_ids: list[str]) -> list[Citation]:
        shown = {prompt.document_id(n): p for n, p in enumerate(turn.passages, start=1) if not p.suspicious}
        cited = [shown[i] for i in dict.fromkeys(document_ids) if i in shown]
        return [Citation(title=p.title, url=p.url) for p in cited]

    # handoffs and fallback ---------------------------------------------------------------
    @staticmethod
    def _handoff_under_way(turn: ReadyTurn) -> str | None:
        """The reason of the handoff the model asked for in the previous round, once that round created it."""
        previous = turn.decision
        call = next((c for c in previous.tool_calls if c.tool == "create_handoff"), None) if previous else None
        if call is None or not turn.results_for("create_handoff"):
            return None
        return str(call.arguments.get("reason", "the assistant asked for a person"))

    def _fall_back(self, turn: ReadyTurn, why: str, usage: Usage | None = None) -> Decision:
        decision = self.fallback.decide(turn)
        return decision.model_copy(
            update={"engine": "deterministic-fallback", "usage": usage or Usage(), "fallback": why}
        )
