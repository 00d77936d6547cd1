"""Survey scoring: Auto-CSAT for every closed conversation, fed by EventBridge -> SQS (partial batch failures)."""
from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from concierge import wiring
from concierge.settings import current_settings
from concierge.surveys.scoring import record_auto_csat

logger = Logger()
tracer = Tracer()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.SQS)


def score_record(record: SQSRecord) -> None:
    score = record_auto_csat(record.json_body, wiring.memory_store(current_settings()))
    logger.info("auto-csat", extra={"conversation_id": score.conversation_id, "score": score.score})


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    return process_partial_response(event=event, record_handler=score_record, processor=processor, context=context)
