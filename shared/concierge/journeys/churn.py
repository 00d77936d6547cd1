"""The churn_risk journey's own steps (docs/journeys.md, docs/churn.md): a customer the scheduled churn scoring found
at risk (a `churn.risk` signal, churn/scheduled.py) may get, after a day, one specific nudge, or nothing.

- the recheck: the customer is still quiet, with no sign-in, feature use or order since the day scored;
- the help, built in code from the reasons the model gave (feature codes only) and what the shop and the customer
  have, never from words:
  - an onboarding step of merchant.json the customer never took (no use of its feature in the activity kept) answers
    the reasons about using the product (sign-ins, feature use, a short tenure);
  - a feature of a plan the customer holds (merchant.json `subscriptions.plans[].features`) they never used answers
    the same reasons, the tenure aside;
  - a recent conversation that went badly (an Auto-CSAT of 2 or less, or a negative mean sentiment) answers the
    reasons about support (Auto-CSAT, sentiment, contacts): "is there anything we can still put right?", with a
    person offered;
  nothing answers the reasons about orders: no "we miss you" for a customer who stopped buying;
- the decision: `nba.consider` with those help candidates and nothing, never an offer (there is no offer kind for this
  moment: the shop's offers are left out of the choice). A candidate's value is the customer's spend over the last
  year (a nominal 1 without one) times the share of the reasons it answers (the first reason weighs 3, the second 2,
  the third 1), its acceptance a modest prior per kind. Nothing chosen: no message, and the run says why.

What the message says never names the score, the risk or a feeling ("you seem to be leaving"): only the step, the
feature and its help, or the earlier conversation's day. The runner (runner.py) calls these from its steps; the words
are outreach.py's `tell`, through `message` here; nothing here sends.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from statistics import fmean
from typing import TYPE_CHECKING, Any, Literal, cast

from concierge.churn.activity import KEPT_DAYS, ActivityStore, day_of
from concierge.churn.features import WINDOW_DAYS
from concierge.conversation.api import Channel
from concierge.conversation.turn import ConversationStatus
from concierge.platform.events import ChurnRisk
from concierge.store.models import OrderStatus

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from concierge.journeys.runner import JourneyServices
    from concierge.memory.store import MemoryStore
    from concierge.offers.nba import HelpCandidate
    from concierge.platform.events import EventPublisher, Signal
    from concierge.platform.settings import OfferSettings
    from concierge.store.merchant import MerchantProfile

logger = logging.getLogger(__name__)

HelpKind = Literal["step", "feature", "put_right"]
# The reasons (the model's feature codes) each kind of help answers. Nothing answers the orders' reasons
# (orders_90d, orders_365d, days_since_order): a customer who stopped buying is not written to about it.
USAGE = frozenset(
    {
        "days_since_sign_in",
        "sign_ins_30d",
        "sign_ins_90d",
        "feature_uses_30d",
        "feature_uses_90d",
        "features_used_90d",
    }
)
SUPPORT = frozenset({"auto_csat_90d", "sentiment_90d", "support_contacts_90d"})
ANSWERS: dict[HelpKind, frozenset[str]] = {
    "step": USAGE | {"tenure_days"},  # a step not taken answers a new customer's short tenure too
    "feature": USAGE,
    "put_right": SUPPORT,
}
# How likely each kind of help is to be used when it is given: modest priors, as the offers' (nba.DEFAULT_ACCEPTANCE);
# they order the candidates of one customer, nothing more. Putting something right comes first on a close call.
ACCEPTANCE: dict[HelpKind, float] = {"put_right": 0.4, "step": 0.3, "feature": 0.25}
WEIGHTS = (3, 2, 1)  # the reasons in order: the first moved the risk most; a fourth or fifth weighs 1
LOW_AUTO_CSAT = 2.0  # an Auto-CSAT at or below this is a conversation that went badly
NEGATIVE = -0.3  # so is a mean sentiment of the customer's messages at or below this
# The moment nba.consider is asked about: no offer kind applies at it (offers/catalogue.py), and the shop's offers are
# left out besides, so the choice is among help and nothing.
NBA_MOMENT = "churn_risk"


@dataclass(frozen=True)
class Help:
    """One thing the message could help with, found in the shop's and the customer's data."""

    kind: HelpKind
    id: str  # "step:<feature>", "feature:<code>", "put_right:<conversation id>"
    name: str = ""  # the step's or the feature's name, as merchant.json words it
    link: str | None = None  # its help link, as merchant.json gives it
    plan: str | None = None  # the plan a feature belongs to (its name)
    conversation_id: str | None = None
    started_at: str | None = None  # when the conversation to put right started (ISO)

    def context(self) -> dict[str, Any]:
        found: dict[str, Any] = {"kind": self.kind, "id": self.id}
        for name in ("name", "link", "plan", "conversation_id", "started_at"):
            if getattr(self, name):
                found[name] = getattr(self, name)
        return found


# the recheck ---------------------------------------------------------------------------------------------------------
def quiet_changed(signal: Signal, services: JourneyServices, at: datetime) -> str | None:
    """Why the customer is no longer quiet (a reason code), or None: a sign-in or a feature use on a day after the day
    scored, or an order placed after it (cancelled ones aside)."""
    assert isinstance(signal, ChurnRisk)  # the journey's trigger is churn.risk
    first, last = signal.as_of + timedelta(days=1), day_of(at)
    if first <= last:
        days = ActivityStore(services.memory).days(signal.customer_id, first, last)
        if any(d.sign_ins or d.feature_uses for d in days):
            return "active_since"
    orders = services.store.recent_orders(signal.customer_id, 10)
    if any(o.status is not OrderStatus.CANCELLED and day_of(o.placed_at) > signal.as_of for o in orders):
        return "ordered_since"
    return None


# the help ------------------------------------------------------------------------------------------------------------
def features_used(memory: MemoryStore, customer_id: str, at: datetime) -> frozenset[str]:
    """The feature codes the customer used in the activity kept (KEPT_DAYS)."""
    today = day_of(at)
    days = ActivityStore(memory).days(customer_id, today - timedelta(days=KEPT_DAYS), today)
    return frozenset().union(*(d.features for d in days))


def found_help(signal: ChurnRisk, services: JourneyServices, merchant: MerchantProfile, at: datetime) -> list[Help]:
    """What the message could help with: the first onboarding step not taken, the first feature of a plan the customer
    holds that they never used, and the latest conversation of the last 90 days that went badly."""
    from concierge.journeys.subscriptions import SubscriptionStore

    found: list[Help] = []
    used = features_used(services.memory, signal.customer_id, at)
    step = next((s for s in merchant.onboarding if s.feature not in used), None)
    if step is not None:
        found.append(Help(kind="step", id=f"step:{step.feature}", name=step.name, link=step.help))
    if merchant.subscriptions is not None:
        held = SubscriptionStore(services.memory).plans(signal.customer_id).held
        plans = [p for p in merchant.subscriptions.plans if p.code in held]
        feature = next(((p, f) for p in plans for f in p.features if f.code not in used), None)
        if feature is not None:
            plan, unused = feature
            found.append(
                Help(kind="feature", id=f"feature:{unused.code}", name=unused.name, link=unused.help, plan=plan.name)
            )
    bad = went_badly(services.memory, signal.customer_id, at)
    if bad is not None:
        conversation_id, started_at = bad
        found.append(
            Help(
                kind="put_right",
                id=f"put_right:{conversation_id}",
                conversation_id=conversation_id,
                started_at=started_at.isoformat(),
            )
        )
    return found


def went_badly(memory: MemoryStore, customer_id: str, at: datetime) -> tuple[str, datetime] | None:
    """The latest closed conversation the customer took part in, started in the last 90 days, whose Auto-CSAT is 2 or
    less or whose messages' mean sentiment is negative (-0.3 or less): its id and when it started."""
    conversations = memory.conversations_started(customer_id, at - timedelta(days=WINDOW_DAYS), at)
    for conversation in sorted(conversations, key=lambda c: c.started_at, reverse=True):
        if conversation.status is not ConversationStatus.CLOSED or not conversation.customer_turns:
            continue
        score = memory.get_score(conversation.conversation_id, "auto")
        low = score is not None and score.get("score") is not None and float(score["score"]) <= LOW_AUTO_CSAT
        upset = bool(conversation.sentiments) and fmean(conversation.sentiments) <= NEGATIVE
        if low or upset:
            return conversation.conversation_id, conversation.started_at
    return None


