"""Prefetched lookups (actions/prefetch.py): which read-only lookups retrieval runs for which messages, that they are
exactly what the deterministic engine would ask for first, that they run through the executor's own lookups and
ownership rules and nothing else, and that the round they make costs no engine any of its action rounds."""

from __future__ import annotations

import ast
import re
from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest

from concierge.actions import prefetch
from concierge.actions.executor import CONFIRMED_TOOLS, LOOKUP_TOOLS, NOT_FOUND, OrderLookups, action_id_for
from concierge.actions.tools import TOOLS, WRITE_TOOLS
from concierge.conversation.api import Channel
from concierge.conversation.turn import (
    ActionResult,
    ActionStatus,
    ConversationSnapshot,
    ConversationStatus,
    CustomerRef,
    IncomingMessage,
    ReadyTurn,
    ToolCall,
)
from concierge.engine import deterministic
from concierge.engine.deterministic import DeterministicEngine
from concierge.engine.offering import OfferingEngine
from concierge.reasoning import signals
from concierge.store.demo import DEMO_MERCHANT, generate_store
from concierge.store.models import OrderStatus
from concierge.workflows import MAX_ACTION_ROUNDS, WORKFLOW_ROUNDS
from tests.unit.fakes import FakeStore

ROOT = Path(__file__).parents[2]
TODAY = date(2025, 5, 14)
NOW = datetime.combine(TODAY, time(12), tzinfo=UTC)
STORE = generate_store(seed=7, today=TODAY)
# What the Messages API accepts as a tool_use id.
TOOL_USE_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def turn(
    text: str,
    customer: str = "sam",
    verified: bool = True,
    flow: dict | None = None,
    status: ConversationStatus = ConversationStatus.OPEN,
    customer_turns: int = 1,
) -> ReadyTurn:
    return ReadyTurn(
        conversation_id="conv-prefetch",
        customer=CustomerRef(id=customer, first_name=customer.title(), verified=verified),
        message=IncomingMessage(message_id="m1", text=text, channel=Channel.WEB, received_at=NOW),
        signals=signals.score(text),
        conversation=ConversationSnapshot(
            status=status, started_at=NOW, customer_turns=customer_turns, flow=flow or {}, verified=verified
        ),
        started_at=NOW,
    )


def planned(text: str, **kwargs) -> list[tuple[str, dict]]:
    return [(c.tool, c.arguments) for c in prefetch.plan(turn(text, **kwargs))]


def latest_order(customer_id: str, status: OrderStatus | None = None):
    orders = sorted((o for o in STORE.orders if o.customer_id == customer_id), key=lambda o: o.placed_at, reverse=True)
    return next(o for o in orders if status is None or o.status is status)


class CountingStore(FakeStore):
    """The demo store, counting the reads made of it."""

    def __init__(self) -> None:
        super().__init__(STORE.orders, STORE.products, STORE.customers)
        self.reads: list[str] = []

    def get_order(self, order_id):
        self.reads.append("get_order")
        return super().get_order(order_id)

    def recent_orders(self, customer_id, limit):
        self.reads.append("recent_orders")
        return super().recent_orders(customer_id, limit)


# which lookups ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "lookups"),
    [
        ("where is my order?", [("track_shipment", {})]),
        ("has my order shipped yet?", [("track_shipment", {})]),
        ("when will my order arrive?", [("track_shipment", {})]),
        # an order id as the merchant writes it, or as the customer does: passed on as written (the action layer
        # matches it against the customer's own orders)
        ("Where's my order #1001?", [("track_shipment", {"order_id": "#1001"})]),
        ("where is order A-20931", [("track_shipment", {"order_id": "A-20931"})]),
        ("where is my order a20931?", [("track_shipment", {"order_id": "a20931"})]),
        ("tracking number for NW10002 please", [("track_shipment", {"order_id": "NW10002"})]),
        # an item named: the order holding it is found first
        ("where are my running shoes?", [("find_orders", {"limit": prefetch.ITEM_SEARCH_LIMIT})]),
    ],
)
def test_a_tracking_question_prefetches_what_it_asks_for(text, lookups):
    assert planned(text) == lookups


@pytest.mark.parametrize(
    "text",
    [
        "How long do refunds take?",
        "Do you ship to Canada?",
        "hi",
        "thanks, that's all",
        "Yes, go ahead",
        # a request to act, alone or beside a tracking question: what is to be done is decided first, by the agent
        "please cancel order #1001",
        "I need to return the blue shirt from my last order",
        "can you send my order to 1820 SE Belmont St, Portland, OR 97214 instead?",
        "where is my order? also please cancel the mugs",
        # a person asked for, or a customer a person should take over
        "I want to talk to a person, where is my order",
        "This is ridiculous, I'm fed up. Third time asking, where is my jacket??",
    ],
)
def test_nothing_is_prefetched_for_what_is_not_only_a_tracking_question(text):
    assert planned(text) == []


