"""Whether an offer is made at a moment: `decide(offer, context, salt=...)`, the one function both engines call.

Code decides, not a prompt: the engines (and the journeys that send cart reminders) describe the moment in an
`OfferContext` and get an `OfferDecision` back, which is also the record to log and store, offered or not. The
checks run in a fixed order and the first that refuses names the reason:

1. the offer is switched off, or the moment is not its trigger;
2. never while a person owns the conversation;
3. never to a frustrated or upset customer (this message or earlier in the conversation);
4. never what the customer has turned down in so many words ("no store credit", "I don't want a discount");
5. never when the shop is at fault (damaged, faulty, wrong or late item): that is owed a fix, not an offer;
   a trial is never offered to a customer who has the plan or has had a trial of it;
6. eligibility: the channel, consent to personalization where the offer needs it, then the rules on the facts;
7. never twice in a conversation (any offer), and at most the offer's cap per customer and period;
8. the holdout: a customer in the holdout group is recorded as held out and gets the same conversation without
   the offer.

The holdout comes last, so the held-out customers are exactly those who would have been offered it: the two groups
are comparable. For the same reason a held-out decision counts as an exposure, for the cap and for "never twice in
a conversation", like an offer made.

The context has no field for a protected attribute (age, gender, ethnicity, religion, health…) nor for the usual
proxies (name, address, locale): an offer cannot depend on what it is never given.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from concierge.conversation.api import Channel
from concierge.offers.catalogue import Fact, FreeTrial, Offer, OfferKind, OfferMoment, OfferValue
from concierge.offers.holdout import Group, assign

if TYPE_CHECKING:
    from collections.abc import Sequence

    from concierge.memory.storage import Put
    from concierge.memory.store import MemoryStore

# VADER's compound score (the sentiment signal of every message, concierge.reasoning.signals): at or below this a
# customer is upset ("I hate it" -0.57, "so disappointing" -0.81). Mild regret ("unfortunately it's too small", -0.34)
# is not, so a return can still be met with another size. Stricter than the handoff trigger (-0.6): an offer to an
# upset customer is a worse mistake than one not made.
UPSET_SENTIMENT = -0.5


class Exposure(BaseModel):
    """An earlier decision that passed every guardrail (offered or held out), as the cap and the once-per-
    conversation rule count them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    offer_id: str
    conversation_id: str | None = None
    at: AwareDatetime


class OfferFacts(BaseModel):
    """The facts eligibility rules may use (`catalogue.Fact`); None where the moment does not know one."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    order_value: Decimal | None = Field(None, ge=0)
    item_value: Decimal | None = Field(None, ge=0)
    cart_value: Decimal | None = Field(None, ge=0)
    previous_orders: int | None = Field(None, ge=0)
    lifetime_spend: Decimal | None = Field(None, ge=0)
    customer_days: int | None = Field(None, ge=0)
    days_since_last_order: int | None = Field(None, ge=0)

    def get(self, fact: Fact) -> Decimal | int | None:
        value: Decimal | int | None = getattr(self, fact.value)
        return value


class OfferContext(BaseModel):
    """The moment, as the engine or journey sees it. Signals come in as values: nothing here reads engine state."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    customer_id: str = Field(min_length=1)
    conversation_id: str | None = Field(
        None, description="the conversation (a cart reminder's: the one its journey opens); None outside one"
    )
    moment: OfferMoment
    channel: Channel
    now: AwareDatetime
    product_id: str | None = Field(None, description="the product the moment is about (wanted, returned, praised)")
    product_category: str | None = None
    cart_idle_hours: float | None = Field(None, ge=0, description="cart_abandoned: hours since the cart was left")
    plan: str | None = Field(None, description="paid_feature_interest: the plan that gives the feature asked about")
    plans_held: list[str] = Field(
        default_factory=list, description="the plans the customer has now: paid, on trial or paused (their codes)"
    )
    trials_had: list[str] = Field(default_factory=list, description="the plans the customer has had a trial of")
    # the customer's mood: Signals.frustrated and Signals.sentiment of this message, and the conversation's so far
    frustrated: bool = False
    sentiment: float | None = Field(None, ge=-1, le=1)
    sentiments: list[float] = Field(default_factory=list, description="earlier messages of this conversation")
    person_owns: bool = Field(False, description="a person owns the conversation (handoff)")
    declined: bool = Field(
        False, description="the customer turned offers, credit or discounts down in so many words (moments.declines)"
    )
    shop_at_fault: bool = Field(False, description="the item arrived damaged, faulty, wrong or late")
    personalization_consent: bool = Field(description="Profile.personalization: consent to use their history")
    exposures: list[Exposure] = Field(
        default_factory=list, description="the customer's earlier exposures, at least the longest cap's period"
    )
    facts: OfferFacts = Field(default_factory=OfferFacts)


