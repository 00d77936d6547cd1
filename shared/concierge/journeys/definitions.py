"""Journeys, declared: what starts one (a signal and conditions on it), how long it waits (and the quiet hours it
respects, in the customer's time zone), what is checked again when the wait ends, how often a customer may get it
(caps), the consent it needs, and the action it takes. The shipped journeys are `SHIPPED`; a merchant turns one off
or changes its wait, caps, quiet hours or wording in merchant.json (`JourneySettings`), and `definitions` gives the
journeys in force.

Nothing here reads data: the runner (runner.py) applies a definition to a signal, the store and the customer's memory.
"""

from __future__ import annotations

from datetime import time
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

JourneyId = Literal["delayed_shipment", "double_charge"]
# What a definition can have checked again when its wait ends, each a function of runner.py (it reads the store and
# the customer's memory): the parcel is still not delivered; the charge was not refunded or found fine meanwhile.
Recheck = Literal["parcel_still_late", "charge_not_refunded"]
# What the journey proposes in the message it sends; the customer still confirms it in their answer.
ActionKind = Literal["propose_reship_or_refund", "propose_charge_refund"]
Channel = Literal["email", "whatsapp"]
# Email first: WhatsApp delivers a business's first message only inside the 24 hours after the customer last wrote
# (Meta's customer-service window; outside it a pre-approved template is needed, which journeys do not send yet).
DEFAULT_CHANNELS: tuple[Channel, ...] = ("email", "whatsapp")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _clock(value: str) -> time:
    hours, _, minutes = value.partition(":")
    return time(int(hours), int(minutes))


