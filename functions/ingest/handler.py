"""Ingest: the channel edge. It receives every customer message and records every reply.

- Step Functions tasks of the turn workflow: receive (web or channel message) and reply; of the approval
  workflow: tell the customer what became of their request; and of the journey workflow: open the conversation
  and send the journey's message (journeys/outreach.py);
- API Gateway proxy requests: customer data rights, consent, merges, and the WhatsApp webhook;
- SES receipt events (inbound email): taken in and published as message.received;
- S3 notifications for the knowledge bucket's documents/: the uploaded help-center files are (re)indexed;
- SQS batches from the message-received queue: each channel message's turn is run and its reply delivered
  (partial batch failures: a failed message is retried, then parked in the dead-letter queue).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from concierge.conversation import edges as conversations
from concierge.conversation.tasks import IngestTask, JourneySendTask, NotifyTask, ReceiveTask
from concierge.conversation.turn import RejectedTurn
from concierge.platform import startup, tracing, wiring
from concierge.platform.clock import now
from concierge.platform.settings import IngestSettings, current_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch import BatchProcessor
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
metrics = Metrics()
_processor: BatchProcessor | None = None


def processor() -> BatchProcessor:
    """The SQS batch processor, imported and built with the first batch: only channel messages come from SQS, and a
    web turn's cold start does without it. (Imported after pydantic, powertools' batch package also builds its
    parser's record models: that first batch pays for them, a web turn never does.)"""
    global _processor
    if _processor is None:
        from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType

        _processor = BatchProcessor(event_type=EventType.SQS)
    return _processor


def services() -> conversations.EdgeServices:
    settings = current_settings(IngestSettings)
    return conversations.EdgeServices(
        memory=wiring.memory_store(settings),
        store=wiring.reference_store(settings),
        events=wiring.publisher(settings),
        signing_keys=wiring.signing_keys(settings),
        merchant=wiring.merchant_profiles(settings).get,
        turn_budget_seconds=settings.turn_budget_seconds,
    )


def _turn_task(event: dict[str, Any]) -> dict[str, Any]:
    task = IngestTask.model_validate({"task": event}).task
    if isinstance(task, NotifyTask):  # the approval workflow's last step: tell the customer
        from concierge.conversation.notices import deliver_notice

        outcome = deliver_notice(task.notice, wiring.notice_services(current_settings(IngestSettings)), now())
        logger.info("notice", extra={k: v for k, v in outcome.items() if k != "provider_id"})
        return outcome
    if isinstance(task, JourneySendTask):  # the journey workflow's last step: the message, as a conversation
        from concierge.journeys.outreach import send

        sent = send(task.outreach, wiring.outreach_services(current_settings(IngestSettings)), now())
        logger.info("journey message", extra={k: v for k, v in sent.items() if k != "proposals"})
        metrics.add_metric(
            name="JourneyMessages" if sent["sent"] else "JourneyMessagesSkipped", unit=MetricUnit.Count, value=1
        )
        return sent
    if isinstance(task, ReceiveTask):
        turn = conversations.receive(task.request, services(), now())
        if isinstance(turn, RejectedTurn):
            logger.info("turn rejected", extra={"status": turn.http.statusCode})
            metrics.add_metric(name="TurnsRejected", unit=MetricUnit.Count, value=1)
    else:
        turn = conversations.reply(task.turn, services(), now())
        metrics.add_metric(name="TurnsCompleted", unit=MetricUnit.Count, value=1)
    return turn.model_dump(mode="json")


def _channel_message(record: SQSRecord) -> None:
    from concierge.platform.events import MessageReceived

    envelope = record.json_body
    message = MessageReceived.model_validate(envelope["detail"]).message
    outcome = wiring.inbox(current_settings(IngestSettings)).process(message)
    logger.info("channel message processed", extra={"channel": message.channel.value, "outcome": outcome})
    metrics.add_metric(name="ChannelMessages", unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context(correlation_id_path="turn.conversation_id || request.path.conversation_id")
@tracing.traced
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any] | PartialItemFailureResponse:
    if "httpMethod" in event:
        from concierge.web import http_api

        settings = current_settings(IngestSettings)
        return http_api.resolve(event, context, lambda: wiring.http_services(settings), settings.allowed_origins)
    source = (event.get("Records") or [{}])[0].get("eventSource")
    if source == "aws:ses":
        taken = wiring.email_intake(current_settings(IngestSettings)).receive(event, now())
        metrics.add_metric(name="EmailsReceived", unit=MetricUnit.Count, value=taken)
        return {"received": taken}
    if source == "aws:s3":
        from concierge.knowledge.service import sync_uploads

        report = sync_uploads(current_settings(IngestSettings), event)
        logger.info("knowledge synced", extra={"report": report.__dict__})
        return report.__dict__
    if source == "aws:sqs":
        from aws_lambda_powertools.utilities.batch import process_partial_response

        return process_partial_response(
            event=event, record_handler=_channel_message, processor=processor(), context=context
        )
    return _turn_task(event)


startup.loaded()  # the last statement: the handler module has loaded (functions/__init__.py)
