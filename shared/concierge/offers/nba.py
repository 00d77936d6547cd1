"""The next best action at a moment: an offer the guardrails allow, proactive help, or nothing (docs/offers.md).

The one call the engines (and the journeys) make is

    result = nba.consider(services, nba.offer_context(...), help=[...])

which reads the customer's recent exposures (one Query), runs `guardrails.decide` for each offer of the moment,
records every decision (offered, held out, refused) in the customer's audit trail, scores the candidates, chooses
one, logs the choice and, when an offer is chosen, publishes `offer.presented`. `render_offer` then writes the
offer's wording, and `offer_tool_schemas` gives a model the `accept_offer` tool for the offer it may present.

Scoring is simple on purpose, so that each choice can be explained in a line:

    score = prior acceptance rate × benefit            (money, in the shop's currency)
    offer benefit = the amount at stake (item, else order, else cart value) − what the offer costs the shop
    help benefit  = the value the caller puts on it (e.g. the order a tracking update is about)
    nothing       = 0, always a candidate, and chosen unless another candidate scores above 0

Offers are decided in score order and a decision that passes every guardrail (offered or held out) is an exposure,
so "never twice in a conversation" leaves at most one offer per conversation moment; a held-out customer gets the
same choice among help and nothing. The offer decided `offer` competes with help on score: the holdout comparison
is then the policy "this offer is available to the next best action" against "it is not" (intent to treat), which
stays unbiased because both groups go through the same choice.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from concierge.conversation.api import Channel
from concierge.offers import issuing
from concierge.offers.catalogue import (
    AmountOff,
    CreditBonus,
    Offer,
    OfferKind,
    OfferMoment,
    PercentOff,
    placeholders,
    render,
)
from concierge.offers.guardrails import Exposure, OfferContext, OfferDecision, OfferFacts, Outcome, decide

if TYPE_CHECKING:
    from concierge.conversation.turn import Profile, ProfileRead
    from concierge.journeys.subscriptions import CustomerPlans
    from concierge.memory.store import MemoryStore
    from concierge.platform.events import EventPublisher
    from concierge.platform.settings import OfferSettings
    from concierge.store.merchant import MerchantProfile
    from concierge.store.models import Customer, Order, Product

logger = logging.getLogger(__name__)

# How often a customer takes each kind of offer when it is made, before the shop has its own figures: deliberately
# modest guesses, overridden per offer id or per kind by `consider(acceptance=...)`. The lift report measures the
# real effect; these only order the candidates of one moment.
DEFAULT_ACCEPTANCE: dict[OfferKind, float] = {
    OfferKind.OUT_OF_STOCK_ALTERNATIVE: 0.20,
    OfferKind.RETURN_RETENTION: 0.15,
    OfferKind.FEEDBACK_SUBSCRIBE: 0.05,
    OfferKind.FEATURE_TRIAL: 0.10,
    OfferKind.CART_REMINDER: 0.08,
}
# The benefit of an offer whose moment knows no amount (a feature question): a nominal unit, so any help with a
# money value outranks it.
NOMINAL_STAKE = Decimal("1")
# How far back exposures are read when the moment's offers have no cap longer than this.
MIN_LOOKBACK_DAYS = 1


class OfferServices(Protocol):
    """What `consider` uses; `actions.executor.ActionServices` (wiring.action_services) is one."""

    memory: MemoryStore
    events: EventPublisher

    @property
    def settings(self) -> OfferSettings: ...

    def merchant(self) -> MerchantProfile: ...


class MoodSignals(Protocol):
    """The two signals of a message the guardrails read (`concierge.reasoning.signals.Signals` has them)."""

    @property
    def frustrated(self) -> bool: ...

    @property
    def sentiment(self) -> float: ...


class HelpCandidate(BaseModel):
    """Proactive help the caller can give at this moment (an article, a tracking update, another size in stock),
    scored against the offers: `acceptance` × `value`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, max_length=80, description="what the caller calls it, e.g. 'article:returns'")
    description: str = Field("", max_length=200, description="for the log and the console, never customer data")
    value: Decimal = Field(ge=0, description="what solving it is worth, in the shop's currency")
    acceptance: float = Field(0.5, ge=0, le=1, description="how likely the customer is to use it")


