"""The strict Messages API stand-in, through the real anthropic SDK over HTTP: each documented rule fails the request
that breaks it and passes the one that keeps it; SigV4 on both Bedrock routes; the echo of thinking blocks; usage
with prompt caching."""

from __future__ import annotations

import anthropic
import pytest

from concierge.local import messages_standin as standin
from concierge.local.messages_standin import MessagesStandIn, delay, error, message, text, tool_use

NOW = [1_000_000.0]
AWS = {"aws_region": "us-east-1", "aws_access_key": "AKIDSTANDIN", "aws_secret_key": "standin-secret"}
BEDROCK_VERSION = {"anthropic_version": "bedrock-2023-05-31"}
REPLY = {
    "name": "reply",
    "description": "Answer the customer.",
    "input_schema": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
}
HI = [{"role": "user", "content": "hi"}]


@pytest.fixture(scope="module")
def server():
    stand_in = MessagesStandIn(clock=lambda: NOW[0]).start()
    yield stand_in
    stand_in.stop()


@pytest.fixture
def model(server):
    server.script.clear()
    server.requests.clear()
    return server


@pytest.fixture(scope="module")
def claude(server):
    return anthropic.Anthropic(api_key="test-key", base_url=server.url, max_retries=0)


@pytest.fixture(scope="module")
def bedrock(server):
    return anthropic.AnthropicBedrock(base_url=server.url, max_retries=0, **AWS)


@pytest.fixture(scope="module")
def mantle(server):
    return anthropic.AnthropicBedrockMantle(base_url=server.url + "/anthropic", max_retries=0, **AWS)


def ask(client, model_id="claude-haiku-5-5", **options):
    options.setdefault("max_tokens", 2048)
    options.setdefault("messages", HI)
    return client.messages.create(model=model_id, **options)


def rejected(kind, call, *args, **options) -> str:
    with pytest.raises(kind) as caught:
        call(*args, **options)
    return str(caught.value)


# --- routes and authentication ----------------------------------------------------------------------------------
def test_the_api_key_is_checked(model, claude):
    model.queue(message(text("hello"), stop_reason="end_turn"))
    wrong = anthropic.Anthropic(api_key="other", base_url=model.url, max_retries=0)
    assert "invalid x-api-key" in rejected(anthropic.AuthenticationError, ask, wrong)
    assert ask(claude).content[-1].text == "hello"  # the rejected request did not use up the script


def test_a_model_outside_the_table_is_not_found(model, claude):
    assert "model: claude-sonnet-9" in rejected(anthropic.NotFoundError, ask, claude, "claude-sonnet-9")
    assert "model: anthropic.claude-sonnet-5-5" in rejected(
        anthropic.NotFoundError, ask, claude, "anthropic.claude-sonnet-5-5"
    )
    model.queue(message(text("hello"), stop_reason="end_turn"))
    assert ask(claude, "claude-haiku-4-5").model == "claude-haiku-4-5"  # an alias


def test_every_request_is_recorded_with_its_route(model, claude, bedrock, mantle):
    model.queue(*(message(text("ok"), stop_reason="end_turn") for _ in range(3)))
    ask(claude, "claude-sonnet-4-6")
    ask(bedrock, "us.anthropic.claude-sonnet-4-6", extra_body=BEDROCK_VERSION)
    ask(mantle, "anthropic.claude-haiku-5-5")
    assert [(r["route"], r["model"], r["status"]) for r in model.requests] == [
        ("anthropic", "claude-sonnet-4-6", 200),
        ("bedrock-invoke", "us.anthropic.claude-sonnet-4-6", 200),
        ("bedrock-mantle", "anthropic.claude-haiku-5-5", 200),
    ]
    assert (
        "model" not in model.requests[1]["body"]
        and model.requests[1]["body"]["anthropic_version"] == "bedrock-2023-05-31"
    )
    assert model.requests[2]["headers"]["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDSTANDIN/")


