"""What a customer's message asks, read against their own data: the intents of its requests, the order it names,
the item of theirs it means and the variant they want instead.

The deterministic engine acts on these readings, and `concierge understanding` measures them on a labelled set
(evaluation/understanding/). Everything here is plain text matching against the customer's orders and the
merchant's catalogue: no store's ids, option names or products are assumed.
"""

from __future__ import annotations

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
    r"\b(?:keep|keeping|hang on to|hold on to|holding on to)\s+(?:the|my|our)\s+[\w -]{1,40}?"
    r"(?=[.,!?;]|$|\s+(?:and|but)\b)",
    re.IGNORECASE,
)
REQUEST_OBJECT = re.compile(
    r"\b(?:return|send back|refund|exchange|swap|replace|cancel|remove|take out)\s+"
    r"(?:the|my|this|these|those|our)\s+([\w -]{1,40}?)"
    # where the item's name ends: "send back the little white cone thing i got with my beans" names the cone
    r"(?=[.,!?;]|$|\s+(?:please|for|because|as|and|but|back|since|so|i|we|that|which)\b)",
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
ASKS_ITEM_BACK = re.compile(r"\b(?:return|send\w*\s+(?:\w+\s+){0,5}?back|refund|exchange|swap|replace)\b", re.I)


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


def request_object(text: str) -> str:
    """The words a request verb names ("cancel the striped towels, keep the glass ones coming" -> "striped towels")."""
    return " ".join(m.group(1) for m in REQUEST_OBJECT.finditer(text))


def named_order(text: str, orders: list[dict[str, Any]]) -> tuple[str | None, dict[str, Any] | None]:
    """(what the customer wrote, the one order of theirs it names, or None: also when it could be two of them)."""
    reference = order_reference(text)
    if reference is None:
        return None, None
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
    return re.search(rf"(?<![\w.]){re.escape(wanted)}(?![\w.])", lowered) is not None


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
SEND_TO = re.compile(r"\b(send|ship|deliver|redirect|forward|post|mail)\b[^.?!]*\bto\b", re.IGNORECASE)
# "Apt 5B", "Suite 200", and a flat or floor written bare after the street, as much of Europe does ("4B", "2-1")
UNIT = re.compile(
    r"^(?:(?:apt|apartment|unit|suite|ste|flat|floor|fl|room|building|bldg|#)\b"
    r"|\d{1,3}\s?[a-z]?[º°ª]?(?:[\s-]\d{1,3}[a-z]?[º°ª]?)?$)",
    re.IGNORECASE,
)
STREET_LEAD_IN = re.compile(
    r"^(?:it'?s|it is|that'?s|that is|this is|(?:the|my|our) (?:new )?address is|new address:?|address:?)\s+",
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
    r"\b(?:for|to|into)\s+(?:the|a|an)\s*[\w .-]{1,40}?(?:\s+(?:one|ones|version|model|set|"
    r"instead)\b|[?.!,]|$)"
    # "could I get it in black instead?"
    r"|\b(?:get|have|want|need)\s+(?:it|them|one)\s+in\s+(?:the\s+)?[\w .-]{1,40}?(?:\s+instead\b|[?.!,]|$)",
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


def overlap(value: str, wanted: set[str]) -> float:
    """Jaccard similarity of an option value's words and the wanted words."""
    words = value_words(value)
    return len(words & wanted) / len(words | wanted) if words and wanted else 0.0


def content_words(text: str) -> set[str]:
    """The words of a message that can name an item (not 'where is my order')."""
    token = r"[a-z0-9]+(?:\.[a-z0-9]+)*"
    words = {w for w in re.findall(token, text.lower()) if w not in GENERIC_WORDS and w not in STOPWORDS}
    return words | {w[:-1] for w in words if w.endswith("s") and len(w) > 3}


def singular(word: str) -> str:
    return word[:-1] if word.endswith("s") and len(word) > 3 else word


def line_score(text: str, line: dict[str, Any]) -> int:
    """How many of the customer's item words are words of this order line's title and options, a word of five
    letters or more also when one letter is wrong, missing or extra ("kettel", "keybord"). A word counts once, in
    the singular or the plural ("cups" is not two words of "Espresso Cups")."""
    words = content_words(text)
    terms = content_words(line["title"] + " " + " ".join(line["options"].values()))
    exact = words & terms
    near = {w for w in words - exact if len(w) >= 5 and any(len(t) >= 5 and one_typo_apart(w, t) for t in terms)}
    return len({singular(w) for w in exact | near})


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


def item_score(text: str, named: str, line: dict[str, Any]) -> int:
    """How well the customer's words name an item; what a request verb names (`named`: "return the cable please,
    the hub came with one") outweighs what is only mentioned."""
    return line_score(text, line) + 2 * line_score(named, line)


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
        vector = sentences.embedding(line_text(line))
        if vector is None:
            return []
        by_product[line["product_id"]] = float(asked @ vector)
    ranked = sorted(by_product.items(), key=lambda kv: kv[1], reverse=True)
    best, score = ranked[0]
    if score < SEMANTIC_FLOOR or (len(ranked) > 1 and score - ranked[1][1] < SEMANTIC_MARGIN):
        return []
    return [i for i, line in enumerate(lines) if line["product_id"] == best]


# The item an item came with, named to say which order, not what is meant: "the glass jars that came with my
# tumblers", "the little cone I got with my beans", "the lid that was in the box with the kettle".
CAME_WITH = re.compile(
    r"\b(?:(?:that|which)\s+)?(?:(?:i|we)\s+)?(?:came|arrived|shipped|come|got|bought|ordered|was|were)\s+"
    r"(?:in\s+the\s+(?:same\s+)?(?:box|order|parcel|package)\s+)?(?:with|alongside|together with|as)\s+"
    r"(?:my|the|our)\s+([\w -]{1,40}?)(?=[.,!?;]|$|\s+(?:are|is|were|was|and|but|please|for|because|as|since|so|i|we|"
    r"can|could|do|does|did|will|would|have|has|had|don't|doesn't|didn't|won't|aren't|isn't)\b)",
    re.IGNORECASE,
)


def beside_item(text: str, candidates: list[tuple[dict[str, Any], dict[str, Any]]]) -> tuple[str, set[int]] | None:
    """When the customer names an item by the one it came with ("the jars that came with my tumblers"): their words
    without that phrase, and the candidates it leaves — the other lines of the orders holding the item named as
    company. None when they say no such thing, or it names none of their lines, or leaves nothing."""
    company = " ".join(m.group(1) for m in CAME_WITH.finditer(text))
    rest = CAME_WITH.sub(" ", text)
    if not company or not content_words(rest):
        return None
    scores = [line_score(company, line) for _, line in candidates]
    beside = {i for i, score in enumerate(scores) if score and score == max(scores)}
    orders = {candidates[i][0]["order_id"] for i in beside}
    others = {i for i, (order, _) in enumerate(candidates) if order["order_id"] in orders and i not in beside}
    return (rest, others) if others else None


def items_named(
    text: str, candidates: list[tuple[dict[str, Any], dict[str, Any]]], exchange: bool = False
) -> ItemMatch:
    """Which of the customer's (order, line) pairs their words name. Among equal matches, what has arrived comes
    first (it is what can go back), unless they said "my last order", which picks the newest order holding one."""
    # "exchange the 5-piece containers for the 10-piece set": what they want is not what they have
    have = EXCHANGE_TARGET.sub(" ", text) if exchange else text
    # "I'll keep the hub", "the cups are lovely, keeping those": not the item meant
    have = without_praised(have, [line for _, line in candidates])
    allowed = set(range(len(candidates)))
    company = beside_item(have, candidates)
    if company:  # "the jars that came with my tumblers": one of the tumblers' order's other lines
        have, allowed = company
    named = request_object(have)
    latest = bool(LATEST.search(text))
    scored = sorted(
        ((item_score(have, named, line), -i) for i, (_, line) in enumerate(candidates) if i in allowed), reverse=True
    )
    best = [-i for score, i in scored if score == scored[0][0] and score > 0]
    unique = len(best) == 1
    if not best and len({candidates[i][1]["product_id"] for i in allowed}) > 1:
        kept = sorted(allowed)
        meant = meant_by_meaning(without_order_number(named or have), [candidates[i][1] for i in kept])
        best = [kept[i] for i in meant]
    elif not best and company:  # the one product left beside the item it came with
        best = sorted(allowed)
    if len(best) > 1 and not latest:
        best = [i for i in best if candidates[i][0]["status"] == "delivered"] or best
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


BIGGER = re.compile(r"\b(bigger|larger|longer|next size up|size up|one size up)\b", re.IGNORECASE)
SMALLER = re.compile(r"\b(smaller|shorter|next size down|size down|one size down)\b", re.IGNORECASE)
# In the words of what they want ("for the big green one"), plain size words say which way too.
BIG = re.compile(r"\b(big|bigger|large|larger|long|longer|tall|taller)\b", re.IGNORECASE)
SMALL = re.compile(r"\b(small|smaller|little|mini|short|shorter)\b", re.IGNORECASE)

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
grey: ash pebble gunmetal smoke
grey beige: stone
grey silver: steel
black: onyx jet ebony obsidian
white beige: ivory
white: snow chalk pearl porcelain frost
beige: oat oatmeal sand natural linen ecru
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
    return None


def colours_said(text: str) -> set[str]:
    """The basic colours a customer's words name."""
    return {c for w in re.findall(r"[a-z]+", text.lower()) if (c := _colour(w))}


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
    number = re.search(r"\d+(?:[.,]\d+)?", value)
    return float(number.group().replace(",", ".")) if number else None


def _next_in_size(product: dict[str, Any], options: dict[str, Any], text: str) -> dict[str, str]:
    """ "The bigger one": for each option whose values are amounts (5.2 L, 28 cm, 64 GB), the next amount up from
    theirs (or down, for "smaller"); {} when they say neither or no option is an amount."""
    spans = " ".join(m.group(1) for m in WANTED.finditer(text))
    up, down = bool(BIG.search(spans)), bool(SMALL.search(spans))  # "swap it for the big green one"
    if up == down:
        up, down = bool(BIGGER.search(text)), bool(SMALLER.search(text))
    if up == down:
        return {}
    wanted: dict[str, str] = {}
    for key, current in options.items():
        have = _amount(str(current))
        values = {str(v["options"].get(key)) for v in product.get("variants", []) if v["options"].get(key) is not None}
        amounts = sorted((a, v) for v in values if (a := _amount(v)) is not None and have is not None and a != have)
        nearer = [(a, v) for a, v in amounts if (a > have if up else a < have)] if have is not None else []
        if nearer:
            wanted[key] = (nearer[0] if up else nearer[-1])[1]
    return wanted


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


def without_refused(text: str) -> str:
    """The customer's words without what they say they do not want: the variant or size they refuse is not the one
    they ask for."""
    return NOT_WANTED.sub(" ", text.replace("\u2019", "'"))


def requested_variant(
    product: dict[str, Any], options: dict[str, Any], text: str
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """A variant the customer named: (in stock, or None; out of stock). A value named in full counts most ("the
    green one", "the 1 L", "size 9"); else the words they want ("for the usb-c one") closer to a value than to
    what they have, or the next amount up or down ("the bigger one"). Among equals, the variant that keeps their
    other options, then one in stock. What they refuse ("I don't want a smaller set", "not the green") names none."""
    text = without_refused(text)
    wanted = wanted_words(text)
    sized = _next_in_size(product, options, text)
    # colours said that are not those of what they have ("the dark grey one... the pinky-orange colour"): what
    # they want, by a colour a value names ("black" for Midnight Black) or one its name is ("green" for Moss)
    said = colours_said(text)
    named_colours = said - set().union(set(), *(colour_families(str(v), named_only=True) for v in options.values()))
    colours = said - set().union(set(), *(colour_families(str(v)) for v in options.values()))
    best: tuple[tuple[int, int, int], dict[str, Any]] | None = None
    for variant in product.get("variants", []):
        if variant["options"] == options:
            continue
        named, kept = 0, 0
        for key, value in variant["options"].items():
            current = options.get(key)
            if current == value:
                kept += 1
            elif mentions_value(text, str(value)):
                named += 4
            elif (
                (wanted and overlap(value, wanted) > overlap(current or "", wanted))
                or sized.get(key) == str(value)
                or colour_families(str(value), named_only=True) & named_colours
            ):
                named += 2
            elif colour_families(str(value)) & colours:  # "the green one" for the Moss
                named += 1
        rank = (named, kept, int(variant["stock"] > 0))
        if named and (best is None or rank > best[0]):
            best = (rank, variant)
    if best is None:
        return None, None
    return (best[1], None) if best[1]["stock"] > 0 else (None, best[1])


# intents ----------------------------------------------------------------------------------
def acting_intent(text: str, intent: str) -> Intent:
    """The intent the engine acts on, from the classifier's: a question that gives an address to send to is an
    address change ("can you send it to 1820 SE Belmont St, Portland, OR 97214 instead?"), and one with tracking
    words or an order number asks where the order is."""
    reading = Intent(intent)
    # "can I change where the canister gets shipped? …: 2217 SE Clinton St, Portland OR 97202": a new address given
    # with a change asked for, however the shipping words read
    if reading is Intent.TRACK and CHANGE_WHERE.search(text) and parse_address(text):
        return Intent.ADDRESS
    if reading in (Intent.QUESTION, Intent.UNKNOWN):
        if (SEND_TO.search(text) or CHANGE_WHERE.search(text)) and parse_address(text):
            return Intent.ADDRESS
        if signals.any_phrase(signals.normalize(text), signals.INTENT_PHRASES["track"]) or order_reference(text):
            return Intent.TRACK
    return reading


def intents(text: str) -> list[Intent]:
    """Every request of a message, in the order written: "where is my order, and how long do refunds take?" is
    [track, question]. A greeting, thanks or small talk beside a request is not one."""
    parts = signals.clauses(text) or [text]
    # the whole message's reading first: the model was trained on whole messages, and a clause may lack its context
    read = [acting_intent(text, signals.understood(text)[0])]
    read += [acting_intent(part, signals.understood(part)[0]) for part in parts] if len(parts) > 1 else []
    found: list[Intent] = (
        [i for i in read if i not in (Intent.GREETING, Intent.THANKS, Intent.UNKNOWN)]
        or [i for i in read if i is not Intent.UNKNOWN]
        or read
    )
    return list(dict.fromkeys(found))


class Reading(BaseModel):
    """What a first message asks, resolved against the customer's own orders and the catalogue."""

    intent: Intent = Field(description="what the engine acts on first")
    intents: list[Intent] = Field(description="every request, in the order written")
    order_reference: str | None = Field(None, description="an order number as the customer wrote it")
    order_id: str | None = Field(None, description="the customer's own order that number names")
    item: str | None = Field(None, description="product id of the one item of theirs the message means")
    variant: dict[str, str] | None = Field(None, description="the option values they want instead")


def read(text: str, orders: list[dict[str, Any]], products: dict[str, dict[str, Any]]) -> Reading:
    """The reading of a first message by the customer who owns `orders` (newest first), in a shop selling
    `products` (by id)."""
    intent = acting_intent(text, signals.understood(text)[0])
    reference, named = named_order(text, orders)
    item = variant = None
    requested = intents(text)
    # an item is read when any request of the message is about one
    if intent in ITEM_INTENTS or any(i in ITEM_INTENTS for i in requested):
        mine = [named] if named else ([] if reference else [o for o in orders if o["status"] != "cancelled"])
        candidates = [(order, line) for order in mine for line in order["lines"]]
        match = items_named(text, candidates, exchange=intent is Intent.EXCHANGE)
        products_meant = {candidates[i][1]["product_id"] for i in match.best}
        # the one item of the order they name, unless they cancel it: then it is the order they mean
        if len(products_meant) == 1 or (len(candidates) == 1 and named and intent is not Intent.CANCEL):
            line = candidates[match.best[0] if match.best else 0][1]
            item = line["product_id"]
            product = products.get(item)
            if product is not None and Intent.EXCHANGE in (intent, *requested):
                asked, unavailable = requested_variant(product, line["options"], text)
                chosen = asked or unavailable
                if chosen is not None:
                    variant = {k: str(v) for k, v in chosen["options"].items() if line["options"].get(k) != v}
    return Reading(
        intent=intent,
        intents=requested,
        order_reference=reference,
        order_id=named["order_id"] if named else None,
        item=item,
        variant=variant,
    )
