"""The turn's stages (conversation/turn.py): each step of the workflow validates the stage it needs where the turn comes in, refuses
a turn without it with one `turn_incomplete` error naming what is missing, and takes the previous step's payload as it
is: the stages are the same JSON as `Turn`."""

from __future__ import annotations

import inspect
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from concierge.conversation.api import Channel, HttpResponse
from concierge.conversation.tasks import ActionsTask, ActTask, DecideTask, IngestTask, ReplyTask, RetrieveTask
from concierge.conversation.turn import (
    ActionResult,
    ActionStatus,
    ConversationSnapshot,
    CustomerRef,
    DecidedTurn,
    Decision,
    IncomingMessage,
    ReadyTurn,
    RejectedTurn,
    Signals,
    ToolCall,
    Turn,
)
from concierge.reasoning.costs import Usage

NOW = datetime(2026, 3, 2, 10, tzinfo=UTC)
SECRET = "my card ends 4242 and I live at 12 Elm Street"
EVENTS = Path(__file__).parents[2] / "events"


def ready() -> ReadyTurn:
    return ReadyTurn(
        conversation_id="c1",
        customer=CustomerRef(id="alex", first_name="Alex"),
        message=IncomingMessage(message_id="c1:1", text=SECRET, channel=Channel.WEB, received_at=NOW),
        signals=Signals(intent="track", intent_confidence=0.8, sentiment=0.0),
        conversation=ConversationSnapshot(started_at=NOW, customer_turns=1),
        started_at=NOW,
    )


def payload(turn: Turn) -> dict:
    """A turn as one state of the workflow hands it to the next: JSON."""
    return json.loads(json.dumps(turn.model_dump(mode="json")))


def without(data: dict, *names: str) -> dict:
    return {**data, **dict.fromkeys(names)}


ACTIONS = Decision(next="actions", tool_calls=[ToolCall(id="track_shipment-1.0-1", tool="track_shipment")])
REPLY = Decision(next="reply", reply="It is on its way.", usage=Usage(input_tokens=10, output_tokens=5))


# what each step refuses ----------------------------------------------------------------------------------------------
def validate_retrieve(turn: dict) -> object:
    return RetrieveTask.model_validate({"kind": "turn.retrieve", "turn": turn}).turn


def validate_decide(turn: dict) -> object:
    return DecideTask.model_validate({"kind": "turn.decide", "turn": turn}).turn


def validate_act(turn: dict) -> object:
    return ActionsTask.model_validate({"task": {"kind": "turn.act", "turn": turn}}).task


def validate_reply(turn: dict) -> object:
    return IngestTask.model_validate({"task": {"kind": "turn.reply", "turn": turn}}).task


STEPS = {"retrieve": validate_retrieve, "decide": validate_decide, "act": validate_act, "reply": validate_reply}
LOCATIONS = {
    "retrieve": ("turn",),
    "decide": ("turn",),
    "act": ("task", "turn.act", "turn"),
    "reply": ("task", "turn.reply", "turn"),
}


def refusal(step: str, turn: dict) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        STEPS[step](turn)
    return caught.value


@pytest.mark.parametrize("step", list(STEPS))
@pytest.mark.parametrize("missing", [("customer",), ("message", "signals"), ("conversation",)])
def test_every_step_refuses_a_turn_without_what_ingest_gives_it_in_one_error_naming_what_is_missing(step, missing):
    turn = payload(ready().decided(ACTIONS) if step == "act" else ready())
    error = refusal(step, without(turn, *missing))
    [only] = error.errors()
    assert only["type"] == "turn_incomplete"
    assert only["loc"] == LOCATIONS[step]
    assert only["ctx"]["missing"] == ", ".join(missing)
    assert f"has no {', '.join(missing)}" in str(error)


def test_the_actions_step_refuses_a_turn_without_the_agents_decision():
    error = refusal("act", payload(ready()))
    [only] = error.errors()
    assert only["type"] == "turn_incomplete"
    assert only["ctx"] == {
        "stage": "a turn the agent decided",
        "model": "DecidedTurn",
        "needs": "message, customer, conversation, signals, decision",
        "missing": "decision",
    }


def test_a_rejected_turn_is_refused_as_rejected():
    rejected = payload(Turn.rejected(HttpResponse.error(401, "The customer token's signature is not valid.")))
    error = refusal("retrieve", rejected)
    assert error.errors()[0]["ctx"]["missing"].startswith("acceptance (ingest rejected it), message, customer")


def test_a_turn_marked_rejected_is_refused_whatever_else_it_has():
    error = refusal("decide", {**payload(ready()), "accepted": False})
    assert error.errors()[0]["ctx"]["missing"] == "acceptance (ingest rejected it)"


