"""What the customer says they keep is not what they mean to send back, whichever way round they say it ("keep the
hub", "the hub I'm keeping"); a message naming only what is kept still names it."""

from __future__ import annotations

import pytest

from concierge.reasoning.understanding import content_words, without_kept


@pytest.mark.parametrize(
    "text",
    [
        "I'd like to return only the 1 m USB-C cable, the hub I'm keeping.",
        "return the cable please, the hub we'll keep",
        "I want to send back the cable but keep the hub",
        "keeping the hub, return the cable",
    ],
)
def test_the_item_kept_is_left_out_of_the_request(text):
    words = content_words(without_kept(text))
    assert "cable" in words and "hub" not in words


def test_a_message_naming_only_what_is_kept_keeps_its_words():
    assert "hub" in content_words(without_kept("the hub I'm keeping"))
