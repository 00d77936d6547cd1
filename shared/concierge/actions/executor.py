"""Executes the agent's tool calls for the verified customer of the turn: ownership, policy, confirmation,
exactly-once effects, and a record of every attempt."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal, cast

from pydantic import ValidationError

from concierge.actions import appointments, policy
from concierge.actions.approvals import (
    ApprovalRequest,
    ApprovalStatus,
    ApprovalStore,
    ApprovalWorkflow,
    DecisionOutput,
    Notice,
)
from concierge.actions.tools import (
    TOOLS,
    WRITE_TOOLS,
    AcceptOffer,
    BookAppointment,
    BuildCart,
    CancelAction,
    CancelOrder,
    ConfirmAction,
    CreateHandoff,
    FindAppointmentSlots,
    FindOrders,
    GetAccount,
    GetProduct,
    GetStoreCredit,
    IssueDiscountCode,
    ModifyOrder,
    NextBestAction,
    QualifyLead,
    RecommendProducts,
    ReturnItems,
    SendMessage,
    SendPasswordReset,
    ToolInput,
    TrackShipment,
)
from concierge.channels.email import EmailSender, ReturnEmail, TextEmail
from concierge.conversation.turn import ActionResult, ActionStatus, DecidedTurn, ReadyTurn, ToolCall
from concierge.memory.store import MemoryStore
from concierge.platform.events import ActionExecuted, ApprovalRequested, EventPublisher, HandoffRequested
from concierge.platform.settings import ActionsSettings
from concierge.reasoning.orderref import matches_order, same_parcel
from concierge.store.commerce import AlreadyReturned, CommerceBackend, Discount, Remedy, ReturnRecord
from concierge.store.merchant import MerchantProfile
from concierge.store.models import Address, Customer, Order, OrderLine, OrderStatus, Product

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import BasePersistenceLayer, DynamoDBPersistenceLayer
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from concierge.catalogue.related import Related
    from concierge.handoff.queue import HandoffStore
    from concierge.leads.store import Lead, LeadRecords
    from concierge.offers.catalogue import Offer

# What a tool call comes to: its status, the result the model sees, the effect recorded, and the tool it settles.
Outcome = tuple[ActionStatus, dict[str, Any], dict[str, Any] | None, str]
# The statuses an audited action ends in (events.ActionExecuted).
AuditedStatus = Literal["executed", "denied", "failed", "awaiting_approval"]


@dataclass
class ActionServices:
    settings: ActionsSettings
    memory: MemoryStore
    store: CommerceBackend
    events: EventPublisher
    email: EmailSender
    # a powertools persistence layer (production wiring); None runs confirmations directly
    idempotency: BasePersistenceLayer | None = None
    approvals: ApprovalWorkflow | None = None  # None: actions above the limit are refused
    handoffs: HandoffStore | None = None  # None: the one in the memory table
    leads: LeadRecords | None = None  # None: the lead records in the memory table
    # merchant.json (return window, approval limit, exchanges, return method, support hours); None: the settings
    profile: Callable[[], MerchantProfile] | None = None
    # what the shop's orders and catalogue say of its products together (catalogue/related.py); None: not read
    related: Callable[[], Related | None] | None = None

    def merchant(self) -> MerchantProfile:
        return self.profile() if self.profile else MerchantProfile.from_settings(self.settings)


@lru_cache(maxsize=4)
def idempotency_store(table_name: str) -> DynamoDBPersistenceLayer:
    """One idempotency record per confirmed action, in the memory table (pk = idempotency#<function>, sk = key
    hash), expiring through the table's TTL attribute."""
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    return DynamoDBPersistenceLayer(table_name=table_name, key_attr="pk", sort_key_attr="sk", expiry_attr="expires_at")


class Denied(Exception):
    def __init__(self, reason: str, explanation: str) -> None:
        super().__init__(explanation)
        self.reason = reason
        self.explanation = explanation


NOT_FOUND = "I couldn't find that order on your account."
UNVERIFIED = (
    "For your security I can't look up or change orders from this address, because we couldn't verify that it's "
    "yours. Please write from the email address on your account, or sign in and chat with us on our website."
)
# How many of a customer's orders are searched for an order id written differently from the merchant's.
ORDER_LOOKUP_LIMIT = 50
# Tools that touch no account data: available to a sender whose identity is not verified (a lead is recorded under
# the sender's own pseudonymous id, marked unverified).
ACCOUNT_FREE_TOOLS = (GetProduct, BuildCart, CreateHandoff, FindAppointmentSlots, QualifyLead)
# The writes that wait for the customer's confirmation of their exact effect.
# A journey's proposals (journeys/outreach.py): never a tool a model calls, only ever confirmed by the customer.
JOURNEY_REMEDIES = ("reship_order", "refund_order", "refund_charge")
CONFIRMED_TOOLS = ("return_items", "cancel_order", "modify_order", "book_appointment", *JOURNEY_REMEDIES)
# The lookups `OrderLookups.look_up` runs outside the actions function (retrieval prefetches them,
# actions/prefetch.py): reads of the customer's own orders and account that change and send nothing. Never a write,
# never a tool that proposes or confirms.
LOOKUP_TOOLS = frozenset({"find_orders", "track_shipment", "get_account"})
assert not LOOKUP_TOOLS & (WRITE_TOOLS | set(CONFIRMED_TOOLS)), "a lookup is read-only"


def action_id_for(conversation_id: str, call_id: str) -> str:
    """Deterministic, so a retried delivery of the same call addresses the same action."""
    return "A" + hashlib.sha256(f"{conversation_id}:{call_id}".encode()).hexdigest()[:12].upper()


def mask_email(address: str) -> str:
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}"


def order_summary(order: Order, returned: AbstractSet[str] = frozenset()) -> dict[str, Any]:
    return {
        "order_id": order.id,
        # whom and which country it ships to (a new address keeps them unless the customer says otherwise)
        "ship_to": {"name": order.shipping_address.name, "country": order.shipping_address.country},
        "placed_at": order.placed_at.isoformat(),
        "status": order.status.value,
        "delivered_at": order.shipment.delivered_at.isoformat()
        if order.shipment and order.shipment.delivered_at
        else None,
        "total": str(order.total),
        "currency": order.currency,
        "refund_to": order.payment.describe(),
        "lines": [
            {
                "line_id": line.line_id,
                "product_id": line.product_id,
                "sku": line.sku,
                "title": line.title,
                "options": line.options,
                "quantity": line.quantity,
                "unit_price": str(line.unit_price),
                "returned": line.line_id in returned,
            }
            for line in order.lines
        ],
    }


def describe_line(line: OrderLine) -> str:
    options = ", ".join(line.options.values())
    return f"{line.title} ({options})" if options else line.title


@dataclass(frozen=True)
class ReturnCheck:
    """A return policy allows, and what was read to decide it (`ActionExecutor._check_return`)."""

    effect: dict[str, Any]
    order: Order
    products: dict[str, Product | None]
    customer: Customer | None


def _line(order: Order, line_id: str) -> OrderLine:
    """A line of the order that the policy has already found on it."""
    line = order.line(line_id)
    assert line is not None
    return line


def refused(call_id: str, action_id: str, tool: str, error: ValidationError | Denied) -> ActionResult:
    """What a call that did not run answers: arguments the tool refuses (failed), or a refusal by policy (denied)."""
    if isinstance(error, ValidationError):
        return ActionResult(
            call_id=call_id,
            action_id=action_id,
            tool=tool,
            status=ActionStatus.FAILED,
            result={"explanation": f"Invalid arguments: {error.errors(include_url=False)}"},
            reason="invalid_arguments",
        )
    return ActionResult(
        call_id=call_id,
        action_id=action_id,
        tool=tool,
        status=ActionStatus.DENIED,
        result={"explanation": error.explanation},
        reason=error.reason,
    )