class QuietHours(_Model):
    """No message starts between `start` and `end`, in the customer's local time (`end` may be the next morning): a
    message due then waits until `end`."""

    start: str = Field("21:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="local time, HH:MM")
    end: str = Field("08:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="local time, HH:MM")

    @property
    def starts(self) -> time:
        return _clock(self.start)

    @property
    def ends(self) -> time:
        return _clock(self.end)


class Cap(_Model):
    """At most `messages` of this journey to one customer in any `days` days."""

    messages: int = Field(1, ge=1, le=50)
    days: int = Field(7, ge=1, le=365)


class Condition(_Model):
    """A test of one field of the signal, e.g. {"field": "reason", "op": "not_in", "value": ["customer_request"]}."""

    field: str = Field(pattern=r"^[a-z_]{1,40}$")
    op: Literal["equals", "not_equals", "in", "not_in", "at_least", "at_most", "present"]
    value: str | int | Decimal | bool | list[str] | None = None

    def holds(self, signal: dict[str, Any]) -> bool:
        actual = signal.get(self.field)
        match self.op:
            case "present":
                return actual is not None
            case "equals":
                return actual is not None and str(actual) == str(self.value)
            case "not_equals":
                return actual is None or str(actual) != str(self.value)
            case "in":
                return isinstance(self.value, list) and actual is not None and str(actual) in self.value
            case "not_in":
                return not (isinstance(self.value, list) and actual is not None and str(actual) in self.value)
            case "at_least" | "at_most":
                if actual is None or self.value is None or isinstance(self.value, list | bool):
                    return False
                difference = Decimal(str(actual)) - Decimal(str(self.value))
                return difference >= 0 if self.op == "at_least" else difference <= 0


class Repeat(_Model):
    """The signal counts only when an earlier one of the same kind, for the same customer, had the same values of
    `same` (and a different `distinct`) within `within_minutes`: a charge of the same amount by the same merchant a
    few minutes after another is a possible double charge."""

    same: list[str] = Field(min_length=1, description="fields whose values must be equal")
    distinct: str = Field(description="the field that tells two signals apart, e.g. charge_id")
    within_minutes: int = Field(ge=1, le=7 * 24 * 60)


class Trigger(_Model):
    signal: str = Field(description="the signal's kind (its detail-type), e.g. shipment.delayed")
    conditions: list[Condition] = Field(default_factory=list)
    repeat: Repeat | None = None


class JourneyDefinition(_Model):
    id: JourneyId
    enabled: bool = True
    trigger: Trigger
    wait_minutes: int = Field(ge=0, le=30 * 24 * 60, description="from the signal to the message, at least")
    quiet_hours: QuietHours | None = Field(default_factory=QuietHours)
    rechecks: list[Recheck] = Field(default_factory=list, description="checked again when the wait ends")
    cap: Cap = Field(default_factory=Cap)
    consent: Literal["unless_opted_out", "opted_in"] = Field(
        "unless_opted_out",
        description="unless_opted_out: a service message (about the customer's own order or payment), sent unless "
        "they opted out of journeys; opted_in: only to a customer who said yes to them",
    )
    action: ActionKind
    channels: list[Channel] = Field(
        default_factory=lambda: list(DEFAULT_CHANNELS), min_length=1, description="in order of preference"
    )
    subject: str | None = Field(None, max_length=120, description="the email's subject; None: a neutral one")
    message: str | None = Field(
        None,
        max_length=600,
        description="the message's opening, with {order_id}, {amount} or {merchant} where wanted; None: a neutral one",
    )


class JourneyChange(_Model):
    """What a merchant may change of a shipped journey in merchant.json; a field left out keeps the shipped value."""

    enabled: bool | None = None
    wait_minutes: int | None = Field(None, ge=0, le=30 * 24 * 60)
    quiet_hours: QuietHours | None = None
    cap: Cap | None = None
    within_minutes: int | None = Field(None, ge=1, le=7 * 24 * 60, description="double charge: the interval")
    channels: list[Channel] | None = Field(None, min_length=1)
    subject: str | None = Field(None, max_length=120)
    message: str | None = Field(None, max_length=600)


def _zone(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"{value!r} is not an IANA time zone (e.g. Europe/Paris)") from exc
    if value not in available_timezones() | {"UTC"}:
        raise ValueError(f"{value!r} is not an IANA time zone (e.g. Europe/Paris)")
    return value


class JourneySettings(_Model):
    """merchant.json's `journeys`: the time zone of customers who have none on file, and each journey's changes."""

    time_zone: str | None = Field(
        None,
        description="IANA time zone for quiet hours of customers with none on file (customers.json time_zone). "
        "Absent: the support hours' time zone, else UTC.",
    )
    changes: dict[JourneyId, JourneyChange] = Field(
        default_factory=dict, description="by journey id: enabled, wait_minutes, quiet_hours, cap, wording…"
    )

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        return _zone(value)

    @model_validator(mode="after")
    def _intervals(self) -> JourneySettings:
        for journey_id, change in self.changes.items():
            if change.within_minutes is not None and SHIPPED[journey_id].trigger.repeat is None:
                raise ValueError(f"changes.{journey_id}.within_minutes: that journey has no interval")
        return self


SHIPPED: dict[JourneyId, JourneyDefinition] = {
    "delayed_shipment": JourneyDefinition(
        id="delayed_shipment",
        trigger=Trigger(signal="shipment.delayed"),
        wait_minutes=60,  # a carrier's delay notice is often corrected within the hour
        rechecks=["parcel_still_late"],
        cap=Cap(messages=1, days=7),
        action="propose_reship_or_refund",
    ),
    "double_charge": JourneyDefinition(
        id="double_charge",
        trigger=Trigger(
            signal="charge.posted",
            repeat=Repeat(same=["amount", "currency", "merchant_ref"], distinct="charge_id", within_minutes=10),
        ),
        wait_minutes=30,  # a card authorisation posted twice is often voided by the bank within minutes
        rechecks=["charge_not_refunded"],
        cap=Cap(messages=1, days=1),
        action="propose_charge_refund",
    ),
}


def definitions(settings: JourneySettings | None = None) -> list[JourneyDefinition]:
    """The journeys in force: the shipped ones with the merchant's changes (turned-off ones included, `enabled`)."""
    changes = settings.changes if settings else {}
    result = []
    for journey_id, shipped in SHIPPED.items():
        change = changes.get(journey_id)
        if change is None:
            result.append(shipped)
            continue
        update = change.model_dump(exclude_none=True, exclude={"within_minutes"})
        if change.within_minutes is not None and shipped.trigger.repeat is not None:
            repeat = shipped.trigger.repeat.model_copy(update={"within_minutes": change.within_minutes})
            update["trigger"] = shipped.trigger.model_copy(update={"repeat": repeat})
        result.append(JourneyDefinition.model_validate({**shipped.model_dump(), **update}))
    return result


def triggered_by(signal_kind: str, settings: JourneySettings | None = None) -> list[JourneyDefinition]:
    return [d for d in definitions(settings) if d.trigger.signal == signal_kind]
