"""Claude as the agent, through the real anthropic SDK against a local stand-in of the Messages API, on the local
stack: the tool loop through the workflow, several tools in one step, prompt caching markers, token accounting,
code-enforced escalation, and the fallback that always replies."""

from __future__ import annotations

import json

import pytest

from concierge.local.messages_standin import delay, error, message, tool_use
from concierge.platform import wiring
from concierge.platform.settings import IngestSettings, current_settings
from tests.integration.conftest import Client, local_stack

MODEL_ENV = {
    "CONCIERGE_MODEL_PROVIDER": "anthropic",
    "CONCIERGE_MODEL": "claude-haiku-5-5",
    "ANTHROPIC_API_KEY": "test-key",
    "CONCIERGE_MODEL_MAX_RETRIES": "0",
    "CONCIERGE_MODEL_TIMEOUT_SECONDS": "1",
    # These tests are about the tool loop, not the turn's deadline (test_claude_flows.py holds that): the module's
    # first turn warms the whole local stack, which can take longer than 10 s while both cores are busy (25 s is the
    # longest budget the settings allow).
    "CONCIERGE_TURN_BUDGET_SECONDS": "25",
}


@pytest.fixture(scope="module")
def stack(model, tmp_path_factory):
    yield from local_stack(tmp_path_factory, **MODEL_ENV, ANTHROPIC_BASE_URL=model.url)


@pytest.fixture
def client(stack, model):
    model.script.clear()
    model.requests.clear()
    return Client(stack)


def reply(text: str, confidence: float = 0.9, resolved: bool = True, intent: str = "track", **extra) -> dict:
    return tool_use(
        "reply_to_customer", {"text": text, "confidence": confidence, "resolved": resolved, "intent": intent, **extra}
    )


def turn_record(conversation_id: str) -> dict:
    memory = wiring.memory_store(current_settings(IngestSettings))
    return [i for i in memory.conversation_partition(conversation_id) if i["sk"].startswith("TURN#")][-1]


def test_a_two_step_tool_loop_runs_through_the_workflow(client, model):
    model.queue(
        message(
            tool_use("track_shipment", {}, "toolu_track"),
            usage={
                "input_tokens": 100,
                "output_tokens": 20,
                "cache_read_input_tokens": 0,
                "cache_creation_input_tokens": 0,
            },
        ),
        message(
            reply("Your puffer jacket is on its way with the carrier."),
            stop_reason="tool_use",
            usage={
                "input_tokens": 400,
                "output_tokens": 60,
                "cache_read_input_tokens": 1800,
                "cache_creation_input_tokens": 0,
            },
        ),
    )
    # (a message retrieval prefetches nothing for: the model asks for the lookup itself)
    answer = client.say("sam", "cl-track", "Can you check something for me?")
    assert answer.status == 200 and answer.text.endswith("Your puffer jacket is on its way with the carrier.")
    assert [(a["tool"], a["status"]) for a in answer.actions()] == [("track_shipment", "executed")]
    first, second = (r["body"] for r in model.requests)
    assert first["system"][0]["cache_control"] == {"type": "ephemeral"}
    assert {t["name"] for t in first["tools"]} >= {"track_shipment", "return_items", "reply_to_customer"}
    assert first["tool_choice"] == {"type": "any"}
    [result] = [b for b in second["messages"][-1]["content"] if b["type"] == "tool_result"]
    assert result["tool_use_id"] == "toolu_track" and json.loads(result["content"])["status"] == "shipped"
    assert second["messages"][-2]["content"][0] == {
        "type": "tool_use",
        "id": "toolu_track",
        "name": "track_shipment",
        "input": {},
    }
    usage = turn_record("cl-track")["usage"]
    assert (usage["model_calls"], usage["input_tokens"], usage["cache_read_tokens"]) == (2, 500, 1800)
    # haiku-5-5: $0.10 in, $0.50 out, $0.01 cache read per million tokens
    assert usage["cost_usd"] == pytest.approx((500 * 0.10 + 80 * 0.50 + 1800 * 0.01) / 1e6)


def test_several_tools_in_one_step(client, model):
    model.queue(
        message(
            tool_use("find_orders", {"limit": 2}, "toolu_a"),
            tool_use("get_product", {"product_id": "trail-jacket"}, "toolu_b"),
        ),
        message(reply("Your last order had the Trail Shell Jacket, which runs snug.", intent="question")),
    )
    # a message retrieval prefetches nothing for: both tools are the model's, in one step
    answer = client.say("alex", "cl-many", "hi, I have two things to go through with you")
    assert sorted(a["tool"] for a in answer.actions()) == ["find_orders", "get_product"]
    results = [b for b in model.requests[1]["body"]["messages"][-1]["content"] if b["type"] == "tool_result"]
    assert {r["tool_use_id"] for r in results} == {"toolu_a", "toolu_b"}


