"""The customer's answer to a message the shop started (a journey's, docs/journeys.md), read by the deterministic
engine: a question about a proposal is answered and runs nothing; a request put as a question is a choice; the first
answer is not greeted as if the assistant had not written yet."""

from __future__ import annotations

from datetime import UTC, datetime

from concierge.conversation.api import Channel
from concierge.conversation.turn import ConversationRecord
from concierge.journeys.outreach import summary
from tests.unit.test_engine import journey_conversation

NOW = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)


def with_said(chat, order_id: str):
    """The flow as the journey's message leaves it: each proposal as it was worded."""
    chat.flow = {
        **chat.flow,
        "said": {
            "reship": summary("reship_order", {"order_id": order_id, "items": ["Trail Shell Jacket"]}),
            "refund": summary(
                "refund_order",
                {"order_id": order_id, "total": "129.00", "currency": "USD", "refund_to": "your Visa ending 4242"},
            ),
        },
    }
    return chat


def statuses(chat, *action_ids: str) -> set[str]:
    return {chat.memory.actions[a]["status"] for a in action_ids}


def test_where_the_refund_would_go_is_answered_from_the_proposal_and_nothing_runs():
    chat, order_id, reship, refund = journey_conversation()
    with_said(chat, order_id)
    decision = chat.say("Where would the refund go?")
    assert chat.tools == []
    assert statuses(chat, reship, refund) == {"pending_confirmation"}
    assert "your Visa ending 4242" in decision.reply and "Nothing happens until you say so" in decision.reply
    chat.say("ok, refund it then")  # the choice, after the answer
    assert chat.memory.actions[refund]["status"] == "executed"


def test_a_question_about_refunds_in_general_runs_nothing():
    chat, order_id, reship, refund = journey_conversation()
    with_said(chat, order_id)
    chat.say("How long does a refund take to reach my card?")
    assert "confirm_action" not in chat.tools
    assert statuses(chat, reship, refund) == {"pending_confirmation"}


def test_a_request_put_as_a_question_is_the_choice():
    chat, order_id, reship, refund = journey_conversation()
    with_said(chat, order_id)
    chat.say("Can you just send it again?")
    assert chat.memory.actions[reship]["status"] == "executed"
    assert chat.memory.actions[refund]["status"] == "cancelled"


def test_the_first_answer_in_a_conversation_the_shop_opened_is_not_greeted():
    def opened_by_us(chat):
        plain = chat.turn

        def turn(text, **kwargs):
            made = plain(text, **kwargs)
            return made.model_copy(update={"conversation": made.conversation.model_copy(update={"opened_by_us": True})})

        chat.turn = turn
        return chat

    journey, _, _, _ = journey_conversation()
    answer = opened_by_us(journey).say("no thanks, I'll wait for it")
    assert "leave it as it is" in answer.reply and "AI assistant" not in answer.reply
    ordinary, _, _, _ = journey_conversation()  # the same answer where the customer wrote first: introduced
    assert "AI assistant" in ordinary.say("no thanks, I'll wait for it").reply


def test_a_conversation_is_opened_by_us_when_a_message_came_before_the_customer_s_first():
    record = ConversationRecord(
        conversation_id="j-1", customer_id="c-1", channel=Channel.EMAIL, started_at=NOW, updated_at=NOW
    )
    journeys = record.model_copy(update={"message_seq": 2, "customer_turns": 1})
    assert journeys.snapshot().opened_by_us
    assert not record.model_copy(update={"message_seq": 1, "customer_turns": 1}).snapshot().opened_by_us
    assert not record.model_copy(update={"message_seq": 4, "customer_turns": 2}).snapshot().opened_by_us


def test_a_promoter_s_thank_you_is_answered_from_its_context_and_a_no_closes_it():
    from tests.unit.test_engine import Conversation

    def thanked() -> Conversation:
        chat = Conversation(customer_id="jordan", conversation_id="j-thanks")
        offer = {
            "offer_id": "refill-thanks",
            "outcome": "offer",
            "presented": True,
            "code": "KC-REFILL-3F9A0C1E",
            "value": "10% off",
            "expires_at": "2026-12-18T10:00:00+00:00",
        }
        context = {"survey": "nps", "product": "Merino Hiking Socks", "offer": offer}
        chat.flow = {"name": "journey", "journey": "survey_promoter", "proposals": {}, "said": {}, "context": context}
        return chat

    chat = thanked()
    reply = chat.say("Sorry, what was the discount code again?").reply
    # (greeted here: this harness's conversation was not opened by the shop)
    assert reply.endswith(
        "Your code is KC-REFILL-3F9A0C1E for 10% off, on the Merino Hiking Socks: it works once, until 18 December."
    )
    assert chat.tools == []
    chat = thanked()
    decision = chat.say("no thanks")
    assert "Thank you again for your feedback" in decision.reply and decision.flow == {} and chat.tools == []
