"""The English word list the typo fixer leaves alone (signals.english_words) is the one scripts/english_words.py
writes, and it keeps real words from being "corrected" into the words the assistant acts on."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from concierge.reasoning import signals

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "english_words.py"


def test_the_shipped_list_is_the_one_the_script_writes():
    spec = importlib.util.spec_from_file_location("english_words", SCRIPT)
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert signals.ENGLISH_WORDS_PATH.read_text() == script.render()


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("we don't need a whole new set", "we do not need a whole new set"),  # not "a holes new set"
        ("i want to retrun the mug", "i want to return the mug"),  # a typo is still fixed
        ("cancle my order", "cancel my order"),
    ],
)
def test_real_words_stay_and_typos_are_fixed(typed, read):
    assert signals.normalize(typed) == read
