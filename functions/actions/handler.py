"""Actions: execute the agent's tool calls under the merchant's policy, for the verified customer only."""
from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from concierge import wiring
from concierge.actions.executor import ActionExecutor
from concierge.clock import now
from concierge.settings import current_settings
from concierge.tasks import ActTask

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context(correlation_id_path="turn.conversation_id")
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
@event_parser(model=ActTask)
def handler(task: ActTask, context: LambdaContext) -> dict:
    executor = ActionExecutor(wiring.action_services(current_settings()), now())
    turn = executor.run(task.turn)
    for result in turn.results[len(task.turn.results):]:
        metrics.add_metric(name=f"Action_{result.status.value}", unit=MetricUnit.Count, value=1)
        logger.info("action", extra={"tool": result.tool, "status": result.status.value, "reason": result.reason})
    return turn.model_dump(mode="json")
