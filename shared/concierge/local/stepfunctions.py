"""The Step Functions API, answered locally.

The product reaches its workflows through the production adapters, as deployed: wiring's `StepFunctionsTurnRunner`
(StartSyncExecution of the Express turn workflow, for email and WhatsApp turns), `StepFunctionsApprovals`
(StartExecution of the Standard approval workflow, SendTaskSuccess of a decision) and `StepFunctionsJourneys`
(StartExecution of the Standard journey workflow). moto records those calls but does
not run a definition, so the local runtime answers them itself, from its interpreter of the same definitions CDK
deploys (statemachine.py). It does so through botocore's `before-call` event, the documented way to answer a call
without sending it (botocore's own Stubber works so): production code holds no hook for the local runtime, and its
adapters run here as they do in Lambda. Calls to any other state machine, and every other operation, go on to moto.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse

from concierge.local.approvals import LocalApprovals
from concierge.local.executions import ExecutionAlreadyExists
from concierge.local.journeys import LocalJourneys
from concierge.local.statemachine import TaskTimedOut

_EVENT = "before-call.sfn"
_UNIQUE_ID = "concierge-local-stepfunctions"

Answer = tuple[AWSResponse, dict[str, Any]]


def _ok(response: dict[str, Any]) -> Answer:
    return AWSResponse(None, 200, {}, None), {**response, "ResponseMetadata": {"HTTPStatusCode": 200}}


def _error(code: str, message: str) -> Answer:
    # As Step Functions answers: botocore raises the operation's modelled exception (client.exceptions.<code>).
    return AWSResponse(None, 400, {}, None), {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": 400},
    }


class LocalStepFunctions:
    def __init__(
        self,
        turn_arn: str,
        run_turn: Callable[[dict[str, Any]], dict[str, Any]],
        approval_arn: str,
        approvals: LocalApprovals,
        journey_arn: str | None = None,
        journeys: LocalJourneys | None = None,
    ) -> None:
        self.turn_arn = turn_arn
        self.approval_arn = approval_arn
        self.journey_arn = journey_arn
        self._run_turn = run_turn  # the turn workflow's output for an input; raises when the execution fails
        self._approvals = approvals
        self._journeys = journeys
        self._session: boto3.Session | None = None

    def attach(self, session: boto3.Session) -> None:
        """Answer the Step Functions calls of every client `session` creates from now on (clients copy the session's
        handlers when they are created)."""
        session.events.register(_EVENT, self._answer, unique_id=_UNIQUE_ID)
        self._session = session

    def detach(self) -> None:
        if self._session is not None:
            self._session.events.unregister(_EVENT, unique_id=_UNIQUE_ID)
            self._session = None

    def _answer(self, model: Any, params: dict[str, Any], **_: Any) -> Answer | None:
        request = json.loads(params.get("body") or b"{}")  # Step Functions speaks JSON: the call's own parameters
        operation = model.name
        if operation == "StartSyncExecution" and request.get("stateMachineArn") == self.turn_arn:
            return self._start_sync(request)
        if operation == "StartExecution" and request.get("stateMachineArn") == self.approval_arn:
            return self._start(request, self.approval_arn, self._approvals.start_execution)
        if (
            self._journeys is not None
            and operation == "StartExecution"
            and request.get("stateMachineArn") == self.journey_arn
        ):
            return self._start(request, request["stateMachineArn"], self._journeys.start_execution)
        if operation == "SendTaskSuccess":
            return self._task_success(request)
        return None  # not ours: moto answers

    def _start_sync(self, request: dict[str, Any]) -> Answer:
        started = datetime.now(UTC)
        name = request.get("name") or f"turn-{started.timestamp():.6f}"
        execution = {
            "executionArn": f"{self.turn_arn.replace(':stateMachine:', ':express:')}:{name}",
            "stateMachineArn": self.turn_arn,
            "name": name,
            "startDate": started,
        }
        try:
            output = self._run_turn(json.loads(request.get("input") or "{}"))
        except Exception as error:  # a failed execution is an answer, not an API error
            return _ok(
                {
                    **execution,
                    "stopDate": datetime.now(UTC),
                    "status": "FAILED",
                    "error": type(error).__name__,
                    "cause": str(error),
                }
            )
        return _ok({**execution, "stopDate": datetime.now(UTC), "status": "SUCCEEDED", "output": json.dumps(output)})

    def _start(self, request: dict[str, Any], arn: str, start: Callable[[str, dict[str, Any]], None]) -> Answer:
        name = request["name"]
        try:
            start(name, json.loads(request.get("input") or "{}"))
        except ExecutionAlreadyExists as exists:
            return _error("ExecutionAlreadyExists", str(exists))
        started = datetime.now(UTC)
        return _ok(
            {
                "executionArn": f"{arn.replace(':stateMachine:', ':execution:')}:{name}",
                "startDate": started,
            }
        )

    def _task_success(self, request: dict[str, Any]) -> Answer:
        try:
            self._approvals.send_task_success(request["taskToken"], json.loads(request.get("output") or "null"))
        except TaskTimedOut as timed_out:
            return _error("TaskTimedOut", str(timed_out))
        return _ok({})