class OrderLookups:
    """The read-only lookups of a verified customer's orders and account (`find_orders`, `track_shipment`,
    `get_account`), with the ownership rules every order lookup follows (`_owned_order`; a gift card: only among the
    cards they hold, actions/account.py): they need only the commerce store. `ActionExecutor` runs them
    for the agent; retrieval runs the ones a message plainly needs before the agent decides (actions/prefetch.py)
    through `look_up`, which refuses every other tool and writes, records and publishes nothing."""

    def __init__(self, store: CommerceBackend, now: datetime) -> None:
        self.store = store
        self.now = now

    def look_up(self, call: ToolCall, turn: ReadyTurn) -> ActionResult:
        """One of `LOOKUP_TOOLS` for the turn's verified customer, as the actions function would run it (the same
        action id, result and refusals), unrecorded: its record is written with the reply. Any other tool is
        refused (`not_a_lookup`) before anything is read."""
        action_id = action_id_for(turn.conversation_id, call.id)
        try:
            if call.tool not in LOOKUP_TOOLS:
                raise Denied("not_a_lookup", f"{call.tool} is not a read-only lookup.")
            arguments = TOOLS[call.tool].model_validate(call.arguments)
            if not turn.customer.verified:
                raise Denied("identity_unverified", UNVERIFIED)
            found = self._lookup(arguments, turn.customer.id)
            if found is None:  # LOOKUP_TOOLS and `_lookup` disagree: refused, never run
                raise Denied("not_a_lookup", f"{call.tool} is not a read-only lookup.")
            result, tool = found
            outcome = ActionResult(
                call_id=call.id, action_id=action_id, tool=tool, status=ActionStatus.EXECUTED, result=result
            )
        except (ValidationError, Denied) as exc:
            outcome = refused(call.id, action_id, call.tool, exc)
        return outcome.model_copy(update={"recorded": False})

    def _lookup(self, arguments: ToolInput, customer_id: str) -> tuple[dict[str, Any], str] | None:
        """The result of a read-only lookup and its tool, for a verified customer; None for any other tool."""
        match arguments:
            case FindOrders(limit=limit):
                orders = self.store.recent_orders(customer_id, limit)
                summaries = [
                    order_summary(o, self.store.returned_line_ids(o.id) if o.status is OrderStatus.DELIVERED else set())
                    for o in orders
                ]
                return {"orders": summaries}, "find_orders"
            case TrackShipment(order_id=order_id):
                return self._track(customer_id, order_id), "track_shipment"
            case GetAccount():
                return self._account(customer_id, arguments), "get_account"
        return None

    def _account(self, customer_id: str, request: GetAccount) -> dict[str, Any]:
        """Store credit, the gift cards held, the recent orders with payments and refunds (actions/account.py). A
        gift card or an order named that is not the customer's is refused exactly as one that does not exist."""
        from concierge.actions import account

        cards = self.store.gift_cards(customer_id)
        card = None
        if request.gift_card is not None:
            card = account.held_card(cards, request.gift_card)
            if card is None:
                raise Denied("gift_card_not_found", account.GIFT_CARD_NOT_FOUND)
        named = self._owned_order(customer_id, request.order_id) if request.order_id else None
        orders = self.store.recent_orders(customer_id, request.orders)
        if named is not None:
            orders = [named, *(o for o in orders if o.id != named.id)][: request.orders]
        balance, entries = self.store.store_credit(customer_id)
        refunds = {o.id: self.store.refunds(o.id) for o in orders}
        return account.summary(balance, entries, cards, orders, refunds, self.now, asked_card=card, named_order=named)

    def _owned_order(self, customer_id: str, order_id: str) -> Order:
        """The customer's order with this id, as the merchant writes it or as the customer wrote it ("1001" or
        "#1001" for "#1001", "a20931" for "A-20931"), or by its parcel's tracking number (the carrier's number is what
        a customer has at hand): matched against their own orders only."""
        order = self.store.get_order(order_id)
        if order is not None and order.customer_id == customer_id:
            return order
        mine = [
            o
            for o in self.store.recent_orders(customer_id, ORDER_LOOKUP_LIMIT)
            if matches_order(order_id, o.id) or (o.shipment is not None and same_parcel(order_id, o.shipment))
        ]
        if len(mine) == 1:
            return mine[0]
        raise Denied("order_not_found", NOT_FOUND)  # same answer whether it is missing or someone else's

    def _track(self, customer_id: str, order_id: str | None) -> dict[str, Any]:
        if order_id:
            order = self._owned_order(customer_id, order_id)
        else:
            orders = [o for o in self.store.recent_orders(customer_id, 5) if o.status is not OrderStatus.CANCELLED]
            if not orders:
                raise Denied("no_orders", "There are no open or recent orders on your account.")
            in_flight = [o for o in orders if o.status in (OrderStatus.SHIPPED, OrderStatus.PENDING)]
            order = (in_flight or orders)[0]
        result: dict[str, Any] = {
            "order_id": order.id,
            "status": order.status.value,
            "placed_at": order.placed_at.isoformat(),
            "items": [line.title for line in order.lines],
        }
        if order.shipment:
            shipment = order.shipment
            last = shipment.events[-1] if shipment.events else None
            result |= {
                "carrier": shipment.carrier,
                "tracking_number": shipment.tracking_number,
                "shipped_at": shipment.shipped_at.isoformat(),
                "estimated_delivery": shipment.estimated_delivery.isoformat(),
                "delivered_at": shipment.delivered_at.isoformat() if shipment.delivered_at else None,
                "last_event": last.model_dump(mode="json") if last else None,
                "late": order.status is OrderStatus.SHIPPED and shipment.estimated_delivery < self.now,
            }
        return result


