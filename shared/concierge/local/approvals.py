"""The approval workflow locally: the Standard state machine CDK deploys (workflows/approval.asl.json), executed
by the local interpreter, one thread per execution. The product reaches it through the Step Functions API as
deployed (local/stepfunctions.py answers the calls): `start_execution` is StartExecution, returning once the
execution is waiting for a decision (or has finished), as a deployed execution soon would; `send_task_success` is
SendTaskSuccess."""

from __future__ import annotations

import logging
import threading
from typing import Any

from concierge.local.statemachine import Invoker, LocalStateMachine, TaskTokens

logger = logging.getLogger("concierge.local")


class ExecutionAlreadyExists(RuntimeError):
    """An execution of that name exists (Step Functions refuses a second one)."""


class LocalApprovals:
    def __init__(self, definition: dict[str, Any], substitutions: dict[str, str], invoke: Invoker) -> None:
        self.tokens = TaskTokens()
        self.machine = LocalStateMachine(definition, substitutions, invoke, tokens=self.tokens)
        self._lock = threading.Lock()
        self.executions: dict[str, dict[str, Any]] = {}

    def start_execution(self, name: str, execution_input: dict[str, Any]) -> None:
        with self._lock:
            if name in self.executions:
                raise ExecutionAlreadyExists(f"Execution Already Exists: '{name}'")
            execution: dict[str, Any] = {"status": "RUNNING", "done": threading.Event()}
            self.executions[name] = execution
        waiting_before = self.tokens.pending()

        def run() -> None:
            try:
                execution["output"], execution["states"] = self.machine.execute(execution_input, name=name)
                execution["status"] = "SUCCEEDED"
            except Exception as error:  # a failed execution, as Step Functions records it
                logger.warning("approval execution %s failed: %s", name, error)
                execution["status"], execution["error"] = "FAILED", str(error)
            finally:
                execution["done"].set()

        threading.Thread(target=run, name=f"approval-{name}", daemon=True).start()
        for _ in range(200):  # until it waits for its decision (the token is stored) or ends
            if execution["done"].wait(0.01) or self.tokens.pending() > waiting_before:
                break

    def send_task_success(self, task_token: str, output: Any) -> None:
        """Raises statemachine.TaskTimedOut for a token unknown, already used, or whose task has timed out."""
        self.tokens.succeed(task_token, output)

    def wait(self, action_id: str, timeout: float = 10.0) -> dict[str, Any]:
        """Block until the execution ends (tests, the demo); returns its status, states visited and output."""
        execution = self.executions[action_id]
        if not execution["done"].wait(timeout):
            raise TimeoutError(f"approval execution {action_id} is still running")
        return execution
