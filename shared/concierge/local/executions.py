"""Executions of one Standard state machine on the local stack, one thread each, as Step Functions runs them: a start
returns once the execution is parked (waiting for a decision, or for its time) or has ended, as a deployed one soon
would; an execution of a name already used is refused (ExecutionAlreadyExists), unless StartExecution is idempotent
for the workflow and the same input is sent again while it runs."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any

from concierge.local.statemachine import LocalStateMachine

logger = logging.getLogger("concierge.local")
POLL_SECONDS = 0.01


class ExecutionAlreadyExists(RuntimeError):
    """An execution of that name exists (Step Functions refuses a second one)."""


class LocalExecutions:
    def __init__(
        self, machine: LocalStateMachine, kind: str, parked: Callable[[], int], settle_seconds: float, idempotent: bool
    ) -> None:
        """`parked`: how many executions wait right now (a start returns once it grows); `settle_seconds`: how long a
        start waits for that at most; `idempotent`: the same name and input, while it runs, is the same execution."""
        self.machine, self.kind, self._parked = machine, kind, parked
        self._settle, self._idempotent = settle_seconds, idempotent
        self._lock = threading.Lock()
        self.executions: dict[str, dict[str, Any]] = {}

    def start(self, name: str, execution_input: dict[str, Any]) -> None:
        text = json.dumps(execution_input, sort_keys=True)
        with self._lock:
            existing = self.executions.get(name)
            if existing is not None:
                if self._idempotent and existing["input"] == text and existing["status"] == "RUNNING":
                    return  # the same execution, started again: Step Functions answers with it
                raise ExecutionAlreadyExists(f"Execution Already Exists: '{name}'")
            execution: dict[str, Any] = {"status": "RUNNING", "input": text, "done": threading.Event()}
            self.executions[name] = execution
        parked_before = self._parked()

        def run() -> None:
            try:
                execution["output"], execution["states"] = self.machine.execute(execution_input, name=name)
                execution["status"] = "SUCCEEDED"
            except Exception as error:  # a failed execution, as Step Functions records it
                logger.warning("%s execution %s failed: %s", self.kind, name, error)
                execution["status"], execution["error"] = "FAILED", str(error)
            finally:
                execution["done"].set()

        threading.Thread(target=run, name=f"{self.kind}-{name}", daemon=True).start()
        for _ in range(int(self._settle / POLL_SECONDS)):  # until it is parked, or ends
            if execution["done"].wait(POLL_SECONDS) or self._parked() > parked_before:
                break

    def wait(self, name: str, timeout: float = 10.0) -> dict[str, Any]:
        """Block until the execution ends (tests, the demo); its status, the states visited and its output."""
        execution = self.executions[name]
        if not execution["done"].wait(timeout):
            raise TimeoutError(f"{self.kind} execution {name} is still running")
        return execution