class ActionExecutor(OrderLookups):
    def __init__(self, services: ActionServices, now: datetime, lambda_context: LambdaContext | None = None) -> None:
        super().__init__(services.store, now)
        self.s = services
        self.merchant = services.merchant()
        # With the Lambda context, an idempotency record left "in progress" by a timed-out invocation expires with
        # that invocation, so a retry can run the action; without it, only after the record's own expiry.
        self.lambda_context = lambda_context

    def run(self, turn: DecidedTurn) -> DecidedTurn:
        results = [self.execute(call, turn) for call in turn.decision.tool_calls]
        return turn.model_copy(
            update={
                "results": [*turn.results, *results],
                "tool_rounds": [*turn.tool_rounds, list(turn.decision.tool_calls)],
                "assistant_rounds": [*turn.assistant_rounds, list(turn.decision.assistant_content)],
            }
        )

    def execute(self, call: ToolCall, turn: ReadyTurn) -> ActionResult:
        action_id = action_id_for(turn.conversation_id, call.id)
        effect: dict[str, Any] | None = None
        tool = call.tool
        try:
            model = TOOLS.get(call.tool)
            if model is None:
                raise Denied("unknown_tool", f"There is no tool named {call.tool}.")
            arguments = model.model_validate(call.arguments)
            if isinstance(arguments, ConfirmAction):
                action_id = arguments.action_id  # the outcome, and its audit entry, belong to the confirmed action
            if isinstance(arguments, AcceptOffer):  # one action per conversation, customer and offer: one code
                from concierge.offers import issuing

                action_id = issuing.action_id(turn.conversation_id, turn.customer.id, arguments.offer_id)
            if isinstance(arguments, QualifyLead):  # one lead per conversation: one action
                action_id = action_id_for(turn.conversation_id, "qualify_lead")
            status, result, effect, tool = self._dispatch(arguments, turn, action_id)
            outcome = ActionResult(call_id=call.id, action_id=action_id, tool=tool, status=status, result=result)
        except (ValidationError, Denied) as exc:
            outcome = refused(call.id, action_id, tool, exc)
        if call.tool in TOOLS and call.tool not in WRITE_TOOLS:
            # A lookup changes nothing: its record is written with the reply, in the reply's transaction.
            outcome = outcome.model_copy(update={"recorded": False})
        elif call.tool != "confirm_action":  # a confirmation settles the action it confirms instead
            self.s.memory.put_action(turn.conversation_id, turn.customer.id, call, outcome, effect)
        audited = call.tool in WRITE_TOOLS and outcome.status is not ActionStatus.PENDING_CONFIRMATION
        if audited or outcome.status is ActionStatus.DENIED:
            self.s.events.publish(
                ActionExecuted(
                    occurred_at=self.now,
                    conversation_id=turn.conversation_id,
                    customer_id=turn.customer.id,
                    action_id=outcome.action_id,
                    tool=outcome.tool,
                    status=cast(AuditedStatus, outcome.status.value),  # never a proposal (pending confirmation)
                    reason=outcome.reason,
                    amount=outcome.result.get("refund_amount"),
                    currency=outcome.result.get("currency"),
                )
            )
        return outcome

    # dispatch ----------------------------------------------------------------------------
    def _dispatch(self, arguments: ToolInput, turn: ReadyTurn, action_id: str) -> Outcome:
        customer_id = turn.customer.id
        if not turn.customer.verified and not isinstance(arguments, ACCOUNT_FREE_TOOLS):
            # An unverified sender (e.g. an email failing SPF/DKIM) never reaches account data or actions.
            raise Denied("identity_unverified", UNVERIFIED)
        looked_up = self._lookup(arguments, customer_id)  # find_orders, track_shipment: what retrieval may prefetch
        if looked_up is not None:
            result, tool = looked_up
            return ActionStatus.EXECUTED, result, None, tool
        match arguments:
            case GetProduct(product_id=product_id):
                from concierge.catalogue import facts  # stock by variant, sizing, comparison (docs/shopping.md)

                found = facts.run(arguments, self.s.store, self.merchant)
                if found is None:
                    raise Denied("unknown_product", f"There is no product {product_id}.")
                return ActionStatus.EXECUTED, found, None, "get_product"
            case BuildCart():
                from concierge.catalogue.tool import run as build_cart

                cart = build_cart(arguments, self.s.store, self.merchant, self.now)
                return ActionStatus.EXECUTED, cart, None, "build_cart"
            case RecommendProducts():
                from concierge.catalogue.recommend import recommend

                recommended = recommend(
                    customer_id,
                    self.s.memory,
                    self.s.store,
                    self.s.related() if self.s.related else None,
                    self.merchant,
                    self.now,
                    arguments.limit,
                    arguments.exclude_product_ids,
                    arguments.max_price,
                )
                return ActionStatus.EXECUTED, recommended.model_dump(mode="json"), None, "recommend_products"
            case CancelOrder(order_id=order_id):
                order = self._owned_order(customer_id, order_id)
                decision = policy.evaluate_cancel(order)
                if not decision.allowed:
                    raise Denied(decision.reason, decision.explanation)
                effect: dict[str, Any] = {
                    "order_id": order.id,
                    "items": [describe_line(line) for line in order.lines],
                    "total": str(order.total),
                    "currency": order.currency,
                    "refund_to": order.payment.describe(),
                }
                return ActionStatus.PENDING_CONFIRMATION, {"action_id": action_id, **effect}, effect, "cancel_order"
            case ModifyOrder():
                effect = self._propose_modification(customer_id, arguments)
                return ActionStatus.PENDING_CONFIRMATION, {"action_id": action_id, **effect}, effect, "modify_order"
            case FindAppointmentSlots(kind=kind, limit=limit):
                return ActionStatus.EXECUTED, self._free_slots(kind, limit), None, "find_appointment_slots"
            case BookAppointment(slot_id=slot):
                kind, start, label = self._offered_slot(slot)
                effect = {
                    "slot_id": slot,
                    "kind": kind,
                    "label": label,
                    "starts_at": start.isoformat(),
                    "minutes": self._kinds()[kind].minutes,
                }
                return ActionStatus.PENDING_CONFIRMATION, {"action_id": action_id, **effect}, effect, "book_appointment"
            case GetStoreCredit():
                balance, entries = self.s.store.store_credit(customer_id)
                return ActionStatus.EXECUTED, {"balance": str(balance), "entries": entries}, None, "get_store_credit"
            case SendPasswordReset():
                return self._password_reset(customer_id)
            case SendMessage(subject=subject, text=text):
                customer = self.s.store.get_customer(customer_id)
                if customer is None:
                    raise Denied("no_address", "There is no email address on your account.")
                message_id = self.s.email.send(
                    TextEmail(to=customer.email, subject=subject, text=text, merchant_name=self.merchant.name)
                )
                result = {"to": mask_email(customer.email), "message_id": message_id}
                return ActionStatus.EXECUTED, result, {"subject": subject}, "send_message"
            case IssueDiscountCode(percent=percent, reason=reason):
                return self._issue_discount(turn, percent, reason)
            case AcceptOffer(offer_id=offer_id):
                return self._accept_offer(turn, offer_id, action_id)
            case NextBestAction():
                return self._next_best_action(turn, arguments)
            case QualifyLead():
                return self._qualify_lead(turn, arguments)
            case ReturnItems():
                effect = self._propose_return(customer_id, arguments, action_id)
                proposal = {"action_id": action_id, **effect, **self._credit_terms(turn, arguments, effect)}
                return ActionStatus.PENDING_CONFIRMATION, proposal, effect, "return_items"
            case ConfirmAction(action_id=pending_id):
                return self._confirm_once(turn, pending_id)
            case CancelAction(action_id=pending_id):
                pending = self._pending(turn, pending_id)
                self.s.memory.settle_action(turn.conversation_id, pending_id, "cancelled", {}, "customer_declined")
                return (
                    ActionStatus.EXECUTED,
                    {"cancelled": pending_id, "cancelled_tool": pending["tool"]},
                    None,
                    "cancel_action",
                )
            case CreateHandoff(reason=reason, summary=summary):
                return self._handoff(turn, reason, summary)
        raise Denied("unknown_tool", "Unsupported tool.")

    def _owned_order_with_returns(self, customer_id: str, order_id: str) -> tuple[Order, set[str]]:
        """`_owned_order` and the lines of it already returned (one read when the id is the merchant's)."""
        order, returned = self.s.store.order_with_returns(order_id)
        if order is not None and order.customer_id == customer_id:
            return order, returned
        order = self._owned_order(customer_id, order_id)
        return order, self.s.store.returned_line_ids(order.id)

    def _propose_return(self, customer_id: str, request: ReturnItems, action_id: str) -> dict[str, Any]:
        return self._check_return(customer_id, request).effect

    def _check_return(self, customer_id: str, request: ReturnItems, with_customer: bool = False) -> ReturnCheck:
        """The return's effect if policy allows it (else Denied), with what was read to decide: the order, its
        products and, `with_customer`, the customer (read with the products)."""
        order, returned = self._owned_order_with_returns(customer_id, request.order_id)
        found = self.s.store.lookup([line.product_id for line in order.lines], customer_id if with_customer else None)
        products = found.products
        decision = policy.evaluate_return(
            order, request.line_ids, products, returned, self.now, self.merchant.return_window_days
        )
        if not decision.allowed:
            raise Denied(decision.reason, decision.explanation)
        lines = [_line(order, i) for i in request.line_ids]
        amount = policy.refund_amount(order, request.line_ids)
        effect: dict[str, Any] = {
            "order_id": order.id,
            "line_ids": request.line_ids,
            "items": [describe_line(line) for line in lines],
            "resolution": request.resolution,
            "reason": request.reason,
            "currency": order.currency,
            "refund_to": "store credit on your account"
            if request.refund_to == "store_credit"
            else order.payment.describe(),
            "requires_approval": False,
        }
        if request.resolution == "refund":
            effect["refund_amount"] = str(amount)
            effect["requires_approval"] = amount > self.merchant.max_auto_refund
        else:
            if not self.merchant.exchanges.allowed:
                raise Denied(
                    "exchanges_not_offered",
                    f"{self.merchant.name} doesn't offer exchanges; a return for a refund is possible.",
                )
            if len(lines) != 1 or not request.exchange_sku:
                raise Denied("exchange_needs_one_item", "An exchange swaps one item for another size or colour.")
            product = products[lines[0].product_id]
            variant = next((v for v in product.variants if v.sku == request.exchange_sku), None) if product else None
            if product is None or variant is None:  # no product, no variant
                raise Denied("exchange_other_product", "An exchange must be for the same product in another variant.")
            if variant.stock < lines[0].quantity:
                raise Denied(
                    "out_of_stock", f"{product.title} ({', '.join(variant.options.values())}) is out of stock."
                )
            difference = (variant.price - lines[0].unit_price) * lines[0].quantity
            effect |= {
                "exchange_sku": variant.sku,
                "exchange_item": f"{product.title} ({', '.join(variant.options.values())})",
                "price_difference": str(difference),
                "refund_amount": str(max(-difference, Decimal("0.00"))),
            }
        return ReturnCheck(effect, order, products, found.customer)

    def _pending(self, turn: ReadyTurn, action_id: str) -> dict[str, Any]:
        action = self.s.memory.get_action(turn.conversation_id, action_id)
        if action is None or action.get("customer_id") != turn.customer.id:
            raise Denied("unknown_action", "There is no pending action with that id in this conversation.")
        if action["status"] != ActionStatus.PENDING_CONFIRMATION.value:
            raise Denied("not_pending", f"That action is already {action['status']}.")
        return action

    def _confirm_once(self, turn: ReadyTurn, action_id: str) -> Outcome:
        return self._once(
            turn.conversation_id, turn.customer.id, action_id, "confirm", lambda: self._confirm(turn, action_id)
        )

    def _once(
        self, conversation_id: str, customer_id: str, action_id: str, stage: str, run_action: Callable[[], Outcome]
    ) -> Outcome:
        """Run a stage of an action (the customer's confirmation; a person's approval) exactly once, however often
        it is delivered — one after another or at the same moment (retries, double clicks, redelivered events).
        Powertools' idempotency utility keeps one record per (customer, action, stage) in the memory table: the
        first delivery runs, concurrent ones are told it is in progress, later ones get the first one's outcome.
        The record keeps only the status and the tool, nothing personal: a later delivery reads the result from
        the action itself, which the first one settled (and which erasure deletes with the conversation)."""
        if self.s.idempotency is None:
            return run_action()
        from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
        from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError

        # The customer is part of the key: someone else's attempt on an action id can never stand for the owner's.
        config = IdempotencyConfig(
            event_key_jmespath="[customer_id, action_id, stage]", expires_after_seconds=7 * 24 * 3600
        )
        if self.lambda_context is not None:
            config.register_lambda_context(self.lambda_context)

        @idempotent_function(  # type: ignore[untyped-decorator]  # powertools types the decorator as returning Any
            data_keyword_argument="key", persistence_store=self.s.idempotency, config=config
        )
        def run(key: dict[str, str]) -> dict[str, Any]:
            # A refusal raises: powertools then keeps no record, so a later, valid attempt still runs.
            outcome = run_action()
            ran.append(outcome)
            return {"status": outcome[0].value, "tool": outcome[3]}

        ran: list[Outcome] = []
        try:
            record = run(key={"action_id": action_id, "customer_id": customer_id, "stage": stage})
        except IdempotencyAlreadyInProgressError as exc:
            raise Denied("in_progress", "That action is being carried out right now.") from exc
        if ran:
            return ran[0]
        action = self.s.memory.get_action(conversation_id, action_id)  # a repeat: the first delivery's outcome
        if action is None or action.get("customer_id") != customer_id:
            raise Denied("unknown_action", "There is no pending action with that id in this conversation.")
        return ActionStatus(record["status"]), action.get("result") or {}, action.get("effect"), record["tool"]

    def _confirm(self, turn: ReadyTurn, action_id: str) -> Outcome:
        if any(result.action_id == action_id for result in turn.results):
            # Proposed in this very turn: the customer has not seen it yet. Whatever engine asks, the customer's
            # confirmation comes in a later message (refused and audited like any denial).
            raise Denied(
                "proposed_this_turn",
                "The customer has not seen that proposal yet: show it and wait for "
                "their confirmation in their next message.",
            )
        pending = self._pending(turn, action_id)
        if not pending.get("shown_at"):
            # No stored reply has stated it to the customer (a turn still in flight proposed it): not yet confirmable.
            raise Denied(
                "not_shown",
                "The customer has not been shown that proposal yet: show it and wait for their "
                "confirmation in their next message.",
            )
        if pending["tool"] == "cancel_order":
            return self._confirm_cancel(turn, action_id, pending)
        if pending["tool"] == "modify_order":
            return self._confirm_modification(turn, action_id, pending)
        if pending["tool"] == "book_appointment":
            return self._confirm_booking(turn, action_id, pending)
        if pending["tool"] in JOURNEY_REMEDIES:
            return self._confirm_remedy(turn, action_id, pending)
        if pending["tool"] != "return_items":
            raise Denied("not_confirmable", f"{pending['tool']} is not confirmed this way.")
        if pending["effect"].get("requires_approval"):
            return self._request_approval(turn, action_id, pending)
        return self._execute_return(
            turn.conversation_id, turn.customer.id, action_id, pending, ActionStatus.PENDING_CONFIRMATION.value
        )

    def _request_approval(self, turn: ReadyTurn, action_id: str, pending: dict[str, Any]) -> Outcome:
        """Above the limit: the customer's confirmation hands the action to a person (the approval workflow)."""
        if self.s.approvals is None:
            raise Denied(
                "requires_approval", "This refund is above the amount I can approve; a teammate must approve it."
            )
        request = ReturnItems.model_validate(pending["arguments"])
        fresh = self._propose_return(turn.customer.id, request, action_id)  # still allowed, still the same amount
        limit = self.merchant.max_auto_refund
        approval = ApprovalRequest(
            action_id=action_id,
            conversation_id=turn.conversation_id,
            customer_id=turn.customer.id,
            tool="return_items",
            summary=(
                f"Refund {fresh['refund_amount']} {fresh['currency']} to {fresh['refund_to']} for "
                f"{', '.join(fresh['items'])} (order {fresh['order_id']}, reason: {fresh['reason']})"
            ),
            amount=Decimal(fresh["refund_amount"]),
            currency=fresh["currency"],
            reason=f"refund above {limit} {fresh['currency']}",
            requested_at=self.now,
            timeout_seconds=self.s.settings.approval_timeout_seconds,
        )
        ApprovalStore(self.s.memory).create(approval)
        result = {
            **fresh,
            "action_id": action_id,
            "approval": "requested",
            "decision_within_hours": round(self.s.settings.approval_timeout_seconds / 3600, 1),
        }
        if not self.s.memory.settle_action(
            turn.conversation_id, action_id, ActionStatus.AWAITING_APPROVAL.value, result, None
        ):
            raise Denied("not_pending", "That action is no longer pending.")
        self.s.approvals.start(approval)
        return ActionStatus.AWAITING_APPROVAL, result, fresh, "return_items"

    def _execute_return(
        self, conversation_id: str, customer_id: str, action_id: str, pending: dict[str, Any], expected: str
    ) -> Outcome:
        request = ReturnItems.model_validate(pending["arguments"])
        check = self._check_return(customer_id, request, with_customer=True)  # the order may have changed since
        fresh, order, customer = check.effect, check.order, check.customer
        return_id = "R" + action_id[1:]
        replacement = (
            self._replacement(order, check.products, request, return_id) if request.resolution == "exchange" else None
        )
        as_credit = request.refund_to == "store_credit" and request.resolution == "refund"
        bonus, bonus_offer = (
            self._credit_bonus(conversation_id, customer_id, Decimal(fresh.get("refund_amount", "0.00")))
            if as_credit
            else (Decimal("0.00"), None)
        )
        record = ReturnRecord(
            return_id=return_id,
            order_id=order.id,
            line_ids=request.line_ids,
            resolution=request.resolution,
            refund_amount=fresh.get("refund_amount", "0.00"),
            currency=order.currency,
            refund_to=fresh["refund_to"],
            exchange_order_id=replacement.id if replacement else None,
            created_at=self.now,
            credit_customer_id=customer_id if as_credit else None,
            credit_bonus=bonus,
            credit_offer_id=bonus_offer,
            # the reason the customer gave ("other": none of the named ones), counted per product (catalogue/facts.py)
            reason=request.reason if request.reason != "other" else None,
            product_ids=[line.product_id for line in order.lines if line.line_id in request.line_ids],
        )
        if customer is None:  # read before anything is recorded: none, nothing is
            self.s.memory.settle_action(conversation_id, action_id, "denied", {}, "unknown_customer", expected)
            raise Denied("unknown_customer", "I can't find your account in the store, so nothing was returned.")
        try:
            self.s.store.record_return(record, replacement)
        except AlreadyReturned as exc:
            self.s.memory.settle_action(conversation_id, action_id, "denied", {}, "already_returned", expected)
            raise Denied("already_returned", "That item has already been returned.") from exc
        if bonus_offer is not None:  # the return-retention offer taken: the customer chose the credit it offered
            self.s.memory.record_offer_accepted(bonus_offer, customer_id)
        if request.resolution == "refund" and as_credit:
            resolution_text = f"{record.refund_amount + bonus} {record.currency} of store credit is on your account" + (
                f", a bonus of {bonus} {record.currency} on top of the refund." if bonus else "."
            )
        elif request.resolution == "refund":
            resolution_text = (
                f"Your refund of {record.refund_amount} {record.currency} is on its way to {record.refund_to}"
                f"{self.merchant.refund_eta()}."
            )
        else:
            assert replacement is not None  # an exchange always has its replacement order
            resolution_text = f"Your replacement {fresh['exchange_item']} is ordered ({replacement.id})."
        message_id = self.s.email.send(
            ReturnEmail(
                to=customer.email,
                first_name=customer.first_name,
                merchant_name=self.merchant.name,
                return_id=return_id,
                order_id=order.id,
                items=fresh["items"],
                resolution_text=resolution_text,
                with_qr=self.merchant.return_method == "drop_off_code",
                steps=" ".join(
                    part
                    for part in (self.merchant.return_wording.email, self.merchant.return_instructions or "")
                    if part
                ),
            )
        )
        result = {
            **fresh,
            "action_id": action_id,
            "return_id": return_id,
            "exchange_order_id": record.exchange_order_id,
            "email": {
                "to": mask_email(customer.email),
                "message_id": message_id,
                "qr_code": self.merchant.return_method == "drop_off_code",
            },
            "how_to_return": self.merchant.return_method_sentence(mask_email(customer.email)),
            "refund_eta": self.merchant.refund_timing,
            "store_credit": as_credit,
            "credit_bonus": str(bonus),
        }
        self.s.memory.settle_action(conversation_id, action_id, ActionStatus.EXECUTED.value, result, None, expected)
        return ActionStatus.EXECUTED, result, fresh, "return_items"

    def _handoff(self, turn: ReadyTurn, reason: str, summary: str) -> Outcome:
        """Queue the conversation for people: routed, prioritised, within or outside support hours."""
        from concierge.handoff import queue as handoff

        transcript = self.s.memory.transcript(turn.conversation_id)
        self.s.memory.record_handoff(turn.conversation_id, reason, summary, transcript)
        record = turn.record or self.s.memory.get_conversation(turn.conversation_id)
        orders = self.s.store.recent_orders(turn.customer.id, 10) if turn.customer.verified else []
        value = float(sum((o.total for o in orders if o.status is not OrderStatus.CANCELLED), Decimal("0")))
        owner = handoff.open_handoff(
            self.s.handoffs or handoff.HandoffStore(self.s.memory),
            conversation_id=turn.conversation_id,
            customer_id=turn.customer.id,
            reason=reason,
            summary=summary,
            channel=turn.message.channel.value,
            intents=record.intents if record else [],
            sentiments=record.sentiments if record else [],
            fingerprints=record.message_fingerprints if record else [],
            customer_value=value,
            hours=handoff.SupportHours.from_setting(self.merchant.support_hours_json()),
            now=self.now,
        )
        self.s.events.publish(
            HandoffRequested(
                occurred_at=self.now,
                conversation_id=turn.conversation_id,
                customer_id=turn.customer.id,
                reason=reason,
                channel=turn.message.channel.value,
                queue=owner.queue,
                priority=owner.priority,
                within_hours=owner.within_hours,
            )
        )
        result = {
            "reason": reason,
            "transcript_messages": len(transcript),
            "queue": owner.queue,
            "within_hours": owner.within_hours,
            "reply_expected_by": owner.promised_by.isoformat() if owner.promised_by else None,
        }
        return ActionStatus.EXECUTED, result, None, "create_handoff"

    # order changes, appointments, account ------------------------------------------------------
    def _propose_modification(self, customer_id: str, request: ModifyOrder) -> dict[str, Any]:
        order = self._owned_order(customer_id, request.order_id)
        decision = policy.evaluate_modify(order, request.remove_line_ids)
        if not decision.allowed:
            raise Denied(decision.reason, decision.explanation)
        kept = [line for line in order.lines if line.line_id not in set(request.remove_line_ids)]
        subtotal = sum((line.unit_price * line.quantity for line in kept), Decimal("0.00"))
        effect: dict[str, Any] = {"order_id": order.id, "currency": order.currency, "total_before": str(order.total)}
        if request.remove_line_ids:
            effect["remove_line_ids"] = request.remove_line_ids
            effect["removed_items"] = [describe_line(_line(order, i)) for i in request.remove_line_ids]
            # shipping and tax are kept as charged: the merchant's platform recomputes them if it must
            effect["total_after"] = str(subtotal + order.shipping_cost + order.tax)
        if request.shipping_address is not None:
            effect["shipping_address"] = request.shipping_address.model_dump()
        return effect

    def _confirm_modification(self, turn: ReadyTurn, action_id: str, pending: dict[str, Any]) -> Outcome:
        request = ModifyOrder.model_validate(pending["arguments"])
        fresh = self._propose_modification(turn.customer.id, request)  # it may have shipped since
        address = Address(**request.shipping_address.model_dump()) if request.shipping_address else None
        changed = self.s.store.modify_order(fresh["order_id"], address, request.remove_line_ids)
        if changed is None:
            self.s.memory.settle_action(turn.conversation_id, action_id, "denied", {}, "order_shipped")
            raise Denied("order_shipped", f"Order {request.order_id} can no longer be changed.")
        result = {**fresh, "action_id": action_id, "modified": True, "total": str(changed.total)}
        self.s.memory.settle_action(turn.conversation_id, action_id, ActionStatus.EXECUTED.value, result, None)
        return ActionStatus.EXECUTED, result, fresh, "modify_order"

    def _kinds(self) -> dict[str, appointments.AppointmentKind]:
        return dict(self.merchant.appointments) or appointments.kinds(self.s.settings.appointment_kinds)

    def _free_slots(self, kind_name: str, limit: int) -> dict[str, Any]:
        kind = self._kinds().get(kind_name)
        if kind is None:
            offered = ", ".join(self._kinds())
            raise Denied(
                "unknown_appointment_kind",
                f"We offer these appointments: {offered}." if offered else "We don't take appointments in chat.",
            )
        starts = appointments.candidate_starts(kind, self.now)
        booked = self.s.store.booked_slots(kind_name, starts[0], starts[-1]) if starts else set()
        free = [start for start in starts if start not in booked][:limit]
        return {
            "kind": kind_name,
            "label": kind.label,
            "minutes": kind.minutes,
            "slots": [
                {"slot_id": appointments.slot_id(kind_name, start), "starts_at": start.isoformat()} for start in free
            ],
        }

    def _offered_slot(self, slot: str) -> tuple[str, datetime, str]:
        parsed = appointments.parse_slot_id(slot)
        kind = self._kinds().get(parsed[0]) if parsed else None
        if parsed is None or kind is None or not appointments.is_offered(kind, parsed[1], self.now):
            raise Denied(
                "unknown_slot", "That time is not one of our open appointment slots; let me find the free ones."
            )
        return parsed[0], parsed[1], kind.label

    def _confirm_booking(self, turn: ReadyTurn, action_id: str, pending: dict[str, Any]) -> Outcome:
        kind, start, _label = self._offered_slot(pending["arguments"]["slot_id"])
        if not self.s.store.book_slot(kind, start, turn.customer.id, action_id, self.now):
            self.s.memory.settle_action(turn.conversation_id, action_id, "denied", {}, "slot_taken")
            raise Denied("slot_taken", "Someone has just booked that slot; let me find you another one.")
        result = {**pending["effect"], "action_id": action_id, "booked": True}
        self.s.memory.settle_action(turn.conversation_id, action_id, ActionStatus.EXECUTED.value, result, None)
        return ActionStatus.EXECUTED, result, pending["effect"], "book_appointment"

    def _password_reset(self, customer_id: str) -> Outcome:
        customer = self.s.store.get_customer(customer_id)
        if customer is None:
            raise Denied("no_address", "There is no email address on your account.")
        token = secrets.token_urlsafe(32)
        token_hash = hashlib.sha256(token.encode()).hexdigest()
        if not self.s.store.create_password_reset(
            customer_id, token_hash, self.now, self.now + timedelta(minutes=30), self.now - timedelta(minutes=15)
        ):
            raise Denied(
                "reset_recently_sent",
                "A reset link was sent in the last 15 minutes; please check your inbox and spam folder.",
            )
        link = f"{self.s.settings.password_reset_url}?token={token}"
        self.s.email.send(
            TextEmail(
                to=customer.email,
                subject="Reset your password",
                merchant_name=self.merchant.name,
                text=(
                    f"Hi {customer.first_name},\n\n"
                    "You asked to reset your password. This link works once, for 30 minutes:\n"
                    f"{link}\n\nIf you didn't ask for this, you can ignore this email.\n\n{self.merchant.name}"
                ),
            )
        )
        # The link never reaches the conversation (or the model): only where it was sent.
        return (
            ActionStatus.EXECUTED,
            {"sent_to": mask_email(customer.email), "valid_minutes": 30},
            None,
            "send_password_reset",
        )

    # approvals (the tasks of the approval workflow) ------------------------------------------
    def approval_waiting(self, request: ApprovalRequest, task_token: str) -> None:
        """The workflow waits for a person: keep its token, list the approval, and announce it."""
        ApprovalStore(self.s.memory).await_decision(request, task_token, self.now)
        self.s.events.publish(
            ApprovalRequested(
                occurred_at=self.now,
                action_id=request.action_id,
                conversation_id=request.conversation_id,
                customer_id=request.customer_id,
                tool=request.tool,
                summary=request.summary,
                amount=request.amount,
                currency=request.currency,
                reason=request.reason,
                deadline=self.now + timedelta(seconds=request.timeout_seconds),
            )
        )

    def approved(self, request: ApprovalRequest, decision: DecisionOutput) -> Notice:
        """A person approved: execute the action once (a retried task gets the first execution's result)."""
        store = ApprovalStore(self.s.memory)
        try:
            _, result, _, _ = self._once(
                request.conversation_id,
                request.customer_id,
                request.action_id,
                "approved",
                lambda: self._execute_approved(request),
            )
        except Denied as exc:
            self.s.memory.settle_action(
                request.conversation_id,
                request.action_id,
                ActionStatus.DENIED.value,
                {"explanation": exc.explanation},
                exc.reason,
                ActionStatus.AWAITING_APPROVAL.value,
            )
            store.settle(request.conversation_id, request.action_id, ApprovalStatus.APPROVED)
            self._audit_approval(request, ActionStatus.DENIED, exc.reason, decision.decided_by)
            return self._notice(
                request,
                "approved",
                f"A teammate approved your request, but I couldn't complete it: {exc.explanation} "
                "Reply here and a teammate will sort it out with you.",
            )
        store.settle(request.conversation_id, request.action_id, ApprovalStatus.APPROVED)
        self._audit_approval(request, ActionStatus.EXECUTED, None, decision.decided_by, result.get("refund_amount"))
        if "return_id" not in result:  # a journey's refund: no parcel to send back
            return self._notice(
                request,
                "approved",
                f"Good news — a teammate approved your refund: {result['refund_amount']} {result['currency']} is on "
                f"its way to {result.get('refund_to') or 'your original payment method'}{self.merchant.refund_eta()}.",
            )
        return self._notice(
            request,
            "approved",
            f"Good news — a teammate approved your refund. Return {result['return_id']} is processed and "
            f"{result['refund_amount']} {result['currency']} is on its way to {result['refund_to']}"
            f"{self.merchant.refund_eta()}. {result['how_to_return']}",
        )

    def _execute_approved(self, request: ApprovalRequest) -> Outcome:
        pending = self.s.memory.get_action(request.conversation_id, request.action_id)
        if pending is None or pending.get("customer_id") != request.customer_id:
            raise Denied("unknown_action", "The request no longer exists.")
        if pending["status"] != ActionStatus.AWAITING_APPROVAL.value:
            raise Denied("not_awaiting_approval", f"That request is already {pending['status']}.")
        if pending["tool"] in JOURNEY_REMEDIES:  # a journey's refund (late order, second charge)
            return self._remedy(
                request.conversation_id,
                request.customer_id,
                request.action_id,
                pending,
                ActionStatus.AWAITING_APPROVAL.value,
            )
        return self._execute_return(
            request.conversation_id,
            request.customer_id,
            request.action_id,
            pending,
            ActionStatus.AWAITING_APPROVAL.value,
        )

    def declined(self, request: ApprovalRequest, decision: DecisionOutput) -> Notice:
        self._close_unapproved(request, ApprovalStatus.DENIED, "approval_denied", decision.decided_by)
        note = f" Their note: “{decision.note.strip()}”" if decision.note.strip() else ""
        return self._notice(
            request,
            "denied",
            f"A teammate reviewed your request ({request.summary.split(' (order')[0]}) and couldn't approve it, so "
            f"nothing has been charged or refunded.{note} Reply here if you'd like to talk it through with them.",
        )

    def expired(self, request: ApprovalRequest) -> Notice:
        """Nobody decided in time: settle it honestly and hand the matter to a person to follow up."""
        self._close_unapproved(request, ApprovalStatus.EXPIRED, "approval_expired", None)
        self.s.events.publish(
            HandoffRequested(
                occurred_at=self.now,
                conversation_id=request.conversation_id,
                customer_id=request.customer_id,
                reason=f"approval not decided in time: {request.summary}",
                channel="approval",
            )
        )
        return self._notice(
            request,
            "expired",
            "I'm sorry — your refund request wasn't reviewed in time, so it hasn't gone through yet. I've passed it to "
            "our team with everything you told me; a teammate will contact you, and you don't need to repeat anything.",
        )

    def _close_unapproved(
        self, request: ApprovalRequest, status: ApprovalStatus, reason: str, decided_by: str | None
    ) -> None:
        explanation = {
            "approval_denied": "A teammate did not approve it.",
            "approval_expired": "It was not reviewed in time.",
        }[reason]
        self.s.memory.settle_action(
            request.conversation_id,
            request.action_id,
            ActionStatus.DENIED.value,
            {"explanation": explanation},
            reason,
            ActionStatus.AWAITING_APPROVAL.value,
        )
        ApprovalStore(self.s.memory).settle(request.conversation_id, request.action_id, status)
        self._audit_approval(request, ActionStatus.DENIED, reason, decided_by)

    def _audit_approval(
        self,
        request: ApprovalRequest,
        status: ActionStatus,
        reason: str | None,
        decided_by: str | None,
        amount: str | None = None,
    ) -> None:
        self.s.events.publish(
            ActionExecuted(
                occurred_at=self.now,
                conversation_id=request.conversation_id,
                customer_id=request.customer_id,
                action_id=request.action_id,
                tool=request.tool,
                status=cast(AuditedStatus, status.value),  # executed or denied
                reason=reason,
                decided_by=decided_by,
                amount=Decimal(amount) if amount is not None else None,
                currency=request.currency if amount else None,
            )
        )

    @staticmethod
    def _notice(request: ApprovalRequest, step: str, text: str) -> Notice:
        return Notice(
            conversation_id=request.conversation_id,
            customer_id=request.customer_id,
            key=f"{request.action_id}:{step}",
            text=text,
        )

    def _qualify_lead(self, turn: ReadyTurn, request: QualifyLead) -> Outcome:
        """A business, demo or quote request with the customer's answers (docs/leads.md). Safety in code, not in a
        prompt: the answers are checked against merchant.json's questions (one a question does not take is refused,
        with what it takes), the merchant's rule decides, and the sentence and link of the outcome come from
        merchant.json. One lead per conversation: asked again, the first outcome comes back. The lead is recorded
        in the customer's partition and `lead.qualified` published, qualified or not."""
        from concierge.leads.config import InvalidAnswers
        from concierge.leads.store import Lead, LeadStore

        settings = self.merchant.leads
        if settings is None:
            raise Denied("no_lead_flow", f"{self.merchant.name} takes no business requests in chat.")
        records = self.s.leads or LeadStore(self.s.memory)
        lead = records.get(turn.customer.id, turn.conversation_id)
        if lead is None:
            try:
                answers = settings.check_answers(request.answers)
            except InvalidAnswers as exc:
                raise Denied("invalid_answers", f"Those answers don't fit the questions: {exc}. Ask again.") from None
            qualified = settings.qualifies(answers)
            asked = next(
                (p for p in settings.requests if request.request and p.lower() == request.request.lower()), None
            )
            created, lead = records.create(
                Lead(
                    customer_id=turn.customer.id,
                    conversation_id=turn.conversation_id,
                    channel=turn.message.channel.value,
                    request=asked,
                    answers=answers,
                    qualified=qualified,
                    link=settings.outcome(qualified).link,
                    verified=turn.customer.verified,
                    at=self.now,
                )
            )
            if created:
                self._publish_lead(lead)
        outcome = settings.outcome(lead.qualified)
        # the link recorded with the lead; the sentence as merchant.json says it now
        message = f"{outcome.text.rstrip()} {lead.link}"
        result = {"qualified": lead.qualified, "message": message, "link": lead.link, "answers": lead.answers}
        return ActionStatus.EXECUTED, result, {"qualified": lead.qualified, "link": lead.link}, "qualify_lead"

    def _publish_lead(self, lead: Lead) -> None:
        from concierge.platform.events import EventPublishError, LeadQualified

        try:
            self.s.events.publish(
                LeadQualified(
                    occurred_at=self.now,
                    conversation_id=lead.conversation_id,
                    customer_id=lead.customer_id,
                    channel=lead.channel,
                    qualified=lead.qualified,
                    request=lead.request,
                    answers=lead.answers,
                    link=lead.link,
                    verified=lead.verified,
                )
            )
        except EventPublishError:  # the lead is recorded (and exported with the customer): the reply goes on
            import logging

            logging.getLogger(__name__).warning("lead.qualified not published", exc_info=True)

    def _issue_discount(self, turn: ReadyTurn, percent: int, reason: str) -> Outcome:
        settings = self.s.settings
        if percent > settings.discount_max_percent:
            raise Denied("above_discount_limit", f"I can offer at most {settings.discount_max_percent}% off.")
        code = f"{self.merchant.code_prefix}-{secrets.token_hex(4).upper()}"
        discount = Discount(
            code=code,
            customer_id=turn.customer.id,
            percent=percent,
            reason=reason,
            conversation_id=turn.conversation_id,
            issued_at=self.now,
            expires_at=self.now + timedelta(days=settings.discount_valid_days),
        )
        if not self.s.store.issue_discount(discount, self.now - timedelta(days=settings.discount_cap_days)):
            raise Denied("discount_limit_reached", "A discount code was already issued to you recently.")
        result = {"code": code, "percent": percent, "expires_at": discount.expires_at.isoformat(), "single_use": True}
        return ActionStatus.EXECUTED, result, result, "issue_discount_code"

    def _credit_terms(self, turn: ReadyTurn, request: ReturnItems, effect: dict[str, Any]) -> dict[str, Any]:
        """What a refund proposal tells the engine beside its effect: whether it goes to store credit and, if so, the
        bonus a return-retention offer presented in this conversation adds (what the execution will pay, worked out
        the same way), so the reply can say the whole amount before the customer confirms."""
        as_credit = request.resolution == "refund" and request.refund_to == "store_credit"
        if not as_credit:
            return {"store_credit": as_credit}
        bonus, _ = self._credit_bonus(turn.conversation_id, turn.customer.id, Decimal(effect.get("refund_amount", "0")))
        return {"store_credit": True, "credit_bonus": str(bonus)}

    def _credit_bonus(self, conversation_id: str, customer_id: str, refund: Decimal) -> tuple[Decimal, str | None]:
        """The store-credit bonus of a return-retention offer presented in this conversation (a `credit_bonus`
        decided `offer` and presented, within the offer's cap period), for a refund paid as store credit; else 0.
        Decided by the guardrails and read back from the audit trail: a model cannot grant one."""
        from concierge.offers import issuing
        from concierge.offers.catalogue import CreditBonus, OfferKind
        from concierge.offers.guardrails import Outcome as DecisionOutcome

        offers = {
            o.id: o
            for o in self.merchant.offers
            if o.enabled and o.kind is OfferKind.RETURN_RETENTION and isinstance(o.value, CreditBonus)
        }
        if not offers or refund <= 0:
            return Decimal("0.00"), None
        since = self.now - timedelta(days=max(o.cap.days for o in offers.values()))
        for decision in reversed(self.s.memory.offer_decisions(customer_id, since, exposures_only=True)):
            offer = offers.get(decision.offer_id)
            if (
                offer is not None
                and decision.conversation_id == conversation_id
                and decision.outcome is DecisionOutcome.OFFER
                and decision.presented
            ):
                credit = issuing.credit(offer.value, refund)
                assert credit is not None  # a CreditBonus value
                return credit - refund, offer.id
        return Decimal("0.00"), None

    def _proposed_refund(self, turn: ReadyTurn, hint: NextBestAction) -> tuple[NextBestAction, Decimal] | None:
        """The return moment's facts read from the refund it is about: a `return_items` refund to the original
        payment, proposed to this customer in this conversation and still waiting for their yes. The order, the
        first line's product, the items, whether the shop is at fault and the amount all come from that record, not
        from the hint. None without one (an engine's hint about nothing pending)."""
        from concierge.offers.moments import FAULT_REASONS, items_phrase

        pending = self.s.memory.get_action(turn.conversation_id, hint.action_id) if hint.action_id else None
        if (
            pending is None
            or pending.get("customer_id") != turn.customer.id
            or pending.get("tool") != "return_items"
            or pending.get("status") != ActionStatus.PENDING_CONFIRMATION.value
        ):
            return None
        request = ReturnItems.model_validate(pending["arguments"])
        effect = pending.get("effect") or {}
        if request.resolution != "refund" or request.refund_to == "store_credit" or "refund_amount" not in effect:
            return None
        order = self._owned_order(turn.customer.id, request.order_id)
        first = next((line for line in order.lines if line.line_id in request.line_ids), None)
        facts = hint.model_copy(
            update={
                "order_id": order.id,
                "product_id": first.product_id if first else None,
                "item": items_phrase(effect.get("items") or []) or hint.item,
                "item_value": None,
                "shop_at_fault": request.reason in FAULT_REASONS,
            }
        )
        return facts, Decimal(str(effect["refund_amount"]))

    def _accept_offer(self, turn: ReadyTurn, offer_id: str, action_id: str) -> Outcome:
        """The customer takes an offer. Safety in code, not in a prompt: only an offer the guardrails decided `offer`
        for THIS conversation and customer, and the next best action presented (a stored `offer.decided` entry of
        their audit trail), can be taken, so a model cannot grant an offer they did not decide. Its code is issued
        once per conversation (taken twice, the first code comes back) and attributed to the conversation and the
        offer (docs/offers.md)."""
        from concierge.offers import issuing
        from concierge.offers.guardrails import Outcome as DecisionOutcome

        customer_id = turn.customer.id
        taken = self.s.memory.get_action(turn.conversation_id, action_id)
        if taken is not None and taken.get("customer_id") == customer_id and taken.get("status") == "executed":
            return ActionStatus.EXECUTED, taken.get("result") or {}, taken.get("effect"), "accept_offer"
        offer = next((o for o in self.merchant.offers if o.id == offer_id and o.enabled), None)
        if offer is None:
            raise Denied("unknown_offer", "There is no such offer to take.")
        started = turn.conversation.started_at
        decisions = self.s.memory.offer_decisions(customer_id, started - timedelta(minutes=1), exposures_only=True)
        if not any(
            d.offer_id == offer_id
            and d.conversation_id == turn.conversation_id
            and d.outcome is DecisionOutcome.OFFER
            and d.presented
            for d in decisions
        ):
            raise Denied("offer_not_made", "That offer wasn't made in this conversation, so it can't be taken.")
        refused = issuing.refusal(offer, self.s.settings.discount_max_percent)
        if refused is not None:
            raise Denied(*refused)
        if offer.value is not None and offer.value.type == "credit_bonus":
            raise Denied(
                "taken_with_the_return",
                "This offer is taken by choosing store credit for the return; I can set that up.",
            )
        outcome = self._take_offer(turn, offer, action_id)
        self.s.memory.record_offer_accepted(offer.id, customer_id)  # the report's "accepted" (offers/ledger.py)
        return outcome

    def _take_offer(self, turn: ReadyTurn, offer: Offer, action_id: str) -> Outcome:
        """The one code path of an offer's code: issued exactly once per conversation, customer and offer
        (`issuing.action_id`), whether the customer takes the offer (`accept_offer`) or its message shows the code
        when it is presented (`next_best_action`); taken again, the first code comes back."""
        taken = self.s.memory.get_action(turn.conversation_id, action_id)
        if taken is not None and taken.get("customer_id") == turn.customer.id and taken.get("status") == "executed":
            return ActionStatus.EXECUTED, taken.get("result") or {}, taken.get("effect"), "accept_offer"
        return self._once(
            turn.conversation_id, turn.customer.id, action_id, "offer", lambda: self._issue_offer_code(turn, offer)
        )

    def _next_best_action(self, turn: ReadyTurn, hint: NextBestAction) -> Outcome:
        """The next best action at a moment the engine named (docs/offers.md, "Wiring"). Everything is decided here,
        in code: the context is built from what this function can read (the customer's profile and consent, the
        order and product the moment is about, their orders with consent, the conversation's moods and owner, the
        turn's signals), `nba.consider` runs the guardrails, holdout and caps and records every decision, and a
        presented offer whose wording shows a code gets it issued through `_take_offer` (the code path of
        accept_offer). The result carries the rendered message only when an offer is presented; never raises: an
        offer must never cost the customer their answer."""
        try:
            return self._consider(turn, hint)
        except Denied:
            raise
        except Exception as exc:  # a bug or an outage here must never turn the reply into an error or a handoff
            import logging

            logging.getLogger(__name__).warning("next best action failed", exc_info=True)
            raise Denied("offer_error", "No offer was considered.") from exc

    def _consider(self, turn: ReadyTurn, hint: NextBestAction) -> Outcome:
        from concierge.conversation.turn import ConversationStatus
        from concierge.offers import issuing, moments, nba
        from concierge.offers.catalogue import OfferMoment
        from concierge.platform.settings import OfferSaltMissing

        customer_id = turn.customer.id
        moment = OfferMoment(hint.moment)
        result: dict[str, Any] = {"moment": moment.value, "presented": False, "chosen": "nothing", "decisions": []}
        if not nba.moment_offers(self.merchant, moment):
            return ActionStatus.EXECUTED, result | {"reason": "no_offers"}, None, "next_best_action"
        try:
            self.s.settings.holdout_salt()
        except OfferSaltMissing:
            return ActionStatus.EXECUTED, result | {"reason": "no_salt"}, None, "next_best_action"
        conversation = turn.conversation
        refund: Decimal | None = None
        if moment is OfferMoment.RETURN_REQUESTED:  # about a refund proposed in this conversation: its own amounts
            proposed = self._proposed_refund(turn, hint)
            if proposed is None:
                return ActionStatus.EXECUTED, result | {"reason": "no_pending_refund"}, None, "next_best_action"
            hint, refund = proposed
        consent = nba.consent(turn.profile)
        order = self._owned_order(customer_id, hint.order_id) if hint.order_id else None
        orders = self.s.store.recent_orders(customer_id, ORDER_LOOKUP_LIMIT) if consent else []
        product_id = hint.product_id
        if product_id is None and moment is OfferMoment.POSITIVE_FEEDBACK:
            mine = orders or self.s.store.recent_orders(customer_id, ORDER_LOOKUP_LIMIT)  # what they bought: not
            titles = {line.product_id: line.title for o in mine for line in o.lines}  # their history, no consent needed
            product_id = moments.praised_product(turn.message.text, titles.items())
        product = self.s.store.get_product(product_id) if product_id else None
        plans = None
        if moment is OfferMoment.PAID_FEATURE_INTEREST:  # a trial is never for a subscriber, nor tried twice
            from concierge.journeys.subscriptions import SubscriptionStore

            if not hint.plan:
                return ActionStatus.EXECUTED, result | {"reason": "no_plan"}, None, "next_best_action"
            plans = SubscriptionStore(self.s.memory).plans(customer_id)
        if moment is OfferMoment.POSITIVE_FEEDBACK and product is None:
            return ActionStatus.EXECUTED, result | {"reason": "no_product"}, None, "next_best_action"
        if moment is OfferMoment.VARIANT_OUT_OF_STOCK and hint.alternative_sku is None:
            # named by a model, not read from the catalogue by the engine: the catalogue must say so, and the
            # variants shown to the customer are the catalogue's, never the model's words
            if product is None:
                return ActionStatus.EXECUTED, result | {"reason": "no_product"}, None, "next_best_action"
            labels = moments.sold_out_labels(product, hint.wanted or "", hint.alternative or "")
            if labels is None:
                return ActionStatus.EXECUTED, result | {"reason": "not_sold_out"}, None, "next_best_action"
            hint = hint.model_copy(update={"wanted": labels[0], "alternative": labels[1], "alternative_sku": labels[2]})
        item_value = refund if refund is not None else hint.item_value
        if refund is None and order is not None and product is not None:  # the order's price, never the hint's
            line = next((ln for ln in order.lines if ln.product_id == product.id), None)
            item_value = line.unit_price if line else item_value
        late = bool(
            order is not None
            and order.status is OrderStatus.SHIPPED
            and order.shipment is not None
            and order.shipment.estimated_delivery < self.now
        )
        record = turn.record
        context = nba.offer_context(
            customer_id=customer_id,
            conversation_id=turn.conversation_id,
            moment=moment,
            channel=turn.message.channel,
            now=self.now,
            signals=turn.signals,
            sentiments=record.sentiments if record else conversation.sentiments,
            person_owns=conversation.status is ConversationStatus.HANDED_OFF,
            shop_at_fault=hint.shop_at_fault or late,
            # turned down in this message, or (as the engine read them) in the request's earlier words
            declined=hint.declined or moments.declines(turn.message.text),
            profile=turn.profile,
            product=product,
            item_value=item_value,
            order=order,
            plan=hint.plan,
            plans=plans,
            customer=self.s.store.get_customer(customer_id) if consent else None,
            orders=orders,
        )
        chosen = nba.consider(
            self.s,
            context,
            conversation_started_at=conversation.started_at,
            locale=turn.customer.locale,
            replay_since=turn.message.received_at,
        )
        result |= {
            "chosen": f"{chosen.chosen.kind}:{chosen.chosen.id}" if chosen.chosen.id else chosen.chosen.kind,
            "decisions": [
                {
                    "offer_id": d.offer_id,
                    "outcome": d.outcome.value,
                    "reason": d.reason.value,
                    "group": d.group.value,
                    "presented": bool(d.presented),
                }
                for d in chosen.decisions
            ],
        }
        if chosen.decisions:  # the first decision's outcome and reason, for a scenario or a log line to read
            result |= {"outcome": chosen.decisions[0].outcome.value, "reason": chosen.decisions[0].reason.value}
        decision = chosen.offer_decision
        offer = next((o for o in self.merchant.offers if decision and o.id == decision.offer_id), None)
        if decision is None or offer is None:
            return ActionStatus.EXECUTED, result, None, "next_best_action"
        values = nba.MomentValues(
            first_name=turn.customer.first_name,
            shop=self.merchant.name,
            wanted=hint.wanted,
            alternative=hint.alternative,
            item=hint.item,
            product=product.title if product else hint.item,
            feature=hint.feature,
            currency=order.currency if order else None,
            # what the return would refund: the pending refund, else the item's price as the order says (the credit
            # is worked out from it)
            refund=item_value if moment is OfferMoment.RETURN_REQUESTED and order is not None else None,
        )
        code: dict[str, Any] = {}
        if nba.shows_code(offer):
            status, taken, _, _ = self._take_offer(
                turn, offer, issuing.action_id(turn.conversation_id, customer_id, offer.id)
            )
            if status is not ActionStatus.EXECUTED or not taken.get("code"):
                return ActionStatus.EXECUTED, result | {"reason": "code_not_issued"}, None, "next_best_action"
            # recorded as the offer's own action, so that taking it later (accept_offer) returns this code; no
            # action.executed event: the customer has not taken it yet (redemptions are attributed by the code)
            action_id = issuing.action_id(turn.conversation_id, customer_id, offer.id)
            call = ToolCall(id=f"offer-{offer.id}", tool="accept_offer", arguments={"offer_id": offer.id})
            self.s.memory.put_action(
                turn.conversation_id,
                customer_id,
                call,
                ActionResult(
                    call_id=call.id,
                    action_id=action_id,
                    tool="accept_offer",
                    status=ActionStatus.EXECUTED,
                    result=taken,
                ),
                None,
            )
            shown = ("code", "percent", "amount_off", "currency", "free_trial_days", "plan", "expires_at")
            code = {k: taken[k] for k in shown if k in taken}
            values = values.model_copy(
                update={"code": taken["code"], "currency": values.currency or taken.get("currency")}
            )
        try:
            message = nba.render_offer(offer, values)
        except nba.OfferRenderError:  # the moment lacks a value the wording needs: say nothing rather than a hole
            import logging

            logging.getLogger(__name__).warning("offer not rendered", extra={"offer_id": offer.id}, exc_info=True)
            return ActionStatus.EXECUTED, result | {"reason": "not_rendered"}, None, "next_best_action"
        result |= {"presented": True, "offer_id": offer.id, "message": message, **code}
        return ActionStatus.EXECUTED, result, None, "next_best_action"

    def _issue_offer_code(self, turn: ReadyTurn, offer: Offer) -> Outcome:
        from concierge.offers import issuing

        try:
            result = issuing.issue_code(
                self.s.store,
                offer,
                customer_id=turn.customer.id,
                first_name=turn.customer.first_name,
                shop=self.merchant.name,
                code_prefix=self.merchant.code_prefix,
                conversation_id=turn.conversation_id,
                now=self.now,
                valid_days=self.s.settings.discount_valid_days,
            )
        except issuing.CodeNotIssued as refused:
            raise Denied(refused.reason, refused.explanation) from None
        return ActionStatus.EXECUTED, result, result, "accept_offer"

    def _confirm_remedy(self, turn: ReadyTurn, action_id: str, pending: dict[str, Any]) -> Outcome:
        """A journey's proposal (journeys/outreach.py), confirmed by the customer: a late order sent again or
        refunded, or the second of two charges refunded. A refund above the approval limit goes to a person (the
        approval workflow), as a return's does; the rest runs now (`_remedy`)."""
        return self._remedy(
            turn.conversation_id, turn.customer.id, action_id, pending, ActionStatus.PENDING_CONFIRMATION.value
        )

    def _remedy(
        self, conversation_id: str, customer_id: str, action_id: str, pending: dict[str, Any], expected: str
    ) -> Outcome:
        """Checked again now (the parcel may have arrived since), the amount from the order (or the charge the
        storefront reported), at most once per order or charge. `expected`: the status the action is in — pending
        the customer's confirmation, or awaiting the approval a person just gave (then it runs whatever the limit)."""
        tool, effect = pending["tool"], pending["effect"]
        order = self._owned_order(customer_id, effect["order_id"]) if tool != "refund_charge" else None
        approved = expected == ActionStatus.AWAITING_APPROVAL.value

        def refuse(reason: str, explanation: str) -> Denied:
            self.s.memory.settle_action(conversation_id, action_id, ActionStatus.DENIED.value, {}, reason, expected)
            return Denied(reason, explanation)

        if order is not None and (
            order.status is OrderStatus.DELIVERED or (order.shipment and order.shipment.delivered_at)
        ):
            raise refuse(
                "order_delivered",
                f"Order {order.id} shows as delivered since I wrote, so there is nothing to send again or refund "
                "for a late parcel. If something is wrong with it, tell me.",
            )
        if order is not None and order.status is OrderStatus.CANCELLED:
            raise refuse("order_cancelled", f"Order {order.id} was cancelled meanwhile.")
        amount = (
            Decimal("0.00")
            if tool == "reship_order"
            else order.total
            if order is not None
            else Decimal(str(effect["amount"]))
        )
        currency = order.currency if order is not None else str(effect["currency"])
        if amount > self.merchant.max_auto_refund and not approved:
            if self.s.approvals is None:
                raise refuse(
                    "requires_approval",
                    "That refund is above the amount I can approve here; a teammate must approve it.",
                )
            return self._request_remedy_approval(conversation_id, customer_id, action_id, pending, amount, currency)
        replacement = (
            order.model_copy(
                update={
                    "id": f"{order.id}-R{action_id[-4:]}",
                    "placed_at": self.now,
                    "status": OrderStatus.PENDING,
                    "shipment": None,
                    "shipping_cost": Decimal("0.00"),
                    "tax": Decimal("0.00"),
                }
            )
            if tool == "reship_order" and order is not None
            else None
        )
        remedy = Remedy(
            remedy_id=action_id,
            kind=tool,
            customer_id=customer_id,
            order_id=order.id if order is not None else effect.get("order_id"),
            charge_id=effect.get("charge_id"),
            line_ids=[line.line_id for line in order.lines] if order is not None else [],
            refund_amount=amount,
            currency=order.currency if order is not None else effect["currency"],
            refund_to=order.payment.describe() if order is not None else effect.get("refund_to", ""),
            replacement_order_id=replacement.id if replacement is not None else None,
            created_at=self.now,
        )
        if not self.s.store.record_remedy(remedy, replacement):
            raise refuse("already_remedied", "That was already taken care of: it was sent again or refunded before.")
        result = {
            **effect,
            "action_id": action_id,
            "refund_amount": str(amount),
            "currency": remedy.currency,
            **({"replacement_order_id": remedy.replacement_order_id} if remedy.replacement_order_id else {}),
        }
        self.s.memory.settle_action(conversation_id, action_id, ActionStatus.EXECUTED.value, result, None, expected)
        alternative = pending.get("arguments", {}).get("instead_of")
        if alternative:  # the other of reship-or-refund is withdrawn: one remedy per late order
            other = self.s.memory.get_action(conversation_id, alternative)
            if other is not None and other.get("status") == ActionStatus.PENDING_CONFIRMATION.value:
                self.s.memory.settle_action(conversation_id, alternative, "cancelled", {}, "other_remedy_chosen")
        return ActionStatus.EXECUTED, result, effect, tool

    def _request_remedy_approval(
        self,
        conversation_id: str,
        customer_id: str,
        action_id: str,
        pending: dict[str, Any],
        amount: Decimal,
        currency: str,
    ) -> Outcome:
        """A journey's refund above the limit, confirmed by the customer: a person approves it (or not) first."""
        assert self.s.approvals is not None  # checked by the caller
        tool, effect = pending["tool"], pending["effect"]
        what = (
            f"the second charge {effect['charge_id']}"
            if tool == "refund_charge"
            else f"late order {effect['order_id']} ({', '.join(effect.get('items', []))})"
        )
        refund_to = str(effect.get("refund_to") or "the original payment method")
        approval = ApprovalRequest(
            action_id=action_id,
            conversation_id=conversation_id,
            customer_id=customer_id,
            tool=tool,
            summary=f"Refund {amount} {currency} to {refund_to} for {what}",
            amount=amount,
            currency=currency,
            reason=f"refund above {self.merchant.max_auto_refund} {currency}",
            requested_at=self.now,
            timeout_seconds=self.s.settings.approval_timeout_seconds,
        )
        ApprovalStore(self.s.memory).create(approval)
        result = {
            **effect,
            "action_id": action_id,
            "refund_amount": str(amount),
            "currency": currency,
            "approval": "requested",
            "decision_within_hours": round(self.s.settings.approval_timeout_seconds / 3600, 1),
        }
        if not self.s.memory.settle_action(
            conversation_id, action_id, ActionStatus.AWAITING_APPROVAL.value, result, None
        ):
            raise Denied("not_pending", "That action is no longer pending.")
        self.s.approvals.start(approval)
        return ActionStatus.AWAITING_APPROVAL, result, effect, tool

    def _confirm_cancel(self, turn: ReadyTurn, action_id: str, pending: dict[str, Any]) -> Outcome:
        order = self._owned_order(turn.customer.id, pending["arguments"]["order_id"])
        decision = policy.evaluate_cancel(order)  # it may have shipped since it was proposed
        if not decision.allowed or not self.s.store.cancel_order(order.id):
            reason = decision.reason if not decision.allowed else "order_shipped"
            self.s.memory.settle_action(turn.conversation_id, action_id, "denied", {}, reason)
            raise Denied(reason, decision.explanation or f"Order {order.id} can no longer be cancelled.")
        result = {**pending["effect"], "action_id": action_id, "cancelled": True}
        self.s.memory.settle_action(turn.conversation_id, action_id, ActionStatus.EXECUTED.value, result, None)
        return ActionStatus.EXECUTED, result, pending["effect"], "cancel_order"

    def _replacement(
        self, order: Order, products: dict[str, Product | None], request: ReturnItems, return_id: str
    ) -> Order:
        line = _line(order, request.line_ids[0])
        product = products.get(line.product_id)
        assert product is not None  # _check_return found the variant on it
        variant = next(v for v in product.variants if v.sku == request.exchange_sku)
        new_line = line.model_copy(
            update={"line_id": "1", "sku": variant.sku, "options": variant.options, "unit_price": variant.price}
        )
        return order.model_copy(
            update={
                "id": f"{order.id}-X{return_id[-4:]}",
                "placed_at": self.now,
                "status": OrderStatus.PENDING,
                "lines": [new_line],
                "shipment": None,
                "shipping_cost": Decimal("0.00"),
                "tax": Decimal("0.00"),
            }
        )
