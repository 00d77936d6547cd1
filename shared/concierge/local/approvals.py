"""The approval workflow locally: the Standard state machine CDK deploys (workflows/approval.asl.json), executed
by the local interpreter, one thread per execution. The product reaches it through the Step Functions API as
deployed (local/stepfunctions.py answers the calls): `start_execution` is StartExecution, returning once the
execution is waiting for a decision (or has finished), as a deployed execution soon would; `send_task_success` is
SendTaskSuccess."""

from __future__ import annotations

from typing import Any

from concierge.local.executions import LocalExecutions
from concierge.local.statemachine import Invoker, LocalStateMachine, TaskTokens


class LocalApprovals:
    def __init__(self, definition: dict[str, Any], substitutions: dict[str, str], invoke: Invoker) -> None:
        self.tokens = TaskTokens()
        machine = LocalStateMachine(definition, substitutions, invoke, tokens=self.tokens)
        # a start returns once the execution waits for its decision (its token is stored), or has ended
        self._runs = LocalExecutions(machine, "approval", self.tokens.pending, settle_seconds=2.0, idempotent=False)
        self.executions = self._runs.executions

    def start_execution(self, name: str, execution_input: dict[str, Any]) -> None:
        self._runs.start(name, execution_input)

    def send_task_success(self, task_token: str, output: Any) -> None:
        """Raises statemachine.TaskTimedOut for a token unknown, already used, or whose task has timed out."""
        self.tokens.succeed(task_token, output)

    def wait(self, action_id: str, timeout: float = 10.0) -> dict[str, Any]:
        """Block until the execution ends (tests, the demo); returns its status, states visited and output."""
        return self._runs.wait(action_id, timeout)
