"""The approval workflow's definition (the one CDK deploys) on the local interpreter with fake functions: a
decision is waited for with a task token, then executed or declined; no decision in time takes the timeout path."""

from __future__ import annotations

import threading
import time

import pytest

from concierge.conversation.tasks import ActionsTask, ApprovalStepTask, ApprovalWaitTask, IngestTask, NotifyTask
from concierge.local.statemachine import LocalStateMachine, TaskTimedOut, TaskTokens
from concierge.platform.topology import FunctionName
from concierge.workflows import approval_definition, function_arn_placeholder

REQUEST = {
    "action_id": "A1",
    "conversation_id": "c1",
    "customer_id": "alex",
    "tool": "return_items",
    "summary": "Refund 378.00 USD to your Visa card ending 4242 for Down Puffer Jacket (order NW1)",
    "amount": "378.00",
    "currency": "USD",
    "reason": "refund above 200.00 USD",
    "requested_at": "2025-05-14T12:00:00Z",
    "timeout_seconds": 5,
}


class Fakes:
    """Every call is validated against the task contracts the real handlers parse (concierge.conversation.tasks)."""

    def __init__(self) -> None:
        self.tokens: list[str] = []
        self.steps: list[str] = []
        self.notices: list[dict] = []
        self.token_stored = threading.Event()

    def invoke(self, function: str, payload: dict):
        if function == FunctionName.ACTIONS.value:
            task = ActionsTask.model_validate({"task": payload}).task
            if isinstance(task, ApprovalWaitTask):
                self.tokens.append(task.task_token)
                self.token_stored.set()
                return {"waiting": task.approval.action_id}
            assert isinstance(task, ApprovalStepTask)
            self.steps.append(task.kind)
            decision = task.approval.decision
            return {
                "conversation_id": "c1",
                "customer_id": "alex",
                "key": f"A1:{task.kind}",
                "text": f"{task.kind} by {decision.decided_by if decision else 'nobody'}",
            }
        task = IngestTask.model_validate({"task": payload}).task
        assert isinstance(task, NotifyTask)
        self.notices.append(task.notice.model_dump())
        return {"delivered": True}


def machine(fakes: Fakes) -> LocalStateMachine:
    substitutions = {function_arn_placeholder(n): n.value for n in FunctionName}
    return LocalStateMachine(approval_definition(), substitutions, fakes.invoke, tokens=TaskTokens())


def run_async(sm: LocalStateMachine, request: dict) -> dict:
    result: dict = {}

    def run() -> None:
        result["output"], result["states"] = sm.execute(request, name=request["action_id"])

    thread = threading.Thread(target=run)
    thread.start()
    result["thread"] = thread
    return result


@pytest.mark.parametrize(
    ("verdict", "path", "step"),
    [
        ("approved", ["WaitForDecision", "Approved?", "Execute", "NotifyCustomer"], "approval.execute"),
        ("denied", ["WaitForDecision", "Approved?", "Decline", "NotifyCustomer"], "approval.decline"),
    ],
)
def test_a_decision_sent_with_the_token_resumes_the_waiting_execution(verdict, path, step):
    fakes = Fakes()
    sm = machine(fakes)
    result = run_async(sm, REQUEST)
    assert fakes.token_stored.wait(5)
    time.sleep(0.05)
    assert result["thread"].is_alive(), "the execution waits for a person"
    sm.tokens.succeed(fakes.tokens[0], {"decision": verdict, "decided_by": "dana", "note": ""})
    result["thread"].join(5)
    assert result["states"] == path
    assert fakes.steps == [step]
    assert fakes.notices[0]["text"] == f"{step} by dana"
    # The token is spent: a second decision is refused, as SendTaskSuccess refuses it.
    with pytest.raises(TaskTimedOut):
        sm.tokens.succeed(fakes.tokens[0], {"decision": "approved", "decided_by": "lee", "note": ""})


def test_no_decision_in_time_takes_the_timeout_path_and_a_late_decision_is_refused():
    fakes = Fakes()
    sm = machine(fakes)
    output, states = sm.execute({**REQUEST, "timeout_seconds": 1}, name="A1")
    assert states == ["WaitForDecision", "Expire", "NotifyCustomer"]
    assert output["timeout"]["Error"] == "States.Timeout"
    assert fakes.steps == ["approval.expire"] and fakes.notices[0]["text"] == "approval.expire by nobody"
    with pytest.raises(TaskTimedOut):
        sm.tokens.succeed(fakes.tokens[0], {"decision": "approved", "decided_by": "dana", "note": ""})


def test_the_timeout_comes_from_the_request_not_a_constant():
    definition = approval_definition()
    wait = definition["States"]["WaitForDecision"]
    assert "TimeoutSeconds" not in wait and wait["TimeoutSecondsPath"] == "$.timeout_seconds"
    assert wait["Parameters"]["Payload"]["task_token.$"] == "$$.Task.Token"
    # executing and notifying are safe to retry: execution is idempotent per action, notices once per key
    for name in ("Execute", "Decline", "Expire", "NotifyCustomer"):
        assert definition["States"][name]["Retry"][0]["ErrorEquals"] == ["States.ALL"]
