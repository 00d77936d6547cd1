"""Which item a customer of any shop means, found on the sample stores' writer sets (2026-12-03): two items named as
one list, the other one of an item refused where its money is wanted, an item left on an order, and a size named by
its number after a size word.

The shops here are made up (the small homeware and tech shop of test_understanding_amounts_shades_and_orders.py and
the coffee shop of test_engine_other_shops.py): none of the sample stores' data."""

from __future__ import annotations

import pytest

from concierge.reasoning import signals
from concierge.reasoning.understanding import Intent, read, said_kept, without_refused
from tests.unit.test_engine_other_shops import ORDERS as COFFEE_ORDERS
from tests.unit.test_engine_other_shops import PENDING, Chat
from tests.unit.test_understanding_amounts_shades_and_orders import PRODUCTS, line, order

TECH = [
    order("T-1080", "pending", line(1, "jug", {"size": "900 ml"}), line(2, "napkins", {"colour": "Oat"})),
    order("T-1077", "shipped", line(1, "bank", {"capacity": "10,000 mAh"}), line(2, "cable", {"length": "1 m"})),
    order("T-1070", "delivered", line(1, "earbuds", {"colour": "Black"})),
    order("T-1061", "delivered", line(1, "jug", {"size": "1.2 L"})),
]


@pytest.mark.parametrize(
    "text",
    [
        "where are my power bank + cable? need them for a flight",
        "yo my power bank n cable order still says shipped, when's it coming",
        "Any news on the power bank and the charging cable I ordered last week?",
        "I want to return the power bank and the cable from T-1077.",
    ],
)
def test_two_items_named_as_one_list_are_no_one_item(text):
    reading = read(text, TECH, PRODUCTS)
    assert reading.intent in (Intent.TRACK, Intent.RETURN)
    assert reading.item is None


@pytest.mark.parametrize(
    ("text", "item"),
    [
        ("where is my power bank? need it for a flight", "bank"),
        # a request and its reason are no list
        ("I want to return the power bank and I'd like the money back on my card", "bank"),
    ],
)
def test_one_item_named_is_still_the_item(text, item):
    assert read(text, TECH, PRODUCTS).item == item


def test_the_other_one_refused_where_the_money_is_wanted_is_still_the_item():
    text = "No replacement for the earbuds please, I'd rather just have the €129 back on my card."
    assert signals.MONEY_BACK.search(text)
    reading = read(text, TECH, PRODUCTS)
    assert (reading.intent, reading.item) == (Intent.RETURN, "earbuds")
    # the item itself taken back is not ("No need to return the earbuds any more. Where is my power bank?")
    assert read("No need to return the earbuds any more. Where is my power bank?", TECH, PRODUCTS).item == "bank"


def test_the_other_one_refused_where_the_money_is_wanted_starts_that_items_return():
    reply = Chat(PENDING + COFFEE_ORDERS).say(
        "No replacement for the grinder please, I'd rather just have the $89 back on my card."
    )
    assert "Hand Burr Grinder" in reply.reply and "#501" in reply.reply
    assert "Which item" not in reply.reply


def test_an_item_left_on_the_order_is_kept_not_taken_off():
    text = (
        "Scratch my earlier message: leave the napkins ON the order, my sister has claimed them for her flat. "
        "It's the little jug I don't need anymore."
    )
    assert said_kept(text) == "leave the napkins ON the order"
    reading = read(text, TECH, PRODUCTS)
    assert (reading.intent, reading.item) == (Intent.REMOVE_ITEM, "jug")
    # left off, or somewhere, is not kept
    assert said_kept("please leave the napkins off the order, I don't need them") == ""
    assert said_kept("leave the parcel at the door") == ""
    assert said_kept("leave the napkins on the order and take the jug off") == "leave the napkins on the order"
    assert read("please leave the napkins off the order, I don't need them", TECH, PRODUCTS).item == "napkins"


