"""A customer's subscriptions as the storefront's signals describe them: which plans they have now (paid, on trial or
paused) and which they have had a trial of. The offers read it so that a free trial is never offered to someone who
has the plan or has tried it (offers/guardrails.py, `_plan`).

The storefront reports `subscription.changed` and `trial.updated` (POST /v1/signals, docs/journeys.md); the actions
function takes them off the `signals-to-journeys` queue and keeps one item per customer and subscription, in the
customer's partition (erasure deletes it with the partition):

    pk=CUST#<customer id>  sk=PLAN#<subscription id>   plan, state, at (the signal's time), trials (plan codes)

A signal older than the one the item holds does not change its plan or state (signals may arrive out of order); a
trial is remembered whenever its signal comes. Codes and states only, never text.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from concierge.memory import keys
from concierge.memory.storage import ConditionFailed
from concierge.platform.events import SubscriptionChanged, TrialUpdated

if TYPE_CHECKING:
    from concierge.memory.store import MemoryStore
    from concierge.platform.events import Signal

SUBSCRIPTION_KINDS = frozenset({SubscriptionChanged.detail_type, TrialUpdated.detail_type})
State = Literal["active", "trial", "paused", "cancelled"]
# What each change leaves the subscription in.
STATES: dict[str, State] = {
    "started": "active",
    "upgraded": "active",
    "downgraded": "active",
    "resumed": "active",
    "renewed": "active",
    "paused": "paused",
    "cancelled": "cancelled",
}


class Subscription(BaseModel):
    model_config = ConfigDict(frozen=True)

    subscription_id: str
    plan: str
    state: State
    at: datetime = Field(description="when the signal that set the state happened")
    trials: frozenset[str] = Field(default_factory=frozenset, description="the plans it was on trial of")


class CustomerPlans(BaseModel):
    """What the offers need to know: the plans held now and the plans tried."""

    model_config = ConfigDict(frozen=True)

    held: frozenset[str] = frozenset()
    trials_had: frozenset[str] = frozenset()


class SubscriptionStore:
    """The repository of subscriptions: it alone reads and writes them, through the memory table's access layer."""

    def __init__(self, memory: MemoryStore) -> None:
        self._db = memory.storage

    def record(self, signal: Signal) -> bool:
        """Keep what a subscription or trial signal says; False when it is neither, or older than what is kept."""
        if isinstance(signal, TrialUpdated):
            plan, state = signal.plan, "trial"
        elif isinstance(signal, SubscriptionChanged):
            plan, state = signal.plan, STATES[signal.change]
        else:
            return False
        key = {"pk": keys.customer_pk(signal.customer_id), "sk": keys.subscription_sk(signal.subscription_id)}
        at = signal.occurred_at if signal.occurred_at.tzinfo else signal.occurred_at.replace(tzinfo=UTC)
        if isinstance(signal, TrialUpdated):  # remembered even when the signal comes late
            self._db.update(key, "ADD trials :plan", values={":plan": {plan}})
        try:
            self._db.update(
                key,
                "SET #plan = :plan, #state = :state, #at = :at, expires_at = :expires",
                condition="attribute_not_exists(#at) OR #at <= :at",
                names={"#plan": "plan", "#state": "state", "#at": "at"},
                values={
                    ":plan": plan,
                    ":state": state,
                    ":at": at.astimezone(UTC).isoformat(),
                    ":expires": self._db.expiry(),
                },
            )
        except ConditionFailed:
            return False
        return True

    def subscriptions(self, customer_id: str) -> list[Subscription]:
        items = self._db.query(keys.customer_pk(customer_id), keys.PLAN)
        return [
            Subscription(
                subscription_id=item["sk"].removeprefix(keys.PLAN),
                plan=item["plan"],
                state=item["state"],
                at=datetime.fromisoformat(item["at"]),
                trials=frozenset(item.get("trials") or ()),
            )
            for item in items
            if "plan" in item
        ]

    def plans(self, customer_id: str) -> CustomerPlans:
        """The plans the customer has now (paid, on trial or paused) and those they have had a trial of."""
        kept = self.subscriptions(customer_id)
        return CustomerPlans(
            held=frozenset(s.plan for s in kept if s.state != "cancelled"),
            trials_had=frozenset(p for s in kept for p in s.trials),
        )
