"""Domain events published on the EventBridge bus: one pydantic model per detail-type.

Every model has a sample in events/ that a test validates.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from concierge.channels.inbound import InboundMessage
from concierge.platform.names import EVENT_SOURCE


class DomainEvent(BaseModel):
    # Each event is built on first use: a function builds the few it publishes or reads (docs/performance.md).
    model_config = ConfigDict(extra="forbid", defer_build=True)
    detail_type: ClassVar[str]

    occurred_at: datetime


class TurnCompleted(DomainEvent):
    detail_type: ClassVar[str] = "turn.completed"

    conversation_id: str
    customer_id: str
    turn: int = Field(ge=1)
    channel: str
    intent: str = Field(description="the model's reading when a model answered, else the rule-based intent")
    confidence: float | None = Field(None, ge=0, le=1, description="the model's confidence in its reply, if any")
    sentiment: float = Field(ge=-1, le=1)
    engine: str = Field(description="deterministic | claude | deterministic-fallback")
    actions: list[str] = Field(default_factory=list, description="tool names executed in this turn")
    handoff: bool = False
    latency_ms: int = Field(ge=0)
    input_tokens: int = Field(0, ge=0)
    output_tokens: int = Field(0, ge=0)
    cache_read_tokens: int = Field(0, ge=0)
    cache_write_tokens: int = Field(0, ge=0)
    cost_usd: float = Field(0.0, ge=0, description="model cost of the turn, from the configured price table")
    journey: str | None = Field(
        None,
        description="the journey whose message this turn answers: set on the customer's first turn of a "
        "conversation a journey opened (its reply, in the journey's report)",
    )


class ActionExecuted(DomainEvent):
    detail_type: ClassVar[str] = "action.executed"

    conversation_id: str
    customer_id: str
    action_id: str
    tool: str
    status: Literal["executed", "denied", "failed", "awaiting_approval"]
    reason: str | None = Field(None, description="the reason code of a denial or failure, e.g. order_not_found")
    decided_by: str | None = Field(None, description="the operator who approved or denied, for actions that needed one")
    amount: Decimal | None = None
    currency: str | None = None


Resolution = Literal["resolved", "handed_off", "unresolved"]


class ConversationClosed(DomainEvent):
    """Everything Auto-CSAT needs, so that survey scoring never reads the transcript back."""

    detail_type: ClassVar[str] = "conversation.closed"

    conversation_id: str
    customer_id: str
    channel: str
    started_at: datetime
    turns: int = Field(ge=0, description="customer messages in the conversation")
    resolution: Resolution
    intents: list[str] = Field(default_factory=list, description="intent of each customer message, in order")
    sentiments: list[float] = Field(default_factory=list, description="sentiment (-1..1) of each customer message")
    actions_executed: list[str] = Field(default_factory=list)
    actions_failed: int = 0
    handoff_reason: str | None = None
    repeated_messages: int = Field(0, description="customer messages that repeated an earlier one (effort)")
    thanked: bool = False
    complained: bool = False
    first_response_ms: int = Field(0, ge=0)
    summary: str = ""


class ApprovalRequested(DomainEvent):
    """An action waits for a person's decision (e.g. a refund above the limit): for the people who decide."""

    detail_type: ClassVar[str] = "approval.requested"

    action_id: str
    conversation_id: str
    customer_id: str
    tool: str
    summary: str
    amount: Decimal | None = None
    currency: str | None = None
    reason: str
    deadline: datetime


class HandoffRequested(DomainEvent):
    """A conversation goes to people; a rule forwards it to the team's notification channel (docs/handoff.md)."""

    detail_type: ClassVar[str] = "handoff.requested"

    conversation_id: str
    customer_id: str
    reason: str
    channel: str
    queue: str | None = Field(None, description="the topic queue it was routed to")
    priority: int | None = Field(None, ge=0, le=100)
    within_hours: bool | None = Field(
        None, description="False: out of support hours, the customer was promised a reply later"
    )


