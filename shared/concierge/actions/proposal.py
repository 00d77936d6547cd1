"""What a proposal is, in words rendered by code from its record: what will happen, to which order and items, and
for how much. Whatever engine writes the reply, the customer sees these before a write can be confirmed.

A reply that already states them (the order, each item, the amount, the new variant, address or slot) is left as
it is; otherwise the summary is added to it. The reply is then stored with the ids of the proposals it showed, and
a confirmation of a proposal no stored reply showed is refused (actions/executor.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from concierge.conversation.turn import ActionResult, ActionStatus

CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹", "CAD": "CA$", "AUD": "A$", "NZD": "NZ$"}


def money(amount: str | Decimal, currency: str) -> str:
    """ "$49.00", "€69.00", "£12.50"; a currency without a common symbol as "49.00 CHF"."""
    value = Decimal(str(amount)).quantize(Decimal("0.01"))
    symbol = CURRENCY_SYMBOLS.get(currency)
    return f"{symbol}{value}" if symbol else f"{value} {currency}"


def _listing(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _address(address: dict[str, Any]) -> str:
    return ", ".join(str(address[k]) for k in ("line1", "line2", "city", "postcode", "country") if address.get(k))


def summary(tool: str, effect: dict[str, Any]) -> str:
    """One sentence: what confirming it does."""
    order = effect.get("order_id")
    currency = effect.get("currency", "")
    if tool == "return_items":
        items = _listing(effect.get("items", []))
        bonus = Decimal(str(effect.get("credit_bonus") or "0"))
        if effect.get("resolution") == "refund" and effect.get("store_credit") and bonus > 0:
            refund = Decimal(str(effect["refund_amount"]))
            return (
                f"return {items} from order {order} for {money(refund + bonus, currency)} of store credit on your "
                f"account (the {money(refund, currency)} refund plus a {money(bonus, currency)} bonus)"
            )
        if effect.get("resolution") == "refund":
            return (
                f"return {items} from order {order} for a refund of {money(effect['refund_amount'], currency)} "
                f"to {effect.get('refund_to', 'your original payment method')}"
            )
        difference = Decimal(str(effect.get("price_difference", "0")))
        extra = (
            f", and you pay the difference of {money(difference, currency)}"
            if difference > 0
            else f", with {money(-difference, currency)} refunded to you"
            if difference < 0
            else ""
        )
        return f"exchange {items} from order {order} for {effect.get('exchange_item', 'the new item')}{extra}"
    if tool == "cancel_order":
        return (
            f"cancel order {order} ({_listing(effect.get('items', []))}) and refund "
            f"{money(effect['total'], currency)} to {effect.get('refund_to', 'your original payment method')}"
        )
    if tool == "modify_order":
        changes = []
        if effect.get("removed_items"):
            changes.append(
                f"remove {_listing(effect['removed_items'])} (new total {money(effect['total_after'], currency)})"
            )
        if effect.get("shipping_address"):
            changes.append(f"deliver it to {_address(effect['shipping_address'])}")
        return f"change order {order}: " + " and ".join(changes)
    if tool == "reship_order":  # a journey's proposal for a late parcel (journeys/outreach.py)
        return f"send order {order} again ({_listing(effect.get('items', []))}) at no cost to you"
    if tool == "refund_order":
        return (
            f"refund {money(effect['total'], currency)} for order {order} to "
            f"{effect.get('refund_to', 'your original payment method')}"
        )
    if tool == "refund_charge":  # a journey's proposal for a possible double charge
        return (
            f"refund the second charge of {money(effect['amount'], currency)} ({effect.get('charge_id')}) to "
            f"{effect.get('refund_to', 'your original payment method')}"
        )
    if tool == "book_appointment":
        return (
            f"book {effect.get('label') or effect.get('kind', 'the appointment')} on {effect.get('starts_at', '')}"
        ).strip()
    return f"{tool.replace('_', ' ')}" + (f" on order {order}" if order else "")


def _facts(tool: str, effect: dict[str, Any]) -> list[str]:
    """What a reply must state for the proposal to count as shown."""
    facts: list[str] = []
    if effect.get("order_id"):
        facts.append(str(effect["order_id"]))
    for key in ("items", "removed_items"):
        facts += [re.sub(r"\s*\(.*\)$", "", item) for item in effect.get(key) or []]  # the title; options may be worded
    currency = effect.get("currency", "")
    if tool == "return_items" and effect.get("resolution") == "refund":
        facts.append(money(effect["refund_amount"], currency))
        if effect.get("store_credit") and Decimal(str(effect.get("credit_bonus") or "0")) > 0:  # and the credit
            facts.append(money(Decimal(str(effect["refund_amount"])) + Decimal(str(effect["credit_bonus"])), currency))
    elif tool == "return_items":
        facts.append(re.sub(r"\s*\(.*\)$", "", effect.get("exchange_item", "")))
        if Decimal(str(effect.get("price_difference", "0"))) != 0:
            facts.append(money(abs(Decimal(str(effect["price_difference"]))), currency))
    for key in ("total", "total_after"):
        if effect.get(key) is not None and tool in ("cancel_order", "modify_order", "refund_order"):
            facts.append(money(effect[key], currency))
    if tool == "refund_charge":
        facts += [money(effect["amount"], currency), str(effect.get("charge_id", ""))]
    if effect.get("shipping_address"):
        facts.append(str(effect["shipping_address"].get("line1", "")))
    if tool == "book_appointment" and effect.get("label"):
        facts.append(str(effect["label"]))
    return [f for f in facts if f]


def _said(text: str, fact: str) -> bool:
    squeeze: Callable[[str], str] = lambda s: re.sub(r"[^a-z0-9$€£¥₹.]", "", s.lower())  # noqa: E731
    return squeeze(fact) in squeeze(text)


def shown(reply: str, tool: str, effect: dict[str, Any]) -> bool:
    return all(_said(reply, fact) for fact in _facts(tool, effect))


def proposals(results: list[ActionResult]) -> list[ActionResult]:
    """The proposals a turn made (waiting for the customer's confirmation)."""
    return [r for r in results if r.status is ActionStatus.PENDING_CONFIRMATION and r.action_id]


def with_proposals(reply: str, results: list[ActionResult]) -> tuple[str, list[str]]:
    """The reply with every proposal of the turn stated in it (added when the engine's words leave out the order,
    an item or the amount), and the ids of the proposals it now shows."""
    missing = [r for r in proposals(results) if not shown(reply, r.tool, _effect(r))]
    if missing:
        lines = [summary(r.tool, _effect(r)) for r in missing]
        ask = (
            "To confirm, I would " + lines[0] + "."
            if len(lines) == 1
            else "To confirm, I would:\n" + "\n".join(f"- {line}" for line in lines)
        )
        reply = f"{reply.rstrip()}\n\n{ask} Reply yes to go ahead, or no to leave it."
    return reply, list(dict.fromkeys(r.action_id for r in proposals(results)))  # one mark per action


def _effect(result: ActionResult) -> dict[str, Any]:
    return {k: v for k, v in result.result.items() if k != "action_id"}
