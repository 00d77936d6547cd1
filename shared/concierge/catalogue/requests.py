"""A shopping request read from the customer's words, by code: the goal, and the constraints a cart must keep —
a budget, the date it is needed by, the recipient's age, dietary and size needs, quantities.

`read` says whether a message asks for shopping help at all: a goal ("a gift for my dad who loves coffee", "set me up
for pour-over") or a constraint on something to buy ("a power bank under €50 by Friday"), and nothing about an
order the customer already has (a return, a parcel, an order number are other requests). In doubt, it is not one:
the message goes the way it went before this existed.

Dates are read against the shop's local day (`today`): "Saturday" is the coming Saturday (today, on a Saturday),
"by the 5th" the next 5th, "for Christmas" the 24th of December. Nothing here knows a shop's products: the words
left once the constraints and the shopping small talk are taken out are what the catalogue is searched for.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from pydantic import BaseModel, ConfigDict, Field

from concierge.reasoning.orderref import order_reference

NUMBER_WORDS = {
    w: n
    for n, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "  # noqa: SIM905
        "sixteen"
        " seventeen eighteen nineteen twenty".split()
    )
}
NUMBER = rf"(\d{{1,3}}|{'|'.join(NUMBER_WORDS)})"
MONEY_NUMBER = r"\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?|\d+(?:[.,]\d{1,2})?"
CURRENCY_BEFORE = r"[$€£]|usd|eur|gbp"
CURRENCY_AFTER = r"dollars?|bucks|euros?|eur|usd|pounds?|quid|gbp|[$€£]"
AMOUNT = rf"(?:(?:{CURRENCY_BEFORE})\s?(?P<n1>{MONEY_NUMBER})|(?P<n2>{MONEY_NUMBER})\s?(?:{CURRENCY_AFTER})\b)"
BARE = rf"(?P<n3>{MONEY_NUMBER})"
CAP_WORDS = (
    r"under|below|less than|no more than|not more than|max(?:imum)?(?: of)?|at most|up to|within|cheaper than|"
    r"for less than|no more than|spend(?:ing)?(?: up to| about| around)?|around|about|roughly|budget(?: of| is)?|"
    r"budget'?s|tops"
)
BUDGET = [
    re.compile(rf"\b(?:{CAP_WORDS})\s*(?:of\s+)?{AMOUNT}", re.IGNORECASE),
    re.compile(rf"{AMOUNT}\s*(?:budget|max(?:imum)?|or less|tops|limit|at most)\b", re.IGNORECASE),
    re.compile(
        rf"\bbudget\b(?:\s+(?:of|is|around|about))?\s*:?\s*{BARE}\b(?!\s*(?:%|years?|yrs?|people|guests))", re.I
    ),
    re.compile(rf"\b(?:for|with)\s+(?:about\s+|around\s+)?{AMOUNT}", re.IGNORECASE),
]
BETWEEN = re.compile(
    rf"\bbetween\s+(?:{CURRENCY_BEFORE})?\s?(?P<low>{MONEY_NUMBER})\s*(?:{CURRENCY_AFTER})?\s*(?:and|-|to)\s*"
    rf"(?:{CURRENCY_BEFORE})?\s?(?P<high>{MONEY_NUMBER})\s*(?:{CURRENCY_AFTER})?",
    re.IGNORECASE,
)
OVER = re.compile(rf"\b(?:over|more than|at least|above)\s*{AMOUNT}", re.IGNORECASE)

WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
WEEKDAY = re.compile(
    r"\b(?P<next>next\s+|this\s+(?:coming\s+)?|coming\s+)?(?P<day>mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)"
    r"(?:day|sday|nesday|rsday|urday)?\b",
    re.IGNORECASE,
)
MONTHS = (
    "january february march april may june july august september october november december".split()  # noqa: SIM905
)
MONTH = r"(?P<month>jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
DAY_OF_MONTH = r"(?P<dom>\d{1,2})(?:st|nd|rd|th)?"
DATE_FORMS = [
    re.compile(rf"\b{MONTH}\s+{DAY_OF_MONTH}\b", re.IGNORECASE),
    re.compile(rf"\b{DAY_OF_MONTH}\s+(?:of\s+)?{MONTH}", re.IGNORECASE),
    re.compile(r"\bthe\s+(?P<dom>\d{1,2})(?:st|nd|rd|th)\b", re.IGNORECASE),
]
RELATIVE = [
    (re.compile(r"\b(today|tonight)\b", re.I), 0),
    (re.compile(r"\btomorrow\b", re.I), 1),
]
IN_DAYS = re.compile(rf"\b(?:in|within|in the next)\s+{NUMBER}\s+days?\b", re.IGNORECASE)
WEEKEND = re.compile(r"\b(?:this|the|next)\s+weekend\b", re.IGNORECASE)
HOLIDAYS = {
    re.compile(r"\b(?:christmas|xmas)(?:\s+day)?\b", re.I): (12, 24),
    re.compile(r"\bnew\s+year'?s?(?:\s+eve)?\b", re.I): (12, 31),
    re.compile(r"\bvalentine'?s(?:\s+day)?\b", re.I): (2, 14),
}
AGE = [
    re.compile(rf"\b{NUMBER}[\s-]*(?:years?|yrs?|yo)[\s-]*old\b", re.IGNORECASE),
    re.compile(rf"\b{NUMBER}\s*yo\b", re.IGNORECASE),
    re.compile(rf"\b(?:turning|turns|aged?|age of)\s+{NUMBER}\b", re.IGNORECASE),
    re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)\s+birthday\b", re.IGNORECASE),
]

DIETARY = {
    "vegan": r"vegan",
    "vegetarian": r"vegetarian|veggie",
    "gluten-free": r"gluten[\s-]?free|no gluten|coeliac|celiac",
    "dairy-free": r"dairy[\s-]?free|no dairy",
    "lactose-free": r"lactose[\s-]?free|lactose intolerant",
    "nut-free": r"nut[\s-]?free|no nuts|nut allerg\w*|allergic to nuts|peanut allerg\w*",
    "egg-free": r"egg[\s-]?free|no eggs",
    "sugar-free": r"sugar[\s-]?free|no sugar",
    "halal": r"halal",
    "kosher": r"kosher",
}
DIETARY_PATTERNS = {need: re.compile(rf"\b(?:{pattern})\b", re.IGNORECASE) for need, pattern in DIETARY.items()}
SIZE_WORDS = {"extra small": "XS", "small": "S", "medium": "M", "large": "L", "extra large": "XL"}
SIZE = re.compile(
    r"\b(?:size|sized)\s+(?P<size>\d{1,2}(?:\.5)?|xxs|xs|s|m|l|xl|xxl|xxxl|extra small|small|medium|large|extra large"
    r"|[a-z]{1,3}\d{0,2})\b"
    r"|\bin (?:an? )?(?P<word>extra small|small|medium|large|extra large|xs|xl|xxl)\b(?! (?:size|order))",
    re.IGNORECASE,
)
PEOPLE = re.compile(
    rf"\b(?:for\s+{NUMBER}\s+(?:people|persons|guests|kids|children|friends|of us|adults)|(?:party|group|table|family)"
    rf"\s+of\s+{NUMBER})\b",
    re.IGNORECASE,
)
QUANTITY = re.compile(
    rf"\b{NUMBER}\s+(?:x\s+)?"
    r"(?:(?:bags?|packs?|boxes|box|sets?|pairs?|bottles?|tins?|jars?) of (?:the |your |those )?)?"
    r"(?P<noun>[a-z][a-z-]{2,}(?:\s+[a-z][a-z-]{2,}){0,2})\b",
    re.IGNORECASE,
)
NOT_ITEMS = frozenset(
    # a word list kept readable (SIM905 would make it one word per line)
    "year years yr yrs old day days week weeks month months hour hours minute minutes people persons "  # noqa: SIM905
    "guests kids "
    "children friends adults dollars dollar bucks euros euro pounds quid percent times of gb tb mb mah ml cm mm kg "
    "piece pieces thing things stuff ways options questions orders payments instalments installments items".split()
)

# What asks for shopping help. A goal, an occasion or a search; or a budget or date with something to buy.
GOAL = re.compile(
    r"\b(gifts?|presents?|stocking (?:filler|stuffer)s?|secret santa|birthday|party|housewarming|wedding|anniversary|"
    r"christmas|xmas|holidays?|graduation|baby shower|retirement|valentine'?s|mother'?s day|father'?s day|"
    r"looking for|look for|shopping for|i'?m after|searching for|in the market for|recommend\w*|suggest\w*|"
    r"ideas?|what should i (?:get|buy)|what (?:would|do|can) you (?:recommend|suggest)|help me (?:choose|pick|find)|"
    r"put together|build (?:me )?an? (?:cart|basket)|(?:need|want|like) to (?:buy|get|order)|"
    rf"(?:want|need|would like|i'?d like) (?:something|some|an?|{NUMBER}) |set (?:me )?up|setup|starter|kit|essentials|"
    r"(?:do|does|can) you (?:have|sell|stock|carry)|got anything|"
    r"(?:find|recommend|suggest|show) (?:me |us )?(?:something|anything)|"
    r"(?:get|buy) (?:me|us|him|her|them) (?:something|anything)|^\W*something (?:for|to|that)|"
    # "I need linen tea towels": something to have, not something to be done ("I need to…", "I need my…")
    r"(?:i|we) (?:need|want|'?d like|would like) (?!to\b|it\b|them\b|my\b|our\b|the\b|this\b|that\b|help\b|"
    r"someone\b|somebody\b|a hand\b|an? (?:person|human|agent|refund|replacement|update|answer)\b)[a-z]+|"
    r"(?:a|some) (?:nice|good) \w+ for)\b",
    re.IGNORECASE,
)
# What says in so many words that the customer means to buy: to buy or purchase, to be set up or have a set put
# together, or a number of things wanted ("I want three braided cables"). A reading of such a message as a return or
# an address change, with none of that request's own words (NOT_SHOPPING keeps those out), is not believed.
PURCHASE = re.compile(
    rf"\b(?:buy|purchase|set (?:me|us) up|put together|(?:want|need|would like|i'?d like|get) {NUMBER} [a-z])",
    re.IGNORECASE,
)
# About an order or item the customer already has: another kind of request.
NOT_SHOPPING = re.compile(
    r"\b((?:my|an|the|this|that|our|last) orders?|placed|i (?:ordered|bought|purchased|received|got)|"
    r"return\w*|refund\w*|exchange\w*|supposed to|still (?:nothing|not|hasn'?t|waiting)|arrive\?|"
    r"when (?:will |does |do |is )?(?:it |they |my \w+ )?arriv\w*|discount\w*|bulk|wholesale|trade\w*|"
    r"cancel\w*|broken|damaged|faulty|defect\w*|crack\w*|chipped|dent\w*|scratch\w*|replacement|"
    r"where is|where's|wheres|where are|track\w*|arrived|hasn'?t come|getting here|(?:my|the) \w+ arrives|late|"
    r"stuck|update|you sent|sent me|send me another|swap|money back|ship to|shipping|gift ?wrap\w*|how long|"
    r"how fast|"
    r"warranty|password|sign in|log ?in|my account|invoice|charged|parcel|package|human|person|agent|address)\b",
    re.IGNORECASE,
)
# Shopping small talk, and who it is for: not what to search the catalogue for. The occasion stays ("birthday
# party", "wedding"): a shop that sells for it names it, and a word no product has is weighed by none.
FILLER = frozenset(
    "mother mothers father fathers day looking look shopping searching market recommend "  # noqa: SIM905 (a word list kept readable)
    "recommendation recommendations suggest suggestion suggestions idea ideas help choose pick find put together "
    "build cart basket buy get order purchase need needs want wants like likes would love loves loving lover lovers "
    "fan fans enthusiast obsessed into who that which something some anything nice good great lovely perfect best "
    "cool fun little small big surprise treat please thanks hi hello hey can could you do does have sell stock carry "
    "got set up starter kit essentials i'm im me my mine our we us him her his hers them their they he she it "
    "dad father mum mom mother parents parent son daughter kid kids child children wife husband partner friend "
    "friends boyfriend girlfriend brother sister grandma grandpa granddad grandmother grandfather nan nana "
    "nephew niece uncle aunt colleague colleagues coworker coworkers co-worker workmate boss teacher neighbour "
    "neighbor family someone somebody person "
    "guy girl boy man woman year years old yo turning aged age budget under below less than more max maximum most "
    "around about roughly least spend spending cheap cheaper price priced cost costs money dollars bucks euros pounds "
    "by before until till time arrive arrives arriving delivered delivery deliver ship shipping shipped need "
    "today tonight tomorrow weekend next this coming week monday tuesday wednesday thursday friday saturday sunday "
    "mon tue wed thu fri sat sun just new first also really very maybe whole everything all what "
    "size sized people guests for with a an the of on in at to from and or but i that needed so if is are be "
    "was will should must one two three four five six seven eight nine ten eleven twelve got getting its it's "
    "make change instead rather keep only swap switch try again".split()
)
# A message that opens by asking for a number of something.
ORDERING = re.compile(
    r"^\W*(?:(?:hi|hello|hey)\b\W*)?(?:(?:i'?d like|i would like|i want|i need|i'?ll take|can i (?:get|have|buy)|"
    rf"please(?: send)?)\s+(?:to (?:buy|get|order)\s+)?)?{NUMBER}\s+"
    r"(?!(?:of|more|last|other|thing|things|question|questions|l|ml|cm|mm|m|gb|tb|kg|g|w)\b)[a-z]{3,}",
    re.IGNORECASE,
)
# Where a list of things asked for splits ("a grinder and beans", "keyboard, mouse and a hub").
ITEM_SEPARATOR = re.compile(r"\s*(?:(?<!\d),|,(?!\d)|;|:|\+|&|\band\b|\bplus\b)\s*", re.IGNORECASE)
NOISE_CANCELLING = re.compile(r"\bnoise[\s-]*cancel\w*", re.IGNORECASE)


class ShoppingRequest(BaseModel):
    """What the customer wants and the constraints a cart must keep (the `build_cart` tool's input is built from
    it, and a model may fill the same fields itself)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    goal: str = Field(min_length=1, max_length=300, description="What the customer wants, in their words.")
    query: str = Field("", max_length=300, description="The words to search the catalogue for.")
    budget: Decimal | None = Field(None, gt=0, le=1_000_000, description="The most the whole cart may cost.")
    min_price: Decimal | None = Field(None, ge=0, description="Items should cost at least this each.")
    needed_by: date | None = Field(None, description="The day everything must have arrived by.")
    recipient_age: int | None = Field(None, ge=0, le=120)
    dietary: tuple[str, ...] = ()
    sizes: tuple[str, ...] = ()
    people: int | None = Field(None, ge=1, le=500, description="How many people it is for, when said.")
    quantities: dict[str, int] = Field(default_factory=dict, description="item word -> how many, when said")
    items: tuple[str, ...] = Field(
        (), description="the things asked for one by one ('a keyboard, a mouse and a hub'), when there are several"
    )

    @property
    def has_constraints(self) -> bool:
        return any(
            (self.budget, self.needed_by, self.recipient_age is not None, self.dietary, self.sizes, self.min_price)
        )

    def merged(self, later: ShoppingRequest) -> ShoppingRequest:
        """This request with what a follow-up changes ("make it under $40", "it needs to arrive by Friday")."""
        changes = {
            name: getattr(later, name)
            for name in ("budget", "min_price", "needed_by", "recipient_age", "people")
            if getattr(later, name) is not None
        }
        if later.dietary:
            changes["dietary"] = tuple(dict.fromkeys([*self.dietary, *later.dietary]))
        if later.sizes:
            changes["sizes"] = later.sizes
        if later.quantities:
            changes["quantities"] = {**self.quantities, **later.quantities}
        if later.query:
            changes["query"] = f"{self.query} {later.query}".strip()
        return self.model_copy(update=changes)


