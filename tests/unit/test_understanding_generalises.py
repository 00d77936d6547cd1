"""Reading messages for shops nobody tuned on: what a customer would notice if it went wrong (the item their words
mean, the variant they want instead), on shops of other verticals than the sample stores'.

The shops and their messages are in evaluation/understanding/training/shops/ (products with their options, each
customer's orders, and messages labelled as the labelled set is: intents, order, item, variant). They are a
development set for the rules, written for this purpose; they share nothing with the sample stores."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from concierge.reasoning.understanding import Intent, _keys_kept, acting_intent, items_named, read, requested_variant
from concierge.reasoning.understanding_eval import Labelled, _slots, load_shop

ROOT = Path(__file__).resolve().parents[2]
SHOPS = ROOT / "evaluation" / "understanding" / "training" / "shops"


@cache
def shop(name: str) -> tuple[dict[str, Any], dict[str, dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    """(the shop file, its products by id with every combination of options as a variant, each customer's orders
    newest first as the engine is given them)."""
    loaded = load_shop(SHOPS / f"{name}.json")
    return json.loads((SHOPS / f"{name}.json").read_text()), loaded.products, loaded.orders


def labelled(name: str) -> list[Labelled]:
    return load_shop(SHOPS / f"{name}.json").messages


NAMES = sorted(p.stem for p in SHOPS.glob("*.json"))


def reading(name: str, customer: str, text: str):
    _, products, orders = shop(name)
    return read(text, orders[customer], products)


def variant_of(name: str, product: str, options: dict[str, str], text: str) -> dict[str, str] | None:
    asked, unavailable = requested_variant(shop(name)[1][product], options, text)
    chosen = asked or unavailable
    return None if chosen is None else {k: v for k, v in chosen["options"].items() if options.get(k) != v}


@pytest.mark.parametrize(
    ("name", "product", "options", "text", "wanted"),
    [
        # a letter size said in words, and the next size up or down
        (
            "clothing",
            "merino-crew",
            {"size": "M", "colour": "Forest"},
            "wrong size jumper, need a small",
            {"size": "S"},
        ),
        (
            "clothing",
            "linen-shirt",
            {"size": "L", "colour": "Sky"},
            "it's too big, I'm more of a medium",
            {"size": "M"},
        ),
        ("clothing", "merino-crew", {"size": "M", "colour": "Forest"}, "could I get the next size up?", {"size": "L"}),
        (
            "clothing",
            "merino-crew",
            {"size": "M", "colour": "Forest"},
            "it's too small, the medium is too small",
            {"size": "L"},
        ),
        # a number where a value is wanted, and one with its unit as customers write it
        (
            "clothing",
            "chelsea-boot",
            {"size": "EU 42", "colour": "Tobacco"},
            "can I swap them for a 43?",
            {"size": "EU 43"},
        ),
        ("electronics", "hdmi-cable", {"length": "2 m"}, "I'd like the 3 metre one instead", {"length": "3 m"}),
        (
            "electronics",
            "sd-card",
            {"capacity": "128 GB"},
            "I need the 256 gig card, can you swap it?",
            {"capacity": "256 GB"},
        ),
        ("outdoor", "tent", {"capacity": "1-person"}, "I'd rather have the two person tent", {"capacity": "2-person"}),
        ("outdoor", "trekking-poles", {"length": "120 cm"}, "could I swap them for the 130s?", {"length": "130 cm"}),
        # the number is the option named beside it, and an option said to stay stays
        (
            "clothing",
            "trail-jeans",
            {"waist": "32", "length": "32"},
            "Do you have them in a 30 length, same waist?",
            {"length": "30"},
        ),
        (
            "clothing",
            "merino-crew",
            {"size": "M", "colour": "Forest"},
            "swap it for the rust colour, same size",
            {"colour": "Rust"},
        ),
        # a place or a plug's name for the code a value has
        ("electronics", "power-adapter", {"plug": "US"}, "I'm in Berlin and I need a European plug", {"plug": "EU"}),
        (
            "electronics",
            "mech-keyboard",
            {"layout": "US ANSI", "switch": "Brown"},
            "I'm Norwegian, could I have the keyboard with the Nordic layout?",
            {"layout": "Nordic ISO"},
        ),
        (
            "beauty",
            "hair-dryer",
            {"plug": "UK", "colour": "Blush"},
            "I'm moving to Spain, can I swap the dryer?",
            {"plug": "EU"},
        ),
        # a comparative of a value's word, a shade darker
        ("home", "pillow", {"firmness": "Medium"}, "it's too squishy, do you do a firmer one?", {"firmness": "Firm"}),
        (
            "outdoor",
            "sleeping-bag",
            {"length": "Regular", "zip": "Left"},
            "could I get the longer one?",
            {"length": "Long"},
        ),
        ("beauty", "foundation", {"shade": "Light 20"}, "could I swap it for a shade darker?", {"shade": "Medium 30"}),
        # a value in the plural
        (
            "coffee",
            "house-blend",
            {"size": "250 g", "grind": "Espresso"},
            "it should have been whole beans",
            {"grind": "Whole Bean"},
        ),
    ],
)
def test_the_variant_wanted_is_read_as_customers_say_it(name, product, options, text, wanted):
    assert variant_of(name, product, options, text) == wanted


@pytest.mark.parametrize(
    ("name", "product", "options", "text"),
    [
        # the size they have, said to be wrong, is no size wanted; nor is a number that is not a value's
        ("clothing", "merino-crew", {"size": "S", "colour": "Rust"}, "the jumper is a bit small across the back"),
        ("outdoor", "trekking-poles", {"length": "120 cm"}, "one of the poles snapped after 20 minutes"),
        ("electronics", "power-adapter", {"plug": "US"}, "the charger gets hot, I want a replacement"),
    ],
)
def test_no_variant_is_read_where_none_is_named(name, product, options, text):
    assert variant_of(name, product, options, text) is None


def test_a_value_said_to_be_fine_is_taken_and_the_option_they_have_said_to_be_fine_stays():
    keyboard = {"layout": "DE ISO", "switch": "Red"}
    assert _keys_kept("meh. ok, the US layout is fine then", keyboard) == set()
    assert _keys_kept("the layout is fine, brown switches please", keyboard) == {"layout"}
    assert variant_of("electronics", "mech-keyboard", keyboard, "the layout is fine, brown switches please") == {
        "switch": "Brown"
    }


def test_the_item_is_the_one_a_request_verb_names_even_split_around_it():
    """ "take the serum off my order", not the cleanser a question after it mentions, nor a word of another item."""
    text = "take the serum off my order please, and is the cleanser ok for sensitive skin?"
    assert reading("beauty", "b1", text).item == "serum"
    assert (
        reading("coffee", "k1", "please take the filters off my order, and how long should a kettle take to boil?").item
        == "paper-filters"
    )


def test_a_plural_names_the_item_its_singular_does():
    _, products, _ = shop("home")
    orders = [
        {
            "order_id": "HO-1",
            "status": "delivered",
            "lines": [
                {
                    "line_id": "1",
                    "product_id": "towel-set",
                    "title": "Waffle Towel Set",
                    "options": {"pieces": "2-piece", "colour": "White"},
                },
                {
                    "line_id": "2",
                    "product_id": "side-table",
                    "title": "Oak Side Table",
                    "options": {"finish": "Natural Oak"},
                },
            ],
        }
    ]
    assert read("I'd like to send back the towels", orders, products).item == "towel-set"
    assert read("the tables wobble, refund please", orders, products).item == "side-table"
    glasses = [
        {
            "order_id": "HO-2",
            "status": "delivered",
            "lines": [
                {"line_id": "1", "product_id": "glass", "title": "Ribbed Drinking Glass, Set of 4", "options": {}},
                {
                    "line_id": "2",
                    "product_id": "side-table",
                    "title": "Oak Side Table",
                    "options": {"finish": "Natural Oak"},
                },
            ],
        }
    ]
    assert read("two of the glasses arrived cracked, I'd like a refund", glasses, products).item == "glass"


def test_a_word_of_the_product_name_outweighs_the_same_word_in_another_items_options():
    """The case's option says which phone it fits: "my phone" is not the case."""
    _, products, _ = shop("electronics")
    orders = [
        {
            "order_id": "LT-1",
            "status": "shipped",
            "lines": [
                {
                    "line_id": "1",
                    "product_id": "sd-card",
                    "title": "Pro microSD Card",
                    "options": {"capacity": "128 GB"},
                },
                {
                    "line_id": "2",
                    "product_id": "phone-case",
                    "title": "Rugged Phone Case",
                    "options": {"model": "Pro Card Reader"},
                },
            ],
        }
    ]
    assert read("where is my card? it should be here by now", orders, products).item == "sd-card"


