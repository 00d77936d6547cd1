"""The handoff triggers enforced by code for every engine (reasoning.escalation)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from concierge.conversation.api import Channel
from concierge.conversation.turn import ConversationSnapshot, CustomerRef, IncomingMessage, ReadyTurn
from concierge.reasoning import signals
from concierge.reasoning.escalation import trigger

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


def turn(text: str) -> ReadyTurn:
    return ReadyTurn(
        conversation_id="c",
        customer=CustomerRef(id="alex", first_name="Alex"),
        signals=signals.score(text),
        message=IncomingMessage(message_id="m", text=text, channel=Channel.WEB, received_at=NOW),
        conversation=ConversationSnapshot(started_at=NOW, customer_turns=1),
    )


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("I want to talk to a real person", "customer asked for a human"),
        ("this is ridiculous", "customer is frustrated"),
        ("My card payment failed twice at checkout", "payment failure"),
        ("I think I was charged twice for my order", "payment failure"),
        ("I was double-charged", "payment failure"),
    ],
)
def test_each_trigger(text, reason):
    assert trigger(turn(text)) == reason


def test_worsening_sentiment_hands_off_but_a_steady_mood_does_not():
    assert trigger(turn("ok, where is it now?"), sentiments=[0.5, 0.4, 0.3, -0.3]) == "sentiment is getting worse"
    assert trigger(turn("ok, where is it now?"), sentiments=[-0.1, -0.1, -0.1, -0.3]) is None


def test_a_customer_who_closes_with_thanks_is_not_handed_off_for_a_drop_in_mood():
    # told the item is outside the return window, they take the answer: nobody needs to be called in
    drop = [0.4, 0.4, 0.4, -0.34]
    assert trigger(turn("Oh, I didn't realise. OK, thanks anyway."), sentiments=drop) is None
    assert trigger(turn("ok, that's disappointing but I understand"), sentiments=drop) is None
    assert trigger(turn("well thanks for nothing then"), sentiments=drop) == "sentiment is getting worse"


def test_two_failed_attempts_hand_off():
    assert trigger(turn("the blue one"), misses=2) == "two failed attempts at the same request"
    assert trigger(turn("the blue one"), misses=1) is None
    # dropping the request with thanks after two misses is not a third failure
    assert trigger(turn("Ah, that's a shame. I'll hang on to it then, thanks."), misses=2) is None


def test_an_ordinary_question_does_not_hand_off():
    assert trigger(turn("How long does a refund take?")) is None