def stake(services: JourneyServices, merchant: MerchantProfile, customer_id: str, at: datetime) -> Decimal:
    """What the customer spent with the shop over the last year (in its currency; cancelled orders aside), or a
    nominal 1 without it: the amount a candidate's share of the reasons is a share of."""
    since = at - timedelta(days=365)
    orders = services.store.recent_orders(customer_id, 100)
    spent = sum(
        (
            o.total
            for o in orders
            if o.status is not OrderStatus.CANCELLED and o.currency == merchant.currency and since <= o.placed_at < at
        ),
        Decimal("0.00"),
    )
    return spent if spent > 0 else Decimal("1")


def candidates(found: list[Help], reasons: list[str], amount: Decimal) -> list[HelpCandidate]:
    """The help as the next best action scores it: value = the amount × the share of the reasons it answers,
    acceptance = its kind's prior."""
    from concierge.offers.nba import HelpCandidate

    weights = {code: (WEIGHTS[n] if n < len(WEIGHTS) else 1) for n, code in enumerate(reasons)}
    total = sum(weights.values())
    scored = []
    for help_ in found:
        answered = [code for code in reasons if code in ANSWERS[help_.kind]]
        share = Decimal(sum(weights[c] for c in answered)) / Decimal(total) if total else Decimal(0)
        scored.append(
            HelpCandidate(
                id=help_.id if len(help_.id) <= 80 else help_.id[:80],
                description=f"{help_.kind}: answers {', '.join(answered) or 'none of the reasons'}",
                value=(amount * share).quantize(Decimal("0.01")),
                acceptance=ACCEPTANCE[help_.kind],
            )
        )
    return scored


