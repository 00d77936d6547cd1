"""Journeys, declared: what starts one (a signal and conditions on it), how long it waits (and the quiet hours it
respects, in the customer's time zone), what is checked again when the wait ends, how often a customer may get it
(caps), the consent it needs, and the action it takes. The shipped journeys are `SHIPPED`; a merchant turns one off
or changes its wait, caps, quiet hours or wording in merchant.json (`JourneySettings`), and `definitions` gives the
journeys in force.

What some journeys need to know of the merchant's product is merchant.json's too, validated here: the paid plans a
trial converts to and where a customer keeps or cancels one (`Subscriptions`, for `trial_ending`), and the first
steps of using the product (`OnboardingStep`, for `stalled_onboarding`). A shop without them never runs those
journeys: nothing here invents a price, a link or a feature.

Nothing here reads data: the runner (runner.py) applies a definition to a signal, the store and the customer's memory.
"""

from __future__ import annotations

import re
from datetime import time
from decimal import Decimal
from functools import cache
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

JourneyId = Literal[
    "delayed_shipment",
    "double_charge",
    "abandoned_cart",
    "trial_ending",
    "stalled_onboarding",
    "survey_promoter",
    "churn_risk",
]
# What a definition can have checked again when its wait ends, each a function of runner.py (it reads the store and
# the customer's memory): the parcel is still not delivered; the charge was not refunded or found fine meanwhile; the
# cart was neither emptied, replaced nor bought; the trial was neither cancelled, converted nor changed; an onboarding
# step is still not done; the survey's latest answer is still the promoter's that started the run; a customer scored
# at risk of churning is still quiet (no sign-in, feature use or order since the day scored).
Recheck = Literal[
    "parcel_still_late",
    "charge_not_refunded",
    "cart_not_bought",
    "trial_not_changed",
    "onboarding_step_left",
    "still_a_promoter",
    "still_quiet",
]
# The signals each recheck reads when the wait ends: the runner remembers them as they come (journeys/store.py).
RECHECK_READS: dict[str, frozenset[str]] = {
    "parcel_still_late": frozenset({"order.updated"}),
    "charge_not_refunded": frozenset({"order.updated"}),
    "cart_not_bought": frozenset({"cart.updated", "order.updated"}),
    "trial_not_changed": frozenset({"subscription.changed", "trial.updated"}),
    "onboarding_step_left": frozenset({"feature.used"}),
    "still_a_promoter": frozenset(),  # the survey's stored answer (surveys/store.py), not a remembered signal
    "still_quiet": frozenset(),  # the activity days (churn/activity.py) and the orders in the store
}
# What the journey does in the message it sends: propose a remedy the customer still confirms in their answer, or
# tell them something with nothing to confirm (a cart left, a trial about to convert, a first step not taken), or
# thank them with the offer the next best action presented (a promoter's answer: no offer, no message), or nudge a
# customer at risk of churning with the help the next best action chose (nothing chosen: no message).
ActionKind = Literal[
    "propose_reship_or_refund",
    "propose_charge_refund",
    "remind_cart",
    "tell_trial_ending",
    "nudge_onboarding_step",
    "thank_with_offer",
    "nudge_churn_risk",
]
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
    first: bool = Field(
        False,
        description="only the customer's first start: no earlier signal of any of the journey's triggers (their "
        "conditions holding) is remembered for them (journeys/store.py keeps signals REMEMBERED_DAYS)",
    )
    account_age_days: int | None = Field(
        None,
        ge=0,
        le=365,
        description="only for a customer whose account (customers.json created_at) is at most this many days old "
        "when the signal occurs: a sign-in is a start for a new account, not for one of long standing",
    )


class Before(_Model):
    """The message goes `minutes` before a date the signal carries (`field`), e.g. 3 days before a trial's end;
    never after it."""

    field: str = Field(pattern=r"^[a-z_]{1,40}$", description="a date-time field of the signal, e.g. ends_at")
    minutes: int = Field(ge=0, le=30 * 24 * 60)


