"""The local interpreter of the turn workflow: the very definition CDK deploys, run in-process with fake
functions. Every fake validates what it receives against the task contract (concierge.conversation.tasks)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from concierge.conversation.api import HttpResponse
from concierge.conversation.tasks import ActTask, DecideTask, IngestTask, ReceiveTask, RetrieveTask
from concierge.conversation.turn import (
    ActionResult,
    ActionStatus,
    ConversationSnapshot,
    CustomerRef,
    Decision,
    IncomingMessage,
    PassageHit,
    Signals,
    ToolCall,
    Turn,
)
from concierge.local.statemachine import (
    ExecutionFailed,
    LocalStateMachine,
    UnsupportedDefinition,
    evaluate_rule,
    resolve_parameters,
)
from concierge.platform.topology import FunctionName
from concierge.workflows import WORKFLOW_ROUNDS, function_arn_placeholder, turn_definition

AT = datetime(2025, 5, 14, 12, 0, tzinfo=UTC)
ARN = {name: f"arn:aws:lambda:us-east-1:123456789012:function:concierge-{name.value}" for name in FunctionName}
REQUEST = {
    "body": {"text": "where is my order", "channel": "web"},
    "header": {"Authorization": "Bearer not-checked-by-the-fakes"},
    "path": {"conversation_id": "conv-1"},
}


class FakeFunctions:
    """One python callable per function ARN; records every call as (function, task kind)."""

    def __init__(
        self,
        agent_wants_actions: int = 0,
        accept: bool = True,
        retrieval_fails: bool = False,
        with_people: bool = False,
        prefetches: bool = False,
    ) -> None:
        self.with_people = with_people
        self.prefetches = prefetches
        self.calls: list[tuple[FunctionName, str]] = []
        self.agent_wants_actions = agent_wants_actions
        self.accept = accept
        self.retrieval_fails = retrieval_fails
        self.seen: dict[str, Turn] = {}
        self.by_arn = {
            ARN[FunctionName.INGEST]: self.ingest,
            ARN[FunctionName.RETRIEVAL]: self.retrieval,
            ARN[FunctionName.AGENT]: self.agent,
            ARN[FunctionName.ACTIONS]: self.actions,
        }

    def invoke(self, function_arn: str, payload):
        return self.by_arn[function_arn](payload)

    def ingest(self, payload):
        task = IngestTask.model_validate({"task": payload}).task
        if isinstance(task, ReceiveTask):
            self.calls.append((FunctionName.INGEST, "turn.receive"))
            assert task.request.path == {"conversation_id": "conv-1"}
            if not self.accept:
                return Turn.rejected(
                    HttpResponse.error(401, "The customer token's signature is not valid.")
                ).model_dump(mode="json")
            turn = Turn(
                conversation_id="conv-1",
                customer=CustomerRef(id="sam", first_name="Sam"),
                message=IncomingMessage(
                    message_id="conv-1:1", text=task.request.body["text"], channel="web", received_at=AT
                ),
                signals=Signals(intent="track", intent_confidence=0.8, sentiment=0.0),
                conversation=ConversationSnapshot(
                    started_at=AT, customer_turns=1, status="handed_off" if self.with_people else "open"
                ),
                started_at=AT,
            )
            return turn.model_dump(mode="json")
        self.calls.append((FunctionName.INGEST, "turn.reply"))
        self.seen["reply"] = task.turn
        http = HttpResponse.of(200, {"reply": task.turn.decision.reply if task.turn.decision else ""})
        return task.turn.model_copy(update={"http": http}).model_dump(mode="json")

    def retrieval(self, payload):
        self.calls.append((FunctionName.RETRIEVAL, payload["kind"]))
        turn = RetrieveTask.model_validate(payload).turn
        if self.retrieval_fails:
            raise ConnectionError("knowledge bucket unreachable")
        hit = PassageHit(
            passage_id="order-tracking#0",
            title="Tracking your order",
            section="Where is my order",
            url="/help/order-tracking#where-is-my-order",
            text="As soon as your order ships...",
            confidence=1.0,
        )
        update: dict = {"passages": [hit]}
        if self.prefetches:  # the lookup the message plainly needs, as the turn's first round (actions/prefetch.py)
            call = ToolCall(id="prefetch-track_shipment-1-1", tool="track_shipment")
            result = ActionResult(
                call_id=call.id, action_id="P1", tool=call.tool, status=ActionStatus.EXECUTED, recorded=False
            )
            update |= {"tool_rounds": [[call]], "assistant_rounds": [[]], "results": [result], "prefetched": 1}
        return turn.model_copy(update=update).model_dump(mode="json")

    def agent(self, payload):
        self.calls.append((FunctionName.AGENT, payload["kind"]))
        turn = DecideTask.model_validate(payload).turn
        self.seen.setdefault("agent", turn)
        rounds_done = turn.agent_rounds
        if rounds_done < self.agent_wants_actions:
            decision = Decision(
                next="actions", tool_calls=[ToolCall(id=f"track_shipment-{rounds_done + 1}", tool="track_shipment")]
            )
        else:
            decision = Decision(next="reply", reply="Your order NW10004 is on its way with USPS.", resolved=True)
        return turn.decided(decision).model_dump(mode="json")

    def actions(self, payload):
        self.calls.append((FunctionName.ACTIONS, payload["kind"]))
        turn = ActTask.model_validate(payload).turn
        results = [
            ActionResult(
                call_id=call.id, action_id=f"A{len(turn.results)}", tool=call.tool, status=ActionStatus.EXECUTED
            )
            for call in turn.decision.tool_calls
        ]
        rounds = [*turn.tool_rounds, turn.decision.tool_calls]
        return turn.model_copy(update={"results": [*turn.results, *results], "tool_rounds": rounds}).model_dump(
            mode="json"
        )


def machine(fakes: FakeFunctions) -> LocalStateMachine:
    substitutions = {function_arn_placeholder(name): ARN[name] for name in FunctionName}
    return LocalStateMachine(turn_definition(), substitutions, fakes.invoke)


# the turn workflow ------------------------------------------------------------------------------------------------
def test_the_definition_names_every_function_through_a_substitution():
    assert function_arn_placeholder(FunctionName.INGEST) == "IngestFunctionArn"
    with pytest.raises(UnsupportedDefinition, match="no substitution"):
        LocalStateMachine(turn_definition(), {}, lambda arn, payload: None)


def test_happy_path_runs_ingest_retrieval_agent_reply():
    fakes = FakeFunctions()
    output, visited = machine(fakes).execute(REQUEST)

    assert fakes.calls == [
        (FunctionName.INGEST, "turn.receive"),
        (FunctionName.RETRIEVAL, "turn.retrieve"),
        (FunctionName.AGENT, "turn.decide"),
        (FunctionName.INGEST, "turn.reply"),
    ]
    assert visited == ["Ingest", "Route", "Retrieval", "Agent", "Next step?", "Reply"]
    assert HttpResponse.model_validate(output).statusCode == 200
    assert "on its way" in output["body"]
    assert fakes.seen["agent"].passages[0].passage_id == "order-tracking#0", "retrieval's passages reach the agent"


def test_one_action_round_goes_back_to_the_agent_with_the_results():
    fakes = FakeFunctions(agent_wants_actions=1)
    _, visited = machine(fakes).execute(REQUEST)

    kinds = [kind for _, kind in fakes.calls]
    assert kinds == ["turn.receive", "turn.retrieve", "turn.decide", "turn.act", "turn.decide", "turn.reply"]
    assert fakes.seen["reply"].loop.steps == 1
    assert [r.tool for r in fakes.seen["reply"].results] == ["track_shipment"]
    assert visited == ["Ingest", "Route", "Retrieval", "Agent", "Next step?", "Actions", "Agent", "Next step?", "Reply"]


def test_the_agent_actions_loop_is_bounded():
    fakes = FakeFunctions(agent_wants_actions=10)  # an agent that never stops asking for tools
    output, visited = machine(fakes).execute(REQUEST)

    kinds = [kind for _, kind in fakes.calls]
    assert kinds.count("turn.act") == WORKFLOW_ROUNDS  # an engine's own rounds and the one kept for an offer
    assert kinds.count("turn.decide") == WORKFLOW_ROUNDS + 1
    assert kinds[-1] == "turn.reply" and visited[-1] == "Reply"
    assert fakes.seen["reply"].loop.steps == WORKFLOW_ROUNDS + 1  # the round asked for last did not run
    assert fakes.seen["reply"].decision.next == "actions", "the reply step gets the unfinished decision to fall back on"
    assert output["statusCode"] == 200


def test_a_prefetched_lookup_goes_from_retrieval_to_the_agent_with_no_action_round():
    fakes = FakeFunctions(prefetches=True)
    _, visited = machine(fakes).execute(REQUEST)

    assert visited == ["Ingest", "Route", "Retrieval", "Agent", "Next step?", "Reply"]
    agent = fakes.seen["agent"]
    assert agent.prefetched == 1 and [r.tool for r in agent.results] == ["track_shipment"]
    assert fakes.seen["reply"].loop.steps == 0, "no round of the workflow's was used"


def test_a_prefetched_round_leaves_the_workflows_bound_as_it_is():
    fakes = FakeFunctions(agent_wants_actions=10, prefetches=True)
    machine(fakes).execute(REQUEST)

    kinds = [kind for _, kind in fakes.calls]
    assert kinds.count("turn.act") == WORKFLOW_ROUNDS  # neither fewer (the prefetch is not one) nor more
    assert len(fakes.seen["reply"].tool_rounds) == WORKFLOW_ROUNDS + 1
    assert fakes.seen["reply"].agent_rounds == WORKFLOW_ROUNDS


def test_a_rejected_request_returns_its_http_response_and_runs_nothing_else():
    fakes = FakeFunctions(accept=False)
    output, visited = machine(fakes).execute(REQUEST)

    assert fakes.calls == [(FunctionName.INGEST, "turn.receive")]
    assert visited == ["Ingest", "Route", "Rejected"]
    assert output["statusCode"] == 401
    assert "customer token" in output["body"]


def test_a_retrieval_failure_is_recorded_and_the_agent_still_answers():
    fakes = FakeFunctions(retrieval_fails=True)
    output, _ = machine(fakes).execute(REQUEST)

    assert [kind for _, kind in fakes.calls] == ["turn.receive", "turn.retrieve", "turn.decide", "turn.reply"]
    error = fakes.seen["agent"].errors["retrieval"]
    assert error == {"Error": "ConnectionError", "Cause": "knowledge bucket unreachable"}
    assert fakes.seen["agent"].passages == []
    assert output["statusCode"] == 200


def test_an_agent_failure_still_replies():
    fakes = FakeFunctions()

    def broken_agent(payload):
        fakes.calls.append((FunctionName.AGENT, payload["kind"]))
        raise TimeoutError("model took too long")

    fakes.by_arn[ARN[FunctionName.AGENT]] = broken_agent
    output, _ = machine(fakes).execute(REQUEST)

    assert [kind for _, kind in fakes.calls][-1] == "turn.reply"
    assert fakes.seen["reply"].errors["agent"]["Error"] == "TimeoutError"
    assert output["statusCode"] == 200


def test_a_failing_ingest_fails_the_execution():
    fakes = FakeFunctions()

    def broken(payload):
        raise RuntimeError("table missing")

    fakes.by_arn[ARN[FunctionName.INGEST]] = broken
    with pytest.raises(ExecutionFailed) as failure:
        machine(fakes).execute(REQUEST)
    assert (failure.value.error, failure.value.cause) == ("RuntimeError", "table missing")


# the interpreter, state by state ----------------------------------------------------------------------------------
def run(states: dict, data, invoke=None, start: str | None = None, substitutions=None):
    definition = {"StartAt": start or next(iter(states)), "States": states}
    return LocalStateMachine(
        definition, substitutions or {"F": "fn"}, invoke or (lambda arn, payload: payload)
    ).execute(data)


def task(**fields) -> dict:
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "${F}", "Payload.$": "$"},
    } | fields


def test_parameters_resolve_paths_nested_objects_lists_and_literals():
    data = {"a": {"b": 1}, "name": "alex", "items": [1, 2]}
    template = {
        "plain": "$.not.a.path",
        "x.$": "$.a.b",
        "nested": {"who.$": "$.name", "n": 3},
        "list": [{"all.$": "$"}, "lit"],
        "whole.$": "$.items",
    }

    assert resolve_parameters(template, data) == {
        "plain": "$.not.a.path",
        "x": 1,
        "nested": {"who": "alex", "n": 3},
        "list": [{"all": data}, "lit"],
        "whole": [1, 2],
    }


def test_math_add_intrinsic():
    assert resolve_parameters({"n.$": "States.MathAdd($.loop.steps, 1)"}, {"loop": {"steps": 2}}) == {"n": 3}
    assert resolve_parameters({"n.$": "States.MathAdd($.x, -5)"}, {"x": 2}) == {"n": -3}
    with pytest.raises(UnsupportedDefinition, match="unsupported intrinsic"):
        resolve_parameters({"n.$": "States.Format('{}', $.x)"}, {"x": 1})


def test_a_missing_path_is_an_error():
    with pytest.raises(KeyError):
        resolve_parameters({"x.$": "$.nope"}, {"a": 1})


def test_pass_with_parameters_and_result_path():
    output, _ = run(
        {
            "P": {
                "Type": "Pass",
                "Parameters": {"steps.$": "States.MathAdd($.loop.steps, 1)"},
                "ResultPath": "$.loop",
                "End": True,
            }
        },
        {"loop": {"steps": 0}, "keep": "me"},
    )
    assert output == {"loop": {"steps": 1}, "keep": "me"}


def test_pass_without_parameters_passes_its_input_and_output_path_selects():
    output, _ = run({"P": {"Type": "Pass", "OutputPath": "$.http", "End": True}}, {"http": {"statusCode": 200}, "x": 1})
    assert output == {"statusCode": 200}


def test_input_path_result_path_and_output_path_on_a_task():
    received = []

    def invoke(arn, payload):
        received.append((arn, payload))
        return {"doubled": payload["n"] * 2}

    output, _ = run(
        {"T": task(InputPath="$.input", ResultPath="$.result", OutputPath="$.result.Payload", End=True)},
        {"input": {"n": 21}, "other": True},
        invoke,
    )
    assert received == [("fn", {"n": 21})]
    assert output == {"doubled": 42}


def test_result_path_null_keeps_the_input():
    output, _ = run({"T": task(ResultPath=None, End=True)}, {"keep": 1}, lambda arn, payload: {"dropped": True})
    assert output == {"keep": 1}


def test_a_task_result_has_the_lambda_invoke_shape():
    output, _ = run({"T": task(End=True)}, {"n": 1}, lambda arn, payload: {"ok": True})
    assert output == {"Payload": {"ok": True}, "StatusCode": 200}


@pytest.mark.parametrize(
    ("rule", "data", "expected"),
    [
        ({"Variable": "$.accepted", "BooleanEquals": False}, {"accepted": False}, True),
        ({"Variable": "$.accepted", "BooleanEquals": False}, {"accepted": True}, False),
        ({"Variable": "$.accepted", "BooleanEquals": False}, {}, False),  # a missing variable matches nothing
        ({"Variable": "$.d.next", "StringEquals": "actions"}, {"d": {"next": "actions"}}, True),
        ({"Variable": "$.n", "NumericLessThan": 3}, {"n": 2}, True),
        ({"Variable": "$.n", "NumericLessThan": 3}, {"n": 3}, False),
        ({"Variable": "$.n", "NumericLessThan": 3}, {"n": "2"}, False),  # a string is not a number
        ({"Variable": "$.n", "NumericLessThanEquals": 3}, {"n": 3}, True),
        ({"Variable": "$.n", "NumericLessThanEquals": 3}, {"n": 4}, False),
        ({"Variable": "$.n", "NumericGreaterThan": 3}, {"n": 4}, True),
        ({"Variable": "$.n", "NumericGreaterThanEquals": 3}, {"n": 3}, True),
        ({"Variable": "$.n", "NumericEquals": 3}, {"n": 3.0}, True),
        ({"Variable": "$.x", "IsPresent": True}, {"x": None}, True),
        ({"Variable": "$.x", "IsPresent": False}, {}, True),
        (
            {"And": [{"Variable": "$.a", "BooleanEquals": True}, {"Variable": "$.n", "NumericLessThan": 3}]},
            {"a": True, "n": 5},
            False,
        ),
        (
            {"Or": [{"Variable": "$.a", "BooleanEquals": True}, {"Variable": "$.n", "NumericLessThan": 3}]},
            {"a": True, "n": 5},
            True,
        ),
        ({"Not": {"Variable": "$.a", "BooleanEquals": True}}, {"a": False}, True),
    ],
)
def test_choice_rules(rule, data, expected):
    assert evaluate_rule(rule, data) is expected


def test_an_unsupported_choice_rule_is_refused():
    with pytest.raises(UnsupportedDefinition):
        evaluate_rule({"Variable": "$.s", "StringMatches": "a*"}, {"s": "abc"})


def test_choice_picks_the_first_match_or_the_default():
    states = {
        "C": {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.n", "NumericLessThan": 3, "Next": "Small"},
                {"Variable": "$.n", "NumericLessThan": 10, "Next": "Medium"},
            ],
            "Default": "Large",
        },
        "Small": {"Type": "Succeed"},
        "Medium": {"Type": "Succeed"},
        "Large": {"Type": "Succeed"},
    }
    assert run(states, {"n": 1})[1] == ["C", "Small"]
    assert run(states, {"n": 5})[1] == ["C", "Medium"]
    assert run(states, {"n": 50})[1] == ["C", "Large"]


def test_choice_without_a_match_or_default_fails():
    states = {
        "C": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericEquals": 1, "Next": "S"}]},
        "S": {"Type": "Succeed"},
    }
    with pytest.raises(ExecutionFailed) as failure:
        run(states, {"n": 2})
    assert failure.value.error == "States.NoChoiceMatched"


def test_fail_state_raises_its_error_and_cause():
    with pytest.raises(ExecutionFailed) as failure:
        run({"F": {"Type": "Fail", "Error": "Refused", "Cause": "not allowed"}}, {})
    assert (failure.value.error, failure.value.cause) == ("Refused", "not allowed")


def test_retry_retries_matching_errors_up_to_max_attempts():
    class Flaky(Exception):
        pass

    attempts = []

    def invoke(arn, payload):
        attempts.append(1)
        if len(attempts) < 3:
            raise Flaky("try again")
        return "ok"

    output, _ = run(
        {
            "T": task(
                Retry=[{"ErrorEquals": ["Flaky"], "IntervalSeconds": 1, "MaxAttempts": 2}],
                OutputPath="$.Payload",
                End=True,
            )
        },
        {},
        invoke,
    )
    assert output == "ok" and len(attempts) == 3


def test_retry_gives_up_after_max_attempts_and_catch_takes_over():
    calls = []

    def invoke(arn, payload):
        calls.append(1)
        raise ValueError("always")

    states = {
        "T": task(
            Retry=[{"ErrorEquals": ["ValueError"], "MaxAttempts": 1}],
            Catch=[
                {"ErrorEquals": ["KeyError"], "Next": "Never"},
                {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Done"},
            ],
            Next="Never",
        ),
        "Never": {"Type": "Fail", "Error": "Wrong"},
        "Done": {"Type": "Succeed"},
    }
    output, visited = run(states, {"keep": 1}, invoke)
    assert len(calls) == 2
    assert visited == ["T", "Done"]
    assert output == {"keep": 1, "error": {"Error": "ValueError", "Cause": "always"}}


def test_an_error_nobody_retries_or_catches_fails_the_execution():
    def invoke(arn, payload):
        raise LookupError("gone")

    with pytest.raises(ExecutionFailed) as failure:
        run({"T": task(Retry=[{"ErrorEquals": ["ValueError"]}], End=True)}, {}, invoke)
    assert failure.value.error == "LookupError"


def test_an_endless_loop_is_stopped():
    with pytest.raises(ExecutionFailed) as failure:
        run({"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "Next": "A"}}, {})
    assert failure.value.error == "States.Runtime"


@pytest.mark.parametrize(
    "state",
    [
        {"Type": "Wait", "Seconds": 1, "Timestamp": "2026-01-01T00:00:00Z", "End": True},
        {"Type": "Map", "End": True},
        {"Type": "Parallel", "Branches": [], "End": True},
        {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem", "Parameters": {}, "End": True},
        {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "my-fn"},
            "End": True,
        },
    ],
    ids=["wait-two-times", "map", "parallel", "other-integration", "literal-function-name"],
)
def test_features_it_cannot_run_are_refused_up_front(state):
    with pytest.raises(UnsupportedDefinition):
        LocalStateMachine({"StartAt": "S", "States": {"S": state}}, {"F": "fn"}, lambda arn, payload: None)


def test_a_pass_result_is_honoured_or_refused():
    definition = {
        "StartAt": "P",
        "States": {"P": {"Type": "Pass", "Result": {"x": 1}, "ResultPath": "$.r", "End": True}},
    }
    try:
        machine_ = LocalStateMachine(definition, {}, lambda arn, payload: None)
    except UnsupportedDefinition:
        return  # refused loudly: fine
    output, _ = machine_.execute({"keep": 1})
    assert output == {"keep": 1, "r": {"x": 1}}


def test_while_a_person_owns_the_conversation_no_retrieval_agent_or_action_runs():
    fakes = FakeFunctions(with_people=True)
    _, visited = machine(fakes).execute(REQUEST)
    assert visited == ["Ingest", "Route", "Reply"]
    assert fakes.calls == [(FunctionName.INGEST, "turn.receive"), (FunctionName.INGEST, "turn.reply")]
