"""Actions: execute the agent's tool calls under the merchant's policy, for the verified customer only; and the
tasks of the approval workflow (wait for a person, then execute, decline or expire)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from concierge.actions.executor import ActionExecutor
from concierge.conversation.tasks import ActionsTask, ActTask, ApprovalWaitTask
from concierge.platform import startup, tracing, wiring
from concierge.platform.clock import now
from concierge.platform.settings import ActionsSettings, current_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
metrics = Metrics()


@logger.inject_lambda_context(correlation_id_path="turn.conversation_id || approval.conversation_id")
@tracing.traced
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = ActionsTask.model_validate({"task": event}).task
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


startup.loaded()  # the last statement: the handler module has loaded (functions/__init__.py)
