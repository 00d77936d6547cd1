"""Explainable Auto-CSAT: a 1–5 score per closed conversation, computed from the default `Weights`.

Every expected value below is worked out by hand from the defaults:
neutral 3.0; resolved +1.0, handed_off -0.25, unresolved -1.0; sentiment 0.5 * last + 0.5 * clamp(last - first);
6 free turns then -0.1 each (floor -0.75); -0.3 per repeat (floor -0.9); -0.5 per failed action (floor -1.0);
thanks +0.5; complaint -0.75; first response over 10 s -0.25. The score is the raw sum clamped to 1..5 and
rounded half up.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from concierge.platform.events import ConversationClosed
from concierge.surveys.autocsat import SCORER_VERSION, Weights, score_conversation

AT = datetime(2025, 5, 14, 12, 0, tzinfo=UTC)


def closed(**changes) -> ConversationClosed:
    fields = {
        "occurred_at": AT,
        "conversation_id": "conv-1",
        "customer_id": "alex",
        "channel": "web",
        "started_at": AT,
        "turns": 1,
        "resolution": "resolved",
        "sentiments": [],
        "first_response_ms": 900,
    }
    return ConversationClosed(**(fields | changes))


def effects(score) -> dict[str, float]:
    return {reason.factor: reason.effect for reason in score.reasons}


def test_resolved_friendly_conversation():
    score = score_conversation(closed(turns=3, resolution="resolved", sentiments=[0.0, 0.6], thanked=True))

    # resolution +1.0; sentiment 0.5*0.6 + 0.5*(0.6-0.0) = 0.3 + 0.3 = +0.6; thanks +0.5; 3 turns are free
    # raw 3 + 1.0 + 0.6 + 0.5 = 5.1 -> clamped to 5
    assert effects(score) == {"resolution": 1.0, "sentiment_trajectory": 0.6, "thanks": 0.5}
    assert score.raw == pytest.approx(5.1)
    assert score.score == 5


def test_handed_off_angry_conversation():
    score = score_conversation(
        closed(
            turns=9,
            resolution="handed_off",
            handoff_reason="customer is frustrated",
            sentiments=[-0.2, -0.7],
            repeated_messages=2,
            actions_failed=1,
            complained=True,
            first_response_ms=12_000,
        )
    )

    # resolution -0.25
    # sentiment 0.5*(-0.7) + 0.5*(-0.7 - -0.2) = -0.35 + -0.25 = -0.6
    # effort (9 - 6) * -0.1 = -0.3; repeats 2 * -0.3 = -0.6; failed 1 * -0.5 = -0.5
    # complaint -0.75; slow first response -0.25
    # raw 3 - 0.25 - 0.6 - 0.3 - 0.6 - 0.5 - 0.75 - 0.25 = -0.25 -> clamped to 1
    assert effects(score) == {
        "resolution": -0.25,
        "sentiment_trajectory": -0.6,
        "effort": -0.3,
        "effort_repeats": -0.6,
        "failed_actions": -0.5,
        "complaint": -0.75,
        "response_time": -0.25,
    }
    assert score.raw == pytest.approx(-0.25)
    assert score.score == 1


def test_unresolved_conversation_in_the_middle():
    score = score_conversation(closed(turns=8, resolution="unresolved", sentiments=[0.1]))

    # resolution -1.0; one sentiment: 0.5*0.1 + 0.5*0 = +0.05; effort (8 - 6) * -0.1 = -0.2
    # raw 3 - 1.0 + 0.05 - 0.2 = 1.85 -> 2
    assert effects(score) == {"resolution": -1.0, "sentiment_trajectory": 0.05, "effort": -0.2}
    assert score.raw == pytest.approx(1.85)
    assert score.score == 2


def test_penalties_stop_at_their_floors():
    score = score_conversation(closed(turns=20, repeated_messages=5, actions_failed=4))

    # effort 14 * -0.1 = -1.4 -> floor -0.75; repeats 5 * -0.3 = -1.5 -> floor -0.9; failed 4 * -0.5 = -2.0 -> floor -1.0
    # raw 3 + 1.0 - 0.75 - 0.9 - 1.0 = 1.35 -> 1
    assert effects(score) == {"resolution": 1.0, "effort": -0.75, "effort_repeats": -0.9, "failed_actions": -1.0}
    assert score.raw == pytest.approx(1.35)
    assert score.score == 1


def test_sentiment_change_is_clamped_to_one():
    score = score_conversation(closed(sentiments=[-1.0, 1.0]))

    # 0.5*1.0 + 0.5*clamp(2.0 -> 1.0) = 1.0; raw 3 + 1.0 + 1.0 = 5.0
    assert effects(score)["sentiment_trajectory"] == 1.0
    assert score.raw == pytest.approx(5.0) and score.score == 5


def test_half_points_round_up_not_to_even():
    score = score_conversation(closed(resolution="handed_off", first_response_ms=15_000))

    # raw 3 - 0.25 - 0.25 = 2.5 -> 3 (banker's rounding would give 2)
    assert score.raw == pytest.approx(2.5)
    assert score.score == 3


@pytest.mark.parametrize(
    ("first_response_ms", "penalised"),
    [(10_000, False), (10_001, True)],
)
def test_a_slow_first_response_counts_only_above_ten_seconds(first_response_ms, penalised):
    score = score_conversation(closed(first_response_ms=first_response_ms))
    assert ("response_time" in effects(score)) is penalised


def test_score_is_clamped_between_one_and_five_but_raw_is_kept():
    best = score_conversation(closed(sentiments=[-1.0, 1.0], thanked=True))
    worst = score_conversation(
        closed(
            turns=30,
            resolution="unresolved",
            sentiments=[0.5, -1.0],
            repeated_messages=9,
            actions_failed=9,
            complained=True,
            first_response_ms=60_000,
        )
    )
    # best: 3 + 1.0 + 1.0 + 0.5 = 5.5; worst: 3 - 1.0 - 1.0 - 0.75 - 0.9 - 1.0 - 0.75 - 0.25 = -2.65
    assert (best.score, best.raw) == (5, pytest.approx(5.5))
    assert (worst.score, worst.raw) == (1, pytest.approx(-2.65))


def test_reasons_explain_the_score_biggest_first():
    score = score_conversation(
        closed(
            turns=9,
            resolution="handed_off",
            handoff_reason="customer asked for a human",
            sentiments=[0.0, 0.2],
            thanked=True,
        )
    )

    # raw 3 - 0.25 + 0.2 + 0.5 - 0.3 = 3.15, not under neutral: what lifted it first, then the rest, each biggest first
    assert [r.effect for r in score.reasons] == [0.5, 0.2, -0.3, -0.25]
    details = {r.factor: r.detail for r in score.reasons}
    assert details["resolution"] == "Handed to a human (customer asked for a human) (-0.25)"
    assert details["thanks"] == "The customer said thanks (+0.50)"
    assert details["effort"] == "9 customer messages (-0.30)"
    assert details["sentiment_trajectory"] == "Sentiment went from +0.00 to +0.20 (+0.20)"
    assert score.conversation_id == "conv-1"
    assert score.scorer_version == SCORER_VERSION


def test_factors_that_did_not_matter_are_not_listed():
    score = score_conversation(closed(turns=2, resolution="resolved"))
    assert effects(score) == {"resolution": 1.0}
    assert score.score == 4


def test_a_missing_handoff_reason_is_said_so():
    score = score_conversation(closed(resolution="handed_off"))
    assert score.reasons[0].detail.startswith("Handed to a human (no reason recorded)")


def test_resolved_friendly_scores_higher_than_handoff_with_negative_sentiment():
    friendly = score_conversation(closed(turns=3, sentiments=[0.1, 0.7], thanked=True))
    unhappy = score_conversation(
        closed(turns=3, resolution="handed_off", handoff_reason="customer is frustrated", sentiments=[-0.3, -0.8])
    )
    assert friendly.score > unhappy.score
    assert friendly.raw > unhappy.raw


def test_the_merchant_can_tune_the_weights():
    event = closed(turns=2, resolution="handed_off", handoff_reason="refund above the limit")
    default = score_conversation(event)
    lenient = score_conversation(event, Weights(handed_off=0.5))

    # default 3 - 0.25 = 2.75 -> 3; lenient 3 + 0.5 = 3.5 -> 4
    assert (default.score, lenient.score) == (3, 4)


def test_scoring_is_a_pure_function_of_the_event():
    event = closed(turns=7, sentiments=[0.2, -0.1], repeated_messages=1)
    assert score_conversation(event) == score_conversation(event)


def test_a_low_score_is_explained_by_what_pulled_it_down_first():
    # resolved +1.0 is the largest single effect, yet the score is 1: the negatives come first, largest first.
    # raw 3 + 1.0 - 0.75 (complaint) - 1.0 (two failed actions) - 0.9 (three repeats) - 0.75 (sentiment) = 0.6 -> 1
    score = score_conversation(
        closed(
            resolution="resolved",
            complained=True,
            actions_failed=2,
            repeated_messages=3,
            sentiments=[0.0, -1.0],
        )
    )
    assert score.score == 1
    factors = [reason.factor for reason in score.reasons]
    assert factors[-1] == "resolution"
    assert all(reason.effect < 0 for reason in score.reasons[:-1])
    negatives = [abs(r.effect) for r in score.reasons[:-1]]
    assert negatives == sorted(negatives, reverse=True)


def test_a_high_score_is_explained_by_what_lifted_it_first():
    score = score_conversation(closed(turns=9, resolution="resolved", thanked=True))  # +1.0, +0.5, -0.3
    assert score.score == 5 - 1  # raw 4.2 -> 4
    assert [reason.factor for reason in score.reasons] == ["resolution", "thanks", "effort"]
