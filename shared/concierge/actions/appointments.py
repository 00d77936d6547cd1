"""Appointment slots from the merchant's opening rules: what kinds exist, when, and how long each lasts. A slot
is free unless the store holds a booking for it; a booking is a conditional write, so a slot is booked once.

Slot ids carry the kind and the start (`fitting@2025-05-15T10:00Z`), so booking needs no lookup table."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta

from pydantic import BaseModel, ConfigDict, Field


class AppointmentKind(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    label: str
    minutes: int = Field(gt=0, le=480)
    hours: list[int] = Field(min_length=1, description="start hours (UTC) on an open day")
    weekdays: list[int] = Field(min_length=1, description="0 = Monday")
    days_ahead: int = Field(14, ge=1, le=90)
    min_notice_hours: int = Field(2, ge=0)


def kinds(raw: str | None) -> dict[str, AppointmentKind]:
    """The kinds in the deployed settings (JSON), for a stack whose merchant.json names none; none by default."""
    data = json.loads(raw) if raw else {}
    return {name: AppointmentKind.model_validate(value) for name, value in data.items()}


def slot_id(kind: str, start: datetime) -> str:
    return f"{kind}@{start.astimezone(UTC):%Y-%m-%dT%H:%M}Z"


def parse_slot_id(value: str) -> tuple[str, datetime] | None:
    kind, _, when = value.partition("@")
    try:
        return kind, datetime.strptime(when, "%Y-%m-%dT%H:%MZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def candidate_starts(kind: AppointmentKind, now: datetime) -> list[datetime]:
    earliest = now + timedelta(hours=kind.min_notice_hours)
    starts = []
    for offset in range(kind.days_ahead + 1):
        day = (now + timedelta(days=offset)).date()
        if day.weekday() not in kind.weekdays:
            continue
        starts += [datetime.combine(day, time(hour), tzinfo=UTC) for hour in sorted(kind.hours)]
    return [start for start in starts if start >= earliest]


def is_offered(kind: AppointmentKind, start: datetime, now: datetime) -> bool:
    return start in candidate_starts(kind, now)
