"""Modelled cost of Claude per conversation, from the shipped scenarios, without calling a model.

Usage: python benchmarks/model_cost.py [--scenarios evaluation/scenarios] [--output-tokens 150]

Plays every scenario with the deterministic engine on the local stack and, at every agent step, builds the exact
request Claude would get (tools, system, messages). Then, for each model of the capability table
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
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

CHARS_PER_TOKEN = 3.6
NEW_TOKENIZER = 1.3  # "about 30% more tokens than Sonnet 4.6 and Haiku 4.5 for the same text"
NEW_TOKENIZER_MODELS = ("claude-sonnet-5-5", "claude-haiku-5-5", "claude-sonnet-5", "claude-opus-5-5")


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", default="evaluation/scenarios")
    parser.add_argument("--output-tokens", type=int, default=150, help="visible output tokens per model call")
    parser.add_argument(
        "--notes-tokens", type=int, default=60, help="between-tools notes before a tool call (Sonnet 5.5)"
    )
    parser.add_argument("--thinking-tokens", type=int, default=400, help="adaptive thinking per call (Opus 5.5)")
    args = parser.parse_args()

    from concierge.engine.deterministic import DeterministicEngine
    from concierge.evaluation import load_scenarios, play
    from concierge.reasoning import models, prompt
    from concierge.settings import Settings

    calls: list[tuple[str, list[str], bool]] = []  # (scenario, message blocks, the call led to tool calls)
    current = {"name": ""}
    original = DeterministicEngine.decide

    def recording(self, turn):
        decision = original(self, turn)
        calls.append((current["name"], blocks_of(prompt.messages(turn)), decision.next == "actions"))
        return decision

    DeterministicEngine.decide = recording
    outcomes = []
    for scenario in load_scenarios(Path(args.scenarios)):
        current["name"] = scenario.name
        outcomes.append(play(scenario))
    DeterministicEngine.decide = original

    settings = Settings.model_validate(
        {
            "CONCIERGE_MEMORY_TABLE": "m",
            "CONCIERGE_STORE_TABLE": "s",
            "CONCIERGE_EVENT_BUS": "b",
            "CONCIERGE_KNOWLEDGE_BUCKET": "k",
        }
    )
    prefix_chars = len(json.dumps(prompt.tools())) + len(prompt.system_text(settings))
    resolved = sum(o.resolved for o in outcomes)
    conversations = len(outcomes)
    dynamic = sum(sum(len(b) for b in blocks) for _, blocks, _ in calls) / len(calls)
    print(
        f"cacheable prefix: {prefix_chars:,} characters ≈ {prefix_chars / CHARS_PER_TOKEN:,.0f} tokens "
        f"(4.x tokenizer; ≈ {prefix_chars / CHARS_PER_TOKEN * NEW_TOKENIZER:,.0f} on 5.x)"
    )
    print(
        f"{conversations} conversations, {resolved} resolved, {len(calls)} model calls "
        f"({len(calls) / conversations:.2f} per conversation); conversation part ≈ {dynamic / CHARS_PER_TOKEN:,.0f} "
        f"tokens per call (4.x)"
    )
    print("| model | min cacheable | cost per conversation | per resolved conversation | cached share of input |")
    print("| --- | --- | --- | --- | --- |")
    for family in models.FAMILIES:
        per_char = (NEW_TOKENIZER if family.api_id in NEW_TOKENIZER_MODELS else 1.0) / CHARS_PER_TOKEN
        price = family.price
        prefix = prefix_chars * per_char
        total = cached = all_input = 0.0
        previous: list[str] = []
        for n, (scenario, blocks, acted) in enumerate(calls):
            first = n == 0 or calls[n - 1][0] != scenario
            if first:
                previous = []
            tokens = [len(b) * per_char for b in blocks]
            whole = prefix + sum(tokens)
            all_input += whole
            thinking = (
                (args.notes_tokens if acted else 0)
                if family.thinking == {"type": "between_tools"}
                else (args.thinking_tokens if family.thinking is None and family.thinking_blocks else 0)
            )
            output = (args.output_tokens + thinking) * price.output
            if whole < family.min_cache_tokens:
                total += (whole * price.input + output) / 1e6
                previous = []
                continue
            shared = sum(tokens[: common_prefix(previous, blocks)])
            read = (0 if first else prefix) + shared
            written = (prefix if first else 0) + sum(tokens) - shared
            cached += read
            total += (read * price.cache_read + written * price.cache_write + output) / 1e6
            previous = blocks
        print(
            f"| {family.api_id} | {family.min_cache_tokens:,} | ${total / conversations:.5f} | "
            f"${total / max(resolved, 1):.5f} | {cached / all_input:.0%} |"
        )
    print(
        f"assumed per call: {args.output_tokens} visible output tokens; thinking: {args.notes_tokens} tokens of notes "
        f"before each tool call on between_tools, {args.thinking_tokens} on adaptive thinking. Prices: the capability "
        f"table, read {models.READ_ON}."
    )


if __name__ == "__main__":
    main()