def _number(word: str) -> int | None:
    word = word.lower()
    return int(word) if word.isdigit() else NUMBER_WORDS.get(word)


def _money(value: str) -> Decimal | None:
    value = value.replace(" ", "")
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?", value):
        value = value.replace(",", "")
    else:
        value = value.replace(",", ".")
    try:
        return Decimal(value).quantize(Decimal("0.01"))
    except InvalidOperation:
        return None


def _amount(match: re.Match[str]) -> Decimal | None:
    groups = match.groupdict()
    found = groups.get("n1") or groups.get("n2") or groups.get("n3")
    return _money(found) if found else None


def _spans_of(pattern: re.Pattern[str], text: str) -> list[tuple[int, int]]:
    return [m.span() for m in pattern.finditer(text)]


def _weekday_date(today: date, day: str, lead: str) -> date:
    wanted = next(i for i, name in enumerate(WEEKDAY_NAMES) if name.startswith(day.lower()[:3]))
    ahead = (wanted - today.weekday()) % 7
    coming = today + timedelta(days=ahead)
    if lead.strip().lower().startswith("next") and coming.isocalendar()[:2] == today.isocalendar()[:2] and ahead:
        coming += timedelta(days=7)  # "next Friday" on a Monday: the Friday of next week
    return coming


def _month_date(today: date, month: int, day: int) -> date | None:
    for year in (today.year, today.year + 1):
        try:
            found = date(year, month, day)
        except ValueError:
            return None
        if found >= today:
            return found
    return None