class Candidate(BaseModel):
    """One scored option of the moment, with the reasons of its score."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["offer", "help", "nothing"]
    id: str | None = Field(None, description="the offer's id, or the help candidate's")
    score: float = Field(ge=0)
    eligible: bool = Field(description="it could be chosen (an offer decided `offer`, help, nothing)")
    reasons: list[str]


class NextBestAction(BaseModel):
    """What `consider` chose, among which scored candidates, and every offer decision it made (all recorded)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    moment: OfferMoment
    customer_id: str
    conversation_id: str | None
    chosen: Candidate
    candidates: list[Candidate] = Field(description="best first; the chosen one among them")
    decisions: list[OfferDecision] = Field(description="every decision made, in the order they were made")

    @property
    def offer_decision(self) -> OfferDecision | None:
        """The decision of the chosen offer (presented), or None when help or nothing was chosen."""
        if self.chosen.kind != "offer":
            return None
        return next(d for d in self.decisions if d.offer_id == self.chosen.id)


class MomentValues(BaseModel):
    """What a moment can put into an offer's wording (catalogue.PLACEHOLDERS); the engine fills what it knows."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    first_name: str | None = None
    shop: str | None = None
    wanted: str | None = Field(None, description="the sold-out variant the customer wanted")
    alternative: str | None = Field(None, description="what is offered instead")
    item: str | None = Field(None, description="the item being returned")
    product: str | None = Field(None, description="the product praised")
    feature: str | None = None
    items: list[str] = Field(default_factory=list, description="the cart's items")
    refund: Decimal | None = Field(None, ge=0, description="the refund a return would pay")
    currency: str | None = Field(None, description="the shop's or the order's currency, for amounts")
    code: str | None = Field(None, description="the offer's code, once issued (accept_offer)")


class OfferRenderError(ValueError):
    """The wording uses a placeholder the moment did not give a value for."""


# --- the context ------------------------------------------------------------------------------------------------------
def offer_context(
    *,
    customer_id: str,
    moment: OfferMoment,
    channel: Channel,
    now: datetime,
    conversation_id: str | None = None,
    signals: MoodSignals | None = None,
    sentiments: Sequence[float] = (),
    person_owns: bool = False,
    shop_at_fault: bool = False,
    declined: bool = False,
    profile: Profile | ProfileRead | None = None,
    product: Product | None = None,
    item_value: Decimal | None = None,
    order: Order | None = None,
    cart_value: Decimal | None = None,
    cart_idle_hours: float | None = None,
    plan: str | None = None,
    plans: CustomerPlans | None = None,
    customer: Customer | None = None,
    orders: Sequence[Order] = (),
    exposures: Sequence[Exposure] = (),
) -> OfferContext:
    """The `OfferContext` of a moment from what an engine knows there: the message's signals (`frustrated`,
    `sentiment`) and the conversation's earlier `sentiments`; whether a person owns it and whether the shop is at
    fault; the customer's `profile` (its `personalization` is their consent; no profile: they never opted out, as
    everywhere in memory); the product the moment is about (its id and category); the item's value, the order (its
    total) or the cart; the `plan` a paid feature asked about belongs to, and the customer's `plans` (held, tried);
    and, used only with consent, the customer's history (`customer`, their earlier `orders`).
    `consider` replaces `exposures` with the stored ones."""
    consent = _consent(profile)
    earlier = [o for o in orders if o.placed_at < now and o.status.value != "cancelled"]
    history: dict[str, Any] = {}
    if consent:  # the customer's past is read only with their consent to personalization
        if earlier:
            history["previous_orders"] = len(earlier)
            history["lifetime_spend"] = sum((o.total for o in earlier), Decimal("0.00"))
            history["days_since_last_order"] = max(0, (now - max(o.placed_at for o in earlier)).days)
        elif customer is not None:
            history["previous_orders"] = 0
            history["lifetime_spend"] = Decimal("0.00")
        if customer is not None:
            history["customer_days"] = max(0, (now - customer.created_at).days)
    return OfferContext(
        customer_id=customer_id,
        conversation_id=conversation_id,
        moment=moment,
        channel=channel,
        now=now,
        product_id=product.id if product else None,
        product_category=product.category if product else None,
        cart_idle_hours=cart_idle_hours,
        plan=plan,
        plans_held=sorted(plans.held) if plans else [],
        trials_had=sorted(plans.trials_had) if plans else [],
        frustrated=signals.frustrated if signals else False,
        sentiment=max(-1.0, min(1.0, signals.sentiment)) if signals else None,
        sentiments=list(sentiments),
        person_owns=person_owns,
        shop_at_fault=shop_at_fault,
        declined=declined,
        personalization_consent=consent,
        exposures=list(exposures),
        facts=OfferFacts(
            order_value=order.total if order else None,
            item_value=item_value,
            cart_value=cart_value,
            **history,
        ),
    )


def consent(profile: Profile | ProfileRead | None) -> bool:
    """The customer's consent to personalization (`Profile.personalization`); no profile yet: consent."""
    return _consent(profile)