@dataclass
class _HelpOnly:
    """What `nba.consider` uses, with the shop's offers left out: the choice is among help and nothing."""

    memory: MemoryStore
    events: EventPublisher  # never used: no offer is decided, so none is presented
    profile: MerchantProfile

    @property
    def settings(self) -> OfferSettings:
        raise RuntimeError("no offer is decided at a churn nudge: the offers' settings are never read")

    def merchant(self) -> MerchantProfile:
        return self.profile.model_copy(update={"offers": []})


def decide(
    signal: Signal,
    services: JourneyServices,
    merchant: MerchantProfile,
    at: datetime,
    channel: Literal["email", "whatsapp"],
    conversation_id: str,
) -> dict[str, Any]:
    """What the message says and its answers need: the help chosen (`help`; a step or a feature also as `step`, as
    the onboarding nudge's answers read it) and the decision (`decision`: chosen, the candidates' ids and scores,
    and why nothing when nothing)."""
    from concierge.offers import nba
    from concierge.offers.catalogue import OfferMoment

    assert isinstance(signal, ChurnRisk)  # the journey's trigger is churn.risk
    found = found_help(signal, services, merchant, at)
    if not found:
        return _chose_nothing(signal, "no_help", [])
    profile = services.memory.get_profile(signal.customer_id)
    customer = services.store.get_customer(signal.customer_id)
    context = nba.offer_context(
        customer_id=signal.customer_id,
        conversation_id=conversation_id,
        moment=OfferMoment(NBA_MOMENT),
        channel=Channel(channel),
        now=at,
        profile=profile,
        customer=customer,
    )
    amount = stake(services, merchant, signal.customer_id, at)
    helpers = _HelpOnly(services.memory, cast("EventPublisher", services.events), merchant)
    result = nba.consider(helpers, context, help=candidates(found, signal.reasons, amount))
    listed = [f"{c.kind}:{c.id}" if c.id else c.kind for c in result.candidates]
    scores = {name: c.score for name, c in zip(listed, result.candidates, strict=True)}
    if result.chosen.kind != "help":
        return _chose_nothing(signal, "reasons_unanswered", listed, scores)
    chosen = next(h for h in found if h.id[:80] == result.chosen.id)
    decision = {"chosen": f"help:{chosen.id}", "candidates": listed, "scores": scores}
    logger.info("churn nudge", extra={"customer_id": signal.customer_id, "chosen": decision["chosen"]})
    told: dict[str, Any] = {"help": chosen.context(), "decision": decision}
    if chosen.kind in ("step", "feature"):  # the onboarding nudge's answers read it so ("how do I do that?")
        told["step"] = {
            "feature": chosen.id.split(":", 1)[1],
            "name": chosen.name,
            **({"help": chosen.link} if chosen.link else {}),
        }
    return told