def test_responses_and_errors_carry_a_request_id(model, claude):
    model.queue(message(text("ok"), stop_reason="end_turn"))
    response = claude.messages.with_raw_response.create(model="claude-haiku-5-5", max_tokens=100, messages=HI)
    assert response.headers["request-id"].startswith("req_")
    with pytest.raises(anthropic.NotFoundError) as caught:
        ask(claude, "claude-unknown")
    assert caught.value.body["request_id"] == caught.value.response.headers["request-id"]


def test_invoke_model_checks_the_model_id_its_region_and_the_anthropic_version(model, bedrock):
    model.queue(message(text("ok"), stop_reason="end_turn"))
    assert (
        ask(bedrock, "global.anthropic.claude-haiku-4-5-20251001-v1:0", extra_body=BEDROCK_VERSION).content[0].text
        == "ok"
    )
    assert standin.BEDROCK_MODEL_MSG in rejected(
        anthropic.BadRequestError, ask, bedrock, "anthropic.claude-sonnet-5-5", extra_body=BEDROCK_VERSION
    )  # a Mantle id
    assert standin.BEDROCK_MODEL_MSG in rejected(
        anthropic.BadRequestError, ask, bedrock, "eu.anthropic.claude-sonnet-4-6", extra_body=BEDROCK_VERSION
    )  # an EU profile called from us-east-1
    assert "bedrock-2023-05-31" in rejected(anthropic.BadRequestError, ask, bedrock, "us.anthropic.claude-sonnet-4-6")
    assert model.requests[-1]["body"]["anthropic_version"] == "2026-10-21"  # the SDK's default, rejected


def test_mantle_takes_its_own_ids(model, mantle):
    assert "model: us.anthropic.claude-sonnet-4-6" in rejected(
        anthropic.NotFoundError, ask, mantle, "us.anthropic.claude-sonnet-4-6"
    )
    model.queue(message(tool_use("reply", {"text": "hi"})))
    answer = ask(mantle, "anthropic.claude-sonnet-5-5", tools=[REPLY])
    assert [b.type for b in answer.content] == ["thinking", "tool_use"]


@pytest.mark.parametrize("client", ["bedrock", "mantle"])
def test_sigv4_is_verified(model, request, client):
    kind = anthropic.AnthropicBedrock if client == "bedrock" else anthropic.AnthropicBedrockMantle
    base = model.url if client == "bedrock" else model.url + "/anthropic"
    model_id, extra = (
        ("us.anthropic.claude-sonnet-4-6", BEDROCK_VERSION)
        if client == "bedrock"
        else ("anthropic.claude-haiku-5-5", {})
    )
    model.queue(message(text("signed"), stop_reason="end_turn"))
    assert ask(kind(base_url=base, max_retries=0, **AWS), model_id, extra_body=extra).content[-1].text == "signed"
    wrong_secret = kind(base_url=base, max_retries=0, **{**AWS, "aws_secret_key": "guessed"})
    assert "signature we calculated does not match" in rejected(
        anthropic.PermissionDeniedError, ask, wrong_secret, model_id, extra_body=extra
    )
    wrong_region = kind(base_url=base, max_retries=0, **{**AWS, "aws_region": "eu-west-1"})
    assert "valid Region, not 'eu-west-1'" in rejected(
        anthropic.PermissionDeniedError, ask, wrong_region, model_id, extra_body=extra
    )
    unknown_key = kind(base_url=base, max_retries=0, **{**AWS, "aws_access_key": "AKIDOTHER"})
    assert "security token" in rejected(anthropic.PermissionDeniedError, ask, unknown_key, model_id, extra_body=extra)
    assert model.requests[-1]["rule"] == "sigv4"
    assert len(model.script) == 0


