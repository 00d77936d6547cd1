"""The journey workflow's state between its steps (journeys/runner.py decides them): light models only, so that the
functions' task payloads (conversation/tasks.py) can carry them without loading the runner."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from concierge.journeys.definitions import JourneyId


class _Decided(BaseModel):
    """What a step of a journey decided for one customer and signal: whether it goes on, and why."""

    model_config = ConfigDict(extra="forbid")

    journey: JourneyId
    customer_id: str
    signal: dict[str, Any]
    go: bool
    reason: str


class Plan(_Decided):
    """What `enter` decided: the execution's state through the Wait state (`send_at` is its TimestampPath)."""

    send_at: datetime | None = None


class Outreach(_Decided):
    """What `check` decided when the wait ended: to whom, on which channel, in which conversation."""

    channel: Literal["email", "whatsapp"] | None = None
    address: str | None = None
    conversation_id: str | None = None
    context: dict[str, Any] = Field(
        default_factory=dict,
        description="what the message says that was read when the wait ended: a cart's items and the offer decided "
        "for it, a trial's plan and price, the onboarding step left (journeys/runner.py `message_context`)",
    )
    checked_at: datetime | None = Field(None, description="when the check decided (and any offer was decided)")