def needed_by(text: str, today: date) -> tuple[date | None, list[tuple[int, int]]]:
    """The day the customer needs it by, and where the message says so. A date written out ("December 5th", "the
    7th", "tomorrow", "Christmas") is more precise than a day of the week beside it ("Monday the 7th"); of several,
    the earliest."""
    named: list[tuple[date, tuple[int, int]]] = []  # days of the week, weekends
    found: list[tuple[date, tuple[int, int]]] = []  # dates written out
    for match in WEEKDAY.finditer(text):
        if match.group("day").lower() in ("sat", "sun", "wed", "mon") and not match.group(0)[3:]:
            continue  # "sat", "sun", "wed", "mon" alone are other words (or too short to trust)
        named.append((_weekday_date(today, match.group("day"), match.group("next") or ""), match.span()))
    for match in WEEKEND.finditer(text):
        saturday = _weekday_date(today, "sat", "next" if match.group(0).lower().startswith("next") else "")
        named.append((saturday, match.span()))
    for pattern in DATE_FORMS:
        for match in pattern.finditer(text):
            groups = match.groupdict()
            day = int(groups["dom"])
            if groups.get("month"):
                month = next(i for i, m in enumerate(MONTHS, 1) if m.startswith(groups["month"].lower()[:3]))
                when = _month_date(today, month, day)
            else:  # "by the 5th": this month's, or next month's once it has passed
                when = _month_date(today, today.month, day) if day >= today.day else None
                if when is None:
                    following = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
                    when = _month_date(following, following.month, day)
            if when is not None:
                found.append((when, match.span()))
    for pattern, days in RELATIVE:
        found += [(today + timedelta(days=days), span) for span in _spans_of(pattern, text)]
    for match in IN_DAYS.finditer(text):
        count = _number(match.group(1))
        if count is not None:
            found.append((today + timedelta(days=count), match.span()))
    for pattern, (month, day) in HOLIDAYS.items():
        for span in _spans_of(pattern, text):
            when = _month_date(today, month, day)
            if when is not None:
                found.append((when, span))
    chosen = found or named
    if not chosen:
        return None, []
    return min(when for when, _ in chosen), [span for _, span in [*found, *named]]


