"""Executes the agent's tool calls for the verified customer of the turn: ownership, policy, confirmation,
exactly-once effects, and a record of every attempt."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from functools import lru_cache
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from concierge.actions import policy
from concierge.actions.tools import TOOLS, WRITE_TOOLS, CancelAction, CancelOrder, ConfirmAction, IssueDiscountCode, CreateHandoff, FindOrders, GetProduct, ReturnItems, TrackShipment
from concierge.channels.email import EmailSender, ReturnEmail
from concierge.commerce import AlreadyReturned, CommerceBackend, Discount, ReturnRecord
from concierge.events import ActionExecuted, EventPublisher, HandoffRequested
from concierge.memory import MemoryStore
from concierge.models import Order, OrderLine, OrderStatus
from concierge.settings import Settings
from concierge.turn import ActionResult, ActionStatus, ToolCall, Turn


@dataclass
class ActionServices:
    settings: Settings
    memory: MemoryStore
    store: CommerceBackend
    events: EventPublisher
    email: EmailSender
    idempotency: Any = None  # a powertools persistence layer (production wiring); None runs confirmations directly


@lru_cache(maxsize=4)
def idempotency_store(table_name: str):
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
# Tools that touch no account data: available to a sender whose identity is not verified.
ACCOUNT_FREE_TOOLS = (GetProduct, CreateHandoff)


def action_id_for(conversation_id: str, call_id: str) -> str:
    """Deterministic, so a retried delivery of the same call addresses the same action."""
    return "A" + hashlib.sha256(f"{conversation_id}:{call_id}".encode()).hexdigest()[:12].upper()


def mask_email(address: str) -> str:
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}"


def order_summary(order: Order, returned: set[str] = frozenset()) -> dict[str, Any]:
    return {
        "order_id": order.id,
        "placed_at": order.placed_at.isoformat(),
        "status": order.status.value,
        "delivered_at": order.shipment.delivered_at.isoformat() if order.shipment and order.shipment.delivered_at else None,
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


class ActionExecutor:
    def __init__(self, services: ActionServices, now: datetime) -> None:
        self.s = services
        self.now = now

    def run(self, turn: Turn) -> Turn:
        assert turn.decision is not None and turn.customer is not None
        results = [self.execute(call, turn) for call in turn.decision.tool_calls]
        return turn.model_copy(
            update={"results": [*turn.results, *results], "tool_rounds": [*turn.tool_rounds, list(turn.decision.tool_calls)]}
        )

    def execute(self, call: ToolCall, turn: Turn) -> ActionResult:
        action_id = action_id_for(turn.conversation_id, call.id)
        effect: dict | None = None
        tool = call.tool
        try:
            model = TOOLS.get(call.tool)
            if model is None:
                raise Denied("unknown_tool", f"There is no tool named {call.tool}.")
            arguments = model.model_validate(call.arguments)
            status, result, effect, tool = self._dispatch(arguments, turn, action_id)
            outcome = ActionResult(call_id=call.id, action_id=action_id, tool=tool, status=status, result=result)
        except ValidationError as exc:
            outcome = ActionResult(
                call_id=call.id, action_id=action_id, tool=tool, status=ActionStatus.FAILED,
                result={"explanation": f"Invalid arguments: {exc.errors(include_url=False)}"}, reason="invalid_arguments",
            )
        except Denied as exc:
            outcome = ActionResult(
                call_id=call.id, action_id=action_id, tool=tool, status=ActionStatus.DENIED,
                result={"explanation": exc.explanation}, reason=exc.reason,
            )
        if call.tool != "confirm_action":  # a confirmation settles the action it confirms instead
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
                    status=outcome.status.value,
                    amount=outcome.result.get("refund_amount"),
                    currency=outcome.result.get("currency"),
                )
            )
        return outcome

    # dispatch ----------------------------------------------------------------------------
    def _dispatch(self, arguments, turn: Turn, action_id: str):
        customer_id = turn.customer.id
        if not turn.customer.verified and not isinstance(arguments, ACCOUNT_FREE_TOOLS):
            # An unverified sender (e.g. an email failing SPF/DKIM) never reaches account data or actions.
            raise Denied("identity_unverified", UNVERIFIED)
        match arguments:
            case FindOrders(limit=limit):
                orders = self.s.store.recent_orders(customer_id, limit)
                summaries = [
                    order_summary(o, self.s.store.returned_line_ids(o.id) if o.status is OrderStatus.DELIVERED else set())
                    for o in orders
                ]
                return ActionStatus.EXECUTED, {"orders": summaries}, None, "find_orders"
            case TrackShipment(order_id=order_id):
                return ActionStatus.EXECUTED, self._track(customer_id, order_id), None, "track_shipment"
            case GetProduct(product_id=product_id):
                product = self.s.store.get_product(product_id)
                if product is None:
                    raise Denied("unknown_product", f"There is no product {product_id}.")
                return ActionStatus.EXECUTED, product.model_dump(mode="json"), None, "get_product"
            case CancelOrder(order_id=order_id):
                order = self._owned_order(customer_id, order_id)
                decision = policy.evaluate_cancel(order)
                if not decision.allowed:
                    raise Denied(decision.reason, decision.explanation)
                effect = {"order_id": order.id, "items": [describe_line(line) for line in order.lines],
                          "total": str(order.total), "currency": order.currency,
                          "payment": f"{order.payment.describe()} is never charged for a cancelled pending order"}
                return ActionStatus.PENDING_CONFIRMATION, {"action_id": action_id, **effect}, effect, "cancel_order"
            case IssueDiscountCode(percent=percent, reason=reason):
                return self._issue_discount(turn, percent, reason)
            case ReturnItems():
                effect = self._propose_return(customer_id, arguments, action_id)
                return ActionStatus.PENDING_CONFIRMATION, {"action_id": action_id, **effect}, effect, "return_items"
            case ConfirmAction(action_id=pending_id):
                return self._confirm_once(turn, pending_id)
            case CancelAction(action_id=pending_id):
                pending = self._pending(turn, pending_id)
                self.s.memory.settle_action(turn.conversation_id, pending_id, "cancelled", {}, "customer_declined")
                return ActionStatus.EXECUTED, {"cancelled": pending_id, "cancelled_tool": pending["tool"]}, None, "cancel_action"
            case CreateHandoff(reason=reason, summary=summary):
                transcript = self.s.memory.transcript(turn.conversation_id)
                self.s.memory.record_handoff(turn.conversation_id, reason, summary, transcript)
                self.s.events.publish(
                    HandoffRequested(
                        occurred_at=self.now, conversation_id=turn.conversation_id, customer_id=customer_id,
                        reason=reason, channel=turn.message.channel.value,
                    )
                )
                return ActionStatus.EXECUTED, {"reason": reason, "transcript_messages": len(transcript)}, None, "create_handoff"
        raise Denied("unknown_tool", "Unsupported tool.")

    def _owned_order(self, customer_id: str, order_id: str) -> Order:
        order = self.s.store.get_order(order_id)
        if order is None or order.customer_id != customer_id:
            raise Denied("order_not_found", NOT_FOUND)  # same answer whether it is missing or someone else's
        return order

    def _track(self, customer_id: str, order_id: str | None) -> dict[str, Any]:
        if order_id:
            order = self._owned_order(customer_id, order_id)
        else:
            orders = [o for o in self.s.store.recent_orders(customer_id, 5) if o.status is not OrderStatus.CANCELLED]
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

    def _propose_return(self, customer_id: str, request: ReturnItems, action_id: str) -> dict[str, Any]:
        order = self._owned_order(customer_id, request.order_id)
        products = {line.product_id: self.s.store.get_product(line.product_id) for line in order.lines}
        decision = policy.evaluate_return(
            order, request.line_ids, products, self.s.store.returned_line_ids(order.id), self.now,
            self.s.settings.return_window_days,
        )
        if not decision.allowed:
            raise Denied(decision.reason, decision.explanation)
        lines = [order.line(i) for i in request.line_ids]
        amount = policy.refund_amount(order, request.line_ids)
        effect: dict[str, Any] = {
            "order_id": order.id,
            "line_ids": request.line_ids,
            "items": [describe_line(line) for line in lines],
            "resolution": request.resolution,
            "reason": request.reason,
            "currency": order.currency,
            "refund_to": order.payment.describe(),
            "requires_approval": False,
        }
        if request.resolution == "refund":
            effect["refund_amount"] = str(amount)
            effect["requires_approval"] = amount > self.s.settings.max_refund_without_approval
        else:
            if len(lines) != 1 or not request.exchange_sku:
                raise Denied("exchange_needs_one_item", "An exchange swaps one item for another size or colour.")
            product = products[lines[0].product_id]
            variant = next((v for v in product.variants if v.sku == request.exchange_sku), None) if product else None
            if variant is None:
                raise Denied("exchange_other_product", "An exchange must be for the same product in another variant.")
            if variant.stock < lines[0].quantity:
                raise Denied("out_of_stock", f"{product.title} ({', '.join(variant.options.values())}) is out of stock.")
            difference = (variant.price - lines[0].unit_price) * lines[0].quantity
            effect |= {
                "exchange_sku": variant.sku,
                "exchange_item": f"{product.title} ({', '.join(variant.options.values())})",
                "price_difference": str(difference),
                "refund_amount": str(max(-difference, Decimal("0.00"))),
            }
        return effect

    def _pending(self, turn: Turn, action_id: str) -> dict:
        action = self.s.memory.get_action(turn.conversation_id, action_id)
        if action is None or action.get("customer_id") != turn.customer.id:
            raise Denied("unknown_action", "There is no pending action with that id in this conversation.")
        if action["status"] != ActionStatus.PENDING_CONFIRMATION.value:
            raise Denied("not_pending", f"That action is already {action['status']}.")
        return action

    def _confirm_once(self, turn: Turn, action_id: str):
        """Execute a confirmed action exactly once, however often the confirmation is delivered — one after another
        or at the same moment (retries, double clicks, redelivered events). Powertools' idempotency utility keeps
        one record per action id in the memory table: the first delivery runs, concurrent ones are told it is in
        progress, later ones get the first one's result."""
        if self.s.idempotency is None:
            return self._confirm(turn, action_id)
        from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
        from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError

        @idempotent_function(
            data_keyword_argument="key",
            persistence_store=self.s.idempotency,
            # The customer is part of the key: someone else's attempt on an action id can never stand for the owner's.
            config=IdempotencyConfig(event_key_jmespath="[customer_id, action_id]", expires_after_seconds=7 * 24 * 3600),
        )
        def run(key: dict) -> dict:
            # A refusal raises: powertools then keeps no record, so a later, valid confirmation still runs.
            status, result, effect, tool = self._confirm(turn, action_id)
            return {"status": status.value, "result": result, "effect": effect, "tool": tool}

        try:
            outcome = run(key={"action_id": action_id, "customer_id": turn.customer.id})
        except IdempotencyAlreadyInProgressError as exc:
            raise Denied("in_progress", "That action is being carried out right now.") from exc
        return ActionStatus(outcome["status"]), outcome["result"], outcome["effect"], outcome["tool"]

    def _confirm(self, turn: Turn, action_id: str):
        pending = self._pending(turn, action_id)
        if pending["tool"] == "cancel_order":
            return self._confirm_cancel(turn, action_id, pending)
        if pending["tool"] != "return_items":
            raise Denied("not_confirmable", "Only pending returns and cancellations are confirmed this way.")
        effect = pending["effect"]
        if effect.get("requires_approval"):
            raise Denied("requires_approval", "This refund is above the amount I can approve; a teammate must approve it.")
        request = ReturnItems.model_validate(pending["arguments"])
        fresh = self._propose_return(turn.customer.id, request, action_id)  # the order may have changed since
        order = self.s.store.get_order(request.order_id)
        return_id = "R" + action_id[1:]
        replacement = self._replacement(order, request, return_id) if request.resolution == "exchange" else None
        record = ReturnRecord(
            return_id=return_id, order_id=order.id, line_ids=request.line_ids, resolution=request.resolution,
            refund_amount=fresh.get("refund_amount", "0.00"), currency=order.currency, refund_to=fresh["refund_to"],
            exchange_order_id=replacement.id if replacement else None, created_at=self.now,
        )
        try:
            self.s.store.record_return(record, replacement)
        except AlreadyReturned as exc:
            self.s.memory.settle_action(turn.conversation_id, action_id, "denied", {}, "already_returned")
            raise Denied("already_returned", "That item has already been returned.") from exc
        customer = self.s.store.get_customer(turn.customer.id)
        resolution_text = (
            f"Your refund of {record.refund_amount} {record.currency} is on its way to {record.refund_to}."
            if request.resolution == "refund"
            else f"Your replacement {fresh['exchange_item']} ships as soon as we scan your return."
        )
        message_id = self.s.email.send(
            ReturnEmail(
                to=customer.email, first_name=customer.first_name, merchant_name=self.s.settings.merchant_name,
                return_id=return_id, order_id=order.id, items=fresh["items"], resolution_text=resolution_text,
            )
        )
        result = {
            **fresh,
            "action_id": action_id,
            "return_id": return_id,
            "exchange_order_id": record.exchange_order_id,
            "email": {"to": mask_email(customer.email), "message_id": message_id, "qr_code": True},
        }
        self.s.memory.settle_action(turn.conversation_id, action_id, ActionStatus.EXECUTED.value, result, None)
        return ActionStatus.EXECUTED, result, fresh, "return_items"

    def _issue_discount(self, turn: Turn, percent: int, reason: str):
        settings = self.s.settings
        if percent > settings.discount_max_percent:
            raise Denied("above_discount_limit", f"I can offer at most {settings.discount_max_percent}% off.")
        code = "NW-" + secrets.token_hex(4).upper()
        discount = Discount(
            code=code, customer_id=turn.customer.id, percent=percent, reason=reason, conversation_id=turn.conversation_id,
            issued_at=self.now, expires_at=self.now + timedelta(days=settings.discount_valid_days),
        )
        if not self.s.store.issue_discount(discount, self.now - timedelta(days=settings.discount_cap_days)):
            raise Denied("discount_limit_reached", "A discount code was already issued to you recently.")
        result = {"code": code, "percent": percent, "expires_at": discount.expires_at.isoformat(), "single_use": True}
        return ActionStatus.EXECUTED, result, result, "issue_discount_code"

    def _confirm_cancel(self, turn: Turn, action_id: str, pending: dict):
        order = self._owned_order(turn.customer.id, pending["arguments"]["order_id"])
        decision = policy.evaluate_cancel(order)  # it may have shipped since it was proposed
        if not decision.allowed or not self.s.store.cancel_order(order.id):
            reason = decision.reason if not decision.allowed else "order_shipped"
            self.s.memory.settle_action(turn.conversation_id, action_id, "denied", {}, reason)
            raise Denied(reason, decision.explanation or f"Order {order.id} can no longer be cancelled.")
        result = {**pending["effect"], "action_id": action_id, "cancelled": True}
        self.s.memory.settle_action(turn.conversation_id, action_id, ActionStatus.EXECUTED.value, result, None)
        return ActionStatus.EXECUTED, result, pending["effect"], "cancel_order"

    def _replacement(self, order: Order, request: ReturnItems, return_id: str) -> Order:
        line = order.line(request.line_ids[0])
        product = self.s.store.get_product(line.product_id)
        variant = next(v for v in product.variants if v.sku == request.exchange_sku)
        new_line = line.model_copy(update={"line_id": "1", "sku": variant.sku, "options": variant.options, "unit_price": variant.price})
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
