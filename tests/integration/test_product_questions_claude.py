"""Product questions on the Claude path (the Messages API stand-in), on the home-kitchen sample store: the model is
shown the facts retrieval prefetched for a product question (the variant asked for, in stock, with its page), is given
`get_product` with its `variant`, `sizing` and `compare_with` arguments, and its own call compares two products with
the same code the deterministic engine's answers come from (catalogue/facts.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from concierge.local.messages_standin import message, tool_use
from tests.integration.conftest import model_client, model_stack

STORE = Path(__file__).resolve().parents[2] / "stores" / "home-kitchen"


@pytest.fixture(scope="module")
def stack(model, tmp_path_factory):
    yield from model_stack(tmp_path_factory, model, STORE)


def reply(words: str) -> dict:
    return message(
        tool_use("reply_to_customer", {"text": words, "intent": "question", "confidence": 0.9, "resolved": True})
    )


def test_the_model_is_shown_the_variant_asked_for_and_may_ask_for_more(stack, model):
    client = model_client(stack, model)
    model.queue(reply("Yes, the 5.2 L Cream Dutch oven is in stock at $189.00: /products/dutch-oven"))
    answer = client.say("cust_8841", "pq-claude-1", "Do you have the dutch oven in 5.2 L cream in stock?")
    assert answer.status == 200, answer.body
    request = model.requests[0]["body"]
    sent = json.dumps(request["messages"])
    assert "get_product" in sent and "DO-52-CRM" in sent and "asked" in sent, sent[:3000]
    assert "/products/dutch-oven" in sent
    [tool] = [t for t in request["tools"] if t["name"] == "get_product"]
    assert {"variant", "sizing", "compare_with"} <= set(tool["input_schema"]["properties"])
    assert "get_product (variant, sizing, compare_with)" in json.dumps(request["system"])


def test_the_models_own_call_compares_two_products(stack, model):
    client = model_client(stack, model)
    model.queue(
        message(tool_use("get_product", {"product_id": "carbon-pan", "compare_with": "saucepan-set"})),
        reply("The pan is $45.00–$55.00; the set $149.00–$229.00."),
    )
    compared = client.say("cust_8841", "pq-claude-2", "How is the pan different? I mean versus the pots")
    assert compared.status == 200, compared.body
    [looked] = compared.actions("get_product", "executed")
    first, second = looked["result"]["compared"]
    assert (first["title"], second["title"]) == ("Carbon Steel Frying Pan", "Tri-Ply Saucepan Set")
    assert (first["price_from"], second["price_to"]) == ("45.00", "229.00")
    assert second["material"].startswith("18/10 stainless steel")
    result = model.requests[-1]["body"]["messages"][-1]["content"][0]
    assert result["type"] == "tool_result" and "Tri-Ply Saucepan Set" in json.dumps(result)
