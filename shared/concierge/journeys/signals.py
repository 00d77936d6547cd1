"""Signals in: the storefront's backend reports what happened to one of its signed-in customers (POST /v1/signals,
with the customer's token and the API key), and the signal is published on the bus, where the journeys it starts
pick it up (topology rule `signals-to-journeys`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, RootModel

from concierge.platform.events import (
    CartUpdated,
    ChargePosted,
    CustomerSignedIn,
    EventPublisher,
    FeatureUsed,
    OrderUpdated,
    ShipmentDelayed,
    Signal,
    SubscriptionChanged,
    TrialUpdated,
)

AnySignal = Annotated[
    OrderUpdated
    | ShipmentDelayed
    | ChargePosted
    | TrialUpdated
    | CustomerSignedIn
    | FeatureUsed
    | CartUpdated
    | SubscriptionChanged,
    Field(discriminator="kind"),
]


class SignalRequest(RootModel[AnySignal]):
    """One signal; `kind` says which (its detail-type on the bus), and its fields are that signal's."""


class SignalAccepted(BaseModel):
    signal_id: str
    kind: str
    accepted_at: datetime


def accept(signal: Signal, events: EventPublisher, at: datetime) -> SignalAccepted:
    """Publish the signal as it came (the caller checked that the token names its customer)."""
    events.publish(signal)
    return SignalAccepted(signal_id=signal.signal_id, kind=signal.detail_type, accepted_at=at)
