"""Account questions on the Claude path (the Messages API stand-in), on the electronics sample store (docs/account.md):

- `get_account` is in the model's standing tools, the system prompt says when to use it and how to name a card;
- a gift card question is prefetched by retrieval: the model's first request holds the lookup, the card by its last 4
  characters and never its code, and the model answers in one call;
- a code the model passes that is not the customer's is refused exactly as a made-up one, and audited;
- an unverified email sender: nothing is prefetched, and the model's `get_account` is refused (it is not one of the
  account-free tools), so it reads nothing of the account.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from concierge.actions.account import GIFT_CARD_NOT_FOUND
from concierge.local.messages_standin import message, tool_use
from tests.integration.conftest import model_client, model_stack
from tests.integration.test_omnichannel import deliver, email

STORE = Path(__file__).resolve().parents[2] / "stores" / "electronics"
LENAS = "KEST-5G7H-2JRN-X8PQ"
CAMILLES = "KEST-H3QK-8RNP-6YSB"


@pytest.fixture(scope="module")
def stack(model, tmp_path_factory):
    yield from model_stack(tmp_path_factory, model, STORE)


@pytest.fixture
def client(stack, model):
    return model_client(stack, model)


def reply(words: str, intent: str = "account") -> dict:
    return message(
        tool_use("reply_to_customer", {"text": words, "intent": intent, "confidence": 0.9, "resolved": True})
    )


def test_the_model_gets_the_tool_and_a_prefetched_balance_by_its_last_four_only(client, model):
    model.queue(reply("Your gift card ending X8PQ has €75.00 left."))
    answer = client.say("u-1029", "claude-acct-1", "Hi! Could you check my gift card balance please?")
    assert answer.status == 200, answer.body
    assert len(model.requests) == 1, "the lookup was prefetched: one model call"
    request = model.requests[0]["body"]
    [tool] = [t for t in request["tools"] if t["name"] == "get_account"]
    assert "customer_id" not in json.dumps(tool["input_schema"])
    system = json.dumps(request["system"])
    assert "get_account" in system and "last 4 characters" in system
    sent = json.dumps(request)
    assert "X8PQ" in sent and "75.00" in sent, "the lookup's result is in the request"
    assert LENAS not in sent and "5G7H" not in sent and "2JRN" not in sent, "never the card's code"
    assert [(a["tool"], a["status"]) for a in answer.actions()] == [("get_account", "executed")]
    assert "€75.00" in answer.text


def test_a_code_the_model_passes_that_is_not_the_customers_is_refused_like_a_made_up_one(client, model, tap):
    tap.drain()
    model.queue(
        message(tool_use("get_account", {"gift_card": CAMILLES})),
        reply("I couldn't find that gift card on your account."),
        message(tool_use("get_account", {"gift_card": "KEST-0000-1111-6YSC"})),
        reply("I couldn't find that gift card on your account."),
    )
    theirs = client.say("u-1029", "claude-acct-2", "thanks. and what's on the other card I have?")
    made_up = client.say("u-1029", "claude-acct-3", "thanks. and what's on the other card I have?")
    [refused] = theirs.actions("get_account", "denied")
    [refused_too] = made_up.actions("get_account", "denied")
    assert refused["result"] == refused_too["result"] == {"explanation": GIFT_CARD_NOT_FOUND}
    results = [
        block
        for request in model.requests
        for m in request["body"]["messages"]
        if m["role"] == "user"
        for block in m["content"]
        if isinstance(block, dict) and block.get("type") == "tool_result"
    ]
    assert results and all(r.get("is_error") for r in results)
    sent = json.dumps([r["body"] for r in model.requests], ensure_ascii=False)
    # her balance in any form it is written (a bare "150" may turn up in a random tool-use id)
    assert not any(b in sent for b in ("150.00", "150.0", "€150", "150 EUR")), (
        "nothing of Camille's card reaches the model"
    )
    events = [e["detail"] for e in tap.drain() if e["detail-type"] == "action.executed"]
    assert [(e["tool"], e["status"], e["reason"]) for e in events] == [
        ("get_account", "denied", "gift_card_not_found")
    ] * 2


def test_an_unverified_email_sender_gets_no_lookup_and_the_models_call_is_refused(stack, client, model):
    model.queue(
        message(tool_use("get_account", {})),
        reply("For your security I can't share account details from this address.", intent="gift_card"),
    )
    stack.receive_email(
        email("lena.fischer@example.com", "gift card", "How much is left on my gift card? Which card did I pay with?"),
        spf="FAIL",
        dkim="FAIL",
    )
    deliver(stack)
    assert len(model.requests) == 2, model.requests
    first = json.dumps(model.requests[0]["body"]["messages"])
    assert "not verified" in first, "the model is told the sender is not verified"
    assert '"tool_result"' not in first and "<lookup tool" not in first, "nothing was prefetched"
    [result] = [
        block
        for m in model.requests[1]["body"]["messages"]
        for block in m["content"]
        if isinstance(block, dict) and block.get("type") == "tool_result"
    ]
    assert result.get("is_error") and "identity_unverified" in result["content"]
    sent = json.dumps([r["body"] for r in model.requests])
    assert "X8PQ" not in sent and "75.00" not in sent and "8812" not in sent, "nothing of Lena's account"