def test_sigv4_for_the_wrong_service_is_refused(model, monkeypatch):
    from anthropic.lib.bedrock import _mantle

    monkeypatch.setattr(_mantle, "DEFAULT_SERVICE_NAME", "bedrock")  # a Mantle request signed for bedrock-runtime
    client = anthropic.AnthropicBedrockMantle(base_url=model.url + "/anthropic", max_retries=0, **AWS)
    assert "correct service: 'bedrock-mantle'" in rejected(
        anthropic.PermissionDeniedError, ask, client, "anthropic.claude-haiku-5-5"
    )


def test_bedrock_errors_have_bedrocks_shape(model, bedrock):
    model.queue(error(429, "rate_limit_error", "Too many tokens"))
    with pytest.raises(anthropic.RateLimitError) as caught:
        ask(bedrock, "us.anthropic.claude-sonnet-4-6", extra_body=BEDROCK_VERSION)
    assert caught.value.body == {"message": "Too many tokens"}
    assert caught.value.response.headers["x-amzn-ErrorType"].startswith("ThrottlingException")


# --- forced tool use --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("model_id", ["claude-sonnet-5-5", "claude-opus-5-5"])
@pytest.mark.parametrize("choice", [{"type": "any"}, {"type": "tool", "name": "reply"}])
def test_forced_tool_choice_is_refused_where_documented(model, claude, model_id, choice):
    assert standin.FORCED_TOOL_MSG in rejected(
        anthropic.BadRequestError, ask, claude, model_id, tools=[REPLY], tool_choice=choice
    )
    model.queue(message(tool_use("reply", {"text": "hi"})))
    assert ask(claude, model_id, tools=[REPLY], tool_choice={"type": "auto"}).stop_reason == "tool_use"


def test_haiku_5_5_accepts_forced_tool_use_and_answers_without_thinking(model, claude):
    model.queue(message(tool_use("reply", {"text": "hi"})))
    answer = ask(claude, "claude-haiku-5-5", tools=[REPLY], tool_choice={"type": "tool", "name": "reply"})
    assert [b.type for b in answer.content] == ["tool_use"]


def test_forced_tool_use_with_extended_thinking_is_refused(model, claude):
    options = {"tools": [REPLY], "tool_choice": {"type": "any"}, "thinking": {"type": "enabled", "budget_tokens": 1024}}
    assert "tool_choice forces tool use" in rejected(
        anthropic.BadRequestError, ask, claude, "claude-sonnet-4-6", **options
    )


def test_a_script_that_does_not_fit_tool_choice_is_a_500(model, claude):
    model.queue(message(text("no tool"), stop_reason="end_turn"))
    assert "does not fit tool_choice" in rejected(
        anthropic.InternalServerError, ask, claude, tools=[REPLY], tool_choice={"type": "any"}
    )
    model.queue(message(tool_use("reply", {"text": "hi"})))
    assert "does not fit tool_choice" in rejected(
        anthropic.InternalServerError, ask, claude, tools=[REPLY], tool_choice={"type": "none"}
    )
    model.queue(message(tool_use("refund", {})))
    assert "did not offer: refund" in rejected(anthropic.InternalServerError, ask, claude, tools=[REPLY])


# --- thinking settings ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("model_id", "kind", "message_part"),
    [
        ("claude-sonnet-5-5", "disabled", 'send "thinking": {"type": "between_tools"} instead'),
        ("claude-sonnet-5-5", "enabled", '"thinking.type.enabled" is not supported'),
        ("claude-opus-5-5", "disabled", '"thinking.type.disabled" is not supported'),
        ("claude-opus-5-5", "between_tools", '"thinking.type.between_tools" is not supported'),
        ("claude-haiku-5-5", "enabled", '"thinking.type.enabled" is not supported'),
        ("claude-haiku-5-5", "between_tools", '"thinking.type.between_tools" is not supported'),
        ("claude-sonnet-5", "enabled", '"thinking.type.enabled" is not supported'),
        ("claude-sonnet-4-6", "between_tools", '"thinking.type.between_tools" is not supported'),
        ("claude-haiku-4-5", "adaptive", "adaptive thinking is not supported on this model"),
    ],
)
def test_thinking_types_each_model_refuses(claude, model_id, kind, message_part):
    thinking = {"type": kind, **({"budget_tokens": 1024} if kind == "enabled" else {})}
    assert message_part in rejected(anthropic.BadRequestError, ask, claude, model_id, thinking=thinking)


