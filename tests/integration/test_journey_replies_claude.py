"""A journey's conversation answered through Claude (the Messages API stand-in): on the customer's first answer the
model is sent the message the shop opened the conversation with and the proposals it made, still pending, so that
"refund it please" confirms the refund the message proposed — through the model, and once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from concierge.journeys.outreach import action_id
from concierge.journeys.runner import conversation_id_for
from concierge.local.messages_standin import message, tool_use
from concierge.platform.settings import current_settings
from tests.integration.conftest import merchant, model_stack
from tests.integration.test_claude_flows import PENDING, reply, turn_engines
from tests.integration.test_journeys import (
    MANY,
    MORNING,
    answer_by_email,
    delayed,
    finish,
    late_order,
    memory,
    post_signal,
    verify_email,
)

MODEL = "claude-sonnet-5-5"  # the default


@pytest.fixture(scope="module")
def stack(model, tmp_path_factory):
    # the longest budget a turn may have: a busy machine must not push the model call past it (the fallback's answer)
    yield from model_stack(tmp_path_factory, model, CONCIERGE_TURN_BUDGET_SECONDS="25")


@pytest.fixture
def clock(stack, monkeypatch):
    """The wait clock at MORNING, as test_journeys has it, and the actions function reading it (the journey's quiet
    hours). Ingest keeps the real clock: it sets the turn's deadline, which the model call is measured against."""
    import functions.actions.handler as actions

    stack.clock.advance(MORNING - stack.clock.now())
    monkeypatch.setattr(actions, "now", stack.clock.now)
    monkeypatch.setenv("CONCIERGE_MODEL", MODEL)
    current_settings.cache_clear()
    yield stack.clock
    current_settings.cache_clear()


def sent_to_model(body: dict) -> str:
    parts = [body.get("system") if isinstance(body.get("system"), str) else str(body.get("system"))]
    for m in body["messages"]:
        content = m["content"]
        parts += [content] if isinstance(content, str) else [b.get("text", "") for b in content]
    return " ".join(parts)


def confirm_pending_refund(body: dict) -> dict:
    """The model's answer to "refund it please": confirm the pending refund its context lists (it can know the id
    from nowhere else)."""
    pending = {tool: found for found, tool in PENDING.findall(sent_to_model(body))}
    if "refund_order" not in pending:
        return reply(MODEL, "No pending refund in my context.")
    return message(tool_use("confirm_action", {"action_id": pending["refund_order"]}))


def test_the_model_is_told_the_journey_s_message_and_confirms_the_proposal_the_customer_chose(stack, clock, model):
    verify_email("jordan")
    order_id = late_order("jordan")
    with merchant(journeys=MANY):
        post_signal(stack, delayed("jordan", order_id, "late-claude"))
        finish(stack, "delayed_shipment", "jordan", "late-claude", timedelta(minutes=61))
    conversation_id = conversation_id_for("delayed_shipment", "jordan", "late-claude")
    refund, reship = action_id(conversation_id, "refund_order"), action_id(conversation_id, "reship_order")
    model.script.clear()
    model.requests.clear()
    model.queue(confirm_pending_refund, reply(MODEL, "Done: your refund is on its way."))

    answer = answer_by_email(stack, "jordan", conversation_id, "Refund it please")

    first = sent_to_model(model.requests[0]["body"])
    assert "is running late" in first, "the message the shop opened the conversation with"
    assert refund in first and reship in first, "the proposals it made, pending, with their ids"
    assert "Done: your refund is on its way." in answer and "I'm the" not in answer, answer  # not introduced again
    assert memory().get_action(conversation_id, refund)["status"] == "executed"
    assert memory().get_action(conversation_id, reship)["status"] == "cancelled"
    assert turn_engines(conversation_id)[-1] == "claude"
