"""Order ids as customers write them, whatever shape the merchant's ids have, and never a guess."""

from __future__ import annotations

import pytest

from concierge.engine.deterministic import named_order, parse_address
from concierge.reasoning.orderref import matches_order, order_reference


@pytest.mark.parametrize(
    "text, reference",
    [
        ("where is order NW10002?", "NW10002"),
        ("please cancel #1001", "#1001"),
        ("Please cancel order #1033, I changed my mind.", "#1033"),
        ("my order number 5512 hasn't come", "5512"),
        ("cancel order A-20931", "A-20931"),
        ("where is T/0042?", "T/0042"),
        ("please cancel order T/0043", "T/0043"),
    ],
)
def test_a_reference_is_kept_as_written(text, reference):
    assert order_reference(text) == reference


@pytest.mark.parametrize(
    "text",
    [
        "return the 350ml mug",
        "size 8.5 please",
        "the 2024 model",
        "412 Maple Ave, Evanston IL 60201",
        "Kortrijksesteenweg 1070, 9051 Ghent",
        "I want the 64 GB one",
    ],
)
def test_sizes_years_house_numbers_and_postcodes_are_not_orders(text):
    assert order_reference(text) is None


def test_a_reference_matches_the_same_letters_and_digits_or_the_same_digits():
    assert matches_order("1001", "#1001") and matches_order("a20931", "A-20931") and matches_order("20931", "A-20931")
    assert matches_order("t0043", "T/0043")
    assert not matches_order("1002", "#1001") and not matches_order("001", "#1001")


def test_a_reference_that_could_be_two_of_the_customers_orders_names_neither():
    orders = [{"order_id": "#1001"}, {"order_id": "B-1001"}, {"order_id": "#1002"}]
    assert named_order("cancel 1001 please, order 1001", orders) == ("1001", None)
    assert named_order("cancel order #1002", orders) == ("#1002", {"order_id": "#1002"})
    assert named_order("cancel order #9999", orders) == ("#9999", None)


@pytest.mark.parametrize(
    "text, address",
    [
        (
            "I just moved, can you send my grinder order to my new place? 412 Maple Ave, Evanston IL 60201",
            {"line1": "412 Maple Ave", "city": "Evanston IL", "postcode": "60201"},
        ),
        (
            "deliver it to my office instead? Kortrijksesteenweg 1070, 9051 Ghent",
            {"line1": "Kortrijksesteenweg 1070", "city": "Ghent", "postcode": "9051"},
        ),
        (
            "change the address of #1032 to 12 High St, Leeds LS1 4AB",
            {"line1": "12 High St", "city": "Leeds", "postcode": "LS1 4AB"},
        ),
        # a name line first, an apartment after the street, the state in a part of its own, the country last
        (
            "please ship it to my new place instead: Dana Ruiz, 2250 N Clybourn Ave, Apt 5B, Chicago, IL 60614, US. Thanks",
            {"line1": "2250 N Clybourn Ave, Apt 5B", "city": "Chicago IL", "postcode": "60614"},
        ),
        (
            "send it to Keizersgracht 12, 1015 CX Amsterdam",
            {"line1": "Keizersgracht 12", "city": "Amsterdam", "postcode": "1015 CX"},
        ),
        ("deliver to Hauptstrasse 5, 10115 Berlin", {"line1": "Hauptstrasse 5", "city": "Berlin", "postcode": "10115"}),
    ],
)
def test_a_new_address_is_read_from_the_customers_words(text, address):
    assert parse_address(text) == address


def test_words_that_are_no_address_ask_for_one():
    assert parse_address("can you change the address of my order?") is None