@pytest.mark.parametrize(
    ("model_id", "kind"),
    [
        ("claude-sonnet-5-5", "adaptive"),
        ("claude-sonnet-5-5", "between_tools"),
        ("claude-opus-5-5", "adaptive"),
        ("claude-haiku-5-5", "adaptive"),
        ("claude-haiku-5-5", "disabled"),
        ("claude-sonnet-5", "disabled"),
        ("claude-sonnet-4-6", "enabled"),
        ("claude-sonnet-4-6", "disabled"),
        ("claude-haiku-4-5", "enabled"),
    ],
)
def test_thinking_types_each_model_accepts(model, claude, model_id, kind):
    model.queue(message(text("ok"), stop_reason="end_turn"))
    thinking = {"type": kind, **({"budget_tokens": 1024} if kind == "enabled" else {})}
    assert ask(claude, model_id, thinking=thinking).content[-1].text == "ok"


def test_between_tools_takes_no_other_field_and_stays_at_high_effort_or_below(claude):
    thinking = {"type": "between_tools", "display": "summarized"}
    assert "thinking.between_tools.display" in rejected(
        anthropic.BadRequestError, ask, claude, "claude-sonnet-5-5", thinking=thinking
    )
    assert "output_config.effort 'xhigh' is not supported when thinking is disabled" in rejected(
        anthropic.BadRequestError,
        ask,
        claude,
        "claude-sonnet-5-5",
        thinking={"type": "between_tools"},
        output_config={"effort": "xhigh"},
    )


def test_extended_thinking_budget_is_checked(claude):
    assert "greater than or equal to 1024" in rejected(
        anthropic.BadRequestError, ask, claude, "claude-sonnet-4-6", thinking={"type": "enabled", "budget_tokens": 500}
    )
    assert "`max_tokens` must be greater" in rejected(
        anthropic.BadRequestError,
        ask,
        claude,
        "claude-sonnet-4-6",
        max_tokens=2000,
        thinking={"type": "enabled", "budget_tokens": 4000},
    )


# --- sampling, prefill, max_tokens ------------------------------------------------------------------------------
@pytest.mark.parametrize("options", [{"temperature": 0.2}, {"top_p": 0.9}, {"top_k": 40}])
@pytest.mark.parametrize("model_id", ["claude-sonnet-5-5", "claude-haiku-5-5", "claude-opus-5-5", "claude-sonnet-5"])
def test_non_default_sampling_is_refused_on_5x_models(claude, model_id, options):
    rejected(
        anthropic.BadRequestError, ask, claude, model_id, extra_body=options
    )  # anthropic 2.14 has no sampling args


def test_default_sampling_passes_and_earlier_models_keep_theirs(model, claude):
    model.queue(*(message(text("ok"), stop_reason="end_turn") for _ in range(2)))
    assert ask(claude, "claude-sonnet-5-5", extra_body={"temperature": 1}).content[-1].text == "ok"
    assert ask(claude, "claude-sonnet-4-6", extra_body={"temperature": 0.2}).content[-1].text == "ok"
    assert "cannot both be specified" in rejected(
        anthropic.BadRequestError, ask, claude, "claude-haiku-4-5", extra_body={"temperature": 0.2, "top_p": 0.9}
    )


def test_assistant_prefill_is_refused_from_4_6_on(model, claude):
    prefill = [*HI, {"role": "assistant", "content": "Sure,"}]
    assert standin.PREFILL_MSG in rejected(
        anthropic.BadRequestError, ask, claude, "claude-sonnet-5-5", messages=prefill
    )
    assert standin.PREFILL_MSG in rejected(
        anthropic.BadRequestError, ask, claude, "claude-sonnet-4-6", messages=prefill
    )
    model.queue(message(text(" here you go"), stop_reason="end_turn"))
    assert ask(claude, "claude-haiku-4-5", messages=prefill).content[-1].text == " here you go"


