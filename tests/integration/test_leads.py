"""Lead qualification on the local stack with the deterministic engine, on the electronics sample store (its
merchant.json `leads`: Kestrel for Business, qualified from 10 devices):

- a quote request is answered at once, the two questions are asked one at a time, and the call link from
  merchant.json closes it; the lead is recorded in the customer's partition and `lead.qualified` published;
- a lead the rule does not qualify gets the merchant's alternative, and is recorded and published too;
- a count said in the request itself is not asked again;
- the lead is in the customer's data export and goes with their erasure.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from concierge.leads.store import LeadStore
from concierge.memory import keys
from concierge.platform import wiring
from concierge.platform.settings import IngestSettings, current_settings
from tests.integration.conftest import Client, local_stack
from tests.integration.test_privacy import as_customer, call, everything_in_memory

STORE = Path(__file__).resolve().parents[2] / "stores" / "electronics"
MERCHANT = json.loads((STORE / "merchant.json").read_text())["leads"]
CALENDAR = MERCHANT["qualified"]["link"]
ALTERNATIVE = MERCHANT["not_qualified"]["link"]
ASKS = {q["id"]: q["ask"] for q in MERCHANT["questions"]}


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    yield from local_stack(tmp_path_factory, STORE, CONCIERGE_MODEL_PROVIDER="none")


@pytest.fixture(scope="module")
def client(stack):
    return Client(stack)


def leads() -> LeadStore:
    return LeadStore(wiring.memory_store(current_settings(IngestSettings)))


def published(tap, conversation_id: str) -> list[dict]:
    return [
        e["detail"]
        for e in tap.drain()
        if e["detail-type"] == "lead.qualified" and e["detail"]["conversation_id"] == conversation_id
    ]


def test_a_quote_request_gets_two_questions_then_the_call_link_and_a_qualified_lead(client, tap):
    tap.drain()
    first = client.say("u-1029", "lead-1", "Hi! We're kitting out our new office, can we get a quote?")
    assert first.status == 200, first.body
    assert MERCHANT["intro"] in first.text and first.text.endswith(ASKS["devices"])
    second = client.say("u-1029", "lead-1", "around 30 devices in total")
    assert second.text == ASKS["timeline"]
    third = client.say("u-1029", "lead-1", "within a month please")
    assert CALENDAR in third.text and ALTERNATIVE not in third.text
    assert MERCHANT["qualified"]["text"] in third.text
    [done] = third.actions("qualify_lead", "executed")
    assert done["result"]["qualified"] is True and done["result"]["link"] == CALENDAR

    lead = leads().get("u-1029", "lead-1")
    assert lead is not None and lead.qualified and lead.link == CALENDAR and lead.request == "quote"
    assert lead.answers == {"devices": 30, "timeline": "within a month"}
    [event] = published(tap, "lead-1")
    assert event["qualified"] is True and event["customer_id"] == "u-1029" and event["channel"] == "web"
    assert event["answers"] == {"devices": 30, "timeline": "within a month"}
    assert "office" not in json.dumps(event), "the event holds the answers, never the customer's words"


def test_a_lead_below_the_rule_gets_the_alternative_and_is_recorded_too(client, tap):
    tap.drain()
    client.say("u-1047", "lead-2", "Do you do bulk orders? I need some keyboards for the office.")
    client.say("u-1047", "lead-2", "just 4")
    last = client.say("u-1047", "lead-2", "no rush")
    assert ALTERNATIVE in last.text and CALENDAR not in last.text
    lead = leads().get("u-1047", "lead-2")
    assert lead is not None and not lead.qualified and lead.answers == {"devices": 4, "timeline": "just exploring"}
    [event] = published(tap, "lead-2")
    assert event["qualified"] is False and event["link"] == ALTERNATIVE and event["request"] == "bulk order"


def test_a_count_said_with_the_request_is_not_asked_again(client):
    first = client.say("u-1052", "lead-3", "We need 25 headsets for our support team, could we get business pricing?")
    assert ASKS["devices"] not in first.text and first.text.endswith(ASKS["timeline"])
    assert "25 devices" in first.text
    last = client.say("u-1052", "lead-3", "next quarter")
    assert CALENDAR in last.text
    assert leads().get("u-1052", "lead-3").answers == {"devices": 25, "timeline": "in 1–3 months"}


def test_the_lead_is_exported_with_the_customers_data_and_erased_with_them(stack, client):
    client.say("u-1112", "lead-4", "Could we get a quote for 40 keyboards? We need them asap.")
    items = [i for i in everything_in_memory() if i["pk"] == keys.customer_pk("u-1112")]
    assert [keys.record_of(i["pk"], i["sk"]).name for i in items if i["sk"].startswith(keys.LEAD)] == ["lead"]

    status, export = call(stack, "GET", "/v1/customers/u-1112/data", as_customer("u-1112"), customer_id="u-1112")
    assert status == 200
    [lead] = export["leads"]
    assert lead["conversation_id"] == "lead-4" and lead["qualified"] is True and lead["link"] == CALENDAR

    status, receipt = call(stack, "DELETE", "/v1/customers/u-1112", as_customer("u-1112"), customer_id="u-1112")
    assert status == 200 and receipt["erased"]
    assert leads().get("u-1112", "lead-4") is None
    assert not [i for i in everything_in_memory() if "u-1112" in json.dumps(i, default=str)]
