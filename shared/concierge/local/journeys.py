"""The journey workflow locally: the Standard state machine CDK deploys (workflows/journey.asl.json), executed by the
local interpreter, one thread per execution; its Wait state waits on the stack's wait clock, which tests move on
instead of sleeping. The product reaches it through the Step Functions API as deployed (local/stepfunctions.py
answers StartExecution): an execution of the same name and input is the same execution (StartExecution is
idempotent so), another input under a used name is refused (ExecutionAlreadyExists)."""

from __future__ import annotations

from typing import Any

from concierge.local.executions import LocalExecutions
from concierge.local.statemachine import Invoker, LocalStateMachine, WaitClock


class LocalJourneys:
    def __init__(
        self, definition: dict[str, Any], substitutions: dict[str, str], invoke: Invoker, wait_clock: WaitClock
    ) -> None:
        self.clock = wait_clock
        self.machine = LocalStateMachine(definition, substitutions, invoke, wait_clock=wait_clock)
        # a start returns once the execution waits for its time, or has ended
        self._runs = LocalExecutions(
            self.machine, "journey", lambda: wait_clock.waiting, settle_seconds=5.0, idempotent=True
        )
        self.executions = self._runs.executions

    def start_execution(self, name: str, execution_input: dict[str, Any]) -> None:
        self._runs.start(name, execution_input)

    def wait(self, name: str, timeout: float = 10.0) -> dict[str, Any]:
        """Block until the execution ends (tests, the demo); its status, the states visited and its output."""
        return self._runs.wait(name, timeout)
