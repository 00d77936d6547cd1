"""The deterministic engine's answers to account questions (docs/account.md): store credit, gift cards held, recent
orders, what an order cost and how it was paid, whether a refund was issued.

`reasoning.account.asked` reads the question (the same reading retrieval prefetches `get_account` with,
actions/prefetch.py); the answer is worded here from `get_account`'s result alone: every amount with the currency
the data gives it, every date, card and payment method from the merchant's records, nothing assumed about a kind of
shop. A sender whose identity is not verified is told how to get their account's answer, and nothing of it: not a
balance, not whether a card or an order exists.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from concierge.actions.proposal import money
from concierge.conversation.api import Channel, Citation
from concierge.conversation.turn import ActionStatus, Decision, Note, PassageHit, ReadyTurn, ToolCall
from concierge.reasoning.account import AccountQuestion, Asked, asked, card_reference, other_questions
from concierge.store.merchant import MerchantProfile

TOOL = "get_account"
# The flow key a gift-card answer leaves, so that "what about the one ending 9XQ1?" is read as the same question. Not
# a flow `name`: nothing waits for an answer, and the next message is prefetched and read as any other.
FLOW_KEY = "account"
UNVERIFIED = (
    "For your security I can't share account details (balances, gift cards, orders or payments) from this address, "
    "because we couldn't verify that it's yours. Please write from the email address on your account, or sign in and "
    "chat with us on our website — I'm happy to help with anything else here."
)
LISTED_ORDERS = 5
# Words of a question about what they bought that name no item ("which colour did I get last time?").
IGNORED_WORDS = frozenset({"colour", "color", "size", "one", "ones", "time", "last", "month", "week", "year", "before"})
LISTED_ENTRIES = 3
STATUS_WORDS = {
    "pending": "not shipped yet",
    "shipped": "on its way",
    "delivered": "delivered",
    "cancelled": "cancelled",
}


# The help center's passage answering a question of the message, and a passage quoted as a reply may quote it (the
# deterministic engine's own, so that what the rest of a message asks is answered as it is everywhere else).
HelpAnswer = Callable[[str], PassageHit | None]
Excerpt = Callable[[str, int], str]


def decide(
    turn: ReadyTurn, profile: MerchantProfile, help_answer: HelpAnswer | None = None, excerpt: Excerpt | None = None
) -> Decision | None:
    """The answer to an account question (a lookup first, then its words), with the help center's answer to anything
    else the message asks, when it has one; None for a message that asks no account question."""
    question = asked(turn.message.text)
    if question is None and turn.conversation.flow.get(FLOW_KEY) == Asked.GIFT_CARD.value:
        card = card_reference(turn.message.text)  # "and the one ending 9XQ1?", after a gift card's answer
        question = AccountQuestion(Asked.GIFT_CARD, gift_card=card) if card else None
    if question is None:
        return None
    if not turn.customer.verified:
        return Decision(next="reply", reply=UNVERIFIED, flow={})
    tool = question.tool
    done = turn.results_for(tool)
    if not done:
        return Decision(
            next="actions", tool_calls=[ToolCall(id=f"{tool}-1", tool=tool, arguments=question.arguments())]
        )
    outcome = done[-1]
    if outcome.status is not ActionStatus.EXECUTED:
        explanation = outcome.result.get("explanation", "I couldn't look that up just now.")
        flow = {FLOW_KEY: Asked.GIFT_CARD.value} if Asked.GIFT_CARD in question.kinds else {}
        return Decision(next="reply", reply=explanation, flow=flow)
    if question.asked is Asked.PURCHASED:
        return purchased(turn.message.text, outcome.result, turn.message.received_at, turn.message.channel)
    decision = answer(question, outcome.result, profile, turn.message.received_at)
    return _with_asides(decision, turn.message.text, help_answer, excerpt)


def _with_asides(decision: Decision, text: str, help_answer: HelpAnswer | None, excerpt: Excerpt | None) -> Decision:
    """ "what did I buy, and does that jacket run small?": the account's answer, then the help center's to the rest."""
    if help_answer is None or excerpt is None:
        return decision
    reply, citations = decision.reply, list(decision.citations)
    for question in other_questions(text):
        passage = help_answer(question)
        if passage is None:
            continue
        reply += f"\n\nAs for your other question: {excerpt(passage.text, 300)}"
        source = f"{passage.title} — {passage.section}" if passage.section else passage.title
        citations.append(Citation(title=source, url=passage.url))
    return decision.model_copy(update={"reply": reply, "citations": citations})


def answer(question: AccountQuestion, result: dict[str, Any], profile: MerchantProfile, now: datetime) -> Decision:
    """The reply to `question` from `get_account`'s result: each thing it asks, in the order asked."""
    parts = [_answer(kind, result, profile, now) for kind in question.kinds]
    if len(parts) == 1:
        return parts[0]
    flows = [p.flow for p in parts if p.flow]
    return Decision(
        next="reply",
        reply="\n\n".join(p.reply for p in parts),
        resolved=all(p.resolved for p in parts),
        flow=flows[-1] if flows else {},
    )


