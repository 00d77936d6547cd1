"""Shopping help through the whole turn on moto, on a sample store (stores/home-kitchen, its dates moved to today):
the API reply carries the cart, built by code on the store's live products — within the budget, in stock, with the
merchant's promotions and the storefront's checkout link — and the same with the OpenSearch catalogue index, and
with Claude calling `build_cart` itself. Dates are whatever today is: every check holds on any day of the week."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from concierge.local.messages_standin import message, tool_use
from concierge.platform import wiring
from concierge.platform.settings import IngestSettings, current_settings
from tests.integration.conftest import Client, environment

STORE = Path(__file__).parents[2] / "stores" / "home-kitchen"
CUSTOMER = "cust_8841"


def start(**values: str):
    from concierge.dev.cli import start_local

    with environment(**values):
        local, _ = start_local(store=STORE)
        try:
            yield local
        finally:
            local.stop()


# One stack at a time: the deterministic engine's for the class below, then one per test after it.
@pytest.fixture(scope="class")
def client():
    for local in start():
        yield Client(local)


def in_stock(cart: dict) -> bool:
    store = wiring.reference_store(current_settings(IngestSettings))
    for line in cart["lines"]:
        product = store.get_product(line["product_id"])
        variant = next(v for v in product.variants if v.sku == line["sku"])
        if variant.stock < line["quantity"] or variant.price != Decimal(line["unit_price"]):
            return False
    return True


class TestWithTheDeterministicEngine:
    def test_a_shopping_request_is_answered_with_a_cart_that_keeps_the_budget(self, client):
        answer = client.say(CUSTOMER, "shop-1", "Can you put together a coffee starter kit for under $150?")
        cart = answer.body["cart"]
        assert answer.status == 200 and cart["status"] == "ready" and cart["satisfied"]
        assert cart["lines"] and Decimal(cart["totals"]["total"]) <= Decimal("150") and in_stock(cart)
        assert cart["totals"]["currency"] == "USD"
        assert cart["checkout_url"].startswith("/cart?add=")
        assert all(line["add_to_cart_url"].startswith("/cart/add?sku=") for line in cart["lines"])
        for line in cart["lines"]:
            assert line["title"] in answer.text
        assert f"Total: ${cart['totals']['total']}" in answer.text
        assert [(a["tool"], a["status"]) for a in answer.actions()] == [("build_cart", "executed")]
        # the merchant's running promotion on coffee gear is applied to the coffee lines
        coffee = [line for line in cart["lines"] if line["promotion"]]
        assert coffee and all(Decimal(line["discount"]) > 0 for line in coffee)

    def test_a_follow_up_changes_the_last_carts_budget(self, client):
        client.say(CUSTOMER, "shop-2", "Can you put together a coffee starter kit for under $150?")
        answer = client.say(CUSTOMER, "shop-2", "make it under $60")
        cart = answer.body["cart"]
        assert cart["status"] == "ready" and Decimal(cart["totals"]["total"]) <= Decimal("60") and in_stock(cart)

    def test_a_date_no_delivery_can_keep_gives_an_empty_cart_that_says_why(self, client):
        answer = client.say(CUSTOMER, "shop-3", "I need linen tea towels by today")
        assert answer.body["cart"]["status"] == "empty" and not answer.body["cart"]["lines"]
        assert "couldn't put together a cart" in answer.text and "Linen Tea Towels, Set of 3 arrives by" in answer.text

    def test_a_goal_the_catalogue_has_nothing_for_is_asked_about_with_the_shops_categories(self, client):
        answer = client.say(CUSTOMER, "shop-4", "Birthday party for a 7-year-old on Saturday")
        assert answer.body["cart"]["status"] == "needs_goal"
        assert "coffee" in answer.text and "What would you like" in answer.text

    def test_requests_about_orders_and_questions_get_no_cart(self, client):
        for conversation, text in [("shop-5", "Where is my order?"), ("shop-6", "How long does a refund take?")]:
            answer = client.say(CUSTOMER, conversation, text)
            assert answer.status == 200 and answer.body["cart"] is None
            assert "build_cart" not in [a["tool"] for a in answer.actions()]


@pytest.fixture
def opensearch_stack():
    yield from start(CONCIERGE_KNOWLEDGE_INDEX="opensearch")


def test_the_same_cart_comes_from_the_opensearch_catalogue(opensearch_stack):
    answer = Client(opensearch_stack).say(CUSTOMER, "shop-os", "Looking for a good frying pan under $60")
    cart = answer.body["cart"]
    assert [line["product_id"] for line in cart["lines"]] == ["carbon-pan"] and in_stock(cart)
    searched = [r for r in opensearch_stack.opensearch.requests if r.path == "/concierge-catalogue/_msearch"]
    assert searched, "retrieval searched the catalogue index on OpenSearch"


@pytest.fixture
def claude_stack(model):
    yield from start(
        CONCIERGE_MODEL_PROVIDER="anthropic",
        CONCIERGE_MODEL="claude-haiku-5-5",
        ANTHROPIC_API_KEY="test-key",
        ANTHROPIC_BASE_URL=model.url,
        CONCIERGE_MODEL_MAX_RETRIES="0",
        CONCIERGE_MODEL_TIMEOUT_SECONDS="5",
        CONCIERGE_TURN_BUDGET_SECONDS="25",
    )


def test_claude_sees_the_prefetched_cart_and_can_build_another_with_structured_arguments(claude_stack, model):
    model.script.clear()
    model.requests.clear()
    model.queue(
        message(
            tool_use(
                "build_cart",
                {
                    "goal": "a mug and a dripper for my dad",
                    "product_ids": ["stoneware-mug", "ceramic-dripper", "espresso-machine"],
                    "pick": "listed",
                    "budget": "60.00",
                },
                "toolu_cart",
            )
        ),
        message(
            tool_use(
                "reply_to_customer",
                {"text": "Here's a mug and a dripper for him.", "confidence": 0.9, "resolved": True, "intent": "other"},
            )
        ),
    )
    answer = Client(claude_stack).say(
        CUSTOMER, "shop-claude", "A gift for my dad who loves pour-over coffee, under $60"
    )
    first = model.requests[0]["body"]
    assert "build_cart" in {tool["name"] for tool in first["tools"]}
    shown = [
        block
        for turn in first["messages"]
        if isinstance(turn["content"], list)
        for block in turn["content"]
        if block.get("type") == "tool_use" and block.get("name") == "build_cart"
    ]
    assert shown, "the cart retrieval built is in the model's context as a tool call"
    cart = answer.body["cart"]
    assert [line["product_id"] for line in cart["lines"]] == ["stoneware-mug", "ceramic-dripper"]
    assert Decimal(cart["totals"]["total"]) <= Decimal("60") and in_stock(cart)
    assert {"espresso-machine": "is over budget"}.items() <= {
        i["product_id"]: i["reason"] for i in cart["left_out"]
    }.items()
    assert [a["tool"] for a in answer.actions()] == ["build_cart", "build_cart"]