class JourneyDefinition(_Model):
    id: JourneyId
    enabled: bool = True
    trigger: Trigger
    also_triggered_by: list[Trigger] = Field(
        default_factory=list, description="other signals that start it (stalled onboarding: a sign-in, or a start)"
    )
    wait_minutes: int = Field(ge=0, le=30 * 24 * 60, description="from the signal to the message, at least")
    before: Before | None = Field(None, description="the message goes this long before a date of the signal")
    quiet_hours: QuietHours | None = Field(default_factory=QuietHours)
    rechecks: list[Recheck] = Field(default_factory=list, description="checked again when the wait ends")
    cap: Cap = Field(default_factory=Cap)
    consent: Literal["unless_opted_out", "opted_in"] = Field(
        "unless_opted_out",
        description="unless_opted_out: sent unless the customer opted out of journeys (a STOP reply); opted_in: "
        "only to a customer who said yes to them",
    )
    personalization: bool = Field(
        False,
        description="the journey acts on remembered behaviour (a cart left, features not used): it also needs the "
        "customer's consent to personalization (Profile.personalization), as a cart-reminder offer does "
        "(docs/offers.md)",
    )
    offer_moment: Literal["cart_abandoned", "survey_promoter"] | None = Field(
        None,
        description="the offers' moment the journey asks the next best action about (offers/nba.py) when its wait "
        "ends; the moment's offers set the wait (trigger.after_hours) when the shop has one",
    )
    threshold: float | None = Field(
        None,
        gt=0,
        lt=1,
        description="churn_risk: the churn probability from which a scored customer enters the journey; None: the "
        "deployed model's high band",
    )
    action: ActionKind
    holdout_share: float = Field(
        0.0,
        ge=0,
        le=0.5,
        description="share of the customers entering it who get no message at all, to measure what the journey "
        "itself brings (docs/journeys.md, 'Measuring'); only a nudge may have one: a service message (a late "
        "parcel, a second charge, a trial about to be paid) is never withheld",
    )
    converts_on: Literal["order", "feature", "activity"] | None = Field(
        None,
        description="what counts as the journey's conversion, within ATTRIBUTION_DAYS of entering it: an order; "
        "(stalled onboarding) the step's feature used; (churn risk) the customer back: a sign-in, a feature used or "
        "an order; None: a service message, measured by its replies",
    )
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
    before_minutes: int | None = Field(
        None, ge=0, le=30 * 24 * 60, description="trial ending: how long before the trial's end the message goes"
    )
    threshold: float | None = Field(
        None,
        gt=0,
        lt=1,
        description="churn risk: the churn probability from which a scored customer enters the journey (absent: the "
        "deployed model's high band)",
    )
    channels: list[Channel] | None = Field(None, min_length=1)
    subject: str | None = Field(None, max_length=120)
    message: str | None = Field(None, max_length=600)
    holdout_share: float | None = Field(
        None, ge=0, le=0.5, description="a nudge's holdout (0 to 0.5); a service message has none"
    )


@cache
def _known_zones() -> frozenset[str]:
    """The IANA time zones, read once per process: `available_timezones` walks the time zone database at every call
    (30 ms the first time, 4 ms after), and every function validates a turn's merchant profile at every step."""
    return frozenset(available_timezones() | {"UTC"})


def _zone(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"{value!r} is not an IANA time zone (e.g. Europe/Paris)") from exc
    if value not in _known_zones():
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
            if change.before_minutes is not None and SHIPPED[journey_id].before is None:
                raise ValueError(
                    f"changes.{journey_id}.before_minutes: that journey waits from its signal, not until a date "
                    "(use wait_minutes)"
                )
            if change.threshold is not None and SHIPPED[journey_id].action != "nudge_churn_risk":
                raise ValueError(f"changes.{journey_id}.threshold: only churn_risk starts from a churn probability")
            if change.wait_minutes is not None and SHIPPED[journey_id].before is not None:
                raise ValueError(
                    f"changes.{journey_id}.wait_minutes: that journey's message goes before a date the signal "
                    "carries (use before_minutes)"
                )
            if change.holdout_share and journey_id not in HOLDABLE:
                raise ValueError(
                    f"changes.{journey_id}.holdout_share: that journey tells the customer about their own order, "
                    "payment or plan, which is never withheld to measure it; only a nudge has a holdout"
                )
            for part in ("subject", "message"):
                _check_wording(journey_id, part, getattr(change, part))
        return self


