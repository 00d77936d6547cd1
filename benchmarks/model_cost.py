"""Modelled cost of Claude per conversation, from the shipped scenarios, without calling a model.

Usage: python benchmarks/model_cost.py [--scenarios evaluation/scenarios] [--output-tokens 150]

Plays every scenario with the deterministic engine on the local stack and, at every agent step where the Claude
engine would ask the model (not the handoffs escalation makes in code), builds the exact request Claude would get
(tools, system, messages). Then, for each model of the capability table
(shared/concierge/reasoning/models.py), it prices every call as the API would bill it:

- tokens are estimated from characters: 3.6 characters a token for the 4.x models, and 30% more tokens for the same
  text on the 5.x tokenizer (documented for Sonnet 5.5, Sonnet 5 and Haiku 5.5); the real tokenizer needs count_tokens;
- prompt caching as the prompt lays it out: breakpoint 1 after the system prompt (tools + system, the same for every
  conversation), breakpoint 2 at the end of the conversation. A call reads what an earlier call of the same
  conversation wrote (the longest common prefix of their blocks) and writes the rest; the prefix is written on each
  conversation's first call (conservative: a busy shop reads it there too). A prompt under the model's minimum
  cacheable length is not cached at all and is paid in full;
- output: `--output-tokens` per call, plus thinking for the models that think with the agent's setting (assumed,
  since no figure is documented: `--notes-tokens` of between-tools notes before each tool call, `--thinking-tokens`
  of adaptive thinking per call); thinking is billed as output.

benchmarks/costs.py reuses the recording (`Recorder`) and the pricing (`estimate`) for its cost table.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CHARS_PER_TOKEN = 3.6
NEW_TOKENIZER = 1.3  # "about 30% more tokens than Sonnet 4.6 and Haiku 4.5 for the same text"
NEW_TOKENIZER_MODELS = ("claude-sonnet-5-5", "claude-haiku-5-5", "claude-sonnet-5", "claude-opus-5-5")
OUTPUT_TOKENS = 150  # visible output tokens per model call (assumed)
NOTES_TOKENS = 60  # between-tools notes before a tool call (Sonnet 5.5; assumed)
THINKING_TOKENS = 400  # adaptive thinking per call (Opus 5.5; assumed)


def blocks_of(messages: list[dict]) -> list[str]:
    """A request's messages as a list of block texts (cache markers removed): the unit prefixes are compared in."""
    out = []
    for message in messages:
        content = (
            message["content"]
            if isinstance(message["content"], list)
            else [{"type": "text", "text": message["content"]}]
        )
        for block in content:
            out.append(
                message["role"] + json.dumps({k: v for k, v in block.items() if k != "cache_control"}, sort_keys=True)
            )
    return out