def _answer(kind: Asked, result: dict[str, Any], profile: MerchantProfile, now: datetime) -> Decision:
    match kind:
        case Asked.STORE_CREDIT:
            return _reply(store_credit(result, profile, now))
        case Asked.GIFT_CARD:
            return _reply(gift_cards(result, now)).model_copy(update={"flow": {FLOW_KEY: Asked.GIFT_CARD.value}})
        case Asked.ORDERS:
            return _reply(orders(result, now))
        case Asked.PAYMENT:
            return _reply(payment(result, profile, now))
        case Asked.REFUND:
            return refunds(result, profile, now)
        case Asked.PURCHASED:  # `find_orders`' answer, worded by `purchased`; `asked` never puts it beside another
            raise ValueError("what a customer bought is answered by purchased(), from find_orders")


def _reply(text: str) -> Decision:
    return Decision(next="reply", reply=text, resolved=True, flow={})


# words ---------------------------------------------------------------------------------------------------------------
def _date(iso: str | None, now: datetime) -> str:
    if not iso:
        return "recently"
    moment = datetime.fromisoformat(iso)
    said = f"{moment.day} {moment.strftime('%B')}"
    return said if moment.year == now.year else f"{said} {moment.year}"


def _listing(items: list[str]) -> str:
    if not items:
        return ""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _paid_with(order: dict[str, Any]) -> str:
    label = str(order.get("paid_with") or "")
    return f"your {label}" if order.get("payment", {}).get("method") == "card" else label


def _shop_currency(result: dict[str, Any], profile: MerchantProfile) -> str:
    credit = result.get("store_credit") or {}
    return str(credit.get("currency") or profile.currency)


def store_credit(result: dict[str, Any], profile: MerchantProfile, now: datetime) -> str:
    credit = result.get("store_credit") or {}
    currency = _shop_currency(result, profile)
    balance = Decimal(str(credit.get("balance") or "0"))
    entries = list(credit.get("entries") or [])
    if balance <= 0 and not entries:
        return "You don't have any store credit on your account right now."
    said = (
        f"You have {money(balance, currency)} in store credit on your account."
        if balance > 0
        else f"Your store credit balance is {money(balance, currency)}."
    )
    if entries:
        latest = [
            f"{money(e['amount'], e.get('currency') or currency)} on {_date(e.get('at'), now)}"
            + (f" ({e['reference']})" if e.get("reference") else "")
            for e in entries[:LISTED_ENTRIES]
        ]
        said += f" Latest {'entry' if len(latest) == 1 else 'entries'}: {'; '.join(latest)}."
    return said


def _card(card: dict[str, Any], now: datetime, own: bool = True) -> str:
    """One gift card in words: "Your gift card ending 4F2K has $25.00 left, valid until 1 March 2027."."""
    name = f"{'Your gift card' if own else 'Gift card'} ending {card['last4']}"
    amount = money(card["balance"], card["currency"])
    if card["status"] == "expired":
        return f"{name} expired on {_date(card.get('expires_at'), now)}."
    if card["status"] == "used up":
        return f"{name} has been fully used ({amount} left)."
    until = f", valid until {_date(card['expires_at'], now)}" if card.get("expires_at") else ""
    return f"{name} has {amount} left{until}."


def gift_cards(result: dict[str, Any], now: datetime) -> str:
    asked_card = result.get("gift_card")
    if asked_card:
        return _card(asked_card, now)
    cards = list(result.get("gift_cards") or [])
    if not cards:
        return (
            "I don't see any gift cards on your account. I can only see gift cards held on your account, so a card "
            "that isn't linked to it won't show here."
        )
    if len(cards) == 1:
        return _card(cards[0], now)
    lines = [f"- {_card(card, now, own=False)}" for card in cards]
    return f"You have {len(cards)} gift cards on your account:\n" + "\n".join(lines)


def _order_line(order: dict[str, Any], now: datetime) -> str:
    items = _listing(list(order.get("items") or [])[:3])
    status = STATUS_WORDS.get(order["status"], order["status"])
    said = (
        f"- {order['order_id']}, placed {_date(order.get('placed_at'), now)}: {items} — "
        f"{money(order['total'], order['currency'])}, {status}, paid with {order['paid_with']}"
    )
    refunded = Decimal(str(order.get("refunded") or "0"))
    if refunded > 0:
        said += f" (refunded {money(refunded, order['currency'])})"
    return said


def orders(result: dict[str, Any], now: datetime) -> str:
    listed = list(result.get("orders") or [])[:LISTED_ORDERS]
    if not listed:
        return "I don't see any orders on your account yet."
    heading = "Here is your most recent order:" if len(listed) == 1 else "Here are your most recent orders:"
    return heading + "\n" + "\n".join(_order_line(o, now) for o in listed)


def _bought(order: dict[str, Any], line: dict[str, Any], now: datetime) -> str:
    """ "4 × Speckled Stoneware Mug — Moss, 350 ml — in order #1009, placed 3 March"."""
    quantity = int(line.get("quantity") or 1)
    said = f"{quantity} × {_bought_item(line)}" if quantity > 1 else f"the {_bought_item(line)}"
    return f"{said} in order {order['order_id']}, placed {_date(order.get('placed_at'), now)}"


