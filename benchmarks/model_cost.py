"""Modelled cost of Claude per conversation, from the shipped scenarios, without calling a model.

Usage: python benchmarks/model_cost.py [--scenarios evaluation/scenarios] [--output-tokens 150]
Plays every scenario with the deterministic engine on the local stack and, at every agent step, builds the exact
request Claude would get (tools, system, messages) for that turn. It counts characters and estimates tokens at
3.6 characters per token (an approximation: the real tokenizer needs the API's count_tokens). Each step is
priced from the price table, with the cacheable prefix written on each conversation's first call and read on every later one (conservative: the cache lives five
minutes, so a busy shop reads it on most first calls too).
The result is reported per conversation and per resolved conversation, for a Haiku-class and a Sonnet-class
model. A conversation takes one model call per agent step: one per turn, plus one per action round.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

CHARS_PER_TOKEN = 3.6
MODELS = ("claude-haiku-5-5", "claude-sonnet-5-5")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", default="evaluation/scenarios")
    parser.add_argument("--output-tokens", type=int, default=150, help="assumed output tokens per model call")
    args = parser.parse_args()

    from concierge.engine.deterministic import DeterministicEngine
    from concierge.evaluation import load_scenarios, play
    from concierge.reasoning import prompt
    from concierge.reasoning.costs import DEFAULT_PRICES
    from concierge.settings import Settings

    calls: list[tuple[str, int]] = []  # (scenario, dynamic characters of the request)
    current = {"name": ""}
    original = DeterministicEngine.decide

    def recording(self, turn):
        calls.append((current["name"], len(json.dumps(prompt.messages(turn)))))
        return original(self, turn)

    DeterministicEngine.decide = recording
    outcomes = []
    for scenario in load_scenarios(Path(args.scenarios)):
        current["name"] = scenario.name
        outcomes.append(play(scenario))
    DeterministicEngine.decide = original

    # The prefix depends only on the merchant's settings: the defaults are measured.
    settings = Settings.model_validate({"CONCIERGE_MEMORY_TABLE": "m", "CONCIERGE_STORE_TABLE": "s", "CONCIERGE_EVENT_BUS": "b",
                                        "CONCIERGE_KNOWLEDGE_BUCKET": "k"})
    prefix_chars = len(json.dumps(prompt.tools())) + len(prompt.system_text(settings))
    prefix_tokens = round(prefix_chars / CHARS_PER_TOKEN)
    resolved = sum(o.resolved for o in outcomes)
    conversations = len(outcomes)
    print(f"cacheable prefix: {prefix_chars:,} characters ≈ {prefix_tokens:,} tokens (tools {len(prompt.tools())}, system prompt)")
    print(f"{conversations} conversations, {resolved} resolved, {len(calls)} model calls "
          f"({len(calls) / conversations:.2f} per conversation); dynamic input ≈ "
          f"{sum(c for _, c in calls) / len(calls) / CHARS_PER_TOKEN:,.0f} tokens per call")
    for model in MODELS:
        price = DEFAULT_PRICES[model]
        total = 0.0
        for n, (scenario, chars) in enumerate(calls):
            first_of_conversation = n == 0 or calls[n - 1][0] != scenario
            dynamic = chars / CHARS_PER_TOKEN
            cache = prefix_tokens * (price.cache_write if first_of_conversation else price.cache_read)
            total += (dynamic * price.input + cache + args.output_tokens * price.output) / 1_000_000
        print(f"{model}: ${total / conversations:.5f} per conversation, ${total / max(resolved, 1):.5f} per resolved conversation")


if __name__ == "__main__":
    main()
