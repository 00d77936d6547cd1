"""What a customer's message asks, read against their own data: the intents of its requests, the order it names,
the item of theirs it means and the variant they want instead.

The deterministic engine acts on these readings, and `concierge understanding` measures them on a labelled set
(evaluation/understanding/). Everything here is plain text matching against the customer's orders and the
merchant's catalogue: no store's ids, option names or products are assumed.
"""

from __future__ import annotations

import itertools
import re
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from concierge.knowledge import STOPWORDS
from concierge.reasoning import signals
from concierge.reasoning.orderref import compact, matches_order, order_reference


class Intent(StrEnum):
    """What a request asks for (the values are those `signals.classify` returns and conversations store)."""

    RETURN = "return"
    EXCHANGE = "exchange"
    TRACK = "track"
    CANCEL = "cancel"
    REMOVE_ITEM = "remove_item"
    ADDRESS = "address"
    PASSWORD = "password"
    APPOINTMENT = "appointment"
    HUMAN = "human"
    QUESTION = "question"
    GREETING = "greeting"
    THANKS = "thanks"
    GOODBYE = "goodbye"
    UNKNOWN = "unknown"


# What needs the customer's account: an unverified sender is told how to get it instead.
ACCOUNT_INTENTS = frozenset(
    {
        Intent.RETURN,
        Intent.EXCHANGE,
        Intent.TRACK,
        Intent.CANCEL,
        Intent.ADDRESS,
        Intent.REMOVE_ITEM,
        Intent.PASSWORD,
        Intent.APPOINTMENT,
    }
)
# Intents about one of the customer's items, for which the item they mean is looked for.
ITEM_INTENTS = frozenset({Intent.RETURN, Intent.EXCHANGE, Intent.TRACK, Intent.CANCEL, Intent.REMOVE_ITEM})
# Nothing to act on: a reading of several requests acts on the first that is none of these.
NOT_ACTIONABLE = frozenset({Intent.QUESTION, Intent.UNKNOWN, Intent.GREETING})

# Words of a message that say nothing about which item it means.
GENERIC_WORDS = frozenset(
    [
        "where",
        "when",
        "what",
        "which",
        "why",
        "how",
        "is",
        "are",
        "was",
        "were",
        "my",
        "the",
        "a",
        "an",
        "this",
        "that",
        "these",
        "those",
        "it",
        "its",
        "i",
        "me",
        "you",
        "your",
        "order",
        "orders",
        "item",
        "items",
        "thing",
        "one",
        "ones",
        "please",
        "hi",
        "hello",
        "hey",
        "still",
        "yet",
        "not",
        "arrived",
        "arrive",
        "arriving",
        "delivered",
        "delivery",
        "package",
        "parcel",
        "track",
        "tracking",
        "status",
        "shipped",
        "ship",
        "shipping",
        "return",
        "returns",
        "refund",
        "exchange",
        "swap",
        "cancel",
        "cancelling",
        "want",
        "would",
        "like",
        "need",
        "get",
        "got",
        "bought",
        "ordered",
        "from",
        "last",
        "recent",
        "latest",
        "new",
        "can",
        "could",
        "do",
        "does",
        "did",
        "have",
        "has",
        # "let's not": no tail of a Tablet or an Outlet
        "let",
        "lets",
        "of",
        "for",
        "to",
        "in",
        "on",
        "with",
        "and",
        "or",
        "but",
        "so",
        "just",
        "any",
        "some",
        "come",
        "coming",
        "here",
        "there",
        "hasn",
        "haven",
        "isn",
        "didn",
        "don",
        "doesn",
        "won",
        "t",
        "s",
        "ve",
        "ll",
        "d",
        "m",
        "received",
        "receive",
        "came",
        "yet",
        "thanks",
        "thank",
        "much",
        "something",
        "stuff",
        "anything",
        "everything",
        "back",
        "send",
    ]
)

# Items the customer keeps ("I keep the hub", "I'll hang on to the mug") and the item a request verb names.
KEPT = re.compile(
    r"\b(?:keep|keeping|hang on to|hold on to|holding on to"
    # "remove the canisters… I only need the tea towels now", "I still want the tablet" (not "I only want the cable
    # taken off")
    r"|(?:i|we)\s+(?:do\s+)?(?:still\s+(?:want|need)|only\s+need|just\s+need)"
    r"(?=\s+(?:the|my|our)\s+(?![\w -]*\b(?:taken|sent|swapped|changed|removed|cancell?ed|refunded|returned|replaced"
    r"|exchanged|off|back|instead|in|as)\b))"
    # "leave the tea towels ON the order" (not "leave the mug off", "leave the parcel at the door")
    r"|leave(?=\s+(?:the|my|our)\s+[\w -]{1,40}?\s+(?:on|in)\s+(?:the|my|our|it|that|this)\b)"
    r"(?!(?:(?!\band\b)[^.,!?;])*\b(?:off|out|at|outside|with)\b))"
    r"\s+(?:the|my|our)\s+[\w -]{1,40}?"
    # "keep the jumper and the jacket", "keep the jumper and socks": each item kept (not "and send the socks back")
    rf"(?:\s+and\s+(?:(?:the|my|our)\s+[\w -]{{1,40}}?|(?!(?:{signals.REQUEST_VERB}|i|we|you|it|they)\b)\w+))*"
    r"(?=[.,!?;]|$|\s+(?:and|but)\b)"
    # "…only the cable, the hub I'm keeping": the item said before the keeping
    # (the item's own words only: "the cable I ordered with it I'm keeping" is left as it was said)
    r"|\b(?:the|my|our)\s+(?:(?!(?:i|we)\b)[\w-]+\s+){1,5}?(?:i'?m|i am|i'?ll|i will|we'?re|we are|we'?ll|i want to|"
    r"i'?d like to)\s+"
    r"(?:keep|keeping|hang(?:ing)? on to|hold(?:ing)? on to)\b"
    # "…taken off A-20930 please; the cable can still ship", "the glass set should still come"
    r"|\b(?:the|my|our)\s+(?:(?!(?:i|we|it|they)\b)[\w-]+\s+){1,4}?(?:can|should|may|will)\s+still\s+"
    r"(?:ship|come|go(?: out| ahead)?|be sent|stay)\b",
    re.IGNORECASE,
)
REQUEST_OBJECT = re.compile(
    r"\b(?:return|send back|refund|exchange|swap|replace|cancel|remove|take out)\s+"
    r"(?:the|my|this|these|those|our)\s+([\w -]{1,40}?"
    # "return the pen and the notebook": each item the verb names
    r"(?:\s+and\s+(?:the|my|this|these|those|our)\s+[\w -]{1,40}?)*)"
    # where the item's name ends: "send back the little white cone thing i got with my beans" names the cone;
    # "return the grinder from order #501" the grinder
    r"(?=[.,!?;]|$|\s+(?:please|for|because|as|and|but|back|since|so|i|we|that|which|from|on|off|in)\b)",
    re.IGNORECASE,
)
# What the customer says they keep or are happy with, in a sentence of its own ("The espresso cups are lovely tho,
# keeping those :)", "the power bank is fine though"): not the item a request is about.
KEEPS_THOSE = re.compile(
    r"\b(?:keep|keeping|hang on to|hold on to|holding on to)\s+(?:it|them|those|these|that|this|that one|the rest)\b",
    re.IGNORECASE,
)
IS_FINE = re.compile(
    r"\b(?:is|are|was|were|seems?|looks?)\s+(?:totally\s+|perfectly\s+|absolutely\s+|really\s+|all\s+|just\s+)?"
    r"(?:fine|ok|okay|great|perfect|lovely|gorgeous|beautiful)\b|\b(?:happy|pleased)\s+with\b",
    re.IGNORECASE,
)
SENTENCE = re.compile(r"[^.!?;\n]+[.!?;\n]*")
CLAUSE = re.compile(r"[^,]+?(?:,|\b(?:but|though|tho|although|whereas)\b|$)", re.IGNORECASE)
# Money asked back: a return, whatever other one of the item is named beside it
ASKS_ITEM_BACK = re.compile(r"\b(?:return|send\w*\s+(?:\w+\s+){0,5}?back|refund|exchange|swap|replace)\b", re.I)


def said_kept(text: str) -> str:
    """What the customer says they keep ("I still want the tea towels"), its phrases joined; "" when nothing."""
    return " ".join(m.group(0) for m in KEPT.finditer(text))


def without_kept(text: str) -> str:
    """The customer's words without what they keep ("I'll keep the hub"), unless that is all they name."""
    kept = KEPT.sub(" ", text)
    return kept if content_words(kept) else text


def without_praised(text: str, lines: list[dict[str, Any]]) -> str:
    """`without_kept`, and without a sentence saying they keep "those" and asking nothing back, or a clause saying
    something is fine ("the storage containers are fine"), when what is left still names one of `lines` by its
    words: otherwise ("the kettle is great but the lid cracked") what they praise is still what they mean."""
    kept = without_kept(text)
    sentences = []
    for sentence in SENTENCE.findall(kept):
        if KEEPS_THOSE.search(sentence) and not ASKS_ITEM_BACK.search(KEEPS_THOSE.sub(" ", sentence)):
            continue
        sentences.append("".join(c for c in CLAUSE.findall(sentence) if not IS_FINE.search(c)))
    rest = " ".join(sentences)
    named = request_object(rest)
    return rest if any(item_score(rest, named, line) for line in lines) else kept


# ...and the request verbs whose item sits inside them: "take the serum off my order", "send the boots back"
SPLIT_REQUEST_OBJECT = re.compile(
    r"\b(?:take|leave|drop|send|give|bring)\s+(?:the|my|this|these|those|our)\s+([\w -]{1,40}?)\s+(?:off|out|back)\b",
    re.IGNORECASE,
)


def request_object(text: str) -> str:
    """The words a request verb names ("cancel the striped towels, keep the glass ones coming" -> "striped towels";
    "take the serum off my order" -> "serum")."""
    return " ".join(m.group(1) for pattern in (REQUEST_OBJECT, SPLIT_REQUEST_OBJECT) for m in pattern.finditer(text))


def named_order(text: str, orders: list[dict[str, Any]]) -> tuple[str | None, dict[str, Any] | None]:
    """(what the customer wrote, the one order of theirs it names, or None: also when it could be two of them)."""
    reference = order_reference(text)
    if reference is None:
        # a bare number that is one of their orders' ("is it too late to cancel 1034?"); any other bare number is a
        # quantity, a house number or a price, not an order
        bare = [
            n
            for n in re.findall(r"(?<![\w.,-])\d{4,}(?![\w,]|\.\d)", without_address(text))
            if not 1900 <= int(n) <= 2099
        ]
        mine = [(n, o) for n in bare for o in orders if matches_order(n, o["order_id"])]
        if len({o["order_id"] for _, o in mine}) == 1:
            return mine[0][0], mine[0][1]
        # a bare number of the shape of their order numbers, where those are bare numbers too ("has 100519 shipped
        # yet?" from a customer whose orders are 100482 and 100391): an order number, though none of theirs
        shaped = [
            n for n in bare if orders and all(o["order_id"].isdigit() and len(o["order_id"]) == len(n) for o in orders)
        ]
        return (shaped[0], None) if len(shaped) == 1 and not mine else (None, None)
    matching = [o for o in orders if matches_order(reference, o["order_id"])]
    return reference, matching[0] if len(matching) == 1 else None


# Words after a country code that make it a place, not a variant: "from US to Oslo", "US based", "UK and Ireland"
PLACE_WORDS = "to|from|and|or|but|so|then|with|in|on|at|is|was|based|side|customer|customers|address|time"


def mentions_value(text: str, value: str) -> bool:
    """Whether the customer named an option value: "green", "1 L", "5-piece", "size 9.5"; a one- or two-letter
    size ("M", "XL") only as "size M", "an M", "the XL" or "in M", never inside "I'm"."""
    lowered = " ".join(re.findall(r"[a-z0-9.]+", text.lower().replace("-", " ")))
    wanted = " ".join(re.findall(r"[a-z0-9.]+", value.lower().replace("-", " ")))
    if not wanted:
        return False
    packed = compact(value)
    if any(c.isdigit() for c in packed) and packed in {compact(token) for token in text.split()}:
        return True  # "1l" for "1 L", "64gb" for "64 GB"
    if len(wanted) <= 2 and wanted.isalpha():
        if re.search(rf"\b(size|an?|the|in)\s+{re.escape(wanted)}\b", lowered):
            return True
        # a two-letter code written in capitals as the value is ("to US layout", "the UK plug"), in a message that
        # does not shout ("CAN YOU HELP US")
        shouted = sum(c.isupper() for c in text) > sum(c.islower() for c in text)
        code = value.strip()
        if len(code) != 2 or not code.isupper() or shouted:
            return False
        # the code as a value, not a place: before the option's word ("US layout", "UK plug", "EU version"), or
        # what the swap is to at the end ("swap it for US?"); not "we moved from US to Oslo"
        said = re.escape(code)
        return (
            re.search(rf"(?<![\w.]){said}\s+(?!(?i:{PLACE_WORDS})\b)[A-Za-z]{{3,}}", text) is not None
            or re.search(rf"\b(?:to|for|into)\s+(?:the\s+)?{said}\s*[?.!]*\s*$", text) is not None
        )
    # "whole beans" for "Whole Bean"
    return re.search(rf"(?<![\w.]){re.escape(wanted)}(?:e?s)?(?![\w.])", lowered) is not None


POSTCODE = re.compile(
    r"\b(\d{4}\s?[A-Z]{2}(?=\s|,|$)|\d{4,5}(?:-\d{4})?|[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}"
    # an Irish Eircode: "D6W XK52", "A65 F4E2"
    r"|[A-Z]\d[\dW]\s?[A-Z\d]{4})\b",
    re.IGNORECASE,
)
# A postal district named with the city ("Dublin 6W", "Paris 11", "Wien 3"): a city, not a street
CITY_DISTRICT = re.compile(r"^[A-Za-z][A-Za-z .'-]+\s\d{1,2}[A-Za-z]?$")