# The placeholders a merchant's subject or message may use in the journeys that only tell, besides {merchant} and the
# signal's own fields (the message's facts are always worded by code after it: the items, the price, the step).
WORDING_PLACEHOLDERS: dict[str, frozenset[str]] = {
    "abandoned_cart": frozenset({"merchant", "items", "total", "cart_id", "currency"}),
    "trial_ending": frozenset({"merchant", "plan", "price", "ends_on", "subscription_id"}),
    "stalled_onboarding": frozenset({"merchant", "step", "help"}),
    "survey_promoter": frozenset({"merchant", "product"}),
    "churn_risk": frozenset({"merchant"}),  # what it says depends on the help chosen: worded by code after it
}


# The journeys that nudge towards a purchase or a use: no artificial urgency in their words, as in offers
# (docs/offers.md). A late parcel's or a trial's date is a fact, not pressure ("your trial ends in 3 days").
NUDGES = frozenset({"abandoned_cart", "stalled_onboarding", "survey_promoter", "churn_risk"})
# The journeys whose whole message may be withheld from a holdout group to measure it: the nudges. A service message
# (a late parcel with its remedy, a second charge, a trial about to be paid) is owed to every customer it concerns.
HOLDABLE = NUDGES
DEFAULT_HOLDOUT_SHARE = 0.10


def _check_wording(journey_id: str, part: str, text: str | None) -> None:
    """No artificial urgency in a nudge's words, and, in the journeys that only tell, no placeholder the message
    cannot fill (it would reach the customer as written)."""
    if not text:
        return
    from concierge.offers.catalogue import urgency

    phrase = urgency(text) if journey_id in NUDGES else None
    if phrase:
        raise ValueError(
            f'changes.{journey_id}.{part} uses "{phrase}": journeys never use artificial urgency or scarcity'
        )
    allowed = WORDING_PLACEHOLDERS.get(journey_id)
    if allowed is None:
        return
    for name in re.findall(r"\{(\w+)\}", text):
        if name not in allowed:
            known = ", ".join(f"{{{n}}}" for n in sorted(allowed))
            raise ValueError(f"changes.{journey_id}.{part} uses {{{name}}}, which it cannot fill; it can use {known}")


# What a merchant states of its product for the journeys that need it (merchant.json, beside `journeys`) -------------
_URL = r"^(https://[^\s<>\"]{3,300}|/[^\s<>\"]{1,300})$"


class PlanFeature(_Model):
    """Something a paid plan gives that the free product does not: what a customer asking about it is interested in
    (the `paid_feature_interest` offer moment, docs/offers.md)."""

    code: str = Field(pattern=r"^[a-z0-9_.-]{1,64}$", description="the feature's code, as feature.used names it")
    name: str = Field(
        min_length=1, max_length=60, description="what it is, as the customer reads it ('sleep coaching')"
    )
    mentions: list[Annotated[str, Field(min_length=3, max_length=60)]] = Field(
        default_factory=list,
        max_length=12,
        description="other words customers use for it ('sleep score history', 'sleep coach'); the name always counts",
    )
    help: str | None = Field(
        None,
        pattern=_URL,
        description="where using it is explained: a help-center article's url as in articles.json or an https link "
        "(the churn_risk journey's nudge about a feature of the customer's plan links to it)",
    )

    def phrases(self) -> list[str]:
        """The name and the mentions, lower-case: a message naming one of them asks about the feature."""
        return list(dict.fromkeys(p.strip().lower() for p in [self.name, *self.mentions] if p.strip()))


class SubscriptionPlan(_Model):
    """A paid plan a trial converts to: what the customer will pay and how often. The trial's signal names the plan
    by `code`; the message states `name`, `price` and `interval` as written here (never a price from elsewhere)."""

    code: str = Field(min_length=1, max_length=64, description="the plan's code, as trial.updated's `plan` names it")
    name: str = Field(min_length=1, max_length=60, description="the plan's name, as customers know it ('Pro')")
    price: Decimal = Field(gt=0, le=100_000, decimal_places=2, description="the price of one period, e.g. '12.00'")
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217, e.g. EUR")
    interval: Literal["week", "month", "quarter", "year"] = Field(description="how often the price is charged")
    features: list[PlanFeature] = Field(
        default_factory=list,
        max_length=30,
        description="what the plan gives beyond the free product: a customer asking about one of them is at the "
        "paid_feature_interest moment, where a feature_trial offer of this plan can be made",
    )