class Outcome(StrEnum):
    OFFER = "offer"
    HOLD_OUT = "hold_out"  # would have been offered; the customer is in the holdout group
    NO_OFFER = "no_offer"


class Reason(StrEnum):
    ELIGIBLE = "eligible"
    HOLDOUT_GROUP = "holdout_group"
    OFFER_DISABLED = "offer_disabled"
    NOT_THIS_MOMENT = "not_this_moment"
    PERSON_OWNS_CONVERSATION = "person_owns_conversation"
    CUSTOMER_FRUSTRATED = "customer_frustrated"
    CUSTOMER_UPSET = "customer_upset"
    CUSTOMER_DECLINED = "customer_declined"
    SHOP_AT_FAULT = "shop_at_fault"
    ALREADY_ON_PLAN = "already_on_plan"
    TRIAL_USED = "trial_used"
    CHANNEL_NOT_ELIGIBLE = "channel_not_eligible"
    NO_PERSONALIZATION_CONSENT = "no_personalization_consent"
    NOT_ELIGIBLE = "not_eligible"
    ALREADY_IN_CONVERSATION = "already_in_conversation"
    CAP_REACHED = "cap_reached"


class OfferDecision(BaseModel):
    """One decision, offered or not, with its reason: the record to log and to store. It holds ids, the offer and
    the rule that decided, never a customer's values or words."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    offer_id: str
    kind: OfferKind
    moment: OfferMoment
    customer_id: str
    conversation_id: str | None
    channel: Channel
    decided_at: datetime
    outcome: Outcome
    reason: Reason
    detail: str = Field(description="the reason in words, for a log line or the console")
    group: Group = Field(description="the customer's group for this offer, recorded whatever the outcome")
    holdout_share: float
    value: OfferValue | None = Field(None, description="what was offered (or held out), as configured then")
    presented: bool | None = Field(
        None,
        description="set by the next best action (offers/nba.py) on an `offer` decision: whether it was the action "
        "chosen and put in front of the customer; only a presented offer can be taken (accept_offer)",
    )

    @property
    def exposure(self) -> Exposure | None:
        """What later decisions count (`OfferContext.exposures`): an offer made or held out."""
        if self.outcome is Outcome.NO_OFFER:
            return None
        return Exposure(offer_id=self.offer_id, conversation_id=self.conversation_id, at=self.decided_at)


def decide(offer: Offer, context: OfferContext, *, salt: str) -> OfferDecision:
    """Offer, hold out or not, and why. `salt` keys the holdout assignment (`holdout.assign`): a stable identifier
    of the merchant's deployment, the same in every function."""
    group = assign(salt, offer.id, context.customer_id, offer.holdout_share)
    refusal = _refusal(offer, context)

    def decision(outcome: Outcome, reason: Reason, detail: str) -> OfferDecision:
        return OfferDecision(
            offer_id=offer.id,
            kind=offer.kind,
            moment=context.moment,
            customer_id=context.customer_id,
            conversation_id=context.conversation_id,
            channel=context.channel,
            decided_at=context.now,
            outcome=outcome,
            reason=reason,
            detail=detail,
            group=group,
            holdout_share=offer.holdout_share,
            value=offer.value if outcome is not Outcome.NO_OFFER else None,
        )

    if refusal is not None:
        return decision(Outcome.NO_OFFER, *refusal)
    if group is Group.HOLDOUT:
        return decision(
            Outcome.HOLD_OUT, Reason.HOLDOUT_GROUP, f"in the holdout group ({offer.holdout_share:.0%} of customers)"
        )
    return decision(Outcome.OFFER, Reason.ELIGIBLE, "every guardrail passed")


def _refusal(offer: Offer, context: OfferContext) -> tuple[Reason, str] | None:
    checks = (_trigger, _ownership, _mood, _declined, _fault, _plan, _eligibility, _repetition)
    for check in checks:
        refused = check(offer, context)
        if refused is not None:
            return refused
    return None