class HandoffEnded(DomainEvent):
    """A person closed the conversation or handed it back to the AI: the figures of the human part."""

    detail_type: ClassVar[str] = "handoff.ended"

    conversation_id: str
    customer_id: str
    outcome: Literal["closed", "handed_back"]
    resolution: Literal["resolved", "unresolved"] | None = None
    resolution_reason: str | None = None
    reason: str = Field(description="why it was handed off")
    queue: str
    agent: str
    first_human_response_ms: int | None = Field(None, ge=0, description="from the handoff to the first human reply")
    customer_messages: int = Field(0, ge=0, description="customer messages while people owned the conversation")
    repeated_after_handoff: int = Field(
        0, ge=0, description="of those, how many repeated what the customer said before"
    )


SurveyKind = Literal["csat", "nps", "ces"]


class SurveyAnswered(DomainEvent):
    """A customer's answer to a survey (CSAT 1–5, NPS 0–10, CES 1–7), tied to the conversation it is about."""

    detail_type: ClassVar[str] = "survey.answered"

    conversation_id: str
    customer_id: str
    survey: SurveyKind
    score: int = Field(ge=0, le=10, description="within the survey's own scale: csat 1–5, nps 0–10, ces 1–7")
    channel: str = Field(description="where the conversation took place: web | email | whatsapp")
    answered_via: Literal["api", "chat", "email", "whatsapp"]


class AutoCsatScored(DomainEvent):
    """The Auto-CSAT of a closed conversation: a 1–5 score with the reasons behind it."""

    detail_type: ClassVar[str] = "autocsat.scored"

    conversation_id: str
    customer_id: str
    channel: str
    score: int = Field(ge=1, le=5)
    scorer: str = Field(description="the explainable scorer's version, or the model that judged")
    reasons: list[str] = Field(default_factory=list, description="the reasons, most important first")


class DiscountRedeemed(DomainEvent):
    """A discount code the assistant issued was used on an order: the revenue AI offers brought."""

    detail_type: ClassVar[str] = "discount.redeemed"

    code: str
    conversation_id: str = Field(description="the conversation that issued the code")
    customer_id: str
    order_id: str
    order_total: Decimal = Field(ge=0, description="what the customer paid for the order, after the discount")
    currency: str
    percent: int | None = Field(None, ge=1, le=100, description="the code's percentage off; None for an amount off")
    amount_off: Decimal | None = Field(None, gt=0, description="the code's amount off, in the order's currency")
    free_trial_days: int | None = Field(
        None, ge=1, le=90, description="a free trial's code: its days (the order is the trial's start)"
    )
    offer_id: str | None = Field(
        None, description="the offer whose code it was (offers/ledger.py); None: an ad-hoc code"
    )


class OrderPlaced(DomainEvent):
    """An order the signed-in customer placed at the storefront (POST /v1/orders): what the offers' holdout comparison
    counts as conversion, revenue and retention, in both groups alike (offers/ledger.py)."""

    detail_type: ClassVar[str] = "order.placed"

    customer_id: str
    order_id: str
    order_total: Decimal = Field(ge=0, description="what the customer paid, after any discount")
    currency: str


class OfferPresented(DomainEvent):
    """An offer the guardrails decided `offer` was chosen as the next best action and put in front of the customer
    (offers/nba.py). Ids and the offer's terms only: never the customer's words or values. Held-out and refused
    decisions are not events: they are in the customer's audit trail (`offer.decided`)."""

    detail_type: ClassVar[str] = "offer.presented"

    offer_id: str
    kind: str = Field(description="the offer's kind, e.g. out_of_stock_alternative")
    moment: str = Field(description="the moment it was made at, e.g. variant_out_of_stock")
    conversation_id: str | None = Field(
        None, description="the conversation (a cart reminder's: the one its journey opens); None outside one"
    )
    customer_id: str
    channel: str
    holdout_share: float = Field(ge=0, le=0.5)
    value_type: str | None = Field(None, description="percent_off | amount_off | credit_bonus | free_trial; None: none")
    score: float = Field(ge=0, description="the next-best-action score it was chosen with")


