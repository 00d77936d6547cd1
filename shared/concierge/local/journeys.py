"""The journey workflow locally: the Standard state machine CDK deploys (workflows/journey.asl.json), executed by the
local interpreter, one thread per execution; its Wait state waits on the stack's wait clock, which tests move on
instead of sleeping. The product reaches it through the Step Functions API as deployed (local/stepfunctions.py
answers StartExecution): an execution of the same name and input is the same execution (StartExecution is
idempotent so), another input under a used name is refused (ExecutionAlreadyExists)."""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

from concierge.local.approvals import ExecutionAlreadyExists
from concierge.local.statemachine import Invoker, LocalStateMachine, WaitClock

logger = logging.getLogger("concierge.local")


class LocalJourneys:
    def __init__(
        self, definition: dict[str, Any], substitutions: dict[str, str], invoke: Invoker, wait_clock: WaitClock
    ) -> None:
        self.clock = wait_clock
        self.machine = LocalStateMachine(definition, substitutions, invoke, wait_clock=wait_clock)
        self._lock = threading.Lock()
        self.executions: dict[str, dict[str, Any]] = {}

    def start_execution(self, name: str, execution_input: dict[str, Any]) -> None:
        text = json.dumps(execution_input, sort_keys=True)
        with self._lock:
            existing = self.executions.get(name)
            if existing is not None:
                if existing["input"] == text and existing["status"] == "RUNNING":
                    return  # the same execution, started again: Step Functions answers with it
                raise ExecutionAlreadyExists(f"Execution Already Exists: '{name}'")
            execution: dict[str, Any] = {"status": "RUNNING", "input": text, "done": threading.Event()}
            self.executions[name] = execution
        waiting_before = self.clock.waiting

        def run() -> None:
            try:
                execution["output"], execution["states"] = self.machine.execute(execution_input, name=name)
                execution["status"] = "SUCCEEDED"
            except Exception as error:  # a failed execution, as Step Functions records it
                logger.warning("journey execution %s failed: %s", name, error)
                execution["status"], execution["error"] = "FAILED", str(error)
            finally:
                execution["done"].set()

        threading.Thread(target=run, name=f"journey-{name}", daemon=True).start()
        for _ in range(500):  # until it waits for its time (or ends), as a deployed start soon would
            if execution["done"].wait(0.01) or self.clock.waiting > waiting_before:
                break

    def wait(self, name: str, timeout: float = 10.0) -> dict[str, Any]:
        """Block until the execution ends (tests, the demo); its status, the states visited and its output."""
        execution = self.executions[name]
        if not execution["done"].wait(timeout):
            raise TimeoutError(f"journey execution {name} is still running")
        return execution