def test_a_size_named_by_its_number_after_a_size_word_is_the_variant_wanted():
    text = "Just noticed the jug on T-1080 is the 900 ml one. I meant to get the big 1.8s like my old one."
    reading = read(text, TECH, PRODUCTS)
    assert (reading.intent, reading.item, reading.variant) == (Intent.EXCHANGE, "jug", {"size": "1.8 L"})


def test_what_can_still_ship_is_kept_not_taken_off():
    text = "I'd like the jug taken off T-1080 please; the napkins can still ship."
    assert said_kept(text) == "the napkins can still ship"
    reading = read(text, TECH, PRODUCTS)
    assert (reading.intent, reading.item) == (Intent.REMOVE_ITEM, "jug")


def test_what_is_said_not_to_be_the_trouble_is_not_the_item():
    text = "The napkins aren't the problem, it's the jug. It has a chip on the spout and I want it replaced."
    assert "napkins" not in without_refused(text)
    assert read(text, TECH, PRODUCTS).item == "jug"
    assert "jug" in without_refused("the jug is not great, it chipped")


def test_a_size_written_in_thousands_names_the_variant():
    text = "can you swap the power bank on T-1077 for the big 5k one? this one's too heavy"
    orders = [order("T-1077", "delivered", line(1, "bank", {"capacity": "10,000 mAh"}))]
    assert read(text, orders, PRODUCTS).variant == {"capacity": "5,000 mAh"}


def test_an_order_number_at_the_end_of_a_sentence_is_read():
    text = "forget cancelling 1080. just take the napkins off it"
    orders = [order("1080", "pending", line(1, "jug", {"size": "900 ml"}), line(2, "napkins", {"colour": "Oat"}))]
    reading = read(text, orders, PRODUCTS)
    assert (reading.order_id, reading.item) == ("1080", "napkins")
    # a number with decimals is no order number
    assert read("is the 1080.5 ml jug still sold?", orders, PRODUCTS).order_id is None


def test_the_one_item_of_an_order_cancelled_by_its_number_is_the_item():
    orders = [order("T-2093", "pending", line(1, "drive", {"capacity": "1.5 TB"}))]
    reading = read("Please cancel order T-2093.", orders, PRODUCTS)
    assert (reading.intent, reading.order_id, reading.item) == (Intent.CANCEL, "T-2093", "drive")


@pytest.mark.parametrize(("text", "size"), [("exchnge the jug for the biger one pls", "1.2 L")])
def test_bigger_typed_with_one_g_is_bigger(text, size):
    orders = [order("T-1061", "delivered", line(1, "jug", {"size": "900 ml"}))]
    assert read(text, orders, PRODUCTS).variant == {"size": size}


def test_the_item_of_a_request_taken_back_is_the_one_the_next_request_means():
    tablet = [
        order("T-1090", "pending", line(1, "drive", {"capacity": "1.5 TB"})),
        order("T-1089", "delivered", line(1, "watch", {"colour": "Black"})),
    ]
    # "let's" is no tail of a word ("Outlet"), and a thing named only in why they ask ("my handbag") is not theirs
    text = "I was about to cancel the drive, but let's not. Could you change it to the 3 TB instead of the 1.5?"
    assert read(text, tablet, PRODUCTS).item == "drive"
    text = (
        "I was going to cancel the drive order completely, but I don't think I need to. Could you just make it the "
        "smaller one? From what I've read the big one is way too heavy for my handbag."
    )
    reading = read(text, tablet, PRODUCTS)
    assert (reading.item, reading.variant) == ("drive", {"capacity": "750 GB"})


def test_an_item_named_by_another_items_order_is_not_read_inside_a_phrase_of_its_own():
    orders = [order("1018", "delivered", line(1, "jug", {"size": "900 ml"}), line(2, "napkins", {"colour": "Oat"}))]
    # "on the jug from order 1018" names the jug, not an item that came with it
    text = "I hate the look of the glass on the jug from order 1018. I want to exchange it for the 1.2 L one."
    assert read(text, orders, PRODUCTS).item == "jug"
    # "the napkins off my jug order": the item beside the one the order is named by
    assert read("can you take the napkins off my jug order?", [{**orders[0], "status": "pending"}], PRODUCTS).item == (
        "napkins"
    )
