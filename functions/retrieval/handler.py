"""Retrieval: knowledge passages for the message and what memory recalls about the customer."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from concierge import retrieval, wiring
from concierge.settings import current_settings
from concierge.tasks import RetrieveTask

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context(correlation_id_path="turn.conversation_id")
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
@event_parser(model=RetrieveTask)
def handler(task: RetrieveTask, context: LambdaContext) -> dict[str, Any]:
    settings = current_settings()
    turn = retrieval.retrieve(
        task.turn,
        wiring.memory_store(settings),
        wiring.knowledge_index(settings),
        wiring.embedder(settings),
        recall_actions=settings.recall_actions or settings.model_provider != "none",
    )
    return turn.model_dump(mode="json")
