"""The trained intent model (concierge.reasoning.intentmodel): what it is trained on, how it is stored, and how its reading
and the phrase rules share the work (signals.understood)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from concierge.reasoning import intentmodel, signals
from concierge.reasoning.understanding import Intent
from concierge.reasoning.understanding_eval import SET, TRAINING, load, main_intent, training_set

ROOT = Path(__file__).resolve().parents[2]


def words(text: str) -> frozenset[str]:
    return frozenset(re.findall(r"[a-z0-9]+", text.lower()))


def test_nothing_of_the_held_out_half_is_trained_on():
    """Not the same message, and not one that differs by a few words: the held-out figures would mean nothing.
    (Greetings and thanks of four words or fewer, "hello", "thank you so much", are said alike by everyone.)"""
    held_out = [words(m.text) for m in load(ROOT / SET) if m.split == "heldout"]
    for text, _ in training_set(ROOT / TRAINING, ROOT / SET):
        mine = words(text)
        for other in held_out:
            if len(mine) >= 5 and len(other) >= 5:
                assert len(mine & other) / len(mine | other) < 0.8, f"training message close to held-out: {text!r}"


@pytest.mark.parametrize(
    ("intents", "main"),
    [
        (["thanks", "question"], "question"),  # "Thanks for the quick delivery! Can I wear them swimming?"
        (["thanks", "return"], "return"),
        (["greeting", "question"], "question"),
        (["cancel", "thanks"], "cancel"),
        (["question", "track"], "track"),
        (["thanks", "goodbye"], "thanks"),
        (["thanks"], "thanks"),
        (["other"], "unknown"),
    ],
)
def test_thanks_said_beside_a_request_or_a_question_is_not_what_the_message_asks(intents, main):
    assert main_intent(intents) == main


def test_a_question_after_thanks_is_read_as_the_question():
    assert signals.understood("Thanks for the quick delivery on the lamp! Quick one though: can it go on a dimmer?")[
        0
    ] in ("question", "unknown")


def test_every_training_label_is_an_intent_and_each_intent_is_learned():
    labels = [intent for _, intent in training_set(ROOT / TRAINING, ROOT / SET)]
    assert set(labels) <= {i.value for i in Intent}
    assert set(intentmodel.model().classes) == {i.value for i in Intent}
    assert len(labels) >= 3000


def test_a_typo_shares_most_features_with_the_word():
    keyboard, typo = intentmodel.char_grams("keyboard"), intentmodel.char_grams("keybord")
    assert len(set(keyboard) & set(typo)) / len(set(keyboard) | set(typo)) > 0.4
    assert intentmodel.word_grams("where is it") == intentmodel.word_grams("Where   is it")


@pytest.mark.parametrize("reply", ["yes please", "Yes, go ahead", "the blue one", "XL please", "ok", "that one"])
def test_a_reply_inside_a_conversation_is_not_a_new_request_nor_a_request_for_a_person(reply):
    scored = signals.score(reply)
    assert scored.intent == "unknown" and not scored.wants_human


def test_a_person_asked_for_anywhere_in_the_message_is_always_wanted():
    """Rules in code, whatever the model reads first."""
    text = "The kettle leaks. I want to return it, and I'd like to sort it out with an actual person, not a bot."
    assert signals.score(text).wants_human
    # a person wanted only if the rest fails: the rest is tried first
    assert not signals.score("I want to return the kettle. If you can't do that, get me a person.").wants_human
    assert not signals.score("I want to return the kettle, it leaks.").wants_human


def test_where_the_model_is_unsure_the_rules_read_the_message(monkeypatch):
    class Unsure:
        def predict(self, text: str) -> tuple[str, float]:
            return "human", signals.MODEL_FLOOR / 2

    monkeypatch.setattr(intentmodel, "model", lambda: Unsure())
    assert signals.understood("how long do refunds take?") == signals.classify("how long do refunds take?")


def test_venting_about_a_fault_is_not_asking_for_something():
    """The model may read a return in "it fell apart, so sad"; the handoff rule for strong feelings reads words."""
    assert not signals.score("My jacket fell apart after one week, so disappointing and sad").asks
    assert signals.score("My jacket fell apart, can I send it back?").asks


def sure_of(intent: str, probability: float):
    class Model:
        def predict(self, text: str) -> tuple[str, float]:
            return intent, probability

    return lambda: Model()


@pytest.mark.parametrize(
    ("text", "ruled", "model_reads", "floor"),
    [
        # a question the rules read is not started as an action the model is unsure of
        ("how long do refunds take?", "question", "return", signals.QUESTION_FLOOR),
        # thanks the rules read stand unless the model is fairly sure
        ("Then I'll keep it, thank you", "thanks", "exchange", signals.SOCIAL_FLOOR),
    ],
)
def test_the_rules_reading_stands_unless_the_model_is_sure_enough(monkeypatch, text, ruled, model_reads, floor):
    assert signals.classify(text)[0] == ruled
    monkeypatch.setattr(intentmodel, "model", sure_of(model_reads, floor - 0.05))
    assert signals.understood(text)[0] == ruled
    monkeypatch.setattr(intentmodel, "model", sure_of(model_reads, floor + 0.05))
    assert signals.understood(text)[0] == model_reads