def _chose_nothing(
    signal: ChurnRisk, why: str, listed: list[str], scores: dict[str, float] | None = None
) -> dict[str, Any]:
    """No message: `no_help` (nothing in the shop's or the customer's data to help with), `reasons_unanswered` (help
    was found, but none answers the reasons the customer is at risk for)."""
    logger.info("churn nudge", extra={"customer_id": signal.customer_id, "chosen": "nothing", "why": why})
    return {"decision": {"chosen": "nothing", "why": why, "candidates": listed, "scores": scores or {}}}


def withheld(context: dict[str, Any]) -> str | None:
    """Why no message goes (the run's reason), or None when help was chosen."""
    return None if context.get("help") else "nothing_chosen"


# the words -----------------------------------------------------------------------------------------------------------
CLOSING = "You can also ask me anything about it, or ask for a person."


def message(merchant: MerchantProfile, context: dict[str, Any], opening: str | None, zone: ZoneInfo) -> str:
    """The nudge in code's words after the merchant's opening (if any): the step or the feature and its help link, or
    the earlier conversation's day with an offer to put it right and a person. Never the score, the risk or a guess at
    how the customer feels."""
    chosen = context["help"]
    lead = [opening] if opening else []
    if chosen["kind"] == "put_right":
        day = datetime.fromisoformat(chosen["started_at"]).astimezone(zone)
        text = " ".join(
            [
                *lead,
                f"You were in touch with us on {day:%-d %B}, and I want to make sure we got things right for you.",
                "Is there anything we can still put right?",
            ]
        )
        return (
            f"{text}\n\nIf you'd rather talk it over with a person, reply and say so, and I'll pass this to our team "
            "with our earlier conversation. Or just reply here with what's on your mind."
        )
    if chosen["kind"] == "feature":
        pointer = f"A tip for getting more out of {chosen.get('plan')} with {merchant.name}: {chosen['name']}."
    else:
        pointer = f"A tip for {merchant.name}: {chosen['name']}."
    how = f" Here's how: {chosen['link']}" if chosen.get("link") else " Reply and I'll tell you how."
    return (
        f"{' '.join([*lead, pointer])}{how}\n\nIf something is in the way, reply and tell me what, and I'll help. "
        f"{CLOSING}"
    )


def subject(merchant: MerchantProfile, context: dict[str, Any]) -> str:
    chosen = context.get("help") or {}
    if chosen.get("kind") == "put_right":
        return f"Following up from {merchant.name}"
    return f"A tip for {merchant.name}"


def facts(context: dict[str, Any]) -> list[str]:
    """What was done, for the conversation's summary: ids and codes."""
    chosen = context.get("help") or {}
    if chosen.get("kind") == "put_right":
        return [f"journey churn_risk: asked what we can put right after conversation {chosen.get('conversation_id')}"]
    return [f"journey churn_risk: nudged about {chosen.get('id')}"]
