"""Lead qualification on the Claude path (the Messages API stand-in), on the electronics sample store:

- the model is given `qualify_lead` with the shop's questions (each answer's type, the options' labels), and neither
  the rule's threshold nor a link;
- the answers it extracts are checked by the action layer: answers the questions do not take are refused, with what
  they take, and nothing is recorded;
- the rule decides, and the link the customer gets is merchant.json's: a link the model writes beside the outcome is
  left out, and the calendar link never reaches a customer without a qualified lead.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from concierge.leads.store import LeadStore
from concierge.local.messages_standin import message, tool_use
from concierge.platform import wiring
from concierge.platform.settings import IngestSettings, current_settings
from tests.integration.conftest import model_client, model_stack

STORE = Path(__file__).resolve().parents[2] / "stores" / "electronics"
MERCHANT = json.loads((STORE / "merchant.json").read_text())["leads"]
CALENDAR = MERCHANT["qualified"]["link"]
ALTERNATIVE = MERCHANT["not_qualified"]["link"]
MADE_UP = "https://calendly.example/kestrel-sales"


@pytest.fixture(scope="module")
def stack(model, tmp_path_factory):
    yield from model_stack(tmp_path_factory, model, STORE)


@pytest.fixture
def client(stack, model):
    return model_client(stack, model)


def reply(words: str, intent: str = "lead", **extra) -> dict:
    return message(
        tool_use("reply_to_customer", {"text": words, "intent": intent, "confidence": 0.9, "resolved": False, **extra})
    )


def lead(customer_id: str, conversation_id: str):
    return LeadStore(wiring.memory_store(current_settings(IngestSettings))).get(customer_id, conversation_id)


def lead_events(tap, conversation_id: str) -> list[dict]:
    return [
        e["detail"]
        for e in tap.drain()
        if e["detail-type"] == "lead.qualified" and e["detail"]["conversation_id"] == conversation_id
    ]


def test_the_model_gets_the_questions_not_the_rule_and_the_link_is_merchant_jsons(client, model, tap):
    tap.drain()
    model.queue(reply("Happy to help with that! Roughly how many devices do you need?"))
    first = client.say("u-1029", "claude-lead-1", "Hi, can we get a quote for our office?")
    assert first.status == 200, first.body
    request = model.requests[0]["body"]
    [tool] = [t for t in request["tools"] if t["name"] == "qualify_lead"]
    answers = tool["input_schema"]["properties"]["answers"]
    assert answers["required"] == ["devices", "timeline"]
    assert answers["properties"]["timeline"]["enum"] == [o["label"] for o in MERCHANT["questions"][1]["options"]]
    assert answers["properties"]["devices"]["type"] == "number"
    sent = json.dumps(request)
    assert CALENDAR not in sent and ALTERNATIVE not in sent, "the model is never given a link to hand out"
    assert "at_least" not in json.dumps(tool), "nor the rule"

    model.queue(
        message(
            tool_use("qualify_lead", {"answers": {"devices": 30, "timeline": "within a month"}, "request": "quote"})
        ),
        reply(f"Great news, you qualify! Book your call here: {MADE_UP}. Talk soon."),
    )
    second = client.say("u-1029", "claude-lead-1", "about 30, and we need them within a month")
    assert second.status == 200, second.body
    [done] = second.actions("qualify_lead", "executed")
    assert done["result"]["qualified"] is True and done["result"]["link"] == CALENDAR
    assert CALENDAR in second.text and MADE_UP not in second.text, second.text
    assert MERCHANT["qualified"]["text"] in second.text
    recorded = lead("u-1029", "claude-lead-1")
    assert recorded.qualified and recorded.answers == {"devices": 30, "timeline": "within a month"}
    [event] = lead_events(tap, "claude-lead-1")
    assert event["qualified"] is True and event["answers"] == {"devices": 30, "timeline": "within a month"}


def test_answers_the_questions_do_not_take_are_refused_and_nothing_is_recorded(client, model, tap):
    tap.drain()
    model.queue(
        message(tool_use("qualify_lead", {"answers": {"devices": "lots", "timeline": "yesterday"}})),
        reply("Could you give me a number of devices, and when you need them?"),
    )
    answer = client.say("u-1047", "claude-lead-2", "we need lots of keyboards, yesterday ideally. quote please")
    assert answer.status == 200, answer.body
    [refused] = answer.actions("qualify_lead")
    assert refused["status"] == "denied", refused
    explanation = refused["result"]["explanation"]
    assert "'devices' takes a number of devices" in explanation and "'timeline' takes one of" in explanation
    result = model.requests[-1]["body"]["messages"][-1]["content"][0]
    assert result["type"] == "tool_result" and result.get("is_error") and "takes a number" in result["content"]
    assert lead("u-1047", "claude-lead-2") is None and lead_events(tap, "claude-lead-2") == []

    model.queue(
        message(tool_use("qualify_lead", {"answers": {"devices": 3}})),
        reply("And when do you need them?"),
    )
    missing = client.say("u-1047", "claude-lead-2", "3 keyboards")
    [refused] = missing.actions("qualify_lead")
    assert refused["status"] == "denied" and "'timeline' is not answered" in refused["result"]["explanation"]
    assert lead("u-1047", "claude-lead-2") is None


def test_a_lead_below_the_rule_gets_the_alternative_whatever_the_model_writes(client, model, tap):
    tap.drain()
    model.queue(
        message(tool_use("qualify_lead", {"answers": {"devices": 3, "timeline": "just exploring"}})),
        reply(f"You can book a call with our business team here: {CALENDAR}"),
    )
    answer = client.say("u-1052", "claude-lead-3", "a quote for 3 speakers? no rush")
    [done] = answer.actions("qualify_lead", "executed")
    assert done["result"]["qualified"] is False and done["result"]["link"] == ALTERNATIVE
    assert ALTERNATIVE in answer.text and CALENDAR not in answer.text, answer.text
    [event] = lead_events(tap, "claude-lead-3")
    assert event["qualified"] is False and event["link"] == ALTERNATIVE


def test_the_calendar_link_never_reaches_a_customer_without_a_qualified_lead(client, model):
    model.queue(reply(f"Sure! Book a call with our business team: {CALENDAR}. Anything else?", intent="question"))
    answer = client.say("u-1066", "claude-lead-4", "how can I talk to your business team?")
    assert answer.status == 200, answer.body
    assert CALENDAR not in answer.text and not answer.actions("qualify_lead")