def test_max_tokens_above_the_models_output_limit_is_refused(claude):
    assert "maximum allowed number of output tokens" in rejected(
        anthropic.BadRequestError, ask, claude, "claude-haiku-4-5", max_tokens=64_001, timeout=5
    )


def test_thinking_is_spent_from_max_tokens_first(model, claude):
    model.queue(message(tool_use("reply", {"text": "a long enough answer"})))
    answer = ask(claude, "claude-sonnet-5-5", max_tokens=500, tools=[REPLY])  # adaptive: 600 thinking tokens
    assert ([b.type for b in answer.content], answer.stop_reason) == (["thinking"], "max_tokens")
    assert answer.usage.output_tokens == 500
    model.queue(message(tool_use("reply", {"text": "a long enough answer"})))
    answer = ask(claude, "claude-sonnet-5-5", max_tokens=700, tools=[REPLY])
    assert [b.type for b in answer.content] == ["thinking", "tool_use"]


# --- tools ------------------------------------------------------------------------------------------------------
def strict_tool(properties: dict, name: str = "record", **extra) -> dict:
    schema = {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
        **extra,
    }
    return {"name": name, "description": "Record it.", "strict": True, "input_schema": schema}


@pytest.mark.parametrize(
    ("properties", "extra", "reason"),
    [
        ({"score": {"type": "integer", "minimum": 1}}, {}, "'minimum' is not supported"),
        ({"score": {"type": "integer", "maximum": 5}}, {}, "'maximum' is not supported"),
        ({"score": {"type": "number", "multipleOf": 0.5}}, {}, "'multipleOf' is not supported"),
        ({"name": {"type": "string", "minLength": 1}}, {}, "'minLength' is not supported"),
        ({"name": {"type": "string", "maxLength": 80}}, {}, "'maxLength' is not supported"),
        ({"tags": {"type": "array", "items": {"type": "string"}, "minItems": 2}}, {}, "'minItems' other than 0 or 1"),
        ({"tags": {"type": "array", "items": {"type": "string"}, "maxItems": 3}}, {}, "'maxItems' is not supported"),
        ({"meta": {"type": "object", "properties": {}, "additionalProperties": True}}, {}, "must be false"),
        ({"meta": {"type": "object", "properties": {"a": {"type": "string"}}}}, {}, "must be false"),
        ({"value": {"oneOf": [{"type": "string"}, {"type": "integer"}]}}, {}, "'oneOf' is not supported"),
        (
            {"node": {"$ref": "#/$defs/node"}},
            {
                "$defs": {
                    "node": {
                        "type": "object",
                        "properties": {"child": {"$ref": "#/$defs/node"}},
                        "required": ["child"],
                        "additionalProperties": False,
                    }
                }
            },
            "recursive schemas are not supported",
        ),
        ({"other": {"$ref": "https://example.com/schema.json"}}, {}, "external $ref is not supported"),
    ],
)
def test_strict_tools_refuse_unsupported_schema_features(claude, properties, extra, reason):
    tools = [strict_tool(properties, **extra)]
    assert reason in rejected(anthropic.BadRequestError, ask, claude, "claude-sonnet-5-5", tools=tools)


def test_supported_strict_schemas_and_any_plain_schema_pass(model, claude):
    good = strict_tool(
        {
            "score": {"type": "integer", "enum": [1, 2, 3]},
            "when": {"type": "string", "format": "date"},
            "tags": {"type": "array", "items": {"$ref": "#/$defs/tag"}, "minItems": 1},
            "note": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        },
        **{"$defs": {"tag": {"type": "string"}}},
    )
    plain = {
        "name": "loose",
        "input_schema": {"type": "object", "properties": {"n": {"type": "integer", "maximum": 5}}},
    }
    model.queue(message(tool_use("record", {"score": 2})))
    assert ask(claude, "claude-sonnet-5-5", tools=[good, plain]).stop_reason == "tool_use"


