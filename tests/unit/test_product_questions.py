"""Product questions (docs/shopping.md, "Product questions") on a made-up shop unlike the sample stores — candles,
bikes and a sized jacket, each product with option names of its own — through the path a turn takes: the message read
by code, the products matched through catalogue search, `get_product` run on the live products, the deterministic
engine's words. What is checked is what the customer would see."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from concierge.actions.executor import ActionExecutor
from concierge.actions.tools import GetProduct
from concierge.catalogue import facts, questions
from concierge.catalogue.embedded import EmbeddedCatalogue
from concierge.catalogue.search import sync_catalogue
from concierge.conversation.api import Channel
from concierge.conversation.turn import (
    ActionStatus,
    ConversationSnapshot,
    ConversationStatus,
    CustomerRef,
    IncomingMessage,
    Note,
    ReadyTurn,
    ToolCall,
)
from concierge.engine.deterministic import DeterministicEngine
from concierge.knowledge.embeddings import HashingEmbedder
from concierge.reasoning import signals
from concierge.store.commerce import ReturnReasons
from concierge.store.merchant import MerchantProfile
from concierge.store.models import Order
from tests.unit import shop
from tests.unit.fakes import SETTINGS, FakeStore

NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)
EMBEDDER = HashingEmbedder()


def product(product_id: str, title: str, category: str, variants: list[tuple[dict[str, str], str, int]], **extra: Any):
    """The made-up shop's product (tests/unit/shop.py), at this shop's own URL."""
    return shop.product(product_id, title, category, variants, url=f"https://wicks.example/p/{product_id}", **extra)


CATALOGUE = [
    product(
        "soy-candle",
        "Hand-Poured Soy Candle",
        "candles",
        [
            ({"scent": "Fig & Cedar", "wick": "Single"}, "24.00", 5),
            ({"scent": "Fig & Cedar", "wick": "Double"}, "32.00", 0),
            ({"scent": "Sea Salt", "wick": "Single"}, "24.00", 0),
            ({"scent": "Sea Salt", "wick": "Double"}, "32.00", 2),
        ],
        material="Soy wax, cotton wick",
        attributes={"burn time": "45 hours"},
        tags=["gift", "soy"],
    ),
    product(
        "beeswax-candle",
        "Beeswax Pillar Candle",
        "candles",
        [({"height": "10 cm"}, "18.00", 4), ({"height": "15 cm"}, "26.00", 6)],
        material="Pure beeswax",
        attributes={"burn time": "60 hours"},
    ),
    product(
        "gravel-bike",
        "Gravel Bike",
        "bikes",
        [
            ({"frame": "52 cm", "groupset": "1x11"}, "1299.00", 1),
            ({"frame": "56 cm", "groupset": "1x11"}, "1299.00", 0),
        ],
        delivery={"dispatch_days": 10, "min_days": 2, "max_days": 4},
    ),
    product(
        "rain-jacket",
        "Packable Rain Jacket",
        "jackets",
        [({"size": "S"}, "89.00", 3), ({"size": "M"}, "89.00", 0), ({"size": "L"}, "89.00", 2)],
        fit="Cut close; size up to wear it over a fleece.",
        size_chart={"S": "chest 86-91 cm", "M": "chest 96-101 cm", "L": "chest 106-111 cm"},
    ),
]
PRODUCTS = {p.id: p for p in CATALOGUE}
SHOP = MerchantProfile.model_validate(
    {
        "name": "Wick & Wheel",
        "return_window_days": 30,
        "max_auto_refund": "100.00",
        "currency": "GBP",
        "sized_categories": ["jackets"],
        "delivery": {"dispatch_days": 1, "min_days": 1, "max_days": 3},
    }
)


class CountingStore(FakeStore):
    """The shop's catalogue, with its returns counted by reason."""

    def __init__(self, reasons: dict[str, dict[str, int]] | None = None) -> None:
        super().__init__([], CATALOGUE, [])
        self.reasons = {p: ReturnReasons(counts=c) for p, c in (reasons or {}).items()}

    def product_with_returns(self, product_id: str):
        return self.get_product(product_id), self.reasons.get(product_id, ReturnReasons())


@pytest.fixture(scope="module")
def index() -> EmbeddedCatalogue:
    built = EmbeddedCatalogue(EMBEDDER.dimensions, EMBEDDER.name)
    sync_catalogue(CATALOGUE, built, EMBEDDER, SHOP)
    return built


