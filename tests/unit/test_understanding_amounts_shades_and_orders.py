"""Reading what customers of any shop mean, found by a fresh labelled set on the sample stores written by four new
writers (2026-12-03) and fixed for any shop: amounts in other units, the ends of a range, a plain one of a pattern,
the darkest or the lightest, an item by the last part of its name, what they still want, what they do not mean,
the order an item is in, a question asked about a thing, and an item not yet sent that they no longer want.

The shops here are made up in the test (a hardware shop, a homeware shop): none of the sample stores' data."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from concierge.reasoning import signals
from concierge.reasoning.understanding import Intent, read, variant_wanted
from tests.unit.test_engine_other_shops import PENDING, Chat


def product(pid: str, title: str, options: dict[str, list[str]], out: list[dict[str, str]] = ()) -> dict[str, Any]:
    names = list(options)
    variants = []
    for values in itertools.product(*(options[n] for n in names)):
        chosen = dict(zip(names, values, strict=True))
        variants.append({"sku": "-".join([pid, *values]), "options": chosen, "stock": 0 if chosen in out else 5})
    return {"id": pid, "title": title, "category": "", "description": "", "variants": variants}


PRODUCTS = {
    p["id"]: p
    for p in [
        product("drive", "Rugged External Drive", {"capacity": ["750 GB", "1.5 TB", "3 TB"]}),
        product("jug", "Glass Water Jug", {"size": ["900 ml", "1.2 L", "1.8 L"]}),
        product("napkins", "Cotton Napkins, Set of 6", {"colour": ["Indigo Check", "Oat"]}),
        product("board", "Serving Board", {"wood": ["Ash", "Walnut"]}),
        product("lamp", "Arc Floor Lamp", {"colour": ["Ivory", "Black", "Brick Red"]}),
        product("watch", "Pulse Smartwatch", {"colour": ["Black", "Silver"]}),
        product("cable", "Braided Charging Cable", {"length": ["1 m", "2 m"]}),
        product("hub", "Desk Dock", {}),
        product("bank", "Power Bank", {"capacity": ["5,000 mAh", "10,000 mAh"]}),
        product("stand", "Phone Stand", {}),
        product("mouse", "Travel Mouse", {"colour": ["Grey"]}),
        product("tray", "Oak Tray", {}),
        product("caddy", "Tea Caddy", {}),
        product("orbit", "Orbit Smartwatch S2", {"colour": ["Black", "Silver"]}),
        product("earbuds", "Pulse Earbuds", {"colour": ["Black", "Blue"]}),
        product("phones", "Aura Headphones", {"colour": ["Midnight Black", "Sand"]}),
        product("lead", "Braided Charging Cable 2 m", {"connector": ["USB-C", "Lightning"]}),
    ]
}


def line(n: int, pid: str, options: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "line_id": str(n),
        "product_id": pid,
        "title": PRODUCTS[pid]["title"],
        "options": options or {},
        "quantity": 1,
    }


def order(order_id: str, status: str, *lines: dict[str, Any]) -> dict[str, Any]:
    return {"order_id": order_id, "status": status, "lines": list(lines)}


def wanted(pid: str, options: dict[str, str], text: str) -> dict[str, str] | None:
    return variant_wanted(PRODUCTS[pid], options, text)


@pytest.mark.parametrize(
    ("pid", "options", "text", "expected"),
    [
        # amounts in two units are in one order: the 750 GB is the smallest, not the largest by its number
        (
            "drive",
            {"capacity": "750 GB"},
            "could I change it for the biggest one? happy to pay more",
            {"capacity": "3 TB"},
        ),
        ("drive", {"capacity": "3 TB"}, "can you send the smallest one instead of the 3 TB?", {"capacity": "750 GB"}),
        ("jug", {"size": "1.8 L"}, "too big for my fridge door, the next size down please", {"size": "1.2 L"}),
        # a plain one of what they have in a pattern
        (
            "napkins",
            {"colour": "Indigo Check"},
            "they clash with everything, plain ones would have been better",
            {"colour": "Oat"},
        ),
        # the lighter wood; the dark one, said without a comparative
        ("board", {"wood": "Walnut"}, "could I have it in the lighter wood instead of the dark one?", {"wood": "Ash"}),
        (
            "lamp",
            {"colour": "Ivory"},
            "it already looks grubby, could I get the dark one instead?",
            {"colour": "Black"},
        ),
        # off-white is a cream, not a white
        ("lamp", {"colour": "Brick Red"}, "could it come in the off-white instead of red?", {"colour": "Ivory"}),
        # "taller than I pictured" says which way only with what it is said of: not the bigger one
        (
            "jug",
            {"size": "1.2 L"},
            "much taller than I pictured, the smaller ones would be perfect",
            {"size": "900 ml"},
        ),
    ],
)
def test_the_variant_they_want(pid, options, text, expected):
    assert wanted(pid, options, text) == expected


def test_a_bigger_thing_of_theirs_than_they_thought_is_no_smaller_one_wanted():
    assert wanted("jug", {"size": "1.2 L"}, "our family is bigger than I thought, the next size up please") == {
        "size": "1.8 L"
    }


ORDERS = [
    order("HW-310", "pending", line(1, "bank", {"capacity": "10,000 mAh"}), line(2, "cable", {"length": "1 m"})),
    order("HW-305", "shipped", line(1, "watch", {"colour": "Black"})),
    order("HW-301", "delivered", line(1, "hub"), line(2, "cable", {"length": "1 m"}), line(3, "stand")),
]


GADGETS = [
    order("HW-305", "shipped", line(1, "orbit", {"colour": "Black"})),
    order("HW-290", "delivered", line(1, "lead", {"connector": "USB-C"})),
    order(
        "HW-280", "delivered", line(1, "phones", {"colour": "Midnight Black"}), line(2, "earbuds", {"colour": "Black"})
    ),
]


@pytest.mark.parametrize(
    ("orders", "text", "item"),
    [
        # what they still want is not the item of the request
        (ORDERS, "Hello, please remove the power bank from order HW-310. I still want the cable.", "bank"),
        # what they say they do not mean, when the rest names one of theirs
        (
            ORDERS,
            "Not the power bank, that one's fine \u2014 it's the cable from the same order I want to return. It "
            "stopped charging anything after about a month.",
            "cable",
        ),
        # the order named by another item of it
        (
            ORDERS,
            "The 1 m cord from my desk dock order doesn't reach the socket. Can I swap it for the long one?",
            "cable",
        ),
        # the last part of a word made of two: the watch of a Smartwatch, the buds of Earbuds
        (GADGETS[:1], "cancel 305 pls, found the watch way cheaper somewhere else", "orbit"),
        (
            GADGETS[2:],
            "The earbuds are great but I've nearly lost them twice. Black case, black buds. My sister has them in "
            "blue, wish I'd picked that colour",
            "earbuds",
        ),
        # a number of days is no item's number (the "2 m" of a cable's name)
        (GADGETS[:2], "any news on my smartwach? the trackng hasnt moved in 2 days", "orbit"),
    ],
)
def test_the_item_they_mean(orders, text, item):
    assert read(text, orders, PRODUCTS).item == item


def test_a_cancellation_naming_every_item_of_the_order_is_about_the_order():
    reading = read("Please cancel my order HW-310 with the power bank and the cable. Thanks", ORDERS, PRODUCTS)
    assert (reading.intent, reading.order_id, reading.item) == (Intent.CANCEL, "HW-310", None)


def test_two_requests_after_a_comma_name_an_item_each_and_no_one_item():
    reading = read("Could you tell me where my watch is, and take the power bank off HW-310?", ORDERS, PRODUCTS)
    assert {Intent.TRACK, Intent.REMOVE_ITEM} <= set(reading.intents)
    assert reading.item is None


@pytest.mark.parametrize(
    "text",
    [
        "Is that colour back in stock yet?",
        "Also, does the refund go back on my card or as store credit?",
        "And will the lamp ever come back in the brick red?",
        "will it work with my Android phone straight out of the box?",
    ],
)
def test_a_question_asked_about_a_thing_is_a_question(text):
    assert signals.understood(text)[0] == "question"


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("is it possible to swap it for the blue one?", "exchange"),
        ("Is there any way to swap the lamp for the black one?", "exchange"),
        ("can I return it?", "return"),
    ],
)
def test_a_request_asked_as_a_question_is_still_the_request(text, intent):
    assert signals.understood(text)[0] == intent


def test_a_second_question_about_the_refund_is_answered_not_read_as_a_return():
    reading = read("Please cancel order HW-310. Also, does the refund go to my card?", ORDERS, PRODUCTS)
    assert reading.intents == [Intent.CANCEL, Intent.QUESTION]


UNSENT = [
    order("HW-320", "pending", line(1, "tray")),
    order("HW-318", "pending", line(1, "caddy"), line(2, "mouse", {"colour": "Grey"})),
    order("HW-200", "delivered", line(1, "tray")),
]


@pytest.mark.parametrize(
    ("text", "intent", "item"),
    [
        ("hey! scrap the tea caddy, turns out my partner already bought one lol", Intent.REMOVE_ITEM, "caddy"),
        # of two of the item, the one not yet sent when they hope to catch it before it ships
        ("Ordered another oak tray in the rush, hoping I caught it before it ships", Intent.CANCEL, "tray"),
    ],
)
def test_an_item_not_yet_sent_that_they_do_not_want_sent_is_cancelled(text, intent, item):
    reading = read(text, UNSENT, PRODUCTS)
    assert (reading.intent, reading.item) == (intent, item)


def test_the_engine_offers_to_cancel_an_unsent_item_they_no_longer_want():
    """Of an order not yet shipped, "scrap the kettle" is a cancellation, proposed (nothing is done before a yes),
    not "it can't be returned yet, shall I check where it is?"."""
    for text in (
        "hey! scrap the kettle, turns out my partner already bought one lol. sorry!",
        "Ordered the kettle in the rush and found one in the cupboard, hoping I caught it before it ships",
    ):
        reply = Chat(PENDING).say(text).reply
        assert "hasn't shipped yet, so I can cancel it" in reply, reply
        assert "can't be returned yet" not in reply


def test_the_engine_still_returns_the_delivered_one_they_only_say_they_do_not_need():
    from tests.unit.test_engine_other_shops import ORDERS as DELIVERED

    reply = Chat(PENDING + DELIVERED).say("I want to send back the mug, I don't need it").reply
    assert "#500" in reply and "return" in reply, reply


def test_the_engine_takes_off_the_item_not_kept_when_the_other_is_named_only_as_kept():
    """ "Take the two small things off, I still want the grinder", of an order of a grinder and a mug: the mug. The
    engine took the grinder off before (the only item its words named)."""
    reply = (
        Chat(PENDING)
        .say("Please take the two small things off the order I placed yesterday, I still want the grinder though!")
        .reply
    )
    assert "take the Stoneware Mug (Slate) off order #504" in reply, reply


def test_the_light_wood_and_a_city_moved_to_name_the_variant():
    assert wanted("board", {"wood": "Walnut"}, "could I have it in the light wood?") == {"wood": "Ash"}
    charger = product("charger", "Travel Charger", {"plug": ["EU", "UK"]})
    assert variant_wanted(charger, {"plug": "UK"}, "I live in Ghent now, I need one that works here") == {"plug": "EU"}


def test_an_item_ordered_along_with_another_is_not_that_other():
    text = "The cord I ordered along with the desk dock is too short to reach my desk. I'd like a refund."
    assert read(text, ORDERS, PRODUCTS).item == "cable"


def test_a_return_of_an_unsent_item_they_do_not_need_is_a_cancellation():
    reading = read("I'd like to return the tea caddy, I don't need it", UNSENT, PRODUCTS)
    assert (reading.intent, reading.item) == (Intent.REMOVE_ITEM, "caddy")
    reply = Chat(PENDING).say("I want to send back the kettle, I don't need it anymore").reply
    assert "hasn't shipped yet, so I can cancel it" in reply, reply