def test_at_most_20_strict_tools(model, claude):
    tools = [strict_tool({"a": {"type": "string"}}, name=f"t{i}") for i in range(21)]
    assert "strict" in rejected(anthropic.BadRequestError, ask, claude, "claude-sonnet-5-5", tools=tools)
    model.queue(message(text("ok"), stop_reason="end_turn"))
    ask(claude, "claude-sonnet-5-5", tools=tools[:20])


def test_tool_schemas_must_be_objects_and_names_unique(claude):
    not_object = {"name": "bad", "input_schema": {"type": "string"}}
    assert "input_schema.type" in rejected(anthropic.BadRequestError, ask, claude, tools=[not_object])
    assert "unique" in rejected(anthropic.BadRequestError, ask, claude, tools=[REPLY, REPLY])


def test_strict_tools_are_refused_for_sonnet_5_5_on_bedrock(model, mantle):
    tool = strict_tool({"text": {"type": "string"}}, name="reply")
    assert "strict" in rejected(anthropic.BadRequestError, ask, mantle, "anthropic.claude-sonnet-5-5", tools=[tool])


def test_tool_results_must_answer_the_previous_tool_uses(claude):
    stray = [
        *HI,
        {"role": "assistant", "content": "Let me check."},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_x", "content": "ok"}]},
    ]
    assert "unexpected `tool_use_id`" in rejected(anthropic.BadRequestError, ask, claude, messages=stray)
    unanswered = [
        *HI,
        {"role": "assistant", "content": [tool_use("reply", {}, "toolu_y")]},
        {"role": "user", "content": "and?"},
    ]
    assert "without `tool_result` blocks" in rejected(anthropic.BadRequestError, ask, claude, messages=unanswered)
    no_id = [
        *HI,
        {"role": "assistant", "content": [{"type": "tool_use", "name": "reply", "input": {}}]},
        {"role": "user", "content": "and?"},
    ]
    assert "without `tool_result` blocks" in rejected(anthropic.BadRequestError, ask, claude, messages=no_id)


def test_at_most_four_cache_breakpoints(model, claude):
    marked = {"type": "ephemeral"}
    system = [{"type": "text", "text": f"part {i}", "cache_control": marked} for i in range(5)]
    assert "A maximum of 4 blocks with cache_control" in rejected(anthropic.BadRequestError, ask, claude, system=system)
    model.queue(message(text("ok"), stop_reason="end_turn"))
    ask(claude, system=system[:4])


# --- thinking blocks in a tool loop -----------------------------------------------------------------------------
def tool_loop(
    claude,
    model,
    system="You are the shop's assistant.",
    model_id="claude-sonnet-5-5",
    thinking=None,
    second_system=None,
    rebuild=None,
):
    """Round 1 asks a tool; round 2 sends the result back with the assistant turn as `rebuild` makes it."""
    model.queue(
        message(tool_use("reply", {"text": "checking"}, "toolu_loop")), message(text("Done."), stop_reason="end_turn")
    )
    options = {"tools": [REPLY], **({"thinking": thinking} if thinking else {})}
    first = ask(claude, model_id, system=system, **options)
    assistant = rebuild(first.content) if rebuild else first.content
    messages = [
        *HI,
        {"role": "assistant", "content": assistant},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_loop", "content": "ok"}]},
    ]
    return first, ask(claude, model_id, system=second_system or system, messages=messages, **options)


def test_a_tool_loop_that_echoes_the_content_verbatim_passes(model, claude):
    first, second = tool_loop(claude, model, thinking={"type": "between_tools"})
    assert [b.type for b in first.content] == ["thinking", "tool_use"]
    assert second.content[-1].text == "Done."
    assert [b.type for b in second.content] == ["text"]  # between_tools: no update before a plain answer


