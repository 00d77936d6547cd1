"""Survey scoring, fed by EventBridge -> SQS (partial batch failures), one record at a time:

- from the conversation-closed queue: Auto-CSAT for every closed conversation (and the surveys it offers);
- from the KPI queue (`topology` rule kpi-events-to-surveys): the KPI roll-up (concierge.metrics.rollup).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

# Every call is a batch: the batch package loads with the module, before pydantic (`concierge` below), which keeps it
# from also building powertools' parser models (it does when pydantic is already loaded).
from concierge.platform import startup, tracing, wiring
from concierge.platform.clock import now
from concierge.platform.settings import SurveysSettings, current_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.SQS)


def score_record(record: SQSRecord) -> None:
    from concierge.surveys.scoring import on_conversation_closed  # the closed-conversation queue only

    score, offers = on_conversation_closed(
        record.json_body, wiring.closed_conversation_services(current_settings(SurveysSettings)), now()
    )
    logger.info(
        "auto-csat",
        extra={
            "conversation_id": score.conversation_id,
            "score": score.score,
            "scorer": score.scorer_version,
            "surveys": [o.survey for o in offers],
        },
    )


def rollup_record(record: SQSRecord) -> None:
    applied = wiring.rollup(current_settings(SurveysSettings)).apply(record.json_body)
    logger.debug("kpi roll-up", extra={"detail_type": applied.detail_type, "outcome": applied.outcome})
    metrics.add_metric(
        name="KpiEventsDuplicate" if applied.outcome == "duplicate" else "KpiEventsApplied",
        unit=MetricUnit.Count,
        value=1,
    )


def process_record(record: SQSRecord) -> None:
    if record.event_source_arn == current_settings(SurveysSettings).metrics_queue_arn:
        rollup_record(record)
    else:
        score_record(record)


@logger.inject_lambda_context
@tracing.traced
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=process_record, processor=processor, context=context)


startup.loaded()  # the last statement: the handler module has loaded (functions/__init__.py)