def _consent(profile: Profile | ProfileRead | None) -> bool:
    from concierge.conversation.turn import ProfileRead

    inner = profile.profile if isinstance(profile, ProfileRead) else profile  # a ProfileRead wraps one, or None
    # no profile yet: nothing opted out of (Profile.personalization defaults to consent, as memory reads it)
    return True if inner is None else inner.personalization


# --- scoring ----------------------------------------------------------------------------------------------------------
def stake(facts: OfferFacts) -> tuple[Decimal, str]:
    """The amount a moment is about, and where it came from."""
    for name in ("item_value", "order_value", "cart_value"):
        amount: Decimal | None = getattr(facts, name)
        if amount is not None:
            return amount, name.replace("_", " ")
    return NOMINAL_STAKE, "no amount known at this moment: a nominal 1"


def cost(offer: Offer, amount: Decimal) -> Decimal:
    """What the offer costs the shop on `amount`."""
    match offer.value:
        case PercentOff(percent=percent) | CreditBonus(percent=percent):
            return (amount * percent / 100).quantize(Decimal("0.01"))
        case AmountOff(amount=off):
            return min(off, amount)
    return Decimal("0.00")


def acceptance_rate(offer: Offer, acceptance: Mapping[str, float] | None) -> tuple[float, str]:
    """The prior acceptance rate of the offer: configured per offer id, then per kind, else the default of its kind."""
    for key in (offer.id, offer.kind.value):
        if acceptance and key in acceptance:
            return acceptance[key], f"acceptance {acceptance[key]:.2f} (configured for {key})"
    rate = DEFAULT_ACCEPTANCE[offer.kind]
    return rate, f"acceptance {rate:.2f} (default for {offer.kind.value})"


def score_offer(offer: Offer, facts: OfferFacts, acceptance: Mapping[str, float] | None = None) -> Candidate:
    """The offer's prior score, eligible until its decision says otherwise."""
    rate, rate_reason = acceptance_rate(offer, acceptance)
    amount, source = stake(facts)
    offer_cost = cost(offer, amount)
    benefit = max(amount - offer_cost, Decimal("0"))
    score = float(benefit) * rate
    return Candidate(
        kind="offer",
        id=offer.id,
        score=round(score, 4),
        eligible=True,
        reasons=[
            rate_reason,
            f"benefit {benefit} = {source} {amount} − cost {offer_cost}"
            + (f" ({issuing.value_words(offer.value)})" if offer.value else ""),
            f"score {score:.2f}",
        ],
    )


def score_help(help_candidate: HelpCandidate) -> Candidate:
    score = float(help_candidate.value) * help_candidate.acceptance
    return Candidate(
        kind="help",
        id=help_candidate.id,
        score=round(score, 4),
        eligible=True,
        reasons=[
            f"acceptance {help_candidate.acceptance:.2f} (given by the caller)",
            f"benefit {help_candidate.value}"
            + (f": {help_candidate.description}" if help_candidate.description else ""),
            f"score {score:.2f}",
        ],
    )


NOTHING = Candidate(
    kind="nothing",
    id=None,
    score=0.0,
    eligible=True,
    reasons=["doing nothing is always possible; chosen unless another candidate scores above 0"],
)
_RANK = {"help": 0, "offer": 1, "nothing": 2}  # on equal scores: help first (empathy first), then an offer


def choose(candidates: Sequence[Candidate]) -> Candidate:
    """The eligible candidate with the highest score above 0 (help before an offer on a tie), else nothing."""
    best = max(
        (c for c in candidates if c.eligible and c.score > 0),
        key=lambda c: (c.score, -_RANK[c.kind]),
        default=None,
    )
    return best or NOTHING


# --- the decision -----------------------------------------------------------------------------------------------------
def moment_offers(merchant: MerchantProfile, moment: OfferMoment) -> list[Offer]:
    """The catalogue's offers switched on for this moment."""
    return [o for o in merchant.offers if o.enabled and o.trigger.moment is moment]


def lookback(offers: Sequence[Offer], now: datetime, conversation_started_at: datetime | None = None) -> datetime:
    """From when exposures are read: the longest cap of the moment's offers, and the whole conversation."""
    days = max([MIN_LOOKBACK_DAYS, *(o.cap.days for o in offers)])
    since = now - timedelta(days=days)
    return min(since, conversation_started_at) if conversation_started_at else since