def test_a_tool_loop_that_drops_the_thinking_block_fails(model, claude):
    def without_thinking(content):
        return [
            {"type": "tool_use", "id": b.id, "name": b.name, "input": b.input} for b in content if b.type == "tool_use"
        ]

    message_text = rejected(anthropic.BadRequestError, tool_loop, claude, model, rebuild=without_thinking)
    assert f"messages.1.content.0: {standin.MODIFIED_MSG}" in message_text


def test_a_tool_loop_that_edits_a_thinking_block_fails(model, claude):
    def edited(content):
        return [
            {**b.model_dump(exclude_none=True), "thinking": "something else"}
            if b.type == "thinking"
            else b.model_dump(exclude_none=True)
            for b in content
        ]

    assert standin.MODIFIED_MSG in rejected(anthropic.BadRequestError, tool_loop, claude, model, rebuild=edited)


def test_a_tool_loop_that_edits_the_system_prompt_fails_with_the_binding_error(model, claude):
    message_text = rejected(anthropic.BadRequestError, tool_loop, claude, model, second_system="You are a pirate.")
    assert f"messages.1.content.0: {standin.BINDING_MSG}" in message_text


def test_models_without_binding_accept_an_edited_prefix(model, claude):
    _, second = tool_loop(
        claude, model, model_id="claude-sonnet-4-6", thinking={"type": "adaptive"}, second_system="You are a pirate."
    )
    assert second.content[-1].text == "Done."


@pytest.mark.parametrize(
    ("model_id", "options", "blocks"),
    [
        ("claude-opus-5-5", {}, ["thinking", "tool_use"]),
        ("claude-haiku-5-5", {}, ["thinking", "tool_use"]),
        ("claude-haiku-5-5", {"thinking": {"type": "disabled"}}, ["tool_use"]),
        ("claude-haiku-5-5", {"tool_choice": {"type": "any"}}, ["tool_use"]),
        ("claude-sonnet-5", {}, ["thinking", "tool_use"]),
        ("claude-sonnet-4-6", {}, ["tool_use"]),
        ("claude-sonnet-4-6", {"thinking": {"type": "adaptive"}}, ["thinking", "tool_use"]),
    ],
)
def test_thinking_blocks_come_where_the_models_thinking_is_on(model, claude, model_id, options, blocks):
    model.queue(message(tool_use("reply", {"text": "hi"})))
    answer = ask(claude, model_id, tools=[REPLY], **options)
    assert [b.type for b in answer.content] == blocks
    assert all(b.thinking == "" for b in answer.content if b.type == "thinking" and model_id != "claude-sonnet-4-6")


# --- usage and caching ------------------------------------------------------------------------------------------
def test_two_identical_calls_write_then_read_the_cache(model, claude):
    system = [
        {"type": "text", "text": "Policy: " + "returns within 30 days. " * 150, "cache_control": {"type": "ephemeral"}}
    ]
    model.queue(*(message(text("ok"), stop_reason="end_turn") for _ in range(3)))
    first = ask(claude, "claude-haiku-5-5", system=system).usage
    second = ask(claude, "claude-haiku-5-5", system=system).usage
    assert first.cache_creation_input_tokens > 512 and first.cache_read_input_tokens == 0
    assert (second.cache_read_input_tokens, second.cache_creation_input_tokens) == (
        first.cache_creation_input_tokens,
        0,
    )
    assert second.input_tokens == first.input_tokens
    NOW[0] += 301  # past the 5-minute TTL: written again
    assert (
        ask(claude, "claude-haiku-5-5", system=system).usage.cache_creation_input_tokens
        == first.cache_creation_input_tokens
    )