def budget(text: str) -> tuple[Decimal | None, Decimal | None, list[tuple[int, int]]]:
    """(the most the cart may cost, the least an item should cost, where the message says so)."""
    spans: list[tuple[int, int]] = []
    high: Decimal | None = None
    low: Decimal | None = None
    between = BETWEEN.search(text)
    if between:
        low, high = _money(between.group("low")), _money(between.group("high"))
        spans.append(between.span())
    for pattern in BUDGET:
        for match in pattern.finditer(text):
            if any(s <= match.start() < e for s, e in spans):
                continue
            amount = _amount(match)
            if amount is not None and amount > 0:
                high = amount if high is None else min(high, amount)
                spans.append(match.span())
    for match in OVER.finditer(text):
        amount = _amount(match)
        if amount is not None and not any(s <= match.start() < e for s, e in spans):
            low = amount
            spans.append(match.span())
    return high, low, spans


def recipient_age(text: str) -> tuple[int | None, list[tuple[int, int]]]:
    for pattern in AGE:
        match = pattern.search(text)
        if match:
            age = _number(match.group(1))
            if age is not None and age <= 120:
                return age, [match.span()]
    return None, []


def is_shopping(text: str) -> bool:
    """Whether the message asks for shopping help: a goal or a search, or a budget or a date for something to buy;
    never one about an order or an item the customer already has."""
    if order_reference(text) or NOT_SHOPPING.search(NOISE_CANCELLING.sub(" ", text)):
        return False
    if GOAL.search(text):
        return True
    high, _, _ = budget(text)
    if high is not None and re.search(
        r"\b(?:need|want|get|buy|looking|for|a|an|some|something|anything)\b", text, re.I
    ):
        return True
    return bool(ORDERING.search(text))  # "two USB-C cables, 2 m, please", "I'd like 3 bags of the beans"


