"""A cart for a shopping request, built by the retrieval step before the agent decides — the way the read-only order
lookups a message plainly needs are (actions/prefetch.py): the agent reads no data, and what is read is decided
here, in code, from what the message asks.

`plan`: whether the message asks for shopping help (`requests.read`: a goal, a search, a budget or a date for
something to buy — never an order of theirs, a return or a parcel), in an open conversation waiting for no answer,
that no handoff trigger sends to a person, and that does not ask for the customer's own recommendations ("what would
you recommend for me?": catalogue/recommend.py); or changes the constraints of the cart shown last ("make it under $40",
"it has to arrive by Friday"). Then a `build_cart` call: the request read by code, and the catalogue search's
candidates (`service.candidates`). `prefetched` runs it (`tool.run`, the actions function's own code) as the turn's
first tool round: the deterministic engine words the cart (catalogue.dialogue), Claude sees the call and its result
and may call `build_cart` again with other arguments. In doubt, nothing: the message goes the way it went before.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING

from concierge.catalogue.cart import FLOW_KEY
from concierge.catalogue.policy import shop_today
from concierge.catalogue.requests import NOT_SHOPPING, PURCHASE, ShoppingRequest, parse, read
from concierge.catalogue.search import terms
from concierge.conversation.turn import ActionResult, ActionStatus, ConversationStatus, ReadyTurn, ToolCall
from concierge.reasoning import escalation, signals

if TYPE_CHECKING:
    from concierge.catalogue.search import CatalogueIndex
    from concierge.knowledge.embeddings import Embedder
    from concierge.store.commerce import CommerceBackend
    from concierge.store.merchant import MerchantProfile

logger = logging.getLogger(__name__)

CALL_PREFIX = "prefetch-build_cart-"
# Requests to act that a shopping request is never read over (a tracking reading is: "a birthday party on
# Saturday" names a day, not a parcel; `requests.read` leaves out the messages that ask where something is).
OTHER_REQUESTS = frozenset({"return", "exchange", "cancel", "remove_item", "address", "password", "human"})


def request_for(turn: ReadyTurn, today: date) -> ShoppingRequest | None:
    """The shopping request of this message, or None: code reads it, a model never does."""
    if turn.conversation.status is not ConversationStatus.OPEN:
        return None
    flow = turn.conversation.flow
    if flow.get("name") or flow.get("action_id") or flow.get("also"):
        return None  # a request in progress: "yes", "the blue one" or an address may answer it
    if escalation.trigger(turn, turn.conversation.sentiments, flow.get("misses", 0)) is not None:
        return None
    text = turn.message.text
    request = read(text, today)
    previous = flow.get(FLOW_KEY)
    if isinstance(previous, dict) and not NOT_SHOPPING.search(text):
        later = request or parse(text, today)
        if later.has_constraints and not terms(later.query):  # "make it under $40", "it has to arrive by Friday"
            return ShoppingRequest.model_validate(previous).merged(later)
    if request is None:
        return None
    from concierge.catalogue.recommend import asked as recommendations_asked
    from concierge.reasoning import account

    if recommendations_asked(turn, today):  # "what would you recommend for me?": theirs, not a search (recommend.py)
        return None
    if account.asked(text) is not None:  # "how much is left on my gift card?" asks about their account (account.md)
        return None
    from concierge.reasoning.understanding import acting_intent

    try:
        asked = acting_intent(text, turn.signals.intent).value
    except ValueError:
        asked = turn.signals.intent
    # `read` already leaves out what asks about an order, a parcel or a return in so many words; a request to act
    # that the reading of the message finds, in other words, is not overridden, unless the message says it means to
    # buy and the rules find no such request in it ("I'd like to buy 3 bags of the espresso beans" is not a return
    # of the beans the customer had before).
    if asked in OTHER_REQUESTS and PURCHASE.search(text) and signals.classify(text)[0] not in OTHER_REQUESTS:
        return request
    return None if asked in OTHER_REQUESTS else request


def plan(
    turn: ReadyTurn,
    request: ShoppingRequest,
    index: CatalogueIndex,
    embedder: Embedder,
    merchant: MerchantProfile,
    now: datetime,
) -> ToolCall:
    """The `build_cart` call for the request: what code read, and the catalogue search's candidates."""
    from concierge.catalogue.service import candidates

    hits = candidates(request, index, embedder, merchant, now)
    ids = [hit.listing.product_id for hit in hits]
    arguments = {
        "goal": request.goal,
        "query": request.query,
        "product_ids": ids,
        "budget": str(request.budget) if request.budget is not None else None,
        "min_price": str(request.min_price) if request.min_price is not None else None,
        "needed_by": request.needed_by.isoformat() if request.needed_by else None,
        "recipient_age": request.recipient_age,
        "dietary": list(request.dietary),
        "sizes": list(request.sizes),
        "quantities": dict(request.quantities),
        "items": list(request.items),
    }
    return ToolCall(
        id=f"{CALL_PREFIX}{turn.conversation.customer_turns}",
        tool="build_cart",
        arguments={k: v for k, v in arguments.items() if v not in (None, [], {})} | {"product_ids": ids},
    )


def prefetched(
    turn: ReadyTurn,
    index: Callable[[], CatalogueIndex | None],
    embedder: Callable[[], Embedder],
    store: Callable[[], CommerceBackend],
    merchant: MerchantProfile,
    now: datetime,
) -> ReadyTurn:
    """The turn with a cart for its shopping request as its first tool round (nothing when the message is not one,
    or when another lookup was prefetched). Never fails the turn: a cart that cannot be built is left for the agent.
    A question about products (stock, sizing, a comparison: catalogue/questions.py) is read first and gets their
    facts instead."""
    if turn.tool_rounds:
        return turn
    from concierge.catalogue import questions

    asked = questions.prefetched(turn, index, embedder, store, merchant)
    if asked.tool_rounds:
        return asked
    turn = questions.without_waiting(turn)  # a product asked about was not picked: the message is another request
    try:
        request = request_for(turn, shop_today(merchant, now))  # read first: most messages are not shopping
        found = index() if request is not None else None
        if request is None or found is None:
            return turn
        call = plan(turn, request, found, embedder(), merchant, now)
        from concierge.actions.executor import action_id_for
        from concierge.actions.tools import BuildCart
        from concierge.catalogue.tool import run

        arguments = BuildCart.model_validate(call.arguments) if call.arguments["product_ids"] else None
        result = (
            run(arguments, store(), merchant, now) if arguments is not None else _no_candidates(call, merchant, now)
        )
    except Exception:  # an outage of the index or the store must not cost the turn its passages
        logger.warning("the shopping cart could not be prefetched; the agent answers without it", exc_info=True)
        return turn
    outcome = ActionResult(
        call_id=call.id,
        action_id=action_id_for(turn.conversation_id, call.id),
        tool="build_cart",
        status=ActionStatus.EXECUTED,
        result=result,
        recorded=False,
    )
    return turn.model_copy(
        update={
            "results": [*turn.results, outcome],
            "tool_rounds": [[call]],
            "assistant_rounds": [[]],
            "prefetched": 1,
        }
    )


def _no_candidates(call: ToolCall, merchant: MerchantProfile, now: datetime) -> dict[str, object]:
    """Nothing in the catalogue passes the request's filters: the empty cart that says so."""
    from concierge.catalogue.carts import build_cart
    from concierge.catalogue.requests import ShoppingRequest as Request

    fields = {k: v for k, v in call.arguments.items() if k in Request.model_fields}
    cart = build_cart(Request.model_validate(fields), [], merchant, now)
    return {"cart": cart.model_dump(mode="json")}