CHANGE_WHERE = re.compile(
    # "can I change where the canister gets shipped", "update the delivery address"; not "update me on the delivery"
    r"\b(change|switch|redirect|move)\b[^.?!]{0,30}\b(where|address|delivery|deliver\w*|ship\w*)\b"
    r"|\bupdate (?:the|my) (?:delivery |shipping )?address\b",
    re.IGNORECASE,
)
# A parcel to go somewhere other than home: a locker, a pick-up point, a neighbour, their work
DELIVERED_ELSEWHERE = re.compile(
    r"\b(?:go|going|goes|be delivered|be sent|be shipped|be left|deliver(?:ed)? (?:it|them)|send (?:it|them)"
    r"|ship (?:it|them)|leave (?:it|them)|redirect (?:it|them))\b"
    r"(?:\s+\w+){0,3}?\s+(?:to|at|with)\s+(?:the|my|our|a|an)\s+"
    r"(?:[\w'-]+\s+){0,2}?(?:packstation|parcel ?locker|locker|pick-?up point|collection point|post office|parcel shop"
    r"|neighbou?r'?s?|office|workplace)\b",
    re.IGNORECASE,
)
# Where what leads to a question ends: "And a question while I'm here: will it…", "one more thing - does it…"
LEAD_IN = re.compile(r"[:;]\s+|\s+-\s+")
INSTEAD = re.compile(r"\binstead\b")
SEND_TO = re.compile(r"\b(send|ship|deliver|redirect|forward|post|mail)\b[^.?!]*\bto\b", re.IGNORECASE)
# "Apt 5B", "Suite 200", and a flat or floor written bare after the street, as much of Europe does ("4B", "2-1")
UNIT = re.compile(
    r"^(?:(?:apt|apartment|unit|suite|ste|flat|floor|fl|room|building|bldg|#)\b"
    r"|\d{1,3}\s?[a-z]?[º°ª]?(?:[\s-]\d{1,3}[a-z]?[º°ª]?)?$)",
    re.IGNORECASE,
)
STREET_LEAD_IN = re.compile(
    r"^(?:it'?s|it is|that'?s|that is|this is|(?:the|my|our) (?:new )?address is|new address:?|address:?)\s+"
    # ...or the place it is: "my office at 233 S Wacker Dr", "our new flat on 12 Rue Oberkampf"
    r"|^(?:my|our|the)\s+(?:[a-z'-]+\s+){1,3}?(?:at|on|in)\s+(?=\d)",
    re.IGNORECASE,
)
# The address the order would have gone to, named after the new one ("…, WI 53704 instead of Butler St?"): to its
# clause's end
OLD_ADDRESS = re.compile(r"\s*\b(?:instead of|rather than)\b[^,;:?!.]*", re.IGNORECASE)
# Where the words after a postcode stop being the city: a sentence's end, not an abbreviation's ("75001 St. Denis")
CITY_END = re.compile(r"(?<!\bSt)(?<!\bSte)(?<!\bMt)(?<!\bFt)(?<!\b[A-Z])[.!?;]")  # nor "Washington D.C."
REGION = re.compile(r"^[A-Z]{2,3}$")  # a state or province code beside the postcode: "IL 60614"
# A street has a name beside its number: a word of three letters, or two short ones ("1120 NW 85th St")
STREET_WORDS = re.compile(r"[A-Za-z]{3}|\b[A-Za-z]{2}\b.*\b[A-Za-z]{2}\b")


def parse_address(text: str) -> dict[str, str] | None:
    """Street and number, postcode and city from a customer's words ("412 Maple Ave, Evanston IL 60201",
    "Kortrijksesteenweg 1070, 9051 Ghent", "Dana Ruiz, 2250 N Clybourn Ave, Apt 5B, Chicago, IL 60614, US"): the
    last comma-separated part with a postcode gives postcode and city (with the part before it when it holds only a
    state code), the part before those the street, with any apartment or suite after it. None when it does not read
    as an address (then the customer is asked for one)."""
    text = OLD_ADDRESS.sub("", text)  # "…go to 2210 Atwood Ave, Madison, WI 53704 instead of Butler St?"
    text = re.sub(r"\s+\b(instead|please|pls|thanks|thank you)\b", "", text, flags=re.IGNORECASE)
    pieces = [p for p in re.split(r"[?:]|\bto\b(?=[^,]*\d)", text) if re.search(r"\d", p)]
    tail = pieces[-1] if pieces else text
    parts = [p.strip(" .!") for p in tail.split(",") if p.strip(" .!")]
    if len(parts) < 2:
        return None
    for i in range(len(parts) - 1, 0, -1):
        code = POSTCODE.search(parts[i])
        if not code:
            continue
        # the city beside the postcode, not the sentences around it ("…Seattle WA 98109. Same name. Yes, change it.")
        after = CITY_END.split(parts[i][code.end() :], maxsplit=1)[0]
        city = (parts[i][: code.start()] + after).strip(" ,")
        j = i - 1
        if (
            (not city or REGION.fullmatch(city))
            and j >= 1
            and (not re.search(r"\d", parts[j]) or CITY_DISTRICT.match(parts[j]))
        ):
            city, j = f"{parts[j]} {city}".strip(), j - 1  # "Chicago, IL 60614"
        units: list[str] = []
        while j >= 1 and UNIT.match(parts[j]):
            units.insert(0, parts[j])
            j -= 1
        street = STREET_LEAD_IN.sub("", parts[j])  # "It's 1907 Baltimore Ave": the street is "1907 Baltimore Ave"
        if city and re.search(r"\d", street) and STREET_WORDS.search(street):
            line1 = ", ".join([street, *units])
            return {"line1": line1[:200], "city": city[:100], "postcode": code.group(1).upper()[:12]}
    return None


def without_address(text: str) -> str:
    """The customer's words without the address they give ("…go to the new apartment? It's 1907 Baltimore Ave, Apt 5,
    Kansas City, MO 64108"): its house and flat numbers and postcode name no item ("Apt 5" is not the 5-piece set)
    and no order number."""
    address = parse_address(text)
    if address is None:
        return text
    start = text.find(address["line1"].split(",")[0].strip())
    end = text.upper().find(address["postcode"].upper(), max(start, 0))
    if start < 0 or end < 0:
        return text
    return f"{text[:start]} {text[end + len(address['postcode']) :]}".strip()


WANTED = re.compile(
    r"\b(?:for|to|want|prefer|get|into|with)\s+(?:the|a|an|one of the|some)?\s*([\w .,/-]{1,40}?)"
    r"(?:\s+(?:one|ones|version|model|instead|please|variant)\b|[?.!,]|$)",
    re.IGNORECASE,
)


EXCHANGE_TARGET = re.compile(
    # not what a refund is for ("I don't want a refund for the clay cup, I'd like the black one")
    r"(?<!\brefund )(?<!\bback )(?<!\bcredit )"
    r"\b(?:for|to|into)\s+(?:the|a|an)\s*[\w .-]{1,40}?(?:\s+(?:one|ones|version|model|set|"
    r"instead)\b|[?.!,]|$)"
    # "could I get it in black instead?"
    r"|\b(?:get|have|want|need)\s+(?:it|them|one)\s+in\s+(?:the\s+)?[\w .-]{1,40}?(?:\s+instead\b|[?.!,]|$)"
    # "can the decaf be whole bean instead?"
    r"|\bbe\s+(?:the\s+|a\s+|an\s+)?[\w .-]{1,40}?\s+(?:one|ones|version|instead)\b",
    re.IGNORECASE,
)


def wanted_words(text: str) -> set[str]:
    """The words of what the customer asks for ("swap it for the usb-c one" -> {usb, c})."""
    words: set[str] = set()
    for match in WANTED.finditer(text):
        words |= value_words(match.group(1))
    return words


def value_words(value: str) -> set[str]:
    return {
        w for w in re.findall(r"[a-z0-9.]+", value.lower().replace("-", " ")) if w not in STOPWORDS and w not in ("to",)
    }


def base_form(word: str) -> str:
    """A word without the endings its other forms add: "dotted", "dots" and "dot" -> dot; "squared" and "square"
    -> squar; "spotty" -> spot; "batteries" -> battery."""
    if len(word) > 4 and word.endswith("ies"):
        word = word[:-3] + "y"
    elif len(word) > 3 and re.search(r"(?:[sxz]|ch|sh)es$", word):
        word = word[:-2]
    elif len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        word = word[:-1]
    if len(word) > 4 and (word.endswith("ed") or (word.endswith("y") and word[-2] not in "aeiouy")):
        word = word[:-2] if word.endswith("ed") else word[:-1]
        if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "lsz":
            word = word[:-1]  # "dotted" -> dot, "spotty" -> spot
    return word[:-1] if len(word) > 3 and word.endswith("e") else word


def overlap(value: str, wanted: set[str]) -> float:
    """Jaccard similarity of an option value's words and the wanted words, each in its base form ("dotted" is a
    word of "Dot Grid")."""
    words = {base_form(w) for w in value_words(value)}
    wanted = {base_form(w) for w in wanted}
    return len(words & wanted) / len(words | wanted) if words and wanted else 0.0


def loosely_said(text: str, value: str) -> bool:
    """Whether the customer names a value less plainly than in full: a word of it typed with one letter wrong,
    missing or extra, where theirs is no English word ("blak" for Black), or its initials in capitals ("an EF nib"
    for Extra Fine)."""
    words = re.findall(r"[a-z]+", value.lower())
    if len(words) > 1 and re.search(rf"(?<![\w.]){''.join(w[0] for w in words).upper()}(?![\w.])", text):
        return True
    said = {w for w in re.findall(r"[a-z]+", text.lower()) if len(w) >= 4 and w not in signals.english_words()}
    return any(one_typo_apart(w, v) for w in said for v in words if len(v) >= 4 and w != v)


def content_words(text: str) -> set[str]:
    """The words of a message that can name an item (not 'where is my order')."""
    token = r"[a-z0-9]+(?:\.[a-z0-9]+)*"
    words = {w for w in re.findall(token, text.lower()) if w not in GENERIC_WORDS and w not in STOPWORDS}
    return words | {w[:-1] for w in words if w.endswith("s") and len(w) > 3}


def singular(word: str) -> str:
    return word[:-1] if word.endswith("s") and len(word) > 3 else word


def stem(word: str) -> str:
    """A word without its plural ending: "glasses" -> glass, "batteries" -> battery, "cups" -> cup, "glass" stays."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and re.search(r"(?:ss|sh|ch|x|z)es$", word):
        return word[:-2]
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def item_words(text: str) -> set[str]:
    """The words of a text that can name an item, each in the singular."""
    token = r"[a-z0-9]+(?:\.[a-z0-9]+)*"
    return {stem(w) for w in re.findall(token, text.lower()) if w not in GENERIC_WORDS and w not in STOPWORDS}


# A number of days, times or hours ("hasn't moved in 2 days", "worn 4 or 5 times"): no item's number ("2 m")
DURATION = re.compile(
    r"\b\d+(?:[.,]\d+)?(?:\s*(?:or|to|-)\s*\d+)?\s*(?:days?|weeks?|months?|years?|hours?|hrs?|minutes?|mins?|"
    r"seconds?|secs?|times?|nights?|am|pm)\b",
    re.IGNORECASE,
)


def line_score(text: str, line: dict[str, Any]) -> int:
    """How many of the customer's item words are words of this order line's title and options, a word of five
    letters or more also when one letter is wrong, missing or extra ("kettel", "keybord"), and the last part of a
    word made of two ("watch" of "Smartwatch"). A word counts once, in
    the singular or the plural ("cups" is not two words of "Espresso Cups", "glasses" is the "Glass")."""
    words = item_words(DURATION.sub(" ", text))
    terms = item_words(line["title"] + " " + " ".join(line["options"].values()))
    exact = words & terms
    near = {w for w in words - exact if len(w) >= 5 and any(len(t) >= 5 and one_typo_apart(w, t) for t in terms)}
    # the last part of a word made of two ("the watch" of a Smartwatch, "the buds" of Earbuds)
    tail = {w for w in words - exact if len(w) >= 3 and any(len(t) >= len(w) + 3 and t.endswith(w) for t in terms)}
    return len(exact | near | tail)


def title_score(text: str, line: dict[str, Any]) -> int:
    """`line_score` on the line's title alone: what names the thing, not one of its options."""
    return line_score(text, {"title": line["title"], "options": {}})


def one_typo_apart(a: str, b: str) -> bool:
    """One letter changed, added, dropped or two neighbours swapped."""
    if abs(len(a) - len(b)) > 1 or a == b:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (
            len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]
        )
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return any(long_[:i] + long_[i + 1 :] == short for i in range(len(long_)))


# Words of a title that say how many, not what it is: "Light Set", "Toy Bundle", "Socks 3-Pack".
COUNT_WORDS = frozenset({"set", "sets", "pack", "packs", "bundle", "pair", "pairs", "kit", "piece", "pieces", "pc"})


def title_head(title: str) -> str | None:
    """What a product is, as English names it: the last word of its name, before what it comes with or in and
    without amounts ("Bottled Fountain Pen Ink 50 ml" is ink, "Brass Fountain Pen" a pen, "Floor Pump with Gauge"
    a pump, "Gel Pens, Pack of 10" pens), in the singular."""
    name = re.split(r",|\s[-\u2013\u2014(]\s?|\s(?:with|for|in|of)\s", title.lower())[0]
    words = [
        w
        for w in re.findall(r"[a-z0-9]+", name)
        if not re.search(r"\d", w) and w not in COUNT_WORDS and not _said_unit(w)
    ]
    return stem(words[-1]) if words else None


def item_score(text: str, named: str, line: dict[str, Any]) -> int:
    """How well the customer's words name an item; what a request verb names (`named`: "return the cable please,
    the hub came with one") outweighs what is only mentioned, and a word of the product's name what names one of
    its options ("my tablet" is the tablet, not the screen protector that fits it)."""

    def weighed(words: str) -> int:
        return 2 * line_score(words, line) + title_score(words, line)

    # "the green knit" for the jumper in Forest: a colour they say that the line's options are, not in so many words
    # (those count above)
    families = set().union(set(), *(colour_families(str(v)) for v in line["options"].values()))
    colour = bool((colours_said(text) - item_words(" ".join(line["options"].values()))) & families)
    # of two items a word names, the one it is the name of ("the pen leaks": the pen, not the pen ink)
    head = title_head(line["title"]) in item_words(text)
    return weighed(text) + 2 * weighed(named) + int(colour) + int(head)


