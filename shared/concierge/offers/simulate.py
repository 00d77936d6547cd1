"""A seeded population exposed to a shop's offers, with a known effect: the offers' view of the local dashboard
(`concierge dev` loads it beside the demo month) and its browser test.

Each configured offer reaches `customers` synthetic customers over the last `days` days, split by the real holdout
assignment. A share of the moments is refused (an upset customer, a person owning the conversation, no consent),
as the guardrails would. Treatment customers order within the attribution window with probability
`treated_rate`, holdout customers with `holdout_rate`; some treatment buyers redeem the offer's code. Decisions go
through `MemoryStore.put_offer_decisions` and orders through the roll-up, as deployed, so the report reads what
production would have written; a redemption adds only to the offer's unit (the roll-up would also count its revenue
in the KPIs under its conversation, which a simulated one lacks). Customer ids are `sim-offer-…`; nobody real is
named.
"""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TypeVar

from concierge.conversation.api import Channel
from concierge.memory.store import MemoryStore
from concierge.metrics.rollup import Rollup
from concierge.metrics.simulate import envelope
from concierge.metrics.store import MetricsStore
from concierge.offers import ledger
from concierge.offers.catalogue import Offer
from concierge.offers.guardrails import OfferDecision, Outcome, Reason
from concierge.offers.holdout import Group, assign
from concierge.platform.events import OrderPlaced

CHANNELS = ((Channel.WEB, 0.6), (Channel.EMAIL, 0.25), (Channel.WHATSAPP, 0.15))
LOCALES = (("en-US", 0.55), ("en-GB", 0.2), ("de-DE", 0.15), ("fr-FR", 0.1))
REFUSALS = (
    (Reason.CUSTOMER_UPSET, 0.5),
    (Reason.PERSON_OWNS_CONVERSATION, 0.2),
    (Reason.NO_PERSONALIZATION_CONSENT, 0.3),
)


T = TypeVar("T")


def _pick(rng: random.Random, weighted: Sequence[tuple[T, float]]) -> T:
    return rng.choices([v for v, _ in weighted], weights=[w for _, w in weighted])[0]


def simulate_offers(
    memory: MemoryStore,
    rollup: Rollup,
    offers: Sequence[Offer],
    *,
    salt: str,
    currency: str,
    seed: int = 7,
    now: datetime | None = None,
    days: int = 30,
    customers: int = 600,
    refused_share: float = 0.15,
    treated_rate: float = 0.30,
    holdout_rate: float = 0.18,
    progress: Callable[[int], object] | None = None,
) -> int:
    """Write the population; returns how many decisions were written."""
    rng = random.Random(seed)
    now = now or datetime.now(UTC)
    written = 0
    metrics = MetricsStore(memory)
    for offer in offers:
        if not offer.enabled:
            continue
        for number in range(customers):
            customer_id = f"sim-offer-{seed}-{number:05d}"
            at = now - timedelta(days=rng.uniform(1, days), minutes=number % 60)
            channel, locale = _pick(rng, CHANNELS), _pick(rng, LOCALES)
            group = assign(salt, offer.id, customer_id, offer.holdout_share)
            refused = rng.random() < refused_share
            outcome = Outcome.NO_OFFER if refused else (Outcome.OFFER if group is Group.TREATMENT else Outcome.HOLD_OUT)
            reason = (
                _pick(rng, REFUSALS)
                if refused
                else (Reason.ELIGIBLE if group is Group.TREATMENT else Reason.HOLDOUT_GROUP)
            )
            conversation_id = f"sim-offer-conv-{uuid.UUID(int=rng.getrandbits(128)).hex[:12]}"
            decision = OfferDecision(
                offer_id=offer.id,
                kind=offer.kind,
                moment=offer.trigger.moment,
                customer_id=customer_id,
                conversation_id=conversation_id,
                channel=channel,
                decided_at=at,
                outcome=outcome,
                reason=reason,
                detail="simulated",
                group=group,
                holdout_share=offer.holdout_share,
                value=offer.value,
                presented=True if outcome is Outcome.OFFER else None,
            )
            memory.put_offer_decisions([decision], locale=locale)
            written += 1
            if progress:
                progress(written)
            if refused or rng.random() >= (treated_rate if group is Group.TREATMENT else holdout_rate):
                continue
            placed = at + timedelta(days=rng.uniform(0.1, 10))
            if placed > now:
                continue
            total = Decimal(str(round(45 * math.exp(rng.gauss(0, 0.5)), 2)))
            order_id = f"sim-order-{rng.getrandbits(40):010x}"
            order = OrderPlaced(
                occurred_at=placed, customer_id=customer_id, order_id=order_id, order_total=total, currency=currency
            )
            rollup.apply(envelope(order, f"sim-offer-{seed}-{order_id}"))
            if group is Group.TREATMENT and rng.random() < 0.6:
                redeemed = ledger.redeemed_update(offer.id, customer_id, total, currency)
                metrics.commit(f"sim-offer-{seed}-{order_id}-redeemed", placed, {}, [redeemed])
    return written
