"""Per-message signals: what the customer wants (intent, typo tolerant), how they feel (sentiment), and whether
they asked for a person. These decide the engine's next move, so a wrong intent is a wrong reply."""

from __future__ import annotations

import pytest

from concierge.conversation.turn import Signals
from concierge.reasoning import signals


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        # returns and exchanges, with the typos people really make
        ("I need to retrun the blue shirt", "return"),
        ("I want to retrn this", "return"),
        ("I want my money back", "return"),
        ("can you refund my order please", "return"),
        ("I want to exchange for a bigger size", "exchange"),
        # where is my order
        ("where's my order??", "track"),
        ("wheres my order", "track"),
        ("trak my pakage", "track"),
        pytest.param(
            "wheres my pakage",
            "track",
            id="wheres-my-pakage",
        ),
        ("my parcel hasnt arrived", "track"),
        ("hi, my coffee beans still havent come, I ordered them 5 days ago?", "track"),
        pytest.param(
            "Where is order NW10031?",
            "track",
            id="where-is-order-id",
        ),
        ("has my order shipped yet?", "track"),
        ("Hi, where is my order", "track"),  # a greeting in front does not hide the request
        # a person, please
        ("talk to a human", "human"),
        ("I want a real person", "human"),
        ("Can I talk to an agent?", "human"),
        ("can I speak to a representative", "human"),
        # small talk
        ("hi", "greeting"),
        ("Good morning", "greeting"),
        ("thanks so much!", "thanks"),
        ("thats all, bye", "goodbye"),
        # questions about a policy start no action
        ("how long does a refund take?", "question"),
        ("do you sell pianos", "question"),
    ],
)
def test_intent_of_realistic_messages(text, intent):
    assert signals.classify(text)[0] == intent


# Messages a customer would plausibly type, where the typo corrector rewrites an ordinary English word into an
# intent keyword ("they" -> "hey", "change" -> "exchange", "what's" -> "that's").
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "when will they arrive?",
            {"track", "question"},
            id="they-becomes-hey",
        ),
        pytest.param(
            "I need to change my shipping address",
            {"question", "unknown"},
            id="change-becomes-exchange",
        ),
        pytest.param(
            "what's it made of",
            {"question", "unknown"},
            id="whats-it-becomes-thats-it",
        ),
    ],
)
def test_ordinary_words_are_not_corrected_into_another_intent(text, expected):
    assert signals.classify(text)[0] in expected


def test_typos_are_corrected_to_the_vocabulary_but_short_words_are_left_alone():
    assert signals.normalize("I need to retrun the blue shirt") == "i need to return the blue shirt"
    assert signals.normalize("trak my pakage") == "track my package"
    assert signals.normalize("Where’s my order?") == "where is my order"  # curly apostrophe from phones, expanded
    assert signals.normalize("teh hte") == "teh hte"  # under four letters: too short to guess safely


def test_a_long_message_that_starts_with_hi_is_about_its_request():
    assert signals.classify("hi, I need to return the blue shirt please")[0] == "return"
    assert signals.classify("hello there")[0] == "greeting"


def test_asking_about_the_policy_is_a_question_but_asking_for_the_action_is_a_return():
    assert signals.classify("how long do refunds take?")[0] == "question"
    assert signals.classify("can you refund my order?")[0] == "return"
    assert signals.classify("could you exchange it for a medium?")[0] == "exchange"
    # a condition in the question asks about the policy; one in the description of a fault does not
    assert signals.classify("if I open it, can I send it back?")[0] == "question"
    assert (
        signals.classify(
            "the cable from my October order only charges if I hold it at an angle. "
            "Can I send it back and get a refund?"
        )[0]
        == "return"
    )


def test_real_words_are_not_corrected_into_shorter_ones():
    assert signals.normalize("the black mouse") == "the black mouse"  # not "back"


