"""A seeded month of conversations, Auto-CSAT scores, survey answers and redeemed codes, as the domain events the
product publishes. It feeds `concierge demo-month` (a populated dashboard locally), the event-path test (KPIs equal a
direct recomputation from these records) and benchmarks/metrics_rollup.py.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Literal

from concierge.metrics.keys import seeded_id
from concierge.metrics.rollup import NotYetAttributed, Rollup
from concierge.platform.events import (
    AutoCsatScored,
    ConversationClosed,
    DiscountRedeemed,
    DomainEvent,
    Resolution,
    SurveyAnswered,
    TurnCompleted,
)
from concierge.platform.topology import EVENT_SOURCE
from concierge.surveys.autocsat import score_conversation

CHANNELS = (("web", 0.6), ("email", 0.25), ("whatsapp", 0.15))
INTENTS = (("track", 0.3), ("return", 0.25), ("exchange", 0.1), ("cancel", 0.08), ("product", 0.17), ("shipping", 0.1))
GOAL_FLOWS = {"return": "return_items", "exchange": "return_items", "cancel": "cancel_order"}


def _pick(rng: random.Random, weighted: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([v for v, _ in weighted], weights=[w for _, w in weighted])[0]


def _lognormal_ms(rng: random.Random, median_ms: float, sigma: float) -> int:
    return int(median_ms * math.exp(rng.gauss(0, sigma)))


def simulate_month(
    seed: int = 7,
    end: date | None = None,
    days: int = 30,
    conversations_per_day: int = 25,
    customers: int = 400,
    auto_csat: bool = True,
) -> list[DomainEvent]:
    """Events in the order they happen, for the `days` days ending with `end` (default: yesterday, UTC).

    `auto_csat=False` leaves out `autocsat.scored`: on the event path the surveys function scores each closed
    conversation itself (and publishes it)."""
    rng = random.Random(seed)
    end = end or (datetime.now(UTC).date() - timedelta(days=1))
    first = end - timedelta(days=days - 1)
    horizon = datetime.combine(end + timedelta(days=1), time(), tzinfo=UTC)
    events: list[DomainEvent] = []
    history: dict[str, list[tuple[datetime, str]]] = {}  # customer -> (closed at, intent), for repeat contacts
    number = 0
    for offset in range(days):
        day = first + timedelta(days=offset)
        weekend = day.weekday() >= 5
        progress = offset / max(1, days - 1)  # the assistant gets better over the month: a trend for the charts
        for _ in range(max(1, int(conversations_per_day * (0.7 if weekend else 1.0) * rng.uniform(0.8, 1.2)))):
            number += 1
            conversation_id = seeded_id(seed, number)
            started = datetime.combine(day, time(), tzinfo=UTC) + timedelta(seconds=rng.randint(7 * 3600, 22 * 3600))
            customer_id = f"customer-{rng.randint(1, customers):04d}"
            intent = _pick(rng, INTENTS)
            recent = [i for at, i in history.get(customer_id, []) if timedelta(0) <= started - at <= timedelta(days=6)]
            if recent and rng.random() < 0.5:  # came back about the same thing
                intent = recent[-1]
            channel = _pick(rng, CHANNELS)
            turns = rng.randint(1, 7)
            roll = rng.random()
            resolved_share = 0.55 + 0.15 * progress
            resolution: Resolution = (
                "resolved" if roll < resolved_share else "handed_off" if roll < resolved_share + 0.22 else "unresolved"
            )
            at = started
            first_response_ms = 0
            intents = []
            for turn in range(1, turns + 1):
                latency = _lognormal_ms(rng, 900 if channel == "web" else 2500, 0.6)
                at += timedelta(seconds=rng.randint(10, 90)) if turn > 1 else timedelta(0)
                if turn == 1:
                    first_response_ms = latency
                turn_intent = intent if turn == 1 or rng.random() < 0.5 else rng.choice(("unknown", "thanks", intent))
                intents.append(turn_intent)
                claude = rng.random() < 0.5
                engine = ("deterministic-fallback" if rng.random() < 0.03 else "claude") if claude else "deterministic"
                events.append(
                    TurnCompleted(
                        occurred_at=at + timedelta(milliseconds=latency),
                        conversation_id=conversation_id,
                        customer_id=customer_id,
                        turn=turn,
                        channel=channel,
                        intent=turn_intent,
                        sentiment=round(rng.uniform(-0.6, 0.8), 3),
                        engine=engine,
                        handoff=resolution == "handed_off" and turn == turns,
                        latency_ms=latency,
                        cost_usd=round(rng.uniform(0.002, 0.02), 5) if engine == "claude" else 0.0,
                    )
                )
            closed_at = at + timedelta(seconds=rng.randint(30, 3600 if channel != "web" else 600))
            sentiments = [
                round(max(-1.0, min(1.0, rng.gauss(0.1 if resolution == "resolved" else -0.2, 0.35))), 3)
                for _ in range(turns)
            ]
            closed = ConversationClosed(
                occurred_at=closed_at,
                conversation_id=conversation_id,
                customer_id=customer_id,
                channel=channel,
                started_at=started,
                turns=turns,
                resolution=resolution,
                intents=intents,
                sentiments=sentiments,
                actions_executed=[GOAL_FLOWS[intent]] if intent in GOAL_FLOWS and resolution == "resolved" else [],
                actions_failed=1 if rng.random() < 0.05 else 0,
                handoff_reason="customer asked for a human" if resolution == "handed_off" else None,
                repeated_messages=rng.choice((0, 0, 0, 1, 2)),
                thanked=resolution == "resolved" and rng.random() < 0.6,
                complained=rng.random() < 0.08,
                first_response_ms=first_response_ms,
            )
            events.append(closed)
            history.setdefault(customer_id, []).append((closed_at, intent))
            auto = score_conversation(closed)
            if auto_csat:
                events.append(
                    AutoCsatScored(
                        occurred_at=closed_at + timedelta(seconds=2),
                        conversation_id=conversation_id,
                        customer_id=customer_id,
                        channel=channel,
                        score=auto.score,
                        scorer=auto.scorer_version,
                        reasons=[r.detail for r in auto.reasons],
                    )
                )
            events.extend(_surveys(rng, closed, auto.score, horizon))
            if rng.random() < 0.05:
                redeemed_at = closed_at + timedelta(hours=rng.randint(2, 240))
                if redeemed_at < horizon:
                    percent = rng.choice((10, 15))
                    events.append(
                        DiscountRedeemed(
                            occurred_at=redeemed_at,
                            code=f"NW-{rng.getrandbits(32):08X}",
                            conversation_id=conversation_id,
                            customer_id=customer_id,
                            order_id=f"NW{rng.randint(20000, 99999)}",
                            order_total=Decimal(rng.randint(3000, 25000)) / 100,
                            currency="USD",
                            percent=percent,
                        )
                    )
    events.sort(key=lambda event: event.occurred_at)
    return events


def _surveys(rng: random.Random, closed: ConversationClosed, auto: int, horizon: datetime) -> list[SurveyAnswered]:
    answers = []
    common = {"conversation_id": closed.conversation_id, "customer_id": closed.customer_id, "channel": closed.channel}
    vias: dict[str, Literal["chat", "email", "whatsapp"]] = {"web": "chat", "email": "email", "whatsapp": "whatsapp"}
    via = vias[closed.channel]
    at = closed.occurred_at + timedelta(minutes=rng.randint(1, 600))
    if rng.random() < (0.35 if closed.resolution == "resolved" else 0.2):
        score = max(1, min(5, auto + rng.choice((-1, 0, 0, 0, 1))))
        answers.append(SurveyAnswered(occurred_at=at, survey="csat", score=score, answered_via=via, **common))
        if rng.random() < 0.08:  # the customer changed their mind: the later answer replaces the first
            changed = rng.choice([s for s in range(1, 6) if s != score])
            answers.append(
                SurveyAnswered(
                    occurred_at=at + timedelta(hours=rng.randint(1, 30)),
                    survey="csat",
                    score=changed,
                    answered_via=via,
                    **common,
                )
            )
    if rng.random() < 0.12:
        score = (
            rng.choices((10, 9, 8, 7, 6, 4), weights=(30, 25, 15, 10, 10, 10))
            if closed.resolution == "resolved"
            else rng.choices((9, 8, 7, 6, 5, 3, 1), weights=(10, 10, 15, 20, 15, 15, 15))
        )[0]
        answers.append(
            SurveyAnswered(
                occurred_at=at + timedelta(seconds=30), survey="nps", score=score, answered_via=via, **common
            )
        )
    if closed.actions_executed and rng.random() < 0.4:
        answers.append(
            SurveyAnswered(
                occurred_at=at + timedelta(seconds=60),
                survey="ces",
                score=rng.choice((3, 4, 5, 6, 6, 7, 7)),
                answered_via=via,
                **common,
            )
        )
    return [answer for answer in answers if answer.occurred_at < horizon]


def envelope(event: DomainEvent, event_id: str) -> dict[str, Any]:
    """The EventBridge event as SQS delivers it to the roll-up."""
    return {
        "version": "0",
        "id": event_id,
        "detail-type": event.detail_type,
        "source": EVENT_SOURCE,
        "time": event.occurred_at.isoformat(),
        "detail": json.loads(event.model_dump_json()),
    }


def roll_up_directly(
    events: list[DomainEvent], rollup: Rollup, id_prefix: str, progress: Callable[[int], object] | None = None
) -> int:
    """Apply simulated events to the roll-up in-process, with stable ids (loading the same month twice counts it
    once). A survey that comes before its conversation's close is applied after it, as the queue's retry would."""
    waiting: list[tuple[int, DomainEvent]] = []
    for number, event in enumerate(events):
        try:
            rollup.apply(envelope(event, f"{id_prefix}-{number}"))
        except NotYetAttributed:
            waiting.append((number, event))
        if progress:
            progress(number + 1)
    for number, event in waiting:
        rollup.apply(envelope(event, f"{id_prefix}-{number}"))
    return len(events)