def read(text: str, today: date) -> ShoppingRequest | None:
    """The shopping request in a message, or None when it asks for something else."""
    if not is_shopping(text):
        return None
    return parse(text, today)


def parse(text: str, today: date) -> ShoppingRequest:
    """The request's constraints and search words, whatever kind of message it is (a follow-up: "under $40")."""
    high, low, money_spans = budget(text)
    by, date_spans = needed_by(text, today)
    age, age_spans = recipient_age(text)
    dietary = tuple(need for need, pattern in DIETARY_PATTERNS.items() if pattern.search(text))
    diet_spans = [span for pattern in DIETARY_PATTERNS.values() for span in _spans_of(pattern, text)]
    sizes: list[str] = []
    size_spans = []
    for match in SIZE.finditer(text):
        said = (match.group("size") or match.group("word") or "").lower()
        sizes.append(SIZE_WORDS.get(said, said.upper() if said.isalpha() else said))
        size_spans.append(match.span())
    people = None
    people_spans = []
    said_people = PEOPLE.search(text)
    if said_people:
        people = _number(said_people.group(1) or said_people.group(2))
        people_spans.append(said_people.span())
    taken = [*money_spans, *date_spans, *age_spans, *diet_spans, *size_spans, *people_spans]
    quantities = _quantities(text, taken)
    rest = text
    for start, end in sorted(taken, reverse=True):
        rest = rest[:start] + " " + rest[end:]
    query = _search_words(rest)
    items: list[str] = []
    for part in (_search_words(part) for part in ITEM_SEPARATOR.split(rest)):
        if part and items and all(w.lower() in UNITS or re.fullmatch(r"[\d.,]+", w) for w in part.split()):
            items[-1] = f"{items[-1]} {part}"  # "USB-C cables, 2 m": the measure is the cable's
        elif part:
            items.append(part)
    return ShoppingRequest(
        goal=text.strip()[:300] or "shopping",
        query=query,
        budget=high,
        min_price=low,
        needed_by=by,
        recipient_age=age,
        dietary=dietary,
        sizes=tuple(dict.fromkeys(sizes)),
        people=people,
        quantities=quantities,
        items=tuple(items) if len(items) > 1 else (),
    )