def consider(
    services: OfferServices,
    context: OfferContext,
    *,
    help: Sequence[HelpCandidate] = (),
    acceptance: Mapping[str, float] | None = None,
    conversation_started_at: datetime | None = None,
    locale: str | None = None,
    replay_since: datetime | None = None,
) -> NextBestAction:
    """The next best action at `context`'s moment (module docstring). Reads the customer's exposures (one Query),
    decides each offer of the moment, records every decision (with `locale`, for the report's segments only: no rule
    reads it), chooses, logs, and publishes `offer.presented` for a chosen offer. Raises settings.OfferSaltMissing
    when the moment has offers and no holdout salt is set.

    `replay_since` (the time the turn's message arrived): an exposure of this conversation and moment decided since
    then was decided by an earlier run of this same turn (a retried step); it is returned as it was, nothing is
    decided, stored or published again, so a retry presents the offer its record says was presented."""
    merchant = services.merchant()
    offers = moment_offers(merchant, context.moment)
    scored: list[Candidate] = [score_help(h) for h in help]
    decisions: list[OfferDecision] = []
    if offers:
        salt = services.settings.holdout_salt()
        since = lookback(offers, context.now, conversation_started_at)
        earlier = services.memory.offer_decisions(context.customer_id, since, exposures_only=True)
        if replay_since is not None and context.conversation_id is not None:
            replayed = [
                d
                for d in earlier
                if d.conversation_id == context.conversation_id
                and d.moment is context.moment
                and d.decided_at >= replay_since
            ]
            if replayed:
                return _replay(context, replayed, offers, help, acceptance)
        context = context.model_copy(update={"exposures": [d.exposure for d in earlier if d.exposure]})
        priors = sorted(
            ((score_offer(o, context.facts, acceptance), o) for o in offers), key=lambda pair: -pair[0].score
        )
        exposed = False
        for prior, offer in priors:
            refused = issuing.refusal(offer, services.settings.discount_max_percent)
            if refused is not None:  # never decided: it could not be honoured
                scored.append(_ineligible(prior, f"not offered: {refused[1]}"))
                continue
            if exposed and context.conversation_id is None:  # a journey: one offer per moment
                scored.append(_ineligible(prior, "not decided: one offer per moment"))
                continue
            decision = decide(offer, context, salt=salt)
            decisions.append(decision)
            if decision.exposure is not None:
                exposed = True
                context = context.model_copy(update={"exposures": [*context.exposures, decision.exposure]})
            if decision.outcome is Outcome.OFFER:
                scored.append(prior)
            else:
                scored.append(
                    _ineligible(prior, f"{decision.outcome.value}: {decision.reason.value} ({decision.detail})")
                )
    chosen = choose([*scored, NOTHING])
    decisions = [
        d.model_copy(update={"presented": chosen.kind == "offer" and chosen.id == d.offer_id})
        if d.outcome is Outcome.OFFER
        else d
        for d in decisions
    ]
    services.memory.put_offer_decisions(decisions, locale=locale)
    candidates = sorted([*scored, NOTHING], key=lambda c: (not c.eligible, -c.score, _RANK[c.kind]))
    result = NextBestAction(
        moment=context.moment,
        customer_id=context.customer_id,
        conversation_id=context.conversation_id,
        chosen=chosen,
        candidates=candidates,
        decisions=decisions,
    )
    _log(result)
    if result.offer_decision is not None:
        _publish(services, result.offer_decision, chosen.score)
    return result


def _replay(
    context: OfferContext,
    decisions: list[OfferDecision],
    offers: Sequence[Offer],
    help: Sequence[HelpCandidate],
    acceptance: Mapping[str, float] | None,
) -> NextBestAction:
    """The result of this turn's earlier run, from its stored exposures (`consider`, `replay_since`)."""
    by_id = {o.id: o for o in offers}
    presented = next((d for d in decisions if d.presented and d.offer_id in by_id), None)
    candidates = [score_help(h) for h in help]
    chosen = NOTHING
    if presented is not None:
        chosen = score_offer(by_id[presented.offer_id], context.facts, acceptance)
        candidates.append(chosen)
    candidates.append(NOTHING)
    return NextBestAction(
        moment=context.moment,
        customer_id=context.customer_id,
        conversation_id=context.conversation_id,
        chosen=chosen,
        candidates=sorted(candidates, key=lambda c: (not c.eligible, -c.score, _RANK[c.kind])),
        decisions=decisions,
    )


def _ineligible(prior: Candidate, reason: str) -> Candidate:
    return prior.model_copy(update={"eligible": False, "score": 0.0, "reasons": [reason, *prior.reasons]})


