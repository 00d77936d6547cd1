"""The deterministic engine's answer to a shopping request: the cart retrieval built for it (catalogue/prefetch.py),
in words made by code from the cart itself — its lines and prices, what the promotions took off, delivery and when
it arrives, what was left out and why, the checkout link. Nothing here is about a kind of shop: every name, price,
date and category comes from the cart, which comes from the merchant's data.

The flow keeps the request (`cart.FLOW_KEY`), so that the next message can change its constraints ("make it
under $40"); any other request leaves it behind.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from concierge.actions.proposal import money
from concierge.catalogue.cart import FLOW_KEY, Cart, CartLine, day_phrase
from concierge.conversation.turn import ActionStatus, Decision, Note, ReadyTurn

# The request's fields the flow keeps (catalogue.requests.ShoppingRequest).
KEPT = ("goal", "query", "budget", "min_price", "needed_by", "recipient_age", "dietary", "sizes", "quantities", "items")
SHOWN_LEFT_OUT = 2


def cart_of(turn: ReadyTurn) -> tuple[Cart, dict[str, Any]] | None:
    """The last cart built in this turn, and the arguments it was built with."""
    result = next(
        (r for r in reversed(turn.results) if r.tool == "build_cart" and r.status is ActionStatus.EXECUTED), None
    )
    if result is None or "cart" not in result.result:
        return None
    calls = {call.id: call for round_ in turn.tool_rounds for call in round_}
    call = calls.get(result.call_id)
    return Cart.model_validate(result.result["cart"]), dict(call.arguments) if call else {}


def decide(turn: ReadyTurn) -> Decision | None:
    """The reply to a shopping request whose cart was built this turn; None when there is none."""
    found = cart_of(turn)
    if found is None:
        return None
    cart, arguments = found
    request = {key: arguments[key] for key in KEPT if arguments.get(key) not in (None, [], {}, "")}
    reply = wording(cart)
    # one product suggested (the cart's only line, or the only one that matched but a constraint kept out): a
    # question pointing back next ("which size would fit a big one?") is about it
    shown = [line.title for line in cart.lines] or [left.title for left in cart.left_out if left.close]
    notes = (
        [Note(topic=shown[0], aspect="shopping", text=reply[:240], channel=turn.message.channel)]
        if len(shown) == 1
        else []
    )
    return Decision(
        next="reply",
        reply=reply,
        flow={FLOW_KEY: request} if request.get("goal") else {},
        resolved=cart.status == "ready",
        notes=notes,
    )


def _listing(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _line(line: CartLine, currency: str) -> str:
    options = ", ".join(line.options.values())
    name = f"{line.title} ({options})" if options else line.title
    quantity = f"{line.quantity} × " if line.quantity > 1 else ""
    promotion = f" — {line.promotion}" if line.promotion else ""
    return f"• {quantity}{name}: {money(line.line_total, currency)}{promotion}"


def _left_out(cart: Cart, limit: int) -> list[str]:
    """What matched the goal but a constraint kept out, said plainly ("The Gooseneck Electric Kettle would take
    the cart over budget.")."""
    return [f"The {left.title} {left.reason}." for left in cart.left_out if left.close][:limit]


def _wanted(cart: Cart) -> list[str]:
    checks = {check.name: check for check in cart.constraints}
    wanted = []
    if "budget" in checks:
        wanted.append(f"within {checks['budget'].wanted}")
    if "needed_by" in checks:
        wanted.append(f"arriving by {checks['needed_by'].wanted}")
    return wanted


def wording(cart: Cart) -> str:
    currency = cart.totals.currency
    if cart.status == "needs_goal":
        kinds = f" We have {_listing(cart.browse[:5])}." if cart.browse else ""
        keep = f" I'll keep it {' and '.join(_wanted(cart))}." if _wanted(cart) else ""
        unsure = (
            f"I'm not sure we have that: nothing in our catalogue matches “{cart.searched}”." if cart.searched else ""
        )
        opening = unsure or "Happy to help you find something."
        return f"{opening}{kinds} What would you like, or what does the person it's for enjoy?{keep}"
    if cart.status == "empty":
        reasons = _left_out(cart, 3)
        if not reasons:
            kinds = f" We have {_listing(cart.browse[:5])}." if cart.browse else ""
            return f"I couldn't find anything in our catalogue that matches that.{kinds} What else could I look for?"
        wanted = f" ({' and '.join(_wanted(cart))})" if _wanted(cart) else ""
        return (
            f"I couldn't put together a cart that keeps everything you asked for{wanted}. "
            + " ".join(reasons)
            + " If the date, the budget or the items can change, tell me and I'll try again."
        )
    parts = ["Here's a cart for that:", *(_line(line, currency) for line in cart.lines)]
    totals = cart.totals
    costs = [f"{money(totals.subtotal, currency)} of items"]
    if totals.discount > 0:
        costs.append(f"{money(totals.discount, currency)} off with promotions")
    delivery = cart.delivery
    if totals.shipping is None:
        costs.append("delivery added at checkout")
    elif totals.shipping == 0:
        costs.append("free delivery")
    else:
        costs.append(f"{money(totals.shipping, currency)} {'express ' if delivery.method == 'express' else ''}delivery")
    parts.append(f"Total: {money(totals.total, currency)} ({', '.join(costs)}).")
    if delivery.arrives_by:
        arrival = f"Everything arrives by {day_phrase(delivery.arrives_by)} at the latest"
        if delivery.method == "express":
            arrival += ", with express delivery: standard delivery would not make it in time"
        parts.append(arrival + ".")
    applied = [p.label for p in cart.promotions]
    if applied:
        parts.append(f"Promotions applied: {'; '.join(applied)}.")
    if cart.free_shipping_from is not None and totals.subtotal - totals.discount < cart.free_shipping_from:
        gap = cart.free_shipping_from - (totals.subtotal - totals.discount)
        parts.append(f"Add {money(gap.quantize(Decimal('0.01')), currency)} more and standard delivery is free.")
    parts += _left_out(cart, SHOWN_LEFT_OUT)
    if cart.checkout_url:
        parts.append(f"Check out with this cart: {cart.checkout_url}")
    parts.append("Shall I change anything: the budget, the date or an item?")
    return "\n".join(parts)
