"""The tool catalogue. Each tool's input is a pydantic model; its JSON schema is what a language model is given.

The customer a tool acts for is never an argument: it is the verified customer of the turn.
Amounts are never arguments either: the action layer computes them from order data.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator


class ToolInput(BaseModel):
    # Built on first use: a call validates one tool's input (docs/performance.md).
    model_config = ConfigDict(extra="forbid", defer_build=True)


class FindOrders(ToolInput):
    """List the verified customer's most recent orders, newest first, with their items and status."""

    limit: int = Field(5, ge=1, le=50)


class TrackShipment(ToolInput):
    """Live shipment status of one of the customer's orders (the most recent shipped one if no id is given)."""

    order_id: str | None = Field(None, description="An order id the customer mentioned, as they wrote it.")


class GetProduct(ToolInput):
    """A catalogue product, read live, with its variants (options, price, stock) and its page `url` to cite. For a
    customer's question about it, ask for more: `variant` (their words naming a variant, "the 5.2 L in sage"):
    whether that variant is in stock and, when it is not, the product's variants that are; `sizing`: the shop's fit
    note and size chart and, in a category the shop sizes, what past returns said about the fit (counts only, and
    only from enough returns: never say more than they do); `compare_with`: a second product's id, both side by side
    (price range, in stock, material, fit, attributes, tags, delivery). It reads nothing of the customer's."""

    product_id: str = Field(min_length=1, max_length=120)
    variant: str = Field("", max_length=200, description="The customer's words naming a variant they ask about.")
    sizing: bool = Field(False, description="Include size data and what returns said about the fit.")
    compare_with: str | None = Field(None, min_length=1, max_length=120, description="A second product id to compare.")


class BuildCart(ToolInput):
    """Build a shopping cart for a goal from catalogue products, keeping the customer's constraints: every line in
    stock, arriving by `needed_by`, the total (with promotions and delivery) within `budget`; age, dietary and size
    needs where products state them. Returns the cart (lines with why each fits, totals, promotions applied, the
    checkout link) and the candidates left out with the reason. A cart that cannot keep a constraint comes back
    shorter or empty, never breaking it: say so. It reads nothing of the customer's."""

    goal: str = Field(min_length=1, max_length=300, description="What the customer wants, in their words.")
    product_ids: list[str] = Field(
        min_length=1,
        max_length=20,
        description="The catalogue products to choose from, most wanted first (from a cart or get_product).",
    )
    query: str = Field(
        "",
        max_length=300,
        description="Words a product must match to be picked (pick=matching); empty with pick=listed.",
    )
    pick: Literal["matching", "listed"] = Field(
        "matching",
        description="matching: the products that match `query` best; listed: every product named, in order.",
    )
    budget: Decimal | None = Field(None, gt=0, le=1_000_000, description="The most the whole cart may cost.")
    min_price: Decimal | None = Field(None, ge=0, description="Each item costs at least this.")
    needed_by: date | None = Field(None, description="The day everything must have arrived by (YYYY-MM-DD).")
    recipient_age: int | None = Field(None, ge=0, le=120)
    dietary: list[str] = Field(default_factory=list, max_length=5, description="e.g. vegan, gluten-free")
    sizes: list[str] = Field(default_factory=list, max_length=5, description="e.g. M, 9.5")
    quantities: dict[str, int] = Field(default_factory=dict, description="item word -> how many, e.g. {'mugs': 6}")
    items: list[str] = Field(
        default_factory=list, max_length=6, description="Several things asked for one by one, one product each."
    )


class RecommendProducts(ToolInput):
    """Recommendations for the verified customer, each with the signal it comes from: a product they viewed and the
    day, one they bought ("goes with the … you bought"), what others who bought it also bought. Read from their own
    views and orders only with their consent to personalization; otherwise (or with nothing to go on) the shop's best
    sellers, marked not personal (`personal`: false): say so. Give each product with its reason as written and its
    link; never add why they might like it, nor anything about who they are. Reads only: nothing is changed."""

    limit: int = Field(3, ge=1, le=4, description="How many products to recommend.")
    exclude_product_ids: list[str] = Field(
        default_factory=list, max_length=20, description="Products already recommended in this conversation."
    )
    max_price: Decimal | None = Field(
        None, gt=0, le=1_000_000, description="Only products with a variant in stock at or below this price."
    )


