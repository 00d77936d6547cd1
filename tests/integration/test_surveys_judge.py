"""The Auto-CSAT judge through the real anthropic SDK against the local Messages API stand-in: a validated verdict,
and the explainable scorer whenever the model errs."""

from __future__ import annotations

from datetime import UTC, datetime

from concierge.local.messages_standin import error, message, tool_use
from concierge.platform.events import ConversationClosed
from concierge.platform.settings import SurveysSettings
from concierge.surveys.autocsat import score_conversation
from concierge.surveys.judge import TOOL, ModelJudge, scorer

AT = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
EVENT = ConversationClosed(
    occurred_at=AT,
    conversation_id="j1",
    customer_id="alex",
    channel="web",
    started_at=AT,
    turns=5,
    resolution="handed_off",
    handoff_reason="refund above the limit",
    sentiments=[-0.1, -0.4],
)


def settings(model, **values) -> SurveysSettings:
    return SurveysSettings.from_env(
        {
            "CONCIERGE_MEMORY_TABLE": "m",
            "CONCIERGE_EVENT_BUS": "b",
            "CONCIERGE_MODEL_PROVIDER": "anthropic",
            "CONCIERGE_MODEL": "claude-haiku-5-5",
            "ANTHROPIC_API_KEY": "test-key",
            "ANTHROPIC_BASE_URL": model.url,
            "CONCIERGE_MODEL_MAX_RETRIES": "0",
            "CONCIERGE_MODEL_TIMEOUT_SECONDS": "2",
            **values,
        }
    )


def test_the_configured_judge_scores_through_the_sdk(model):
    model.queue(
        message(
            tool_use(
                TOOL,
                {
                    "score": 2,
                    "reasons": [
                        {
                            "factor": "handoff",
                            "direction": "negative",
                            "detail": "The refund needed a person and the customer had to wait",
                        },
                    ],
                },
            )
        )
    )
    judge = scorer(settings(model))
    assert isinstance(judge, ModelJudge)
    score = judge(EVENT, [{"role": "customer", "text": "I want my money back"}])
    assert (score.score, score.scorer_version, score.reasons[0].factor) == (2, "model:claude-haiku-5-5", "handoff")
    body = model.requests[-1]["body"]
    assert body["tool_choice"] == {"type": "tool", "name": TOOL}
    assert body["tools"][0]["input_schema"]["properties"]["score"]["maximum"] == 5


def test_a_model_error_falls_back_to_the_explainable_scorer(model):
    model.queue(error(529, "overloaded_error", "Overloaded"))
    assert scorer(settings(model))(EVENT, []) == score_conversation(EVENT)


def test_the_explainable_scorer_can_be_kept_with_a_model_configured(model):
    before = len(model.requests)
    assert scorer(settings(model, CONCIERGE_AUTOCSAT_SCORER="explainable"))(EVENT, []) == score_conversation(EVENT)
    assert len(model.requests) == before
