"""Actions: execute the agent's tool calls under the merchant's policy, for the verified customer only; the tasks of
the approval workflow (wait for a person, then execute, decline or expire); and journeys (docs/journeys.md): the
signals (and promoters' survey answers, and customers scored at risk of churning) of the `signals-to-journeys` queue
start journey workflows, whose enter and check steps run here; and the scheduled churn scoring, a page of customers
per message of the `churn-scoring` queue (docs/churn.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from concierge.actions.executor import ActionExecutor
from concierge.conversation.tasks import ActionsTask, ActTask, ApprovalWaitTask, JourneyCheckTask, JourneyEnterTask
from concierge.platform import startup, tracing, wiring
from concierge.platform.clock import now
from concierge.platform.settings import ActionsSettings, current_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
metrics = Metrics()


@logger.inject_lambda_context(correlation_id_path="turn.conversation_id || approval.conversation_id")
@tracing.traced
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any] | PartialItemFailureResponse:
    if "Records" in event:  # a batch of signals (signals-to-journeys), or a page of churn scoring (churn-scoring)
        from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

        processor = BatchProcessor(event_type=EventType.SQS)
        return process_partial_response(event=event, record_handler=_signal, processor=processor, context=context)
    task = ActionsTask.model_validate({"task": event}).task
    if isinstance(task, JourneyEnterTask | JourneyCheckTask):
        return _journey_step(task)
    executor = ActionExecutor(wiring.action_services(current_settings(ActionsSettings)), now(), context)
    if isinstance(task, ActTask):
        turn = executor.run(task.turn)
        for result in turn.results[len(task.turn.results) :]:
            metrics.add_metric(name=f"Action_{result.status.value}", unit=MetricUnit.Count, value=1)
            logger.info("action", extra={"tool": result.tool, "status": result.status.value, "reason": result.reason})
        return turn.model_dump(mode="json")
    if isinstance(task, ApprovalWaitTask):
        executor.approval_waiting(task.approval, task.task_token)
        metrics.add_metric(name="ApprovalsRequested", unit=MetricUnit.Count, value=1)
        return {"waiting": task.approval.action_id}
    approval = task.approval
    if task.kind == "approval.execute":
        assert approval.decision is not None  # the workflow reaches Execute only with the person's decision
        notice = executor.approved(approval, approval.decision)
    elif task.kind == "approval.decline":
        assert approval.decision is not None  # the workflow reaches Decline only with the person's decision
        notice = executor.declined(approval, approval.decision)
    else:
        notice = executor.expired(approval)
    logger.info("approval settled", extra={"action_id": approval.action_id, "step": task.kind})
    metrics.add_metric(name=task.kind.replace(".", "_"), unit=MetricUnit.Count, value=1)
    return notice.model_dump(mode="json")


def _signal(record: SQSRecord) -> None:
    from concierge.journeys.runner import from_event, start

    if record.json_body.get("detail-type") == "churn.scoring.requested":
        return _churn_page(record.json_body)
    settings = current_settings(ActionsSettings)
    workflow = wiring.journeys(settings)
    signal = from_event(record.json_body)
    for name, execution_input in start(signal, wiring.memory_store(settings), wiring.merchant_profile(settings)):
        started = workflow.start(name, execution_input) if workflow is not None else False
        logger.info("journey", extra={"journey": execution_input["journey"], "run": name, "started": started})


def _churn_page(event: dict[str, Any]) -> None:
    """Score one page of customers; a page another invocation holds fails this record (it comes back later)."""
    from concierge.churn.scheduled import score_page
    from concierge.platform.events import ChurnScoringRequested

    request = ChurnScoringRequested.model_validate(event["detail"])
    scored = score_page(request, wiring.churn_scoring(current_settings(ActionsSettings)), now())
    logger.info("churn scored", extra=scored.model_dump(mode="json"))
    metrics.add_metric(name="ChurnScored", unit=MetricUnit.Count, value=scored.customers)
    metrics.add_metric(name="ChurnRiskPublished", unit=MetricUnit.Count, value=scored.published)


def _journey_step(task: JourneyEnterTask | JourneyCheckTask) -> dict[str, Any]:
    from concierge.journeys import runner

    services = wiring.journey_services(current_settings(ActionsSettings))
    if isinstance(task, JourneyEnterTask):
        plan = runner.enter(task.journey, runner.parse(task.signal), services, now())
        logger.info("journey entered", extra={"journey": plan.journey, "go": plan.go, "reason": plan.reason})
        return plan.model_dump(mode="json")
    outreach = runner.check(task.plan, services, now())
    logger.info("journey checked", extra={"journey": outreach.journey, "go": outreach.go, "reason": outreach.reason})
    metrics.add_metric(name=f"Journey_{outreach.reason}", unit=MetricUnit.Count, value=1)
    return outreach.model_dump(mode="json")


startup.loaded()  # the last statement: the handler module has loaded (functions/__init__.py)
