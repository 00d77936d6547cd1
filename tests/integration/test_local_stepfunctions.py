"""The local runtime's answers to the Step Functions API (concierge/local/stepfunctions.py): the production adapters
get what Step Functions would answer, and every other call still goes to moto."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws

from concierge.actions.approval_models import DecisionOutput
from concierge.actions.approvals import ApprovalExpired, ApprovalRequest, StepFunctionsApprovals
from concierge.local.executions import ExecutionAlreadyExists
from concierge.local.statemachine import TaskTimedOut
from concierge.local.stepfunctions import LocalStepFunctions
from concierge.platform.wiring import StepFunctionsTurnRunner

TURN = "arn:aws:states:us-east-1:123456789012:stateMachine:concierge-turn"
APPROVAL = "arn:aws:states:us-east-1:123456789012:stateMachine:concierge-approval"


class Approvals:
    """What LocalApprovals does, recorded: a second execution of a name is refused, a used token times out."""

    def __init__(self) -> None:
        self.started: dict[str, Any] = {}
        self.tokens = {"token-1"}

    def start_execution(self, name: str, execution_input: dict[str, Any]) -> None:
        if name in self.started:
            raise ExecutionAlreadyExists(f"Execution Already Exists: '{name}'")
        self.started[name] = execution_input

    def send_task_success(self, task_token: str, output: Any) -> None:
        if task_token not in self.tokens:
            raise TaskTimedOut("Task Timed Out")
        self.tokens.discard(task_token)


@pytest.fixture
def sfn(monkeypatch):
    for key, value in {
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        session = boto3.Session()
        approvals = Approvals()

        def run_turn(execution_input: dict[str, Any]) -> dict[str, Any]:
            if execution_input.get("fail"):
                raise RuntimeError("the agent step failed")
            return {"statusCode": 200, "body": json.dumps({"echo": execution_input["text"]})}

        local = LocalStepFunctions(TURN, run_turn, APPROVAL, approvals)
        local.attach(session)
        yield session.client("stepfunctions"), approvals
        local.detach()


def test_the_turn_runner_gets_the_workflows_output_or_its_failure(sfn):
    client, _ = sfn
    run = StepFunctionsTurnRunner(client, TURN)
    assert run({"text": "hi"}) == (200, json.dumps({"echo": "hi"}))
    status, body = run({"text": "hi", "fail": True})
    assert status == 500 and "failed" in json.loads(body)["message"]


def test_an_approval_started_twice_runs_once_and_a_used_token_is_expired(sfn):
    client, approvals = sfn
    workflow = StepFunctionsApprovals(client, APPROVAL)
    request = ApprovalRequest(
        action_id="A1",
        conversation_id="c1",
        customer_id="alex",
        tool="return_items",
        summary="Refund 378.00 USD",
        reason="refund above 200.00",
        requested_at=datetime(2026, 12, 1, tzinfo=UTC),
        timeout_seconds=3600,
    )
    with pytest.raises(client.exceptions.ExecutionAlreadyExists):  # as Step Functions answers a second start
        client.start_execution(stateMachineArn=APPROVAL, name="A0", input="{}")
        client.start_execution(stateMachineArn=APPROVAL, name="A0", input="{}")
    workflow.start(request)
    workflow.start(request)  # a repeated confirmation: the adapter takes the refusal as "already running"
    assert list(approvals.started) == ["A0", "A1"]
    assert approvals.started["A1"]["action_id"] == "A1"
    workflow.send_decision("token-1", DecisionOutput(decision="approved", decided_by="sam"))
    with pytest.raises(ApprovalExpired):  # the token is used: Step Functions' TaskTimedOut
        workflow.send_decision("token-1", DecisionOutput(decision="denied", decided_by="sam"))


def test_other_state_machines_go_to_moto(sfn):
    client, approvals = sfn
    with pytest.raises(client.exceptions.StateMachineDoesNotExist):
        client.start_execution(
            stateMachineArn="arn:aws:states:us-east-1:123456789012:stateMachine:someone-else", name="x", input="{}"
        )
    assert approvals.started == {}
