"""Context build per turn for customers with 5, 50 and 500 past conversations: it must stay flat.

Usage: python benchmarks/context_build.py [--histories 5 50 500] [--repeat 30]
Seeds each customer's history through the memory store (closed conversations with their messages, summaries,
durable facts, conversation index), then, for a new conversation:
- counts the DynamoDB calls of a whole first turn and of the retrieval function's context build alone;
- counts the items those reads return (what DynamoDB bills a Query for, since a Limit stops the read);
- times the context build (median of --repeat runs) and reports the recalled context's size in tokens.
The call and item counts are exact and are what is flat. The times are moto's: moto evaluates a Query by
walking the whole partition in Python, so its time grows with the history even though the items read do not;
DynamoDB reads only up to the Limit.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import boto3


def seed(memory, customer_id: str, conversations: int, now) -> None:
    """Write a history straight into the memory table (a bulk load: many items, no transactions)."""
    from concierge.conversation.api import Channel
    from concierge.conversation.turn import ConversationStatus
    from concierge.memory.store import ConversationRecord, Fact, Profile, Summary

    puts = []
    for n in range(conversations):
        at = now - timedelta(days=conversations - n)
        record = ConversationRecord(
            conversation_id=f"hist-{customer_id}-{n}",
            customer_id=customer_id,
            channel=Channel.WEB,
            status=ConversationStatus.CLOSED,
            started_at=at,
            updated_at=at,
            message_seq=6,
            customer_turns=3,
            intents=["track", "question", "thanks"],
        )
        puts.append(memory.conversation_put(record))
        for seq in range(1, 7):
            role = "customer" if seq % 2 else "assistant"
            puts.append(
                memory.message_put(
                    record.model_copy(update={"message_seq": seq}),
                    role,
                    f"message {seq} of conversation {n}",
                    at,
                    "web",
                )
            )
        puts += memory.conversation_index_puts(record)
        summary = Summary(
            conversation_id=record.conversation_id,
            closed_at=at,
            channel=Channel.WEB,
            text=f"we checked on your order NW{10000 + n % 200}, which was delivered.",
        )
        puts.append(memory.summary_put(customer_id, summary))
        if n % 10 == 0:  # durable facts are upserted by key: they do not grow with the history
            fact = Fact(
                key=f"interest:product-{n % 30}",
                kind="interest",
                text=f"you asked about product {n % 30}",
                conversation_id=record.conversation_id,
                updated_at=at,
            )
            puts.append(memory.fact_put(customer_id, fact))
    puts.append(memory.profile_put(Profile(customer_id=customer_id, conversations=conversations)))
    memory.load(puts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--histories", type=int, nargs="+", default=[5, 50, 500])
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()

    from concierge.dev.cli import start_local
    from concierge.local.stack import DEV_SIGNING_SECRET
    from concierge.memory import longterm
    from concierge.platform import wiring
    from concierge.platform.clock import now
    from concierge.platform.settings import RetrievalSettings, current_settings
    from concierge.web.auth import SigningKeys, mint_customer_token

    stack, _ = start_local(store_dir=Path(tempfile.mkdtemp()) / "store")
    calls: Counter[str] = Counter()
    boto3.setup_default_session()
    boto3.DEFAULT_SESSION.events.register("before-call.dynamodb", lambda model, **_: calls.update([model.name]))
    items_read: list[int] = []

    def count_items(http_response, parsed, model, **_):
        if model.name == "Query":
            items_read.append(parsed.get("Count", 0))
        elif model.name == "GetItem":
            items_read.append(1 if parsed.get("Item") else 0)

    boto3.DEFAULT_SESSION.events.register("after-call.dynamodb", count_items)
    wiring.reset()
    memory = wiring.memory_store(current_settings(RetrievalSettings))
    rows = []
    for size in args.histories:
        customer = "alex"  # a real customer of the demo store, with orders; history re-seeded per size
        customer_id = f"{customer}"
        memory.delete_keys([(item["pk"], item["sk"]) for item in memory.customer_partition(customer_id)])
        seed(memory, customer_id, size, now())

        calls.clear()
        status, body, _ = stack.turn_response(
            {
                "body": {"text": "hi, where is my order?", "channel": "web"},
                "header": {
                    "Authorization": "Bearer " + mint_customer_token(customer, SigningKeys.parse(DEV_SIGNING_SECRET))
                },
                "path": {"conversation_id": f"bench-new-{size}"},
            }
        )
        assert status == 200, body
        turn_calls = sum(calls.values())
        reply = json.loads(body)["reply"]["text"]

        calls.clear()
        items_read.clear()
        context = longterm.recall(memory, customer_id, f"bench-new-{size}", memory.get_profile(customer_id))
        build_calls = dict(calls)
        build_items = sum(items_read)
        timings = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            longterm.recall(memory, customer_id, f"bench-new-{size}", memory.get_profile(customer_id))
            timings.append((time.perf_counter() - started) * 1000)
        rows.append(
            (
                size,
                turn_calls,
                sum(build_calls.values()),
                build_items,
                build_calls,
                statistics.median(timings),
                context.tokens,
                len(context.model_dump_json()),
                reply.startswith("Welcome back"),
            )
        )
    stack.stop()

    print(
        f"{'history':>8} {'turn calls':>10} {'build calls':>11} {'items read':>10} "
        f"{'build ms (moto)':>16} {'tokens':>7} "
        f"{'context bytes':>14}  welcome back"
    )
    for size, turn_calls, build, items, detail, ms, tokens, size_bytes, welcomed in rows:
        print(
            f"{size:>8} {turn_calls:>10} {build:>11} {items:>10} {ms:>16.2f} {tokens:>7} "
            f"{size_bytes:>14}  {welcomed}  {detail}"
        )
    base = rows[0][5]
    print("moto build time relative to the smallest history: " + ", ".join(f"{r[0]}: {r[5] / base:.2f}x" for r in rows))


if __name__ == "__main__":
    main()
