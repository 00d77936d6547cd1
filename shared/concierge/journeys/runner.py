"""A journey's run, step by step, as the journey workflow (workflows/journey.asl.json) takes it:

1. `start`: a signal off the bus starts one execution per journey it triggers, named from the journey, the customer
   and the signal's id, so the same signal delivered or sent twice starts one run (the actions function, from the
   `signals-to-journeys` queue). Signals a journey reads later (a charge, an order's new status) are remembered.
2. `enter`: decide whether the journey applies (turned on, its conditions hold, a repeat was seen, no opt-out) and
   when its message may go: the wait after the signal, moved out of the quiet hours in the customer's time zone.
3. the workflow's Wait state waits until then (no polling: Step Functions keeps the time).
4. `check`: decide again with what is true now: still on, still consented, the parcel still late or the charge not
   refunded, a verified address to write to, and a free slot in the customer's cap (taken here).
5. outreach.py (the ingest function, the channel edge) opens the conversation and sends the message.

Every decision names its reason, so a run that sends nothing says why.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo

from concierge.churn.activity import ACTIVITY_KINDS, ActivityStore
from concierge.conversation.api import Channel
from concierge.journeys.definitions import (
    SHIPPED,
    JourneyDefinition,
    JourneyId,
    QuietHours,
    Repeat,
    definitions,
    triggered_by,
)
from concierge.journeys.plans import Outreach, Plan
from concierge.journeys.signals import SignalRequest
from concierge.journeys.store import JourneyStore
from concierge.store.commerce import contacts
from concierge.store.models import OrderStatus

if TYPE_CHECKING:
    from concierge.memory.store import MemoryStore
    from concierge.platform.events import Signal
    from concierge.store.commerce import CommerceBackend
    from concierge.store.merchant import MerchantProfile

# Signals a recheck reads when a wait ends (an order's new status: delivered, refunded): remembered as they come.
READ_LATER = frozenset({"order.updated"})
DELIVERED = frozenset({"delivered"})
REFUNDED = frozenset({"refunded", "cancelled"})


@dataclass
class JourneyServices:
    memory: MemoryStore
    store: CommerceBackend
    merchant: Callable[[], MerchantProfile]


def parse(signal: dict[str, Any]) -> Signal:
    return SignalRequest.model_validate(signal).root


def run_name(journey_id: str, customer_id: str, signal_id: str) -> str:
    """The execution's name: one run per journey and signal (Step Functions refuses a second of the same name)."""
    digest = hashlib.sha256(f"{customer_id}\n{signal_id}".encode()).hexdigest()[:40]
    return f"{journey_id}-{digest}"


def conversation_id_for(journey_id: str, customer_id: str, signal_id: str) -> str:
    """The conversation a run opens: the same for a retried step, so a retry never opens a second one."""
    return "j-" + run_name(journey_id, customer_id, signal_id).split("-", 1)[1][:24]


def _definition(journey_id: JourneyId, merchant: MerchantProfile) -> JourneyDefinition:
    return next(d for d in definitions(merchant.journeys) if d.id == journey_id)


# 1. start ----------------------------------------------------------------------------------------------------------
def start(signal: Signal, memory: MemoryStore, merchant: MerchantProfile) -> list[tuple[str, dict[str, Any]]]:
    """Remember the signal if a journey reads it later, count it if it is activity (a sign-in, a feature used: the
    churn model's features), and the (execution name, input) of each run it starts."""
    repeats = {d.trigger.signal for d in SHIPPED.values() if d.trigger.repeat is not None}
    if signal.detail_type in READ_LATER | repeats:
        JourneyStore(memory).remember(signal)
    if signal.detail_type in ACTIVITY_KINDS:
        ActivityStore(memory).record(signal)
    detail = signal.model_dump(mode="json")
    return [
        (run_name(d.id, signal.customer_id, signal.signal_id), {"journey": d.id, "signal": detail})
        for d in triggered_by(signal.detail_type, merchant.journeys)
        if d.enabled
    ]


