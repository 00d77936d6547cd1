"""The approval workflow locally: the Standard state machine CDK deploys (workflows/approval.asl.json), executed
by the local interpreter, one thread per execution. `start` returns once the execution is waiting for a decision
(or has finished), as a deployed execution soon would; `send_decision` is SendTaskSuccess."""

from __future__ import annotations

import logging
import threading
from typing import Any

from concierge.actions.approvals import ApprovalExpired, ApprovalRequest, DecisionOutput
from concierge.local.statemachine import Invoker, LocalStateMachine, TaskTimedOut, TaskTokens

logger = logging.getLogger("concierge.local")


class LocalApprovals:
    def __init__(self, definition: dict[str, Any], substitutions: dict[str, str], invoke: Invoker) -> None:
        self.tokens = TaskTokens()
        self.machine = LocalStateMachine(definition, substitutions, invoke, tokens=self.tokens)
        self._lock = threading.Lock()
        self.executions: dict[str, dict[str, Any]] = {}

    def start(self, request: ApprovalRequest) -> None:
        with self._lock:
            if request.action_id in self.executions:  # the execution name is the action id: no second execution
                return
            execution: dict[str, Any] = {"status": "RUNNING", "done": threading.Event()}
            self.executions[request.action_id] = execution
        waiting_before = self.tokens.pending()

        def run() -> None:
            try:
                execution["output"], execution["states"] = self.machine.execute(
                    request.model_dump(mode="json"), name=request.action_id
                )
                execution["status"] = "SUCCEEDED"
            except Exception as error:  # a failed execution, as Step Functions records it
                logger.warning("approval execution %s failed: %s", request.action_id, error)
                execution["status"], execution["error"] = "FAILED", str(error)
            finally:
                execution["done"].set()

        threading.Thread(target=run, name=f"approval-{request.action_id}", daemon=True).start()
        for _ in range(200):  # until it waits for its decision (the token is stored) or ends
            if execution["done"].wait(0.01) or self.tokens.pending() > waiting_before:
                break

    def send_decision(self, task_token: str, output: DecisionOutput) -> None:
        try:
            self.tokens.succeed(task_token, output.model_dump(mode="json"))
        except TaskTimedOut as exc:
            raise ApprovalExpired(str(exc)) from exc

    def wait(self, action_id: str, timeout: float = 10.0) -> dict[str, Any]:
        """Block until the execution ends (tests, the demo); returns its status, states visited and output."""
        execution = self.executions[action_id]
        if not execution["done"].wait(timeout):
            raise TimeoutError(f"approval execution {action_id} is still running")
        return execution