class ReturnItems(ToolInput):
    """Propose a return of order lines; the customer must confirm the pending action before it executes."""

    order_id: str
    line_ids: list[str] = Field(min_length=1)
    resolution: Literal["refund", "exchange"]
    reason: Literal["too_small", "too_large", "damaged", "not_as_described", "changed_mind", "other"] = "other"
    exchange_sku: str | None = Field(None, description="For an exchange: the variant sku sent in its place.")
    refund_to: Literal["original_payment", "store_credit"] = Field(
        "original_payment", description="For a refund: back to the original payment method, or as store credit."
    )


class CancelOrder(ToolInput):
    """Propose cancelling one of the customer's orders that has not shipped yet; the customer must confirm it."""

    order_id: str = Field(
        description="The order to cancel: its id as find_orders lists it or as the customer wrote it."
    )


class NewAddress(ToolInput):
    name: str = Field(min_length=1, max_length=100)
    line1: str = Field(min_length=1, max_length=200)
    city: str = Field(min_length=1, max_length=100)
    postcode: str = Field(min_length=2, max_length=12)
    country: str = Field(pattern=r"^[A-Z]{2}$", description="ISO 3166 two-letter code, e.g. US")


class ModifyOrder(ToolInput):
    """Propose a change to one of the customer's orders that has not shipped yet: a new shipping address, and/or
    removing items (the new total is computed from the order). The customer must confirm it. A payment method is
    changed by the customer in their account, never here."""

    order_id: str
    shipping_address: NewAddress | None = None
    remove_line_ids: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_change(self) -> Self:
        if self.shipping_address is None and not self.remove_line_ids:
            raise ValueError("name a new shipping_address or the remove_line_ids to change")
        return self


class SendPasswordReset(ToolInput):
    """Email the customer a single-use link to reset their password, to the address on their account. The link is
    never shown in the conversation."""


class GetStoreCredit(ToolInput):
    """The customer's store credit balance, with its most recent entries."""


class GetAccount(ToolInput):
    """The verified customer's account, read only: their store credit (balance and latest entries), the gift cards
    they hold (never a full code: the last 4 characters only) with balances and expiry, and their recent orders with
    the total, status, how each was paid (card brand and last 4 only) and the refunds issued on it. For a question about
    a balance, a gift card, their orders, what they paid or how, or whether a refund went through. A gift card or an
    order the customer names that is not theirs is not found, exactly like one that does not exist."""

    gift_card: str | None = Field(
        None,
        min_length=4,
        max_length=40,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9 -]*$",
        description="A gift card the customer names: its code, or its last 4 characters, as they wrote it.",
    )
    order_id: str | None = Field(
        None, max_length=40, description="An order the customer names, as they wrote it: shown first."
    )
    orders: int = Field(5, ge=1, le=20, description="How many recent orders to list.")


class FindAppointmentSlots(ToolInput):
    """Free appointment slots of a kind (the merchant's configured kinds, e.g. an in-store fitting), soonest first."""

    kind: str = Field(min_length=1, max_length=40)
    limit: int = Field(5, ge=1, le=10)


class BookAppointment(ToolInput):
    """Propose booking one of the free slots find_appointment_slots returned; the customer must confirm it."""

    slot_id: str = Field(min_length=3, max_length=80)


class SendMessage(ToolInput):
    """Email the customer something they asked for in writing (a summary, instructions), to the verified address
    on their account only."""

    subject: str = Field(min_length=3, max_length=120)
    text: str = Field(min_length=1, max_length=4000)


class ConfirmAction(ToolInput):
    """Execute an action the customer has just confirmed."""

    action_id: str


class CancelAction(ToolInput):
    """Withdraw a pending action the customer declined."""

    action_id: str


class IssueDiscountCode(ToolInput):
    """Issue the customer a unique, single-use discount code, attributed to this conversation (so revenue from
    it is measured). At most the merchant's maximum percentage, and at most one per customer per period."""

    percent: int = Field(ge=1, le=100, description="The discount in percent; capped by the merchant's policy.")
    reason: Literal["retention", "apology", "out_of_stock_alternative", "goodwill"]


class AcceptOffer(ToolInput):
    """The customer takes the offer you made them in this conversation: issues its code (if it has one) and returns
    what the accepted reply says. Only an offer the guardrails decided for this conversation can be taken."""

    offer_id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$", description="The id of the offer the customer takes.")


