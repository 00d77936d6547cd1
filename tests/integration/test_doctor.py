"""`concierge doctor` against the strict stand-in: what a merchant sees after deploy, when the model works and when
it does not."""

from __future__ import annotations

import pytest

from concierge.local.messages_standin import error, message, text, tool_use
from concierge.reasoning import doctor


@pytest.fixture
def environment(model, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_BEDROCK_BASE_URL", model.url)
    monkeypatch.setenv("ANTHROPIC_BEDROCK_MANTLE_BASE_URL", f"{model.url}/anthropic")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDSTANDIN")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "standin-secret")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    model.script.clear()
    model.requests.clear()

    def env(provider: str, model_id: str | None = None) -> dict[str, str]:
        values = {"CONCIERGE_MODEL_PROVIDER": provider, "CONCIERGE_MODEL_MAX_RETRIES": "0"}
        if provider == "anthropic":
            values |= {"ANTHROPIC_API_KEY": "test-key", "ANTHROPIC_BASE_URL": model.url}
        if model_id:
            values["CONCIERGE_MODEL"] = model_id
        return values

    return env


def run(environ) -> tuple[int, str]:
    lines: list[str] = []
    status = doctor.run(environ, out=lines.append)
    return status, "\n".join(lines)


@pytest.mark.parametrize(
    ("provider", "model_id"),
    [
        ("anthropic", None),
        ("bedrock", None),
        ("bedrock", "us.anthropic.claude-sonnet-4-6"),
        ("anthropic", "claude-haiku-4-5"),
    ],
)
def test_doctor_says_what_works(model, environment, provider, model_id):
    model.queue(
        message(tool_use("track_shipment", {})),
        message(text("It is on its way."), stop_reason="end_turn")
        if model_id is None
        else message(
            tool_use(
                "reply_to_customer",
                {"text": "It is on its way.", "intent": "track", "confidence": 0.9, "resolved": True},
            )
        ),
    )
    status, report = run(environment(provider, model_id))
    assert status == 0, report
    assert "✓ the agent's request is accepted" in report and "✓ tool use: track_shipment" in report
    assert "✓ the tool round with the model's content sent back" in report
    assert "total $" in report
    if model_id is None:  # Sonnet 5.5: thinking blocks came back and were echoed; the prefix is cached then read
        assert "(thinking blocks echoed)" in report
        assert "✓ prompt cache:" in report and " 0 read" not in report
    if model_id == "claude-haiku-4-5":
        # its minimum cacheable prompt is 4,096 tokens; the prefix (the system prompt and the tools, build_cart among
        # them) is above it now, so the cache is written and read as on the other models
        assert "✓ prompt cache:" in report and " 0 read" not in report, report


def test_doctor_explains_a_rejected_key_and_fails(model, environment):
    model.queue(error(401, "authentication_error", "invalid x-api-key"))
    status, report = run(environment("anthropic") | {"ANTHROPIC_API_KEY": "wrong"})
    assert status == 1
    assert "AuthenticationError 401" in report and "the key is not valid" in report


def test_doctor_names_an_unknown_model_without_calling_anything(model, environment):
    status, report = run(environment("anthropic", "claude-sonnet-9"))
    assert status == 1 and "not a model Concierge knows" in report and model.requests == []


def test_without_a_model_the_doctor_has_nothing_to_check():
    assert run({"CONCIERGE_MODEL_PROVIDER": "none"})[0] == 0