def test_an_order_number_that_is_not_theirs_still_lets_the_item_they_name_be_read():
    text = "the head torch from order SS-40281 stopped working, can I get my money back"
    r = reading("outdoor", "o1", text)
    assert r.order_reference == "SS-40281" and r.order_id is None and r.item == "headlamp"
    assert reading("outdoor", "o1", "cancel order SS-40281 please").item is None


def test_the_words_of_an_address_name_no_item():
    _, _, orders = shop("home")
    candidates = [(order, line) for order in orders["h2"] for line in order["lines"]]
    text = "Can you send the table to my new flat instead? It's 12 Lamp Street, Leeds LS1 4AB"
    assert [candidates[i][1]["product_id"] for i in items_named(text, candidates).best] == ["side-table"]


def test_several_requests_each_about_an_item_of_its_own_mean_no_one_item():
    assert (
        reading("clothing", "c1", "Where's my rain jacket? And can I return the green jumper, it's itchy.").item is None
    )
    # one item, and a question beside it
    assert (
        reading("clothing", "c2", "I'd like to return the tote, and when do refunds usually land?").item
        == "canvas-tote"
    )


@pytest.mark.parametrize("name", NAMES)
def test_each_shop_reads_most_entities_right(name):
    """A floor under the development shops' figures (entity accuracy per shop when these rules were written, less
    a margin): a change that loses them fails here."""
    _, products, orders = shop(name)
    slots = [ok for m in labelled(name) for ok in _slots(m, read(m.text, orders[m.customer], products)).values()]
    # the three shops added last (eyewear, music, nutrition) were measured first, then developed on: 0.756 is the
    # lowest of them now, and every earlier shop is above 0.8
    assert sum(slots) / len(slots) >= 0.75