class LeadQualified(DomainEvent):
    """A business, demo or quote request was qualified by the merchant's rule (docs/leads.md): qualified or not, with
    the answers by question id. Only what the questions asked (numbers, the merchant's option labels, yes/no) and
    the merchant's own request phrase: never the customer's words."""

    detail_type: ClassVar[str] = "lead.qualified"

    conversation_id: str
    customer_id: str
    channel: str
    qualified: bool = Field(description="whether every condition of the merchant's rule held")
    request: str | None = Field(None, description="the merchant's request phrase it was asked with, e.g. 'quote'")
    answers: dict[str, bool | int | float | str] = Field(description="question id -> the answer as recorded")
    link: str = Field(description="where the customer was sent: the calendar link, or the alternative")
    verified: bool = Field(True, description="False: the sender's identity was not verified on their channel")


class MessageReceived(DomainEvent):
    """An email or WhatsApp message taken in by ingest; its turn runs from the message-received queue."""

    detail_type: ClassVar[str] = "message.received"

    message: InboundMessage


# Signals: what the storefront or the app says happened to one of its signed-in customers (POST /v1/signals). They
# start journeys (concierge.journeys): messages the assistant sends before the customer asks. Ids, codes, amounts and
# dates only, never text or contact details. `signal_id` is the storefront's own id of the signal: a journey's run is
# named from it, so a signal sent twice starts one run.
SIGNAL_ID = r"^[A-Za-z0-9._:-]{1,64}$"


class Signal(DomainEvent):
    customer_id: str = Field(min_length=1, max_length=128, description="the customer the signal is about")
    signal_id: str = Field(pattern=SIGNAL_ID, description="the storefront's id of this signal (unique per signal)")


class OrderUpdated(Signal):
    """An order changed state at the storefront (shipped, delivered, cancelled…)."""

    detail_type: ClassVar[str] = "order.updated"
    kind: Literal["order.updated"] = "order.updated"

    order_id: str = Field(min_length=1, max_length=64)
    status: str = Field(pattern=r"^[a-z_]{1,32}$", description="the order's new status, e.g. shipped, delivered")


class ShipmentDelayed(Signal):
    """A parcel will arrive after the date the customer was promised (the carrier's or the warehouse's news)."""

    detail_type: ClassVar[str] = "shipment.delayed"
    kind: Literal["shipment.delayed"] = "shipment.delayed"

    order_id: str = Field(min_length=1, max_length=64)
    promised_by: date = Field(description="the delivery date the customer was given")
    expected_by: date | None = Field(None, description="the new expected date, if the carrier gave one")
    reason: str | None = Field(None, pattern=r"^[a-z_]{1,32}$", description="a code, e.g. carrier_delay, weather")


class ChargePosted(Signal):
    """A payment was taken from the customer (a card charge, a wallet payment)."""

    detail_type: ClassVar[str] = "charge.posted"
    kind: Literal["charge.posted"] = "charge.posted"

    charge_id: str = Field(min_length=1, max_length=64, description="the payment provider's id of the charge")
    order_id: str | None = Field(None, max_length=64, description="the order it paid for, if any")
    amount: Decimal = Field(gt=0, max_digits=12, decimal_places=2)
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217, e.g. USD")
    merchant_ref: str = Field(
        min_length=1, max_length=64, description="who charged: the merchant account or statement descriptor"
    )


class TrialUpdated(Signal):
    """A free trial started, or is about to end (and convert to a paid plan)."""

    detail_type: ClassVar[str] = "trial.updated"
    kind: Literal["trial.updated"] = "trial.updated"

    subscription_id: str = Field(min_length=1, max_length=64)
    plan: str = Field(min_length=1, max_length=64, description="the plan's code")
    stage: Literal["started", "ending"]
    ends_at: datetime = Field(description="when the trial ends (and converts, unless cancelled)")
    amount: Decimal | None = Field(
        None,
        gt=0,
        max_digits=12,
        decimal_places=2,
        description="what the first paid period will cost this customer, if the storefront knows it (else the "
        "plan's price in merchant.json is told)",
    )
    currency: str | None = Field(None, pattern=r"^[A-Z]{3}$", description="ISO 4217, with `amount`")

    @model_validator(mode="after")
    def _priced(self) -> TrialUpdated:
        if (self.amount is None) != (self.currency is None):
            raise ValueError("amount and currency go together")
        return self