class Subscriptions(_Model):
    """The shop's paid plans and where a customer keeps, changes or cancels theirs. The assistant cannot cancel a
    subscription itself: the message and its answers point to `manage_url`."""

    manage_url: str = Field(
        pattern=_URL,
        description="where the customer keeps, changes or cancels their subscription: an https link, or a path of "
        "the shop's site ('/account/billing')",
    )
    plans: list[SubscriptionPlan] = Field(min_length=1, max_length=50)

    @model_validator(mode="after")
    def _unique(self) -> Subscriptions:
        seen: set[str] = set()
        for n, plan in enumerate(self.plans):
            if plan.code in seen:
                raise ValueError(f"plans.{n}: plan '{plan.code}' appears twice: each plan needs its own code")
            seen.add(plan.code)
        return self

    def plan(self, code: str) -> SubscriptionPlan | None:
        return next((p for p in self.plans if p.code == code), None)

    @model_validator(mode="after")
    def _features_unique(self) -> Subscriptions:
        seen: dict[str, str] = {}
        for plan in self.plans:
            for feature in plan.features:
                for phrase in feature.phrases():
                    owner = seen.setdefault(phrase, plan.code)
                    if owner != plan.code:
                        raise ValueError(
                            f"plans: '{phrase}' names a feature of both '{owner}' and '{plan.code}': a customer "
                            "asking about it could not be told which plan gives it"
                        )
        return self


class OnboardingStep(_Model):
    """One of the first things a new customer should do with the product, in the order they should do them: done
    once a `feature.used` signal names its `feature`."""

    feature: str = Field(pattern=r"^[a-z0-9_.-]{1,64}$", description="the feature's code, as feature.used names it")
    name: str = Field(
        min_length=1, max_length=80, description="what the step is, as the customer reads it ('Invite your team')"
    )
    help: str | None = Field(
        None,
        pattern=_URL,
        description="where it is explained: a help-center article's url as in articles.json ('/help/invite-team') "
        "or an https link",
    )