def test_the_development_shops_together_read_nine_in_ten_entities_right():
    slots = [
        ok
        for name in NAMES
        for m in labelled(name)
        for ok in _slots(m, read(m.text, shop(name)[2][m.customer], shop(name)[1])).values()
    ]
    assert sum(slots) / len(slots) >= 0.9


def customer_of(name: str, text: str) -> str:
    return next(m.customer for m in labelled(name) if m.text == text)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("music", "Just wanted to say the ukulele arrived and it's gorgeous. Thank you!"),
        ("nutrition", "Parcel turned up today, all present and correct. Cheers for being so quick!"),
    ],
)
def test_thanks_with_what_went_well_asks_for_nothing(name, text):
    read_as = reading(name, customer_of(name, text), text)
    assert [i.value for i in read_as.intents] == ["thanks"]
    assert read_as.item is None


def test_a_fault_described_beside_the_request_names_no_other_item():
    # "the top string buzzes" names the strings of the same order: the capo is what goes back
    text = (
        "Hi, I'd like to return the capo from order HM-19877 please. It doesn't sit right on my guitar and the top "
        "string buzzes whatever I do."
    )
    assert reading("music", customer_of("music", text), text).item == "capo"
    # ...but where the request to send back names nothing, the fault's words say what it is about, beside another
    # request's item: no one item
    text = "The jet washer pump is leaking from the bottom. Refund please, and where's my chainsaw?"
    assert reading("garden-tools", customer_of("garden-tools", text), text).item is None


def test_a_swap_from_one_value_to_another_is_an_exchange():
    text = "Hello, please switch the aviator sunglasses on order OV-20481 from the Gold frame to Gunmetal."
    assert acting_intent(text, "return") is Intent.EXCHANGE
    # money back said, or a new address: not a swap of the item
    assert acting_intent("Please switch it to a refund, not store credit", "return") is Intent.RETURN