def turn_for(
    text: str, flow: dict | None = None, turns: int = 1, verified: bool = True, notes: list[Note] | None = None
) -> ReadyTurn:
    return ReadyTurn(
        conversation_id="conv-pq",
        customer=CustomerRef(id="c-1", first_name="Ada", verified=verified),
        message=IncomingMessage(message_id=f"m{turns}", text=text, channel=Channel.WEB, received_at=NOW),
        signals=signals.score(text),
        conversation=ConversationSnapshot(
            status=ConversationStatus.OPEN, started_at=NOW, customer_turns=turns, flow=flow or {}, notes=notes or []
        ),
        started_at=NOW,
        merchant=SHOP,
    )


def answer(
    index,
    text: str,
    flow: dict | None = None,
    store: CountingStore | None = None,
    turns: int = 1,
    notes: list[Note] | None = None,
):
    """The turn as retrieval prefetches it, then the deterministic engine's decision."""
    turn = questions.prefetched(
        turn_for(text, flow, turns, notes=notes),
        lambda: index,
        lambda: EMBEDDER,
        lambda: store or CountingStore(),
        SHOP,
    )
    return turn, DeterministicEngine(SHOP).decide(turn)


# reading the question ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Do you have the soy candle in sea salt with a double wick?", "stock"),
        ("is the gravel bike available in a 56 cm frame?", "stock"),
        ("any beeswax candles left in 15 cm?", "stock"),
        ("Does the rain jacket run small?", "sizing"),
        ("what size should I get in the packable jacket?", "sizing"),
        ("What's the difference between the soy candle and the beeswax candle?", "compare"),
        ("soy candle vs beeswax pillar, which is better?", "compare"),
    ],
)
def test_questions_about_products_are_read(text, kind):
    question = questions.read(text)
    assert question is not None and question.kind == kind


@pytest.mark.parametrize(
    "text",
    [
        "I need to return the rain jacket from my last order, it's too small",  # a return
        "Can I exchange my candle for the double wick one if it's in stock?",  # an exchange
        "where is my order? the bike was supposed to arrive",  # tracking
        "I'm looking for a gift under £40, do you have anything in stock?",  # a cart
        "do you have anything for a candle lover?",  # a cart
        "Do you have a cheap candle?",  # a cart
        "How long does delivery take?",  # the help centre
        "what's your return policy on sale items?",  # the help centre
        "Is the soy candle safe to burn overnight?",  # the help centre (care)
    ],
)
def test_other_requests_are_never_read_as_product_questions(text):
    assert questions.read(text) is None


def test_a_product_question_is_not_read_while_a_return_waits_for_an_answer(index):
    turn, _ = answer(index, "is the M in stock?", flow={"name": "return", "stage": "offer"})
    assert not turn.tool_rounds


# stock by variant, whatever the options are called --------------------------------------------------------------
def test_option_values_are_matched_as_phrases_never_inside_other_words():
    assert facts.mentions("the 5.2l one", "5.2 L") and facts.mentions("5.2 L please", "5.2 L")
    assert not facts.mentions("the 5.2 m cable", "2 m")
    assert not facts.mentions("it'll do", "L") and facts.mentions("is the L in stock", "L")
    assert facts.mentions("the 10000mah one", "10,000 mAh") and facts.mentions("10,000 mAh", "10,000 mAh")
    assert facts.mentions("fig & cedar", "Fig & Cedar") and facts.mentions("the fig and cedar one", "Fig & Cedar")


@pytest.mark.parametrize(
    ("product_id", "words", "named", "in_stock"),
    [
        ("soy-candle", "sea salt with a double wick", {"scent": "Sea Salt", "wick": "Double"}, True),
        ("soy-candle", "fig & cedar, double", {"scent": "Fig & Cedar", "wick": "Double"}, False),
        ("beeswax-candle", "the 15 cm one", {"height": "15 cm"}, True),
        ("gravel-bike", "a 56 cm frame", {"frame": "56 cm"}, False),
        ("rain-jacket", "in M", {"size": "M"}, False),
    ],
)
def test_the_variant_asked_for_is_found_by_its_own_options(product_id, words, named, in_stock):
    asked = facts.asked_variant(PRODUCTS[product_id], words, "GBP")
    assert asked["named"] == named and asked["in_stock"] is in_stock
    if not in_stock:
        assert asked["alternatives"] and all(v["in_stock"] for v in asked["alternatives"])


