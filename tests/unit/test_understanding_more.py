"""Reading what a customer wants, said in more of the ways customers say it, on a made-up shop of its own (a hobby
and home shop nobody tuned on): the variant wanted said relatively, abbreviated, misspelt or by a shade; the item
named indirectly; several requests, and requests taken back. What a customer would notice: the reply about the
wrong item or the wrong size."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from concierge.reasoning.understanding import read, requested_variant


def product(pid: str, title: str, description: str = "", **options: list[str]) -> dict[str, Any]:
    """A product with every combination of its options as a variant in stock (an option's name is written with
    underscores for spaces: pack_size is "pack size")."""
    names = [n.replace("_", " ") for n in options]
    variants = [
        {"sku": "-".join([pid, *values]), "options": dict(zip(names, values, strict=True)), "stock": 3}
        for values in itertools.product(*options.values())
    ]
    return {"id": pid, "title": title, "description": description, "variants": variants}


SHOP = {
    p["id"]: p
    for p in [
        product(
            "cushion",
            "Velvet Floor Cushion",
            "A big squashy floor pillow for reading corners.",
            size=["Small", "Medium", "Large", "X-Large"],
            colour=["Mustard", "Charcoal", "Ivory"],
        ),
        product("seed", "Wildflower Seed Mix", "Native meadow seeds for bees.", pack_size=["100 g", "250 g", "500 g"]),
        product(
            "brush", "Sable Paint Brush", "A round watercolour brush.", tip=["Extra Fine", "Fine", "Medium", "Wide"]
        ),
        product("sketchbook", "Sketchbook", "A stitched sketchbook.", paper=["Plain", "Dot Grid"], size=["A5", "A4"]),
        product("labels", "Jar Labels", "Round kraft labels.", pack_size=["Pack of 20", "Pack of 40"]),
        product("saddle", "Commuter Saddle", "A padded saddle.", width=["S (130 mm)", "M (143 mm)", "L (155 mm)"]),
        product("paints", "Watercolour Paint Set", "Twelve pans of artist watercolour.", set=["12 pans", "24 pans"]),
        product("easel", "Beech Table Easel", "A folding tabletop easel."),
        product("ink", "Dip Pen Ink, 30 ml", "A bottle of sepia drawing ink for dip pens."),
        product("pen", "Dip Pen", "A wooden dip pen holder with two nibs."),
        product("planter", "Terracotta Planter", "A round clay pot for herbs.", size=["15 cm", "20 cm", "25 cm"]),
        product("feeder", "Hanging Bird Feeder", "A tube feeder that hangs from a branch."),
        product("bird-seed", "Bird Seed Mix", "Sunflower hearts and millet, food for garden birds."),
        product("bath", "Stone Bird Bath", "A frost-proof stone basin for birds to drink and bathe."),
    ]
}


def line(pid: str, n: int = 1, **options: str) -> dict[str, Any]:
    return {
        "line_id": str(n),
        "product_id": pid,
        "title": SHOP[pid]["title"],
        "options": {k.replace("_", " "): v for k, v in options.items()},
        "quantity": 1,
    }


def order(number: str, status: str, *lines: dict[str, Any]) -> dict[str, Any]:
    return {"order_id": number, "status": status, "lines": [{**ln, "line_id": str(n)} for n, ln in enumerate(lines, 1)]}


def wanted(pid: str, options: dict[str, str], text: str) -> dict[str, str] | None:
    asked, unavailable = requested_variant(SHOP[pid], options, text)
    chosen = asked or unavailable
    return None if chosen is None else {k: v for k, v in chosen["options"].items() if options.get(k) != v}


@pytest.mark.parametrize(
    ("pid", "options", "text", "expected"),
    [
        # sizes spelled out are sizes: one up, the letters, "extra large" (not the Large inside it)
        ("cushion", {"size": "Medium", "colour": "Ivory"}, "could it be one size up?", {"size": "Large"}),
        ("cushion", {"size": "Medium", "colour": "Ivory"}, "can I swap it for the XL?", {"size": "X-Large"}),
        ("cushion", {"size": "Medium", "colour": "Ivory"}, "I'd like the extra large instead", {"size": "X-Large"}),
        # a colour darker or lighter than theirs
        (
            "cushion",
            {"size": "Small", "colour": "Mustard"},
            "the darker colour would hide the dog hair",
            {"colour": "Charcoal"},
        ),
        ("cushion", {"size": "Small", "colour": "Charcoal"}, "in a lighter colour please", {"colour": "Mustard"}),
        # the middle of three amounts, the one up from theirs, twice theirs
        ("seed", {"pack size": "100 g"}, "swap the small bag for the medium one", {"pack size": "250 g"}),
        ("seed", {"pack size": "100 g"}, "can I have the one up from 100g?", {"pack size": "250 g"}),
        ("labels", {"pack size": "Pack of 20"}, "same labels but double the quantity", {"pack size": "Pack of 40"}),
        # a value misspelt, its initials, another form of its word
        ("cushion", {"size": "Small", "colour": "Ivory"}, "I wanted the mustrad one", {"colour": "Mustard"}),
        ("brush", {"tip": "Medium"}, "could I have an EF tip instead?", {"tip": "Extra Fine"}),
        ("sketchbook", {"paper": "Plain", "size": "A5"}, "could it be changed to dotted?", {"paper": "Dot Grid"}),
        # a comparative: the next value from theirs towards the values it names
        ("brush", {"tip": "Medium"}, "do you do a finer one?", {"tip": "Fine"}),
        ("brush", {"tip": "Fine"}, "I'd like a wider tip", {"tip": "Medium"}),
        # an amount inside a size's letter ("L (155 mm)" is in mm, the L is no litre), and paper sizes
        ("saddle", {"width": "S (130 mm)"}, "can I get the 155mm one instead?", {"width": "L (155 mm)"}),
        ("sketchbook", {"paper": "Plain", "size": "A5"}, "could I have the bigger size?", {"size": "A4"}),
    ],
)
def test_the_variant_wanted_is_read_however_it_is_said(pid, options, text, expected):
    assert wanted(pid, options, text) == expected


@pytest.mark.parametrize(
    ("pid", "options", "text"),
    [
        # "lighter" of a weight, "up from" of a place, "large" inside "extra large" when they have it
        ("cushion", {"size": "Small", "colour": "Charcoal"}, "it's too heavy to carry, is there a lighter one?"),
        ("seed", {"pack size": "100 g"}, "I picked it up from the depot and the bag was split"),
        ("labels", {"pack size": "Pack of 20"}, "they arrived double stacked and torn"),
        # a word one letter from a value that is an English word of its own
        ("brush", {"tip": "Medium"}, "I can't find the brush anywhere in the box, can you swap it?"),
    ],
)
def test_no_variant_is_read_from_words_that_name_none(pid, options, text):
    assert wanted(pid, options, text) is None


# A customer's orders, newest first: one pending, one delivered.
ORDERS = [
    order("HB-204", "pending", line("planter", size="20 cm"), line("bird-seed"), line("feeder")),
    order("HB-188", "delivered", line("pen"), line("ink"), line("easel"), line("paints", set="12 pans")),
]


def item(text: str) -> str | None:
    return read(text, ORDERS, SHOP).item


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a word two items' names share names the item it is the name of: the pen, not the pen ink
        ("The pen leaks all over my fingers, I'd like a refund", "pen"),
        ("the ink has dried to a crust in the bottle, can I return it?", "ink"),
        # what a request taken back was about is not the item, when the rest names one
        ("I no longer need to return the easel. Where is my planter though?", "planter"),
        ("I was going to send the paints back but they grew on me. Can I swap the planter for the 25 cm?", "planter"),
        # what they keep, listed without its article, is not the item either
        ("please cancel the feeder but keep the planter and seed", "feeder"),
        ("Cancel the feeder please. Keep the planter.", "feeder"),
        # an item named by its place in the order
        ("the second item on my order, can you take it off?", "bird-seed"),
        # two items named as one list: neither alone
        ("I want to return the easel and the pen from my other order", None),
    ],
)
def test_the_item_is_read_however_it_is_named(text, expected):
    assert item(text) == expected


def test_a_request_taken_back_is_not_one_of_the_requests():
    r = read("I no longer need to return the easel. Where is my planter though?", ORDERS, SHOP)
    assert [i.value for i in r.intents] == ["track"]


@pytest.mark.skipif(
    __import__("concierge.reasoning.sentences", fromlist=["encoder"]).encoder() is None,
    reason="no sentence model installed",
)
def test_of_items_a_word_names_equally_the_one_the_words_mean_is_taken():
    """ "bird" names the feeder, the seed and the bath alike; "the bird food" is the seed."""
    assert item("the bird food has gone mouldy in the bag, can I get a refund?") == "bird-seed"


@pytest.mark.parametrize(
    ("text", "asked"),
    [
        # a request after "and" and a request verb of its own is one of the requests
        ("Cancel the feeder, and swap the planter for the 25 cm please.", {"cancel", "exchange"}),
        ("Take the bird seed off my order please, and make the planter the bigger one.", {"remove_item", "exchange"}),
        ("I'd like to return the easel and switch the paints to the 24 pan set", {"return", "exchange"}),
    ],
)
def test_every_request_of_several_is_read(text, asked):
    assert asked <= {i.value for i in read(text, ORDERS, SHOP).intents}


def test_money_back_taken_back_and_a_message_disregarded_ask_nothing_of_their_own():
    from concierge.reasoning import signals

    assert signals.REFUSED_REQUEST.search("I don't need my money back for the easel, I'd like the bigger one")
    text = "Please disregard my message about the refund. Where is my planter?"
    assert signals.TAKEN_BACK.search(text) and signals.REFUSED_REQUEST.search(text)
    assert [i.value for i in read(text, ORDERS, SHOP).intents] == ["track"]


def test_what_an_item_should_be_instead_is_not_the_item():
    """ "can the decaf be whole bean instead?": the words after "be" are what they want, not the beans they have."""
    shop = {
        **SHOP,
        "beans": product("beans", "House Coffee Beans", "A chocolatey blend.", grind=["Whole Bean", "Espresso"]),
        "decaf": product("decaf", "Swiss Decaf", "A caffeine-free coffee.", grind=["Whole Bean", "Espresso"]),
    }

    def bought(pid: str, title: str) -> dict[str, Any]:
        return {"line_id": "1", "product_id": pid, "title": title, "options": {"grind": "Espresso"}, "quantity": 1}

    orders = [
        order("HB-301", "pending", bought("decaf", "Swiss Decaf")),
        order("HB-250", "delivered", bought("beans", "House Coffee Beans")),
    ]
    r = read("Can the decaf be whole bean instead? Just got a grinder.", orders, shop)
    assert (r.item, r.variant) == ("decaf", {"grind": "Whole Bean"})


def test_a_question_about_the_request_just_made_is_a_question():
    """The model reads "do I need the original box?" as a return, as the sentence before it is; the rules read it as
    the question it is."""
    text = "I'd like to send the easel back, it wobbles. Do I need the original box?"
    assert [i.value for i in read(text, ORDERS, SHOP).intents][:2] == ["return", "question"]
