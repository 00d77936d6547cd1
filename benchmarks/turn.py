"""Turn latency and DynamoDB calls per turn on the local stack (in-process moto, the deployed state machine).

Usage: python benchmarks/turn.py [--turns 22]
Plays realistic customer turns as the API would start them and reports the median and p95 latency, the
DynamoDB calls of each turn by operation, the Step Functions states each turn's execution entered (the state
transitions Standard workflows bill; Express bills the execution's duration, rounded up to 100 ms, shown too) and how
many times each function ran. Figures are for comparison
between runs on the same machine, not absolute AWS latencies (moto is in-process, no network).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

import boto3

# (customer, conversation, message): "where is my order?" is played as a conversation's first message (long-term
# recall reads the customer's summaries and facts) and as a later one.
SCRIPT = [
    ("alex", "return", "I need to return the blue shirt from my last order"),
    ("alex", "return", "Yes, that's the one"),
    ("alex", "return", "It's too small"),
    ("alex", "return", "A refund please"),
    ("alex", "return", "Yes, go ahead"),
    ("sam", "tracking", "where is my order?"),
    ("sam", "tracking", "How long do refunds take?"),
    ("sam", "tracking", "Do you ship to Canada?"),
    ("sam", "tracking", "thanks, that's all"),
    ("sam", "later", "hi"),
    ("sam", "later", "where is my order?"),
]
# The figures the issue tracks: the message, and whether it is its conversation's first.
TRACKED = [("where is my order?", False), ("where is my order?", True), ("Yes, go ahead", False)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=2 * len(SCRIPT), help=f"at least {len(SCRIPT)}: the whole script")
    parser.add_argument("--json", help="also write the figures to this file (with a `summary` for make bench)")
    args = parser.parse_args()
    if args.turns < len(SCRIPT):
        parser.error(f"--turns must be at least {len(SCRIPT)}: the figures come from turns all through the script")

    from concierge.dev.cli import start_local
    from concierge.local.stack import DEV_SIGNING_SECRET
    from concierge.platform import wiring
    from concierge.web.auth import SigningKeys, mint_customer_token

    stack, _ = start_local(store_dir=Path(tempfile.mkdtemp()) / "store")
    calls: Counter[str] = Counter()
    boto3.setup_default_session()  # count every DynamoDB API call the functions make from here on
    boto3.DEFAULT_SESSION.events.register("before-call.dynamodb", lambda model, **_: calls.update([model.name]))
    wiring.reset()
    executions: list[tuple[list[str], float]] = []  # the states each execution entered, and its duration
    execute = stack.turn_machine.execute

    def observed(*arguments, **keywords):
        started = time.perf_counter()
        output, visited = execute(*arguments, **keywords)
        executions.append((visited, (time.perf_counter() - started) * 1000))
        return output, visited

    stack.turn_machine.execute = observed
    latencies: list[float] = []
    per_turn: list[tuple[str, bool, Counter[str], list[str], float]] = []
    for n in range(args.turns):
        customer, thread, text = SCRIPT[n % len(SCRIPT)]
        conversation = f"bench-{customer}-{thread}-{n // len(SCRIPT)}"
        first = all(t != thread or c != customer for c, t, _ in SCRIPT[: n % len(SCRIPT)])
        calls.clear()
        started = time.perf_counter()
        status, body, _ = stack.turn_response(
            {
                "body": {"text": text, "channel": "web"},
                "header": {
                    "Authorization": "Bearer " + mint_customer_token(customer, SigningKeys.parse(DEV_SIGNING_SECRET))
                },
                "path": {"conversation_id": conversation},
            }
        )
        latencies.append((time.perf_counter() - started) * 1000)
        assert status == 200, body
        per_turn.append((text, first, Counter(calls), *executions[-1]))
        actions = [f"{a['tool']}:{a['status']}" for a in json.loads(body)["actions"]]
        print(f"{latencies[-1]:7.1f} ms  {sum(calls.values()):2d} DynamoDB calls  {text!r} {' '.join(actions)}")

    ordered = sorted(latencies)
    p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    print(
        f"\nturns: {len(latencies)}  median: {statistics.median(latencies):.1f} ms  "
        f"p95: {p95:.1f} ms  max: {ordered[-1]:.1f} ms"
    )
    for wanted, first in TRACKED:
        text, _, counted, states, duration = tracked(per_turn, wanted, first)
        calls_line = f"DynamoDB calls in one turn ({label(text, first)}): {sum(counted.values())}"
        print(f"{calls_line} — {dict(sorted(counted.items()))}")
    for wanted, first in TRACKED:
        text, _, _, states, duration = tracked(per_turn, wanted, first)
        billed = -(-duration // 100) * 100
        print(
            f"Step Functions state transitions in one turn ({label(text, first)}): {len(states)} — "
            f"{' > '.join(states)}; duration here {duration:.0f} ms (Express would bill {billed:.0f} ms)"
        )
    print(f"function invocations: {stack.invocations}")
    stack.stop()
    if args.json:
        summary = [["turn latency, median / p95 (ms)", f"{statistics.median(latencies):.0f} / {p95:.0f}"]]
        for wanted, first in TRACKED:
            text, _, counted, states, _ = tracked(per_turn, wanted, first)
            summary.append([f"DynamoDB calls in one turn ({label(text, first)})", sum(counted.values())])
            summary.append([f"Step Functions state transitions ({label(text, first)})", len(states)])
        figures = {
            "summary": summary,
            "turns": [
                {"text": t, "first": f, "dynamodb": dict(c), "states": states, "duration_ms": round(d, 1)}
                for t, f, c, states, d in per_turn
            ],
            "invocations": dict(stack.invocations),
        }
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")


def tracked(
    per_turn: list[tuple[str, bool, Counter[str], list[str], float]], text: str, first: bool
) -> tuple[str, bool, Counter[str], list[str], float]:
    return next(turn for turn in per_turn if turn[0] == text and turn[1] == first)


def label(text: str, first: bool) -> str:
    """The issue's summary label (`'where is my order?'`), marked when the message opens its conversation."""
    return f"{text!r}, first message of a conversation" if first else repr(text)


if __name__ == "__main__":
    main()