def purchased(text: str, result: dict[str, Any], now: datetime, channel: Channel) -> Decision:
    """What they bought before, from their orders' lines (`find_orders`): the lines their words name, with the
    options they chose, newest first; their recent orders' items when their words name nothing they bought. The
    answer is noted with the item's title and options, so that "are they still in stock in that size?" next is about
    that item in those options."""
    from concierge.reasoning.understanding import content_words, items_named

    found = list(result.get("orders") or [])
    candidates = [(order, line) for order in found for line in order.get("lines") or []]
    if not candidates:
        return _reply("I don't see any orders on your account yet.")
    # every time they bought what their words name, not only the line an action would take
    products = {candidates[i][1].get("product_id") for i in items_named(text, candidates).best}
    same = [i for i, (_, line) in enumerate(candidates) if line.get("product_id") in products]
    named = sorted(same, key=lambda i: str(candidates[i][0].get("placed_at") or ""), reverse=True)
    if named:
        listed = [_bought(*candidates[i], now) for i in named[:LISTED_ENTRIES]]
        reply = (
            f"You ordered {listed[0]}."
            if len(listed) == 1
            else "You ordered it more than once:\n" + "\n".join(f"- {said}" for said in listed)
        )
        note = Note(
            topic=_bought_item(candidates[named[0]][1]), aspect="bought before", text=reply[:240], channel=channel
        )
        return Decision(next="reply", reply=reply, resolved=True, flow={}, notes=[note])
    recent = [
        f"- {order['order_id']}, placed {_date(order.get('placed_at'), now)}: "
        + _listing([_bought_item(line) for line in order.get("lines") or []][:4])
        for order in found[:LISTED_ENTRIES]
    ]
    heading = (
        "I couldn't find that among the items you've ordered. Your most recent orders were:"
        if content_words(text) - IGNORED_WORDS
        else "Your most recent orders were:"
    )
    return _reply(heading + "\n" + "\n".join(recent))


def _bought_item(line: dict[str, Any]) -> str:
    options = ", ".join(str(v) for v in (line.get("options") or {}).values())
    return f"{line['title']} ({options})" if options else str(line["title"])


def _refund_sentence(refund: dict[str, Any], order: dict[str, Any], now: datetime) -> str:
    what = _listing(list(refund.get("items") or []))
    of = f" for {what}" if what else ""
    return (
        f"a refund of {money(refund['amount'], refund['currency'])}{of} (order {order['order_id']}) was issued on "
        f"{_date(refund.get('issued_at'), now)} to {refund['to']}"
    )


def payment(result: dict[str, Any], profile: MerchantProfile, now: datetime) -> str:
    order = result.get("order") or next(iter(result.get("orders") or []), None)
    if order is None:
        return "I don't see any orders on your account yet."
    currency = order["currency"]
    items = _listing(list(order.get("items") or [])[:3])
    parts = [f"{money(order['subtotal'], currency)} for the items"]
    if Decimal(str(order.get("shipping") or "0")) > 0:
        parts.append(f"{money(order['shipping'], currency)} shipping")
    if Decimal(str(order.get("tax") or "0")) > 0:
        parts.append(f"{money(order['tax'], currency)} tax")
    breakdown = f" ({_listing(parts)})" if len(parts) > 1 else ""
    said = (
        f"Your order {order['order_id']} (placed {_date(order.get('placed_at'), now)}: {items}) came to "
        f"{money(order['total'], currency)}{breakdown}. It was paid with {_paid_with(order)}."
    )
    issued = list(order.get("refunds") or [])
    if issued:
        said += " Since then, " + "; ".join(_refund_sentence(r, order, now) for r in issued) + "."
    if order["status"] == "cancelled":
        said += " The order was cancelled. " + (
            profile.cancellation_payment or f"Any payment taken for it goes back to {_paid_with(order)}."
        )
    return said


def refunds(result: dict[str, Any], profile: MerchantProfile, now: datetime) -> Decision:
    named = result.get("order")
    listed = [named] if named else list(result.get("orders") or [])
    issued = [(r, o) for o in listed for r in o.get("refunds") or []]
    issued.sort(key=lambda pair: str(pair[0].get("issued_at")), reverse=True)
    if not issued:
        where = f"order {named['order_id']}" if named else "your recent orders"
        return Decision(
            next="reply",
            reply=f"I don't see a refund issued on {where} yet. If you were expecting one, I can pass this to a member "
            "of our team to check.",
            flow={"name": "offer_handoff", "reason": "the customer expects a refund that is not on their account"},
        )
    sentences = [_refund_sentence(r, o, now) for r, o in issued[:LISTED_ORDERS]]
    said = "Yes — " + sentences[0] + "." if len(sentences) == 1 else "Yes — " + "; ".join(sentences) + "."
    to_payment = [r for r, _ in issued if "store credit" not in str(r.get("to"))]
    if to_payment and profile.refund_timing:
        said += f" Refunds take {profile.refund_timing} to reach you."
    return Decision(next="reply", reply=said, resolved=True, flow={})
