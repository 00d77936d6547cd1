"""Prefetched lookups on moto, through the deployed state machine (issue 19, item 3): retrieval runs the read-only
lookup a tracking question plainly needs, so the agent answers on its first pass and the turn enters 6 states
instead of 9; someone else's order still gets the refusal the actions function gives and audits."""

from __future__ import annotations

import pytest

from concierge.memory.store import MemoryStore
from concierge.platform import wiring
from concierge.platform.settings import IngestSettings, current_settings
from concierge.store.models import OrderStatus

PREFETCHED = ["Ingest", "Route", "Retrieval", "Agent", "Next step?", "Reply"]
ONE_ROUND = ["Ingest", "Route", "Retrieval", "Agent", "Next step?", "Actions", "Agent", "Next step?", "Reply"]


@pytest.fixture
def states(stack, monkeypatch):
    """The states each turn's execution entered, in order."""
    seen: list[list[str]] = []
    execute = stack.turn_machine.execute

    def observed(*arguments, **keywords):
        output, visited = execute(*arguments, **keywords)
        seen.append(visited)
        return output, visited

    monkeypatch.setattr(stack.turn_machine, "execute", observed)
    return seen


def orders_of(customer_id: str):
    return wiring.reference_store(current_settings(IngestSettings)).recent_orders(customer_id, 50)


def memory() -> MemoryStore:
    return wiring.memory_store(current_settings(IngestSettings))


def test_where_is_my_order_is_answered_on_the_agents_first_pass(client, states):
    shipped = next(o for o in orders_of("sam") if o.status is OrderStatus.SHIPPED)
    answer = client.say("sam", "pf-track", "where is my order?")
    assert answer.status == 200
    assert states == [PREFETCHED]
    assert f"Your order {shipped.id}" in answer.text and "is on its way" in answer.text
    assert shipped.shipment.tracking_number in answer.text
    assert [(a["tool"], a["status"]) for a in answer.actions()] == [("track_shipment", "executed")]
    # recorded with the reply, as every lookup is: no write of its own
    recorded = [i for i in memory().conversation_partition("pf-track") if i["sk"].startswith("ACTION#")]
    assert [(i["tool"], i["status"], i["customer_id"]) for i in recorded] == [("track_shipment", "executed", "sam")]
    [turn] = [i for i in memory().conversation_partition("pf-track") if i["sk"].startswith("TURN#")]
    assert turn["tools"] == ["track_shipment"] and turn["engine"] == "deterministic"

    later = client.say("sam", "pf-track", "where is my order?")
    assert later.status == 200 and states[-1] == PREFETCHED and "is on its way" in later.text


def test_an_order_named_as_the_merchant_writes_it_is_prefetched(client, states):
    delivered = next(o for o in orders_of("alex") if o.status is OrderStatus.DELIVERED)
    answer = client.say("alex", "pf-named", f"where is my order {delivered.id}?")
    assert states == [PREFETCHED]
    assert f"Your order {delivered.id}" in answer.text and "was delivered on" in answer.text
    assert answer.actions("track_shipment", "executed")[0]["arguments"] == {"order_id": delivered.id}


def test_an_item_named_saves_one_round_of_two(client, states):
    answer = client.say("sam", "pf-item", "where is my puffer jacket?")
    assert answer.status == 200 and "Down Puffer Jacket" in answer.text and "is on its way" in answer.text
    assert states == [ONE_ROUND]  # the order that holds it was listed by retrieval; the agent tracks it
    assert [a["tool"] for a in answer.actions()] == ["find_orders", "track_shipment"]


def test_someone_elses_order_gets_the_same_refusal_as_before_and_is_audited(client, states, tap):
    sams = next(o for o in orders_of("sam") if o.shipment is not None)
    tap.drain()
    answer = client.say("alex", "pf-stolen", f"where is my order {sams.id}?")
    missing = client.say("alex", "pf-missing", "where is my order NW99999?")
    assert answer.status == 200 and "I couldn't find that order on your account." in answer.text
    assert answer.text == missing.text, "the same answer as for an order that does not exist"
    for revealing in (sams.shipment.tracking_number, sams.shipment.carrier, *(line.title for line in sams.lines)):
        assert revealing not in str(answer.body)
    # the refusal is not prefetched: the agent asks the actions function, which refuses and audits it as it did
    assert states == [ONE_ROUND, ONE_ROUND]
    assert [(a["tool"], a["status"]) for a in answer.actions()] == [("track_shipment", "denied")]
    audited = [e["detail"] for e in tap.drain() if e["detail-type"] == "action.executed"]
    assert ("track_shipment", "denied", "order_not_found", "alex") in {
        (e["tool"], e["status"], e["reason"], e["customer_id"]) for e in audited
    }


def test_a_question_or_a_request_to_act_prefetches_nothing(client, states):
    client.say("sam", "pf-none", "How long do refunds take?")
    assert states[-1] == ["Ingest", "Route", "Retrieval", "Agent", "Next step?", "Reply"]
    answer = client.say("alex", "pf-return", "I need to return the blue shirt from my last order")
    assert answer.actions() and answer.actions()[0]["tool"] == "find_orders"
    assert "Actions" in states[-1]  # asked for by the agent, as before