def _log(result: NextBestAction) -> None:
    """Ids, outcomes and reasons only: never the customer's words or values."""
    logger.info(
        "next best action",
        extra={
            "customer_id": result.customer_id,
            "conversation_id": result.conversation_id,
            "moment": result.moment.value,
            "chosen": f"{result.chosen.kind}:{result.chosen.id}" if result.chosen.id else result.chosen.kind,
            "decisions": [
                {
                    "offer_id": d.offer_id,
                    "outcome": d.outcome.value,
                    "reason": d.reason.value,
                    "group": d.group.value,
                    "presented": d.presented,
                }
                for d in result.decisions
            ],
        },
    )


def _publish(services: OfferServices, decision: OfferDecision, score: float) -> None:
    from concierge.platform.events import EventPublishError, OfferPresented

    event = OfferPresented(
        occurred_at=decision.decided_at,
        offer_id=decision.offer_id,
        kind=decision.kind.value,
        moment=decision.moment.value,
        conversation_id=decision.conversation_id,
        customer_id=decision.customer_id,
        channel=decision.channel.value,
        holdout_share=decision.holdout_share,
        value_type=decision.value.type if decision.value else None,
        score=score,
    )
    try:
        services.events.publish(event)
    except EventPublishError:  # the decision is stored, which is the record: the turn goes on
        logger.warning("offer.presented not published", extra={"offer_id": decision.offer_id}, exc_info=True)


# --- wording and tools ------------------------------------------------------------------------------------------------
def shows_code(offer: Offer) -> bool:
    """The offer's message itself shows its code: the code is issued (accept_offer) when it is presented."""
    return "code" in placeholders(offer.wording.message)


def wording_values(offer: Offer, values: MomentValues) -> dict[str, str]:
    """The placeholders' values from the moment: {value} in words, {refund} and {credit} as money."""
    out: dict[str, str] = {
        name: text
        for name in ("first_name", "shop", "wanted", "alternative", "item", "product", "feature", "code")
        if (text := getattr(values, name)) is not None
    }
    if values.items:
        items = values.items
        out["items"] = items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
    if offer.value is not None:
        out["value"] = issuing.value_words(offer.value, values.currency)
    if values.refund is not None and values.currency:
        from concierge.actions.proposal import money

        out["refund"] = money(values.refund, values.currency)
        credit = issuing.credit(offer.value, values.refund)
        if credit is not None:
            out["credit"] = money(credit, values.currency)
    return out


def render_offer(
    offer: Offer, values: MomentValues, part: Literal["message", "accepted", "subject"] = "message"
) -> str:
    """The offer's `part` (its message, accepted reply or email subject) with its placeholders filled from the moment;
    OfferRenderError naming a placeholder the moment did not fill."""
    template = getattr(offer.wording, part)
    if template is None:
        raise OfferRenderError(f"offer '{offer.id}' has no wording.{part}")
    try:
        return render(template, wording_values(offer, values))
    except ValueError as exc:
        raise OfferRenderError(f"offer '{offer.id}': wording.{part}: {exc}") from None


def offer_tool_schemas(offers: Sequence[Offer], decisions: Sequence[OfferDecision]) -> list[dict[str, Any]]:
    """The `accept_offer` tool definition (JSON schema from its pydantic model), its `offer_id` narrowed to the offers
    decided `offer` and presented in `decisions` (`NextBestAction.decisions`; a later turn uses `accept_offer_tools`):
    none, no tool. The model then sees only what the guardrails allowed; the action layer checks it again."""
    return accept_offer_tools(offers, [d.offer_id for d in decisions if d.outcome is Outcome.OFFER and d.presented])


def accept_offer_tools(offers: Sequence[Offer], presented: Sequence[str]) -> list[dict[str, Any]]:
    """`offer_tool_schemas` from the ids of the offers presented (`ConversationSnapshot.offers_presented`, which the
    reply step records from the next best action's results): the enabled ones among them, or no tool."""
    from concierge.actions.tools import tool_schema

    chosen = [o for o in offers if o.id in set(presented) and o.enabled]
    if not chosen:
        return []
    schema = tool_schema("accept_offer")
    properties = schema["input_schema"]["properties"]
    properties["offer_id"] = {**properties["offer_id"], "enum": [o.id for o in chosen]}
    terms = "; ".join(
        f"{o.id}: {o.kind.value.replace('_', ' ')}, {issuing.value_words(o.value) or 'no code'}" for o in chosen
    )
    schema["description"] = f"{schema['description']} Offers made in this conversation: {terms}."
    return [schema]
