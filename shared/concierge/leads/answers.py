"""Answers to a merchant's qualifying questions read from a customer's own words (the deterministic engine), and
whether a message asks for the business line at all.

- a number: digits ("40", "1,200", "10k") or words ("twenty five", "a dozen"); a range counts as its lower end ("10
  to 20 laptops": 10); "under 10" as 9 and "more than 50" as 51; an amount of money is not a count. Where the message
  names the unit ("40 laptops", "a team of 40"), that number is the answer.
- a choice: an option's label or one of its other phrases, as whole words, not refused ("not within a month"); or, in
  a short answer, its place in the list ("the second one", "2").
- yes or no: in so many words ("yes we do", "nope", "not yet").

Before a question is asked, only what cannot be mistaken counts as its answer (`early_answers`): a number next to a
word of its unit, a choice named by one of its phrases. Yes/no questions are always asked.
"""

from __future__ import annotations

import re
from decimal import Decimal

from concierge.leads.config import Answer, LeadQuestion, LeadSettings, phrase_key

TOKEN = re.compile(r"\d+(?:[.,]\d+)*k?\b|[a-z]+|[$€£+]")
UNITS = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "dozen": 12,
}
TENS = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
SCALES = {"hundred": 100, "thousand": 1000}
MONEY_BEFORE = frozenset({"$", "€", "£"})
MONEY_AFTER = frozenset({"dollars", "dollar", "euros", "euro", "eur", "usd", "pounds", "gbp", "bucks", "budget"})
BELOW = ("under", "below", "less than", "fewer than", "not quite")
ABOVE = ("over", "above", "more than", "upwards of")
NOT_A_COUNT = frozenset({"the", "that", "this", "which", "other", "another", "each", "any", "no", "every", "some"})
# A year said as a date ("by 2027", "in March 2027") is no count.
DATE_WORDS = frozenset(
    {
        "by",
        "in",
        "until",
        "till",
        "before",
        "after",
        "since",
        "from",
        "of",
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    }
)
NEGATORS = frozenset({"not", "no", "dont", "never", "without", "nor"})
ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "last": -1}
YES = (
    "yes",
    "yeah",
    "yep",
    "yup",
    "yes please",
    "sure",
    "correct",
    "absolutely",
    "definitely",
    "indeed",
    "of course",
    "we do",
    "we are",
    "we have",
    "i do",
    "i am",
    "i have",
    "thats right",
    "that is right",
    "affirmative",
)
UNSURE = ("not sure", "dont know", "do not know", "no idea", "unsure", "maybe", "perhaps", "depends", "not certain")
NO = ("no", "nope", "nah", "not", "dont", "do not", "we dont", "not yet", "never", "negative", "none", "neither")


def _tokens(text: str) -> list[str]:
    return TOKEN.findall(text.lower().replace("’", "'").replace("'", ""))


def _digits(token: str) -> Decimal | None:
    if not token[0].isdigit():
        return None
    scale = 1000 if token.endswith("k") else 1
    body = token.rstrip("k")
    # "1,200" and "1.200" are thousands; "2.5" and "2,5" a fraction
    if re.fullmatch(r"\d{1,3}(?:[.,]\d{3})+", body) and not re.fullmatch(r"\d\.\d{3}", body):
        body = re.sub(r"[.,]", "", body)
    body = body.replace(",", ".")
    if body.count(".") > 1:
        return None
    return Decimal(body) * scale


def numbers(text: str) -> list[tuple[Decimal, int, int]]:
    """Every count said in `text`: (value, index of its first token, index after its last), amounts of money left
    out, "under"/"more than" before it applied."""
    tokens = _tokens(text)
    found: list[tuple[Decimal, int, int]] = []
    i = 0
    while i < len(tokens):
        start = i
        value = _digits(tokens[i])
        if value is not None:
            i += 1
        else:
            value, i = _words(tokens, i)
            if value is None:
                i += 1
                continue
        before = " ".join(tokens[max(0, start - 2) : start])
        money = (start > 0 and tokens[start - 1] in MONEY_BEFORE) or (i < len(tokens) and tokens[i] in MONEY_AFTER)
        year = len(tokens[start]) == 4 and 1990 <= value <= 2100 and start > 0 and tokens[start - 1] in DATE_WORDS
        if money or year:
            continue
        whole = value == value.to_integral_value()
        if any(before.endswith(word) for word in BELOW) and whole and value > 0:
            value -= 1
        elif any(before.endswith(word) for word in ABOVE) and whole:
            value += 1
        found.append((value, start, i))
    return found


