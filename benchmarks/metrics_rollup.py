"""KPI roll-up throughput for 1k, 10k and 100k events: the cost per event must not grow with what was rolled up.

Usage: python benchmarks/metrics_rollup.py [--events 1000 10000 100000]
For each size, a fresh DynamoDB table on moto (in-process, with the local runtime's transaction snapshot, see
concierge/local/moto_workarounds.py) receives a seeded simulation (concierge.metrics.simulate) applied one event
at a time, as the surveys function does per SQS record. It reports:
- DynamoDB requests per event (exact, counted at the botocore layer): what is constant by design;
- events/s over the whole run and over its last tenth (when the table is fullest): moto's speed, not DynamoDB's,
  but a cost that grew with the table would show as a falling last-tenth rate;
- the time of one GET /v1/metrics-style read of the month (30 Queries, one per day).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections import Counter


def run(size: int) -> dict:
    import boto3
    from moto import mock_aws

    from concierge.local import moto_workarounds
    from concierge.memory.store import MemoryStore
    from concierge.metrics.query import MetricsQuery, MetricsReader
    from concierge.metrics.rollup import NotYetAttributed, Rollup
    from concierge.metrics.simulate import envelope, simulate_month

    # about 6.6 events per conversation (turns, close, Auto-CSAT, surveys, redemptions) over 30 days: at least `size`
    events = simulate_month(seed=7, conversations_per_day=size // (5 * 30) + 1)
    events = events[:size]
    with mock_aws():
        moto_workarounds.install()
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="bench",
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        )
        table = boto3.resource("dynamodb", region_name="us-east-1").Table("bench")
        calls: Counter[str] = Counter()
        table.meta.client.meta.events.register("before-call.dynamodb.*", lambda model, **_: calls.update([model.name]))
        memory = MemoryStore(table, ttl_days=30)  # the roll-up's records carry their own expiry
        rollup = Rollup(memory)
        per_type: dict[str, list[int]] = {}
        waiting = []
        tenth = max(1, len(events) // 10)
        started = time.perf_counter()
        last_tenth_started = started
        for number, event in enumerate(events):
            if number == len(events) - tenth:
                last_tenth_started = time.perf_counter()
            before = sum(calls.values())
            try:
                rollup.apply(envelope(event, f"bench-{number}"))
            except NotYetAttributed:  # the queue would retry it after its conversation's close
                waiting.append((number, event))
                continue
            per_type.setdefault(event.detail_type, []).append(sum(calls.values()) - before)
        ended = time.perf_counter()
        for number, event in waiting:
            rollup.apply(envelope(event, f"bench-{number}"))
        first_day, last_day = events[0].occurred_at.date(), events[-1].occurred_at.date()
        read_started = time.perf_counter()
        report = MetricsReader(memory).report(
            MetricsQuery.model_validate({"from": first_day, "to": last_day, "group_by": "day"})
        )
        read_seconds = time.perf_counter() - read_started
    return {
        "events": len(events),
        "events_per_second": round(len(events) / (ended - started), 1),
        "events_per_second_last_tenth": round(tenth / (ended - last_tenth_started), 1),
        "dynamodb_requests_per_event": {
            t: {"mean": round(sum(v) / len(v), 3), "max": max(v)} for t, v in sorted(per_type.items())
        },
        "conversations": report.totals.conversations,
        "read_month_seconds": round(read_seconds, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--json", help="also write the figures to this file (with a `summary` for make bench)")
    args = parser.parse_args()
    for key, value in {
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        os.environ.setdefault(key, value)
    runs = []
    for size in args.events:
        runs.append(run(size))
        print(json.dumps(runs[-1]), flush=True)
    if args.json:
        summary = [
            [
                f"roll-up, {r['events']:,} events: DynamoDB requests per event (max) / events/s / month read (s)",
                f"{max(t['max'] for t in r['dynamodb_requests_per_event'].values())} / {r['events_per_second']}"
                f" / {r['read_month_seconds']}",
            ]
            for r in runs
        ]
        with open(args.json, "w") as out:
            json.dump({"summary": summary, "runs": runs}, out, indent=2)


if __name__ == "__main__":
    main()
