"""A seeded population through a shop's journeys, with a known effect: the journeys' view of the local dashboard
(`concierge dev` seeds it beside the demo month and the offers') and its browser test.

Each journey in force reaches `customers` synthetic customers over the last `days` days, split by the real holdout
assignment (`runner.journey_group`). Their entries, messages and holdout go through `JourneyStore`, their replies and
orders through the roll-up, as deployed, so the report reads what production would have written: a share of the
treatment group is stopped by a recheck (a cart bought first), messaged customers reply at `reply_rate`, and
customers convert within the attribution window at `treated_rate` (treatment) or `holdout_rate` (holdout) — by an
order for a journey that converts on one, by the onboarding step for the onboarding nudge. Customer ids are
`sim-journey-…`; nobody real is named.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from concierge.journeys import ledger
from concierge.journeys.store import JourneyStore
from concierge.metrics.simulate import envelope
from concierge.metrics.store import MetricsStore
from concierge.offers.holdout import Group, assign
from concierge.platform.events import OrderPlaced

if TYPE_CHECKING:
    from concierge.journeys.definitions import JourneyDefinition
    from concierge.memory.store import MemoryStore
    from concierge.metrics.rollup import Rollup


def simulate_journeys(
    memory: MemoryStore,
    rollup: Rollup,
    journeys: Sequence[JourneyDefinition],
    *,
    salt: str,
    currency: str,
    seed: int = 7,
    now: datetime | None = None,
    days: int = 30,
    customers: int = 500,
    stopped_share: float = 0.1,
    reply_rate: float = 0.12,
    treated_rate: float = 0.16,
    holdout_rate: float = 0.10,
    progress: Callable[[int], object] | None = None,
) -> int:
    """Write the population; returns how many customers entered a journey."""
    rng = random.Random(seed)
    now = now or datetime.now(UTC)
    store, metrics = JourneyStore(memory), MetricsStore(memory)
    written = 0
    for definition in journeys:
        for number in range(customers):
            customer_id = f"sim-journey-{seed}-{definition.id[:12]}-{number:05d}"
            at = now - timedelta(days=rng.uniform(1, days), minutes=number % 60)
            group = (
                assign(salt, f"journey:{definition.id}", customer_id, definition.holdout_share)
                if definition.holdout_share > 0
                else Group.TREATMENT
            )
            store.record_entered(customer_id, definition.id, group.value, at)
            written += 1
            if progress:
                progress(written)
            run = f"sim-{rng.getrandbits(48):012x}"
            if group is Group.HOLDOUT:
                store.record_run(customer_id, definition.id, "held_out", run)
            elif rng.random() >= stopped_share:
                store.record_run(customer_id, definition.id, "messaged", run)
                if rng.random() < reply_rate:
                    answered = at + timedelta(hours=rng.uniform(0.2, 30))
                    if answered <= now:
                        update = ledger.replied_update(definition.id, customer_id, answered)
                        metrics.commit(f"sim-journey-{seed}-{run}-reply", answered, {}, [update])
            if definition.converts_on is None:
                continue
            if rng.random() >= (treated_rate if group is Group.TREATMENT else holdout_rate):
                continue
            converted = at + timedelta(days=rng.uniform(0.1, ledger.ATTRIBUTION_DAYS - 1))
            if converted > now:
                continue
            if definition.converts_on == "feature":
                store.record_converted(customer_id, definition.id, converted)
                continue
            total = Decimal(str(round(40 * math.exp(rng.gauss(0, 0.5)), 2)))
            order_id = f"sim-jorder-{rng.getrandbits(40):010x}"
            order = OrderPlaced(
                occurred_at=converted, customer_id=customer_id, order_id=order_id, order_total=total, currency=currency
            )
            rollup.apply(envelope(order, f"sim-journey-{seed}-{order_id}"))
    return written