def test_nothing_is_prefetched_for_a_sender_who_is_not_verified():
    assert planned("where is my order?", verified=False) == []
    assert planned("Where's my order #1001?", verified=False) == []


@pytest.mark.parametrize(
    "flow",
    [
        {"name": "return", "stage": "find_item", "wants": "return"},
        {"name": "offer_tracking", "order_id": "NW10004"},  # "yes" tracks the order offered, not the latest
        {"name": "cancel", "stage": "confirm", "action_id": "A1"},
    ],
)
def test_nothing_is_prefetched_while_a_request_waits_for_the_customers_answer(flow):
    assert planned("where is my order?", flow=flow) == []


def test_nothing_is_prefetched_while_a_person_owns_the_conversation():
    assert planned("where is my order?", status=ConversationStatus.HANDED_OFF) == []


def test_a_later_message_is_planned_like_a_first_one():
    assert planned("where is my order?", customer_turns=4) == [("track_shipment", {})]


def test_prefetched_calls_have_ids_of_their_own_that_the_messages_api_accepts():
    [call] = prefetch.plan(turn("where is my order?", customer_turns=3))
    assert TOOL_USE_ID.match(call.id) and call.id.startswith(prefetch.CALL_PREFIX)
    engine_ids = {
        c.id for c in DeterministicEngine(DEMO_MERCHANT).decide(turn("where is my order?", customer_turns=3)).tool_calls
    }
    assert call.id not in engine_ids, "an action id is derived from the call id: none is shared with an engine's"


def test_only_read_only_tools_are_ever_planned():
    assert prefetch.PREFETCHABLE == LOOKUP_TOOLS
    assert not LOOKUP_TOOLS & WRITE_TOOLS and not LOOKUP_TOOLS & set(CONFIRMED_TOOLS)
    assert set(TOOLS) >= LOOKUP_TOOLS


def test_an_item_search_lists_as_many_orders_as_the_engines():
    assert prefetch.ITEM_SEARCH_LIMIT == deterministic.ORDER_SEARCH_LIMIT


