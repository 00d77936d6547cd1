"""The deterministic engine on a made-up outdoor-gear shop, on the kinds of failure the twenty-first scenario sets of
the sample stores found: "just" of time read as "just this item" (a whole order returned as one item of it), and a
question about the shop's services handed to a person because the intent model alone read it as asking for one."""

from __future__ import annotations

import pytest

from concierge.engine.deterministic import ONLY_SOME
from concierge.reasoning import signals
from tests.unit.test_engine_twelfth import Chat


@pytest.mark.parametrize(
    ("text", "some"),
    [
        ("return order TR-4396, just the bottle", True),
        ("I only want to send back the poles", True),
        ("only one of them please", True),
        ("everything except the bottle", True),
        ("Just moved in with my partner and we have two of everything", False),
        ("it only arrived on monday and already broke", False),
    ],
)
def test_just_and_only_name_some_of_an_order_only_before_a_thing(text: str, some: bool) -> None:
    assert (ONLY_SOME.search(text) is not None) is some


def test_a_whole_order_returned_beside_just_of_time_is_every_item() -> None:
    chat = Chat()
    chat.say(
        "Hi, I'd like to return order TR-4396, all of it. Just moved in with my partner and now we have two of "
        "everything lol. Still in the boxes"
    )
    assert dict(chat.calls)["return_items"]["line_ids"] == ["1", "2"]


def test_one_item_of_an_order_is_still_one_item() -> None:
    chat = Chat()
    reply = chat.say("I'd like to return order TR-4396, just the bottle please").reply
    assert "Insulated Steel Bottle" in reply and "Carbon Trekking Poles" not in reply
    assert "return_items" not in dict(chat.calls)  # the one item is confirmed before anything is proposed


@pytest.mark.parametrize(
    "text",
    [
        "nice. and can I also get rid of an old phone charger with you somehow?",
        "can I also get rid of an old phone charger with you somehow?",
    ],
)
def test_a_question_naming_no_person_is_not_a_request_for_one(text: str) -> None:
    read = signals.score(text)
    assert not read.wants_human
    assert read.intent != "human"


@pytest.mark.parametrize(
    "text",
    ["can I talk to someone?", "is there a person I can speak with?", "could someone call me about this?"],
)
def test_a_question_asking_for_a_person_still_gets_one(text: str) -> None:
    assert signals.score(text).wants_human


@pytest.mark.parametrize(
    "text",
    [
        "hey, the trekking flask that came with my poles has a dent. can I send it back for a refund?",
        "The little flask I got with the trekking poles is dented, can I return it?",
    ],
)
def test_an_item_named_by_the_one_it_came_with_is_the_other_one(text: str) -> None:
    reply = Chat().say(text).reply
    assert "Insulated Steel Bottle" in reply and "Carbon Trekking Poles" not in reply


def test_an_item_that_came_with_a_fault_is_still_the_item() -> None:
    reply = Chat().say("the trekking poles came with a bent tip, can I return them?").reply
    assert "Carbon Trekking Poles" in reply and "Insulated Steel Bottle" not in reply
