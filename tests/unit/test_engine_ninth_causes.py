"""The general causes found in the ninth unseen sets' failing transcripts, each on a made-up shop (the coffee-gear
shop of test_engine_other_shops.py, and a clothing shop with fancy colour names), never the sample stores' data."""

from __future__ import annotations

from concierge.reasoning import signals
from concierge.reasoning.understanding import colours_said, requested_variant
from tests.unit.test_engine_other_shops import ORDERS, PENDING, Chat, order


def variant_product(option: str, values: list[tuple[str, int]]) -> dict:
    return {
        "id": "tee",
        "variants": [
            {"sku": f"tee-{i}", "options": {option: value}, "stock": stock} for i, (value, stock) in enumerate(values)
        ],
    }


# a variant wanted in plain colour words, for a shop's own colour names ----------------------------------------------
def test_a_plain_colour_finds_the_shops_fancy_colour_name():
    tee = variant_product("colour", [("Charcoal", 4), ("Sage", 3), ("Burgundy", 2), ("Navy", 0)])
    asked, unavailable = requested_variant(
        tee, {"colour": "Charcoal"}, "the tee is the dark grey one, can I get it in green?"
    )
    assert asked is not None and asked["options"] == {"colour": "Sage"} and unavailable is None
    # the colour of what they have is not what they want
    asked, _ = requested_variant(tee, {"colour": "Charcoal"}, "my grey tee has a reddish stain, swap it please")
    assert asked is not None and asked["options"] == {"colour": "Burgundy"}
    _, unavailable = requested_variant(tee, {"colour": "Charcoal"}, "could I swap the charcoal one for a blue one?")
    assert unavailable is not None and unavailable["options"] == {"colour": "Navy"}


def test_one_word_of_a_two_word_colour_names_it():
    tee = variant_product("colour", [("Storm Grey", 4), ("Deep Black", 3)])
    asked, _ = requested_variant(tee, {"colour": "Storm Grey"}, "Ah ok. Black would do then I suppose")
    assert asked is not None and asked["options"] == {"colour": "Deep Black"}


def test_colours_said_reads_pinky_and_greyish():
    assert colours_said("a pinky-orange or greyish one, not navy") == {"pink", "orange", "grey", "blue"}


def test_the_big_one_wanted_is_the_larger_amount_even_if_theirs_is_smaller_than_hoped():
    cup = {
        "id": "cup",
        "variants": [
            {"sku": "c1", "options": {"glaze": "Chalk", "volume": "200 ml"}, "stock": 5},
            {"sku": "c2", "options": {"glaze": "Chalk", "volume": "300 ml"}, "stock": 5},
            {"sku": "c3", "options": {"glaze": "Moss", "volume": "200 ml"}, "stock": 5},
            {"sku": "c4", "options": {"glaze": "Moss", "volume": "300 ml"}, "stock": 0},
        ],
    }
    text = "the white cup is smaller than i thought :( could i swap it for the big green one?"
    asked, unavailable = requested_variant(cup, {"glaze": "Chalk", "volume": "200 ml"}, text)
    assert asked is None and unavailable is not None and unavailable["sku"] == "c4"


def test_a_sold_out_variant_named_by_colour_is_said_and_a_refund_asked_for_is_not_that_variant():
    chat = Chat()
    reply = chat.say("the oat mug I got is smaller than I thought. could I swap it for the grey one?").reply
    # the shop's mug comes in Oat and Slate only; Slate is what "grey" means
    assert "Stoneware Mug (Slate)" in reply and "Shall I go ahead?" in reply
    reply = chat.say("no, the grey was the whole point... just refund the mug then").reply
    assert "refund $22.00" in reply


# "refunded" asks for the refund ----------------------------------------------------------------------------------
def test_get_refunded_is_the_refund_asked_for_and_proposed_at_once():
    chat = Chat()
    reply = chat.say("The grinder is too loud for my flat, I'd like to send it back and get refunded please.").reply
    assert "I found it" not in reply and "refund $89.00" in reply and "Shall I go ahead?" in reply
    chat.say("yes please")
    assert [a["arguments"]["resolution"] for a in chat.executed("return_items")] == ["refund"]