@pytest.mark.parametrize(
    ("name", "product", "options", "text", "wanted"),
    [
        # where they have moved to, by its city, not where they moved from
        (
            "music",
            "keyboard",
            {"plug": "Type C (EU)", "bundle": "Keyboard Only"},
            "I've just moved from Berlin to Manchester and the keyboard won't go into a single socket",
            {"plug": "Type G (UK)"},
        ),
        # Ireland's plugs are the UK's
        (
            "camera",
            "charger",
            {"plug": "EU"},
            "My charger has a European plug but I've moved to Dublin",
            {"plug": "UK"},
        ),
        # a darker wood or finish, a colour's name said as a colour ("sandy")
        ("bakeware", "rolling-pin", {"wood": "Beech"}, "could I have the darker wood?", {"wood": "Walnut"}),
        (
            "furniture",
            "dining-table",
            {"length": "160 cm", "finish": "Natural Oak"},
            "could the table be the darker oak?",
            {"finish": "Smoked Oak"},
        ),
        (
            "bakeware",
            "plates",
            {"glaze": "Midnight"},
            "could I swap for the sandy coloured ones?",
            {"glaze": "Sandstone"},
        ),
        # twice the storage; the option by another word ("in the leg" for the length)
        ("camera", "sd-card", {"storage": "128 GB"}, "same card but double the storage please", {"storage": "256 GB"}),
        (
            "clothing",
            "trail-jeans",
            {"waist": "32", "length": "32"},
            "waist is fine but I need a 34 in the leg",
            {"length": "34"},
        ),
        # sizes with names of their own, in the order the shop lists them
        (
            "music",
            "ukulele",
            {"size": "Soprano", "pack": "Ukulele Only"},
            "it feels tiny in my hands, one size up would suit me much better",
            {"size": "Concert"},
        ),
    ],
)
def test_the_variant_wanted_from_where_they_are_and_the_shops_own_size_order(name, product, options, text, wanted):
    assert variant_of(name, product, options, text) == wanted


@pytest.mark.parametrize(
    ("text", "first"),
    [
        # the first request is what is asked first, however long the rest is
        ("My password reset link never arrives. Also, when will my sandals ship?", "password"),
        ("Cancel order 5512 please, and where is my other parcel?", "cancel"),
        ("Where is my lamp? And can I send back the throw, it sheds everywhere.", "track"),
        ("Please swap the mug for the blue one and tell me when the kettle ships", "exchange"),
        # a request taken back is not the first one
        ("Don't refund the boots, just send me the next size up.", "exchange"),
        ("Cancel my order... no wait, change the address instead to 4 Elm Road, Leeds LS6 1AB", "address"),
        ("I changed my mind about the return, keep the sofa. Where is the lamp though?", "track"),
        # a fault described is why a replacement is asked for
        ("The zip on my jacket broke. Can I get a replacement? Also how long do refunds take?", "exchange"),
    ],
)
def test_a_message_of_several_requests_asks_first_what_it_asks_first(text, first):
    assert reading("clothing", "c1", text).intent.value == first


def test_the_engine_still_acts_on_the_request_to_do_something_beside_where_an_order_is():
    """The reading says what was asked first; the engine acts on what is to be done and answers tracking beside
    it (`signals.read_only_requests`)."""
    from concierge.reasoning import signals

    text = (
        "Any update on my head torch? Also if I end up not liking the gas canisters that are in the same order, can I "
        "send them back?"
    )
    assert {i.value for i in reading("outdoor", "o1", text).intents} >= {"track", "return"}
    assert signals.score(text).intent == "return"


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        # an order number beside a question about something else asks that question
        ("My order FW-10488 is a present, will there be a receipt in the box?", "question"),
        ("I've got the jumper from FW-10307, can merino go in the dryer?", "question"),
        # an order number asked after, or alone, asks where the order is
        ("Has FW-10412 shipped?", "track"),
        ("FW-10412??", "track"),
    ],
)
def test_an_order_number_beside_a_question_asks_the_question(text, intent):
    assert reading("clothing", "c1", text).intent.value == intent


def test_a_bare_number_that_is_one_of_their_orders_names_it():
    r = reading("coffee", "k1", "can you still change 5531? I'd like the beans ground for filter")
    assert r.order_id == "RR-5531" and r.item == "house-blend" and r.variant == {"grind": "Filter"}
    # any other bare number is no order
    assert reading("coffee", "k1", "I need 5000 more filters, where are mine?").order_id is None


def test_an_amount_in_another_unit_names_the_value():
    assert variant_of("home", "rug", {"size": "80 x 240 cm"}, "could the runner be the 3 m one instead?") == {
        "size": "80 x 300 cm"
    }
    assert variant_of("home", "rug", {"size": "80 x 240 cm"}, "our hall is 2400 mm, is that the right one?") is None


