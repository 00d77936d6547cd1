"""A return request that lists items of one order takes them all, whether each has a request of its own or one
request lists them ("the power bank and the charging cable"); one item described by another is not a list."""

from __future__ import annotations

from concierge.engine.deterministic import DeterministicEngine

BANK = {"title": "Volt Power Bank", "options": {"capacity": "10,000 mAh"}}
CABLE = {"title": "Braided Charging Cable", "options": {"length": "1 m"}}
PROTECTOR = {"title": "Tempered Glass Screen Protector", "options": {}}


def test_one_request_listing_two_items_names_each_apart():
    text = "Hi, I would like to return the power bank and the charging cable I bought from you a while ago."
    assert DeterministicEngine._each_named_apart(text, [BANK, CABLE])
    assert DeterministicEngine._each_named_apart("can I send back the cable, the power bank too", [BANK, CABLE])


def test_an_item_described_by_another_is_not_a_list():
    text = "I want to return the screen protector that came with my cable"
    assert not DeterministicEngine._each_named_apart(text, [PROTECTOR, CABLE])
    assert not DeterministicEngine._each_named_apart("I'd like to return the power bank", [BANK, CABLE])