def _words(tokens: list[str], i: int) -> tuple[Decimal | None, int]:
    """A number written in words from token i ("twenty five", "two hundred and fifty", "a dozen"), and the index
    after it; (None, i) when none starts there."""
    total, current, j, seen = 0, 0, i, False
    if tokens[j] == "a" and j + 1 < len(tokens) and tokens[j + 1] in ("dozen", "hundred", "thousand"):
        current, j, seen = 1, j + 1, True
    while j < len(tokens):
        word = tokens[j]
        if word in UNITS and word != "dozen":
            if seen and current % 10 == 0 and current >= 20 and word != "zero":
                current += UNITS[word]
            elif seen:
                break
            else:
                current = UNITS[word]
        elif word in TENS:
            if seen and current % 100:
                break
            current += TENS[word]
        elif word == "dozen":
            current = (current or 1) * 12
        elif word in SCALES:
            current = (current or 1) * SCALES[word]
            if word == "thousand":
                total, current = total + current, 0
        elif word == "and" and seen and j + 1 < len(tokens) and (tokens[j + 1] in UNITS or tokens[j + 1] in TENS):
            j += 1
            continue
        else:
            break
        seen, j = True, j + 1
    if not seen:
        return None, i
    if (
        tokens[i] == "one"
        and j == i + 1
        and ((i > 0 and tokens[i - 1] in NOT_A_COUNT) or (j < len(tokens) and tokens[j] in ("of", "thing", "more")))
    ):  # "the other one", "one of them", "one more thing": no count
        return None, i
    return Decimal(total + current), j


def _near_unit(question: LeadQuestion, tokens: list[str], start: int, end: int) -> bool:
    """Whether a word of the question's unit follows the number within three words ("40 new laptops"), or ends right
    before it ("a team of 40", "laptops: 40")."""
    after = " ".join(tokens[end : end + 3])
    before = " ".join(tokens[max(0, start - 3) : start])
    for word in question.unit_words():
        if re.match(rf"(?:\w+ ){{0,2}}{re.escape(word)}s?\b", after) or re.search(rf"\b{re.escape(word)}s?$", before):
            return True
    return False


def _number(question: LeadQuestion, text: str, early: bool) -> Answer | None:
    tokens = _tokens(text)
    said = numbers(text)
    named = [n for n in said if _near_unit(question, tokens, n[1], n[2])]
    chosen = named or ([] if early else said)
    for value, _, _ in chosen[:1]:
        try:
            return question.check(value)
        except ValueError:
            return None
    return None


def _mentions(key: str, phrase: str) -> list[int]:
    """Where `phrase` is said in `key` as whole words, not refused ("not within a month"): the word indexes."""
    words = key.split()
    size = len(phrase.split())
    return [
        n
        for n in range(len(words) - size + 1)
        if " ".join(words[n : n + size]) == phrase and not (NEGATORS & set(words[max(0, n - 2) : n]))
    ]


def _choice(question: LeadQuestion, text: str, early: bool) -> Answer | None:
    key = phrase_key(text)
    hits = [(o, p) for o in question.choices for p in o.phrases() if _mentions(key, p)]
    # a phrase inside a longer one that was said names nothing of its own ("month" in "within a month")
    hits = [(o, p) for o, p in hits if not any(p != q and f" {p} " in f" {q} " for _, q in hits)]
    options = {o.label: o for o, _ in hits}
    if len(options) == 1:
        return next(iter(options))
    if options or early or len(key.split()) > 5:
        return None
    picked = _place(key, len(question.choices))
    return question.choices[picked].label if picked is not None else None


def _place(key: str, count: int) -> int | None:
    """The option picked by its place in a short answer: "2", "the second one", "option 3", "the last"."""
    for word in key.split():
        place = int(word) if word.isdecimal() and len(word) <= 2 else ORDINALS.get(word)
        if place == -1:
            return count - 1
        if place is not None and 1 <= place <= count:
            return place - 1
    return None


def _yes_no(text: str) -> bool | None:
    key = phrase_key(text)
    if any(_said(key, p) for p in UNSURE):
        return None
    yes = [p for p in YES if _said(key, p)]
    no = [p for p in NO if _said(key, p)]
    if yes and not no:
        return True
    if no and not yes:
        return False
    first = key.split()[0] if key else ""
    if first in ("yes", "yeah", "yep", "yup", "sure"):
        return True
    if first in ("no", "nope", "nah"):
        return False
    return None


def _said(key: str, phrase: str) -> bool:
    return f" {phrase} " in f" {key} "


def parse(question: LeadQuestion, text: str) -> Answer | None:
    """The answer to `question`, which was just asked, in the customer's words; None when the words hold none (or
    one the question does not take, such as a number outside its range)."""
    if question.kind == "number":
        return _number(question, text, early=False)
    if question.kind == "choice":
        return _choice(question, text, early=False)
    return _yes_no(text)


def early_answers(settings: LeadSettings, text: str, skip: str | None = None) -> dict[str, Answer]:
    """The answers a message gives to questions not (or not yet) asked: a number said with a word of its unit, a
    choice named by one of its phrases. `skip`: the question just asked, read by `parse` instead."""
    found: dict[str, Answer] = {}
    for question in settings.questions:
        if question.id == skip or question.kind == "yes_no":
            continue
        value = _number(question, text, early=True) if question.kind == "number" else _choice(question, text, True)
        if value is not None:
            found[question.id] = value
    return found


def requested(settings: LeadSettings, text: str) -> str | None:
    """The merchant's request phrase the message uses ("can we get a quote for our office?" -> "quote"), said as
    whole words (a plural counts) and not refused ("we don't need a quote"); None when it uses none."""
    key = phrase_key(text)
    words = key.split()
    for phrase in settings.requests:
        wanted = phrase_key(phrase)
        size = len(wanted.split())
        for n in range(len(words) - size + 1):
            said = " ".join(words[n : n + size])
            if said in (wanted, f"{wanted}s", f"{wanted}es") and not (NEGATORS & set(words[max(0, n - 3) : n])):
                return phrase
    return None