def match_line(text: str, lines: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The one line the words name best, or None when none or two name it equally; what the customer keeps ("the
    containers are fine, I'm keeping those") does not name one."""
    text = without_praised(text, lines)
    scored = sorted(((line_score(text, line), i) for i, line in enumerate(lines)), reverse=True)
    if scored and scored[0][0] > 0 and (len(scored) == 1 or scored[1][0] < scored[0][0]):
        return lines[scored[0][1]]
    return None


LATEST = re.compile(
    r"\b(last|latest|recent|most recent|newest)\s+(order|delivery|purchase|parcel|package)\b", re.IGNORECASE
)


class ItemMatch(BaseModel):
    """The order lines a request names best (indexes into the candidates, newest order first among equals), with
    the words it was read from: `have` (what the customer has, not what they want or keep) and `named` (what a
    request verb names). `unique`: the customer's words name one line and no other as well (not a tie broken by
    which order has arrived or is the newest, nor a guess by meaning)."""

    best: list[int]
    have: str
    named: str
    latest: bool
    unique: bool = False


# What a customer calls an item may share no word with the catalogue ("the big pot" for a dutch oven, "the mag rack"
# for a magnetic knife strip): where no word matches, the meaning of their words is compared with each of their
# items' title and options (sentences.py), and the closest is taken if its cosine similarity reaches the floor and
# it is ahead of the next product by the margin. Both were chosen on the tuning half of the labelled set (item
# accuracy 0.844 by words alone, 0.881 with meaning; a margin above 0 measured lower).
SEMANTIC_FLOOR = 0.2
SEMANTIC_MARGIN = 0.0


def line_text(line: dict[str, Any]) -> str:
    return " ".join([line["title"], *(str(v) for v in line["options"].values())])


def without_order_number(text: str) -> str:
    """The words without the order number they give: "#1014" says which order, not which item of it."""
    reference = order_reference(text)
    return text.replace(reference, " ") if reference else text


def meant_by_meaning(text: str, lines: list[dict[str, Any]]) -> list[int]:
    """The indexes of the lines (all of one product) whose title and options mean what the customer's words say,
    or [] when none is a clear winner or no sentence model is installed."""
    from concierge.reasoning import sentences

    if not lines or not content_words(text):
        return []
    asked = sentences.embedding(text)
    if asked is None:
        return []
    by_product: dict[str, float] = {}
    for line in lines:
        if line["product_id"] in by_product:
            continue  # one text per product: each costs a forward pass of the model the first time it is seen
        # what its title and options say, or what the catalogue says it is, whichever is closer
        vectors = [sentences.embedding(t) for t in (line_text(line), line.get("about")) if t]
        if any(v is None for v in vectors):
            return []
        by_product[line["product_id"]] = max(float(asked @ v) for v in vectors if v is not None)
    ranked = sorted(by_product.items(), key=lambda kv: kv[1], reverse=True)
    best, score = ranked[0]
    if score < SEMANTIC_FLOOR or (len(ranked) > 1 and score - ranked[1][1] < SEMANTIC_MARGIN):
        return []
    return [i for i, line in enumerate(lines) if line["product_id"] == best]


# The item an item came with, named to say which order, not what is meant: "the glass jars that came with my
# tumblers", "the little cone I got with my beans", "the lid that was in the box with the kettle".
CAME_WITH = re.compile(
    r"\b(?:(?:that|which)\s+)?(?:(?:i|we)\s+)?(?:came|arrived|shipped|come|got|bought|ordered|was|were)\s+"
    r"(?:in\s+the\s+(?:same\s+)?(?:box|order|parcel|package)\s+)?(?:with|alongside|(?:together|along) with|as)\s+"
    r"(?:my|the|our)\s+([\w -]{1,40}?)(?=[.,!?;]|$|\s+(?:are|is|were|was|and|but|please|for|because|as|since|so|i|we|"
    r"can|could|do|does|did|will|would|have|has|had|don't|doesn't|didn't|won't|aren't|isn't)\b)"
    # "the 1 m cord from my hub order": the order named by another item of it
    # ("the foil off my tablet order"; not "the glaze on the mug from order 1018")
    r"|\b(?:(?:from|off)\s+(?:my|the|our)|(?:on|in)\s+(?:my|our))\s+"
    r"((?!(?:from|off|on|in|of)\b)[\w-]+(?:\s+(?!(?:from|off|on|in|of)\b)[\w-]+){0,3}?)\s+order\b",
    re.IGNORECASE,
)


def beside_item(text: str, candidates: list[tuple[dict[str, Any], dict[str, Any]]]) -> tuple[str, set[int]] | None:
    """When the customer names an item by the one it came with ("the jars that came with my tumblers"): their words
    without that phrase, and the candidates it leaves — the other lines of the orders holding the item named as
    company. None when they say no such thing, or it names none of their lines, or leaves nothing."""
    company = " ".join(m.group(1) or m.group(2) for m in CAME_WITH.finditer(text))
    rest = CAME_WITH.sub(" ", text)
    if not company or not content_words(rest):
        return None
    scores = [line_score(company, line) for _, line in candidates]
    beside = {i for i, score in enumerate(scores) if score and score == max(scores)}
    orders = {candidates[i][0]["order_id"] for i in beside}
    others = {i for i, (order, _) in enumerate(candidates) if order["order_id"] in orders and i not in beside}
    return (rest, others) if others else None


# An item named by where it stands in an order: "the second thing on my order", "the 1st item in the order".
_ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth")
ORDINAL_ITEM = re.compile(
    rf"\b(?:the|my)\s+({'|'.join(_ORDINALS)}|[1-6](?:st|nd|rd|th))\s+(?:thing|item|product|line)\b"
    r"(?:\s+(?:on|in|of|from)\s+(?:my|the|that|this)\s+(?:\w+\s+)?order\b)?",
    re.IGNORECASE,
)


def by_position(text: str, candidates: list[tuple[dict[str, Any], dict[str, Any]]]) -> list[int]:
    """The candidate an item named by its place in an order is ("the second thing on my order": the second line of
    their newest order among the candidates, or of the one order they are all of); [] when none is named so, or
    the order has no such line."""
    said = ORDINAL_ITEM.search(text)
    if said is None or not candidates:
        return []
    word = said.group(1).lower()
    place = _ORDINALS.index(word) if word in _ORDINALS else int(word[0]) - 1
    orders = list(dict.fromkeys(order["order_id"] for order, _ in candidates))
    if len(orders) > 1 and not re.search(r"\border\b", said.group(0), re.IGNORECASE):
        return []  # "the second thing I bought", of several orders: which is no order's place
    lines = [i for i, (order, _) in enumerate(candidates) if order["order_id"] == orders[0]]
    return [lines[place]] if place < len(lines) else []


def split_compounds(text: str, lines: list[dict[str, Any]]) -> str:
    """The customer's words with a word made of two neighbouring words of an item's title written apart: "my
    lawnmower" for a Lawn Mower, "the bookcase" for a Book Case."""
    pairs = {}
    for line in lines:
        words = re.findall(r"[a-z]+", str(line.get("title", "")).lower())
        for a, b in itertools.pairwise(words):
            if len(a) >= 3 and len(b) >= 3:
                pairs[a + b] = f"{a} {b}"
    if not pairs:
        return text
    return re.sub(
        r"[A-Za-z]+", lambda m: pairs.get(m.group(0).lower(), pairs.get(m.group(0).lower()[:-1], m.group(0))), text
    )


# Words after "the" that name no thing of theirs: "the other one", "the same colour"
_NO_THING = frozenset(
    {"other", "same", "one", "ones", "rest", "next", "new", "original", "whole", "right", "wrong"}
    # "the real problem is the shape": what is wrong with a thing, not a thing
    | {"problem", "issue", "trouble", "thing", "real", "shape", "fit", "way"}
)


def names_a_thing(text: str, candidates: list[tuple[dict[str, Any], dict[str, Any]]]) -> bool:
    """Whether the customer names a thing of theirs in other words than an option's ("could you change the gloves
    to XL" names something; "I just want it in silver", "the other colour" do not)."""
    values = [v for _, line in candidates for v in [*line["options"].values(), *line.get("values", ())]]
    said = {w for v in values for w in value_words(str(v))}
    said |= {w for _, line in candidates for k in line["options"] for w in value_words(str(k))}
    # in what they ask, where they ask something ("Could you just make it the smaller one? … the big one is way too
    # heavy for my handbag" names no thing of theirs)
    asked = [sentence for sentence in SENTENCE.findall(text) if signals.requests_something(sentence)]
    return any(
        len(w) >= 3
        and w not in GENERIC_WORDS | STOPWORDS | said | _NO_THING
        and _colour(w) is None  # "the black one" is a variant, not a thing
        for w in re.findall(
            r"\b(?:the|my|our|these|those)\s+([a-z]+)\b(?!\s+ones?\b)", " ".join(asked or [text]).lower()
        )
    )


# What is done to an item, in a request taken back ("don't cancel the hub"), not only the money refused
ITEM_ACTED_ON = re.compile(r"\b(?:cancel|return|exchange|swap|send|replace|remove|take|keep)\w*", re.IGNORECASE)
# The other one of an item refused, where its money back is what they want ("no replacement for the earbuds")
ANOTHER_REFUSED = re.compile(r"\b(?:replacement|exchange|swap|another one|new one)s?\b", re.IGNORECASE)
ITEM_PUT_AWAY = re.compile(r"\b(?:cancel|return|send|remove|take|keep)\w*", re.IGNORECASE)


def _unless_money_refused(
    refused: re.Match[str], candidates: list[tuple[dict[str, Any], dict[str, Any]]], exchange: bool
) -> str:
    """A request taken back, blanked out, unless what it refuses is only the remedy for an item of theirs: the money,
    where they want another one of it ("not a refund on the tumblers, i want the bigger 350s", "I don't want my money
    back for the whey, can you send another?"), or another one, where they want the money ("No replacement for the
    earbuds please, I'd rather have the €129 back"): that item is still the one the message is about. ("No need for
    a refund on the scales any more. Where are my plates?" takes the scales back altogether.)"""
    words = refused.group(0)
    money_only = exchange and signals.MONEY_BACK.search(words) and not ITEM_ACTED_ON.search(words)
    another_only = (
        not exchange
        and ANOTHER_REFUSED.search(words)
        and not ITEM_PUT_AWAY.search(words)
        and signals.MONEY_BACK.search(refused.string[refused.end() :])
    )
    return words if (money_only or another_only) and any(title_score(words, line) for _, line in candidates) else " "


def items_named(
    text: str, candidates: list[tuple[dict[str, Any], dict[str, Any]]], exchange: bool = False
) -> ItemMatch:
    """Which of the customer's (order, line) pairs their words name. Among equal matches, what has arrived comes
    first (it is what can go back), unless they said "my last order", which picks the newest order holding one."""
    text = split_compounds(text, [line for _, line in candidates])  # "the lawnmower" for a Lawn Mower
    # "exchange the 5-piece containers for the 10-piece set": what they want is not what they have
    have = EXCHANGE_TARGET.sub(" ", text) if exchange else text
    # "I'll keep the hub", "the cups are lovely, keeping those": not the item meant
    have = without_praised(have, [line for _, line in candidates])
    # nor what a request taken back was about, when the rest names one of theirs by its name ("I no longer need to
    # return the pencils. Where are my gel pens though?"; not "…the grinder, I just want it in silver")
    # (the money refused is not: "not a refund on the tumblers, i want the bigger 350s" is about the tumblers)
    rest = signals.REFUSED_REQUEST.sub(lambda refused: _unless_money_refused(refused, candidates, exchange), have)
    if rest != have and (any(title_score(rest, line) for _, line in candidates) or names_a_thing(rest, candidates)):
        have = rest  # ...or by other words ("Never mind returning the mower. Could you change the gloves to XL?")
    # nor what they say they do not mean, when the rest names one of theirs by its name ("Not the power bank, that
    # one's fine — it's the cable from the same order I want to return")
    unrefused = without_refused(have)
    if unrefused != have and any(title_score(unrefused, line) for _, line in candidates):
        have = unrefused
    allowed = set(range(len(candidates)))
    company = beside_item(have, candidates)
    if company:  # "the jars that came with my tumblers": one of the tumblers' order's other lines
        have, allowed = company
    have = without_address(have)  # "…to my parents' place: 885 Court St NE": no item's words
    named = request_object(have)
    latest = bool(LATEST.search(text))
    scored = sorted(
        ((item_score(have, named, line), -i) for i, (_, line) in enumerate(candidates) if i in allowed), reverse=True
    )
    best = [-i for score, i in scored if score == scored[0][0] and score > 0]
    unique = len(best) == 1
    if not best:
        best = [i for i in by_position(have, candidates) if i in allowed]
    if not best and len({candidates[i][1]["product_id"] for i in allowed}) > 1:
        kept = sorted(allowed)
        meant = meant_by_meaning(without_order_number(named or have), [candidates[i][1] for i in kept])
        best = [kept[i] for i in meant]
    elif not best and company:  # the one product left beside the item it came with
        best = sorted(allowed)
    if len(best) > 1 and not latest:
        # what can go back has arrived; what they do not want sent ("hoping I caught it before it ships") has not
        unsent = signals.NOT_TO_BE_SENT.search(text) is not None
        wanted = ("pending",) if unsent else ("delivered",)
        best = [i for i in best if candidates[i][0]["status"] in wanted] or best
    if latest and len(best) > 1:  # "the mug from my last order": the newest order holding one
        newest = candidates[best[0]][0]["order_id"]
        best = [i for i in best if candidates[i][0]["order_id"] == newest]
    return ItemMatch(best=best, have=have, named=named, latest=latest, unique=unique)


def orders_with_item(text: str, orders: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The customer's orders holding the item their words name best (newest first); [] if they name none."""
    text = without_praised(text, [line for o in orders for line in o["lines"]])  # "keep the glass ones coming"
    named = request_object(text)
    scored = [(max((item_score(text, named, line) for line in o["lines"]), default=0), i) for i, o in enumerate(orders)]
    top = max((score for score, _ in scored), default=0)
    if top == 0:
        lines = [line for o in orders for line in o["lines"]]
        meant = {lines[i]["product_id"] for i in meant_by_meaning(without_order_number(named or text), lines)}
        return [o for o in orders if any(line["product_id"] in meant for line in o["lines"])]
    return [orders[i] for score, i in scored if score == top]


# The basic colour words customers use, and what shops' own colour names look like in them: "the green one" is the
# Moss, "the pinky-orange one" the Coral, "black" the Midnight Black. General English, no shop's: a shop whose
# colour names are not here is matched by the names themselves, as before.
BASIC_COLOURS = frozenset(
    {"red", "orange", "yellow", "green", "blue", "purple", "pink", "brown", "black", "white", "grey", "beige"}
    | {"gold", "silver"}
)
COLOUR_ALIASES = {"gray": "grey", "violet": "purple", "cream": "beige", "tan": "beige", "navy": "blue"}
COLOUR_NAMES = """
green: moss sage olive forest mint emerald jade pistachio fern
green beige: khaki
blue green: teal turquoise aqua
blue: cyan navy cobalt azure sky ocean denim sapphire
blue white: glacier
blue purple: indigo
black blue: midnight ink
grey black: charcoal graphite
grey blue: slate
grey: ash pebble gunmetal smoke smoked
grey beige: stone
grey silver: steel
black: onyx jet ebony obsidian
white beige: ivory
white: snow chalk pearl porcelain frost
beige: oat oatmeal sand sandstone natural linen ecru
beige white: beech maple birch pine
brown beige: camel oak
beige brown grey: taupe
brown: mocha chocolate coffee espresso walnut cognac caramel chestnut
red orange brown: rust
orange red brown: terracotta
pink orange: coral salmon peach
orange: apricot amber tangerine
pink: blush rose
pink purple: fuchsia magenta
red purple: burgundy
red: wine maroon cherry crimson scarlet ruby brick
yellow: mustard lemon butter
purple: lavender lilac plum
purple pink: mauve
gold beige: champagne
gold: brass
orange brown: copper
brown gold: bronze
silver: chrome platinum stainless aluminium
silver grey: titanium
"""
COLOUR_FAMILIES: dict[str, frozenset[str]] = {}
for _row in COLOUR_NAMES.strip().splitlines():
    _families, _names = _row.split(":")
    for _name in _names.split():
        COLOUR_FAMILIES[_name] = COLOUR_FAMILIES.get(_name, frozenset()) | frozenset(_families.split())


def _colour(word: str) -> str | None:
    """The basic colour a customer's word names: "green", "pinky", "reddish", "greyish" -> green, pink, red, grey."""
    word = COLOUR_ALIASES.get(word, word)
    if word in BASIC_COLOURS:
        return word
    for suffix in ("ish", "y"):
        stem = word.removesuffix(suffix)
        if stem != word:
            for candidate in (stem, stem[:-1]):  # "reddish" -> red
                candidate = COLOUR_ALIASES.get(candidate, candidate)
                if candidate in BASIC_COLOURS:
                    return candidate
                # "the sandy coloured ones": a colour's name said as a colour ("sand" is beige)
                named = COLOUR_FAMILIES.get(candidate, frozenset())
                if len(named) == 1:
                    return next(iter(named))
    return None


# Colours of two words: "off-white" is a cream, not a white
TWO_WORD_COLOURS = {"off white": "cream", "off-white": "cream"}


def colours_said(text: str) -> set[str]:
    """The basic colours a customer's words name."""
    lowered = text.lower()
    for words, colour in TWO_WORD_COLOURS.items():
        lowered = lowered.replace(words, colour)
    return {c for w in re.findall(r"[a-z]+", lowered) if (c := _colour(w))}


def colour_families(value: str, named_only: bool = False) -> set[str]:
    """The basic colours an option value is: "Midnight Black" -> black, blue; "Moss" -> green. `named_only`: only
    those its words name ("Midnight Black" -> black)."""
    families: set[str] = set()
    for word in re.findall(r"[a-z]+", value.lower()):
        basic = COLOUR_ALIASES.get(word, word)
        if basic in BASIC_COLOURS:
            families.add(basic)
        elif not named_only:
            families |= COLOUR_FAMILIES.get(word, frozenset())
    return families


def _amount(value: str) -> float | None:
    """The amount a value names, in its measure's base unit: "5.2 L" -> 5.2, "350 ml" -> 0.35, "1 TB" -> 1000 (the
    "500 GB" is the smaller), "10,000 mAh" -> 10000, "80 x 240 cm" -> 2.4 (its largest)."""
    numbers = _numbers(value)
    if not numbers:
        return None
    unit = _unit(value)
    return max(numbers) * (SCALES[unit][1] if unit in SCALES else 1.0)


def _numbers(text: str) -> list[float]:
    """The numbers written in a text: "10,000" is ten thousand, "1,5" one and a half."""
    found = []
    for number in re.findall(r"\d+(?:[.,]\d+)*", text):
        if re.fullmatch(r"\d{1,3}(?:,\d{3})+", number):
            number = number.replace(",", "")
        found.append(float(number.replace(",", ".")) if number.count(",") + number.count(".") <= 1 else 0.0)
    return found


# Letter sizes, smallest first, and what customers call them ("a medium", "an extra large").
LETTER_SIZES = ("xxs", "xs", "s", "m", "l", "xl", "xxl", "xxxl")
SIZE_WORDS = {
    "xxs": ("xx small", "xx-small", "extra extra small"),
    "xs": ("extra small", "x small", "x-small", "xsmall"),
    "s": ("small",),
    "m": ("medium", "med"),
    "l": ("large",),
    "xl": ("extra large", "x large", "x-large", "xlarge"),
    "xxl": ("xx large", "xx-large", "extra extra large", "2xl"),
    "xxxl": ("xxx large", "xxx-large", "3xl"),
}
# "a medium", "in large", "size small", "I'm more of a medium"; not "it's too small", "a bit large"
_SIZE_SAID = r"(?<!\btoo )(?<!\bbit )(?<!\bso )(?<!\bvery )(?<!\bway )(?<!\bquite )(?<!\bslightly )(?<!\blittle )"


def _spelled_size(value: str) -> str | None:
    """The letter size a value spells out in words: "Medium" -> m, "X-Large" -> xl, "Extra Small" -> xs, "Small (25
    cm)" -> s (what is in brackets says what the size is)."""
    spelled = " ".join(re.findall(r"[a-z0-9]+", value_head(value).lower()))
    return next((size for size, words in SIZE_WORDS.items() if spelled in {w.replace("-", " ") for w in words}), None)


def value_head(value: str) -> str:
    """A value's name without what it says in brackets: "King (150 x 200 cm)" -> "King"."""
    return re.sub(r"\s*\([^)]*\)\s*$", "", value).strip() or value


def distinct_words(product: dict[str, Any], key: str, value: str) -> set[str]:
    """The words of an option value that no other value of the option has ("lake" of Alpine Lake and Harbour at
    Dusk; not "oak" of Natural Oak and Smoked Oak), three letters or more, no product-title word."""
    values = {str(v["options"][key]) for v in product.get("variants", []) if key in v["options"]}
    others = set().union(set(), *(value_words(v) for v in values if v != value))
    title = value_words(str(product.get("title", "")))
    return {w for w in value_words(value) if len(w) >= 3 and w.isalpha() and w not in others and w not in title}


def _letter_size(value: str) -> str | None:
    """The letter size a value is or starts with: "M" -> m, "XL" -> xl, "M (39-42)" -> m, "S/M" -> None; or spells
    out ("Large" -> l, "X-Large" -> xl)."""
    first = re.match(r"\s*([A-Za-z0-9]+)\b(?!/)", value)
    token = first.group(1).lower() if first else ""
    token = {"2xl": "xxl", "3xl": "xxxl"}.get(token, token)
    return token if token in LETTER_SIZES else _spelled_size(value)


def size_word_said(text: str, value: str) -> bool:
    """Whether the customer names a letter size in words: "a medium" for M, "extra large" for XL; or, for a size
    spelled out, by its letters ("the XL" for X-Large; two letters or more, never the "m" of "I'm")."""
    size = _letter_size(value)
    if size is None:
        return False
    lowered = text.lower()
    codes = (size,) if len(size) > 1 and _spelled_size(value) else ()
    return any(
        re.search(rf"{_SIZE_SAID}\b{re.escape(word)}\b(?!\s*(?:-|\s)\s*(?:ish|sized?)\b)", lowered) is not None
        for word in SIZE_WORDS[size] + codes
        # "small" inside "extra small" names XS, not S
        if not any(
            re.search(rf"\b{re.escape(longer)}\b", lowered)
            for other, words in SIZE_WORDS.items()
            if other != size
            for longer in words
            if word in longer and longer != word
        )
    )


# The units of amounts, as customers write them: "3 metres" for "3 m", "256 gig" for "256 GB".
UNIT_WORDS = {
    "m": ("m", "metre", "metres", "meter", "meters", "mtr"),
    "cm": ("cm", "centimetre", "centimetres", "centimeter", "centimeters", "cms"),
    "mm": ("mm", "millimetre", "millimetres", "millimeter", "millimeters"),
    "gb": ("gb", "gig", "gigs", "gigabyte", "gigabytes"),
    "tb": ("tb", "terabyte", "terabytes", "tera"),
    "l": ("l", "litre", "litres", "liter", "liters", "ltr"),
    "ml": ("ml", "millilitre", "millilitres", "milliliter", "milliliters", "mls"),
    "g": ("g", "gram", "grams", "gr", "grammes"),
    "kg": ("kg", "kilo", "kilos", "kilogram", "kilograms", "kgs"),
    "mah": ("mah",),
    "w": ("w", "watt", "watts"),
    "oz": ("oz", "ounce", "ounces"),
    "in": ("in", "inch", "inches", '"'),
    "person": ("person", "people", "man", "men"),
    "piece": ("piece", "pieces", "pc", "pcs"),
    "pack": ("pack", "packs", "pk"),
    "seater": ("seater", "seat", "seats"),
}
_SPELLED = "zero one two three four five six seven eight nine ten eleven twelve"
NUMBER_WORDS = {w: str(i) for i, w in enumerate(_SPELLED.split())}
# Where a bare number names what is wanted: "for a 45", "the 130s", "in a 30", "size 9", "a 64 instead"
_WANTED_NUMBER = re.compile(
    # ("the big 2.5s": a size word between)
    r"(?:\b(?:a|an|the|for|to|in|into|size|get|need|want|prefer|with|of)\s+"
    r"(?P<sized>(?:big|bigger|large|larger|small|smaller|little|tall|taller|short|shorter)\s+)?)"
    r"(?P<after>\d+(?:\.\d+)?)(?:s\b|(?![\w.]|,\d))"
    r"|(?<![\w.,])(?P<before>\d+(?:\.\d+)?)(?:s\b|(?![\w.]|,\d))(?=\s+(?:one|ones|version|instead|please|model)\b)",
    re.IGNORECASE,
)


def _unit(value: str) -> str | None:
    """The unit an amount is in: "3 m" -> m, "256 GB" -> gb, "2-person" -> person; the word after its number
    first ("L (56 cm)" is in cm, the L is a size)."""
    lowered = value.lower()
    after = [m.group(1) for m in re.finditer(r"\d\s*-?\s*([a-z]+)", lowered)]
    words = after + re.findall(r"[a-z]+", lowered)
    for word in words:
        for unit, spellings in UNIT_WORDS.items():
            if word in spellings or word.rstrip("s") in spellings:
                return unit
    return None


# Units of one measure, in the unit's multiples: "3 m" is the "300 cm", "1.5 l" the "1500 ml".
SCALES = {
    "mm": ("m", 0.001),
    "cm": ("m", 0.01),
    "m": ("m", 1.0),
    "ml": ("l", 0.001),
    "l": ("l", 1.0),
    "g": ("kg", 0.001),
    "kg": ("kg", 1.0),
    "gb": ("gb", 1.0),
    "tb": ("gb", 1000.0),
}


def _said_unit(word: str | None) -> str | None:
    """The unit a customer's word after a number is: "metres" -> m, "gig" -> gb."""
    if not word:
        return None
    for unit, spellings in UNIT_WORDS.items():
        if word in spellings or word.rstrip("s") in spellings:
            return unit
    return None


def number_said(text: str, value: str, current: str | None) -> int:
    """How plainly the customer names a value by its number: 4 with its unit as they write it ("3 metres" for
    "3 m", "256 gig" for "256 GB", "two person" for "2-person", "3 m" for "80 x 300 cm"), 2 where a bare number is
    what they want ("for a 45" for "EU 45", "the 130s" for "130 cm"), 3 after a size word ("the big 2.5s"); 0 when
    they do not, or the number is also the current value's."""
    mine = set(_numbers(current)) if current is not None else set()
    numbers = [n for n in _numbers(value) if n not in mine]
    if not numbers:
        return 0
    said = re.sub(r"(\d),(\d{3})\b", r"\1\2", text.lower())  # "10,000" is one number
    said = re.sub(r"\b(\d+)k\b", lambda m: str(int(m.group(1)) * 1000), said)  # "the big 20k one"
    said = re.sub(
        rf"\b({'|'.join(NUMBER_WORDS)})(?=[\s-]+[a-z])", lambda m: NUMBER_WORDS[m.group(1)], said
    )  # "two person", "three-piece"
    unit = _unit(value)
    for match in re.finditer(r"(?<![\w.,#-])(\d+(?:\.\d+)?)\s*-?\s*([a-z\"]+)?", said):
        amount, written = float(match.group(1)), _said_unit(match.group(2))
        if written and unit and written == unit and amount in numbers:
            return 4
        # the same measure in another unit
        if written in SCALES and unit in SCALES and SCALES[written][0] == SCALES[unit][0]:
            converted = amount * SCALES[written][1] / SCALES[unit][1]
            if any(abs(converted - n) < 1e-6 * max(1.0, n) for n in numbers):
                return 4
    if len(numbers) == 1 and len(_numbers(value)) == 1:
        for match in _WANTED_NUMBER.finditer(said):
            if float(match.group("after") or match.group("before")) == numbers[0]:
                # a size word before it says it is the size they want, whichever is next up or down ("the big 2.5s")
                return 3 if match.group("sized") else 2
    return 0


# Places and plug or layout names, and the codes option values name them by: "the German one" is the DE layout,
# "a European plug" or "Schuko" the EU one, "three-pin" the UK one. General knowledge, no shop's.
_EU_COUNTRIES = (  # noqa: SIM905
    "german germany french france spanish spain italian italy dutch netherlands holland belgian belgium austrian "
    "austria portuguese portugal greek greece polish poland swedish sweden danish denmark finnish "
    "finland czech hungarian hungary slovak croatian croatia romanian romania bulgarian bulgaria luxembourg "
    # and their largest cities, which customers who have moved name ("I've just moved to Lisbon")
    "berlin munich hamburg cologne frankfurt paris lyon marseille madrid barcelona valencia seville rome milan naples "
    "turin florence amsterdam rotterdam brussels antwerp vienna lisbon porto athens warsaw krakow prague budapest "
    "stockholm copenhagen helsinki bucharest sofia zagreb "
    # and the next in size (none that is also an English word: not Nice, Split or Bath)
    "ghent bruges liege utrecht eindhoven groningen maastricht stuttgart dusseldorf leipzig dresden hanover nuremberg "
    "bremen dortmund essen bonn graz salzburg innsbruck bologna genoa venice verona palermo bilbao malaga zaragoza "
    "toulouse bordeaux lille nantes strasbourg montpellier gothenburg malmo aarhus tallinn riga vilnius ljubljana "
    "bratislava gdansk wroclaw poznan thessaloniki"
).split()
REGION_WORDS: dict[str, tuple[str, ...]] = {
    "uk": (
        "uk",
        "british",
        "britain",
        "english",
        "england",
        "scotland",
        "scottish",
        "wales",
        "welsh",
        "three pin",
        "3 pin",
        "type g",
        # Ireland's sockets and keyboards are the UK's
        "irish",
        "ireland",
        "dublin",
        "cork",
        "london",
        "manchester",
        "birmingham",
        "liverpool",
        "leeds",
        "bristol",
        "edinburgh",
        "glasgow",
        "cardiff",
        "belfast",
    ),
    "eu": (
        "eu",
        "europe",
        "european",
        "euro",
        "continental",
        "schuko",
        "two pin",
        "2 pin",
        "type c",
        "type f",
        *_EU_COUNTRIES,
    ),
    "us": (
        "us",
        "usa",
        "american",
        "america",
        "states",
        "type a",
        "type b",
        "canada",
        "canadian",
        "new york",
        "los angeles",
        "chicago",
        "boston",
        "san francisco",
        "seattle",
        "toronto",
        "vancouver",
        "montreal",
    ),
    "au": (
        "au",
        "australia",
        "australian",
        "aussie",
        "new zealand",
        "type i",
        "sydney",
        "melbourne",
        "brisbane",
        "adelaide",
        "auckland",
        "wellington",
    ),
    "de": ("de", "german", "germany", "qwertz", "austrian", "austria"),
    "fr": ("fr", "french", "france", "azerty"),
    "es": ("es", "spanish", "spain"),
    "it": ("it", "italian", "italy"),
    "ch": ("ch", "swiss", "switzerland"),
    "jp": ("jp", "japanese", "japan"),
    "nordic": (
        "nordic",
        "scandinavian",
        "norwegian",
        "norway",
        "swedish",
        "sweden",
        "danish",
        "denmark",
        "finnish",
        "finland",
        "icelandic",
    ),
}
_CODES = {
    "uk": ("uk", "gb"),
    "eu": ("eu",),
    "us": ("us", "usa"),
    "au": ("au",),
    "de": ("de",),
    "fr": ("fr",),
    "es": ("es",),
    "it": ("it",),
    "ch": ("ch",),
    "jp": ("jp",),
    "nordic": ("nordic", "no", "se", "dk", "fi"),
}


def regions_of(value: str) -> set[str]:
    """The places an option value is for: "DE (QWERTZ)" -> de, "UK ISO" -> uk, "Nordic ISO" -> nordic."""
    tokens = set(re.findall(r"[a-z]+", value.lower()))
    return {region for region, codes in _CODES.items() if tokens & set(codes)} | {
        region for region, words in REGION_WORDS.items() if tokens & {w for w in words if len(w) > 2 and " " not in w}
    }


def regions_said(text: str) -> set[str]:
    """The places a customer's words name, by name or adjective ("a European plug", "I'm Norwegian"); two-letter
    codes only as `mentions_value` reads them."""
    lowered = " ".join(re.findall(r"[a-z0-9]+", text.lower().replace("-", " ")))
    return {
        region
        for region, words in REGION_WORDS.items()
        if any(len(w) > 2 and re.search(rf"\b{re.escape(w)}\b", lowered) for w in words)
    }


# More than they pictured ("the tumblers are much taller than I pictured", "our lawn's bigger than I thought") says
# which way they want only with what it is said of: alone, neither way.
_THAN_PICTURED = r"(?=\s+than\s+(?:i|we)\s+(?:\w+\s+)?(?:thought|expected|pictured|imagined|hoped|wanted|needed)\b)"
BIGGER = re.compile(
    # "the paint set with more colours", "the more powerful model" (not "no more", "any more", "more than")
    r"(?<!\bno )(?<!\bany )(?<!\bonce )\bmore\s+(?!than\b|of\b|to\b|time\b|info|details?\b)[a-z]+"
    r"|\b(bigg?er|larger|longer|taller|thicker|wider|next size up|size up|sizes? bigg?er|sizes? larger|up a size|"
    r"bigger size|"
    rf"larger size|one size up|too (?:small|tight|short|snug|narrow)|(?:the |next )one up)\b(?!{_THAN_PICTURED})"
    r"|\bup from (?:the |my |a )?(?=\d)",  # "the one up from 2kg"
    re.IGNORECASE,
)
SMALLER = re.compile(
    r"\b(?:fewer|less)\s+(?!than\b)[a-z]+"
    r"|\b(smal+er|shorter|thinner|narrower|next size down|size down|sizes? smal+er|down a size|smaller size|"
    r"one size down|"
    r"too (?:big|large|loose|baggy|wide)|(?<!took )(?<!taking )too long|(?:the |next )one down)\b"
    rf"(?!{_THAN_PICTURED})"
    r"|\bdown from (?:the |my |a )?(?=\d)",
    re.IGNORECASE,
)
# In the words of what they want ("for the big green one"), plain size words say which way too.
BIG = re.compile(r"\b(big|bigg?er|large|larger|long|longer|tall|taller)\b", re.IGNORECASE)
SMALL = re.compile(r"\b(small|smaller|little|mini|short|shorter)\b", re.IGNORECASE)
# The end of the range: "swap them for the biggest ones" (typed "bigest" too), "the smallest one".
BIGGEST = re.compile(r"\b(?:bigg?est|larg?est|longest|tallest|max(?:imum)? size)\b", re.IGNORECASE)
SMALLEST = re.compile(r"\b(?:smallest|shortest|tiniest|littlest|min(?:imum)? size)\b", re.IGNORECASE)
# The middle of three (or five) values in order: "the medium bag" of 2, 6 and 12 kg.
MIDDLE = re.compile(r"\b(?:medium|mid|middle|med)\b", re.IGNORECASE)
# ...said of the size itself anywhere in the message: "can we have the middle size"
MIDDLE_SIZE = re.compile(r"\b(?:middle|mid|medium)[\s-]?(?:size|sized|one)\b", re.IGNORECASE)
# The measure a comparative is about: "the shorter reel" is about its length, "the thinner line" its thickness
DIMENSIONS = {
    "length": ("longer", "shorter", "longest", "shortest"),
    "thick": ("thicker", "thinner", "thickest", "thinnest"),
    "width": ("wider", "narrower", "widest", "narrowest"),
    "height": ("taller", "higher", "lower", "tallest"),
}
# An amount twice or half theirs: "double the quantity" of a pack of 50 is the pack of 100.
_HOW_MUCH = r"(?:the )?(?:quantity|amount|size|number|pack|count|capacity|storage|memory|set|pieces)\b"
DOUBLE = re.compile(rf"\bdouble {_HOW_MUCH}|\btwice (?:as (?:many|much|big|large)|{_HOW_MUCH})", re.IGNORECASE)
HALF = re.compile(rf"\bhalf {_HOW_MUCH}|\bhalf as (?:many|much|big|large)\b", re.IGNORECASE)
# A shade one darker or lighter: shade ranges are numbered from light to dark.
DARKER = re.compile(r"\b(darker|deeper|richer)\b", re.IGNORECASE)
LIGHTER = re.compile(r"\b(lighter|paler|fairer)\b", re.IGNORECASE)
SHADE_OPTIONS = ("shade", "tone")
# ...and a colour a darker or lighter one than theirs, by how light the basic colours its name is are (roughly their
# lightness, 0-100): "the darker colour" of Oatmeal and Charcoal is the Charcoal. "Lighter" and "deeper" alone may
# be a weight or a depth ("a lighter pan"), so they count before a colour's words only.
LIGHTNESS = {
    "white": 95, "yellow": 85, "beige": 80, "silver": 78, "pink": 75, "gold": 70, "orange": 65, "grey": 55,
    "green": 50, "red": 45, "blue": 40, "purple": 40, "brown": 35, "black": 10,
}  # fmt: skip
_COLOUR_WORD = rf"(?:colou?re?d?|shade|tone|hue|{'|'.join(sorted(BASIC_COLOURS | set(COLOUR_ALIASES)))})\b"
# ...of a colour, or of what has one: "the lighter wood", "a richer finish"
_SHADED = rf"(?:{_COLOUR_WORD}|(?:woods?|finish|stain|glaze)\b)"
COLOUR_DARKER = re.compile(rf"\bdarker\b|\b(?:deeper|richer)\s+(?:\w+\s+)?{_SHADED}", re.IGNORECASE)
COLOUR_LIGHTER = re.compile(rf"\bpaler\b|\blighter\s+(?:\w+\s+)?{_SHADED}|\ba shade lighter\b", re.IGNORECASE)
# The end of the colours, said without a comparative: "could I get the dark one instead?", "in the light wood"
COLOUR_DARKEST = re.compile(
    r"\b(?:the|a|in)\s+(?:dark|darkest)\s+(?:one|ones|colou?r|version|woods?|finish|stain|glaze)\b", re.IGNORECASE
)
COLOUR_LIGHTEST = re.compile(
    r"\b(?:the|a|in)\s+(?:light|pale|lightest|palest)\s+(?:colou?r|woods?|finish|stain|glaze)\b"
    r"|\b(?:the|a|in)\s+(?:pale|palest|lightest)\s+(?:one|ones|version)\b",
    re.IGNORECASE,
)
# A plain one of what they have in a pattern ("plain ones would have worked" of the Rust Stripe towels)
PLAIN = re.compile(r"\b(?:plain|plainer|no pattern|without (?:the |a )?(?:pattern|print|stripes?))\b", re.IGNORECASE)
_PATTERNS = (
    "stripe stripes striped check checks checked gingham plaid tartan spot spots spotted dot dots dotted polka "
    "floral print printed pattern patterned speckled marbled leopard camo camouflage paisley"
)
PATTERN_WORDS = frozenset(_PATTERNS.split())


# What the customer refuses, to the end of its clause: "I don't want a smaller set", "not the green, the blue one",
# "no smaller one", "rather than the 2-person". Not "why not the blue?", "no, the blue one", nor what is no refusal
# of a variant ("it's no good to me", "not sure", "it doesn't fit").
_OTHER = r"(?:smaller|bigger|larger|shorter|longer|different|other)\b"
NOT_WANTED = re.compile(
    r"(?<!\bwhy )(?<!\bif )\b(?:"
    r"(?:don'?t|do not|doesn'?t|does not|didn'?t|did not|won'?t|will not|never)\s+(?:want|need|like|prefer|fancy)\w*"
    rf"|(?:not|never|without|rather than|instead of)(?=\s+(?:(?:an?|the|any|that|this|these|those|my)\b|{_OTHER}))"
    rf"|no(?=\s+{_OTHER})"
    r")\s+[^,;:!?\u2014]*?"
    r"(?=\s*(?:[,;:!?\u2014]|\.(?!\d)|\s-\s)|\s+(?:but|just|so|i|instead|please|could|can|would|may)\b|$)",
    re.IGNORECASE,
)


# What they say is not what the trouble is: "The oak strip isn't the problem, it's the knife."
NOT_THE_TROUBLE = re.compile(
    r"\b(?:the|my|our)\s+[\w -]{1,30}?\s+(?:isn'?t|is not|aren'?t|are not|was not|wasn'?t)\s+(?:the|a|my)\s+"
    r"(?:problem|issue|trouble|one)\b",
    re.IGNORECASE,
)


def without_refused(text: str) -> str:
    """The customer's words without what they say they do not want, or is not the trouble: the variant or size they
    refuse is not the one they ask for, nor the item they say is fine."""
    return NOT_THE_TROUBLE.sub(" ", NOT_WANTED.sub(" ", text.replace("\u2019", "'")))


# Paper and envelope sizes of one series (ISO 216 and 269): the higher the number, the smaller the sheet.
PAPER_SIZE = re.compile(r"^[ABC]\d{1,2}$", re.IGNORECASE)


def _scale(product: dict[str, Any], key: str) -> list[str] | None:
    """An option's values in order, when they have one: by amount ("3.8 L" < "5.2 L"), by letter size ("S" < "M"),
    or as listed for a shade; None when they have none (colours, finishes)."""
    values = option_values(product, key)
    if len(values) < 2:
        return None
    if all(_letter_size(v) for v in values):
        return sorted(values, key=lambda v: LETTER_SIZES.index(_letter_size(v) or "m"))
    if all(PAPER_SIZE.match(v) for v in values) and len({v[0].upper() for v in values}) == 1:
        return sorted(values, key=lambda v: -int(v[1:]))  # paper sizes: the A4 is bigger than the A5
    amounts = [_amount(v) for v in values]
    if all(a is not None for a in amounts) and len(set(amounts)) == len(amounts):
        return [v for _, v in sorted(zip(amounts, values, strict=True))]
    # sizes with names of their own ("Soprano", "Concert", "Tenor"; "Single", "Double", "King") as the shop lists
    # them, smallest first as catalogues list sizes
    return values if key.lower() in SHADE_OPTIONS or "size" in key.lower() else None


def option_values(product: dict[str, Any], key: str) -> list[str]:
    """The values of one option of a product, in the order its variants list them, each once."""
    return list(dict.fromkeys(str(v["options"][key]) for v in product.get("variants", []) if key in v["options"]))


def _lightness(value: str) -> float | None:
    """How light a colour value is (`LIGHTNESS`), its own words "light" or "dark" counted; None when its name says
    no colour."""
    families = colour_families(value)
    if not families:
        return None
    words = set(re.findall(r"[a-z]+", value.lower()))
    shift = 15 * (len(words & {"light", "pale", "pastel", "soft"}) - len(words & {"dark", "deep"}))
    return sum(LIGHTNESS[f] for f in families) / len(families) + shift


def _darker_or_lighter(product: dict[str, Any], key: str, current: str, text: str) -> str | None:
    """The colour value next darker or lighter than theirs, when they ask for one and every value of the option is
    a colour of a lightness of its own; None otherwise."""
    up, down = bool(COLOUR_DARKER.search(text)), bool(COLOUR_LIGHTER.search(text))
    end = up == down
    if end:  # "the dark one": the darkest (or lightest) of them
        up, down = bool(COLOUR_DARKEST.search(text)), bool(COLOUR_LIGHTEST.search(text))
        if up == down:
            return None
    values = option_values(product, key)
    light = {v: _lightness(v) for v in values}
    known = {v: x for v, x in light.items() if x is not None}
    if current not in known or len(known) < len(values) or len(set(known.values())) < len(known):
        return None
    scale = sorted(known, key=lambda v: known[v], reverse=True)  # lightest first
    if end:
        wanted = scale[-1] if up else scale[0]
        return wanted if wanted != current else None
    at = scale.index(current) + (1 if up else -1)
    return scale[at] if 0 <= at < len(scale) else None


def _patterned(value: str) -> bool:
    return bool(set(re.findall(r"[a-z]+", value.lower())) & PATTERN_WORDS)


def _plain_one(product: dict[str, Any], key: str, current: str, text: str) -> str | None:
    """The one value without a pattern, when they ask for a plain one of a value with a pattern ("plain ones would
    have worked" of the Rust Stripe: the Natural); None otherwise."""
    if not PLAIN.search(text) or not _patterned(current):
        return None
    plain = [v for v in option_values(product, key) if not _patterned(v)]
    return plain[0] if len(plain) == 1 else None


def _next_in_size(product: dict[str, Any], options: dict[str, Any], text: str) -> dict[str, str]:
    """ "The bigger one", "a size up", "a shade darker": for each option whose values are in order (amounts, letter
    sizes, shades), the next value up from theirs (or down); {} when they say neither or no option is in order."""
    spans = " ".join(m.group(1) for m in WANTED.finditer(text))
    wanted: dict[str, str] = {}
    for key, current in options.items():
        scale = _scale(product, key)
        if scale is None and key.lower() not in SHADE_OPTIONS:
            shade = _darker_or_lighter(product, key, str(current), text) or _plain_one(product, key, str(current), text)
            if shade is not None:
                wanted[key] = shade
            continue
        if scale is None or str(current) not in scale:
            continue
        if key.lower() in SHADE_OPTIONS:
            up, down = bool(DARKER.search(text)), bool(LIGHTER.search(text))
        else:
            largest, smallest = bool(BIGGEST.search(text)), bool(SMALLEST.search(text))
            if largest != smallest:
                end = scale[-1] if largest else scale[0]
                if end != str(current):
                    wanted[key] = end
                continue
            amounts = {v: _amount(v) for v in scale}
            times = 2.0 if DOUBLE.search(text) else 0.5 if HALF.search(text) else None
            mine = amounts.get(str(current))
            if times and mine and not _letter_size(str(current)):
                # "double the quantity": the value of twice their amount
                match = [v for v, a in amounts.items() if a is not None and abs(a - mine * times) < 1e-6 * mine]
                if match:
                    wanted[key] = match[0]
                    continue
            middle = scale[len(scale) // 2]
            if (
                len(scale) % 2
                and not _letter_size(middle)
                and (MIDDLE.search(spans) or MIDDLE_SIZE.search(text))
                and middle != str(current)
            ):
                wanted[key] = middle  # "swap the small bag for the medium one": the middle of their amounts
                continue
            up, down = bool(BIG.search(spans)), bool(SMALL.search(spans))  # "swap it for the big green one"
            if up == down:
                up, down = bool(BIGGER.search(text)), bool(SMALLER.search(text))
        if up == down:
            continue
        at = scale.index(str(current)) + (1 if up else -1)
        if 0 <= at < len(scale):
            wanted[key] = scale[at]
    if len(wanted) > 1:
        # one way said of two measures ("the bigger reel of line, 15 metres goes nowhere" of a length and a
        # thickness): the measure the comparative names, else the one whose value or name they say
        lowered = text.lower()
        named = {
            k
            for k in wanted
            for dim, words in DIMENSIONS.items()
            if dim in k.lower() and any(w in lowered for w in words)
        } or {k for k in wanted if _key_said(text, k) or number_said(text, str(options[k]), None)}
        if named and len(named) < len(wanted):
            wanted = {k: v for k, v in wanted.items() if k in named}
    return wanted


# Other words customers name an option by: "a 34 in the leg" is the length, "double the storage" the capacity.
KEY_WORDS = {
    "colour": r"colou?rs?",
    "color": r"colou?rs?",
    "length": r"legs?|inseam",
    "capacity": r"storage|memory|space",
    "storage": r"capacity|memory|space",
}


def _key_said(text: str, key: str) -> bool:
    """Whether the customer names the option itself ("a 30 length", "the UK layout", "34 in the leg")."""
    word = re.escape(key.lower().rstrip("s"))
    other = KEY_WORDS.get(key.lower())
    return re.search(rf"\b{word}s?\b", text.lower()) is not None or (
        other is not None and re.search(rf"\b(?:{other})\b", text.lower()) is not None
    )


# Before an option's name said to be fine, the words that make it the option they have ("the waist is fine"), not a
# value they accept instead ("ok, the US layout is fine then" takes the US layout).
_THEIR_OPTION = frozenset({"the", "my", "its", "their", "this", "that", "and", "but", "also", "though"})


def _keys_kept(text: str, options: dict[str, Any]) -> set[str]:
    """The options the customer keeps: "same size", "the waist is fine" (not "the US layout is fine")."""
    lowered = text.lower()
    kept = set()
    for key in options:
        word = re.escape(key.lower().rstrip("s"))
        if key.lower() in ("colour", "color"):
            word = "colou?r"
        fine = re.finditer(
            rf"(?:(\w+)\s+)?\b{word}s?\s+(?:is|are|was|were)\s+(?:fine|ok|okay|good|right|perfect)\b", lowered
        )
        if re.search(rf"\bsame\s+{word}s?\b", lowered) or any(
            m.group(1) is None or m.group(1) in _THEIR_OPTION for m in fine
        ):
            kept.add(key)
    return kept


def _comparatives(text: str) -> set[str]:
    """The words comparatives are made of: "a firmer one" names the Firm, "the longer one" the Long."""
    words = set()
    for word in re.findall(r"[a-z]+er\b", text.lower()):
        stem = word[:-2]
        words |= {stem, stem[:-1] if len(stem) > 3 and stem[-1] == stem[-2] else stem, stem + "e"}
        if stem.endswith("i"):
            words.add(stem[:-1] + "y")  # "heavier" -> heavy
    return words


def _comparative_target(product: dict[str, Any], key: str, current: Any, comparatives: set[str]) -> str | None:
    """The value a comparative names ("a firmer one": the Firm): where the values it names stand together at one end
    of the option's values as the catalogue lists them ("Extra Fine, Fine, Medium, Broad"), the next value from
    theirs towards that end ("a finer one" than the Medium is the Fine, "a broader nib" than the Fine the Medium);
    else the one value it names. None when it names none, or several not at an end."""
    values = option_values(product, key)
    named = [i for i, v in enumerate(values) if comparatives & set(re.findall(r"[a-z]+", v.lower()))]
    if not named:
        return None
    at = values.index(str(current)) if current is not None and str(current) in values else None
    block = named == list(range(named[0], named[-1] + 1))
    if at is not None and at not in named and block and (named[0] == 0 or named[-1] == len(values) - 1):
        towards = -1 if named[0] == 0 and at > named[-1] else 1
        return values[at + towards]
    return values[named[0]] if len(named) == 1 else None


def requested_variant(
    product: dict[str, Any], options: dict[str, Any], text: str
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """A variant the customer named: (in stock, or None; out of stock). A value named in full counts most ("the
    green one", "the 1 L", "size 9", "3 metres", "a medium", "the German one"); else a number where a value is
    wanted ("for a 45"), the words they want ("for the usb-c one") closer to a value than to what they have, the
    next value up or down ("the bigger one", "a size up"), or a colour. Each thing said counts once, for the option
    it names best (an option named beside it: "a 30 length"), and options they keep ("same size") are kept. Among
    equals, the variant that keeps their other options, then one in stock. What they refuse ("I don't want a
    smaller set", "not the green") names none."""
    text = without_refused(without_order_number(text))
    wanted = wanted_words(text)
    sized = _next_in_size(product, options, text)
    keep = _keys_kept(text, options)
    regions = regions_said(text)
    comparatives = _comparatives(text)
    # colours said that are not those of what they have ("the dark grey one... the pinky-orange colour"): what
    # they want, by a colour a value names ("black" for Midnight Black) or one its name is ("green" for Moss)
    said = colours_said(text)
    named_colours = said - set().union(set(), *(colour_families(str(v), named_only=True) for v in options.values()))
    colours = said - set().union(set(), *(colour_families(str(v)) for v in options.values()))
    best: tuple[tuple[int, int, int], dict[str, Any]] | None = None
    for variant in product.get("variants", []):
        if variant["options"] == options or any(variant["options"].get(k) != options.get(k) for k in keep):
            continue
        evidence: dict[str, int] = {}  # what was said -> how plainly it names a value of this variant
        kept = 0
        for key, value in variant["options"].items():
            current = options.get(key)
            if current == value:
                kept += 1
                continue
            value = str(value)
            found: list[tuple[str, int]] = []
            # a size spelled out is said as sizes are ("extra large" is no "Large")
            if mentions_value(text, value) and not _spelled_size(value):
                found.append((f"value {compact(value)}", 4))
            elif value_head(value) != value and not _spelled_size(value) and mentions_value(text, value_head(value)):
                found.append((f"value {compact(value)}", 4))  # "the king size bed" for King (150 x 200 cm)
            if size_word_said(text, value):
                found.append((f"size {_letter_size(value)}", 4))
            elif not found and loosely_said(text, value):
                found.append((f"value {compact(value)}", 3))
            if regions & regions_of(value) - regions_of(str(current or "")):
                found.append((f"region {sorted(regions & regions_of(value))}", 4))
            number = number_said(text, value, None if current is None else str(current))
            if number:
                found.append((f"number {max(_numbers(value))}", number))
            if wanted and overlap(value, wanted) > overlap(str(current or ""), wanted):
                found.append((f"words {key}", 2))
            elif not found and distinct_words(product, key, value) & set(re.findall(r"[a-z]+", text.lower())):
                found.append((f"words {key}", 1))  # "the mountain lake picture" for Alpine Lake
            if sized.get(key) == value:
                found.append((f"order {key}", 2))
            if _scale(product, key) is None and value == _comparative_target(product, key, current, comparatives):
                found.append((f"comparative {key}", 2))
            if colour_families(value, named_only=True) & named_colours:
                found.append(("colour", 2))
            elif colour_families(value) & colours:  # "the green one" for the Moss
                found.append(("colour", 1))
            bonus = int(_key_said(text, key))  # "a 30 length": the number is the length's, not the waist's
            for thing, weight in found:
                evidence[thing] = max(evidence.get(thing, 0), weight + bonus)
        named = sum(evidence.values())
        rank = (named, kept, int(variant["stock"] > 0))
        if named and (best is None or rank > best[0]):
            best = (rank, variant)
    if best is None:
        return None, None
    return (best[1], None) if best[1]["stock"] > 0 else (None, best[1])


# intents ----------------------------------------------------------------------------------
ON_ITS_WAY = re.compile(
    r"\b(?:has|have|is|are)\s+(?:it|they|my|the|our|this|that)\b[\w\s'-]{0,40}?\b(?:shipped|dispatched|gone out|left|"
    r"been sent|sent out|posted|on (?:its|their) way|coming|arriving)\b",
    re.IGNORECASE,
)
ORDER_PROGRESS = re.compile(
    r"\b(?:shipped|dispatched|on (?:its|the|their) way|sent|arrived|delivered|late|status|updates?|tracking|where)\b"
    # "can you check order NW10004 for me?", "look up #1032": how it is getting on (not "check whether it can …")
    r"|\b(?:check|look up|look into|chase)\b(?!\s+(?:if|whether)\b)",
    re.IGNORECASE,
)


# A sentence saying that something is coming, not asking: "my orbit watch is on the way."
ON_THE_WAY_SAID = re.compile(
    r"[^.?!]*\b(?:is|are|'s)\s+(?:already\s+|now\s+)?(?:on (?:its|their|the) way|in transit)\b[^.?!]*[.!]",
    re.IGNORECASE,
)
# A swap asked for in so many words, to what they want instead ("switch it from the Gold frame to Gunmetal", "change
# the strap to the green one"), and nothing said of their money back
SWITCH_TO = re.compile(
    r"\b(?:switch|swap|change)\s+(?:it|them|the|my|this|that|these|those)\b[^.?!]{0,60}?\bto\s+(?:the|a|an)?\s*\w"
    # ...or traded for another ("I'd like to trade two of the green mugs from order 1009 for the 450 ml oat ones"; not
    # traded in)
    r"|\btrad(?:e|ing)\s+(?!in\b)(?:(?!\bin\b)[^.?!]){1,60}?\bfor\s+(?:the|a|an|my|some)\s+\w",
    re.IGNORECASE,
)
NOT_A_SWAP = re.compile(
    r"\b(?:refunds?|refunded|money back|reimburse\w*|address|deliver\w*|appointment|password)\b", re.IGNORECASE
)
# How to order something: "how do I place an order?", "how can we put in a bulk order", "how do I actually place that
# order".
PLACING_AN_ORDER = re.compile(
    r"\bhow (?:do|can|would|should) (?:i|we|you) (?:\w+ )?(?:place|make|put in|put through|submit|set up)\s+"
    r"(?:an?|the|that|this|my|our)?\s*(?:\w+\s+)?orders?\b",
    re.IGNORECASE,
)
# A price asked for many of a thing: "any discount for that many?", "do you do bulk pricing?", "a trade discount"
BULK_BUY = re.compile(
    r"\b(?:discounts?|deals?|price|prices|pricing|quote)\b[^.?!]{0,40}?\b(?:that many|so many|bulk|wholesale|large "
    r"orders?|quantit(?:y|ies))\b|\b(?:bulk|wholesale|trade|business|corporate)\s+(?:orders?|prices?|pricing|discounts?"
    r"|rates?)\b"
    # ...or a price asked for an order of that many: "want around 40 of your speckled mugs. Any discount for an order
    # that size?"
    r"|\b(?:discounts?|deals?|price|prices|pricing|quote)\b[^.?!]{0,40}?\b(?:order|purchase|one) (?:of )?that size\b",
    re.IGNORECASE,
)
# The requests about an order the customer already has.
ORDER_REQUESTS = frozenset(
    {Intent.CANCEL, Intent.RETURN, Intent.EXCHANGE, Intent.ADDRESS, Intent.REMOVE_ITEM, Intent.TRACK}
)


def variant_wanted(product: dict[str, Any], options: dict[str, Any], text: str) -> dict[str, str] | None:
    """The options the customer wants changed, to the values they name (`requested_variant`, in stock or not): only
    those that differ from what they have; None when they name no variant."""
    asked, unavailable = requested_variant(product, options, text)
    chosen = asked or unavailable
    return None if chosen is None else {k: str(v) for k, v in chosen["options"].items() if options.get(k) != v}


# A cancellation asked for: "just cancel #1021 and refund me", "I would like it cancelled and the money refunded",
# "it's the headphones I'd like to cancel" (not "it shows as cancelled", "cancel my return")
CANCEL_ASKED = re.compile(
    r"\bcancel\b(?!\s+(?:my|the|this|that)\s+(?:return|exchange|swap|refund)\b)"
    r"|\b(?:like|want|need|have|get)\s+(?:it|this|that|them|the\s+\w+|my\s+\w+|\S+)\s+cancell?ed\b",
    re.IGNORECASE,
)
SENT_BACK = re.compile(r"\breturn|\b(?:send|sent|ship|post|mail)\w*\s+(?:\w+\s+){0,4}?back\b|\bremove|\btake\b", re.I)
# A cancellation only said to have happened: "it shows as cancelled and I never cancelled it", "my order was
# cancelled?"
CANCELLATION_SAID = re.compile(
    r"\b(?:was|were|been|got)\s+(?:[\w-]+\s+){0,3}?cancell?ed\b"
    r"|\b(?:as|is|never|already|has|have|had|i|we|you|it's|it)\s+cancell?ed\b",
    re.IGNORECASE,
)
CANCEL_WORD = re.compile(r"\bcancel\w*", re.IGNORECASE)


def only_said_cancelled(text: str) -> bool:
    """Whether every word of cancelling in the text says a cancellation happened (`CANCELLATION_SAID`)."""
    words = list(CANCEL_WORD.finditer(text))
    return bool(words) and all(CANCELLATION_SAID.search(text[max(0, word.start() - 40) : word.end()]) for word in words)


# Something to be added to an order: "can I add a second set of tumblers to an order that hasn't shipped yet?"
ADD_TO_ORDER = re.compile(
    r"\badd\w*\s+(?:[\w.-]+\s+){0,6}?(?:to|onto|on to)\s+(?:my|an|the|this|that|our)\s+(?:\w+\s+)?order\b", re.I
)
# What a product tracks, not a parcel: "does sleep tracking on the watch need the subscription?"
FEATURE_TRACKING = re.compile(
    r"\b(?:sleep|fitness|heart[ -]rate|step|activity|gps|location|health|workout|calorie|eye|head|motion|habit"
    r"|expense|budget|period|cycle|pace|run|swim|price)\s+track(?:ing|er)\b",
    re.IGNORECASE,
)
# A parcel to be stopped before it goes: "can you still stop the dongle from shipping?", "stop the order going out"
STOP_SHIPPING = re.compile(
    r"\b(?:stop|halt|hold back)\s+(?:[\w-]+\s+){0,6}?(?:from\s+)?(?:shipping|being (?:shipped|sent|dispatched)"
    r"|going out|dispatching|getting sent)\b",
    re.IGNORECASE,
)


def acting_intent(text: str, intent: str) -> Intent:
    """The intent the engine acts on, from the classifier's: a question that gives an address to send to is an
    address change ("can you send it to 1820 SE Belmont St, Portland, OR 97214 instead?"), and one with tracking
    words, or an order number alone or asked after, asks where the order is."""
    reading = Intent(intent)
    rest = signals.without_earlier_request(text)
    if rest != text and len(content_words(rest)) >= 2:
        # "I emailed earlier asking you to cancel my grinder order. Please ignore that, I still want it. Could you
        # ship it to my office instead? …": what is asked now
        return acting_intent(rest, signals.understood(rest)[0])
    # "ok so how do I actually place that order?": asking how to order something new is a question, never a request
    # about an order they have, unless the request's own words are there too ("how do I cancel the order I placed?")
    # ...nor is asking for a price for many of something ("want about 30 of the moss mugs. Any discount for that
    # many?")
    if (
        reading in ORDER_REQUESTS
        and (PLACING_AN_ORDER.search(text) or BULK_BUY.search(text))
        and not signals.any_phrase(signals.normalize(text), signals.INTENT_PHRASES.get(reading.value, ()))
    ):
        return Intent.QUESTION
    # "can I change where the canister gets shipped? …: 2217 SE Clinton St, Portland OR 97202": a new address given
    # with a change asked for, however the shipping words read
    if reading is Intent.TRACK and CHANGE_WHERE.search(text) and parse_address(text):
        return Intent.ADDRESS
    # "could you look up TR-4402?": an order number asked after, with no word of the request read (a weak reading of
    # a few words) asks how the order is getting on
    if (
        reading in (Intent.RETURN, Intent.EXCHANGE, Intent.CANCEL)
        and order_reference(text)
        and ORDER_PROGRESS.search(text)
        and not signals.any_phrase(signals.normalize(text), signals.INTENT_PHRASES.get(reading.value, ()))
        and len(content_words(without_order_number(text))) <= 3
    ):
        return Intent.TRACK
    # "my orbit watch is on the way. when i set it up … how long does that usually take?": that it is coming is said,
    # not asked; what is asked is the question after it
    if reading is Intent.TRACK:
        rest = ON_THE_WAY_SAID.sub(" ", text)
        asked = signals.normalize(rest)
        if (
            rest != text
            and "?" in rest
            and not signals.any_phrase(asked, signals.INTENT_PHRASES["track"])
            and not signals.WHEN_COMING.search(asked)
            and not ON_ITS_WAY.search(rest)
            and signals.classify(rest)[0] == "question"
        ):
            return Intent.QUESTION
    # "just cancel #1021 and refund me", "it's the 2 m cable order I want to cancel": a cancellation asked for, its
    # money with it, and nothing said of sending anything back or taking it off
    asked = signals.REFUSED_REQUEST.sub(" ", text)
    if (
        reading in (Intent.RETURN, Intent.REMOVE_ITEM)
        and CANCEL_ASKED.search(asked)
        and not SENT_BACK.search(asked)
        and (reading is Intent.RETURN or not names_item_not_order(asked))
    ):
        return Intent.CANCEL
    # "what happened to order 1006? It shows as cancelled and I never cancelled it": asked about a cancellation said
    # to have happened, none asked for
    if reading is Intent.CANCEL and "?" in text and only_said_cancelled(text):
        return Intent.QUESTION
    # "Does sleep tracking on the Orbit need the paid subscription?": what it tracks, nothing of a parcel asked
    if reading is Intent.TRACK and FEATURE_TRACKING.search(text):
        rest = FEATURE_TRACKING.sub(" ", text)
        said = signals.normalize(rest)
        if not (
            signals.any_phrase(said, signals.INTENT_PHRASES["track"])
            or signals.WHEN_COMING.search(said)
            or ON_ITS_WAY.search(rest)
            or ORDER_PROGRESS.search(rest)
        ):
            return Intent.QUESTION
    # "can I add a second set of tumblers to an order that hasn't shipped yet?": how to add to an order is asked
    if reading in (Intent.TRACK, Intent.QUESTION) and ADD_TO_ORDER.search(text):
        return Intent.QUESTION
    # "can you still stop the dongle with all the ports from shipping?"
    if reading in (Intent.QUESTION, Intent.UNKNOWN, Intent.TRACK) and STOP_SHIPPING.search(text):
        return Intent.CANCEL
    # "please switch the aviators from the Gold frame to Gunmetal": a swap to another, read as sending it back
    if reading is Intent.RETURN and SWITCH_TO.search(text) and not (NOT_A_SWAP.search(text) or parse_address(text)):
        return Intent.EXCHANGE
    # "I won't be home on Tuesday, so the power bank would be better off going to the Packstation round the
    # corner": where it should go, not a booking, nor an item taken off (unless the rules read one asked for: "take
    # the cable off and send the rest to my office")
    if DELIVERED_ELSEWHERE.search(text) and (
        reading in (Intent.APPOINTMENT, Intent.UNKNOWN)
        or (reading is Intent.REMOVE_ITEM and signals.classify(text)[0] not in ("remove_item", "cancel"))
        # "dhl says it's in transit but I'm not home Monday, can you send it to the packstation instead": where it is
        # going is said, and where it should go instead is asked
        or (
            reading is Intent.TRACK
            and INSTEAD.search(signals.normalize(text))
            # (not where it is asked in a request of its own: "when are the headphones coming? if it's Tuesday can
            # they go to my office instead")
            and not any(
                signals._classify(part)[0] == "track" and not DELIVERED_ELSEWHERE.search(part)
                for part in signals.request_parts(text)
            )
        )
    ):
        return Intent.ADDRESS
    if reading in (Intent.QUESTION, Intent.UNKNOWN):
        if (SEND_TO.search(text) or CHANGE_WHERE.search(text)) and parse_address(text):
            return Intent.ADDRESS
        normalized = signals.normalize(FEATURE_TRACKING.sub(" ", text))  # (not what a product tracks)
        if signals.any_phrase(normalized, signals.INTENT_PHRASES["track"]) or signals.ANY_NEWS.search(normalized):
            return Intent.TRACK
        # asked how something of theirs is getting on: "has the lamp shipped?", "when will the fig oil be
        # dispatched?", "is the Guji coming this week?"
        if signals.WHEN_COMING.search(normalized) or ON_ITS_WAY.search(text):
            return Intent.TRACK
        # an order number and nothing asked ("A-20931?"), or asked how it is getting on ("has SS-40299 shipped?");
        # another question beside one asks that question ("my order 4471 is a gift, does the parcel show the price?":
        # 23 of 28 readings as tracking were wrong on the written training messages)
        if order_reference(text) and (reading is Intent.UNKNOWN or ORDER_PROGRESS.search(text)):
            return Intent.TRACK
    return reading


def part_intent(part: str) -> Intent | None:
    """The request of one part of a message; None where the part only takes a request back ("I no longer need to
    return the pencils.", "I was going to return the harness but he's grown into it."): what is left of it, read
    on its own, asks for nothing."""
    intent = acting_intent(part, signals.understood(part)[0])
    if intent is Intent.UNKNOWN and signals.QUESTION_START.match(signals.normalize(LEAD_IN.split(part)[-1])):
        # "And a question while I'm here: will the hub charge my laptop …": the question after what leads to it
        return Intent.QUESTION
    if intent.value in signals.REFUSED_READINGS and signals.REFUSED_REQUEST.search(part):
        rest = signals.REFUSED_REQUEST.sub(" ", part)
        if len(re.findall(r"[A-Za-z]+", rest)) < 2 or not signals.requests_something(rest):
            return None
        intent = acting_intent(rest, signals.understood(rest)[0])
    return intent


def intents(text: str) -> list[Intent]:
    """Every request of a message, in the order written: "where is my order, and how long do refunds take?" is
    [track, question]. A greeting, thanks or small talk beside a request is not one, nor a request taken back."""
    text = signals.without_earlier_request(text) or text  # (not a request made earlier and taken back)
    parts = signals.request_parts(text) or [text]
    # the whole message's reading first: the model was trained on whole messages, and a clause may lack its context
    read = [acting_intent(text, signals.understood(text)[0])]
    social = read[0] in (Intent.GREETING, Intent.THANKS, Intent.GOODBYE)
    several = parts if len(parts) > 1 else []
    asking = [signals.requests_something(part) for part in several]
    meant = [part_intent(part) for part in several]
    sent_back_or_swapped = (Intent.RETURN, Intent.EXCHANGE)
    item_asked = any(a and i in sent_back_or_swapped for a, i in zip(asking, meant, strict=True))
    for n, part in enumerate(several):
        if social and not asking[n]:
            # thanks said with what went well ("the ukulele arrived and it's gorgeous. Thank you!"): a part that asks
            # for nothing is what they are thankful for, not a request
            continue
        intent = meant[n]
        if intent is None:
            continue
        if intent in sent_back_or_swapped and item_asked and not asking[n] and signals.classify(part)[0] == "unknown":
            # said beside a request to send an item back or swap it, asking for nothing in words the rules know: why
            # they ask ("I'd like to send back the two jars. Lovely, just too small for my flour."; "Packet is still
            # sealed."), not a request of its own
            continue
        if intent in read[1:] and intent.value in signals.REQUESTS and signals.classify(part)[0] == "question":
            # the request asked again, in a question the rules read as one: a question about it ("I want to return
            # it - do I need the original box?")
            intent = Intent.QUESTION
        read.append(intent)
    found: list[Intent] = (
        [i for i in read if i not in (Intent.GREETING, Intent.THANKS, Intent.UNKNOWN)]
        or [i for i in read if i is not Intent.UNKNOWN]
        or read
    )
    if signals.asks_for_person(text):
        # "I'd like to return it, and … I'd prefer a real person handles this": whoever asks for a person gets one,
        # as the engine hands over (`signals.score`'s wants_human), whatever request the clause reads as first
        found.append(Intent.HUMAN)
    return list(dict.fromkeys(found))


class Reading(BaseModel):
    """What a first message asks, resolved against the customer's own orders and the catalogue."""

    intent: Intent = Field(description="what the engine acts on first")
    intents: list[Intent] = Field(description="every request, in the order written")
    order_reference: str | None = Field(None, description="an order number as the customer wrote it")
    order_id: str | None = Field(None, description="the customer's own order that number names")
    item: str | None = Field(None, description="product id of the one item of theirs the message means")
    variant: dict[str, str] | None = Field(None, description="the option values they want instead")


def _first_words(text: str, lines: list[dict[str, Any]]) -> tuple[list[str], list[tuple[str, int]]]:
    """The customer's words, and each product of `lines` with where its words first come in them, first first."""
    words = [stem(w) for w in re.findall(r"[a-z0-9]+(?:\.[a-z0-9]+)*", text.lower())]
    first: dict[str, int] = {}
    for line in lines:
        terms = item_words(line["title"] + " " + " ".join(line["options"].values()))
        at = next((n for n, w in enumerate(words) if w in terms), None)
        if at is not None:
            first[line["product_id"]] = min(at, first.get(line["product_id"], at))
    return words, sorted(first.items(), key=lambda kv: kv[1])


def first_named(text: str, lines: list[dict[str, Any]]) -> str | None:
    """The product of `lines` whose words come first in the customer's text, or None when none or two come first."""
    _, ranked = _first_words(text, lines)
    if not ranked:
        return None
    return ranked[0][0] if len(ranked) == 1 or ranked[1][1] > ranked[0][1] else None


# "the power bank + cable", "mouse n power bank", "cups & saucers": a list, as "and" makes one
LIST_SIGN = re.compile(r"\s*[+&]\s*|\s+n\s+")


def named_together(text: str, lines: list[dict[str, Any]]) -> bool:
    """Whether the customer names two of `lines` as one list ("the pen and the notebook", "my power bank + cable",
    "the espresso cups and beans"): both are meant. The words just before a joining word name one, the words just
    after it another (each the line its title's words name most)."""
    words = re.findall(r"[a-z0-9]+(?:['.-][a-z0-9]+)*", LIST_SIGN.sub(" and ", text.lower()))

    def best(said: list[str]) -> str | None:
        scores = {line["product_id"]: title_score(" ".join(said), line) for line in lines}
        top = max(scores.values(), default=0)
        named = [product for product, score in scores.items() if score == top]
        return named[0] if top and len(named) == 1 else None

    for n, word in enumerate(words):
        if word in ("and", "or", "plus"):
            before, after = best(words[max(0, n - 3) : n]), best(words[n + 1 : n + 4])
            if before is not None and after is not None and before != after:
                return True
    return False


# A clause that goes on with the list of things the request before it names: "also the fountain from my other order"
LIST_GOES_ON = re.compile(r"\s*(?:and\s+)?(?:also|plus|as well as)\s+(?:the|my|that|those|these)\b", re.IGNORECASE)


# A sentence of thanks: what it lists was delivered, not asked about ("Thank you for the quick delivery on my mug and
# espresso cups!! Only thing, the oat mug is a bit small")
THANKS_SENTENCE = re.compile(r"^\s*(?:\w+[,!]?\s+)?(?:thanks?|thx|ty|cheers|loving|love)\b", re.IGNORECASE)


def without_thanked(text: str) -> str:
    """The customer's words without their sentences of thanks."""
    return " ".join(sentence for sentence in SENTENCE.findall(text) if not THANKS_SENTENCE.match(sentence))


def items_of_requests(text: str, orders: list[dict[str, Any]]) -> set[str]:
    """The items of theirs (product ids) that the item requests of a message making several name in so many words,
    one per request: "kettle STILL isnt here… also can you cancel the grinder" -> the kettle and the grinder."""
    parts = signals.request_parts(text)  # "where my kettle is, and cancel the grinder": two
    if len(parts) < 2:
        return set()
    candidates = [(order, line) for order in orders for line in order["lines"]]
    named: list[tuple[Intent, bool, set[str]]] = []  # each request's intent, whether it asks, the item it names
    for part in parts:
        intent = part_intent(part)
        if intent not in ITEM_INTENTS or (KEPT.search(part) and not content_words(KEPT.sub(" ", part))):
            continue  # a request taken back, or only what they keep ("Keep the bike.")
        # not what they refuse ("NOT the tea towel order, that one's fine"), nor what they want instead
        match = items_named(without_refused(part), candidates, exchange=intent is Intent.EXCHANGE)
        meant = {candidates[i][1]["product_id"] for i in match.best}
        if len(meant) != 1 or not any(item_score(match.have, match.named, candidates[i][1]) for i in match.best):
            meant = set()  # named by meaning or not at all: not in so many words
        # a list of what the request before it is about goes on ("…return the bed and also the fountain")
        asks = signals.requests_something(part) or LIST_GOES_ON.match(part) is not None
        named.append((intent, asks, meant))
    # A fault described ("It doesn't sit right and the top string buzzes") is the reason for the request beside it,
    # not a request of its own: the items its words name are not meant, unless a request to send back or swap names
    # no item of its own, which the fault's words then say ("The jet washer pump is leaking. Refund please").
    faults = (Intent.RETURN, Intent.EXCHANGE)
    said_of_fault = any(asks and intent in faults and not meant for intent, asks, meant in named)
    return {
        product for intent, asks, meant in named if asks or said_of_fault or intent not in faults for product in meant
    }


def about_lines(order: dict[str, Any], products: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The order with each line saying what its product is (`about`: its title and the first sentence the catalogue
    says of it), for items named by meaning: "the big pot" for a dutch oven the catalogue describes as a pot
    (`meant_by_meaning` takes whichever of this and the title and options is closer)."""
    lines = []
    for line in order["lines"]:
        product = products.get(line["product_id"]) or {}
        description = re.split(r"(?<=[.!?])\s", str(product.get("description", "")).strip(), maxsplit=1)[0]
        # and every value of its options, which name variants rather than things (`names_a_thing`)
        values = sorted({str(v) for variant in product.get("variants", []) for v in variant["options"].values()})
        lines.append(
            {**line, "values": values, **({"about": f"{line['title']}. {description}"} if description else {})}
        )
    return {**order, "lines": lines}


# The rest of an order said to come: "keep the rest", "leave the table and chairs", "the skirt can stay", "just the
# paints" after the whole order
# A cancellation of the order itself, not of an item in it: "cancel the grinder order", "cancel my order with the mug"
# (not "cancel the mug from my order"), "cancel both", "the whole thing"
ORDER_ITSELF = re.compile(r"\borders?\b(?!\s*#?\s*\w*\d)", re.IGNORECASE)
FROM_THE_ORDER = re.compile(r"\b(?:from|off|on|in)\s+(?:my|the|this|that|our)\s+(?:\w+\s+)?order\b", re.IGNORECASE)
ALL_OF_IT = re.compile(r"\b(?:whole|entire)\s+(?:order|thing|lot|parcel)\b|\beverything\b|\bboth\b", re.IGNORECASE)


def names_item_not_order(text: str) -> bool:
    """Whether a cancellation names an item rather than the order holding it ("please cancel the slate mug", "scrap
    the tea caddy", "cancel the mug from my grinder order"; not "cancel the grinder order", "cancel both", "…take the
    grinder off my order, but honestly - cancel the whole thing")."""
    if ALL_OF_IT.search(text):
        return False
    return not ORDER_ITSELF.search(text) or FROM_THE_ORDER.search(text) is not None


REST_KEPT = re.compile(
    r"\b(?:keep|keeping|leave|still send)\s+(?:the|my|everything|all)\b|\bthe rest\b|\beverything else\b"
    r"|\bcan (?:still )?(?:stay|come)\b|\b(?:just|only) the\b",
    re.IGNORECASE,
)


# A whole order, or another than the one of the item they name: "cancel the whole thing", "where is my other order?"
WHOLE_OR_OTHER = re.compile(
    r"\b(?:the whole (?:thing|order|lot|of)|everything|(?:my|the) other (?:order|parcel|delivery))\b", re.IGNORECASE
)


def read(text: str, orders: list[dict[str, Any]], products: dict[str, dict[str, Any]]) -> Reading:
    """The reading of a first message by the customer who owns `orders` (newest first), in a shop selling
    `products` (by id)."""
    intent = acting_intent(text, signals.understood(text)[0])
    if intent is Intent.PASSWORD and (other := signals.beside_sign_in(text, first=True)) is not None:
        # "Is my parcel out for delivery tomorrow? Also I can't sign in to check": the request asked before the
        # sign-in is acted on first, the sign-in answered beside it (the engine acts on it whichever comes first)
        intent = Intent(other)
    reference, named = named_order(text, orders)
    item = variant = None
    requested = intents(text)
    # an item is read when any request of the message is about one
    if intent in ITEM_INTENTS or any(i in ITEM_INTENTS for i in requested):
        orders = [about_lines(order, products) for order in orders]
        open_orders = [o for o in orders if o["status"] != "cancelled"]
        mine = [named] if named else ([] if reference else open_orders)
        candidates = [(order, line) for order in mine for line in order["lines"]]
        match = items_named(text, candidates, exchange=intent is Intent.EXCHANGE)
        if reference and not named:
            # a number that is none of theirs ("order #1092", a digit off), with an item of theirs named in so many
            # words: that item ("the dutch oven was supposed to be here… order #1092")
            candidates = [(order, line) for order in open_orders for line in order["lines"]]
            match = items_named(text, candidates, exchange=intent is Intent.EXCHANGE)
            if not any(item_score(match.have, match.named, candidates[i][1]) for i in match.best):
                match = ItemMatch(best=[], have=match.have, named=match.named, latest=match.latest)
        products_meant = {candidates[i][1]["product_id"] for i in match.best}
        tied = [candidates[i][1] for i in match.best]
        if len(products_meant) > 1 and not match.latest and not named_together(match.have, tied):
            # named equally by their words: the one named first is what the sentence is about ("the left earbud
            # won't charge in the case", "the beans ground for filter")
            first = first_named(match.have, [candidates[i][1] for i in match.best])
            if first is None:
                # else the one their words mean, of those they name equally ("the cat tower" of the Cat Tree and the
                # Cat Litter, "the cycling top" of the Cycling Jersey and the Cycling Gloves)
                meant = {tied[i]["product_id"] for i in meant_by_meaning(match.named or match.have, tied)}
                first = next(iter(meant), None)
            if first is not None:
                match = ItemMatch(
                    best=[i for i in match.best if candidates[i][1]["product_id"] == first],
                    have=match.have,
                    named=match.named,
                    latest=match.latest,
                )
                products_meant = {first}
        lines = [line for _, line in candidates]
        # "return the power bank and the cable", "any news on the pour-over cone and coffee I ordered?": a list of
        # two of theirs, of which neither is the one item meant
        no_one_item = len(items_of_requests(text, open_orders)) > 1 or (
            len(products_meant) == 1 and named_together(without_thanked(match.have), lines)
        )
        if (
            intent is Intent.CANCEL
            and named
            and len(named["lines"]) > 1
            and all(title_score(text, line) for line in named["lines"])
        ):
            # "cancel my order #20926 with the mouse and the power bank": the order, every item of it named
            no_one_item = True
        if len(products_meant) == 1 and no_one_item:
            # "cancel the jar order and where's my dutch oven": each request is about an item of its own, and no
            # one item is what the message means
            products_meant = set()
            match = ItemMatch(best=[], have=match.have, named=match.named, latest=match.latest)
        # the one item of the order they name, unless they cancel it: then it is the order they mean
        if len(products_meant) == 1 or (len(candidates) == 1 and named and not no_one_item):
            order, line = candidates[match.best[0] if match.best else 0]
            item = line["product_id"]
            if intent is Intent.CANCEL and not reference and len(order["lines"]) > 1 and REST_KEPT.search(text):
                # "cancel the rug but leave the table and chairs": one item of an order whose rest is to come
                intent = Intent.REMOVE_ITEM
                requested = list(dict.fromkeys(Intent.REMOVE_ITEM if i is Intent.CANCEL else i for i in requested))
            product = products.get(item)
            if order["status"] == "pending" and (
                # (a cancellation of an order they name by its number is of that order: "plz cancel order #1036, dont
                # need the jar anymore")
                (
                    (intent is Intent.RETURN or (intent is Intent.CANCEL and not reference))
                    and signals.unwanted_unsent(text)
                )
                # "…hoping I caught it before it ships", read as a swap with nothing to swap it for
                or (
                    intent is Intent.EXCHANGE
                    and signals.unwanted_unsent(text)
                    and product is not None
                    and requested_variant(product, line["options"], text) == (None, None)
                )
            ):
                # "scrap the knife strip, my partner already bought one" of an order not yet shipped: not to be sent
                to = Intent.CANCEL if len(order["lines"]) == 1 else Intent.REMOVE_ITEM
                requested = list(dict.fromkeys(to if i is intent else i for i in requested))
                intent = to
            if product is not None and Intent.EXCHANGE in (intent, *requested):
                variant = variant_wanted(product, line["options"], text)
                if intent is Intent.RETURN and variant is not None and not signals.MONEY_BACK.search(text):
                    # "mug is too small, want the 450 same colour": the fault is why, the other one of it is what
                    # they ask for, and no money back is asked
                    intent = Intent.EXCHANGE
                    requested = list(dict.fromkeys(Intent.EXCHANGE if i is Intent.RETURN else i for i in requested))
    if item is not None and intent in (Intent.CANCEL, Intent.TRACK) and WHOLE_OR_OTHER.search(text):
        # "never mind the gels, cancel the whole thing", "…never mind that. Where is my other order?": no one item
        item = None
    return Reading(
        intent=intent,
        intents=requested,
        order_reference=reference,
        order_id=named["order_id"] if named else None,
        item=item,
        variant=variant,
    )