def test_confidence_is_higher_for_a_recognised_intent_than_for_a_guess():
    _, sure = signals.classify("has my order shipped yet?")  # two tracking phrases
    _, fairly = signals.classify("tracking please")  # one
    _, unsure = signals.classify("blue")
    assert 0 <= unsure < fairly < sure <= 1
    assert signals.classify("blue") == ("unknown", 0.3)


def test_sentiment_of_angry_happy_and_neutral_messages():
    assert signals.sentiment("This is the worst service ever, I'm furious") < -0.5
    assert signals.sentiment("Thank you so much, that was really helpful!") > 0.5
    assert abs(signals.sentiment("where is my order")) < 0.05


@pytest.mark.parametrize(
    "text",
    [
        "talk to a human",
        "I want a real person",
        "Can I talk to an agent?",
        "I'd like to speak to someone",
        "get me customer service",
    ],
)
def test_an_explicit_request_for_a_person_is_flagged(text):
    scored = signals.score(text)
    assert isinstance(scored, Signals)
    assert scored.wants_human is True and scored.intent == "human"


@pytest.mark.parametrize("text", ["where is my order", "I need to return the blue shirt", "this is ridiculous"])
def test_other_messages_do_not_ask_for_a_person(text):
    assert signals.score(text).wants_human is False


@pytest.mark.parametrize(
    "text", ["this is ridiculous", "I'm sick of this", "what a waste of time", "I'm really unhappy, this is terrible"]
)
def test_frustration_is_flagged_with_negative_sentiment(text):
    scored = signals.score(text)
    assert scored.frustrated is True
    assert scored.sentiment < 0


def test_frustration_is_flagged_even_when_the_lexicon_sees_no_negative_word():
    scored = signals.score("I am fed up with waiting")
    assert scored.frustrated is True
    assert scored.sentiment == 0.0  # which is why frustration is its own signal


def test_a_calm_message_is_not_frustrated():
    scored = signals.score("Thanks, that was a great help")
    assert scored.frustrated is False and scored.sentiment > 0.5


@pytest.mark.parametrize(
    ("text", "affirmative", "negative"),
    [
        ("yes please", True, False),
        ("yeah go ahead", True, False),
        ("ok", True, False),
        ("no thanks", False, True),
        ("nope, not that one", False, True),
        ("yes... no wait, cancel", False, True),  # a "no" anywhere means it is not a clear yes
        ("blue", False, False),
    ],
)
def test_yes_and_no(text, affirmative, negative):
    assert signals.is_affirmative(text) is affirmative
    assert signals.is_negative(text) is negative


def _phrase_tables() -> list[str]:
    """Every phrase of the module's phrase tables (tuples of strings, and dicts of them)."""
    phrases: set[str] = set()
    for value in vars(signals).values():
        tables = value.values() if isinstance(value, dict) else [value]
        for table in tables:
            if isinstance(table, tuple | frozenset) and table and all(isinstance(p, str) for p in table):
                phrases.update(table)
    return sorted(phrases)


def test_has_phrase_finds_whole_words_as_the_pattern_does():
    """has_phrase answers normalized text without compiling a pattern: the same answers as the pattern, for every
    phrase of the tables, next to words, inside words, with apostrophes, at either end and in text not normalized."""
    phrases = _phrase_tables()
    assert len(phrases) > 100

    def pattern(text: str, phrase: str) -> bool:
        wanted = signals._phrase(phrase)
        return signals.re.search(rf"(?<![a-z0-9']){signals.re.escape(wanted)}(?![a-z0-9'])", text) is not None

    for phrase in phrases:
        word = signals._phrase(phrase)
        texts = [
            word,
            f"well {word} then",
            f"x{word}",
            f"{word}s",
            f"{word}'s please",
            f"'{word}",
            f"ok  {word}  ok",
            f"{word}, thanks",  # not normalized: the pattern's answer
            f"oh {word.upper()}",
            signals.normalize(f"Hi, {phrase}! Order #1234?"),
            "",
        ]
        for text in texts:
            assert signals.has_phrase(text, phrase) is pattern(text, phrase), (text, phrase)
