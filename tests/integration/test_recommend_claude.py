"""Recommendations on the Claude path (the Messages API stand-in), on the home-kitchen sample store:

- the model is given `recommend_products` among its standing tools, and the system prompt says how to present what it
  returns (each reason as written, never a guess about the person, popular picks said as such);
- a request for recommendations is not read as a shopping request: no cart is prefetched for it;
- the model's call runs in the action layer on the customer's own signals (a view posted to POST /v1/signals), and
  the result it is sent back carries each product's reason.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from concierge.local.messages_standin import message, tool_use
from concierge.platform.clock import now
from tests.credentials import customer_headers
from tests.integration.conftest import model_client, model_stack

STORE = Path(__file__).resolve().parents[2] / "stores" / "home-kitchen"


@pytest.fixture(scope="module")
def stack(model, tmp_path_factory):
    yield from model_stack(tmp_path_factory, model, STORE)


@pytest.fixture
def client(stack, model):
    return model_client(stack, model)


def reply(words: str, **extra) -> dict:
    return message(
        tool_use(
            "reply_to_customer",
            {"text": words, "intent": "recommendation", "confidence": 0.9, "resolved": True, **extra},
        )
    )


def test_the_model_calls_recommend_products_and_gets_the_reasons_from_the_customers_own_view(stack, client, model):
    body = {
        "kind": "product.viewed",
        "signal_id": "claude-view-1",
        "occurred_at": (now() - timedelta(days=1)).isoformat(),
        "customer_id": "cust_8842",
        "product_id": "espresso-machine",
    }
    headers = {**customer_headers("cust_8842"), "content-type": "application/json"}
    status, _, answer = stack.proxy("POST", "/v1/signals", {}, headers, {}, json.dumps(body))
    assert status == 200, answer

    model.queue(
        message(tool_use("recommend_products", {"limit": 3})),
        reply("Here are a few picks for you: the Linea Home Espresso Machine, since you viewed it yesterday."),
    )
    answer = client.say("cust_8842", "claude-rec-1", "What would you recommend for me?")
    assert answer.status == 200, answer.body
    first = model.requests[0]["body"]
    [tool] = [t for t in first["tools"] if t["name"] == "recommend_products"]
    assert "personal" in tool["description"] and set(tool["input_schema"]["properties"]) == {
        "limit",
        "exclude_product_ids",
        "max_price",
    }
    system = json.dumps(first["system"])
    assert "recommend_products" in system and "popular picks" in system
    assert "build_cart" not in json.dumps(first["messages"]), "no cart is prefetched for a request for recommendations"

    [done] = answer.actions("recommend_products", "executed")
    top = done["result"]["recommendations"][0]
    assert done["result"]["personal"] is True and top["product_id"] == "espresso-machine"
    assert top["reason"]["kind"] == "viewed" and top["reason"]["text"].startswith("you viewed it on")
    sent_back = model.requests[-1]["body"]["messages"][-1]["content"][0]
    assert sent_back["type"] == "tool_result" and "you viewed it on" in json.dumps(sent_back["content"])
    bought = {"burr-grinder", "gooseneck-kettle", "stoneware-mug"}  # cust_8842's orders
    assert not {r["product_id"] for r in done["result"]["recommendations"]} & bought


def test_without_consent_the_model_is_told_they_are_not_personal(stack, client, model):
    from tests.integration.test_privacy import as_customer, call

    status, _ = call(
        stack,
        "PUT",
        "/v1/customers/cust_8843/preferences",
        as_customer("cust_8843"),
        {"personalization": False},
        customer_id="cust_8843",
    )
    assert status == 200
    model.queue(
        message(tool_use("recommend_products", {})),
        reply("These are our popular picks, not based on your history."),
    )
    answer = client.say("cust_8843", "claude-rec-2", "any suggestions for me?")
    [done] = answer.actions("recommend_products", "executed")
    assert done["result"]["personal"] is False and done["result"]["generic_because"] == "no_consent"
    assert "not based on the customer's history" in done["result"]["note"]
