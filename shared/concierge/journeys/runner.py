"""A journey's run, step by step, as the journey workflow (workflows/journey.asl.json) takes it:

1. `start`: a signal off the bus starts one execution per journey it triggers, named from the journey, the customer
   and the signal's id, so the same signal delivered or sent twice starts one run (the actions function, from the
   `signals-to-journeys` queue). Signals a journey reads later (a charge, an order's new status) are remembered.
2. `enter`: decide whether the journey applies (turned on, its conditions hold, a repeat was seen, no opt-out) and
   when its message may go: the wait after the signal, moved out of the quiet hours in the customer's time zone.
3. the workflow's Wait state waits until then (no polling: Step Functions keeps the time).
4. `check`: decide again with what is true now: still on, still consented, the parcel still late or the charge not
   refunded (the cart not bought, the trial not cancelled, the step not done), a verified address to write to, and
   a free slot in the customer's cap (taken here); then what the message says that is read now (a cart's items by
   their catalogue titles, a trial's price, the first step left) and, for a cart or a promoter's answer, the next
   best action's offer (offers/nba.py: decided, recorded in the offers' ledger, its code issued), carried to the last
   step. A promoter's thank-you goes only with its offer presented (promoters.py).
5. outreach.py (the ingest function, the channel edge) opens the conversation and sends the message.

Every decision names its reason, so a run that sends nothing says why.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
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
    Trigger,
    definitions,
    reads,
    trigger_for,
    triggered_by,
    triggers,
)
from concierge.journeys.plans import Outreach, Plan
from concierge.journeys.signals import JourneySignalRequest, survey_answer
from concierge.journeys.store import REMEMBERED_DAYS, JourneyStore
from concierge.journeys.subscriptions import SUBSCRIPTION_KINDS, SubscriptionStore
from concierge.offers.holdout import Group, assign
from concierge.platform.events import CartUpdated, SurveyAnswered, TrialUpdated
from concierge.store.commerce import contacts
from concierge.store.models import OrderStatus

if TYPE_CHECKING:
    from concierge.memory.store import MemoryStore
    from concierge.offers.catalogue import Offer
    from concierge.platform.events import EventPublisher, Signal
    from concierge.platform.settings import OfferSettings
    from concierge.store.commerce import CommerceBackend
    from concierge.store.merchant import MerchantProfile
    from concierge.store.models import Customer

# Signals a recheck, a repeat or a first start reads after the signal that started the run (an order's new status, a
# later cart, a subscription's change, a feature used): remembered as they come. The `signals-to-journeys` rule
# carries these and the ones journeys start from (definitions.SIGNALS).
READ_LATER = frozenset(k for d in SHIPPED.values() for k in reads(d))
DELIVERED = frozenset({"delivered"})
REFUNDED = frozenset({"refunded", "cancelled"})
# The longest a run may wait: the longest wait a merchant may set (30 days) and a night's quiet hours; the journey
# workflow times out after 32 days (journey.asl.json). A date further ahead is told from a later signal.
MAX_WAIT = timedelta(days=31)


@dataclass
class JourneyServices:
    memory: MemoryStore
    store: CommerceBackend
    merchant: Callable[[], MerchantProfile]
    # the next best action of a journey with an offers' moment (a cart reminder): the bus for `offer.presented`, and
    # the holdout salt and discount limits; None (a test, a stack without them): no offer is decided
    events: EventPublisher | None = None
    offer_settings: OfferSettings | None = None


def parse(signal: dict[str, Any]) -> Signal:
    return JourneySignalRequest.model_validate(signal).root


def from_event(event: dict[str, Any]) -> Signal:
    """The signal an event off the bus is (the `signals-to-journeys` queue's record body): a storefront's signal as it
    came, or a survey answer (published by the surveys, never posted by a storefront) as the signal it starts."""
    if event.get("detail-type") == SurveyAnswered.detail_type:
        return survey_answer(SurveyAnswered.model_validate(event["detail"]))
    return parse(event["detail"])


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
def configured(definition: JourneyDefinition, merchant: MerchantProfile) -> bool:
    """Whether the shop has what the journey needs of merchant.json: plans and a manage link for a trial's end,
    onboarding steps for a stalled onboarding, an enabled offer at its moment for a thank-you that is its offer. Without
    them it never runs."""
    if definition.action == "tell_trial_ending":
        return merchant.subscriptions is not None
    if definition.action == "nudge_onboarding_step":
        return bool(merchant.onboarding)
    if definition.action == "thank_with_offer":
        return any(o.enabled and o.trigger.moment.value == definition.offer_moment for o in merchant.offers)
    return True


def in_force(merchant: MerchantProfile) -> list[JourneyDefinition]:
    """The journeys that run for this shop: on, and configured."""
    return [d for d in definitions(merchant.journeys) if d.enabled and configured(d, merchant)]


def remembers(signal: Signal, merchant: MerchantProfile) -> bool:
    """Whether a journey in force reads this signal later. A feature is remembered only when it is an onboarding
    step (feature.used comes often, and only the steps are ever read back)."""
    if not any(signal.detail_type in reads(d) for d in in_force(merchant)):
        return False
    if signal.detail_type == "feature.used":
        return any(step.feature == getattr(signal, "feature", None) for step in merchant.onboarding)
    return True


def start(signal: Signal, memory: MemoryStore, merchant: MerchantProfile) -> list[tuple[str, dict[str, Any]]]:
    """Remember the signal if a journey reads it later, count it if it is activity (a sign-in, a feature used: the
    churn model's features), and the (execution name, input) of each run it starts."""
    if remembers(signal, merchant):
        JourneyStore(memory).remember(signal)
    if signal.detail_type in ACTIVITY_KINDS:
        ActivityStore(memory).record(signal)
    if signal.detail_type in SUBSCRIPTION_KINDS:  # the plans the customer has and tried: offers read them
        SubscriptionStore(memory).record(signal)
    if signal.detail_type == "feature.used" and any(
        step.feature == getattr(signal, "feature", None) for step in merchant.onboarding
    ):  # an onboarding step done: the conversion of the journeys that nudge towards one (journeys/ledger.py)
        for definition in in_force(merchant):
            if definition.converts_on == "feature":
                JourneyStore(memory).record_converted(signal.customer_id, definition.id, signal.occurred_at)
    if signal.detail_type in ACTIVITY_KINDS:  # the customer back: the conversion of the journeys that win them back
        for definition in in_force(merchant):
            if definition.converts_on == "activity":
                JourneyStore(memory).record_converted(signal.customer_id, definition.id, signal.occurred_at)
    detail = signal.model_dump(mode="json")
    running = {d.id for d in in_force(merchant)}
    return [
        (run_name(d.id, signal.customer_id, signal.signal_id), {"journey": d.id, "signal": detail})
        for d in triggered_by(signal.detail_type, merchant.journeys)
        if d.id in running
    ]


# 2. enter ----------------------------------------------------------------------------------------------------------
def enter(journey_id: JourneyId, signal: Signal, services: JourneyServices, at: datetime) -> Plan:
    merchant = services.merchant()
    definition = _definition(journey_id, merchant)
    plan = Plan(
        journey=journey_id, customer_id=signal.customer_id, signal=signal.model_dump(mode="json"), go=False, reason=""
    )
    detail = plan.signal
    trigger = trigger_for(definition, signal.detail_type)
    refusal = None
    if not definition.enabled:
        refusal = "journey_off"
    elif trigger is None:
        refusal = "not_its_signal"
    elif not configured(definition, merchant):
        refusal = "not_configured"
    elif not all(condition.holds(detail) for condition in trigger.conditions):
        refusal = "conditions_unmet"
    elif trigger.repeat is not None and not repeated(
        detail, _earlier(services, signal, trigger.repeat), trigger.repeat
    ):
        refusal = "no_repeat"
    elif not consented(definition, services.memory, signal.customer_id):
        refusal = "opted_out"
    elif definition.personalization and not personalization(services.memory, signal.customer_id):
        refusal = "no_personalization_consent"
    elif trigger.first and not first_start(definition, signal, services):
        refusal = "not_first_start"
    elif trigger.account_age_days is not None and not new_account(services, signal, trigger):
        refusal = "not_a_new_account"
    else:
        refusal = _cannot_tell(definition, signal, services, merchant)
    if refusal is not None:
        return plan.model_copy(update={"reason": refusal})
    earliest = max(signal.occurred_at + timedelta(minutes=wait_minutes(definition, merchant)), at)
    deadline = _deadline(definition, detail)
    if deadline is not None and definition.before is not None:
        earliest = max(earliest, deadline - timedelta(minutes=definition.before.minutes))
    zone = customer_zone(services.store, signal.customer_id, merchant)
    send_at = send_time(earliest, zone, definition.quiet_hours)
    if deadline is not None and send_at >= deadline:
        return plan.model_copy(update={"reason": "too_late"})
    if send_at - at > MAX_WAIT:  # a later signal (a trial's `ending`) starts it nearer the date
        return plan.model_copy(update={"reason": "too_far_ahead"})
    # entered: measured in its group (journeys/ledger.py), whatever the check decides when the wait ends
    group = journey_group(definition, signal.customer_id, services)
    JourneyStore(services.memory).record_entered(signal.customer_id, journey_id, group.value, at)
    return plan.model_copy(update={"go": True, "reason": "scheduled", "send_at": send_at})


def journey_group(definition: JourneyDefinition, customer_id: str, services: JourneyServices) -> Group:
    """The customer's group for the journey: held out (no message at all) for `holdout_share` of its customers, by
    the offers' keyed hash under the key `journey:<id>` (offers/holdout.py), so it is the same in every run and
    function. Without a share, or without the holdout salt, everyone is in the treatment group."""
    if definition.holdout_share <= 0 or services.offer_settings is None:
        return Group.TREATMENT
    from concierge.platform.settings import OfferSaltMissing

    try:
        salt = services.offer_settings.holdout_salt()
    except OfferSaltMissing:
        return Group.TREATMENT
    return assign(salt, f"journey:{definition.id}", customer_id, definition.holdout_share)


def wait_minutes(definition: JourneyDefinition, merchant: MerchantProfile) -> int:
    """From the signal to the message: the journey's wait, or, for a journey at an offers' moment in a shop with
    offers there, the first of their delays (trigger.after_hours: the guardrails decide nothing before it)."""
    if definition.offer_moment is not None:
        delays = [
            o.trigger.after_hours
            for o in merchant.offers
            if o.enabled and o.trigger.moment.value == definition.offer_moment and o.trigger.after_hours is not None
        ]
        if delays:
            return min(delays) * 60
    return definition.wait_minutes


def _deadline(definition: JourneyDefinition, detail: dict[str, Any]) -> datetime | None:
    if definition.before is None or not detail.get(definition.before.field):
        return None
    return datetime.fromisoformat(str(detail[definition.before.field]))


def personalization(memory: MemoryStore, customer_id: str) -> bool:
    """The customer's consent to personalization (Profile.personalization; no profile yet: consent, as everywhere
    in memory and offers)."""
    profile = memory.get_profile(customer_id)
    return True if profile is None else profile.personalization


def first_start(definition: JourneyDefinition, signal: Signal, services: JourneyServices) -> bool:
    """No earlier signal of the journey's triggers (their conditions holding) is remembered for the customer: this is
    their first start (as far back as signals are kept, REMEMBERED_DAYS)."""
    since = signal.occurred_at - timedelta(days=REMEMBERED_DAYS)
    journeys = JourneyStore(services.memory)
    for trigger in triggers(definition):
        for other in journeys.recent(signal.customer_id, trigger.signal, since):
            if other.get("signal_id") == signal.signal_id or not _starts(trigger, other, services):
                continue
            when = datetime.fromisoformat(str(other["occurred_at"]))
            if when < signal.occurred_at or (when == signal.occurred_at and other["signal_id"] < signal.signal_id):
                return False
    return True


def _starts(trigger: Trigger, detail: dict[str, Any], services: JourneyServices) -> bool:
    """Whether an earlier signal would have started the journey (its conditions, the account's age then)."""
    if not all(condition.holds(detail) for condition in trigger.conditions):
        return False
    if trigger.account_age_days is None:
        return True
    return new_account(services, parse(detail), trigger)


def new_account(services: JourneyServices, signal: Signal, trigger: Trigger) -> bool:
    """The customer's account (customers.json created_at) is at most `account_age_days` old at the signal."""
    customer = services.store.get_customer(signal.customer_id)
    if customer is None or trigger.account_age_days is None:
        return False
    return signal.occurred_at - customer.created_at <= timedelta(days=trigger.account_age_days)


def _cannot_tell(
    definition: JourneyDefinition, signal: Signal, services: JourneyServices, merchant: MerchantProfile
) -> str | None:
    """Why the message could not say what it must (a reason code), or None: a cart whose items the catalogue does not
    know, a trial whose price is nowhere stated. Checked when the run starts and again before it sends."""
    if definition.action == "remind_cart":
        assert isinstance(signal, CartUpdated)  # the journey's trigger is cart.updated
        return None if cart_items(signal, services.store) else "items_unknown"
    if definition.action == "tell_trial_ending":
        assert isinstance(signal, TrialUpdated)  # the journey's trigger is trial.updated
        return None if trial_price(signal, merchant) is not None else "plan_not_configured"
    if definition.action == "thank_with_offer":
        from concierge.journeys import promoters

        if not promoters.offer_channels(definition, merchant):
            return "no_offer_channel"  # none of its channels is one the shop's offers are made on
        return None if promoters.promoted_product(signal, services, merchant) is not None else "no_product"
    if definition.action == "nudge_churn_risk":  # one nudge a season: a customer scored again daily ends here
        run = run_name(definition.id, signal.customer_id, signal.signal_id)
        journeys = JourneyStore(services.memory)
        free = journeys.slot_free(signal.customer_id, definition.id, definition.cap, signal.occurred_at, run)
        return None if free else "capped"
    return None


def cart_items(signal: CartUpdated, store: CommerceBackend) -> list[str]:
    """The cart's lines as the customer reads them: the catalogue's title, the variant's options, the quantity
    ("Linen Shirt (White / M) ×2"). A product the catalogue does not know is left out: never an id alone."""
    items = []
    for line in signal.lines:
        product = store.get_product(line.product_id)
        if product is None:
            continue
        variant = next((v for v in product.variants if line.sku and v.sku == line.sku), None)
        options = f" ({' / '.join(variant.options.values())})" if variant and variant.options else ""
        items.append(f"{product.title}{options}" + (f" ×{line.quantity}" if line.quantity > 1 else ""))
    return items


def trial_price(signal: TrialUpdated, merchant: MerchantProfile) -> dict[str, str] | None:
    """What the trial converts to: the plan's name, price (the signal's amount for this customer, else the plan's in
    merchant.json) and interval, and where to keep or cancel it; None when merchant.json does not price the plan."""
    subscriptions = merchant.subscriptions
    plan = subscriptions.plan(signal.plan) if subscriptions else None
    if subscriptions is None or plan is None:
        return None
    amount, currency = (
        (signal.amount, signal.currency)
        if signal.amount is not None and signal.currency
        else (plan.price, plan.currency)
    )
    return {
        "plan": plan.name,
        "price": str(amount),
        "currency": currency,
        "interval": plan.interval,
        "manage_url": subscriptions.manage_url,
        "ends_at": signal.ends_at.isoformat(),
    }


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
    if not configured(definition, merchant):
        return outreach.model_copy(update={"reason": "not_configured"})
    if not consented(definition, services.memory, plan.customer_id):
        return outreach.model_copy(update={"reason": "opted_out"})
    if definition.personalization and not personalization(services.memory, plan.customer_id):
        return outreach.model_copy(update={"reason": "no_personalization_consent"})
    for recheck in definition.rechecks:
        changed = _changed(recheck, signal, services, at)
        if changed is not None:
            return outreach.model_copy(update={"reason": changed})
    refused = _cannot_tell(definition, signal, services, merchant)
    if refused is not None:
        return outreach.model_copy(update={"reason": refused})
    found = verified_address(definition, services, plan.customer_id, _channels(definition, merchant))
    if found is None:
        return outreach.model_copy(update={"reason": "no_verified_address"})
    run = run_name(plan.journey, plan.customer_id, signal.signal_id)
    journeys = JourneyStore(services.memory)
    if not journeys.take_slot(plan.customer_id, plan.journey, definition.cap, at, run):
        return outreach.model_copy(update={"reason": "capped"})
    if journey_group(definition, plan.customer_id, services) is Group.HOLDOUT:
        # would have been messaged, and is not: the holdout's slot stays taken, so both groups meet the cap alike
        journeys.record_run(plan.customer_id, plan.journey, "held_out", run)
        return outreach.model_copy(update={"reason": "held_out", "checked_at": at})
    channel, address = found
    conversation_id = conversation_id_for(plan.journey, plan.customer_id, signal.signal_id)
    context = message_context(definition, signal, services, merchant, at, channel, conversation_id)
    if definition.action == "thank_with_offer":
        from concierge.journeys import promoters

        withheld = promoters.withheld(context)
        if withheld is not None:  # no offer, no message: the run says why (context.offer has the decision)
            if not (context.get("offer") or {}).get("exposed"):  # nothing a cap counts: the slot is given back
                journeys.release_slot(plan.customer_id, plan.journey, definition.cap, run)
            return outreach.model_copy(update={"reason": withheld, "context": context, "checked_at": at})
    if definition.action == "nudge_churn_risk":
        from concierge.journeys import churn

        nothing = churn.withheld(context)
        if nothing is not None:  # nothing chosen, no message: the run says why (context.decision), the slot is free
            journeys.release_slot(plan.customer_id, plan.journey, definition.cap, run)
            return outreach.model_copy(update={"reason": nothing, "context": context, "checked_at": at})
    return outreach.model_copy(
        update={
            "go": True,
            "reason": "send",
            "channel": channel,
            "address": address,
            "conversation_id": conversation_id,
            "context": context,
            "checked_at": at,
        }
    )


def _changed(recheck: str, signal: Signal, services: JourneyServices, at: datetime) -> str | None:
    """Why the journey no longer applies (a reason code), or None when it still does."""
    detail = signal.model_dump(mode="json")
    journeys = JourneyStore(services.memory)
    if recheck == "cart_not_bought":
        return _cart_changed(signal, services, journeys)
    if recheck == "trial_not_changed":
        return _trial_changed(signal, journeys, at)
    if recheck == "onboarding_step_left":
        return None if steps_left(signal, services) else "onboarded"
    if recheck == "still_a_promoter":
        from concierge.journeys import promoters

        return promoters.answer_changed(signal, services)
    if recheck == "still_quiet":
        from concierge.journeys import churn

        return churn.quiet_changed(signal, services, at)
    order_id = detail.get("order_id")
    later = journeys.recent(signal.customer_id, "order.updated", signal.occurred_at)
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


def _cart_changed(signal: Signal, services: JourneyServices, journeys: JourneyStore) -> str | None:
    """The cart was emptied or replaced by a later cart.updated, or the customer ordered since it was left: an order
    in the store placed after it, or an order.updated signal since about an order the store does not have as an
    older one (a new order the store has not caught up with)."""
    assert isinstance(signal, CartUpdated)
    later = [c for c in journeys.recent(signal.customer_id, "cart.updated", signal.occurred_at) if _after(c, signal)]
    if any(int(c.get("items", 0)) == 0 for c in later):
        return "cart_emptied"
    if later:  # the later cart's own run tells it, if anything is left in it
        return "cart_changed"
    orders = services.store.recent_orders(signal.customer_id, 10)
    if any(o.placed_at >= signal.occurred_at for o in orders):
        return "ordered_since"
    older = {o.id for o in orders if o.placed_at < signal.occurred_at}
    updates = journeys.recent(signal.customer_id, "order.updated", signal.occurred_at)
    if any(u.get("order_id") not in older for u in updates):
        return "ordered_since"
    return None


def _after(other: dict[str, Any], signal: Signal) -> bool:
    """Whether a remembered signal came after this one (at the same instant, the greater signal id is the later)."""
    when = datetime.fromisoformat(str(other["occurred_at"]))
    return when > signal.occurred_at or (when == signal.occurred_at and str(other["signal_id"]) > signal.signal_id)


def _trial_changed(signal: Signal, journeys: JourneyStore, at: datetime) -> str | None:
    """The trial was cancelled or converted (a subscription.changed of its subscription since), a later
    trial.updated of the same subscription supersedes this one (its own run tells it), or the trial is over."""
    assert isinstance(signal, TrialUpdated)
    changes = [  # strictly after: a storefront may report the subscription's start with its trial's
        c
        for c in journeys.recent(signal.customer_id, "subscription.changed", signal.occurred_at)
        if c.get("subscription_id") == signal.subscription_id
        and datetime.fromisoformat(str(c["occurred_at"])) > signal.occurred_at
    ]
    if any(c.get("change") == "cancelled" for c in changes):
        return "trial_cancelled"
    if changes:  # converted early, or changed plan: the price this message would state may be wrong
        return "subscription_changed"
    later = [
        t
        for t in journeys.recent(signal.customer_id, "trial.updated", signal.occurred_at)
        if t.get("subscription_id") == signal.subscription_id and _after(t, signal)
    ]
    if later:
        return "trial_updated"
    if at >= signal.ends_at:
        return "trial_over"
    return None


def steps_left(signal: Signal, services: JourneyServices) -> list[dict[str, str]]:
    """The merchant's onboarding steps the customer has not done yet (no feature.used of theirs remembered), in the
    merchant's order."""
    merchant = services.merchant()
    since = signal.occurred_at - timedelta(days=REMEMBERED_DAYS)
    used = {u.get("feature") for u in JourneyStore(services.memory).recent(signal.customer_id, "feature.used", since)}
    return [step.model_dump(exclude_none=True) for step in merchant.onboarding if step.feature not in used]


# what the message says, read when the wait ends ----------------------------------------------------------------------
def message_context(
    definition: JourneyDefinition,
    signal: Signal,
    services: JourneyServices,
    merchant: MerchantProfile,
    at: datetime,
    channel: Literal["email", "whatsapp"],
    conversation_id: str,
) -> dict[str, Any]:
    """What the message and the answers to it need that is read now: a cart's items (catalogue titles) and the
    offer the next best action decided; a trial's plan, price, end and manage link; the first step left."""
    if definition.action == "remind_cart":
        assert isinstance(signal, CartUpdated)
        context: dict[str, Any] = {
            "items": cart_items(signal, services.store),
            "total": str(signal.total),
            "currency": signal.currency,
        }
        if definition.offer_moment is not None:
            offer = cart_offer(signal, services, merchant, at, channel, conversation_id, context["items"])
            if offer is not None:
                context["offer"] = offer
        return context
    if definition.action == "tell_trial_ending":
        assert isinstance(signal, TrialUpdated)
        return trial_price(signal, merchant) or {}
    if definition.action == "nudge_onboarding_step":
        left = steps_left(signal, services)
        return {"step": left[0]} if left else {}
    if definition.action == "thank_with_offer":
        from concierge.journeys import promoters

        return promoters.message_context(signal, services, merchant, at, channel, conversation_id)
    if definition.action == "nudge_churn_risk":
        from concierge.journeys import churn

        return churn.decide(signal, services, merchant, at, channel, conversation_id)
    return {}


def cart_offer(
    signal: CartUpdated,
    services: JourneyServices,
    merchant: MerchantProfile,
    at: datetime,
    channel: Literal["email", "whatsapp"],
    conversation_id: str,
    items: list[str],
) -> dict[str, Any] | None:
    """The next best action at the cart_abandoned moment (docs/offers.md): `nba.consider` runs the guardrails, the
    holdout and the caps and records every decision in the customer's audit trail and the offers' ledger, in the
    conversation the journey opens. A presented offer comes back rendered (with its code, issued here once per run
    through the action layer's code path); a held-out or refused one as its outcome and reason, and the message goes
    without it. None when the shop has no offer at the moment or no holdout salt is set."""
    from concierge.offers import issuing, nba
    from concierge.offers.catalogue import OfferMoment
    from concierge.platform.settings import OfferSaltMissing

    moment = OfferMoment.CART_ABANDONED
    if services.offer_settings is None or services.events is None or not nba.moment_offers(merchant, moment):
        return None
    offer_services = OfferServices(services.memory, services.events, services.offer_settings, merchant)
    try:
        services.offer_settings.holdout_salt()
    except OfferSaltMissing:
        return {"outcome": "none", "reason": "no_salt"}
    profile = services.memory.get_profile(signal.customer_id)
    consent = nba.consent(profile)
    customer = services.store.get_customer(signal.customer_id)
    context = nba.offer_context(
        customer_id=signal.customer_id,
        conversation_id=conversation_id,
        moment=moment,
        channel=Channel(channel),
        now=at,
        profile=profile,
        cart_value=signal.total,
        cart_idle_hours=max(0.0, (at - signal.occurred_at).total_seconds() / 3600),
        customer=customer if consent else None,
        orders=services.store.recent_orders(signal.customer_id, 20) if consent else (),
    )
    # a retried step finds this run's decision (the conversation is the run's own) and presents it as it was
    chosen = nba.consider(
        offer_services, context, locale=customer.locale if customer else None, replay_since=signal.occurred_at
    )
    result: dict[str, Any] = {"outcome": "none", "reason": "no_decision"}
    if chosen.decisions:
        first = chosen.decisions[0]
        result = {"offer_id": first.offer_id, "outcome": first.outcome.value, "reason": first.reason.value}
    decision = chosen.offer_decision
    offer = next((o for o in merchant.offers if decision and o.id == decision.offer_id), None)
    if decision is None or offer is None:
        return result
    values = nba.MomentValues(
        first_name=customer.first_name if customer else None,
        shop=merchant.name,
        items=items,
        currency=signal.currency,
    )
    taken = shown_code(services, merchant, offer, signal.customer_id, customer, signal.currency, conversation_id, at)
    if taken is None:
        return result | {"outcome": "none", "reason": "code_not_issued"}
    if taken.get("code"):
        values = values.model_copy(update={"code": taken["code"]})
    try:
        message = nba.render_offer(offer, values)
        subject = nba.render_offer(offer, values, "subject") if offer.wording.subject else None
    except nba.OfferRenderError:  # the moment lacks a value the wording needs: the reminder goes without it
        return result | {"outcome": "none", "reason": "not_rendered"}
    presented: dict[str, Any] = {
        "presented": True,
        "message": message,
        "subject": subject,
        "greets": "first_name" in _names(offer.wording.message),
        "names_items": "items" in _names(offer.wording.message),
        "takes_on_yes": offer.issues_code and not nba.shows_code(offer),
        "value": issuing.value_words(offer.value, signal.currency) if offer.value else None,
    }
    presented |= {k: taken[k] for k in ("code", "expires_at") if k in taken}
    return result | presented


def _names(template: str) -> list[str]:
    from concierge.offers.catalogue import placeholders

    return placeholders(template)


def shown_code(
    services: JourneyServices,
    merchant: MerchantProfile,
    offer: Offer,
    customer_id: str,
    customer: Customer | None,
    currency: str,
    conversation_id: str,
    at: datetime,
) -> dict[str, Any] | None:
    """The code of an offer whose message shows it, issued now (else issued on the customer's yes, accept_offer):
    `issue_offer_code`'s result, {} for an offer whose message shows none, None when it could not be issued."""
    from concierge.offers import nba

    if not nba.shows_code(offer):
        return {}
    first_name = customer.first_name if customer else ""
    taken = issue_offer_code(services, merchant, offer, customer_id, first_name, currency, conversation_id, at)
    return taken if taken.get("code") else None


def issue_offer_code(
    services: JourneyServices,
    merchant: MerchantProfile,
    offer: Any,
    customer_id: str,
    first_name: str,
    currency: str,
    conversation_id: str,
    at: datetime,
) -> dict[str, Any]:
    """The offer's code, issued once per run (the action layer's code path, `issuing.issue_code`) and recorded as
    the offer's action in the journey's conversation: a retried step finds it, and `accept_offer` in the customer's
    answer returns the same code. `currency`: the cart's, or the order's the offer is about."""
    from concierge.conversation.turn import ActionResult, ActionStatus, ToolCall
    from concierge.offers import issuing

    assert services.offer_settings is not None  # the caller checked it
    action_id = issuing.action_id(conversation_id, customer_id, offer.id)
    taken = services.memory.get_action(conversation_id, action_id)
    if taken is not None and taken.get("status") == ActionStatus.EXECUTED.value:
        return dict(taken.get("result") or {})
    try:
        result = issuing.issue_code(
            services.store,
            offer,
            customer_id=customer_id,
            first_name=first_name,
            shop=merchant.name,
            code_prefix=merchant.code_prefix,
            conversation_id=conversation_id,
            now=at,
            valid_days=services.offer_settings.discount_valid_days,
            currency=currency,
        )
    except issuing.CodeNotIssued:
        return {}
    call = ToolCall(id=f"offer-{offer.id}", tool="accept_offer", arguments={"offer_id": offer.id})
    services.memory.put_action(
        conversation_id,
        customer_id,
        call,
        ActionResult(
            call_id=call.id, action_id=action_id, tool="accept_offer", status=ActionStatus.EXECUTED, result=result
        ),
        None,
    )
    return result


@dataclass
class OfferServices:
    """What `nba.consider` uses (offers/nba.py `OfferServices`), from a journey's services."""

    memory: MemoryStore
    events: EventPublisher
    settings: OfferSettings
    profile: MerchantProfile

    def merchant(self) -> MerchantProfile:
        return self.profile


def _channels(definition: JourneyDefinition, merchant: MerchantProfile) -> list[Literal["email", "whatsapp"]]:
    """The channels the journey may write on: its own, and for a thank-you that is its offer, only those the offers
    are made on."""
    if definition.action == "thank_with_offer":
        from concierge.journeys import promoters

        return promoters.offer_channels(definition, merchant)
    return list(definition.channels)


def verified_address(
    definition: JourneyDefinition,
    services: JourneyServices,
    customer_id: str,
    channels: Sequence[Literal["email", "whatsapp"]] | None = None,
) -> tuple[Literal["email", "whatsapp"], str] | None:
    """The first of the journey's channels (or of `channels`, in that order) with an address on file that the customer
    proved is theirs (a linked identity: they wrote from it and the channel verified them, memory/identity.py).
    Nothing goes to an address that is only on file."""
    customer = services.store.get_customer(customer_id)
    if customer is None:
        return None
    on_file = dict(contacts(customer))  # normalized as identities are kept: lower-case email, phone as digits
    for channel in definition.channels if channels is None else channels:
        address = on_file.get(channel)
        if not address:
            continue
        identity = services.memory.get_identity(Channel(channel), address)
        if identity is not None and identity.customer_id == customer_id:
            return channel, address
    return None