def test_the_planner_depends_on_no_engine_and_no_store_of_its_own():
    source = (ROOT / "shared/concierge/actions/prefetch.py").read_text()
    imported = {
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert not {m for m in imported if m and m.startswith(("concierge.engine", "concierge.store.demo"))}, imported
    assert "NW1" not in source and "northwind" not in source.lower()


# how: the executor's own lookups ----------------------------------------------------------------------------------
def test_a_prefetched_tracking_question_is_answered_on_the_engines_first_pass():
    shipped = latest_order("sam", OrderStatus.SHIPPED)
    store = CountingStore()
    ready = prefetch.prefetched(turn("where is my order?"), lambda: store, NOW)
    assert ready.prefetched == 1 and [[c.tool for c in r] for r in ready.tool_rounds] == [["track_shipment"]]
    [result] = ready.results
    assert (result.status, result.recorded) == (ActionStatus.EXECUTED, False)  # recorded with the reply
    assert result.action_id == action_id_for("conv-prefetch", ready.tool_rounds[0][0].id)
    assert store.reads == ["recent_orders"]  # what the actions function would have read
    decision = DeterministicEngine(DEMO_MERCHANT).decide(ready)
    assert decision.next == "reply" and decision.tool_calls == []
    assert shipped.shipment.tracking_number in decision.reply and decision.resolved


def test_an_item_named_takes_one_action_round_instead_of_two():
    ready = prefetch.prefetched(turn("where is my puffer jacket?"), lambda: CountingStore(), NOW)
    assert [c.tool for c in ready.tool_rounds[0]] == ["find_orders"]
    decision = DeterministicEngine(DEMO_MERCHANT).decide(ready)
    assert [(c.tool, c.arguments) for c in decision.tool_calls] == [("track_shipment", {"order_id": "NW10004"})]


def test_someone_elses_order_is_not_prefetched_and_nothing_of_it_is_kept():
    """Named by Sam, Alex's order is `order_not_found` (as a missing one): the refusal is dropped, so the agent asks
    the actions function, which answers and audits it as it always did."""
    alexs = latest_order("alex")
    ready = turn(f"where is my order {alexs.id}?")
    assert prefetch.prefetched(ready, lambda: CountingStore(), NOW) == ready
    refused = OrderLookups(CountingStore(), NOW).look_up(prefetch.plan(ready)[0], ready)
    assert (refused.status, refused.reason, refused.result) == (
        ActionStatus.DENIED,
        "order_not_found",
        {"explanation": NOT_FOUND},
    )
    missing = OrderLookups(CountingStore(), NOW).look_up(
        ToolCall(id="x", tool="track_shipment", arguments={"order_id": "NW99999"}), ready
    )
    assert missing.result == refused.result, "the same answer as an order that does not exist"


def test_a_parcels_tracking_number_finds_the_customers_own_order_and_no_one_elses():
    """The carrier's number is what a customer often has at hand ("any news on JJD0001…?"): it names their order,
    however they space it; another customer's parcel number gets the answer a missing order gets."""
    sams = latest_order("sam", OrderStatus.SHIPPED)
    number = sams.shipment.tracking_number
    spaced = " ".join(number[i : i + 4] for i in range(0, len(number), 4)).lower()
    lookups = OrderLookups(CountingStore(), NOW)
    for written in (number, spaced):
        call = ToolCall(id="c1", tool="track_shipment", arguments={"order_id": written})
        found = lookups.look_up(call, turn(f"any news on {written}?"))
        assert found.status is ActionStatus.EXECUTED and found.result["order_id"] == sams.id
    alexs = latest_order("alex", OrderStatus.DELIVERED)
    call = ToolCall(id="c1", tool="track_shipment", arguments={"order_id": alexs.shipment.tracking_number})
    refused = lookups.look_up(call, turn("any news on my parcel?"))
    assert (refused.status, refused.result) == (ActionStatus.DENIED, {"explanation": NOT_FOUND})


@pytest.mark.parametrize("tool", sorted(set(TOOLS) - LOOKUP_TOOLS))
def test_the_executors_lookups_refuse_every_other_tool_before_reading_anything(tool):
    store = CountingStore()
    result = OrderLookups(store, NOW).look_up(ToolCall(id="c1", tool=tool, arguments={}), turn("where is my order?"))
    assert (result.status, result.reason) == (ActionStatus.DENIED, "not_a_lookup")
    assert store.reads == []


def test_the_executors_lookups_refuse_a_sender_who_is_not_verified():
    store = CountingStore()
    call = ToolCall(id="c1", tool="track_shipment", arguments={})
    result = OrderLookups(store, NOW).look_up(call, turn("where is my order?", verified=False))
    assert (result.status, result.reason) == (ActionStatus.DENIED, "identity_unverified") and store.reads == []


def test_a_store_that_fails_costs_the_turn_nothing_but_the_prefetch():
    class Down(CountingStore):
        def recent_orders(self, customer_id, limit):
            raise ConnectionError("throttled")

    ready = turn("where is my order?")
    assert prefetch.prefetched(ready, Down, NOW) == ready


def test_a_planner_that_fails_costs_the_turn_nothing_but_the_prefetch(monkeypatch):
    def broken(turn):
        raise ValueError("a message no rule expected")

    monkeypatch.setattr(prefetch, "plan", broken)
    ready = turn("where is my order?")
    assert prefetch.prefetched(ready, CountingStore, NOW) == ready


def test_the_store_is_not_built_when_nothing_is_planned():
    def never():
        raise AssertionError("built")

    ready = turn("How long do refunds take?")
    assert prefetch.prefetched(ready, never, NOW) == ready


# the action rounds ------------------------------------------------------------------------------------------------
def prefetched_turn(extra_rounds: int) -> ReadyTurn:
    """A tracking question with its prefetched round, and `extra_rounds` rounds the agent asked for after it."""
    ready = prefetch.prefetched(turn("where is my order?"), lambda: CountingStore(), NOW)
    rounds = [[ToolCall(id=f"find_orders-1.{n}-1", tool="find_orders")] for n in range(extra_rounds)]
    results = [
        ActionResult(call_id=r[0].id, action_id=f"A{n}", tool="find_orders", status=ActionStatus.EXECUTED)
        for n, r in enumerate(rounds)
    ]
    return ready.model_copy(
        update={
            "tool_rounds": [*ready.tool_rounds, *rounds],
            "assistant_rounds": [*ready.assistant_rounds, *([] for _ in rounds)],
            "results": [*ready.results, *results],
            "loop": ready.loop.model_copy(update={"steps": extra_rounds}),
        }
    )


def test_a_prefetched_round_is_not_one_of_the_agents():
    assert prefetched_turn(0).agent_rounds == 0 and prefetched_turn(2).agent_rounds == 2
    assert len(prefetched_turn(2).tool_rounds) == 3


def test_the_offer_round_is_kept_after_a_prefetched_one():
    """The workflow keeps one round after an engine's own for the next best action (WORKFLOW_ROUNDS): an engine that
    used all of its own after a prefetched round still gets it, and none after the workflow's last."""
    from tests.unit.test_offer_wiring import FakeEngine, profile

    wrapped = OfferingEngine(FakeEngine(), profile(), salt_set=True)
    at_limit = prefetched_turn(MAX_ACTION_ROUNDS)
    assert len(at_limit.tool_rounds) == WORKFLOW_ROUNDS
    decision = wrapped.decide(at_limit)
    assert decision.next == "actions" and [c.tool for c in decision.tool_calls] == ["next_best_action"]
    assert wrapped.decide(prefetched_turn(WORKFLOW_ROUNDS)).next == "reply"
