"""How `concierge eval` decides that an expected action happened (concierge.dev.evaluation.score), on hand-made logs."""

from __future__ import annotations

from concierge.dev.evaluation import Scenario, TurnLog, score

PROPOSAL = {
    "tool": "return_items",
    "status": "pending_confirmation",
    "arguments": {"order_id": "#1020", "line_ids": ["1"], "resolution": "refund", "refund_to": "store_credit"},
    "result": {"action_id": "A1", "order_id": "#1020", "refund_to": "store credit on your account"},
}
EXECUTED = {
    "tool": "return_items",
    "status": "executed",
    "arguments": {"action_id": "A1"},
    "result": {"order_id": "#1020", "refund_to": "store credit on your account", "store_credit": True},
}


def scenario(**expect) -> Scenario:
    return Scenario.model_validate({"name": "s", "customer": "c", "turns": ["a", "b"], "expect": expect})


def log(*turns: list[dict]) -> list[TurnLog]:
    return [
        TurnLog(text="t", reply="r", status=200, latency_ms=1.0, actions=actions, handoff=False) for actions in turns
    ]


def test_an_executed_confirmation_matches_the_arguments_of_the_proposal_it_confirmed():
    expected = {"tool": "return_items", "status": "executed", "arguments": {"refund_to": "store_credit"}}
    assert score(scenario(actions=[expected]), log([PROPOSAL], [EXECUTED]), 0, 0.0).resolved
    forbidden = score(scenario(forbidden_actions=[expected]), log([PROPOSAL], [EXECUTED]), 0, 0.0)
    assert forbidden.policy_violations == 1, "a forbidden execution is caught by what it executed"


def test_a_confirmation_of_another_proposal_or_another_value_does_not_match():
    other = {**PROPOSAL, "arguments": {**PROPOSAL["arguments"], "refund_to": "original_payment"}}
    expected = {"tool": "return_items", "status": "executed", "arguments": {"refund_to": "store_credit"}}
    assert not score(scenario(actions=[expected]), log([other], [EXECUTED]), 0, 0.0).resolved
    elsewhere = {**EXECUTED, "arguments": {"action_id": "A2"}}
    assert not score(scenario(actions=[expected]), log([PROPOSAL], [elsewhere]), 0, 0.0).resolved


def test_result_fields_still_match_as_before():
    expected = {"tool": "return_items", "status": "executed", "arguments": {"order_id": "#1020", "store_credit": True}}
    assert score(scenario(actions=[expected]), log([PROPOSAL], [EXECUTED]), 0, 0.0).resolved
