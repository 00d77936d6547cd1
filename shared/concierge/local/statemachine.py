"""Executes an Amazon States Language definition in-process, invoking Lambda handlers directly.

moto can run a state machine but never runs Lambda code, so the local runtime interprets the very definition
CDK deploys. It supports the subset our definitions use — Task (lambda:invoke, and lambda:invoke.waitForTaskToken
with TimeoutSeconds or TimeoutSecondsPath), Choice, Pass, Wait (Seconds, Timestamp, SecondsPath, TimestampPath),
Succeed, Fail; Parameters with `.$` paths, the
`$$.Task.Token` and `$$.Execution.Name` context paths and the States.MathAdd intrinsic; InputPath, OutputPath,
ResultPath; Retry and Catch — and refuses anything else loudly, so a definition cannot silently use a feature it
cannot run here.

A `.waitForTaskToken` task invokes its function with a fresh token and then blocks until `TaskTokens.succeed` is
called with that token (what SendTaskSuccess does), or until its timeout,
which raises `States.Timeout` into the state's Catch — as Step Functions does.

A Wait state waits against a `WaitClock`: the project's clock (platform/clock.py), which a test moves on with
`advance` instead of sleeping; a wait past the execution's TimeoutSeconds ends it as timed out, as deployed.

The definition's top-level TimeoutSeconds bounds the whole execution, as deployed: past it the execution ends as
timed out (`ExecutionTimedOut`), which no Catch can handle. A wait is cut at it; a Lambda invocation already
running is not interrupted here (the function's own deadline bounds it), the execution ends when it returns.
"""

from __future__ import annotations

import copy
import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from concierge.platform import clock

LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
LAMBDA_INVOKE_WAIT = "arn:aws:states:::lambda:invoke.waitForTaskToken"
SUPPORTED_STATE_TYPES = {"Task", "Choice", "Pass", "Wait", "Succeed", "Fail"}
_WAIT_FIELDS = {"Seconds", "Timestamp", "SecondsPath", "TimestampPath"}
_FLOW = {"Type", "Comment", "Next", "End"}
_PATHS = {"InputPath", "OutputPath"}
# The fields each state type may use here; anything else (ResultSelector, TimeoutSeconds, …) is refused rather
# than silently ignored, so a definition never behaves differently locally than when deployed.
SUPPORTED_FIELDS = {
    "Task": _FLOW
    | _PATHS
    | {"Resource", "Parameters", "ResultPath", "Retry", "Catch", "TimeoutSeconds", "TimeoutSecondsPath"},
    "Pass": _FLOW | _PATHS | {"Parameters", "Result", "ResultPath"},
    "Choice": {"Type", "Comment", "Choices", "Default"},
    "Wait": _FLOW | _PATHS | _WAIT_FIELDS,
    "Succeed": {"Type", "Comment"},
    "Fail": {"Type", "Comment", "Error", "Cause"},
}
Invoker = Callable[[str, Any], Any]


class ExecutionFailed(Exception):
    def __init__(self, error: str, cause: str) -> None:
        super().__init__(f"{error}: {cause}")
        self.error = error
        self.cause = cause


class ExecutionTimedOut(ExecutionFailed):
    """The execution ran past the definition's TimeoutSeconds (status TIMED_OUT): not catchable."""

    def __init__(self, seconds: float) -> None:
        super().__init__("States.Timeout", f"the execution ran past its TimeoutSeconds ({seconds:g} s)")


class UnsupportedDefinition(ValueError):
    pass


def _path_get(data: Any, path: str) -> Any:
    if path == "$":
        return data
    if not path.startswith("$."):
        raise UnsupportedDefinition(f"unsupported path {path!r}")
    value = data
    for part in path[2:].split("."):
        if not isinstance(value, dict) or part not in value:
            raise KeyError(path)
        value = value[part]
    return value


def _path_has(data: Any, path: str) -> bool:
    try:
        _path_get(data, path)
    except KeyError:
        return False
    return True


def _path_set(data: Any, path: str | None, value: Any) -> Any:
    if path is None:
        return data
    if path == "$":
        return value
    result = copy.deepcopy(data)
    target = result
    parts = path[2:].split(".")
    for part in parts[:-1]:
        target = target.setdefault(part, {})
    target[parts[-1]] = value
    return result


_MATH_ADD = re.compile(r"^States\.MathAdd\((\$[\w.]*),\s*(-?\d+)\)$")