def test_a_sold_out_variant_is_answered_with_the_closest_in_stock_first(index):
    _, decision = answer(index, "Do you have the soy candle in fig & cedar with a double wick?")
    assert "Sorry, the Hand-Poured Soy Candle in Fig & Cedar, Double is sold out right now." in decision.reply
    instead = decision.reply.split("In stock instead:")[1]
    assert instead.index("Fig & Cedar, Single (£24.00)") < instead.index("Sea Salt, Double (£32.00)")
    assert "Sea Salt, Single" not in instead
    assert [c.url for c in decision.citations] == ["https://wicks.example/p/soy-candle"]


def test_a_variant_in_stock_is_said_with_its_price(index):
    _, decision = answer(index, "is the gravel bike available in a 52 cm frame?")
    assert "Yes, we have the Gravel Bike in 52 cm, 1x11 in stock, at £1299.00." in decision.reply, decision.reply
    assert decision.resolved and "https://wicks.example/p/gravel-bike" in decision.reply


def test_without_a_variant_every_variant_is_said_in_stock_or_sold_out(index):
    _, decision = answer(index, "is the rain jacket in stock?")
    assert "In stock: the Packable Rain Jacket in S (£89.00) and L (£89.00). Sold out right now: M." in decision.reply


# sizing ----------------------------------------------------------------------------------------------------------
def test_fit_from_returns_is_told_only_from_the_minimum():
    four = facts.fit_from_returns(ReturnReasons(counts={"too_small": 4}))
    assert four["enough"] is False and four["lean"] is None
    five = facts.fit_from_returns(ReturnReasons(counts={"too_small": 3, "too_large": 1, "damaged": 1}))
    assert five["enough"] is True and five["lean"] == "too_small"
    split = facts.fit_from_returns(ReturnReasons(counts={"too_small": 2, "too_large": 2, "changed_mind": 2}))
    assert split["enough"] is True and split["lean"] is None


def test_sizing_quotes_the_shop_and_the_returns_when_there_are_enough(index):
    store = CountingStore({"rain-jacket": {"too_small": 9, "too_large": 2, "changed_mind": 3}})
    _, decision = answer(index, "Does the rain jacket run small? I'm usually an M", store=store)
    reply = decision.reply
    assert "“Cut close; size up to wear it over a fleece.”" in reply
    assert "Its size chart (size): S: chest 86-91 cm; M: chest 96-101 cm; L: chest 106-111 cm." in reply
    assert "Of the 14 returns of it that gave a reason, 9 said it was too small and 2 that it was too large." in reply
    assert "Most of them found it small." in reply
    assert "Packable Rain Jacket in M is sold out right now" in reply and "S (£89.00)" in reply


def test_too_few_returns_say_nothing_about_fit(index):
    store = CountingStore({"rain-jacket": {"too_small": 4}})
    _, decision = answer(index, "does the rain jacket run small?", store=store)
    assert "Too few of its returns gave a reason" in decision.reply
    assert "found it small" not in decision.reply and "4 said" not in decision.reply


def test_no_size_data_is_said_rather_than_made_up(index):
    # candles are not a sized category: their returns are never read for fit, and nothing is invented
    store = CountingStore({"beeswax-candle": {"too_small": 40}})
    _, decision = answer(index, "what size should I get for the beeswax candle?", store=store)
    assert "I don't have size or fit information for the Beeswax Pillar Candle" in decision.reply
    assert "returns" not in decision.reply and "10 cm (£18.00) and 15 cm (£26.00)" in decision.reply


# comparison ------------------------------------------------------------------------------------------------------
def test_two_products_side_by_side_both_cited(index):
    _, decision = answer(index, "What's the difference between the soy candle and the beeswax candle?")
    reply = decision.reply
    assert "• Price: Hand-Poured Soy Candle: £24.00–£32.00; Beeswax Pillar Candle: £18.00–£26.00." in reply
    assert "• Material: Hand-Poured Soy Candle: Soy wax, cotton wick; Beeswax Pillar Candle: Pure beeswax." in reply
    assert "• Burn time: Hand-Poured Soy Candle: 45 hours; Beeswax Pillar Candle: 60 hours." in reply
    assert "• Delivery (both): ships within 1 working day, then 1–3 working days on the way." in reply
    assert [c.url for c in decision.citations] == [
        "https://wicks.example/p/soy-candle",
        "https://wicks.example/p/beeswax-candle",
    ]