@pytest.mark.parametrize("step", list(STEPS))
def test_a_refusal_quotes_nothing_the_customer_wrote(step):
    turn = without(payload(ready().decided(ACTIONS)), "customer")
    error = refusal(step, turn)
    assert SECRET not in str(error)
    assert "Alex" not in str(error) and "4242" not in str(error)


def test_a_refusal_comes_before_the_agent_does_anything(monkeypatch):
    from functions.agent import handler

    def never(*args, **kwargs):
        raise AssertionError("the engine was reached")

    monkeypatch.setattr(handler, "engine", never)
    body = inspect.unwrap(handler.handler)  # without powertools' decorators (their logger and metrics are global)
    with pytest.raises(ValidationError, match="turn_incomplete"):
        body({"kind": "turn.decide", "turn": without(payload(ready()), "signals")}, None)


# what each step takes: the previous step's payload as it is ------------------------------------------------------------
def test_each_step_takes_the_previous_steps_payload():
    received = ready()
    retrieved = validate_retrieve(payload(received))
    assert isinstance(retrieved, ReadyTurn) and retrieved == received
    asked = validate_decide(payload(retrieved))
    assert isinstance(asked, ReadyTurn) and not isinstance(asked, DecidedTurn)

    decided = asked.decided(ACTIONS)
    act = validate_act(payload(decided))
    assert isinstance(act, ActTask) and act.turn == decided
    result = ActionResult(
        call_id="track_shipment-1.0-1", action_id="A1", tool="track_shipment", status=ActionStatus.EXECUTED
    )
    acted = act.turn.model_copy(update={"results": [result], "tool_rounds": [ACTIONS.tool_calls]})
    asked_again = validate_decide(payload(acted))  # the agent's next step reads the previous decision too
    assert asked_again.model_dump() == acted.model_dump() and asked_again.decision == ACTIONS

    replied = validate_reply(payload(asked_again.decided(REPLY)))
    assert isinstance(replied, ReplyTask) and replied.turn.decision == REPLY


def test_the_reply_step_takes_an_undecided_turn():
    """Handed off (the AI stays silent), or the agent failed: the reply step has no decision to send."""
    handed_off = ready().model_copy(update={"conversation": ConversationSnapshot(started_at=NOW, status="handed_off")})
    failed = ready().model_copy(update={"errors": {"agent": {"Error": "Lambda.Unknown", "Cause": "timeout"}}})
    for turn in (handed_off, failed):
        task = validate_reply(payload(turn))
        assert isinstance(task, ReplyTask) and task.turn.decision is None and task.turn == turn


@pytest.mark.parametrize("kind", ["turn.retrieve", "turn.decide", "turn.act", "turn.reply"])
def test_the_samples_validate_into_their_stage(kind):
    sample = json.loads((EVENTS / "tasks" / f"{kind}.json").read_text())
    turn = (
        {"turn.retrieve": RetrieveTask, "turn.decide": DecideTask, "turn.act": ActTask, "turn.reply": ReplyTask}[kind]
        .model_validate(sample)
        .turn
    )
    assert isinstance(turn, DecidedTurn if kind == "turn.act" else ReadyTurn)
    assert turn.model_dump(mode="json") == Turn.model_validate(sample["turn"]).model_dump(mode="json")


# the same JSON ---------------------------------------------------------------------------------------------------------
def test_a_stage_dumps_exactly_what_the_turn_it_holds_dumps():
    decided = ready().decided(ACTIONS)
    for turn in (ready(), decided):
        assert turn.model_dump(mode="json") == Turn.model_validate(payload(turn)).model_dump(mode="json")
        assert list(turn.model_dump(mode="json")) == list(Turn.model_fields)
    rejected = Turn.rejected(HttpResponse.error(400, "no"))
    assert isinstance(rejected, RejectedTurn)
    assert rejected.model_dump(mode="json") == Turn(accepted=False, http=rejected.http).model_dump(mode="json")


def test_decided_sets_the_decision_adds_its_usage_and_counts_an_action_round():
    turn = ready().model_copy(update={"usage": Usage(input_tokens=1, output_tokens=2), "errors": {"x": "y"}})
    acting = turn.decided(ACTIONS)
    assert isinstance(acting, DecidedTurn)
    assert acting.decision == ACTIONS and acting.loop.steps == 1 and acting.errors == {"x": "y"}
    replying = acting.decided(REPLY, errors={})
    assert replying.decision == REPLY and replying.loop.steps == 1 and replying.errors == {}
    assert (replying.usage.input_tokens, replying.usage.output_tokens) == (11, 7)
    expected = turn.model_dump(mode="json") | {
        "decision": ACTIONS.model_dump(mode="json"),
        "loop": {"steps": 1},
    }
    assert acting.model_dump(mode="json") == expected