def _intrinsic(expression: str, data: Any) -> Any:
    match = _MATH_ADD.match(expression)
    if match:
        return int(_path_get(data, match.group(1))) + int(match.group(2))
    raise UnsupportedDefinition(f"unsupported intrinsic {expression!r}")


def resolve_parameters(template: Any, data: Any, context: dict[str, Any] | None = None) -> Any:
    """`context` is the context object (`$$.…`): Execution.Name, and Task.Token inside a waitForTaskToken task."""
    if isinstance(template, dict):
        out: dict[str, Any] = {}
        for key, value in template.items():
            if key.endswith(".$"):
                if value.startswith("$$."):
                    out[key[:-2]] = _path_get(context or {}, value[1:])
                else:
                    out[key[:-2]] = _intrinsic(value, data) if value.startswith("States.") else _path_get(data, value)
            else:
                out[key] = resolve_parameters(value, data, context)
        return out
    if isinstance(template, list):
        return [resolve_parameters(item, data, context) for item in template]
    return template


_COMPARATORS: dict[str, Callable[[Any, Any], bool]] = {
    "StringEquals": lambda a, b: isinstance(a, str) and a == b,
    "NumericEquals": lambda a, b: isinstance(a, int | float) and a == b,
    "NumericLessThan": lambda a, b: isinstance(a, int | float) and a < b,
    "NumericLessThanEquals": lambda a, b: isinstance(a, int | float) and a <= b,
    "NumericGreaterThan": lambda a, b: isinstance(a, int | float) and a > b,
    "NumericGreaterThanEquals": lambda a, b: isinstance(a, int | float) and a >= b,
    "BooleanEquals": lambda a, b: isinstance(a, bool) and a == b,
}


def evaluate_rule(rule: dict[str, Any], data: Any) -> bool:
    if "And" in rule:
        return all(evaluate_rule(r, data) for r in rule["And"])
    if "Or" in rule:
        return any(evaluate_rule(r, data) for r in rule["Or"])
    if "Not" in rule:
        return not evaluate_rule(rule["Not"], data)
    variable = rule["Variable"]
    if "IsPresent" in rule:
        is_present: bool = rule["IsPresent"]
        return _path_has(data, variable) == is_present
    for name, compare in _COMPARATORS.items():
        if name in rule:
            return _path_has(data, variable) and compare(_path_get(data, variable), rule[name])
    raise UnsupportedDefinition(f"unsupported choice rule {rule}")


def _matches(error_equals: list[str], error: str) -> bool:
    return "States.ALL" in error_equals or error in error_equals


class WaitClock:
    """The time Wait states wait against: the project's clock, plus however far a test moved it on (`advance`). A
    waiting execution wakes when the time comes or when the clock is moved, never by polling the wall clock faster
    than once a second."""

    def __init__(self) -> None:
        self._offset = timedelta(0)
        self._moved = threading.Condition()
        self.waiting = 0  # executions in a Wait state right now

    def now(self) -> datetime:
        return clock.now() + self._offset

    def advance(self, by: timedelta) -> None:
        with self._moved:
            self._offset += by
            self._moved.notify_all()

    def wait_until(self, moment: datetime, deadline: float | None) -> bool:
        """Block until `moment` on this clock; False if the execution's deadline (monotonic) came first."""
        with self._moved:
            self.waiting += 1
            try:
                while (left := (moment - self.now()).total_seconds()) > 0:
                    if deadline is not None and time.monotonic() >= deadline:
                        return False
                    cap = 1.0 if deadline is None else max(min(1.0, deadline - time.monotonic()), 0.0)
                    self._moved.wait(min(left, cap))
            finally:
                self.waiting -= 1
        return True


def _timestamp(value: Any, state: str) -> datetime:
    """An ISO 8601 timestamp as the Wait state takes it (with its offset; Z for UTC)."""
    if not isinstance(value, str):
        raise ExecutionFailed("States.Runtime", f"{state}: the timestamp is not a string: {value!r}")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ExecutionFailed("States.Runtime", f"{state}: {value!r} is not an ISO 8601 timestamp") from None
    if moment.tzinfo is None:
        raise ExecutionFailed("States.Runtime", f"{state}: {value!r} has no time zone offset")
    return moment