def test_the_cacheable_prefix_is_byte_identical_across_turns_and_conversations(client, model):
    model.queue(message(reply("Hello!", intent="greeting")), message(reply("We ship to Canada.", intent="question")))
    client.say("alex", "cl-prefix-1", "hi")
    client.say("sam", "cl-prefix-2", "do you ship to canada?")
    first, second = (r["body"] for r in model.requests)
    assert json.dumps(first["system"]) == json.dumps(second["system"])
    assert json.dumps(first["tools"]) == json.dumps(second["tools"])
    assert first["messages"] != second["messages"]


def test_a_timeout_falls_back_to_the_deterministic_engine(client, model):
    model.queue(delay(1.5, message(reply("too late"))))
    answer = client.say("sam", "cl-timeout", "where is my order?")
    assert answer.status == 200 and "on its way" in answer.text and "too late" not in answer.text
    assert turn_record("cl-timeout")["engine"] == "deterministic-fallback"


@pytest.mark.parametrize(("status", "kind"), [(529, "overloaded_error"), (429, "rate_limit_error"), (500, "api_error")])
def test_overload_rate_limit_and_server_errors_fall_back(client, model, status, kind):
    model.queue(error(status, kind, "try later"))
    answer = client.say("sam", f"cl-{status}", "How long does a refund take?")
    assert answer.status == 200 and "2 business days" in answer.text
    assert turn_record(f"cl-{status}")["errors"]["model"]


def test_a_malformed_answer_falls_back(client, model):
    model.queue(message(reply("Refunds take a while.", confidence=7)))  # outside the reply tool's 0–1
    answer = client.say("sam", "cl-malformed", "How long does a refund take?")
    assert "2 business days" in answer.text
    record = turn_record("cl-malformed")
    assert (record["engine"], record["errors"]["model"].split(":")[0]) == (
        "deterministic-fallback",
        "the model's answer was malformed",
    )


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, "invalid_request_error"),
        (401, "authentication_error"),
        (403, "permission_error"),
        (404, "not_found_error"),
    ],
)
def test_a_rejected_request_is_an_error_in_the_log_not_an_outage(client, model, caplog, status, kind):
    model.queue(error(status, kind, f"the stand-in says {kind}"))
    with caplog.at_level("WARNING"):
        answer = client.say("sam", f"cl-rejected-{status}", "How long does a refund take?")
    assert answer.status == 200 and "2 business days" in answer.text  # the customer still gets an answer
    assert "configuration error" in turn_record(f"cl-rejected-{status}")["errors"]["model"]
    [logged] = [r for r in caplog.records if "rejected the request" in r.getMessage()]
    assert logged.levelname == "ERROR" and f"the stand-in says {kind}" in logged.getMessage()
    assert "request id req_" in logged.getMessage()


def test_asking_for_a_human_hands_off_without_asking_the_model(client, model):
    answer = client.say("alex", "cl-human", "I want to talk to a real person")
    assert answer.body["handoff"]["reason"] == "customer asked for a human"
    assert model.requests == []


def test_low_confidence_becomes_an_offer_of_a_person(client, model):
    model.queue(message(reply("I think it might be possible.", confidence=0.2, resolved=False, intent="question")))
    answer = client.say("sam", "cl-unsure", "Can I pay with cryptocurrency?")
    assert answer.text.endswith("I can connect you with a member of our team who can help.")


def test_the_models_intent_and_confidence_reach_the_turn_event(client, model, stack):
    import json as _json

    import boto3

    from concierge.local.stack import REGION

    sqs = boto3.client("sqs", region_name=REGION)
    events = boto3.client("events", region_name=REGION)
    url = sqs.create_queue(QueueName="claude-turns")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bus = current_settings(IngestSettings).event_bus
    events.put_rule(
        Name="claude-turns", EventBusName=bus, EventPattern=_json.dumps({"detail-type": ["turn.completed"]})
    )
    events.put_targets(Rule="claude-turns", EventBusName=bus, Targets=[{"Id": "q", "Arn": arn}])
    model.queue(message(reply("We ship to Canada for $25.", confidence=0.85, intent="shipping_question")))
    client.say("sam", "cl-event", "do you ship to canada?")
    detail = _json.loads(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)["Messages"][0]["Body"])["detail"]
    assert (detail["intent"], detail["confidence"], detail["engine"]) == ("shipping_question", 0.85, "claude")
