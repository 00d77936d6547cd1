"""Wait states in the local interpreter: Seconds, Timestamp, SecondsPath and TimestampPath, waited against the wait
clock, which these tests move on instead of sleeping (a Wait never sleeps its length here)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from concierge.local.statemachine import (
    ExecutionFailed,
    ExecutionTimedOut,
    LocalStateMachine,
    UnsupportedDefinition,
    WaitClock,
)

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def wait_clock() -> WaitClock:
    clock = WaitClock()
    clock.advance(START - clock.now())
    return clock


def machine(wait: dict, wait_clock: WaitClock, timeout: int | None = None) -> LocalStateMachine:
    definition = {
        "StartAt": "W",
        "States": {"W": {"Type": "Wait", **wait, "Next": "Done"}, "Done": {"Type": "Pass", "End": True}},
        **({"TimeoutSeconds": timeout} if timeout else {}),
    }
    return LocalStateMachine(definition, {}, lambda arn, payload: None, wait_clock=wait_clock)


def started(run: LocalStateMachine, execution_input: dict) -> tuple[threading.Thread, dict]:
    """The execution in a thread, returned once it waits (the clock counts its waiters)."""
    outcome: dict = {}
    before = run.clock.waiting

    def go() -> None:
        try:
            outcome["output"], outcome["states"] = run.execute(execution_input)
        except ExecutionFailed as failure:
            outcome["error"] = failure

    thread = threading.Thread(target=go, daemon=True)
    thread.start()
    for _ in range(500):
        if run.clock.waiting > before or not thread.is_alive():
            break
        thread.join(0.01)
    return thread, outcome


@pytest.mark.parametrize(
    ("wait", "execution_input"),
    [
        ({"Seconds": 3600}, {}),
        ({"SecondsPath": "$.delay"}, {"delay": 3600}),
        ({"Timestamp": "2026-03-01T10:00:00Z"}, {}),
        ({"TimestampPath": "$.plan.send_at"}, {"plan": {"send_at": "2026-03-01T11:00:00+01:00"}}),
    ],
    ids=["Seconds", "SecondsPath", "Timestamp", "TimestampPath"],
)
def test_a_wait_ends_when_the_clock_reaches_its_time(wait, execution_input, wait_clock):
    thread, outcome = started(machine(wait, wait_clock), execution_input)
    wait_clock.advance(timedelta(minutes=59))
    thread.join(0.2)
    assert thread.is_alive(), "a minute early it still waits"
    wait_clock.advance(timedelta(minutes=1))
    thread.join(5)
    assert not thread.is_alive() and outcome["states"] == ["W", "Done"]
    assert outcome["output"] == execution_input  # a Wait passes its input on


def test_a_time_already_past_does_not_wait(wait_clock):
    output, states = machine({"Timestamp": "2026-02-01T00:00:00Z"}, wait_clock).execute({"x": 1})
    assert output == {"x": 1} and states == ["W", "Done"]


def test_a_wait_past_the_execution_s_timeout_times_it_out(wait_clock):
    thread, outcome = started(machine({"Seconds": 7200}, wait_clock, timeout=3600), {})
    wait_clock.advance(timedelta(hours=3))
    thread.join(5)
    assert isinstance(outcome["error"], ExecutionTimedOut)


@pytest.mark.parametrize(
    ("wait", "execution_input"),
    [
        ({"TimestampPath": "$.when"}, {}),
        ({"TimestampPath": "$.when"}, {"when": "tomorrow"}),
        ({"TimestampPath": "$.when"}, {"when": "2026-03-01T10:00:00"}),
        ({"SecondsPath": "$.delay"}, {"delay": -5}),
    ],
    ids=["missing", "not-a-timestamp", "no-offset", "negative"],
)
def test_a_bad_time_fails_the_execution(wait, execution_input, wait_clock):
    with pytest.raises(ExecutionFailed) as failure:
        machine(wait, wait_clock).execute(execution_input)
    assert failure.value.error == "States.Runtime"


def test_a_wait_needs_exactly_one_time(wait_clock):
    with pytest.raises(UnsupportedDefinition):
        machine({}, wait_clock)
    with pytest.raises(UnsupportedDefinition):
        machine({"Seconds": 1, "SecondsPath": "$.s"}, wait_clock)
