"""Claude as the agent: the tool-use loop runs through the turn workflow (agent -> actions -> agent, bounded), and
the customer always gets a reply — on a timeout, a 429, a 5xx, an overload or a malformed answer, the
deterministic engine decides instead.

Each agent step is one Messages API call with `tool_choice: any`: Claude either calls action tools (one or
several; the actions function runs them and the results come back as tool_result blocks) or ends the turn
with `reply_to_customer`, which carries the reply and its intent, confidence and resolution state.
"""
from __future__ import annotations

import logging
from pydantic import BaseModel, Field, ValidationError

from concierge.reasoning import escalation, prompt
from concierge.reasoning.costs import Usage, usage_of
from concierge.settings import Settings
from concierge.turn import Decision, ToolCall, Turn
from concierge.workflows import MAX_ACTION_ROUNDS

logger = logging.getLogger(__name__)


class ModelReply(BaseModel):
    text: str = Field(min_length=1)
    intent: str = "unknown"
    confidence: float = Field(ge=0, le=1)
    resolved: bool = False
    handoff_reason: str | None = None


class MalformedAnswer(RuntimeError):
    pass


def make_client(settings: Settings):
    """The anthropic SDK client for the configured provider (imported here: only the agent function pays for it)."""
    import anthropic

    common = {"timeout": settings.model_timeout_seconds, "max_retries": settings.model_max_retries}
    if settings.model_provider == "bedrock":
        return anthropic.AnthropicBedrock(**common)
    api_key = settings.anthropic_api_key
    if not api_key and settings.anthropic_api_key_secret_arn:
        from concierge import aws

        api_key = aws.client("secretsmanager").get_secret_value(SecretId=settings.anthropic_api_key_secret_arn)["SecretString"]
    return anthropic.Anthropic(api_key=api_key, base_url=settings.anthropic_base_url, **common)


def _model_errors() -> tuple[type[BaseException], ...]:
    import anthropic

    return (anthropic.APITimeoutError, anthropic.APIConnectionError, anthropic.RateLimitError,
            anthropic.InternalServerError, anthropic.APIStatusError)


class ClaudeEngine:
    def __init__(self, client, settings: Settings, fallback) -> None:
        self.client = client
        self.settings = settings
        self.fallback = fallback  # the deterministic engine
        self.prices = settings.prices()

    def decide(self, turn: Turn) -> Decision:
        assert turn.signals and turn.conversation and turn.message and turn.customer
        # Escalation is code, not prompt: these hand off before any model is asked.
        reason = escalation.trigger(turn, turn.conversation.sentiments, turn.conversation.flow.get("misses", 0))
        if reason or self._handoff_under_way(turn):
            return self.fallback.handoff(turn, reason or self._handoff_reason(turn)).model_copy(update={"engine": "claude"})
        try:
            response = self._ask(turn)
        except _model_errors() as error:
            return self._fall_back(turn, f"{type(error).__name__}: {getattr(error, 'status_code', '')}".strip(": "))
        usage = usage_of(response.usage, self.settings.model, self.prices)
        try:
            decision = self._interpret(turn, response)
        except (MalformedAnswer, ValidationError) as error:
            return self._fall_back(turn, f"malformed answer: {error}", usage)
        return decision.model_copy(update={"usage": usage})

    # the call ----------------------------------------------------------------------------
    def _ask(self, turn: Turn):
        last_round = turn.loop.steps >= MAX_ACTION_ROUNDS
        return self.client.messages.create(
            model=self.settings.model,
            max_tokens=self.settings.model_max_tokens,
            system=prompt.system_blocks(self.settings, turn.merchant),
            tools=prompt.tools(),
            tool_choice={"type": "tool", "name": prompt.REPLY_TOOL} if last_round else {"type": "any"},
            messages=prompt.messages(turn),
        )

    def _interpret(self, turn: Turn, response) -> Decision:
        uses = [block for block in response.content if getattr(block, "type", None) == "tool_use"]
        if not uses:
            raise MalformedAnswer(f"no tool call (stop_reason {response.stop_reason})")
        actions = [block for block in uses if block.name != prompt.REPLY_TOOL]
        if actions:
            calls = [ToolCall(id=block.id, tool=block.name, arguments=dict(block.input or {})) for block in actions]
            return Decision(next="actions", tool_calls=calls, flow=turn.conversation.flow, engine="claude")
        reply = ModelReply.model_validate(uses[0].input)
        if reply.handoff_reason:
            return self.fallback.handoff(turn, reply.handoff_reason, preface=reply.text).model_copy(update={"engine": "claude"})
        text, flow = reply.text, {}
        if turn.conversation.customer_turns == 1 and " AI" not in f" {text}":
            # The customer is told at the start that this is an AI: enforced here, not only asked in the prompt.
            name = turn.merchant.name if turn.merchant else self.settings.merchant_name
            text = f"Hi {turn.customer.first_name}, I'm the {name} AI assistant. {text}"
        if reply.confidence < escalation.LOW_CONFIDENCE and not reply.resolved:
            text = f"{text} If you'd like, I can connect you with a member of our team who can help."
            flow = {"name": "offer_handoff", "reason": "low confidence in an answer"}
        return Decision(
            next="reply", reply=text, flow=flow, resolved=reply.resolved, engine="claude", confidence=reply.confidence,
            intent=reply.intent,
            close="resolved" if reply.intent in ("thanks", "goodbye") and reply.resolved else None,
        )

    # handoffs and fallback ---------------------------------------------------------------
    @staticmethod
    def _handoff_under_way(turn: Turn) -> bool:
        previous = turn.decision
        return bool(previous and any(c.tool == "create_handoff" for c in previous.tool_calls) and turn.results_for("create_handoff"))

    @staticmethod
    def _handoff_reason(turn: Turn) -> str:
        call = next(c for c in turn.decision.tool_calls if c.tool == "create_handoff")
        return str(call.arguments.get("reason", "the assistant asked for a person"))

    def _fall_back(self, turn: Turn, why: str, usage: Usage | None = None) -> Decision:
        logger.warning("model unavailable, deterministic engine answers: %s", why)
        decision = self.fallback.decide(turn)
        return decision.model_copy(update={"engine": "deterministic-fallback", "usage": usage or Usage()})