class CustomerSignedIn(Signal):
    """The customer signed in to the storefront or the app."""

    detail_type: ClassVar[str] = "customer.signed_in"
    kind: Literal["customer.signed_in"] = "customer.signed_in"

    surface: Literal["web", "app"] = "web"


class FeatureUsed(Signal):
    """The customer used a feature of the product (a SaaS merchant's app)."""

    detail_type: ClassVar[str] = "feature.used"
    kind: Literal["feature.used"] = "feature.used"

    feature: str = Field(pattern=r"^[a-z0-9_.-]{1,64}$", description="the feature's code")
    count: int = Field(1, ge=1, le=1_000_000, description="uses since the last signal")


class CartLineRef(BaseModel):
    """One line of a cart, by ids: the product (and its variant) as products.json has them, and how many. (A cart
    the assistant builds has lines of its own, with prices and reasons: catalogue.cart.CartLine.)"""

    model_config = ConfigDict(extra="forbid")

    product_id: str = Field(min_length=1, max_length=64)
    sku: str | None = Field(None, min_length=1, max_length=64, description="the variant, if the storefront knows it")
    quantity: int = Field(1, ge=1, le=10_000)


class CartUpdated(Signal):
    """The customer's cart changed (an item added or removed, or emptied by an order)."""

    detail_type: ClassVar[str] = "cart.updated"
    kind: Literal["cart.updated"] = "cart.updated"

    cart_id: str = Field(min_length=1, max_length=64)
    items: int = Field(ge=0, le=10_000, description="items in the cart now")
    total: Decimal = Field(ge=0, max_digits=12, decimal_places=2)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    lines: list[CartLineRef] = Field(
        default_factory=list,
        max_length=100,
        description="what is in the cart, by product id (and sku): a cart reminder names the items from the "
        "catalogue, so it needs them",
    )


class SubscriptionChanged(Signal):
    """The customer's subscription started, changed plan, paused, resumed, renewed or was cancelled."""

    detail_type: ClassVar[str] = "subscription.changed"
    kind: Literal["subscription.changed"] = "subscription.changed"

    subscription_id: str = Field(min_length=1, max_length=64)
    plan: str = Field(min_length=1, max_length=64, description="the plan's code after the change")
    change: Literal["started", "upgraded", "downgraded", "paused", "resumed", "renewed", "cancelled"]


class ProductViewed(Signal):
    """The customer viewed a product's page (docs/shopping.md, personal recommendations). Kept, with the customer's
    consent to personalization, as one of their last views: what "because you viewed …" recommendations come from."""

    detail_type: ClassVar[str] = "product.viewed"
    kind: Literal["product.viewed"] = "product.viewed"

    product_id: str = Field(min_length=1, max_length=64, description="the product, as products.json has it")
    sku: str | None = Field(None, min_length=1, max_length=64, description="the variant shown, if the page had one")
    viewed_at: datetime | None = Field(None, description="when the page was viewed; absent: occurred_at")

    @model_validator(mode="after")
    def _viewed_at(self) -> ProductViewed:
        if self.viewed_at is None:
            self.viewed_at = self.occurred_at
        return self


SIGNAL_TYPES: tuple[type[Signal], ...] = (
    OrderUpdated,
    ShipmentDelayed,
    ChargePosted,
    TrialUpdated,
    CustomerSignedIn,
    FeatureUsed,
    CartUpdated,
    SubscriptionChanged,
    ProductViewed,
)