def test_the_next_round_reads_the_previous_rounds_breakpoint_within_20_blocks(model, claude):
    system = "Catalogue: " + "trail shell jacket, size M. " * 120
    first_user = {
        "role": "user",
        "content": [{"type": "text", "text": "where is my order?", "cache_control": {"type": "ephemeral"}}],
    }
    model.queue(
        message(tool_use("reply", {"text": "checking"}, "toolu_cache")), message(text("ok"), stop_reason="end_turn")
    )
    first = ask(
        claude, "claude-haiku-5-5", system=system, tools=[REPLY], messages=[first_user], thinking={"type": "disabled"}
    )
    second_messages = [
        {"role": "user", "content": [{"type": "text", "text": "where is my order?"}]},
        {"role": "assistant", "content": first.content},
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_cache",
                    "content": "ok",
                    "cache_control": {"type": "ephemeral"},
                }
            ],
        },
    ]
    second = ask(
        claude,
        "claude-haiku-5-5",
        system=system,
        tools=[REPLY],
        messages=second_messages,
        thinking={"type": "disabled"},
    )
    assert first.usage.cache_creation_input_tokens > 512
    assert second.usage.cache_read_input_tokens == first.usage.cache_creation_input_tokens
    assert 0 < second.usage.cache_creation_input_tokens < 100


def test_a_prefix_below_the_models_minimum_is_not_cached(model, claude):
    system = [{"type": "text", "text": "Short policy. " * 170, "cache_control": {"type": "ephemeral"}}]  # ~670 tokens
    model.queue(*(message(text("ok"), stop_reason="end_turn") for _ in range(2)))
    assert ask(claude, "claude-haiku-5-5", system=system).usage.cache_creation_input_tokens > 0  # minimum 512
    usage = ask(claude, "claude-sonnet-4-6", system=system).usage  # minimum 1024
    assert (usage.cache_creation_input_tokens, usage.cache_read_input_tokens) == (0, 0) and usage.input_tokens > 600


def test_a_scripted_usage_is_kept(model, claude):
    usage = {
        "input_tokens": 400,
        "output_tokens": 60,
        "cache_read_input_tokens": 1800,
        "cache_creation_input_tokens": 0,
    }
    model.queue(message(text("ok"), stop_reason="end_turn", usage=usage))
    answer = ask(claude)
    assert (answer.usage.input_tokens, answer.usage.output_tokens, answer.usage.cache_read_input_tokens) == (
        400,
        60,
        1800,
    )


def test_output_tokens_count_the_thinking(model, claude):
    model.queue(message(text("ok"), stop_reason="end_turn"))
    usage = ask(claude, "claude-opus-5-5", max_tokens=4000).usage
    assert usage.output_tokens > standin.ADAPTIVE_THINKING_TOKENS
    assert usage.output_tokens_details.thinking_tokens == standin.ADAPTIVE_THINKING_TOKENS


# --- the script -------------------------------------------------------------------------------------------------
def test_an_entry_can_answer_from_the_request(model, claude):
    def confirm(body):
        action = body["messages"][-1]["content"].rsplit(" ", 1)[-1]
        return message(tool_use("reply", {"text": f"Confirmed {action}"}))

    model.queue(confirm)
    answer = ask(claude, tools=[REPLY], messages=[{"role": "user", "content": "confirm act_42"}])
    assert answer.content[-1].input == {"text": "Confirmed act_42"}


def test_a_delayed_entry_outlasts_the_client_timeout(model):
    model.queue(delay(0.5, message(text("late"), stop_reason="end_turn")))
    client = anthropic.Anthropic(api_key="test-key", base_url=model.url, max_retries=0, timeout=0.2)
    rejected(anthropic.APITimeoutError, ask, client)


def test_an_empty_script_is_a_500(model, claude):
    assert "no scripted answer" in rejected(anthropic.InternalServerError, ask, claude)


def test_every_rule_names_its_source():
    assert all(
        url.startswith("https://") for rule, url in standin.RULE_SOURCES.items() if not rule.startswith("stand-in")
    )
    assert set(standin.RULES) == {
        "claude-sonnet-5-5",
        "claude-opus-5-5",
        "claude-haiku-5-5",
        "claude-sonnet-5",
        "claude-sonnet-4-6",
        "claude-haiku-4-5-20251001",
    }
    assert all(rules.sources for rules in standin.RULES.values())