# 2. enter ----------------------------------------------------------------------------------------------------------
def enter(journey_id: JourneyId, signal: Signal, services: JourneyServices, at: datetime) -> Plan:
    merchant = services.merchant()
    definition = _definition(journey_id, merchant)
    plan = Plan(
        journey=journey_id, customer_id=signal.customer_id, signal=signal.model_dump(mode="json"), go=False, reason=""
    )
    detail = plan.signal
    refusal = None
    if not definition.enabled:
        refusal = "journey_off"
    elif definition.trigger.signal != signal.detail_type:
        refusal = "not_its_signal"
    elif not all(condition.holds(detail) for condition in definition.trigger.conditions):
        refusal = "conditions_unmet"
    elif definition.trigger.repeat is not None and not repeated(
        detail, _earlier(services, signal, definition.trigger.repeat), definition.trigger.repeat
    ):
        refusal = "no_repeat"
    elif not consented(definition, services.memory, signal.customer_id):
        refusal = "opted_out"
    if refusal is not None:
        return plan.model_copy(update={"reason": refusal})
    earliest = max(signal.occurred_at + timedelta(minutes=definition.wait_minutes), at)
    zone = customer_zone(services.store, signal.customer_id, merchant)
    return plan.model_copy(
        update={"go": True, "reason": "scheduled", "send_at": send_time(earliest, zone, definition.quiet_hours)}
    )


def _earlier(services: JourneyServices, signal: Signal, repeat: Repeat) -> list[dict[str, Any]]:
    since = signal.occurred_at - timedelta(minutes=repeat.within_minutes)
    return JourneyStore(services.memory).recent(signal.customer_id, signal.detail_type, since)


def repeated(signal: dict[str, Any], earlier: list[dict[str, Any]], repeat: Repeat) -> bool:
    """Whether an earlier signal had the same values of `repeat.same`, another `repeat.distinct`, and occurred at most
    `within_minutes` before this one (not after it: the later of two charges is the one that is told)."""
    at = datetime.fromisoformat(str(signal["occurred_at"]))
    window = timedelta(minutes=repeat.within_minutes)
    for other in earlier:
        when = datetime.fromisoformat(str(other["occurred_at"]))
        if other.get(repeat.distinct) == signal.get(repeat.distinct) or not timedelta(0) <= at - when <= window:
            continue
        if all(_same(other.get(name), signal.get(name)) for name in repeat.same):
            return True
    return False


def _same(first: Any, second: Any) -> bool:
    if first is None or second is None:
        return False
    try:  # amounts compare as numbers: "42.5" and "42.50" are one amount
        from decimal import Decimal, InvalidOperation

        return Decimal(str(first)) == Decimal(str(second))
    except InvalidOperation:
        return str(first) == str(second)


def consented(definition: JourneyDefinition, memory: MemoryStore, customer_id: str) -> bool:
    profile = memory.get_profile(customer_id)
    said = profile.journeys if profile else None
    return said is True if definition.consent == "opted_in" else said is not False


# quiet hours ---------------------------------------------------------------------------------------------------------
def customer_zone(store: CommerceBackend, customer_id: str, merchant: MerchantProfile) -> ZoneInfo:
    """The customer's own time zone (customers.json), else the shop's for journeys, else its support hours', else UTC.
    A locale ("en-US") names no time zone, so it is not used."""
    customer = store.get_customer(customer_id)
    support = merchant.support_hours.timezone if merchant.support_hours else None
    name = (customer.time_zone if customer else None) or merchant.journeys.time_zone or support or "UTC"
    return ZoneInfo(name)


def _local(day: date, hours_minutes: tuple[int, int], zone: ZoneInfo) -> datetime:
    """That wall-clock time on that day in `zone`, as a UTC instant. In a spring-forward gap (02:30 that never
    happens) it is the instant the clocks show a time past the gap; in the autumn's repeated hour, the first one."""
    local = datetime(day.year, day.month, day.day, *hours_minutes, tzinfo=zone)
    return local.astimezone(UTC)