# a whole order returned: every returnable item of it, refunded ----------------------------------------------------
def test_both_items_of_a_numbered_order_are_refunded_together():
    chat = Chat()
    reply = chat.say("I want to return order 501, both items. I don't need them anymore.").reply
    assert "Hand Burr Grinder (Silver) and the Porcelain Espresso Cups, Set of 4 (White)" in reply
    assert "refund $123.00" in reply and "#501" in reply and "Shall I go ahead?" in reply
    assert chat.executed("return_items") == []
    chat.say("Yes, refund both please.")
    assert [a["arguments"]["line_ids"] for a in chat.executed("return_items")] == [["1", "2"]]


def test_a_final_sale_item_is_left_out_of_a_whole_order_return_and_said_so():
    chat = Chat()
    reply = chat.say("can I return everything from order #502? changed my mind").reply
    assert "House Espresso Beans (1 kg) is final sale" in reply
    assert "refund $28.00" in reply and "Pour-Over Dripper (White) from order #502" in reply


def test_returning_an_order_of_one_item_by_its_number_proposes_its_refund():
    single = order("#510", "delivered", 5, [("kettle", "Steel")])
    chat = Chat([single, *ORDERS])
    reply = chat.say("Hello, I'd like to return order 510 please. The kettle is not what I expected.").reply
    assert "refund $79.00" in reply and "#510" in reply and "Shall I go ahead?" in reply
    chat.say("Refund to my card is fine, thanks. Please go ahead.")
    assert [a["arguments"]["order_id"] for a in chat.executed("return_items")] == ["#510"]


def test_one_item_named_from_a_numbered_order_is_still_that_item():
    reply = Chat().say("I'd like to return order #501, the grinder is too loud").reply
    assert "I found it: the Hand Burr Grinder (Silver)" in reply and "Espresso Cups" not in reply


# two requests to act in one message: both proposed, both done on one yes -------------------------------------------
def test_a_numbered_list_of_two_requests_reads_as_two():
    text = "Two things: 1) please cancel the kettle order, and 2) the grinder order needs to go to my new place, 9 Elm St, Austin 78702"
    assert signals.acting_requests(text) == ["cancel", "address"]


def test_two_requests_to_act_are_proposed_together_and_done_on_one_yes():
    chat = Chat(ORDERS + PENDING)
    reply = chat.say(
        "Two things: 1) please cancel the kettle order, and 2) the grinder order needs to go to my new place, "
        "9 Elm St, Austin 78702. Thanks!"
    ).reply
    assert "#505" in reply and "cancel" in reply
    assert "#504 will be delivered to" in reply and "Shall I go ahead with both?" in reply
    assert chat.store.orders["#505"].status == "pending"
    reply = chat.say("yes to both").reply
    assert chat.store.orders["#505"].status == "cancelled"
    assert chat.store.orders["#504"].shipping_address.line1 == "9 Elm St"
    assert "Done — order #505 is cancelled." in reply and "Done — order #504 will go to the new address." in reply


def test_no_to_two_proposals_withdraws_both():
    chat = Chat(ORDERS + PENDING)
    chat.say(
        "1) please cancel the kettle order, and 2) the grinder order needs to go to my new place, 9 Elm St, Austin 78702"
    )
    chat.say("no, leave them")
    assert chat.store.orders["#505"].status == "pending"
    assert chat.store.orders["#504"].shipping_address.line1 == "1 Main St"


# "could you…" is a request, not a typo of "would" ---------------------------------------------------------------
def test_could_you_after_a_lead_in_question_is_the_request_to_act():
    text = "Two things: when is my black dripper arriving? And could you send the kettle order to my office instead, 9 Elm St, Austin 78702"
    assert "could" in signals.normalize(text).split()
    assert signals.acting_requests(text) == ["address"]
    assert [intent for intent, _ in signals.read_only_requests(text)] == ["track"]
    reply = Chat(ORDERS + PENDING).say(text).reply
    assert "order #505 will be delivered to" in reply and "#503" in reply and "UPS" in reply