def _trigger(offer: Offer, context: OfferContext) -> tuple[Reason, str] | None:
    trigger = offer.trigger
    if not offer.enabled:
        return Reason.OFFER_DISABLED, "the offer is switched off in merchant.json"
    if context.moment is not trigger.moment:
        return Reason.NOT_THIS_MOMENT, f"the offer applies at {trigger.moment.value}"
    category = (context.product_category or "").strip().lower()
    if trigger.categories and category not in trigger.categories:
        return Reason.NOT_THIS_MOMENT, "the product is not in the offer's categories"
    if trigger.products and context.product_id not in trigger.products:
        return Reason.NOT_THIS_MOMENT, "the product is not one of the offer's products"
    if trigger.after_hours is not None and (context.cart_idle_hours or 0) < trigger.after_hours:
        return Reason.NOT_THIS_MOMENT, f"the cart has not been left for {trigger.after_hours} hours yet"
    if isinstance(offer.value, FreeTrial) and context.plan != offer.value.plan:
        return Reason.NOT_THIS_MOMENT, f"the feature asked about is not part of plan {offer.value.plan}"
    return None


def _ownership(offer: Offer, context: OfferContext) -> tuple[Reason, str] | None:
    if context.person_owns:
        return Reason.PERSON_OWNS_CONVERSATION, "a person owns the conversation"
    return None


def _mood(offer: Offer, context: OfferContext) -> tuple[Reason, str] | None:
    if context.frustrated:
        return Reason.CUSTOMER_FRUSTRATED, "the customer is frustrated"
    moods = [*context.sentiments, *([context.sentiment] if context.sentiment is not None else [])]
    if any(mood <= UPSET_SENTIMENT for mood in moods):
        return Reason.CUSTOMER_UPSET, f"a message of this conversation has sentiment at or below {UPSET_SENTIMENT}"
    return None


def _declined(offer: Offer, context: OfferContext) -> tuple[Reason, str] | None:
    if context.declined:
        return Reason.CUSTOMER_DECLINED, "the customer said they want no credit, discount or offer"
    return None


def _fault(offer: Offer, context: OfferContext) -> tuple[Reason, str] | None:
    if context.shop_at_fault:
        return Reason.SHOP_AT_FAULT, "the shop is at fault: the customer is owed a fix, not an offer"
    return None


def _plan(offer: Offer, context: OfferContext) -> tuple[Reason, str] | None:
    """A trial is for someone who has not tried the plan: never to a subscriber (paid, on trial or paused), nor a
    second trial of one plan."""
    if not isinstance(offer.value, FreeTrial):
        return None
    if offer.value.plan in context.plans_held:
        return Reason.ALREADY_ON_PLAN, f"the customer already has plan {offer.value.plan}"
    if offer.value.plan in context.trials_had:
        return Reason.TRIAL_USED, f"the customer has had a trial of plan {offer.value.plan}"
    return None


def _eligibility(offer: Offer, context: OfferContext) -> tuple[Reason, str] | None:
    eligibility = offer.eligibility
    if eligibility.channels and context.channel not in eligibility.channels:
        return Reason.CHANNEL_NOT_ELIGIBLE, f"the offer is not made on {context.channel.value}"
    if eligibility.needs_personalization_consent and not context.personalization_consent:
        return Reason.NO_PERSONALIZATION_CONSENT, "the offer needs consent to personalization"
    for rule in eligibility.rules:
        if not rule.holds(context.facts.get(rule.fact)):
            return Reason.NOT_ELIGIBLE, f"needs {rule.describe()}"
    return None


def _repetition(offer: Offer, context: OfferContext) -> tuple[Reason, str] | None:
    if context.conversation_id is not None and any(
        e.conversation_id == context.conversation_id for e in context.exposures
    ):
        return Reason.ALREADY_IN_CONVERSATION, "an offer was already made (or held out) in this conversation"
    since = context.now - timedelta(days=offer.cap.days)
    recent = sum(1 for e in context.exposures if e.offer_id == offer.id and e.at > since)
    if recent >= offer.cap.count:
        return Reason.CAP_REACHED, f"at most {offer.cap.count} per customer in {offer.cap.days} days"
    return None


def audit_item(memory: MemoryStore, decision: OfferDecision, erase_also: Sequence[Sequence[str]] = ()) -> Put:
    """The decision as an entry of the customer's audit trail (MemoryStore.audit_put, action 'offer.decided'): kept
    in their partition, so their data export shows it and erasure deletes it (with the records `erase_also` names),
    keyed by the decision's time so that `MemoryStore.offer_decisions` reads a time range in one Query. Written by
    `MemoryStore.put_offer_decisions`."""
    from concierge.memory.store import OFFER_DECIDED

    return memory.audit_put(
        decision.customer_id,
        OFFER_DECIDED,
        decision.model_dump(mode="json"),
        at=decision.decided_at,
        erase_also=erase_also,
    )