class NextBestAction(ToolInput):
    """At an offer moment the engine named (offers/moments.py): decide, in code, whether an offer is made (guardrails,
    holdout, caps), record every decision, and return the offer's message when one is presented (with its code, when
    the wording shows it). Never in the model's tool list: the offering wrapper (engine/offering.py) calls it."""

    moment: Literal["variant_out_of_stock", "return_requested", "positive_feedback", "paid_feature_interest"]
    product_id: str | None = Field(None, max_length=80)
    wanted: str | None = Field(None, max_length=120)
    alternative: str | None = Field(None, max_length=120)
    alternative_sku: str | None = Field(None, max_length=80)
    item: str | None = Field(None, max_length=120)
    item_value: Decimal | None = Field(None, ge=0, le=100000)
    order_id: str | None = Field(None, max_length=40)
    action_id: str | None = Field(None, max_length=80, description="return_requested: the pending refund")
    shop_at_fault: bool = False
    declined: bool = False
    feature: str | None = Field(None, max_length=60, description="paid_feature_interest: the feature asked about")
    plan: str | None = Field(None, max_length=64, description="paid_feature_interest: the plan that gives it")


class QualifyLead(ToolInput):
    """A business, demo or quote request, once the customer has answered the shop's questions (asked one at a time;
    one already answered is not asked again): the shop's rule decides, in code, whether it qualifies; the lead is
    recorded (one per conversation: asked again, the first outcome comes back). The result's `message` is what to
    tell the customer, word for word, with its link: never write a link yourself. Answers a question does not take
    are refused with what it takes: ask again."""

    answers: dict[str, bool | int | float | str] = Field(
        min_length=1, max_length=10, description="question id -> the customer's answer"
    )
    request: str | None = Field(None, max_length=60, description="what they asked for, as the shop words it")


class CreateHandoff(ToolInput):
    """Hand the conversation to a human, with the transcript and a summary."""

    reason: str = Field(min_length=3, max_length=200)
    summary: str = Field("", max_length=2000)


TOOLS: dict[str, type[ToolInput]] = {
    "find_orders": FindOrders,
    "track_shipment": TrackShipment,
    "get_product": GetProduct,
    "build_cart": BuildCart,
    "recommend_products": RecommendProducts,
    "return_items": ReturnItems,
    "cancel_order": CancelOrder,
    "modify_order": ModifyOrder,
    "send_password_reset": SendPasswordReset,
    "get_store_credit": GetStoreCredit,
    "get_account": GetAccount,
    "find_appointment_slots": FindAppointmentSlots,
    "book_appointment": BookAppointment,
    "send_message": SendMessage,
    "issue_discount_code": IssueDiscountCode,
    "accept_offer": AcceptOffer,
    "next_best_action": NextBestAction,
    "qualify_lead": QualifyLead,
    "confirm_action": ConfirmAction,
    "cancel_action": CancelAction,
    "create_handoff": CreateHandoff,
}
WRITE_TOOLS = frozenset(
    {
        "return_items",
        "cancel_order",
        "modify_order",
        "book_appointment",
        "confirm_action",
        "cancel_action",
        "create_handoff",
        "issue_discount_code",
        "accept_offer",
        "send_password_reset",
        "send_message",
        "qualify_lead",
    }
)


# Tools a model is given only at the moment that allows them, never in the standing list: `accept_offer` comes with
# the offers the guardrails decided for this conversation (offers/nba.py, `offer_tool_schemas`). `next_best_action`
# is never given to a model: the offering wrapper calls it at a moment an engine named (engine/offering.py). It is
# not a write the customer confirms; what it stores (the decisions, an offer's code) is stored by the call itself.
# `qualify_lead` comes only in a shop with a lead flow, with the shop's questions (leads/tool.py).
CONTEXTUAL_TOOLS = frozenset({"accept_offer", "next_best_action", "qualify_lead"})


def tool_schema(name: str) -> dict[str, Any]:
    """One tool's definition in the shape the Anthropic Messages API takes."""
    model = TOOLS[name]
    return {"name": name, "description": (model.__doc__ or "").strip(), "input_schema": model.model_json_schema()}


def tool_schemas() -> list[dict[str, Any]]:
    """The standing tool definitions (every tool but the contextual ones), in the shape the Anthropic Messages API
    takes."""
    return [tool_schema(name) for name in TOOLS if name not in CONTEXTUAL_TOOLS]