# words that fit several products -----------------------------------------------------------------------------------
def test_words_that_fit_several_products_are_asked_about_never_guessed(index):
    _, decision = answer(index, "is the candle in stock?")
    assert decision.reply.endswith(
        "Which one do you mean: the Hand-Poured Soy Candle or the Beeswax Pillar Candle?"
    ) or decision.reply.endswith("Which one do you mean: the Beeswax Pillar Candle or the Hand-Poured Soy Candle?")
    assert decision.flow["name"] == questions.FLOW and not decision.resolved
    _, picked = answer(index, "the beeswax one", flow=decision.flow, turns=2)
    assert "In stock: the Beeswax Pillar Candle in 10 cm (£18.00) and 15 cm (£26.00)." in picked.reply
    assert picked.flow == {}


def test_a_comparison_with_one_unclear_name_asks_about_that_one_and_keeps_the_other(index):
    _, decision = answer(index, "compare the candle with the gravel bike")
    assert "Which one do you mean" in decision.reply
    _, picked = answer(index, "the soy one", flow=decision.flow, turns=2)
    assert "Here's the Hand-Poured Soy Candle beside the Gravel Bike:" in picked.reply, picked.reply


def test_an_answer_that_picks_none_goes_on_as_another_request(index):
    _, decision = answer(index, "is the candle in stock?")
    turn, other = answer(index, "thanks, bye", flow=decision.flow, turns=2)
    assert not turn.tool_rounds and other.flow.get("name") != questions.FLOW
    assert "Which one" not in other.reply


def test_a_name_no_product_has_is_no_product_question(index):
    turn, _ = answer(index, "do you have the ceramic teapot in blue in stock?")
    assert not turn.tool_rounds


# the tool --------------------------------------------------------------------------------------------------------
def test_get_product_needs_no_verified_account_and_stays_as_it_was_without_a_question():
    from concierge.actions.executor import ActionServices
    from tests.unit.fakes import FakeEmail, FakeEvents, FakeMemory

    services = ActionServices(
        settings=SETTINGS,
        memory=FakeMemory(),
        store=CountingStore(),
        events=FakeEvents(),
        email=FakeEmail(),
        profile=lambda: SHOP,
    )
    stranger = turn_for("do you have the soy candle in sea salt?", verified=False)
    call = ToolCall(id="c1", tool="get_product", arguments={"product_id": "soy-candle", "variant": "sea salt"})
    result = ActionExecutor(services, NOW).execute(call, stranger)
    assert result.status is ActionStatus.EXECUTED
    assert result.result["asked"]["named"] == {"scent": "Sea Salt"}
    plain = ActionExecutor(services, NOW).execute(
        ToolCall(id="c2", tool="get_product", arguments={"product_id": "soy-candle"}), stranger
    )
    assert plain.result == PRODUCTS["soy-candle"].model_dump(mode="json"), "a plain lookup reads as it always did"
    with pytest.raises(ValidationError):
        GetProduct.model_validate({"product_id": "soy-candle", "variant": "x" * 201})


# the store's data --------------------------------------------------------------------------------------------------
def test_a_size_chart_names_only_the_products_own_option_values():
    with pytest.raises(ValidationError, match="names 'XL', which no variant"):
        product("tee", "Tee", "tops", [({"size": "M"}, "10.00", 1)], size_chart={"XL": "chest 120 cm"})


def order(returns: list[dict], status: str = "delivered") -> dict:
    shipment = {
        "carrier": "DPD",
        "tracking_number": "1",
        "shipped_at": "2026-01-02T10:00:00Z",
        "estimated_delivery": "2026-01-05T10:00:00Z",
        "delivered_at": "2026-01-04T10:00:00Z" if status == "delivered" else None,
    }
    return {
        "id": "W100",
        "customer_id": "c-1",
        "placed_at": "2026-01-01T10:00:00Z",
        "status": status,
        "lines": [
            {
                "line_id": "1",
                "product_id": "rain-jacket",
                "sku": "RAIN-JACKET-0",
                "title": "Packable Rain Jacket",
                "options": {"size": "S"},
                "quantity": 1,
                "unit_price": "89.00",
            },
            {
                "line_id": "2",
                "product_id": "soy-candle",
                "sku": "SOY-CANDLE-0",
                "title": "Hand-Poured Soy Candle",
                "options": {},
                "quantity": 1,
                "unit_price": "24.00",
            },
        ],
        "shipping_address": {"name": "Ada", "line1": "1 Road", "city": "Leeds", "postcode": "LS1", "country": "GB"},
        "shipment": shipment,
        "payment": {"method": "card"},
        "returns": returns,
    }


