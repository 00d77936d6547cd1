"""Reading a first message against the customer's own data (concierge.reasoning.understanding), and the labelled set that
measures it (evaluation/understanding/messages.jsonl, `concierge understanding`)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from concierge.reasoning import signals
from concierge.reasoning.understanding import Intent, intents, one_typo_apart, read
from concierge.reasoning.understanding_eval import SET, StoreContext, load

ROOT = Path(__file__).resolve().parents[2]
# The held-out figures when the set was written (intent 0.58, entity 0.57), after the rules fitted to the tuning
# half (0.69, 0.63), and with the trained intent model and items matched by meaning (0.82, 0.80): the floor is a
# little under the last, so a change that loses understanding fails here.


@pytest.fixture(scope="module")
def kitchen():
    return StoreContext(ROOT / "stores" / "home-kitchen")


@pytest.fixture(scope="module")
def electronics():
    return StoreContext(ROOT / "stores" / "electronics")


def mine(context: StoreContext, customer: str) -> list[dict]:
    return context.orders[customer]


def test_the_labelled_set_is_large_split_by_hash_and_names_real_things():
    messages = load(ROOT / SET)
    assert len(messages) >= 300
    for m in messages:
        expected = "tune" if int(hashlib.sha256(m.id.encode()).hexdigest(), 16) % 2 == 0 else "heldout"
        assert m.split == expected, f"{m.id} was moved to the other half"
    stores = {
        name: json.loads((ROOT / "stores" / name / "orders.json").read_text()) for name in {m.store for m in messages}
    }
    products = {
        name: {p["id"]: p for p in json.loads((ROOT / "stores" / name / "products.json").read_text())}
        for name in stores
    }
    for m in messages:
        orders = [o for o in stores[m.store] if o["customer_id"] == m.customer]
        assert orders, f"{m.id}: {m.customer} has no orders in {m.store}"
        if m.order and not m.order.startswith("!"):
            assert m.order in {o["id"] for o in orders}, f"{m.id}: {m.order} is not {m.customer}'s"
        if m.item:
            assert m.item in {line["product_id"] for o in orders for line in o["lines"]}, f"{m.id}: {m.item}"
        if m.variant:
            values = {
                (k, v) for variant in products[m.store][m.item]["variants"] for k, v in variant["options"].items()
            }
            assert set(m.variant.items()) <= values, f"{m.id}: {m.variant}"


def test_a_request_taken_back_is_not_what_is_asked(kitchen):
    text = "don't cancel the order, I just need it delivered to my new flat: 2200 Hennepin Ave, Minneapolis MN 55405"
    assert read(text, [], {}).intent is Intent.ADDRESS
    assert signals.classify("Not a refund, I just want the mugs in slate instead of oat.")[0] == "exchange"
    assert signals.classify("I was going to cancel my order but I'll keep it after all.")[0] == "unknown"


def test_a_question_about_orders_in_general_is_about_the_policy():
    assert signals.classify("Can you cancel an order if you paid with Klarna?")[0] == "question"
    assert signals.classify("can you change the delivery address once an order has shipped?")[0] == "question"
    assert signals.classify("Can you cancel order #1033?")[0] == "cancel"


def test_a_fault_with_a_replacement_asked_for_is_an_exchange_and_without_one_a_return():
    assert signals.classify("The cable stopped working after a month. Could you send me a new one?")[0] == "exchange"
    assert signals.classify("The cable stopped working after a month.")[0] == "return"


def test_each_sentence_is_read_and_a_person_asked_for_outranks_the_rest():
    text = "Tablet order A-20915 was due on the 25th, still nothing. Also cancel the keyboard order please."
    assert {Intent.TRACK, Intent.CANCEL} <= set(intents(text))
    assert signals.classify("My order is late. I want to talk to a person.")[0] == "human"


def test_a_word_is_not_corrected_into_a_longer_one():
    assert "cheers" not in signals.normalize("hers arrived on Monday")
    assert signals.classify("My sister's arrived on Monday and hers was fine")[0] != "thanks"


def test_item_words_with_one_typo_still_name_the_item(kitchen):
    assert one_typo_apart("kettel", "kettle") and one_typo_apart("keybord", "keyboard")
    assert not one_typo_apart("kettle", "kettle") and not one_typo_apart("grinder", "ground")
    customer = next(
        c
        for c, orders in kitchen.orders.items()
        if any(line["product_id"] == "gooseneck-kettle" for o in orders for line in o["lines"])
    )
    assert (
        read("wheres my kettel?? orderd it ages ago", mine(kitchen, customer), kitchen.products).item
        == "gooseneck-kettle"
    )


def test_an_order_number_that_is_not_theirs_resolves_to_none_of_their_orders(electronics):
    customer = next(iter(electronics.orders))
    reading = read("cancel order A-99999 please", mine(electronics, customer), electronics.products)
    assert reading.order_reference == "A-99999" and reading.order_id is None and reading.item is None


def test_the_variant_wanted_instead_is_read_from_the_catalogue(kitchen):
    customer, line = next(
        (c, line)
        for c, orders in kitchen.orders.items()
        for o in orders
        for line in o["lines"]
        if line["product_id"] == "dutch-oven" and o["status"] == "delivered"
    )
    other = next(v["options"] for v in kitchen.products["dutch-oven"]["variants"] if v["options"] != line["options"])
    changed = {k: v for k, v in other.items() if line["options"].get(k) != v}
    wanted = " ".join(changed.values())
    reading = read(f"Can I exchange my dutch oven for the {wanted} one?", mine(kitchen, customer), kitchen.products)
    assert reading.intent is Intent.EXCHANGE and reading.item == "dutch-oven" and reading.variant == changed


def test_the_bigger_one_is_the_next_amount_up_of_the_option(kitchen):
    from concierge.reasoning.understanding import requested_variant

    product = kitchen.products["dutch-oven"]
    amounts = sorted({v["options"]["capacity"] for v in product["variants"]}, key=lambda value: float(value.split()[0]))
    smallest = next(v["options"] for v in product["variants"] if v["options"]["capacity"] == amounts[0])
    asked, unavailable = requested_variant(product, smallest, "it's too small, I wish I'd gone for the bigger one")
    assert (asked or unavailable)["options"]["capacity"] == amounts[1]
    assert requested_variant(product, smallest, "it's lovely, thanks") == (None, None)