def common_prefix(a: list[str], b: list[str]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


@dataclass
class Call:
    """One agent step: its conversation, its message blocks, whether it led to tool calls, and (when known) the
    characters of its cacheable prefix (tools + system); None: the run's common prefix."""

    scenario: str
    blocks: list[str]
    acted: bool
    prefix_chars: int | None = None


class Recorder:
    """While active, records at every agent step of the deterministic engine the messages Claude would get
    (`calls`, tagged with `scenario`). `spent(seconds)` is told how long each recording took (so that a caller
    timing the agent can leave it out)."""

    def __init__(self, spent: Callable[[float], None] | None = None) -> None:
        self.calls: list[Call] = []
        self.scenario = ""
        self._spent = spent

    def __enter__(self) -> Recorder:
        from concierge.engine.deterministic import DeterministicEngine
        from concierge.reasoning import prompt

        self._original = original = DeterministicEngine.decide
        recorder = self
        inside = threading.local()

        def recording(engine: Any, turn: Any) -> Any:
            # decide() hands a turn whose merchant profile differs from the engine's to an engine of that profile
            # (the local stack's store always does): one agent step, one call, recorded by the outermost decide.
            if getattr(inside, "deciding", False):
                return original(engine, turn)
            inside.deciding = True
            try:
                decision = original(engine, turn)
            finally:
                inside.deciding = False
            started = time.perf_counter()
            if asks_model(turn):
                calls = recorder.calls
                calls.append(Call(recorder.scenario, blocks_of(prompt.messages(turn)), decision.next == "actions"))
            if recorder._spent:
                recorder._spent(time.perf_counter() - started)
            return decision

        DeterministicEngine.decide = recording
        return self

    def __exit__(self, *exc: object) -> None:
        from concierge.engine.deterministic import DeterministicEngine

        DeterministicEngine.decide = self._original


def asks_model(turn: Any) -> bool:
    """Whether the Claude engine would ask the model at this step: escalation is code, and a handoff under way is
    finished without the model (reasoning/claude.py, ClaudeEngine.decide)."""
    from concierge.reasoning import escalation
    from concierge.reasoning.claude import ClaudeEngine

    conversation = turn.conversation
    reason = escalation.trigger(turn, conversation.sentiments, conversation.flow.get("misses", 0))
    return reason is None and ClaudeEngine._handoff_under_way(turn) is None


def prefix_chars() -> int:
    """Characters of the cacheable prefix (tool definitions + system prompt) with the deployed settings' defaults."""
    from concierge.platform.settings import AgentSettings
    from concierge.reasoning import prompt

    settings = AgentSettings.from_env({})
    return len(json.dumps(prompt.tools())) + len(prompt.system_text(settings))


def tokens_per_char(api_id: str, tokenizer: bool = True) -> float:
    """Estimated tokens per character; `tokenizer=False` leaves out the 5.x tokenizer's 30%."""
    return (NEW_TOKENIZER if tokenizer and api_id in NEW_TOKENIZER_MODELS else 1.0) / CHARS_PER_TOKEN


@dataclass
class Estimate:
    """The priced calls of one model: USD, and tokens (input = uncached + cache reads + cache writes)."""

    usd: float = 0.0
    input_tokens: float = 0.0
    uncached: float = 0.0
    cache_read: float = 0.0
    cache_write: float = 0.0
    output_tokens: float = 0.0
    calls: int = 0


def estimate(
    calls: list[Call],
    family: Any,
    prefix: int,
    *,
    output_tokens: int = OUTPUT_TOKENS,
    notes_tokens: int = NOTES_TOKENS,
    thinking_tokens: int = THINKING_TOKENS,
    tokenizer: bool = True,
) -> Estimate:
    """`calls` priced for `family` (a ModelFamily of the capability table) with `prefix` characters of cacheable
    prefix, as the module docstring describes."""
    per_char = tokens_per_char(family.api_id, tokenizer)
    price = family.price
    out = Estimate()
    previous: list[str] = []
    for n, call in enumerate(calls):
        first = n == 0 or calls[n - 1].scenario != call.scenario
        if first:
            previous = []
        head = (call.prefix_chars if call.prefix_chars is not None else prefix) * per_char
        tokens = [len(b) * per_char for b in call.blocks]
        whole = head + sum(tokens)
        thinking = (
            (notes_tokens if call.acted else 0)
            if family.thinking == {"type": "between_tools"}
            else (thinking_tokens if family.thinking is None and family.thinking_blocks else 0)
        )
        out.calls += 1
        out.input_tokens += whole
        out.output_tokens += output_tokens + thinking
        output = (output_tokens + thinking) * price.output
        if whole < family.min_cache_tokens:
            out.uncached += whole
            out.usd += (whole * price.input + output) / 1e6
            previous = []
            continue
        shared = sum(tokens[: common_prefix(previous, call.blocks)])
        read = (0 if first else head) + shared
        written = (head if first else 0) + sum(tokens) - shared
        out.cache_read += read
        out.cache_write += written
        out.usd += (read * price.cache_read + written * price.cache_write + output) / 1e6
        previous = call.blocks
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", default="evaluation/scenarios")
    parser.add_argument("--output-tokens", type=int, default=OUTPUT_TOKENS, help="visible output tokens per model call")
    parser.add_argument(
        "--notes-tokens", type=int, default=NOTES_TOKENS, help="between-tools notes before a tool call (Sonnet 5.5)"
    )
    parser.add_argument(
        "--thinking-tokens", type=int, default=THINKING_TOKENS, help="adaptive thinking per call (Opus 5.5)"
    )
    args = parser.parse_args()

    from concierge.dev.evaluation import load_scenarios, play
    from concierge.reasoning import models

    outcomes = []
    with Recorder() as recorder:
        for scenario in load_scenarios(Path(args.scenarios)):
            recorder.scenario = scenario.name
            outcomes.append(play(scenario))
    calls = recorder.calls

    prefix = prefix_chars()
    resolved = sum(o.resolved for o in outcomes)
    conversations = len(outcomes)
    dynamic = sum(sum(len(b) for b in call.blocks) for call in calls) / len(calls)
    print(
        f"cacheable prefix: {prefix:,} characters ≈ {prefix / CHARS_PER_TOKEN:,.0f} tokens "
        f"(4.x tokenizer; ≈ {prefix / CHARS_PER_TOKEN * NEW_TOKENIZER:,.0f} on 5.x)"
    )
    print(
        f"{conversations} conversations, {resolved} resolved, {len(calls)} model calls "
        f"({len(calls) / conversations:.2f} per conversation); conversation part ≈ {dynamic / CHARS_PER_TOKEN:,.0f} "
        f"tokens per call (4.x)"
    )
    print("| model | min cacheable | cost per conversation | per resolved conversation | cached share of input |")
    print("| --- | --- | --- | --- | --- |")
    for family in models.FAMILIES:
        priced = estimate(
            calls,
            family,
            prefix,
            output_tokens=args.output_tokens,
            notes_tokens=args.notes_tokens,
            thinking_tokens=args.thinking_tokens,
        )
        print(
            f"| {family.api_id} | {family.min_cache_tokens:,} | ${priced.usd / conversations:.5f} | "
            f"${priced.usd / max(resolved, 1):.5f} | {priced.cache_read / priced.input_tokens:.0%} |"
        )
    print(
        f"assumed per call: {args.output_tokens} visible output tokens; thinking: {args.notes_tokens} tokens of notes "
        f"before each tool call on between_tools, {args.thinking_tokens} on adaptive thinking. Prices: the capability "
        f"table, read {models.READ_ON}."
    )


if __name__ == "__main__":
    main()