def test_past_returns_name_the_orders_own_lines_once_and_count_per_product():
    with pytest.raises(ValidationError, match="names line '9'"):
        Order.model_validate(order([{"line_ids": ["9"], "reason": "too_small"}]))
    with pytest.raises(ValidationError, match="more than one return"):
        Order.model_validate(order([{"line_ids": ["1"]}, {"line_ids": ["1"], "reason": "too_large"}]))
    with pytest.raises(ValidationError, match="only a delivered order"):
        Order.model_validate(order([{"line_ids": ["1"]}], status="shipped"))
    history = Order.model_validate(order([{"line_ids": ["1"], "reason": "too_small"}, {"line_ids": ["2"]}]))
    counted = ReturnReasons.of_history([history, history])
    assert counted == {"rain-jacket": ReturnReasons(counts={"too_small": 2})}, "a return without a reason counts none"


def test_the_folder_check_names_a_size_chart_or_past_return_that_does_not_fit(tmp_path):
    import json
    import shutil
    from pathlib import Path

    from concierge.store.storefolder import check_store_folder

    folder = tmp_path / "store"
    shutil.copytree(Path(__file__).resolve().parents[2] / "stores" / "home-kitchen", folder)
    products = json.loads((folder / "products.json").read_text())
    products[0]["size_chart"] = {"9 L": "for a crowd"}
    (folder / "products.json").write_text(json.dumps(products))
    orders = json.loads((folder / "orders.json").read_text())
    delivered = next(o for o in orders if o["status"] == "delivered")
    delivered["returns"] = [{"line_ids": ["7"], "reason": "too_small"}]
    (folder / "orders.json").write_text(json.dumps(orders))
    problems = [str(p) for p in check_store_folder(folder)]
    assert problems == [
        f"products.json: product #{products[0]['id']}: size_chart: names '9 L', which no variant of this product has "
        "as an option value (found an object)",
        f"orders.json: order #{delivered['id']}: returns: names line '7', which this order does not have (found a list)",
    ]


def test_no_labelled_customer_message_of_another_kind_is_read_as_a_product_question():
    """The understanding set's messages (returns, tracking, exchanges, questions, handoffs…) keep going the way they
    went: none is taken for a question about stock, sizing or a comparison."""
    from pathlib import Path

    from concierge.reasoning.understanding_eval import SET, load

    messages = load(Path(__file__).parents[2] / SET)
    assert len(messages) > 300
    assert [m.text for m in messages if questions.read(m.text)] == []


def test_a_question_pointing_back_is_about_the_item_just_talked_about_in_the_options_named(index):
    """After "you ordered the Hand-Poured Soy Candle (Sea Salt, Double)", "are they still in stock?" is about that
    candle in those options; without a pointer back, or with nothing talked about, it is no product question."""
    before = [Note(topic="Hand-Poured Soy Candle (Sea Salt, Double)", aspect="bought before", text="…", channel="web")]
    turn, decision = answer(index, "Great. Are they still in stock in that size?", notes=before, turns=2)
    assert [c.arguments["product_id"] for c in turn.tool_rounds[0]] == ["soy-candle"]
    assert "Sea Salt, Double" in decision.reply and "in stock" in decision.reply
    turn, _ = answer(index, "Great. Are they still in stock in that size?")
    assert not turn.tool_rounds, "nothing was talked about: no product is guessed"
    turn, _ = answer(index, "Is that beeswax candle in stock as well?", notes=before, turns=2)
    assert [c.arguments["product_id"] for c in turn.tool_rounds[0]] == ["beeswax-candle"], "their own words first"


def test_which_size_after_one_product_was_suggested_is_about_that_product(index):
    before = [Note(topic="Packable Rain Jacket", aspect="shopping", text="…", channel="web")]
    turn, _ = answer(index, "nice. which size would fit me if I wear a fleece under it?", notes=before, turns=2)
    assert [(c.arguments["product_id"], c.arguments["sizing"]) for c in turn.tool_rounds[0]] == [("rain-jacket", True)]
