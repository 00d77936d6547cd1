"""The local interpreter enforces the definition's TimeoutSeconds as Step Functions does: past it the execution
ends as timed out, which no Catch handles, and a wait for a token is cut at it."""

from __future__ import annotations

import time

import pytest

from concierge.local.statemachine import ExecutionTimedOut, LocalStateMachine, UnsupportedDefinition
from concierge.workflows import approval_definition, turn_definition

ARN = "arn:aws:lambda:local:0:function:f"


def definition(timeout: int, resource: str = "arn:aws:states:::lambda:invoke", **task) -> dict:
    return {
        "TimeoutSeconds": timeout,
        "StartAt": "Work",
        "States": {
            "Work": {
                "Type": "Task",
                "Resource": resource,
                "Parameters": {"FunctionName": "${F}", "Payload.$": "$"},
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Handled"}],
                "Next": "After",
                **task,
            },
            "After": {"Type": "Pass", "End": True},
            "Handled": {"Type": "Pass", "Result": "caught", "End": True},
        },
    }


def test_a_task_that_outlives_the_execution_ends_it_as_timed_out_past_any_catch():
    def slow(_function: str, payload: dict) -> dict:
        time.sleep(1.2)
        return payload

    machine = LocalStateMachine(definition(1), {"F": ARN}, slow)
    with pytest.raises(ExecutionTimedOut, match="TimeoutSeconds"):
        machine.execute({"n": 1})


def test_a_wait_for_a_token_is_cut_at_the_executions_timeout_not_the_tasks():
    wait = definition(1, "arn:aws:states:::lambda:invoke.waitForTaskToken", TimeoutSeconds=3600)
    wait["States"]["Work"]["Parameters"] = {"FunctionName": "${F}", "Payload": {"token.$": "$$.Task.Token"}}
    machine = LocalStateMachine(wait, {"F": ARN}, lambda _f, payload: None)
    started = time.monotonic()
    with pytest.raises(ExecutionTimedOut):
        machine.execute({})
    assert time.monotonic() - started < 3


def test_within_the_limit_nothing_changes_and_a_bad_limit_is_refused():
    machine = LocalStateMachine(definition(5), {"F": ARN}, lambda _f, payload: payload)
    assert machine.execute({"n": 1})[1] == ["Work", "After"]
    with pytest.raises(UnsupportedDefinition, match="TimeoutSeconds"):
        LocalStateMachine(definition(0), {"F": ARN}, lambda _f, payload: payload)


def test_the_shipped_definitions_carry_the_limits_deployed():
    from concierge.platform.settings import MAX_APPROVAL_TIMEOUT_HOURS

    assert turn_definition()["TimeoutSeconds"] == 29
    assert approval_definition()["TimeoutSeconds"] == (MAX_APPROVAL_TIMEOUT_HOURS + 24) * 3600
