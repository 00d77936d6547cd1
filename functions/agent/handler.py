"""Agent: decide what to do next — reply, call tools, or hand off."""
from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from concierge.engine.deterministic import DeterministicEngine
from concierge.settings import current_settings
from concierge.tasks import DecideTask

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context(correlation_id_path="turn.conversation_id")
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
@event_parser(model=DecideTask)
def handler(task: DecideTask, context: LambdaContext) -> dict:
    settings = current_settings()
    engine = DeterministicEngine(settings.merchant_name, settings.return_window_days)
    decision = engine.decide(task.turn)
    if decision.handoff:
        metrics.add_metric(name="Handoffs", unit=MetricUnit.Count, value=1)
    logger.info("decision", extra={"next": decision.next, "tools": [c.tool for c in decision.tool_calls]})
    return task.turn.model_copy(update={"decision": decision}).model_dump(mode="json")
