"""Explainable Auto-CSAT: every closed conversation gets a 1–5 score and the reasons behind it.

Start from a neutral 3 and add bounded, documented contributions; the weights are one object a merchant can tune.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from pydantic import BaseModel, ConfigDict

from concierge.platform.events import ConversationClosed

SCORER_VERSION = "explainable-1"


class Weights(BaseModel):
    model_config = ConfigDict(frozen=True)

    neutral: float = 3.0
    resolved: float = 1.0
    handed_off: float = -0.25
    unresolved: float = -1.0
    final_sentiment: float = 0.5
    sentiment_change: float = 0.5
    turns_free: int = 6
    per_extra_turn: float = -0.1
    max_turn_penalty: float = -0.75
    per_repeat: float = -0.3
    max_repeat_penalty: float = -0.9
    per_failed_action: float = -0.5
    max_failed_penalty: float = -1.0
    thanked: float = 0.5
    complained: float = -0.75
    slow_first_response_ms: int = 10_000
    slow_first_response: float = -0.25


DEFAULT_WEIGHTS = Weights()


class Reason(BaseModel):
    factor: str
    effect: float
    detail: str


class AutoCsat(BaseModel):
    conversation_id: str
    score: int
    raw: float
    reasons: list[Reason]
    scorer_version: str = SCORER_VERSION


class ExplainableScorer:
    """The scorer the surveys function uses without a model: the event alone, no transcript."""

    needs_transcript = False

    def __init__(self, weights: Weights = DEFAULT_WEIGHTS) -> None:
        self.weights = weights

    def __call__(self, event: ConversationClosed, transcript: list[dict[str, str]]) -> AutoCsat:
        return score_conversation(event, self.weights)


def score_conversation(event: ConversationClosed, weights: Weights = DEFAULT_WEIGHTS) -> AutoCsat:
    reasons: list[Reason] = []

    def add(factor: str, effect: float, detail: str) -> None:
        effect = round(effect, 3)
        if effect:
            reasons.append(Reason(factor=factor, effect=effect, detail=f"{detail} ({effect:+.2f})"))

    resolution = {"resolved": weights.resolved, "handed_off": weights.handed_off, "unresolved": weights.unresolved}
    add(
        "resolution",
        resolution[event.resolution],
        {
            "resolved": "Resolved without a human",
            "handed_off": f"Handed to a human ({event.handoff_reason or 'no reason recorded'})",
            "unresolved": "Ended without a resolution",
        }[event.resolution],
    )
    if event.sentiments:
        first, last = event.sentiments[0], event.sentiments[-1]
        add(
            "sentiment_trajectory",
            weights.final_sentiment * last + weights.sentiment_change * max(-1.0, min(1.0, last - first)),
            f"Sentiment went from {first:+.2f} to {last:+.2f}",
        )
    extra_turns = max(0, event.turns - weights.turns_free)
    add(
        "effort",
        max(weights.max_turn_penalty, weights.per_extra_turn * extra_turns),
        f"{event.turns} customer messages",
    )
    add(
        "effort_repeats",
        max(weights.max_repeat_penalty, weights.per_repeat * event.repeated_messages),
        f"The customer repeated themselves {event.repeated_messages} time(s)",
    )
    add(
        "failed_actions",
        max(weights.max_failed_penalty, weights.per_failed_action * event.actions_failed),
        f"{event.actions_failed} action(s) failed",
    )
    if event.thanked:
        add("thanks", weights.thanked, "The customer said thanks")
    if event.complained:
        add("complaint", weights.complained, "The customer complained")
    if event.first_response_ms > weights.slow_first_response_ms:
        add("response_time", weights.slow_first_response, f"First response took {event.first_response_ms / 1000:.1f} s")
    raw = weights.neutral + sum(r.effect for r in reasons)
    clipped = min(5.0, max(1.0, raw))
    score = int(Decimal(str(clipped)).quantize(Decimal("1"), rounding=ROUND_HALF_UP))
    # The explanation leads with what moved the score the way it went: a score under neutral lists what pulled it
    # down first (most negative first), any other score what lifted it first; the rest follow, largest first.
    down = raw < weights.neutral
    reasons.sort(key=lambda r: ((r.effect < 0) != down, -abs(r.effect)))
    return AutoCsat(conversation_id=event.conversation_id, score=score, raw=round(raw, 3), reasons=reasons)