class ChurnRisk(Signal):
    """A customer the scheduled churn scoring found at or above the churn_risk journey's threshold (docs/churn.md):
    an internal signal, published by the actions function's scoring pass, never posted by a storefront
    (`SignalRequest` does not take it). Its id is the scored day's (`churn:<as_of>`), so a page scored again starts
    no second run. The probability, the band and the reasons' feature codes are for deciding what to say, never to be
    said: no text."""

    detail_type: ClassVar[str] = "churn.risk"
    kind: Literal["churn.risk"] = "churn.risk"

    as_of: date = Field(description="the last day of the behaviour scored (its features' windows end with it)")
    probability: float = Field(ge=0, le=1, description="the calibrated churn probability")
    band: Literal["low", "medium", "high"]
    reasons: list[Annotated[str, Field(pattern=r"^[a-z0-9_]{1,40}$")]] = Field(
        default_factory=list,
        max_length=5,
        description="the feature codes of the reasons that raise the risk, the strongest first (e.g. "
        "days_since_sign_in): codes only",
    )


class ChurnScoringRequested(DomainEvent):
    """Score one page of customers for churn (docs/churn.md): sent by the daily schedule (the first page) and by each
    page for the next, to the actions function through its own queue (topology rule `churn-scoring`). A page is one
    segment of a parallel Scan of the store table: only numbers travel, never a key of the table."""

    detail_type: ClassVar[str] = "churn.scoring.requested"

    as_of: date | None = Field(None, description="the day scored; None: the day before `occurred_at` (UTC)")
    page: int = Field(1, ge=1, le=1_000_000, description="this page's number in the pass (1: the first)")
    pages: int | None = Field(
        None, ge=1, le=1_000_000, description="how many pages the pass has; None: the first page works it out"
    )
    page_size: int = Field(100, ge=1, le=1000, description="about how many items of the store table a page holds")


class CustomerErased(DomainEvent):
    """A customer's data was erased; carries no personal data (a one-way hash of the id, for the audit)."""

    detail_type: ClassVar[str] = "customer.erased"

    customer_hash: str
    items_deleted: int = Field(ge=0)
    objects_deleted: int = Field(ge=0)
    requested_by: str = Field(
        "customer", description="'customer' (their own request), or 'operator:<id>' acting on their request"
    )


_EVENTS: tuple[type[DomainEvent], ...] = (
    TurnCompleted,
    ActionExecuted,
    ConversationClosed,
    HandoffRequested,
    MessageReceived,
    CustomerErased,
    SurveyAnswered,
    AutoCsatScored,
    DiscountRedeemed,
    ApprovalRequested,
    HandoffEnded,
    OfferPresented,
    OrderPlaced,
    LeadQualified,
    ChurnRisk,
    ChurnScoringRequested,
    *SIGNAL_TYPES,
)
EVENT_TYPES: dict[str, type[DomainEvent]] = {cls.detail_type: cls for cls in _EVENTS}


def to_entry(event: DomainEvent, bus_name: str) -> dict[str, str]:
    """An EventBridge PutEvents entry."""
    return {
        "Source": EVENT_SOURCE,
        "DetailType": event.detail_type,
        "Detail": event.model_dump_json(),
        "EventBusName": bus_name,
    }


class EventPublisher:
    """Publishes domain events to the bus; PutEvents takes at most 10 entries, and a partial failure raises."""

    def __init__(self, events_client: Any, bus_name: str) -> None:
        # `events_client`: a boto3 EventBridge client (boto3 publishes no types).
        self._client = events_client
        self._bus = bus_name

    def publish(self, *events: DomainEvent) -> None:
        entries = [to_entry(event, self._bus) for event in events]
        for start in range(0, len(entries), 10):
            response = self._client.put_events(Entries=entries[start : start + 10])
            if response.get("FailedEntryCount"):
                failed = [e for e in response["Entries"] if e.get("ErrorCode")]
                raise EventPublishError(f"{len(failed)} event(s) were not accepted by the bus: {failed}")


class EventPublishError(RuntimeError):
    pass
