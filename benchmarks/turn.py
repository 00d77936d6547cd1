"""Turn latency and DynamoDB calls per turn on the local stack (in-process moto, the deployed state machine).

Usage: python benchmarks/turn.py [--turns 20]
Plays realistic customer turns as the API would start them and reports the median and p95 latency, the
DynamoDB calls of each turn by operation, and how many times each function ran. Figures are for comparison
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

SCRIPT = [
    ("alex", "I need to return the blue shirt from my last order"),
    ("alex", "Yes, that's the one"),
    ("alex", "It's too small"),
    ("alex", "A refund please"),
    ("alex", "Yes, go ahead"),
    ("sam", "where is my order?"),
    ("sam", "How long do refunds take?"),
    ("sam", "Do you ship to Canada?"),
    ("sam", "thanks, that's all"),
    ("alex", "hi"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=20)
    args = parser.parse_args()

    from concierge import wiring
    from concierge.auth import SigningKeys, mint_customer_token
    from concierge.cli import start_local
    from concierge.local.stack import DEV_SIGNING_SECRET

    stack, _ = start_local(store_dir=Path(tempfile.mkdtemp()) / "store")
    calls: Counter[str] = Counter()
    boto3.setup_default_session()  # count every DynamoDB API call the functions make from here on
    boto3.DEFAULT_SESSION.events.register("before-call.dynamodb", lambda model, **_: calls.update([model.name]))
    wiring.reset()
    latencies: list[float] = []
    per_turn: list[tuple[str, Counter[str]]] = []
    for n in range(args.turns):
        customer, text = SCRIPT[n % len(SCRIPT)]
        conversation = f"bench-{customer}-{n // len(SCRIPT)}"
        calls.clear()
        started = time.perf_counter()
        status, body = stack.run_turn(
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
        per_turn.append((text, Counter(calls)))
        actions = [f"{a['tool']}:{a['status']}" for a in json.loads(body)["actions"]]
        print(f"{latencies[-1]:7.1f} ms  {sum(calls.values()):2d} DynamoDB calls  {text!r} {' '.join(actions)}")

    ordered = sorted(latencies)
    print(
        f"\nturns: {len(latencies)}  median: {statistics.median(latencies):.1f} ms  "
        f"p95: {ordered[max(0, round(0.95 * len(ordered)) - 1)]:.1f} ms  max: {ordered[-1]:.1f} ms"
    )
    for wanted in ("where is my order?", "Yes, go ahead"):
        text, counted = next((t, c) for t, c in per_turn if t == wanted)
        print(f"DynamoDB calls in one turn ({text!r}): {sum(counted.values())} — {dict(sorted(counted.items()))}")
    print(f"function invocations: {stack.invocations}")
    stack.stop()


if __name__ == "__main__":
    main()
