"""Prefetched lookups: the read-only lookups a message plainly needs, run by the retrieval step before the agent
decides, so that the agent can answer "where is my order?" on its first pass instead of asking the actions function
first (issue 19, item 3: the turn then enters 6 states instead of 9).

The agent still reads no data (least privilege: a prompt-injected model cannot read anything); what is read is
decided here, in code, from what the message asks, and never by a model:

- `plan`: which lookups, if any. Only for a verified customer, in an open conversation waiting for no answer (no
  dialogue state: the message may answer a question or a proposal), that no handoff trigger sends to a person
  (`reasoning.escalation`, which every engine applies first), and whose message asks where an order is and nothing
  to be done (`understanding.acting_intent` reads tracking, `signals.acting_requests` finds no request to act), or
  that asks about their account (`reasoning.account.asked`: a balance, a gift card, their orders, a payment, a
  refund; `get_account` with the card or order it names, docs/account.md). Then exactly what a tracking request asks
  for first: `track_shipment` for the order it names (as the customer wrote
  it: the action layer matches it to their own orders), or, naming neither an order nor anything that could be an
  item, for their latest order on its way; when it names an item, `find_orders`, to find the order holding it. In
  doubt, nothing: a prefetch the agent does not need costs a read, never a wrong answer.
- `prefetched`: runs them through `actions.executor.OrderLookups.look_up` (the executor's own lookups and ownership
  rules: someone else's order is the same `order_not_found` as a missing one), which refuses any tool but the
  read-only `LOOKUP_TOOLS`. The executed ones become the turn's first tool round (`Turn.prefetched` counts it): the
  deterministic engine finds them with `turn.results_for(...)`, Claude as a tool call and its result
  (reasoning/prompt.py), and the reply step records them with the reply, like every lookup. A refusal is dropped,
  not kept: the agent then asks the actions function, which answers and audits it (`action.executed`) as before.

`concierge.actions.executor` is imported on the first prefetch only: retrieval's cold start does not load it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from concierge.conversation.turn import ActionStatus, ConversationStatus, ReadyTurn, ToolCall
from concierge.reasoning import escalation, signals
from concierge.reasoning.orderref import order_reference

if TYPE_CHECKING:
    from concierge.store.commerce import CommerceBackend

logger = logging.getLogger(__name__)

# The tools a plan may name: read-only lookups of the customer's own orders (the executor's LOOKUP_TOOLS, which
# refuses any other; a unit test keeps the two the same).
PREFETCHABLE = frozenset({"find_orders", "track_shipment", "get_account"})
# How many of the customer's orders are listed to find the one holding a named item: as many as an engine's item
# search asks for (the deterministic engine's ORDER_SEARCH_LIMIT; a unit test keeps the two the same).
ITEM_SEARCH_LIMIT = 25
CALL_PREFIX = "prefetch-"


def call(tool: str, arguments: dict[str, object], turn: ReadyTurn, n: int = 1) -> ToolCall:
    """A prefetched call. Its id is unique in the conversation (an action id is derived from it) and is a valid
    tool_use id for the Messages API (letters, digits, `_` and `-`)."""
    return ToolCall(id=f"{CALL_PREFIX}{tool}-{turn.conversation.customer_turns}-{n}", tool=tool, arguments=arguments)


def plan(turn: ReadyTurn) -> list[ToolCall]:
    """The read-only lookups the message plainly needs, in the order an engine would ask for them; [] when in doubt."""
    if not turn.customer.verified or turn.conversation.status is not ConversationStatus.OPEN:
        return []
    flow = turn.conversation.flow
    if flow.get("name") or flow.get("action_id") or flow.get("also"):
        return []  # a request in progress: "yes", "the blue one" or "#1002" may answer it
    if escalation.trigger(turn, turn.conversation.sentiments, flow.get("misses", 0)) is not None:
        return []  # a person takes it over: nothing is looked up for them
    text = turn.message.text
    from concierge.reasoning import account

    question = account.asked(text)  # read as the deterministic engine reads it (engine/account.py), before tracking
    if question is not None:
        return [call(question.tool, question.arguments(), turn)]
    from concierge.reasoning.understanding import Intent, acting_intent, content_words

    try:
        asked = acting_intent(text, turn.signals.intent)
    except ValueError:  # an intent that is not one of ours: nothing is assumed
        return []
    if asked is not Intent.TRACK or signals.acting_requests(text):
        return []  # not a tracking question, or one beside a request to act (which is made first)
    reference = order_reference(text)
    if reference is not None:
        return [call("track_shipment", {"order_id": reference}, turn)]
    if content_words(text):  # "where are my headphones?": the order that holds them is found first
        return [call("find_orders", {"limit": ITEM_SEARCH_LIMIT}, turn)]
    return [call("track_shipment", {}, turn)]


def prefetched(turn: ReadyTurn, store: Callable[[], CommerceBackend], now: datetime) -> ReadyTurn:
    """The turn with the lookups `plan` names run as its first tool round (`store` is built only when there is
    one). Never fails the turn: a lookup that is refused or cannot run is left for the agent to ask for."""
    if turn.tool_rounds:
        return turn
    try:
        calls = [c for c in plan(turn) if c.tool in PREFETCHABLE]
        if not calls:
            return turn
        from concierge.actions.executor import OrderLookups

        lookups = OrderLookups(store(), now)
        results = [lookups.look_up(c, turn) for c in calls]
    except Exception:  # an outage of the store (or a bug here) must not cost the turn its passages: the agent asks
        logger.warning("prefetched lookups failed; the agent asks for them", exc_info=True)
        return turn
    kept = [(c, r) for c, r in zip(calls, results, strict=True) if r.status is ActionStatus.EXECUTED]
    if not kept:
        return turn
    return turn.model_copy(
        update={
            "results": [*turn.results, *(r for _, r in kept)],
            "tool_rounds": [[c for c, _ in kept]],
            "assistant_rounds": [[]],  # no model wrote this round (reasoning/prompt.py builds its tool_use)
            "prefetched": 1,
        }
    )