def check_onboarding(steps: list[OnboardingStep]) -> None:
    seen: set[str] = set()
    for n, step in enumerate(steps):
        if step.feature in seen:
            raise ValueError(f"onboarding.{n}: feature '{step.feature}' is listed twice")
        seen.add(step.feature)


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
    "abandoned_cart": JourneyDefinition(
        id="abandoned_cart",
        trigger=Trigger(signal="cart.updated", conditions=[Condition(field="items", op="at_least", value=1)]),
        # a day, as the shipped stores' cart reminders: used only when the shop has no cart_reminder offer, whose
        # trigger.after_hours otherwise sets the wait (its guardrail decides nothing before then)
        wait_minutes=24 * 60,
        rechecks=["cart_not_bought"],
        cap=Cap(messages=1, days=7),
        personalization=True,  # a cart reminder acts on remembered behaviour (docs/offers.md)
        offer_moment="cart_abandoned",
        action="remind_cart",
        holdout_share=DEFAULT_HOLDOUT_SHARE,  # no reminder at all: what the reminder itself brings
        converts_on="order",
    ),
    "trial_ending": JourneyDefinition(
        id="trial_ending",
        trigger=Trigger(signal="trial.updated"),  # `started` and `ending` both carry ends_at; the later one wins
        wait_minutes=0,
        before=Before(field="ends_at", minutes=3 * 24 * 60),  # three days' notice before the first charge
        rechecks=["trial_not_changed"],
        cap=Cap(messages=1, days=7),
        action="tell_trial_ending",  # about the customer's own coming payment: a service message
    ),
    "stalled_onboarding": JourneyDefinition(
        id="stalled_onboarding",
        trigger=Trigger(
            signal="subscription.changed",
            conditions=[Condition(field="change", op="equals", value="started")],
            first=True,
        ),
        also_triggered_by=[Trigger(signal="customer.signed_in", first=True, account_age_days=7)],
        wait_minutes=3 * 24 * 60,
        rechecks=["onboarding_step_left"],
        cap=Cap(messages=1, days=365),  # one nudge per customer: a second would nag
        personalization=True,  # it reads which features they used
        action="nudge_onboarding_step",
        holdout_share=DEFAULT_HOLDOUT_SHARE,
        converts_on="feature",
    ),
    "survey_promoter": JourneyDefinition(
        id="survey_promoter",
        # a promoter's answer (surveys.models.promoter: CSAT 5, NPS 9–10); the bus delivers no other (topology)
        trigger=Trigger(signal="survey.answered", conditions=[Condition(field="promoter", op="equals", value=True)]),
        wait_minutes=60,  # time to correct a slipped answer (a 10 changed to a 6 stops it), short enough to thank
        rechecks=["still_a_promoter"],
        cap=Cap(messages=1, days=90),  # one thank-you offer a season, however many surveys they answer
        personalization=True,  # it reads their orders for the product the offer is about
        offer_moment="survey_promoter",
        action="thank_with_offer",  # only with the offer presented: held out, refused or none, no message at all
        # no holdout of its own: the offer's holdout already gets no message, which is the journey's holdout
        converts_on="order",
        channels=["email"],  # a shop's first message on WhatsApp needs a template outside 24 hours
    ),
    "churn_risk": JourneyDefinition(
        id="churn_risk",
        # the scheduled churn scoring's signal (churn/scheduled.py), published for a customer at or above `threshold`
        trigger=Trigger(signal="churn.risk"),
        wait_minutes=24 * 60,  # a day for the customer to come back by themselves: then nothing is sent
        rechecks=["still_quiet"],
        cap=Cap(messages=1, days=90),  # one nudge a season: more would nag someone already drifting away
        personalization=True,  # it acts on remembered behaviour (the features used, the conversations had)
        action="nudge_churn_risk",  # the help the next best action chose; nothing chosen, no message at all
        holdout_share=DEFAULT_HOLDOUT_SHARE,  # whether the nudge keeps customers: measured, never assumed
        converts_on="activity",
        channels=["email"],  # a shop's first message on WhatsApp needs a template outside 24 hours
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
        update = change.model_dump(exclude_none=True, exclude={"within_minutes", "before_minutes"})
        if change.within_minutes is not None and shipped.trigger.repeat is not None:
            repeat = shipped.trigger.repeat.model_copy(update={"within_minutes": change.within_minutes})
            update["trigger"] = shipped.trigger.model_copy(update={"repeat": repeat})
        if change.before_minutes is not None and shipped.before is not None:
            update["before"] = shipped.before.model_copy(update={"minutes": change.before_minutes})
        result.append(JourneyDefinition.model_validate({**shipped.model_dump(), **update}))
    return result


def triggers(definition: JourneyDefinition) -> list[Trigger]:
    """Every trigger of the journey: its own, then the others that also start it."""
    return [definition.trigger, *definition.also_triggered_by]


def trigger_for(definition: JourneyDefinition, signal_kind: str) -> Trigger | None:
    return next((t for t in triggers(definition) if t.signal == signal_kind), None)


def triggered_by(signal_kind: str, settings: JourneySettings | None = None) -> list[JourneyDefinition]:
    return [d for d in definitions(settings) if trigger_for(d, signal_kind) is not None]


def reads(definition: JourneyDefinition) -> frozenset[str]:
    """The signals a journey reads after it started (its rechecks', a repeat's, a first start's), which the runner
    remembers as they come."""
    kinds: set[str] = set()
    for recheck in definition.rechecks:
        kinds |= RECHECK_READS[recheck]
    for trigger in triggers(definition):
        if trigger.repeat is not None or trigger.first:
            kinds.add(trigger.signal)
    return frozenset(kinds)


# Every signal a shipped journey starts from or reads later: the `signals-to-journeys` rule carries exactly these.
SIGNALS: frozenset[str] = frozenset(
    {t.signal for d in SHIPPED.values() for t in triggers(d)} | {k for d in SHIPPED.values() for k in reads(d)}
)
