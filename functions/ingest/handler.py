"""Ingest: the edges of a turn — receive the customer's message, and record the reply."""
from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from concierge import conversations, wiring
from concierge.clock import now
from concierge.settings import current_settings
from concierge.tasks import IngestTask, ReceiveTask

logger = Logger()
tracer = Tracer()
metrics = Metrics()


def services():
    settings = current_settings()
    return conversations.EdgeServices(
        memory=wiring.memory_store(settings),
        store=wiring.reference_store(settings),
        events=wiring.publisher(settings),
        signing_secret=wiring.signing_secret(settings),
    )


@logger.inject_lambda_context(correlation_id_path="turn.conversation_id || request.path.conversation_id")
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    task = IngestTask.model_validate({"task": event}).task
    if isinstance(task, ReceiveTask):
        turn = conversations.receive(task.request, services(), now())
        if not turn.accepted:
            logger.info("turn rejected", extra={"status": turn.http.statusCode})
            metrics.add_metric(name="TurnsRejected", unit=MetricUnit.Count, value=1)
    else:
        turn = conversations.reply(task.turn, services(), now())
        metrics.add_metric(name="TurnsCompleted", unit=MetricUnit.Count, value=1)
    return turn.model_dump(mode="json")
