"""Personal recommendations (catalogue/recommend.py, catalogue/related.py, catalogue/views.py, engine/recommend.py) on a
made-up tea shop: the scoring and its reasons, what is never recommended (returned, bought and not consumed, out of
stock, a category the merchant excludes), no consent (best sellers only, nothing of the customer's read), the views
kept and bounded, the snapshot of the shop's orders, and what a message must say to be read as a request for them.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from concierge.catalogue import recommend
from concierge.catalogue.recommend import History, Owned, Seen, asks_for_recommendations, choose
from concierge.catalogue.related import Related, RelatedStore, build
from concierge.catalogue.views import KEPT, ProductView, ViewStore, keep
from concierge.conversation.turn import (
    ActionResult,
    ActionStatus,
    ConversationSnapshot,
    CustomerRef,
    IncomingMessage,
    MemoryContext,
    ReadyTurn,
    Signals,
)
from concierge.engine import recommend as engine
from concierge.platform import topology
from concierge.platform.events import ProductViewed
from concierge.store.commerce import ReturnRecord
from concierge.store.merchant import MerchantProfile, RecommendationSettings
from concierge.store.models import Address, Order, OrderLine, OrderStatus, Payment, Product, Variant
from tests.unit.fakes import FakeStore
from tests.unit.moto_tables import memory, tables  # noqa: F401 (fixtures)

NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)
REPO = Path(__file__).parents[2]
SHOP = MerchantProfile(name="Leaf & Kiln", return_window_days=30, max_auto_refund=Decimal("100"), currency="GBP")


def product(pid: str, title: str, category: str, tags=(), stock: int = 5, price: str = "20.00", **more) -> Product:
    return Product(
        id=pid,
        title=title,
        category=category,
        description=title,
        url=f"/shop/{pid}",
        tags=list(tags),
        variants=[Variant(sku=f"{pid}-1", options={}, price=Decimal(price), stock=stock)],
        **more,
    )


PRODUCTS = {
    p.id: p
    for p in [
        product("teapot", "Cast Iron Teapot", "teaware", ["teapot", "loose leaf"], price="45.00"),
        product("cups", "Porcelain Tea Cups", "teaware", ["cups", "porcelain"], price="24.00"),
        product("kettle", "Temperature Kettle", "appliances", ["kettle"], price="60.00"),
        product("sencha", "Sencha Green Tea", "tea", ["green tea"], price="9.00", dietary=["vegan"]),
        product("strainer", "Mesh Tea Strainer", "accessories", ["strainer", "loose leaf"], price="6.00"),
        product("sleep-blend", "Pregnancy Sleep Blend", "wellness", ["pregnancy"], price="12.00"),
        product("tray", "Bamboo Tea Tray", "teaware", ["tray"], stock=0),
    ]
}
RELATED = Related(
    built_at=NOW,
    orders=12,
    products=list(PRODUCTS),
    sold={"kettle": 6, "cups": 5, "strainer": 4, "teapot": 3, "sencha": 3, "sleep-blend": 2},
    bought_with={"teapot": [("strainer", 3), ("sencha", 1)], "kettle": [("cups", 2)]},
    similar={
        "teapot": [("cups", 0.5), ("tray", 0.45), ("strainer", 0.3)],
        "kettle": [("teapot", 0.3), ("sencha", 0.2)],
        "sleep-blend": [("sencha", 0.6)],
        "cups": [("teapot", 0.5), ("tray", 0.4)],
    },
)


def history(views=(), bought=(), returned=()) -> History:
    return History(
        views=[Seen(p, NOW - timedelta(days=d)) for p, d in views],
        bought={p: Owned(p, PRODUCTS[p].title, NOW - timedelta(days=d)) for p, d in bought},
        returned={p: Owned(p, PRODUCTS[p].title, NOW - timedelta(days=d)) for p, d in returned},
    )


def ids(found) -> list[str]:
    return [r.product_id for r in found.recommendations]


# scoring and reasons ---------------------------------------------------------------------------------------------------
def test_a_recent_view_comes_first_with_the_day_and_products_like_it_name_the_view():
    found = choose(history(views=[("teapot", 2)]), RELATED, PRODUCTS, SHOP, NOW)
    assert found.personal and found.generic_because is None
    first, second = found.recommendations[:2]
    assert (first.product_id, first.reason.kind, first.reason.text) == ("teapot", "viewed", "you viewed it on 8 March")
    assert first.price == "45.00" and first.currency == "GBP" and first.url == "/shop/teapot"
    assert second.product_id == "cups" and second.reason.text == "because you viewed the Cast Iron Teapot on 8 March"
    assert "tray" not in ids(found), "out of stock"


def test_an_older_view_weighs_less_than_a_recent_one():
    found = choose(history(views=[("kettle", 1), ("cups", 40)]), RELATED, PRODUCTS, SHOP, NOW)
    scores = {r.product_id: r.score for r in found.recommendations}
    assert scores["kettle"] > scores["cups"]


def test_a_purchase_brings_what_goes_with_it_and_what_others_bought_with_it_never_itself():
    found = choose(history(bought=[("teapot", 10)]), RELATED, PRODUCTS, SHOP, NOW)
    reasons = {r.product_id: r.reason.text for r in found.recommendations}
    assert "teapot" not in reasons, "they have one"
    assert reasons["strainer"] == "others who bought the Cast Iron Teapot also bought it"
    assert "sencha" not in reasons or "others" not in reasons["sencha"], "never one other person's basket"
    assert reasons["cups"] == "like the Cast Iron Teapot you bought"  # the same category: weighed less


def test_a_consumed_product_bought_before_may_be_recommended_again():
    found = choose(history(bought=[("sencha", 20)]), RELATED, PRODUCTS, SHOP, NOW)
    again = next(r for r in found.recommendations if r.product_id == "sencha")
    assert again.reason.kind == "buy_again" and again.reason.text == "you bought it on 18 February"
    rebought = RELATED.model_copy(update={"rebought": ["strainer"]})
    assert "strainer" in ids(choose(history(bought=[("strainer", 5)]), rebought, PRODUCTS, SHOP, NOW))


def test_a_returned_product_is_never_recommended_and_products_like_it_are_weighed_down():
    viewed_after = choose(history(views=[("teapot", 1)], returned=[("teapot", 5)]), RELATED, PRODUCTS, SHOP, NOW)
    assert "teapot" not in ids(viewed_after)
    assert not any("Teapot" in r.reason.text for r in viewed_after.recommendations), "no reason from it either"
    plain = choose(history(views=[("kettle", 1)]), RELATED, PRODUCTS, SHOP, NOW)
    damped = choose(history(views=[("kettle", 1)], returned=[("cups", 5)]), RELATED, PRODUCTS, SHOP, NOW)
    score = {r.product_id: r.score for r in plain.recommendations}["teapot"]
    assert {r.product_id: r.score for r in damped.recommendations}.get("teapot", 0) < score


def test_without_consent_only_the_best_sellers_said_as_such():
    found = choose(None, RELATED, PRODUCTS, SHOP, NOW)
    assert not found.personal and found.generic_because == "no_consent"
    assert ids(found) == ["kettle", "cups", "strainer"]
    assert {r.reason.text for r in found.recommendations} == {"one of our best sellers"}
    assert "not based on the customer's history" in found.note


def test_with_nothing_to_go_on_the_best_sellers_and_why():
    found = choose(history(), RELATED, PRODUCTS, SHOP, NOW)
    assert not found.personal and found.generic_because == "no_history"
    no_orders = RELATED.model_copy(update={"sold": {}})
    ranged = choose(None, no_orders, PRODUCTS, SHOP, NOW)
    assert {r.reason.text for r in ranged.recommendations} == {"from our range"}, "no order data: never 'best'"


def test_a_category_the_merchant_excludes_is_never_recommended_nor_a_reason():
    shop = SHOP.model_copy(update={"recommendations": RecommendationSettings(excluded_tags=["Pregnancy"])})
    assert shop.recommendations.excluded_tags == ["pregnancy"]
    found = choose(history(views=[("sleep-blend", 1)]), RELATED, PRODUCTS, shop, NOW)
    assert "sleep-blend" not in ids(found)
    assert not any("Pregnancy" in r.reason.text for r in found.recommendations)
    assert "sencha" not in ids(found) or found.recommendations[ids(found).index("sencha")].reason.kind != "like_viewed"
    generic = choose(None, RELATED, PRODUCTS, shop, NOW, limit=4)
    assert "sleep-blend" not in ids(generic)
    shown = choose(history(views=[("sleep-blend", 1)]), RELATED, PRODUCTS, SHOP, NOW)
    assert "sleep-blend" in ids(shown), "nothing is excluded unless merchant.json says so"


def test_a_price_ceiling_and_products_already_shown_are_kept_out():
    found = choose(history(views=[("teapot", 1)]), RELATED, PRODUCTS, SHOP, NOW, max_price=Decimal("30"))
    assert "teapot" not in ids(found) and all(Decimal(r.price) <= 30 for r in found.recommendations)
    again = choose(history(views=[("teapot", 1)]), RELATED, PRODUCTS, SHOP, NOW, exclude=["teapot", "cups"])
    assert not {"teapot", "cups"} & set(ids(again))


def test_reasons_say_the_signal_and_nothing_about_the_person():
    everything = history(views=[("teapot", 1), ("kettle", 3)], bought=[("sencha", 9), ("teapot", 30)])
    found = choose(everything, RELATED, PRODUCTS, SHOP, NOW, limit=4)
    for item in found.recommendations:
        text = item.reason.text
        assert text.startswith(
            ("you viewed", "because you viewed", "goes with", "like the", "others who", "you bought")
        )
        assert not any(word in text for word in ("you love", "you're", "you are", "fan", "enthusiast")), text


# the snapshot of the shop's orders -------------------------------------------------------------------------------
def order(oid: str, customer: str, *products: str, status: OrderStatus = OrderStatus.DELIVERED, days: int = 5) -> Order:
    return Order(
        id=oid,
        customer_id=customer,
        placed_at=NOW - timedelta(days=days),
        status=status,
        lines=[
            OrderLine(
                line_id=str(n),
                product_id=p,
                sku=f"{p}-1",
                title=PRODUCTS[p].title,
                options={},
                quantity=1,
                unit_price=Decimal("1"),
            )
            for n, p in enumerate(products, 1)
        ],
        shipping_address=Address(name="A", line1="1 Road", city="Leeds", postcode="LS1", country="GB"),
        payment=Payment(method="card"),
    )


def test_the_snapshot_counts_customers_pairs_from_two_on_and_what_is_bought_again():
    orders = [
        order("1", "a", "teapot", "strainer"),
        order("2", "b", "teapot", "strainer"),
        order("3", "c", "teapot", "cups"),
        order("4", "a", "sencha", days=40),
        order("5", "a", "sencha"),
        order("6", "b", "sencha", days=30),
        order("7", "b", "sencha"),
        order("8", "d", "kettle", status=OrderStatus.CANCELLED),
    ]
    related = build(list(PRODUCTS.values()), orders, lambda p: [("cups", 0.4)] if p.id == "teapot" else [], NOW)
    assert related.orders == 7 and related.sold == {"teapot": 3, "strainer": 2, "cups": 1, "sencha": 2}
    assert related.bought_with["teapot"] == [("sencha", 2), ("strainer", 2)]  # ties by id
    assert "cups" not in dict(related.bought_with["teapot"]), "one customer's basket is no pattern"
    assert related.rebought == ["sencha"] and related.similar == {"teapot": [("cups", 0.4)]}
    assert related.best_sellers()[:3] == ["teapot", "sencha", "strainer"]  # ties in the catalogue's order


# on moto: the views, the snapshot's storage, the tool with consent ----------------------------------------------------
def viewed(product_id: str, signal_id: str, days: float = 1, customer: str = "ro") -> ProductViewed:
    return ProductViewed(
        occurred_at=NOW - timedelta(days=days), customer_id=customer, signal_id=signal_id, product_id=product_id
    )


def test_views_are_kept_once_newest_first_bounded_and_cleared(memory):
    store = FakeStore([], PRODUCTS.values(), [])
    assert keep(viewed("teapot", "s-1", 3), memory, store, SHOP, NOW) == "kept"
    assert keep(viewed("teapot", "s-1", 3), memory, store, SHOP, NOW) == "seen"
    assert keep(viewed("cups", "s-2", 1), memory, store, SHOP, NOW) == "kept"
    assert keep(viewed("nothing-like-it", "s-3"), memory, store, SHOP, NOW) == "unknown_product"
    views = ViewStore(memory)
    assert [v.product_id for v in views.views("ro", NOW)] == ["cups", "teapot"]
    for n in range(KEPT + 5):
        views.record(
            "ro", ProductView(product_id="kettle", viewed_at=NOW - timedelta(minutes=n), signal_id=f"k{n}"), NOW
        )
    kept = views.views("ro", NOW)
    assert len(kept) == KEPT and kept[0].signal_id == "k0"
    assert views.views("ro", NOW + timedelta(days=91)) == [], "none older than 90 days"
    assert views.clear("ro") == KEPT and views.views("ro", NOW) == []


def test_no_view_is_kept_without_consent_nor_of_an_excluded_product(memory):
    from concierge.conversation.turn import Profile

    store = FakeStore([], PRODUCTS.values(), [])
    shop = SHOP.model_copy(update={"recommendations": RecommendationSettings(excluded_categories=["Wellness"])})
    assert keep(viewed("sleep-blend", "s-1"), memory, store, shop, NOW) == "excluded"
    memory.put_profile(Profile(customer_id="ro", personalization=False))
    assert keep(viewed("teapot", "s-2"), memory, store, shop, NOW) == "no_consent"
    assert ViewStore(memory).views("ro", NOW) == []


class Counting(FakeStore):
    def __init__(self, *args) -> None:
        super().__init__(*args)
        self.reads: list[str] = []

    def recent_orders(self, customer_id, limit):
        self.reads.append(customer_id)
        return super().recent_orders(customer_id, limit)


def test_the_tool_reads_nothing_of_a_customer_who_said_no_and_everything_of_one_who_did_not(memory):
    from concierge.conversation.turn import Profile

    store = Counting([order("1", "ro", "teapot"), order("2", "ro", "kettle")], PRODUCTS.values(), [])
    store.record_return(  # the kettle went back
        ReturnRecord(
            return_id="r-1",
            order_id="2",
            line_ids=["1"],
            resolution="refund",
            refund_amount=Decimal("60.00"),
            currency="GBP",
            refund_to="card",
            created_at=NOW,
        ),
        None,
    )
    ViewStore(memory).record("ro", ProductView(product_id="cups", viewed_at=NOW, signal_id="v"), NOW)
    found = recommend.recommend("ro", memory, store, RELATED, SHOP, NOW)
    assert found.personal and "teapot" not in ids(found) and "kettle" not in ids(found)
    assert ids(found)[0] == "cups" and store.reads == ["ro"]

    memory.put_profile(Profile(customer_id="ro", personalization=False))
    store.reads.clear()
    found = recommend.recommend("ro", memory, store, RELATED, SHOP, NOW)
    assert store.reads == [] and found.generic_because == "no_consent" and ids(found) == ["kettle", "cups", "strainer"]
    assert recommend.signal_uses("ro", memory, store, SHOP, NOW) == [], "nothing is read, so nothing drives them"


def test_what_drives_them_is_listed_signal_by_signal(memory):
    store = FakeStore([order("1", "ro", "teapot", days=3)], PRODUCTS.values(), [])
    ViewStore(memory).record("ro", ProductView(product_id="sleep-blend", viewed_at=NOW, signal_id="v"), NOW)
    shop = SHOP.model_copy(update={"recommendations": RecommendationSettings(excluded_categories=["wellness"])})
    uses = {u.product_id: u for u in recommend.signal_uses("ro", memory, store, shop, NOW)}
    assert (
        uses["teapot"].signal == "bought"
        and uses["teapot"].used
        and "goes with the Cast Iron Teapot" in uses["teapot"].effect
    )
    assert not uses["sleep-blend"].used and "never suggests" in uses["sleep-blend"].effect


def test_the_snapshot_is_stored_in_chunks_and_read_back_once_per_version(tables, monkeypatch):
    from concierge.catalogue import related as module

    monkeypatch.setattr(module, "CHUNK_BYTES", 64)
    ticks = iter(range(0, 10_000, 100))
    stored = RelatedStore(tables[topology.STORE_TABLE.logical_id], clock=lambda: float(next(ticks)))
    assert stored.get() is None
    stored.put(RELATED)
    assert stored.get() == RELATED
    second = RELATED.model_copy(update={"sold": {"cups": 1}})
    stored.put(second)
    assert stored.get() == second


# reading a message -------------------------------------------------------------------------------------------------
ASKS = [
    "What would you recommend for me?",
    "anything else I might like?",
    "suggest something based on what I bought",
    "Any recommendations?",
    "what should I get next?",
    "Got any suggestions for me under £30?",
    "Anything you think I'd like?",
]
NOT_ASKING = [
    "a gift for my dad under $60",  # a cart
    "can you recommend a good kettle?",  # a thing named: a cart
    "what would you recommend for my sister?",  # someone else
    "which would you recommend, the teapot or the cups?",  # a comparison
    "can you recommend a size for the cups?",
    "recommend something that arrives by Friday",  # a date: a cart
    "I want to return what I bought",
    "do you recommend descaling the kettle?",
    "how do I clean it? any suggestions?",
    "where is my order #1012? any suggestions?",
]


@pytest.mark.parametrize("text", ASKS)
def test_a_request_for_recommendations_is_read(text):
    assert asks_for_recommendations(text, date(2026, 3, 10))


@pytest.mark.parametrize("text", NOT_ASKING)
def test_other_requests_are_not_read_as_one(text):
    assert not asks_for_recommendations(text, date(2026, 3, 10))


def test_none_of_the_labelled_messages_and_shopping_requests_is_read_as_one():
    for name in ("evaluation/understanding/messages.jsonl", "evaluation/shopping/requests.jsonl"):
        lines = [json.loads(line) for line in (REPO / name).read_text().splitlines() if line.strip()]
        assert lines and not [m["text"] for m in lines if asks_for_recommendations(m["text"], date(2026, 12, 1))]


# the deterministic engine ------------------------------------------------------------------------------------------
def turn(text: str, verified: bool = True, turns: int = 1, flow: dict | None = None, results=()) -> ReadyTurn:
    from concierge.conversation.api import Channel

    return ReadyTurn(
        conversation_id="c-1",
        customer=CustomerRef(id="ro", first_name="Ro", verified=verified),
        message=IncomingMessage(message_id="m", text=text, channel=Channel.WEB, received_at=NOW),
        signals=Signals(intent="question", intent_confidence=0.6, sentiment=0.0),
        conversation=ConversationSnapshot(started_at=NOW, customer_turns=turns, flow=flow or {}),
        memory=MemoryContext(),
        results=list(results),
        started_at=NOW,
    )


def test_the_engine_asks_the_tool_then_words_each_product_with_its_reason_and_link():
    decision = engine.decide(turn("what would you recommend for me?"), SHOP)
    assert decision is not None and decision.next == "actions"
    [call] = decision.tool_calls
    assert call.tool == "recommend_products" and call.arguments == {"limit": 3}
    found = choose(history(views=[("teapot", 2)]), RELATED, PRODUCTS, SHOP, NOW)
    result = ActionResult(
        call_id=call.id,
        action_id="a",
        tool=call.tool,
        status=ActionStatus.EXECUTED,
        result=found.model_dump(mode="json"),
    )
    reply = engine.decide(turn("what would you recommend for me?", results=[result]), SHOP)
    assert reply is not None and reply.next == "reply" and reply.resolved
    assert "• Cast Iron Teapot (£45.00): you viewed it on 8 March. /shop/teapot" in reply.reply
    assert reply.flow == {"recommended": ids(found)}
    more = engine.decide(turn("anything else I might like?", turns=2, flow=reply.flow), SHOP)
    assert more is not None and more.tool_calls[0].arguments["exclude_product_ids"] == ids(found)


def test_the_engine_says_when_they_are_not_personal_and_why():
    text = engine.wording(choose(None, RELATED, PRODUCTS, SHOP, NOW))
    assert text.startswith("You've turned personalization off, so I'm not using what you've viewed or bought.")
    assert "best sellers" in text and "for you" not in text


def test_an_unverified_sender_is_told_how_and_nothing_is_read():
    decision = engine.decide(turn("what would you recommend for me?", verified=False), SHOP)
    assert decision is not None and decision.next == "reply" and not decision.tool_calls
    assert "once we know it's you" in decision.reply


def test_a_bare_what_do_you_suggest_after_another_answer_is_not_a_request_for_recommendations():
    assert engine.decide(turn("What do you suggest?"), SHOP) is not None
    assert engine.decide(turn("What do you suggest?", turns=3), SHOP) is None


def test_the_tool_is_for_verified_customers_only():
    from concierge.actions.executor import ACCOUNT_FREE_TOOLS
    from concierge.actions.tools import TOOLS, WRITE_TOOLS, RecommendProducts

    assert TOOLS["recommend_products"] is RecommendProducts
    assert RecommendProducts not in ACCOUNT_FREE_TOOLS and "recommend_products" not in WRITE_TOOLS


def test_the_action_layer_refuses_it_to_a_sender_whose_identity_is_not_verified():
    from concierge.actions.executor import ActionExecutor, ActionServices
    from concierge.conversation.turn import Decision, ToolCall
    from tests.unit.fakes import SETTINGS, FakeEmail, FakeEvents, FakeMemory

    services = ActionServices(
        settings=SETTINGS,
        memory=FakeMemory(),
        store=FakeStore([order("1", "ro", "teapot")], PRODUCTS.values(), []),
        events=FakeEvents(),
        email=FakeEmail(),
        profile=lambda: SHOP,
        related=lambda: RELATED,
    )
    call = ToolCall(id="recommend_products-1", tool="recommend_products", arguments={})
    decided = turn("what would you recommend for me?", verified=False).decided(
        Decision(next="actions", tool_calls=[call])
    )
    [result] = ActionExecutor(services, NOW).run(decided).results
    assert result.status is ActionStatus.DENIED and result.reason == "identity_unverified"
    assert "teapot" not in json.dumps(result.result)