class TaskTokens:
    """The task tokens of waiting executions: what SendTaskSuccess, SendTaskFailure and task timeouts act on."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: dict[str, tuple[threading.Event, list[Any]]] = {}
        self._in_wait: set[str] = set()  # tokens whose task invoked its function and now waits

    def issue(self) -> str:
        token = uuid.uuid4().hex + uuid.uuid4().hex
        with self._lock:
            self._waiting[token] = (threading.Event(), [])
        return token

    def wait(self, token: str, timeout: float | None) -> Any:
        event, outcome = self._waiting[token]
        with self._lock:
            self._in_wait.add(token)
        arrived = event.wait(timeout)
        with self._lock:
            self._in_wait.discard(token)
            self._waiting.pop(token, None)
            if not arrived and not outcome:
                raise ExecutionFailed("States.Timeout", "the task did not receive its token in time")
        return outcome[0]

    def succeed(self, token: str, output: Any) -> None:
        with self._lock:
            waiting = self._waiting.get(token)
            if waiting is None or waiting[1]:
                raise TaskTimedOut("Task Timed Out: the token is unknown, already used, or its task has timed out")
            waiting[1].append(json.loads(json.dumps(output)))
            waiting[0].set()

    def pending(self) -> int:
        """How many tasks are waiting for their token right now."""
        with self._lock:
            return len(self._in_wait)


class TaskTimedOut(Exception):
    """What SendTaskSuccess raises for a token that is not (or no longer) waiting (States.TaskTimedOut)."""


class LocalStateMachine:
    def __init__(
        self,
        definition: dict[str, Any],
        substitutions: dict[str, str],
        invoke: Invoker,
        max_transitions: int = 100,
        tokens: TaskTokens | None = None,
        wait_clock: WaitClock | None = None,
    ) -> None:
        self.definition = definition
        self.substitutions = substitutions
        self.invoke = invoke
        self.max_transitions = max_transitions
        self.tokens = tokens or TaskTokens()
        self.clock = wait_clock or WaitClock()
        self.validate()

    def validate(self) -> None:
        timeout = self.definition.get("TimeoutSeconds")
        if timeout is not None and (not isinstance(timeout, int) or timeout <= 0):
            raise UnsupportedDefinition(f"TimeoutSeconds must be a positive integer, not {timeout!r}")
        for name, state in self.definition["States"].items():
            if state["Type"] not in SUPPORTED_STATE_TYPES:
                raise UnsupportedDefinition(f"state {name}: type {state['Type']} is not supported locally")
            unknown = set(state) - SUPPORTED_FIELDS[state["Type"]]
            if unknown:
                raise UnsupportedDefinition(f"state {name}: {', '.join(sorted(unknown))} not supported locally")
            if state["Type"] == "Wait" and len(set(state) & _WAIT_FIELDS) != 1:
                raise UnsupportedDefinition(
                    f"state {name}: a Wait needs exactly one of {', '.join(sorted(_WAIT_FIELDS))}"
                )
            if state["Type"] == "Task":
                if state["Resource"] not in (LAMBDA_INVOKE, LAMBDA_INVOKE_WAIT):
                    raise UnsupportedDefinition(f"state {name}: resource {state['Resource']} is not supported locally")
                self._function_of(state)

    def _function_of(self, state: dict[str, Any]) -> str:
        placeholder = state["Parameters"]["FunctionName"]
        match = re.fullmatch(r"\$\{(\w+)\}", placeholder)
        if not match or match.group(1) not in self.substitutions:
            raise UnsupportedDefinition(f"FunctionName {placeholder!r} has no substitution")
        return self.substitutions[match.group(1)]

    def execute(self, execution_input: Any, name: str | None = None) -> tuple[Any, list[str]]:
        """Run to the end; returns the output and the names of the states visited, in order."""
        data = execution_input
        limit: int | None = self.definition.get("TimeoutSeconds")
        deadline = None if limit is None else time.monotonic() + limit
        ends = None if limit is None else self.clock.now() + timedelta(seconds=limit)  # the same end, on the wait clock
        execution = {"Execution": {"Name": name or uuid.uuid4().hex}}
        name = self.definition["StartAt"]
        visited: list[str] = []
        for _ in range(self.max_transitions):
            if limit is not None and deadline is not None and time.monotonic() > deadline:
                raise ExecutionTimedOut(limit)
            visited.append(name)
            state = self.definition["States"][name]
            kind = state["Type"]
            if kind == "Fail":
                raise ExecutionFailed(state.get("Error", "States.Fail"), state.get("Cause", ""))
            if kind == "Succeed":
                return data, visited
            if kind == "Choice":
                name = next((c["Next"] for c in state["Choices"] if evaluate_rule(c, data)), state.get("Default"))
                if name is None:
                    raise ExecutionFailed("States.NoChoiceMatched", f"no choice matched in {visited[-1]}")
                continue
            effective = _path_get(data, state.get("InputPath", "$"))
            if kind == "Wait":
                self._wait(visited[-1], state, effective, deadline, ends)
                data = _path_get(effective, state.get("OutputPath", "$"))
                if state.get("End"):
                    return data, visited
                name = state["Next"]
                continue
            try:
                if kind == "Pass" and "Result" in state:
                    result = state["Result"]
                elif kind == "Pass":
                    result = resolve_parameters(state["Parameters"], effective) if "Parameters" in state else effective
                else:
                    result = self._run_task(state, effective, execution, deadline)
            except ExecutionTimedOut:
                raise
            except ExecutionFailed as failure:
                catcher = next((c for c in state.get("Catch", []) if _matches(c["ErrorEquals"], failure.error)), None)
                if catcher is None:
                    raise
                data = _path_set(data, catcher.get("ResultPath", "$"), {"Error": failure.error, "Cause": failure.cause})
                name = catcher["Next"]
                continue
            data = _path_set(data, state.get("ResultPath", "$"), result)
            data = _path_get(data, state.get("OutputPath", "$"))
            if state.get("End"):
                return data, visited
            name = state["Next"]
        raise ExecutionFailed("States.Runtime", f"more than {self.max_transitions} transitions")

    def _wait(
        self, name: str, state: dict[str, Any], effective: Any, deadline: float | None, ends: datetime | None
    ) -> None:
        """Until the state's time on the wait clock; past the execution's end (`ends`, on the same clock, or the
        monotonic `deadline`) the execution times out there, as deployed."""
        try:
            seconds = state.get(
                "Seconds", _path_get(effective, state["SecondsPath"]) if "SecondsPath" in state else None
            )
            value = state.get(
                "Timestamp", _path_get(effective, state["TimestampPath"]) if "TimestampPath" in state else None
            )
        except KeyError as missing:
            raise ExecutionFailed("States.Runtime", f"{name}: the input has no {missing.args[0]}") from None
        if seconds is not None:
            if not isinstance(seconds, int) or isinstance(seconds, bool) or seconds < 0:
                raise ExecutionFailed("States.Runtime", f"{name}: the seconds are not a whole number >= 0: {seconds!r}")
            moment = self.clock.now() + timedelta(seconds=seconds)
        else:
            moment = _timestamp(value, name)
        past_end = ends is not None and moment > ends
        if not self.clock.wait_until(min(moment, ends) if ends is not None else moment, deadline) or past_end:
            raise ExecutionTimedOut(self.definition["TimeoutSeconds"])

    def _run_task(
        self, state: dict[str, Any], effective: Any, execution: dict[str, Any], deadline: float | None
    ) -> Any:
        waits = state["Resource"] == LAMBDA_INVOKE_WAIT
        context = dict(execution)
        if waits:
            context["Task"] = {"Token": self.tokens.issue()}
        parameters = resolve_parameters(state["Parameters"], effective, context)
        function = self._function_of(state)
        attempts = {id(r): 0 for r in state.get("Retry", [])}
        while True:
            try:
                payload = self.invoke(function, parameters["Payload"])
            except Exception as exc:  # a handler's exception is the task's error, as with Lambda
                error = type(exc).__name__
                retrier = next((r for r in state.get("Retry", []) if _matches(r["ErrorEquals"], error)), None)
                if retrier is not None and attempts[id(retrier)] < retrier.get("MaxAttempts", 3):
                    attempts[id(retrier)] += 1
                    time.sleep(min(retrier.get("IntervalSeconds", 1), 0.05))
                    continue
                raise ExecutionFailed(error, str(exc)) from exc
            if not waits:
                return {"Payload": payload, "StatusCode": 200}
            timeout = (
                _path_get(effective, state["TimeoutSecondsPath"])
                if "TimeoutSecondsPath" in state
                else state.get("TimeoutSeconds")
            )
            left = None if deadline is None else max(deadline - time.monotonic(), 0.0)
            if left is not None and (timeout is None or left < float(timeout)):
                try:  # the execution's own limit comes first: its end is no task timeout a Catch could handle
                    return self.tokens.wait(context["Task"]["Token"], left)
                except ExecutionFailed as failure:
                    if failure.error == "States.Timeout":
                        raise ExecutionTimedOut(self.definition["TimeoutSeconds"]) from None
                    raise
            return self.tokens.wait(context["Task"]["Token"], float(timeout) if timeout is not None else None)
