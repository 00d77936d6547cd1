"""Account questions (docs/account.md): what a message asks about the customer's account (reasoning/account.py), what
`get_account` reads and never shows (actions/account.py and the executor's ownership rules: a gift card code in full,
someone else's card or order), the deterministic engine's answers on a shop unlike the demo (engine/account.py), an
unverified sender told nothing, and gift_cards.json in a store folder (store/storefolder.py)."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from concierge.actions import account as summary
from concierge.actions import prefetch
from concierge.actions.executor import ACCOUNT_FREE_TOOLS, LOOKUP_TOOLS, OrderLookups
from concierge.actions.tools import TOOLS, GetAccount, tool_schemas
from concierge.conversation.turn import ActionStatus, PassageHit, ToolCall
from concierge.engine import account as engine_account
from concierge.engine.deterministic import DeterministicEngine
from concierge.reasoning.account import Asked, asked, card_reference
from concierge.store.merchant import MerchantProfile
from concierge.store.models import Customer, GiftCard, Order, Product
from concierge.store.storefolder import check_store_folder, load_store_folder
from tests.unit.fakes import FakeStore, ShopChat
from tests.unit.test_prefetch import turn as prefetch_turn

REPO = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 3, 11, 12, tzinfo=UTC)
# A shop unlike the demo: euros, "K-" order ids, a card and a bank payment method.
SHOP = MerchantProfile(
    name="Lumen Lighting",
    return_window_days=30,
    max_auto_refund=Decimal("500.00"),
    refund_timing="5 business days",
    currency="EUR",
)
LAMP = Product.model_validate(
    {
        "id": "lamp",
        "title": "Arc Floor Lamp",
        "category": "lamps",
        "description": "A floor lamp.",
        "url": "/p/lamp",
        "variants": [{"sku": "lamp-b", "options": {"finish": "Brass"}, "price": "149.00", "stock": 4}],
    }
)
BULB = Product.model_validate(
    {
        "id": "bulb",
        "title": "Filament Bulb, 2-Pack",
        "category": "bulbs",
        "description": "Two bulbs.",
        "url": "/p/bulb",
        "variants": [{"sku": "bulb-2", "options": {"fitting": "E27"}, "price": "12.50", "stock": 40}],
    }
)
NOOR = Customer(id="noor", email="noor@example.com", name="Noor Haddad", created_at=NOW - timedelta(days=300))
OTHER = Customer(id="ben", email="ben@example.com", name="Ben Ode", created_at=NOW - timedelta(days=90))


def order(
    oid: str, customer: str, status: str, days_ago: int, payment: dict, lines: list[tuple[Product, int]]
) -> Order:
    placed = NOW - timedelta(days=days_ago)
    shipment = None
    if status in ("shipped", "delivered"):
        shipment = {
            "carrier": "DHL",
            "tracking_number": f"JD{oid[2:]}",
            "shipped_at": (placed + timedelta(days=1)).isoformat(),
            "estimated_delivery": (placed + timedelta(days=3)).isoformat(),
            "delivered_at": (placed + timedelta(days=2)).isoformat() if status == "delivered" else None,
        }
    return Order.model_validate(
        {
            "id": oid,
            "customer_id": customer,
            "placed_at": placed.isoformat(),
            "status": status,
            "currency": "EUR",
            "lines": [
                {
                    "line_id": str(n),
                    "product_id": p.id,
                    "sku": p.variants[0].sku,
                    "title": p.title,
                    "options": p.variants[0].options,
                    "quantity": quantity,
                    "unit_price": str(p.variants[0].price),
                }
                for n, (p, quantity) in enumerate(lines, 1)
            ],
            "shipping_address": {
                "name": "Noor",
                "line1": "Kade 1",
                "city": "Utrecht",
                "postcode": "3511",
                "country": "NL",
            },
            "shipment": shipment,
            "payment": payment,
            "shipping_cost": "4.95",
            "tax": "0.00",
        }
    )


MASTERCARD = {"method": "card", "brand": "Mastercard", "last4": "7731"}
ORDERS = [
    order("K-7702", "noor", "pending", 1, {"method": "ideal"}, [(BULB, 2)]),
    order("K-7650", "noor", "delivered", 9, MASTERCARD, [(LAMP, 1), (BULB, 1)]),
    order("K-7711", "ben", "delivered", 5, MASTERCARD, [(LAMP, 1)]),
]
CARDS = [
    GiftCard(
        code="LUM-8QX2-K7PA-3ZW9",
        customer_id="noor",
        balance=Decimal("60.00"),
        currency="EUR",
        issued_at=NOW - timedelta(days=40),
        expires_at=NOW + timedelta(days=325),
    ),
    GiftCard(
        code="LUM-2BRT-9MJE-7HC4",
        customer_id="noor",
        balance=Decimal("15.50"),
        currency="EUR",
        issued_at=NOW - timedelta(days=400),
        expires_at=NOW - timedelta(days=35),
    ),
    GiftCard(
        code="LUM-5TTN-4DKS-8UV1",
        customer_id="ben",
        balance=Decimal("200.00"),
        currency="EUR",
        issued_at=NOW - timedelta(days=10),
    ),
]
CODES = [c.code for c in CARDS]


def chat(verified: bool = True) -> ShopChat:
    return ShopChat(
        SHOP,
        [LAMP, BULB],
        NOOR,
        [o for o in ORDERS if o.customer_id == "noor"],
        NOW,
        gift_cards=CARDS,
        verified=verified,
    )


# reading: what an account question asks -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "kind", "arguments"),
    [
        ("what's my store credit balance?", Asked.STORE_CREDIT, {}),
        ("How much credit do I have left?", Asked.STORE_CREDIT, {}),
        ("is there any store credit on my account?", Asked.STORE_CREDIT, {}),
        ("how much is left on my gift card?", Asked.GIFT_CARD, {}),
        ("do I have any gift cards?", Asked.GIFT_CARD, {}),
        ("when does my gift card expire?", Asked.GIFT_CARD, {}),
        ("what's the balance on my gift card ending 3zw9?", Asked.GIFT_CARD, {"gift_card": "3zw9"}),
        ("Gift card LUM-8QX2-K7PA-3ZW9 - how much is on it?", Asked.GIFT_CARD, {"gift_card": "LUM-8QX2-K7PA-3ZW9"}),
        ("show my recent orders", Asked.ORDERS, {}),
        ("order history please", Asked.ORDERS, {}),
        ("list my orders", Asked.ORDERS, {}),
        ("what have I ordered from you?", Asked.ORDERS, {}),
        ("what did I pay for my last order?", Asked.PAYMENT, {}),
        ("how was I charged for my last order?", Asked.PAYMENT, {}),
        ("which card did I pay with?", Asked.PAYMENT, {}),
        ("how did I pay for order K-7650?", Asked.PAYMENT, {"order_id": "K-7650"}),
        ("did my refund go through?", Asked.REFUND, {}),
        ("has my refund been processed?", Asked.REFUND, {}),
        ("did the refund for order K-7650 go through?", Asked.REFUND, {"order_id": "K-7650"}),
        ("any news on my refund?", Asked.REFUND, {}),
    ],
)
def test_an_account_question_is_read_with_what_it_names(text, kind, arguments):
    question = asked(text)
    assert question is not None and question.asked is kind and question.arguments() == arguments


@pytest.mark.parametrize(
    "text",
    [
        # a request to act, a tracking question, a policy question: they keep the way they go
        "I want a refund for the lamp",
        "refund it to store credit please",
        "I'd like store credit instead",
        "cancel my last order",
        "where is my order?",
        "where are my orders",
        "how long do refunds take?",
        "when will my refund arrive?",
        "how much store credit would I get for the lamp?",
        # gift cards as products or a way to pay, not one they hold
        "can I pay with a gift card?",
        "do you sell gift cards?",
        "I'd like to buy a gift card for my mum",
        "can I use my gift card to pay for the lamp?",
        "do gift cards expire?",
        "I lost my gift card",
        "what payment methods do you accept?",
        "Please cancel order K-7702. Will I still be charged for it?",
    ],
)
def test_what_is_not_an_account_question_is_not_read_as_one(text):
    assert asked(text) is None


def test_each_clause_is_read_so_a_message_may_ask_two_things():
    question = asked("How much is left on my gift card? Which card did I pay with?")
    assert question is not None and question.kinds == (Asked.GIFT_CARD, Asked.PAYMENT)
    # one clause's words do not unmake another's question ("pay with" asks about paying, not how to pay with a card)
    assert asked("can I pay with my gift card?") is None


def test_a_card_is_named_by_its_last_characters_or_a_code_and_an_order_id_is_no_card():
    assert card_reference("the one ending 3ZW9 please") == "3ZW9"
    assert card_reference("last 4 are 7hc4") == "7hc4"
    assert card_reference("card lum-8qx2-k7pa-3zw9 please") == "8qx2-k7pa-3zw9"
    assert card_reference("order K-7650") is None and card_reference("my 2025 birthday card") is None


# the lookup: the customer's own, never a code in full --------------------------------------------------------------
def lookup(arguments: dict, customer: str = "noor", verified: bool = True):
    store = FakeStore(ORDERS, [LAMP, BULB], [NOOR, OTHER], CARDS)
    ready = prefetch_turn("how much is on my gift card?", customer=customer, verified=verified)
    return OrderLookups(store, NOW).look_up(ToolCall(id="c1", tool="get_account", arguments=arguments), ready)


def test_the_account_lists_the_customers_own_cards_masked_and_orders_with_payments():
    result = lookup({})
    assert result.status is ActionStatus.EXECUTED
    dumped = json.dumps(result.result)
    assert not any(code in dumped for code in CODES), "no code is ever shown in full"
    assert "8QX2" not in dumped and "K7PA" not in dumped, "nor any part of it but its last 4 characters"
    cards = result.result["gift_cards"]
    assert [(c["last4"], c["balance"], c["status"]) for c in cards] == [
        ("3ZW9", "60.00", "active"),
        ("7HC4", "15.50", "expired"),
    ]
    assert all(c["card"].endswith(c["last4"]) and "LUM" not in c["card"] for c in cards)
    assert "5TTN" not in dumped and "8UV1" not in dumped and "200.00" not in dumped, "someone else's card: never"
    orders = {o["order_id"]: o for o in result.result["orders"]}
    assert set(orders) == {"K-7702", "K-7650"}, "someone else's order: never"
    assert orders["K-7650"]["paid_with"] == "Mastercard card ending 7731" and orders["K-7702"]["paid_with"] == "iDEAL"
    assert orders["K-7650"]["total"] == "166.45" and orders["K-7650"]["shipping"] == "4.95"
    assert result.result["store_credit"] == {"balance": "0.00", "currency": "EUR", "entries": []}


@pytest.mark.parametrize("named", ["3zw9", "LUM-8QX2-K7PA-3ZW9", "lum 8qx2 k7pa 3zw9", "k7pa3zw9"])
def test_a_card_the_customer_holds_is_found_however_they_write_it(named):
    result = lookup({"gift_card": named})
    assert result.status is ActionStatus.EXECUTED and result.result["gift_card"]["last4"] == "3ZW9"


def test_someone_elses_card_gets_the_same_answer_as_a_code_that_does_not_exist():
    theirs = lookup({"gift_card": "LUM-5TTN-4DKS-8UV1"})
    made_up = lookup({"gift_card": "LUM-0000-0000-8UV2"})
    last4 = lookup({"gift_card": "8UV1"})
    assert (theirs.status, theirs.reason) == (ActionStatus.DENIED, "gift_card_not_found")
    assert theirs.result == made_up.result == last4.result == {"explanation": summary.GIFT_CARD_NOT_FOUND}
    assert "200" not in json.dumps(theirs.result)


def test_only_the_customers_own_cards_are_ever_read():
    """No card is read by its code: the customer's own list is searched, so a code that exists elsewhere costs the
    same reads as one that does not, and can tell nothing apart."""

    class Counting(FakeStore):
        def __init__(self, *arguments) -> None:
            super().__init__(*arguments)
            self.reads: list[str] = []

        def gift_cards(self, customer_id):
            self.reads.append(customer_id)
            return super().gift_cards(customer_id)

    store = Counting(ORDERS, [LAMP, BULB], [NOOR, OTHER], CARDS)
    ready = prefetch_turn("gift card balance", customer="noor")
    for code in ("LUM-5TTN-4DKS-8UV1", "LUM-0000-0000-8UV2"):
        OrderLookups(store, NOW).look_up(ToolCall(id="c", tool="get_account", arguments={"gift_card": code}), ready)
    assert store.reads == ["noor", "noor"]


def test_someone_elses_order_is_not_found_like_a_missing_one():
    theirs, missing = lookup({"order_id": "K-7711"}), lookup({"order_id": "K-9999"})
    assert (theirs.status, theirs.reason) == (ActionStatus.DENIED, "order_not_found")
    assert theirs.result == missing.result


def test_a_sender_who_is_not_verified_reads_nothing():
    result = lookup({}, verified=False)
    assert (result.status, result.reason) == (ActionStatus.DENIED, "identity_unverified")


def test_the_tool_is_a_read_only_lookup_that_needs_a_verified_customer():
    assert "get_account" in LOOKUP_TOOLS and TOOLS["get_account"] is GetAccount
    assert GetAccount not in ACCOUNT_FREE_TOOLS
    assert "get_account" in {t["name"] for t in tool_schemas()}, "in Claude's standing tool list"
    assert "customer_id" not in GetAccount.model_json_schema()["properties"]


def test_a_card_is_masked_to_its_last_four_characters():
    card = CARDS[0]
    assert card.last4 == "3ZW9" and card.masked == "•••• 3ZW9" and card.compact == "LUM8QX2K7PA3ZW9"
    assert summary.held_card(CARDS[:2], "3ZW") is None, "fewer than 4 characters name no card"


# the deterministic engine -----------------------------------------------------------------------------------------
def test_a_gift_card_balance_is_given_in_the_shops_currency_by_its_last_four():
    conversation = chat()
    reply = conversation.say("how much is left on my gift card?").reply
    assert conversation.calls == [("get_account", {})]
    assert "ending 3ZW9 has €60.00 left" in reply and "ending 7HC4 expired on" in reply
    assert not any(code in reply for code in CODES) and "$" not in reply


def test_a_follow_up_naming_another_card_is_the_same_question():
    conversation = chat()
    first = conversation.say("what's the balance of gift card LUM-5TTN-4DKS-8UV1?").reply
    assert summary.GIFT_CARD_NOT_FOUND in first and "200" not in first
    second = conversation.say("ok and the one ending 3zw9?")
    assert conversation.calls == [("get_account", {"gift_card": "3zw9"})]
    assert "Your gift card ending 3ZW9 has €60.00 left" in second.reply


def test_two_questions_are_answered_from_one_lookup_and_the_next_message_is_prefetched_as_any_other():
    conversation = chat()
    decision = conversation.say("How much is left on my gift card? Which card did I pay with?")
    assert conversation.calls == [("get_account", {})]
    assert "ending 3ZW9 has €60.00 left" in decision.reply and "It was paid with iDEAL." in decision.reply
    ready = prefetch_turn("where is my order?", customer="noor", flow=decision.flow)
    assert prefetch.plan(ready) == [prefetch.call("track_shipment", {}, ready)], (
        "a gift card's answer waits for nothing"
    )


def test_recent_orders_and_a_payment_are_answered_from_the_lookup():
    conversation = chat()
    listed = conversation.say("show my recent orders").reply
    assert "K-7702" in listed and "K-7650" in listed and "K-7711" not in listed
    assert "paid with iDEAL" in listed and "€166.45" in listed and "not shipped yet" in listed
    paid = conversation.say("how did I pay for order K-7650?").reply
    assert "came to €166.45 (€161.50 for the items and €4.95 shipping)" in paid
    assert "your Mastercard card ending 7731" in paid
    assert conversation.calls == [("get_account", {"order_id": "K-7650"})]


def test_the_rest_of_the_message_is_answered_from_the_help_center_beside_the_account():
    passage = PassageHit(
        passage_id="lamp-dimming",
        title="Arc Floor Lamp",
        section="Is it dimmable?",
        url="/help/arc-floor-lamp#is-it-dimmable",
        text="Yes: the Arc Floor Lamp dims with its foot switch, with any dimmable E27 bulb.",
        confidence=0.8,
    )
    conversation = chat()
    decision = conversation.say("what have I ordered, and is the arc floor lamp dimmable?", passages=[passage])
    assert "Here are your most recent orders:" in decision.reply
    assert decision.reply.endswith("As for your other question: " + passage.text)
    assert [c.url for c in decision.citations] == [passage.url]


def test_store_credit_and_a_refund_after_a_return_as_credit():
    conversation = chat()
    assert "don't have any store credit" in conversation.say("what's my store credit balance?").reply
    conversation.say("I'd like to return the lamp from order K-7650 as store credit please")
    conversation.say("yes please")
    assert conversation.executed("return_items"), conversation.memory.actions
    credit = conversation.say("how much store credit do I have now?").reply
    assert "You have €149.00 in store credit on your account" in credit
    refund = conversation.say("did my refund go through?").reply
    assert refund.startswith("Yes — a refund of €149.00 for Arc Floor Lamp (order K-7650) was issued on")
    assert "to store credit on your account" in refund
    assert "5 business days" not in refund, "store credit is on the balance at once: no refund timing"


def test_no_refund_issued_is_said_and_a_person_offered_never_a_return_started():
    conversation = chat()
    decision = conversation.say("did my refund go through?")
    assert conversation.calls == [("get_account", {})]
    assert "I don't see a refund issued on your recent orders yet" in decision.reply
    assert decision.flow.get("name") == "offer_handoff"


def test_an_unverified_sender_is_told_how_to_verify_and_nothing_is_looked_up():
    for text in ("how much is left on my gift card?", "what's my store credit balance?", "show my recent orders"):
        conversation = chat(verified=False)
        reply = conversation.say(text).reply
        assert conversation.calls == [] and engine_account.UNVERIFIED in reply
        assert "€" not in reply and "3ZW9" not in reply and "K-7650" not in reply


def test_what_is_prefetched_is_what_the_engine_asks_for_first():
    engine = DeterministicEngine(SHOP)
    for text in ("how much is left on my gift card ending 3ZW9?", "how did I pay for order K-7650?", "order history"):
        ready = prefetch_turn(text, customer="noor")
        planned = [(c.tool, c.arguments) for c in prefetch.plan(ready)]
        assert planned and planned == [(c.tool, c.arguments) for c in engine.decide(ready).tool_calls], text
    assert prefetch.plan(prefetch_turn("how much is left on my gift card?", verified=False)) == []


# what they bought before -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "I want a couple more of the bulbs I bought last month but can't remember which fitting I got",
        "what fitting were the bulbs I ordered?",
        "Which finish did we go for on the lamp?",
        "did I already buy the filament bulbs before?",
    ],
)
def test_what_they_bought_before_is_read_as_a_question_about_their_orders(text):
    question = asked(text)
    assert question is not None and question.asked is Asked.PURCHASED
    assert (question.tool, question.arguments()) == ("find_orders", {"limit": prefetch.ITEM_SEARCH_LIMIT})


@pytest.mark.parametrize(
    "text",
    [
        "Which finish should I get?",
        "which bulb do I need for the lamp?",
        "what is the lamp I ordered made of?",
        "What should I get next, based on what I bought?",
        "anything that goes with what I ordered last time?",
    ],
)
def test_advice_on_what_to_buy_or_a_question_about_an_item_is_not_what_they_bought(text):
    question = asked(text)
    assert question is None or question.asked is not Asked.PURCHASED


def test_what_they_bought_is_answered_from_their_own_orders_lines_with_the_options_chosen():
    conversation = chat()
    decision = conversation.say("I'd like more of the bulbs I bought but which fitting did I get?")
    assert conversation.calls == [("find_orders", {"limit": prefetch.ITEM_SEARCH_LIMIT})]
    assert "You ordered it more than once" in decision.reply
    assert "2 × Filament Bulb, 2-Pack (E27) in order K-7702" in decision.reply
    assert decision.reply.index("K-7702") < decision.reply.index("K-7650"), "newest first"
    assert decision.notes[-1].topic == "Filament Bulb, 2-Pack (E27)", "what a question pointing back is about"
    assert "K-7711" not in decision.reply, "another customer's order"
    lamp = chat().say("which finish did I get on the lamp?").reply
    assert "You ordered the Arc Floor Lamp (Brass) in order K-7650, placed" in lamp


def test_what_they_never_bought_is_said_with_what_they_did():
    reply = chat().say("what colour was the table runner I ordered?").reply
    assert "I couldn't find that among the items you've ordered." in reply
    assert "K-7702" in reply and "Filament Bulb, 2-Pack (E27)" in reply


def test_what_they_bought_is_prefetched_as_the_engine_asks_and_never_for_an_unverified_sender():
    engine = DeterministicEngine(SHOP)
    ready = prefetch_turn("which finish did I get on the lamp?", customer="noor")
    planned = [(c.tool, c.arguments) for c in prefetch.plan(ready)]
    assert planned == [(c.tool, c.arguments) for c in engine.decide(ready).tool_calls]
    conversation = chat(verified=False)
    assert engine_account.UNVERIFIED in conversation.say("which finish did I get on the lamp?").reply
    assert conversation.calls == []


# gift_cards.json in a store folder --------------------------------------------------------------------------------
@pytest.fixture
def folder(tmp_path: Path) -> Path:
    copy = tmp_path / "store"
    shutil.copytree(REPO / "stores" / "home-kitchen", copy)
    shutil.rmtree(copy / "scenarios")
    return copy


def test_the_sample_stores_gift_cards_are_true_to_their_currency():
    for store, currency in (("home-kitchen", "USD"), ("electronics", "EUR")):
        data = load_store_folder(REPO / "stores" / store).data
        assert data.gift_cards and {c.currency for c in data.gift_cards} == {currency}
        held = {c.customer_id for c in data.gift_cards}
        assert None in held and held - {None} <= {c.id for c in data.customers}


def test_gift_card_problems_name_the_card_by_its_last_four_and_never_echo_a_code(folder: Path):
    cards = json.loads((folder / "gift_cards.json").read_text())
    cards[1]["customer_id"] = "cust_9999"
    cards[2]["code"] = cards[0]["code"].lower().replace("-", " ")
    cards[3]["balance"] = "-5.00"
    cards[4]["expires_at"] = "2020-01-01T00:00:00Z"
    cards[5]["code"] = "AB-12"
    cards.append({"code": "HKGC-Q1Q1-Q1Q1-Q1Q1", "balance": "5.00", "issued_at": "2026-01-01T00:00:00Z", "pin": "1234"})
    (folder / "gift_cards.json").write_text(json.dumps(cards))
    problems = [str(p) for p in check_store_folder(folder)]
    assert problems == [
        "gift_cards.json: gift card ending 91QD: customer_id: names customer 'cust_9999', who is not in customers.json",
        "gift_cards.json: gift card ending 4F2K: code: the same code as item 0 (codes are compared without spaces, "
        "dashes or case); each card's code must be unique",
        "gift_cards.json: gift card ending 19RH: balance: should be greater than or equal to 0 (found '-5.00')",
        "gift_cards.json: gift card ending 55MB: expires_at is not after issued_at (found an object)",
        "gift_cards.json: item 5: code: should have at least 8 characters",
        "gift_cards.json: gift card ending Q1Q1: pin: is not a known field (check its spelling)",
    ]
    text = "\n".join(problems)
    assert not any(c["code"] in text for c in cards if isinstance(c.get("code"), str) and len(c["code"]) > 8)


def test_a_sample_stores_gift_card_dates_move_with_its_snapshot(folder: Path):
    written = load_store_folder(folder).data.gift_cards
    moved = load_store_folder(folder, today=date(2026, 11, 29) + timedelta(days=10)).data.gift_cards
    assert [c.issued_at + timedelta(days=10) for c in written] == [c.issued_at for c in moved]
    assert [c.expires_at + timedelta(days=10) if c.expires_at else None for c in written] == [
        c.expires_at for c in moved
    ]
