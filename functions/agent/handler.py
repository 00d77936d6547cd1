"""Agent: decide what to do next — reply, call tools, or hand off. Claude when a model is configured (the
anthropic SDK is imported only then), the deterministic engine otherwise and as the fallback."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from concierge.conversation.turn_tasks import DecideTask
from concierge.engine.deterministic import DeterministicEngine
from concierge.engine.offering import OfferingEngine, offering
from concierge.platform import startup, tracing
from concierge.platform.settings import AgentSettings, current_settings
from concierge.store.merchant import MerchantProfile

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from concierge.reasoning.claude import ClaudeEngine

logger = Logger()
metrics = Metrics()
_engines: dict[AgentSettings, OfferingEngine] = {}
FALLBACK_REASONS = {
    "transient": "the model was unavailable (timeout, throttling, outage): the deterministic engine answered",
    "request": (
        "the model rejected the request (configuration error, see ModelRequestErrors): "
        "the deterministic engine answered"
    ),
    "no_key": "no Anthropic API key is set yet: the deterministic engine answered",
    "malformed": "the model's answer was malformed: the deterministic engine answered",
    "continued": "the deterministic engine finished a turn it had taken over from the model",
    "deadline": "too little of the turn's time was left for the model: the deterministic engine answered",
    "circuit_open": "the model failed repeatedly and is skipped for a while: the deterministic engine answered",
}


def engine(settings: AgentSettings) -> OfferingEngine:
    """One engine per process (the model client keeps its connections warm between invocations), wrapped so that
    a reply at an offer moment asks the actions function's next best action first (engine/offering.py)."""
    if settings not in _engines:
        profile = MerchantProfile.from_settings(settings)
        deterministic = DeterministicEngine(profile)
        inner: DeterministicEngine | ClaudeEngine
        if settings.model_provider == "none":
            inner = deterministic
        else:
            from concierge.reasoning.claude import ClaudeEngine, make_client

            inner = ClaudeEngine(make_client(settings), settings, deterministic)
        _engines[settings] = offering(inner, profile, settings.offer_salt)
    return _engines[settings]


@logger.inject_lambda_context(correlation_id_path="turn.conversation_id")
@tracing.traced
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    turn = DecideTask.model_validate(event).turn
    decision = engine(current_settings(AgentSettings)).decide(turn)
    errors = dict(turn.errors)
    if decision.engine == "deterministic-fallback":
        errors["model"] = FALLBACK_REASONS.get(decision.fallback or "", "the deterministic engine answered")
        metrics.add_metric(name="ModelFallbacks", unit=MetricUnit.Count, value=1)
    if decision.handoff:
        metrics.add_metric(name="Handoffs", unit=MetricUnit.Count, value=1)
    logger.info(
        "decision",
        extra={
            "next": decision.next,
            "engine": decision.engine,
            "tools": [c.tool for c in decision.tool_calls],
            "tokens": decision.usage.input_tokens + decision.usage.output_tokens,
        },
    )
    return turn.decided(decision, errors).model_dump(mode="json")


startup.loaded()  # the last statement: the handler module has loaded (functions/__init__.py)