def send_time(earliest: datetime, zone: ZoneInfo, quiet: QuietHours | None) -> datetime:
    """`earliest`, or the end of the quiet hours it falls in (in the customer's local time), in UTC."""
    if quiet is None or quiet.starts == quiet.ends:
        return earliest
    local = earliest.astimezone(zone)
    now_local = local.time().replace(tzinfo=None)
    start, end = quiet.starts, quiet.ends
    today = local.date()
    if start < end:  # quiet within one day (e.g. 12:00-14:00)
        if start <= now_local < end:
            return _local(today, (end.hour, end.minute), zone)
        return earliest
    if now_local >= start:  # the evening part of a quiet night: until tomorrow morning
        return _local(today + timedelta(days=1), (end.hour, end.minute), zone)
    if now_local < end:  # the morning part
        return _local(today, (end.hour, end.minute), zone)
    return earliest


# 4. check ----------------------------------------------------------------------------------------------------------
def check(plan: Plan, services: JourneyServices, at: datetime) -> Outreach:
    merchant = services.merchant()
    definition = _definition(plan.journey, merchant)
    signal = parse(plan.signal)
    outreach = Outreach(
        journey=plan.journey, customer_id=plan.customer_id, signal=plan.signal, go=False, reason="not_planned"
    )
    if not plan.go:
        return outreach.model_copy(update={"reason": plan.reason})
    if not definition.enabled:
        return outreach.model_copy(update={"reason": "journey_off"})
    if not consented(definition, services.memory, plan.customer_id):
        return outreach.model_copy(update={"reason": "opted_out"})
    for recheck in definition.rechecks:
        changed = _changed(recheck, signal, services)
        if changed is not None:
            return outreach.model_copy(update={"reason": changed})
    found = verified_address(definition, services, plan.customer_id)
    if found is None:
        return outreach.model_copy(update={"reason": "no_verified_address"})
    if not JourneyStore(services.memory).take_slot(plan.customer_id, plan.journey, definition.cap, at):
        return outreach.model_copy(update={"reason": "capped"})
    channel, address = found
    return outreach.model_copy(
        update={
            "go": True,
            "reason": "send",
            "channel": channel,
            "address": address,
            "conversation_id": conversation_id_for(plan.journey, plan.customer_id, signal.signal_id),
        }
    )


def _changed(recheck: str, signal: Signal, services: JourneyServices) -> str | None:
    """Why the journey no longer applies (a reason code), or None when it still does."""
    detail = signal.model_dump(mode="json")
    order_id = detail.get("order_id")
    later = JourneyStore(services.memory).recent(signal.customer_id, "order.updated", signal.occurred_at)
    statuses = {u["status"] for u in later if u.get("order_id") == order_id}
    if recheck == "parcel_still_late":
        order = services.store.get_order(str(order_id)) if order_id else None
        if order is None or order.customer_id != signal.customer_id:
            return "order_not_found"
        delivered = order.status is OrderStatus.DELIVERED or (order.shipment and order.shipment.delivered_at)
        if delivered or statuses & DELIVERED:
            return "parcel_delivered"
        if order.status is OrderStatus.CANCELLED or statuses & REFUNDED:
            return "order_cancelled"
        return None
    if recheck == "charge_not_refunded" and order_id and statuses & REFUNDED:
        return "charge_refunded"
    return None


def verified_address(
    definition: JourneyDefinition, services: JourneyServices, customer_id: str
) -> tuple[Literal["email", "whatsapp"], str] | None:
    """The first of the journey's channels with an address on file that the customer proved is theirs (a linked
    identity: they wrote from it and the channel verified them, memory/identity.py). Nothing goes to an address that
    is only on file."""
    customer = services.store.get_customer(customer_id)
    if customer is None:
        return None
    on_file = dict(contacts(customer))  # normalized as identities are kept: lower-case email, phone as digits
    for channel in definition.channels:
        address = on_file.get(channel)
        if not address:
            continue
        identity = services.memory.get_identity(Channel(channel), address)
        if identity is not None and identity.customer_id == customer_id:
            return channel, address
    return None
