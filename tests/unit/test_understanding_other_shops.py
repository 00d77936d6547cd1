"""Reading first messages for made-up shops of other verticals than the sample stores: order numbers as customers
shorten them, the variant wanted said by a name without its brackets, by a word only one value has, by "more" or
"thinner", and the item meant when a request is taken back or one item of an order is cancelled. What a customer
would notice if it went wrong: the wrong order looked up, the wrong variant offered, the whole order cancelled."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from concierge.reasoning.orderref import matches_order
from concierge.reasoning.understanding import acting_intent, read, requested_variant


def product(pid: str, title: str, options: dict[str, list[str]], description: str = "") -> dict[str, Any]:
    names = list(options)
    variants = [
        {"sku": "-".join([pid, *values]), "options": dict(zip(names, values, strict=True)), "stock": 5}
        for values in itertools.product(*(options[n] for n in names))
    ]
    return {"id": pid, "title": title, "category": "", "description": description, "variants": variants}


def order(order_id: str, status: str, *lines: tuple[dict[str, Any], dict[str, str]]) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "status": status,
        "lines": [
            {"line_id": str(n), "product_id": p["id"], "title": p["title"], "options": options, "quantity": 1}
            for n, (p, options) in enumerate(lines, start=1)
        ],
    }


def wanted(p: dict[str, Any], options: dict[str, str], text: str) -> dict[str, str] | None:
    asked, unavailable = requested_variant(p, options, text)
    chosen = asked or unavailable
    return None if chosen is None else {k: v for k, v in chosen["options"].items() if options.get(k) != v}


MOWER = product("mower", "Lawn Mower", {"cutting width": ["32 cm", "40 cm"]})
GAUNTLETS = product("gauntlets", "Rose Pruning Gauntlets", {"size": ["S", "M", "L"]})
KETTLE = product("kettle", "Gooseneck Kettle", {"finish": ["Matte Black", "Brushed Steel"]})
TOASTER = product("toaster", "Four-Slice Toaster", {})
CATALOGUE = {p["id"]: p for p in (MOWER, GAUNTLETS, KETTLE, TOASTER)}


def test_an_order_number_said_without_its_padding_zeros_is_theirs():
    orders = [order("Z0007731", "shipped", (KETTLE, {"finish": "Matte Black"}))]
    assert matches_order("7731", "Z0007731")
    assert not matches_order("7732", "Z0007731")
    reading = read("has order 7731 left the warehouse?", orders, CATALOGUE)
    assert reading.order_id == "Z0007731"
    assert read("can I cancel 7731? found one cheaper", orders, CATALOGUE).order_id == "Z0007731"


def test_a_bare_number_shaped_like_their_order_numbers_is_an_order_number_though_not_theirs():
    orders = [
        order("884120", "shipped", (KETTLE, {"finish": "Matte Black"})),
        order("884002", "delivered", (TOASTER, {})),
    ]
    reading = read("has 884555 shipped yet?", orders, CATALOGUE)
    assert reading.order_reference == "884555"
    assert reading.order_id is None
    # a number of another shape is a quantity or a price, not an order
    assert read("where is my kettle? I paid 4599 for it", orders, CATALOGUE).order_reference is None


def test_a_value_is_named_by_its_name_without_what_it_says_in_brackets():
    bed = product("bed", "Slatted Bed Frame", {"bed size": ["Twin (90 x 190 cm)", "Queen (160 x 200 cm)"]})
    assert wanted(bed, {"bed size": "Twin (90 x 190 cm)"}, "could I have the queen bed instead?") == {
        "bed size": "Queen (160 x 200 cm)"
    }
    bear = product("bear", "Plush Bear", {"size": ["Small (20 cm)", "Large (40 cm)", "Jumbo (90 cm)"]})
    assert wanted(bear, {"size": "Large (40 cm)"}, "keep it, just make it the small one") == {"size": "Small (20 cm)"}


def test_a_word_only_one_value_has_names_it_and_a_word_all_share_names_none():
    poster = product("poster", "Art Print", {"picture": ["Coastal Cliffs", "Forest Path"]})
    assert wanted(poster, {"picture": "Forest Path"}, "could it be the cliffs picture instead?") == {
        "picture": "Coastal Cliffs"
    }
    shelf = product("shelf", "Wall Shelf", {"finish": ["Natural Oak", "Smoked Oak"]})
    assert wanted(shelf, {"finish": "Natural Oak"}, "is the oak one sturdy?") is None


def test_more_or_fewer_of_what_the_values_count_is_the_next_value():
    crayons = product("crayons", "Wax Crayons", {"count": ["12 crayons", "24 crayons", "48 crayons"]})
    assert wanted(crayons, {"count": "24 crayons"}, "the box with more crayons please") == {"count": "48 crayons"}
    assert wanted(crayons, {"count": "24 crayons"}, "one with fewer crayons would do") == {"count": "12 crayons"}
    assert wanted(crayons, {"count": "24 crayons"}, "I don't need any more help, thanks") is None


def test_one_way_said_of_two_measures_changes_the_one_it_names():
    rope = product("rope", "Climbing Rope", {"length": ["10 m", "20 m"], "thickness": ["8 mm", "12 mm"]})
    assert wanted(rope, {"length": "20 m", "thickness": "12 mm"}, "the thinner rope please") == {"thickness": "8 mm"}
    assert wanted(rope, {"length": "10 m", "thickness": "8 mm"}, "a bigger rope please, 10 metres is nothing") == {
        "length": "20 m"
    }


def test_the_middle_size_said_anywhere_is_the_middle_of_three():
    rug = product("rug", "Jute Rug", {"size": ["60 x 90 cm", "120 x 170 cm", "200 x 290 cm"]})
    assert wanted(rug, {"size": "60 x 90 cm"}, "it's a bit small, can we have the middle size") == {
        "size": "120 x 170 cm"
    }


def test_the_item_of_a_request_taken_back_is_not_meant_when_the_rest_names_another():
    orders = [
        order("G-1002", "pending", (GAUNTLETS, {"size": "M"})),
        order("G-0981", "delivered", (MOWER, {"cutting width": "40 cm"})),
    ]
    text = "Never mind returning the mower, I'll keep it. Could you change the gloves to L though?"
    reading = read(text, orders, CATALOGUE)
    assert reading.item == "gauntlets"
    assert reading.variant == {"size": "L"}
    # a variant said after the request taken back is the variant of the item taken back
    text = "I don't want a refund for the mower, I'd like the 32 cm one instead"
    assert read(text, orders, CATALOGUE).item == "mower"


def test_two_words_of_a_title_written_as_one_name_the_item():
    orders = [order("G-0981", "delivered", (MOWER, {"cutting width": "40 cm"}), (GAUNTLETS, {"size": "M"}))]
    assert read("my lawnmower won't start, I want a refund", orders, CATALOGUE).item == "mower"


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("Please cancel the kettle but keep the toaster", "remove_item"),
        ("Cancel the whole order - no, sorry, just the kettle.", "remove_item"),
        ("cancel the kettle, the rest can still come", "remove_item"),
        ("Please cancel the kettle", "cancel"),
    ],
)
def test_cancelling_one_item_of_an_order_whose_rest_is_to_come_takes_it_off(text, intent):
    orders = [order("K-310", "pending", (KETTLE, {"finish": "Matte Black"}), (TOASTER, {}))]
    reading = read(text, orders, CATALOGUE)
    assert reading.intent.value == intent
    assert reading.item == "kettle"


def test_cancelling_the_one_item_of_an_order_cancels_the_order():
    orders = [order("K-311", "pending", (KETTLE, {"finish": "Matte Black"}))]
    assert (
        read("Please cancel the kettle, just the kettle, I found one cheaper", orders, CATALOGUE).intent.value
        == "cancel"
    )


@pytest.mark.parametrize(
    ("text", "reading", "acted"),
    [
        ("ok so how do I actually place that order", "cancel", "question"),
        ("how can we put in a bulk order for the cafe?", "return", "question"),
        ("how do I cancel the order I placed yesterday?", "cancel", "cancel"),
        ("how do I place an order? and where is my kettle", "track", "track"),
    ],
)
def test_asking_how_to_place_an_order_is_a_question_never_a_request_about_theirs(text, reading, acted):
    assert acting_intent(text, reading).value == acted
