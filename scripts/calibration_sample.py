"""Calibration on a seeded, synthetic sample, through the product's own path on the local stack (moto):

1. N conversations with seeded features (resolution, sentiment, turns, repeats, failed actions, thanks,
   complaints, first-response time) are closed: each `conversation.closed` envelope is handed to what the surveys
   function runs for it (`on_conversation_closed`: Auto-CSAT stored and published, CSAT offered) — directly rather
   than through the queue, which keeps a run of hundreds short;
2. a share of customers answer through `POST /v1/conversations/{id}/surveys`, with a score drawn from a *different*
   synthetic satisfaction model (other weights, a per-customer bias and noise), so the scorer is not graded against
   itself;
3. the calibration report is read back as `concierge calibrate` reads it (one query per day of pairs).

The answers are synthetic: the table shows that the pipeline measures, not how well Auto-CSAT predicts real
customers — run `concierge calibrate` on a deployment for that.

    python scripts/calibration_sample.py --conversations 400 --seed 11
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
from pathlib import Path


def features(rng: random.Random) -> dict:
    resolution = rng.choices(["resolved", "handed_off", "unresolved"], weights=[0.62, 0.23, 0.15])[0]
    mood = {"resolved": 0.35, "handed_off": -0.25, "unresolved": -0.35}[resolution]
    first = max(-1.0, min(1.0, rng.gauss(0.0, 0.35)))
    last = max(-1.0, min(1.0, rng.gauss(mood, 0.35)))
    turns = max(1, int(rng.expovariate(1 / 3.5)) + 1)
    return {
        "resolution": resolution,
        "turns": turns,
        "sentiments": [round(first, 2), round(last, 2)],
        "repeated_messages": rng.choices([0, 1, 2, 3], weights=[0.7, 0.18, 0.08, 0.04])[0],
        "actions_failed": rng.choices([0, 1, 2], weights=[0.88, 0.09, 0.03])[0],
        "thanked": rng.random() < (0.55 if resolution == "resolved" else 0.15),
        "complained": rng.random() < (0.05 if resolution == "resolved" else 0.3),
        "first_response_ms": int(rng.lognormvariate(7.6, 0.8)),
        "handoff_reason": "customer asked for a person" if resolution == "handed_off" else None,
    }


def answered_csat(f: dict, bias: float, rng: random.Random) -> int:
    """The synthetic customer's answer: its own weights, a customer bias and noise (not the scorer's formula)."""
    first, last = f["sentiments"]
    value = (
        3.1
        + {"resolved": 1.2, "handed_off": -0.5, "unresolved": -1.5}[f["resolution"]]
        + 0.9 * last
        + 0.3 * (last - first)
        - 0.12 * max(0, f["turns"] - 4)
        - 0.4 * f["repeated_messages"]
        - 0.7 * f["actions_failed"]
        + 0.3 * f["thanked"]
        - 1.0 * f["complained"]
        - 0.5 * (f["first_response_ms"] > 8000)
        + bias
        + rng.gauss(0, 0.7)
    )
    return max(1, min(5, round(value)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=400)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--response-rate", type=float, default=0.35, help="share of customers who answer")
    args = parser.parse_args(argv)

    os.environ["CONCIERGE_SURVEY_CSAT_AFTER"] = "closed"  # every closed conversation is asked, not only resolved ones
    os.environ["CONCIERGE_SURVEY_NPS_CADENCE_DAYS"] = "0"
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
    import boto3

    from concierge.dev.cli import start_local
    from concierge.local.stack import DEV_SIGNING_SECRET, REGION
    from concierge.memory.store import ConversationRecord, MemoryStore
    from concierge.platform import wiring
    from concierge.platform.clock import now
    from concierge.platform.events import ConversationClosed
    from concierge.platform.settings import SurveysSettings, current_settings
    from concierge.surveys.calibration import calibrate, pairs_between, table
    from concierge.surveys.scoring import on_conversation_closed
    from concierge.surveys.store import SurveyStore
    from concierge.web.auth import SigningKeys, mint_customer_token

    stack, customers = start_local(store_dir=Path(tempfile.mkdtemp()) / "store")
    try:
        settings = current_settings(SurveysSettings)
        memory = MemoryStore(
            boto3.resource("dynamodb", region_name=REGION).Table(settings.memory_table), settings.memory_ttl_days
        )
        rng = random.Random(args.seed)
        bias = {c["id"]: rng.gauss(0, 0.4) for c in customers}
        sample, records = [], []
        for n in range(args.conversations):
            customer = rng.choice(customers)["id"]
            conversation_id = f"sample-{args.seed}-{n:05d}"
            f = features(rng)
            at = now()
            record = ConversationRecord(
                conversation_id=conversation_id,
                customer_id=customer,
                channel="web",
                started_at=at,
                updated_at=at,
                channels=["web"],
            )
            records.append(memory.conversation_put(record))
            sample.append((conversation_id, customer, f))
        # The conversations' records, loaded in batches (a transaction per record makes moto's memory grow fast).
        memory.load(records)
        services = wiring.closed_conversation_services(settings)
        for conversation_id, customer, f in sample:
            at = now()
            event = ConversationClosed(
                occurred_at=at, conversation_id=conversation_id, customer_id=customer, channel="web", started_at=at, **f
            )
            on_conversation_closed(
                {"detail-type": event.detail_type, "detail": event.model_dump(mode="json")}, services, at
            )
        answers = 0
        for conversation_id, customer, f in sample:
            if rng.random() < args.response_rate:
                score = answered_csat(f, bias[customer], rng)
                status, _, body = stack.proxy(
                    "POST",
                    f"/v1/conversations/{conversation_id}/surveys",
                    {"conversation_id": conversation_id},
                    {"Authorization": "Bearer " + mint_customer_token(customer, SigningKeys.parse(DEV_SIGNING_SECRET))},
                    {},
                    json.dumps({"survey": "csat", "score": score}),
                )
                if status != 200:
                    raise SystemExit(f"answer refused: {status} {body}")
                answers += 1
        today = now().date()
        surveys = SurveyStore(memory)
        report = calibrate(pairs_between(surveys, today, today))
        print(f"{args.conversations} synthetic conversations (seed {args.seed}), {answers} answered CSAT\n")
        print(table(report))
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