UNITS = frozenset("m cm mm l ml litre litres liter liters gb tb mb mah w wh kg g inch in piece pieces".split())  # noqa: SIM905


def _search_words(text: str) -> str:
    """The words to search for: not the small talk, not a lone number ("for 2"), but a measure ("2 m", "1 TB")."""
    words = re.findall(r"[A-Za-z0-9][A-Za-z0-9'’.,-]*[A-Za-z0-9]|[A-Za-z0-9]", text)
    kept = []
    for n, word in enumerate(words):
        lower = word.lower().replace("’", "'")
        number = re.fullmatch(r"[\d.,]+", word) is not None
        if number:
            keep = n + 1 < len(words) and words[n + 1].lower() in UNITS  # "2 m"
        elif lower in UNITS and n > 0 and re.fullmatch(r"[\d.,]+", words[n - 1]):
            keep = True  # the "m" of "2 m"
        else:
            keep = lower not in FILLER and len(word) > 1
        if keep:
            kept.append(word)
    return " ".join(kept)[:300]


def _quantities(text: str, taken: list[tuple[int, int]]) -> dict[str, int]:
    """item word -> how many ("6 mugs", "two cables"), outside the spans already read as something else."""
    quantities: dict[str, int] = {}
    for match in QUANTITY.finditer(text):
        if any(s <= match.start() < e for s, e in taken):
            continue
        count = _number(match.group(1))
        words = [w for w in match.group("noun").lower().split() if w not in FILLER]
        noun = words[-1] if words else ""
        if count and 1 < count <= 50 and noun and noun not in NOT_ITEMS:
            quantities[noun] = count
    return quantities
