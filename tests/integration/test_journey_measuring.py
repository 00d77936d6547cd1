"""A journey measured like an offer (docs/journeys.md, "Measuring"), on moto and the local journey interpreter: the
cart reminder of the demo store, whose holdout (10%) gets no message at all.

- a treated customer's cart is reminded and their unit says entered and messaged; a held-out customer's is not, and
  theirs says held out — the cap slot taken all the same;
- the treated customer's answer to the reminder is its reply (turn.completed names the journey, the roll-up counts
  it); an order within 14 days of entering converts, in both groups alike, with its revenue;
- GET /v1/journeys/report shows it per group, and a service message (a late parcel) is never held out;
- erasing a customer erases their unit.
"""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest

from concierge.journeys.runner import conversation_id_for
from concierge.journeys.store import JourneyStore
from concierge.metrics import keys as metric_keys
from concierge.offers.holdout import Group, assign
from tests.credentials import customer_headers, operator_headers
from tests.integration.test_journeys import answer_by_email, mails_to, post_signal, verify_email
from tests.integration.test_journeys_more import MORNING, cart, demo_customers, fresh_profile, memory, run, salt

pytestmark = pytest.mark.usefixtures("clock")


@pytest.fixture
def clock(stack, monkeypatch):
    import functions.actions.handler as actions
    import functions.ingest.handler as ingest

    stack.clock.advance(MORNING - stack.clock.now())
    monkeypatch.setattr(actions, "now", stack.clock.now)
    import concierge.web.routes.metrics as metrics_routes

    monkeypatch.setattr(ingest, "now", stack.clock.now)
    monkeypatch.setattr(metrics_routes, "now", stack.clock.now)  # an order is placed on the stack's day
    return stack.clock


def in_group(group: Group, taken: set[str]) -> str:
    return next(
        c
        for c in demo_customers()
        if c not in taken
        and assign(salt(), "journey:abandoned_cart", c, 0.1) is group
        # and not held out of the cart reminder's own offer, so the treated customer's mail is the plain reminder
        and assign(salt(), "cart-reminder", c, 0.1) is Group.TREATMENT
    )


def unit(customer_id: str, journey: str = "abandoned_cart") -> dict:
    found = JourneyStore(memory()).unit(customer_id, journey)
    assert found is not None, f"{customer_id} has no unit of {journey}"
    return found


def order(stack, customer_id: str, order_id: str, total: str) -> None:
    headers = {**customer_headers(customer_id), "content-type": "application/json"}
    body = json.dumps({"order_id": order_id, "order_total": total, "currency": "USD"})
    status, _, answer = stack.proxy("POST", "/v1/orders", {}, headers, {}, body)
    assert status in (200, 201), answer
    while stack.poll_once():  # the KPI queue: the roll-up attributes the order
        pass


def report(stack) -> dict:
    day = MORNING.date()
    query = {"from": (day - timedelta(days=2)).isoformat(), "to": (day + timedelta(days=3)).isoformat()}
    status, _, body = stack.proxy("GET", "/v1/journeys/report", {}, operator_headers(), query, "")
    assert status == 200, body
    return {j["journey_id"]: j for j in json.loads(body)["journeys"]}


def test_the_holdout_gets_no_reminder_and_both_groups_are_measured_alike(stack):
    treated = in_group(Group.TREATMENT, set())
    held = in_group(Group.HOLDOUT, {treated})
    addresses = {}
    for customer in (treated, held):
        fresh_profile(customer)
        addresses[customer] = verify_email(customer)
        post_signal(stack, cart(customer, f"measure-{customer}"))
    stack.clock.advance(timedelta(hours=25))
    executions = {c: run(stack, "abandoned_cart", c, f"measure-{c}") for c in (treated, held)}

    assert executions[treated]["output"]["checked"]["Payload"]["reason"] == "send"
    assert len(mails_to(stack, addresses[treated])) == 1
    assert executions[held]["output"]["checked"]["Payload"]["reason"] == "held_out"
    assert executions[held]["states"][-1] != "Send" or not mails_to(stack, addresses[held])
    assert mails_to(stack, addresses[held]) == [], "the holdout gets no message at all"
    assert not JourneyStore(memory()).take_slot(held, "abandoned_cart", _cap(), stack.clock.now()), (
        "the held-out run took the cap's slot, as a message would have"
    )

    mine, theirs = unit(treated), unit(held)
    assert (mine["group"], theirs["group"]) == ("treatment", "holdout")
    assert len(mine["messaged"]) == 1 and "held_out" not in mine
    assert len(theirs["held_out"]) == 1 and "messaged" not in theirs

    conversation = conversation_id_for("abandoned_cart", treated, f"measure-{treated}")
    answer_by_email(stack, treated, conversation, "Thanks! Is the blue shirt still in stock in S?")
    assert unit(treated).get("replied_at"), "the answer to the reminder is its reply"

    stack.clock.advance(timedelta(days=2))
    order(stack, treated, f"ord-{treated}", "96.00")
    order(stack, held, f"ord-{held}", "40.00")
    mine, theirs = unit(treated), unit(held)
    assert mine.get("converted_at") and theirs.get("converted_at"), "an order within 14 days converts, both groups"
    assert Decimal(str(mine["revenue_USD"])) == 96 and Decimal(str(theirs["revenue_USD"])) == 40

    rows = report(stack)
    cart_row = rows["abandoned_cart"]
    assert cart_row["holdout_share"] == 0.1 and cart_row["converts_on"] == "order"
    assert cart_row["entered"] >= 2 and cart_row["messages"] >= 1 and cart_row["held_out"] >= 1
    assert cart_row["treatment"]["replied"]["hits"] >= 1 and cart_row["holdout"]["messaged"] == 0
    assert cart_row["holdout"]["converted"]["hits"] >= 1
    assert cart_row["conversion"]["result"] == "not_enough_data", "two customers are no lift"
    assert rows["delayed_shipment"]["holdout_share"] == 0 and rows["delayed_shipment"]["conversion"] is None

    erased = stack.proxy("DELETE", f"/v1/customers/{held}", {"customer_id": held}, customer_headers(held), {}, None)
    assert erased[0] == 200, erased
    gone = memory().storage.get(metric_keys.journey_unit_key("abandoned_cart", held))
    assert gone is None, "erasing the customer erases their unit"


def test_an_order_long_after_entering_is_not_the_journey_s_conversion(stack):
    customer = in_group(
        Group.TREATMENT, {c for c in demo_customers() if JourneyStore(memory()).unit(c, "abandoned_cart")}
    )
    fresh_profile(customer)
    verify_email(customer)
    post_signal(stack, cart(customer, f"late-{customer}"))
    stack.clock.advance(timedelta(days=20))
    run(stack, "abandoned_cart", customer, f"late-{customer}")
    order(stack, customer, f"late-ord-{customer}", "30.00")
    assert not unit(customer).get("converted_at"), "20 days after entering is past the 14-day window"


def _cap():
    from concierge.journeys.definitions import SHIPPED

    return SHIPPED["abandoned_cart"].cap
