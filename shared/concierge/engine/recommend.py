"""The deterministic engine's recommendations (docs/shopping.md, "Recommendations"): "what would you recommend for
me?", "anything else I might like?", "suggest something based on what I bought".

1. a message code reads as asking for recommendations for the customer themself, with nothing named to search for
   (`recommend.asks_for_recommendations`: a thing named, someone else, a gift, a date, a size or a comparison is
   another request, and a cart built for the message answers it first); a bare "what do you suggest?" only opens a
   conversation or follows recommendations, since after anything else it asks about that;
2. `recommend_products` runs in the actions function (catalogue/recommend.py): the customer's views and orders read
   only with their consent, otherwise the shop's best sellers;
3. the reply lists them, each with its price, the reason it comes from as written (the signal, nothing more) and
   its link; when none is personal, it says why ("you've turned personalization off", "nothing of yours to go on").

A sender whose identity is not verified is told how to get personal ones: their history is not read. The products
shown are kept in the flow, so "anything else?" brings others.
"""

from __future__ import annotations

import re
from typing import Any

from concierge.actions.proposal import money
from concierge.catalogue.recommend import FLOW_KEY, MOST_SHOWN, SHOWN, Recommendations, asked, budget_of
from concierge.conversation.turn import ActionStatus, Decision, ReadyTurn, ToolCall
from concierge.store.merchant import MerchantProfile

TOOL = "recommend_products"
KEPT_SHOWN = 20
UNVERIFIED = (
    "I can suggest things from what you've viewed and bought once we know it's you: sign in and chat with us on our "
    "website, or write from the email address on your account. Meanwhile, tell me what you're looking for and I'll "
    "help you find it."
)


def asks(turn: ReadyTurn, merchant: MerchantProfile) -> bool:
    from concierge.catalogue.policy import shop_today

    return asked(turn, shop_today(merchant, turn.message.received_at))


def decide(turn: ReadyTurn, merchant: MerchantProfile) -> Decision | None:
    """The reply to a request for recommendations: the tool call, then its result in words; None for other
    messages."""
    done = [r for r in turn.results if r.tool == TOOL]
    flow = turn.conversation.flow
    if done:
        result = done[-1]
        if result.status is not ActionStatus.EXECUTED:
            return Decision(
                next="reply",
                reply="I'm sorry, I couldn't put recommendations together just now. Tell me what you're looking for "
                "and I'll help you find it.",
                flow={},
            )
        found = Recommendations.model_validate(result.result)
        shown = [*(flow.get(FLOW_KEY) or []), *(r.product_id for r in found.recommendations)]
        return Decision(
            next="reply",
            reply=wording(found, more=bool(flow.get(FLOW_KEY)), under=_ceiling(turn, result.call_id)),
            flow={FLOW_KEY: shown[-KEPT_SHOWN:]} if shown else {},
            resolved=bool(found.recommendations),
        )
    if not asks(turn, merchant):
        return None
    if not turn.customer.verified:
        return Decision(next="reply", reply=UNVERIFIED, flow={})
    text = turn.message.text
    arguments: dict[str, Any] = {"limit": SHOWN}
    shown = list(flow.get(FLOW_KEY) or [])
    if shown:
        arguments["exclude_product_ids"] = shown[-KEPT_SHOWN:]
    if re.search(r"\b(?:four|4)\b", text):
        arguments["limit"] = MOST_SHOWN
    ceiling = budget_of(text)
    if ceiling is not None:
        arguments["max_price"] = str(ceiling)
    return Decision(
        next="actions",
        tool_calls=[ToolCall(id=f"{TOOL}-1", tool=TOOL, arguments=arguments)],
        flow={FLOW_KEY: shown} if shown else {},
    )


def _line(item: Any) -> str:
    reason = item.reason.text
    return f"• {item.title} ({money(item.price, item.currency)}): {reason}. {item.url}"


def _ceiling(turn: ReadyTurn, call_id: str) -> str | None:
    """The price the call was capped at, in the shop's currency ("€40.00"), if any."""
    call = next((c for round_ in turn.tool_rounds for c in round_ if c.id == call_id), None)
    ceiling = call.arguments.get("max_price") if call else None
    return money(str(ceiling), turn.merchant.currency if turn.merchant else "USD") if ceiling else None


def wording(found: Recommendations, more: bool = False, under: str | None = None) -> str:
    items = found.recommendations
    if not items:
        what = f"in stock under {under}" if under else "in stock"
        more_words = "else " if more else ""
        return (
            f"I couldn't find anything {more_words}{what} to recommend just now. Tell me what you're looking for and "
            "I'll help you find it."
        )
    if found.personal:
        opening = "Here are a few more picks for you:" if more else "Here are a few picks for you:"
    else:
        kind = "best sellers" if any(i.reason.kind == "best_seller" for i in items) else "things from our range"
        opening = {
            "no_consent": f"You've turned personalization off, so I'm not using what you've viewed or bought. Here are "
            f"some of our {kind}:",
            "no_history": f"I don't have anything of yours to go on yet, so here are some of our {kind}:",
            "nothing_fits": f"Nothing in stock fits what you've viewed or bought just now, so here are some of our "
            f"{kind}:",
        }.get(found.generic_because or "", f"Here are some of our {kind}:")
    closing = "Would you like to know more about any of them?"
    return "\n".join([opening, *(_line(item) for item in items), closing])