def test_items_they_keep_in_a_list_are_not_the_item():
    text = "Keep the jumper and the jacket, I just don't need the socks any more"
    assert reading("clothing", "c3", text).item == "hiking-socks"


def test_what_a_refund_is_for_is_what_they_have():
    text = "I don't want a refund for the clay cup, I'd like the black one instead"
    r = reading("coffee", "k3", text)
    assert r.item == "travel-mug" and r.variant == {"colour": "Black"}


def test_of_two_items_named_alike_the_one_named_first_is_meant():
    assert reading("electronics", "e1", "The left earbud won't charge in the case, I want a refund").item == (
        "wireless-buds"
    )


def test_a_colour_said_names_the_item_in_that_colour():
    assert reading("clothing", "c1", "Wore the green knit once and it's already pilling everywhere.").item == (
        "merino-crew"
    )


class WordModel:
    """A stand-in intent model that reads a request wherever its verb is written, as a model fooled by a request
    taken back would."""

    def predict(self, text: str) -> tuple[str, float]:
        for verb, intent in (("cancel", "cancel"), ("refund", "return"), ("where", "track"), ("swap", "exchange")):
            if verb in text.lower():
                return intent, 0.9
        return "unknown", 0.8


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        # a request taken back asks nothing of its own: what is left is what they ask
        ("I was going to cancel my order but I'll keep it after all, no need to do anything.", "unknown"),
        ("Never mind the refund, where is my parcel though?", "track"),
        ("I don't want a refund for the scarf, could you swap it for the grey?", "exchange"),
    ],
)
def test_a_request_taken_back_is_not_what_is_asked(monkeypatch, text, intent):
    from concierge.reasoning import intentmodel, signals

    monkeypatch.setattr(intentmodel, "model", lambda: WordModel())
    assert signals.understood(text)[0] == intent


def test_a_booking_taken_back_in_part_is_still_about_the_booking():
    from concierge.reasoning import signals

    assert signals.understood("Please don't reschedule my fitting, cancel it completely.")[0] == "appointment"


@pytest.mark.parametrize(
    ("name", "customer", "text", "item"),
    [
        ("home", "h2", "Has the lamp shipped? I'm having people over on Saturday.", "floor-lamp"),
        ("beauty", "b3", "When will the fig oil be dispatched?", "perfume-oil"),
        ("home", "h1", "the hall runner, has it gone out yet?", "rug"),
    ],
)
def test_asking_how_an_item_is_getting_on_is_tracking_it(name, customer, text, item):
    r = reading(name, customer, text)
    assert r.intent.value == "track" and r.item == item


def test_a_first_request_the_model_is_unsure_of_counts_where_the_rules_read_it_too(monkeypatch):
    """ "when are the headphones coming? if it's Tuesday can they go to my office instead": where the headphones
    are is asked first, though the model, reading the words out of their message, is unsure of it."""
    from concierge.reasoning import intentmodel, signals

    class Unsure:
        def predict(self, text: str) -> tuple[str, float]:
            return ("address", 0.95) if "office" in text else ("track", 0.45)

    monkeypatch.setattr(intentmodel, "model", lambda: Unsure())
    text = "when are the headphones coming? if it's Tuesday can they go to my office instead, Mainstr. 4, 10117 Berlin"
    assert signals.understood(text)[0] == "track"


@pytest.mark.skipif(
    __import__("concierge.reasoning.sentences", fromlist=["encoder"]).encoder() is None,
    reason="no sentence model installed",
)
def test_an_item_named_by_what_the_catalogue_says_it_is_is_found_by_meaning():
    """ "the bag" shares no word with "Waxed Canvas Tote"; the catalogue calls it a shoulder bag."""
    assert reading("clothing", "c2", "I want to return the bag, the strap broke.").item == "canvas-tote"


@pytest.mark.parametrize(
    ("name", "text"),
    [
        (
            "nutrition",
            "I was going to ask you to just take the gels off my order, but honestly - cancel the whole thing. I'll reorder later in the year.",
        ),
        (
            "nutrition",
            "I was going to ask for a refund on the vitamins but I've got used to them now, so never mind that. Can you just tell me where my other order is?",
        ),
    ],
)
def test_a_whole_order_or_another_one_is_about_no_one_item(name, text):
    read_as = reading(name, customer_of(name, text), text)
    assert read_as.intent.value in ("cancel", "track")
    assert read_as.item is None
