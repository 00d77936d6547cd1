"""`concierge doctor`: two real calls with the configured model, to run after deploy (or after setting the key), that
say what works — the request the agent sends is accepted, the model calls a tool, thinking blocks sent back are
accepted, the prompt cache is written then read — with the tokens and the cost. It reads the same settings as the
agent function (CONCIERGE_MODEL_PROVIDER, CONCIERGE_MODEL, ANTHROPIC_API_KEY or CONCIERGE_ANTHROPIC_SECRET_ARN,
AWS credentials and AWS_REGION for Bedrock). Exit status 0 when the agent's requests are accepted, 1 otherwise."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from concierge.platform.settings import AgentSettings
from concierge.reasoning import models, prompt
from concierge.reasoning.client import NoKeyYet, assistant_content, describe, model_errors
from concierge.reasoning.costs import Usage, usage_of

if TYPE_CHECKING:
    from concierge.conversation.turn import ReadyTurn

HINTS = {
    401: "the key is not valid: put a current key in the secret (docs/deploy.md, 'Claude')",
    403: (
        "not allowed: on Bedrock, check model access and the function's IAM grant; "
        "on the Anthropic API, the key's workspace"
    ),
    404: "the model id is not available to this account or region",
    400: "the request was rejected: the model's entry in reasoning/models.py may be out of date",
}


def _turn() -> ReadyTurn:
    from concierge.conversation.api import Channel
    from concierge.conversation.turn import ConversationSnapshot, CustomerRef, IncomingMessage, ReadyTurn, Signals

    now = datetime.now(UTC)
    return ReadyTurn(
        conversation_id="doctor",
        customer=CustomerRef(id="doctor", first_name="Sam"),
        message=IncomingMessage(
            message_id="doctor-1", text="Hi, where is my order?", channel=Channel.WEB, received_at=now
        ),
        signals=Signals(intent="track", intent_confidence=0.9, sentiment=0.0),
        conversation=ConversationSnapshot(started_at=now, customer_turns=2),
    )


def run(environ: Mapping[str, str] | None = None, out: Callable[[str], None] = print) -> int:
    from concierge.conversation.turn import ToolCall
    from concierge.reasoning.claude import make_client

    try:
        settings = AgentSettings.from_env(environ)
    except ValueError as error:
        out(f"✗ settings: {error}")
        return 1
    if settings.model_provider == "none":
        out(
            "No model is configured (CONCIERGE_MODEL_PROVIDER=none): the deterministic engine answers. "
            "Nothing to check."
        )
        return 0
    client = make_client(settings)
    family = client.family
    out(f"provider {settings.model_provider} · model {client.model} ({family.name}) · endpoint {client.endpoint.value}")
    out(
        f"request shape: tool_choice {family.tool_choice()['type']}, thinking "
        f"{json.dumps(family.thinking) if family.thinking else 'model default'}, max_tokens "
        f"{settings.model_max_tokens or family.max_tokens}"
    )
    turn = _turn()
    request: dict[str, Any] = dict(
        max_tokens=settings.model_max_tokens or family.max_tokens,
        system=prompt.system_blocks(settings),
        tools=prompt.tools(),
        **family.request_options(),
    )
    calls: list[Usage] = []
    prices = settings.prices()
    try:
        first = client.create(
            tool_choice=family.tool_choice(prompt.REPLY_TOOL), messages=prompt.messages(turn), **request
        )
        calls.append(usage_of(first.usage, client.model, prices))
        content = assistant_content(first)
        thinking = [b for b in content if b.get("type") in ("thinking", "redacted_thinking")]
        uses = [b for b in content if b.get("type") == "tool_use" and b["name"] != prompt.REPLY_TOOL]
        out("✓ the agent's request is accepted")
        out(
            f"{'✓' if uses else '✗'} tool use: "
            + (
                ", ".join(b["name"] for b in uses)
                if uses
                else f"no action tool called (stop_reason {first.stop_reason})"
            )
        )
        out(f"· thinking blocks in the answer: {len(thinking)}")
        if uses:
            calls_made = [ToolCall(id=b["id"], tool=b["name"], arguments=b.get("input") or {}) for b in uses]
            from concierge.conversation.turn import ActionResult, ActionStatus

            results = [
                ActionResult(
                    call_id=c.id,
                    action_id=f"doctor-{n}",
                    tool=c.tool,
                    status=ActionStatus.EXECUTED,
                    result={"status": "shipped", "carrier": "UPS", "eta": "in 2 days"},
                )
                for n, c in enumerate(calls_made)
            ]
            turn = turn.model_copy(
                update={
                    "tool_rounds": [calls_made],
                    "assistant_rounds": [content],
                    "results": results,
                    "loop": turn.loop.model_copy(update={"steps": 1}),
                }
            )
        second = client.create(
            tool_choice=family.tool_choice(prompt.REPLY_TOOL), messages=prompt.messages(turn), **request
        )
        calls.append(usage_of(second.usage, client.model, prices))
        if uses:
            out(
                "✓ the tool round with the model's content sent back"
                + (" (thinking blocks echoed)" if thinking else "")
                + " is accepted"
            )
    except NoKeyYet:
        out(
            "✗ no Anthropic API key is set yet: the agent answers with the deterministic engine. Put the key in the "
            "AnthropicApiKey secret (docs/deploy.md)."
        )
        return 1
    except model_errors() as error:
        status = getattr(error, "status_code", None)
        out(f"✗ {describe(error)}")
        if status in HINTS:
            out(f"  {HINTS[status]}")
        return 1
    written = sum(u.cache_write_tokens for u in calls)
    read = sum(u.cache_read_tokens for u in calls)
    out(
        f"{'✓' if written or read else '✗'} prompt cache: {written:,} tokens written, {read:,} read"
        + (
            ""
            if written or read
            else f" (the prefix may be under {family.min_cache_tokens:,} tokens, this model's minimum)"
        )
    )
    total = Usage()
    for number, usage in enumerate(calls, start=1):
        total = total.add(usage)
        out(
            f"· call {number}: {usage.input_tokens:,} in, {usage.output_tokens:,} out (thinking counts as output), "
            f"{usage.cache_write_tokens:,} cache write, {usage.cache_read_tokens:,} cache read: ${usage.cost_usd:.6f}"
        )
    out(f"· total ${total.cost_usd:.6f} at {family.name}'s list prices ({family.source}, read {models.READ_ON})")
    return 0
