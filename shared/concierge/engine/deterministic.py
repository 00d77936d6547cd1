"""The deterministic engine: grounded, rule-driven dialogue over the same tools a model would call.

It is a small state machine per flow (return, tracking, knowledge answer, handoff), kept in the
conversation's `flow` between turns, and it asks the actions function for every fact it states.
"""

from __future__ import annotations

import contextlib
import itertools
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from concierge.actions.proposal import money
from concierge.catalogue import dialogue as shopping
from concierge.conversation import replyguard
from concierge.conversation.api import Citation
from concierge.conversation.turn import (
    ActionResult,
    ActionStatus,
    ConversationStatus,
    Decision,
    Handoff,
    Note,
    PassageHit,
    ReadyTurn,
    ToolCall,
)
from concierge.engine import account, leads, products, recommend
from concierge.knowledge import ANSWER_THRESHOLD, POLICY_URL
from concierge.offers import moments
from concierge.reasoning import escalation, signals
from concierge.reasoning.orderref import order_reference
from concierge.reasoning.understanding import (
    ACCOUNT_INTENTS,
    CANCEL_WORD,
    EXCHANGE_TARGET,
    SENT_BACK,
    acting_intent,
    content_words,
    items_named,
    line_score,
    line_text,
    match_line,
    named_order,
    names_item_not_order,
    orders_with_item,
    parse_address,
    request_object,
    requested_variant,
    said_kept,
    title_score,
    without_address,
    without_kept,
)
from concierge.reasoning.understanding import (
    LATEST as LATEST_ORDER,
)
from concierge.store.merchant import MerchantProfile
from concierge.workflows import MAX_ACTION_ROUNDS

# Near misses above this, on two topics, get a clarifying question instead of "I don't know".
CLARIFY_THRESHOLD = 0.33
# The same help document's how-to section, found by the search for this message, follows an answer from it as the
# next step: the document is already known to be the right one, so a lower bar than an answer's
NEXT_STEP_FLOOR = 0.2
# The cosine similarity (sentence model) a passage needs with a message's second question to be quoted as its answer;
# it must also have been found near it by the search (CLARIFY_THRESHOLD). Answers measured 0.43-0.52, the passages
# that only share words with the message 0.22-0.38.
SECOND_ANSWER_FLOOR = 0.4
# A question the word search found no passage for with confidence ("my bread recipe says to preheat the pot at 260°C,
# is that ok for it?", where the words of the care section's answer are not the customer's) is answered by the passage
# closest in meaning to the whole message, when it is close (well above the 0.22-0.38 of passages that only share
# words) and clearly closer than any other section as close: otherwise the customer is asked, or offered a person, as
# before.
MEANING_ANSWER_FLOOR = 0.5
MEANING_ANSWER_LEAD = 0.1
# Two sections of one article this close in meaning to a question answer it alike: both are quoted (the order of
# two closenesses 0.005 apart, as measured, is the sentence model's noise, not a reading of the question).
MEANING_TIE = 0.02
# ...and a passage the word search found with confidence is not the answer when its meaning is this far from the
# message's (it shares a word, "up", and nothing else: 0.04-0.07 measured, against 0.22-0.38 for passages that share
# the topic's words) and a passage close in meaning is there instead.
UNRELATED_MEANING = 0.15
ENGINE = "deterministic"
# How many of the customer's orders a return or an item search looks through (newest first).
ORDER_SEARCH_LIMIT = 25
SIZE_ORDER = ["XXS", "XS", "S", "M", "L", "XL", "XXL", "XXXL"]
# Option names that are a size, so "too small" means the next one up.
SIZE_OPTIONS = ("size", "shoe size", "length", "waist", "width", "fit")
# Checked in order: a fault outranks a size word ("it has a small hole" is damaged, not too small).
FIT_REASONS: list[tuple[str, tuple[str, ...]]] = [
    (
        "damaged",
        (
            "damaged",
            "broken",
            "torn",
            "ripped",
            "defective",
            "faulty",
            "stain",
            "stained",
            "hole",
            "holes",
            "chip",
            "chipped",
            "cracked",
            "crack",
            "dented",
            "dent",
            "scratched",
            "not working",
            "stopped working",
            "doesn't work",
            "does not work",
            "leaks",
            "leaking",
            "dead on arrival",
            "won't turn on",
            "shattered",
        ),
    ),
    ("not_as_described", ("not as described", "different colour", "different color", "looks different", "wrong item")),
    ("too_small", ("too small", "too tight", "tight", "small", "snug", "short", "size up", "bigger")),
    (
        "too_large",
        ("too big", "too large", "too loose", "loose", "baggy", "big", "large", "long", "size down", "smaller"),
    ),
    (
        "changed_mind",
        (
            "changed my mind",
            "don't like",
            "dont like",
            "don't need",
            "dont need",
            "no longer need",
            # nothing wrong with it, it is just not used: "it fits fine, I just never wear it"
            "never wear",
            "don't wear",
            "never use",
            "don't use",
            "not for me",
            "fits fine",
            "fits well",
            "fits perfectly",
        ),
    ),
]


# A word of sympathy for what is wrong with an item, by the reason read from the customer's words.
SORRY = {
    "too_small": "Sorry it's too small.",
    "too_large": "Sorry it's too big.",
    "damaged": "I'm sorry it arrived damaged.",
    "not_as_described": "I'm sorry it wasn't what you expected.",
}
# The answer questioned: "so I'm stuck with it?", "seriously?", "nothing you can do?", "that's it?"
PUSHBACK = re.compile(
    r"\b(?:stuck with|seriously|really telling|nothing (?:you|at all|else)|that is it|so that is it|no way|"
    r"are you (?:serious|kidding)|can you not|you cannot|you can not|make an exception|exception)\b"
)
# A fault denied: "it's not even broken", "it isn't damaged, just ugly"
NEGATED_FAULT = re.compile(
    r"\b(?:not|never|no)\s+(?:even\s+|really\s+|actually\s+)?(?:broken|damaged|faulty|defective|cracked|chipped|"
    r"scratched|dented|torn|ripped|stained|leaking)\b"
)
# A message this negative (the sentiment lexicon's compound score) gets a word of sympathy before a proposal.
SYMPATHY_SENTIMENT = -0.3

# "Never mind, I'll keep it": the customer drops the request.
KEEP_IT = (
    "keep it",
    "keep them",
    "i will keep",
    "i'll keep",
    "i keep the",
    "i keep it",
    "i keep them",
    "i'd keep",
    "never mind",
    "nevermind",
    "forget it",
    "forget about it",
    "do not bother",
    "no need",
    "leave it",
    "hang on to it",
    "hang on to the",
    "hold on to it",
    "hold on to the",
    "stick with the",
    "stick with it",
    # a word between: "fine, I'll just keep the small one then", "I'll probably keep it after all"
    "i will just keep",
    "i'll just keep",
    "i will simply keep",
    "i'll simply keep",
    "i will probably keep",
    "i'll probably keep",
    "i will still keep",
    "i'll still keep",
    "i guess i will keep",
    "i guess i'll keep",
    "just keep it",
    "just keep them",
)
# The item compared with what was expected: "smaller than I thought", "bigger than it looked".
SIZE_COMPARED = re.compile(
    r"\b(?:is|are|was|were|it's|they're|much|way|bit|lot)\s+(smaller|shorter|tighter|bigger|larger|longer|looser)\s+than\b"
)
# Size words that describe the variant wanted as well as a fault ("the big green one"), unlike "bigger".
PLAIN_SIZE_WORDS = ("big", "large", "small", "long", "short")
# Words of a reason, not of an item ("it's too small", "it arrived damaged").
FIT_WORDS = frozenset(w for _, phrases in FIT_REASONS for p in phrases for w in p.split())
# Words that choose how a return is resolved.
EXCHANGE_WORDS = (
    "exchange",
    "swap",
    "replacement",
    "replace",
    "instead",
    "new one",
    "new set",
    "a new",
    "another one",
    "send me another",
    "size",
    "bigger",
    "smaller",
)
JOURNEY_REMEDIES = ("reship_order", "refund_order", "refund_charge")  # actions/executor.py's, proposed by journeys
# Answers to a journey that only told (`_journey_told`): about a cart and its code, a trial ending, a first step
CART_CODE_WORDS = ("code", "discount", "coupon", "voucher", "promo")
CART_WORDS = ("cart", "basket", "what did i leave", "what was in", "what is in", "what's in", "which items", "my items")
TRIAL_CANCEL_WORDS = ("cancel", "stop my", "end my", "don't want", "do not want", "not continue", "unsubscribe me")
TRIAL_KEEP_WORDS = ("keep it", "keep my", "continue", "stay on", "don't cancel", "do not cancel")
TRIAL_PRICE_WORDS = ("how much", "cost", "price", "charge", "pay", "when", "what date", "which day", "billed")
TRIAL_PER = {"week": "a week", "month": "a month", "quarter": "a quarter", "year": "a year"}
STEP_HELP_WORDS = (
    "how do i",
    "how can i",
    "how to",
    "where do i",
    "where can i",
    "where is",
    "show me",
    "stuck",
    "can't find",
    "cannot find",
    "help",
)
# "yes, reship", "send it again please": the customer picks a journey's reship over its refund (`_journey_flow`)
JOURNEY_RESHIP_WORDS = ("reship", "re-ship", "send it again", "resend", "send another", "send a new one", "new one")
REFUND_WORDS = (
    "refund",
    "refunded",
    "money back",
    "return it",
    "give back",
    # where the money goes back to: "yes, go ahead, back to my card" (not "charge the difference to my card")
    "back to my card",
    "back on my card",
    "back to my credit card",
    "back to my debit card",
    "back to my bank",
    "back to my paypal",
    "original payment",
)
RESOLUTION_WORDS = (*REFUND_WORDS, *EXCHANGE_WORDS, "store credit")
# "a new one please, not a refund", "instead of a refund": what they refuse is not what they choose
REFUSED = re.compile(
    # "I don't really want another one shipped", "I'd rather swap than get the money back"
    r"\b(not|no|do not (?:really |actually |even )?want|do not (?:really |actually |even )?need|without|instead of|"
    r"rather than|forget|forget about|skip|scratch|drop)\s+"
    r"(?:(?:(?<=rather than\s)|(?<=instead of\s))(?:get|getting|have|having|take|taking)\s+)?"
    # "we don't need a whole new set": an article, then a word that only stresses it
    r"(an?\s+|the\s+|my\s+|your\s+)?(?:(?:whole|entire|brand|complete|full)\s+)?"
    r"(exchange|replacement|swap|refund|new one|new set|money back|another one|"
    # "I don't want a smaller set": a size refused is an exchange refused; so is another colour
    r"smaller|bigger|larger|shorter|longer|different size|other size|different one|"
    r"another colou?r|different colou?r|other colou?r)\w*(?:\s+size\b)?"
    # "I don't want another colour or credit": both refused
    r"(?:\s+or\s+(?:any\s+)?(?:(?:store|shop|account)\s+)?credit\b(?!\s*card))?",
    re.IGNORECASE,
)
# What REFUSED may refuse, by resolution.
REFUND_OBJECTS: tuple[str, ...] = ("refund", "refunded", "money back")
SIZE_OBJECTS: tuple[str, ...] = (
    "smaller",
    "bigger",
    "larger",
    "shorter",
    "longer",
    "different size",
    "other size",
    "different one",
)
EXCHANGE_OBJECTS: tuple[str, ...] = (
    "exchange",
    "replacement",
    "swap",
    "new one",
    "new set",
    "another one",
    *SIZE_OBJECTS,
    *(f"{which} {spelling}" for which in ("another", "different", "other") for spelling in ("colour", "color")),
)
# "they barely fit a double, never mind a flat white": "never mind" as "let alone" drops nothing
LET_ALONE = re.compile(r"\bnever ?mind\s+(?:a|an)\s+\w+", re.IGNORECASE)
# "yes cancel the other one instead", "not that one, the other order": another order than the one proposed
OTHER_ONE = re.compile(
    r"\b(?:the\s+)?other\s+(?:one|order)\b|\bdifferent\s+(?:one|order)\b|\bnot\s+(?:that|this)\s+(?:one|order)\b"
    r"|\bwrong\s+(?:one|order)\b",
    re.IGNORECASE,
)
# "cancel", "cancelled", "cancellation": what a customer says yes to when a cancellation is proposed
# Thanks said in so many words (a message read as thanks without them is praise: "I love the kettle, it's brilliant!")
THANKED = re.compile(r"\b(?:thanks?|thank you|thx|ty|cheers|ta|appreciated?|grateful)\b", re.IGNORECASE)
# "refund to my card please, no store credit": credit or a voucher refused is what the customer does not want instead of
# the money, not a no to what was proposed. Said in one breath ("no store credit", "I don't want a voucher"), not as a
# no and then a choice ("no, store credit please"), which stays a no.
LIST_JOIN = re.compile(r"\band\b|,|&|\bplus\b")  # between two items a request lists
CREDIT_REFUSED = moments.DECLINED  # credit, a voucher, a discount or an offer turned down
# "store credit please", "I'll take the credit", "as credit instead": a refund paid as store credit. Never "my credit
# card", nor "credit it back to my card".
CREDIT_ASKED = re.compile(
    r"\b(?:store|shop|account|site)\s+credit\b(?!\s*card)"
    r"|\b(?:the|as|in|take|takes|taking|prefer|choose|with)\s+(?:the\s+)?credit\b(?!\s*card)"
    r"|\bcredit\s+(?:instead|please|is fine|works|sounds|would)\b",
    re.IGNORECASE,
)
# Store credit named as what the customer wants, enough to pick the resolution before anything was offered: "store
# credit is fine", "as store credit", "account credit please"; not "I paid with credit"
# An exchange's price difference paid back ("and refund the difference to my visa"): part of the exchange, not a
# request for a refund instead.
DIFFERENCE_BACK = re.compile(
    r"\b(?:refund(?:ed)?|pay(?: me)? back|give(?: me)? back|send(?: me)? back|return(?: me)?|get|credit)\s+"
    r"(?:me\s+)?the (?:price )?difference\b|\bthe (?:price )?difference (?:back|refunded|returned|credited)\b",
    re.IGNORECASE,
)
STORE_CREDIT_SAID = re.compile(
    r"\b(?:store|shop|account|site)\s+credit\b(?!\s*card)(?!\s+(?:from|for)\s+(?:my|the)\s+last)",
    re.IGNORECASE,
)
# "just the glasses, not the storage boxes": the item proposed named as the only one, and another refused beside it
ONLY_THIS = re.compile(
    r"\b(?:just|only)\s+(?:the\s+|my\s+|those\s+|these\s+)?(?P<kept>[^,.;!?]{1,40}?)\s*[,;]?\s*(?:and\s+|but\s+)?"
    r"(?P<refusal>\bnot\s+(?:the\s+|my\s+|those\s+|these\s+)?(?P<other>[^,.;!?]{1,40}))",
    re.IGNORECASE,
)


# "…, I'll keep the magnetic strip": an item named as kept, and a return asked for in the same message.
KEPT_ITEM = re.compile(
    r"\b(?:keep|keeping)\s+(?:the|my|those|these)\s+([\w -]{1,40}?)"
    r"(?=[.,!?;:)]|$|\s+(?:please|though|tho|but|and|for|as|because|since|thanks)\b)",
    re.IGNORECASE,
)
RETURN_VERB = re.compile(r"\b(?:return|send\s+(?:[\w-]+\s+){0,3}back|refund|exchange|swap)\b", re.IGNORECASE)


def keeps_another(text: str) -> bool:
    """ "can I return it? I'll keep the magnetic strip": the customer keeps an item beside the one they return (not
    the item the request names: "I wanted to return the mug but never mind, I'll keep the mug" drops it)."""
    kept = KEPT_ITEM.search(text)
    if kept is None or RETURN_VERB.search(text) is None:
        return False
    return not (content_words(request_object(text)) & content_words(kept.group(1)))


def keeps_it(text: str) -> bool:
    """ "Never mind, I'll keep it": the customer drops the request. Not "she'd keep it if it were coral, can we swap
    it?", which asks for something else, nor "return the tee please, I keep the shirt", which keeps another item."""
    normalized = signals.normalize(LET_ALONE.sub(" ", text))
    if not signals.any_phrase(normalized, KEEP_IT):
        return False
    conditional = re.search(r"\bkeep (it|them)\s+(if|as long as|provided|when)\b", normalized)
    asks_for_another = request_object(signals.NEGATED_REQUEST.sub(" ", text)) or keeps_another(text)
    return not conditional and not asks_for_another and not signals.any_phrase(choice_text(text), EXCHANGE_WORDS)


def refusals_aside(text: str, item: str | None = None) -> str:
    """The customer's answer to a proposal without what they refuse that nobody proposed: credit or a voucher
    instead of the money ("refund to my card please, no store credit"), and, beside the proposed `item` named as the
    only one, another item ("just the glasses, not the storage boxes"). Neither is a no to the proposal; refusing
    the item proposed ("only the mug, not the oat one"), or a resolution, still is."""
    text = CREDIT_REFUSED.sub(" ", text)
    if not item:
        return text
    line = {"title": item, "options": {}}

    def aside(match: re.Match[str]) -> str:
        other = match.group("other")
        refused_another = (
            line_score(match.group("kept"), line) > 0
            and line_score(other, line) == 0
            and bool(content_words(other))
            and not signals.any_phrase(signals.normalize(other), RESOLUTION_WORDS)
        )
        return match.group(0).replace(match.group("refusal"), " ") if refused_another else match.group(0)

    return ONLY_THIS.sub(aside, text)


def asks_credit(text: str) -> bool:
    """Whether the customer asks for their refund as store credit ("the store credit please"); credit refused ("no
    store credit, to my card") is not asking for it."""
    return CREDIT_ASKED.search(CREDIT_REFUSED.sub(" ", text)) is not None


def asks_exchange(said: str) -> bool:
    """Whether the customer's words (`choice_text`) ask for an exchange: "instead" only when they name no refund
    ("my money back instead" is a refund)."""
    words = tuple(w for w in EXCHANGE_WORDS if w != "instead")
    return signals.any_phrase(said, words) or (
        signals.any_phrase(said, ("instead",)) and not signals.any_phrase(said, REFUND_WORDS)
    )


RATHER_X_THAN = re.compile(r"\brather\s+((?:[\w']+\s+){1,3}?)than\b")


def refusal_words(text: str) -> str:
    """The customer's words normalized, with "rather X than Y" said as "X rather than Y", the form REFUSED reads
    ("I'd rather swap than get the money back": the money back is refused, the swap is what they want)."""
    return RATHER_X_THAN.sub(r"\1rather than", signals.normalize(text))


# What the customer says when the resolution prepared is not the one they now want: "actually", "wait", "instead",
# "on second thought" (with the other one asked for: `_other_resolution`)
TURNS_AROUND = re.compile(
    r"\b(?:actually|wait|instead|on second thoughts?|second thoughts|changed? (?:my|our) minds?|rather)\b",
    re.IGNORECASE,
)
# "nah i dont want another colour or credit, just my money back": a no opening a refusal of what else they might get
LEADING_NO = re.compile(r"^\W*(?:no|nah|nope|naw)\b[\s,.!-]*", re.IGNORECASE)


def no_to_alternatives(text: str) -> str:
    """The customer's words without a leading no that belongs to the refusal after it ("nah, I don't want another
    colour or credit, just my money back" turns down the alternatives, not the item or the proposal); else as
    they are ("no, not that one")."""
    rest = LEADING_NO.sub("", text, count=1)
    if rest == text:
        return text
    first = re.split(r"[.!?;]", rest, maxsplit=1)[0]
    return rest if REFUSED.search(refusal_words(first)) or CREDIT_REFUSED.search(first) else text


def alternatives(labels: list[str]) -> str:
    """ "Sage, 5.2 L or 5.2 L, Cherry" misreads as four: labels of several options are set apart by semicolons
    ("Sage; 5.2 L; or 5.2 L, Cherry" reads as three)."""
    if len(labels) < 2:
        return "".join(labels)
    if any("," in label for label in labels):
        return "; ".join(labels[:-1]) + f"; or {labels[-1]}"
    return ", ".join(labels[:-1]) + f" or {labels[-1]}"


def choice_text(text: str) -> str:
    """The customer's words with what they refuse taken out, normalized for phrase matching."""
    return signals.normalize(REFUSED.sub(" ", refusal_words(text)))


UNVERIFIED_REPLY = (
    "For your security I can't look up or change orders from this address, because we couldn't verify that it's "
    "yours. Please write from the email address on your account, or sign in and chat with us on our website — "
    "I'm happy to help with anything else here."
)


CHANNEL_NAMES = {"web": "web chat", "email": "email", "whatsapp": "WhatsApp", "sms": "text message"}


def day(iso: str | None) -> str:
    if not iso:
        return "recently"
    moment = datetime.fromisoformat(iso)
    return f"{moment.strftime('%A')} {moment.day} {moment.strftime('%B')}"


def expected_by(iso: str) -> str:
    moment = datetime.fromisoformat(iso)
    zone = moment.strftime("%Z") or "UTC"
    return f"{moment.strftime('%A')} {moment.day} {moment.strftime('%B')}, {moment.strftime('%H:%M')} {zone}"


def slot_time(iso: str) -> str:
    moment = datetime.fromisoformat(iso)
    return f"{moment.strftime('%A')} {moment.day} {moment.strftime('%B')} at {moment.strftime('%H:%M')} UTC"


ORDINALS = {"first": 1, "1st": 1, "one": 1, "second": 2, "2nd": 2, "two": 2, "third": 3, "3rd": 3, "three": 3}


def pick_choice(text: str, count: int) -> int | None:
    """The index the customer picked from a numbered list ("2", "the second one"), or None. "That one" or "the
    other one" picks nothing: "one" is a number only on its own or as "number one"."""
    text = re.sub(
        r"\b(that|this|the|which|other|right|correct|same|new|another|a|any|no|each)\s+one\b",
        " ",
        text,
        flags=re.IGNORECASE,
    )
    for word in re.findall(r"[\w]+", text.lower()):
        # decimal digits of any script ("٣" too), and few: int() refuses "²" and 4,300+ digits with a ValueError
        number = int(word) if word.isdecimal() and len(word) <= 6 else ORDINALS.get(word)
        if number is not None and 1 <= number <= count:
            return number - 1
    return None


def amount_of(value: str) -> float | None:
    """The number in an option value ("350 ml" -> 350, "9.5" -> 9.5), or None."""
    number = re.search(r"\d+(?:[.,]\d+)?", value)
    return float(number.group().replace(",", ".")) if number else None


def journey_listing(items: list[str]) -> str:
    """'A, B and C': a journey's items, as its message listed them."""
    if not items:
        return "the items you left"
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def call(tool: str, arguments: dict[str, Any] | None = None, n: int = 1) -> ToolCall:
    return ToolCall(id=f"{tool}-{n}", tool=tool, arguments=arguments or {})


def own_words(text: str) -> str:
    """The words of a message's request to act, without those of a tracking question beside it ("can you send my
    kettle order to my office? And where is my black dripper?"): that names another order, tracked beside it
    (`DeterministicEngine._with_other_requests`)."""
    for intent, part in signals.read_only_requests(text):
        if intent == "track":
            text = text.replace(part, " ")
    return text


# The calls of a message's second request to act are marked (`DeterministicEngine._with_second`); the lookups are
# shared by both.
ALSO = "also-"
# A second request that asks the customer something first ("I found it: … is that the one?") waits in the flow
# under this key while the first's proposal waits, and is taken up once the first is settled (done or withdrawn).
LATER = "later"
LATER_WORDS = {
    "return": "the return",
    "exchange": "the exchange",
    "address": "the address change",
    "cancel": "the cancellation",
    "remove_item": "taking the item off",
}
SHARED_LOOKUPS = frozenset({"find_orders", "get_product"})
GO_AHEAD = re.compile(r"\s*Shall I go ahead\?\s*$")
ANYTHING_ELSE = re.compile(r"\s*(?:Is there a|A)nything else(?: I can help with)?\?\s*$")


def with_paragraphs(reply: str, paragraphs: list[str]) -> str:
    """`reply` with `paragraphs` after it, each its own paragraph; the question that ends a reply ("Anything
    else?", "Shall I go ahead?") stays at its end."""
    closing = ANYTHING_ELSE.search(reply) or GO_AHEAD.search(reply)
    body = reply[: closing.start()] if closing else reply
    said = body.rstrip() + "".join(f"\n\n{paragraph}" for paragraph in paragraphs)
    return f"{said}\n\n{closing.group(0).strip()}" if closing else said


# The flows that act on an order or an item, the tools that propose (or carry out) what they do, and the tools of
# a turn whose reply is an action's outcome.
ACTION_FLOWS = ("cancel", "address", "return")
PROPOSING_TOOLS = frozenset({"cancel_order", "modify_order", "return_items"})
ACTING_TOOLS = PROPOSING_TOOLS | {"confirm_action", "cancel_action"}

# The kinds of request a customer may make instead of the one they take back (return and exchange are one: a change
# between them is the return flow's own).
REQUEST_KINDS = {
    "cancel": "cancel",
    "address": "address",
    "remove_item": "remove_item",
    "return": "return",
    "exchange": "return",
    "appointment": "appointment",
    "track": "track",
}
# "cancel the whole order instead" cancels an order; "no, cancel that" only withdraws what was proposed.
CANCELS_ORDER = re.compile(
    r"\bcancel\w*\s+(?:(?:my|the|this|that|our|an?|whole|entire|full|pending|last|latest|recent)\s+){0,3}order\b",
    re.IGNORECASE,
)

# A return of a whole order, or of all it holds: "I'd like to return order 1016", "return order a20918, both items",
# "send everything back". Refunded: an exchange swaps one item.
WHOLE_ORDER = re.compile(
    r"\b(?:return|refund)\w*\s+(?:(?:my|the|this|that|whole|entire|full|complete|last|latest)\s+){0,3}order\b"
    r"|\b(?:return|send)\w*\s+(?:back\s+)?(?:everything|all of (?:it|them)|them all|it all|both)\b"
    r"|\b(?:both|all)\s+(?:of\s+)?(?:the\s+|my\s+)?(?:items|things|pieces|of them)\b"
    r"|\bthe\s+(?:whole|entire)\s+(?:order|lot)\b",
    re.IGNORECASE,
)
# ...every one of its items said in so many words (not only "return order 1016")
ALL_OF_THEM = re.compile(r"\b(?:both|all|everything|whole|entire)\b", re.IGNORECASE)
# The shop's remedy for a late parcel asked for by name after it was said, as a choice the customer makes: "please send
# me a new one", "reship it", "I'd rather have the refund". Not a yes to what the shop does anyway ("ok, do whatever
# you need to"): that needs no one.
REMEDY_ASKED = re.compile(
    r"\b(send|ship|post)\b[^.?!]{0,20}\b(new one|another|again|replacement)\b|\b(re-?ship|re-?send)\w*\b"
    r"|\b(refund|money back)\b|\bnew one\b"
)
# What is left of an order after a change to it: "send the rest to my office"
THE_REST = re.compile(r"\b(?:the\s+)?(?:rest|remaining\s+\w+|others?|everything else)\b", re.IGNORECASE)
# A question about the order the message names elsewhere: "…and when will it ship", "where is that order now?"
IT_ASKED = re.compile(r"\b(?:it|that order|this order|the order)\b", re.IGNORECASE)
# A question asking to be told, not a request put as a question ("can you send another one?")
INFO_QUESTION = re.compile(r"(?:how|what|when|why|where|which|who|do i|does|is|are|will i|would i|if)\b")


# What a proposal itself says: where the money goes, how much, which order or card
PROPOSAL_DETAIL = re.compile(
    r"\b(?:where|how much|which (?:card|account|order|payment)|what (?:card|account|amount|order)|to what)\b"
)


def asks_to_be_told(text: str) -> bool:
    """A part of the message asks to be told something ("where would the refund go?", "and if it never turns up, do I
    get my money back?"): what it names is asked about, not asked for."""
    clauses = [
        re.sub(r"^(?:(?:and|so|also|ok|okay|oh|well)\s+)+", "", c.strip())
        for c in re.split(r"[,.;!?]", signals.normalize(text))
    ]
    return any(INFO_QUESTION.match(c) for c in clauses)


# ...of which these name every line of the order, whatever items are named beside them ("all the mugs" may be some)
WHOLE_OF_IT = re.compile(
    # what governs the items or the order, not a part of one item ("the whole locking mechanism", "both poles bent")
    r"\bboth (?:items|things|of them|of those|of these|products)\b|\bboth\b(?=\s*(?:[,.!?;]|$))"
    r"|\b(?:whole|entire) (?:order|thing|lot|parcel|package|delivery)\b|\beverything\b",
    re.IGNORECASE,
)
# The start of a piece of a cancellation that names a thing ("my orders for the …", "the big glass jar")
NAMED_THING = re.compile(
    r"(?:(?:my|our|the|both)\s+)?(?:orders?\s+(?:for|with)\s+)?(?:the|my|our|a|an|that|those)\b", re.I
)
# "and the bottle from that order too": an item joined to the request before it
JOINED = re.compile(r"\b(?:too|as well|also)\b", re.IGNORECASE)
# "return order 1016, just the mug", "I only want to send back the lid": one item of it. Not "just" of time or
# degree ("just moved in", "only arrived on Monday"): "just" and "only" name some of it when a thing follows.
ONLY_SOME = re.compile(
    r"\b(?:just|only)\s+(?:(?:want|need|wish|mean)\w*\s+(?:to\s+(?:return|send|refund)\w*\s+(?:back\s+)?)?)?"
    r"(?:the|this|that|these|those|my|one|1|a|an)\b|\b(?:except|apart from|but not)\b",
    re.IGNORECASE,
)

# A question how to do something oneself: "how do I reset them?", "how can we clean it", "what's the best way to…"
HOW_TO = re.compile(
    r"^(?:how (?:do|can|should|would|could) (?:i|we|you)|how to|what is the (?:best )?way to|what's the "
    r"(?:best )?way to"
    # ...or how far the item goes in use: "how hot can they go", "how long does the battery last"
    r"|how (?:hot|cold|warm|long|often|far|high|heavy|much weight) (?:can|could|do|does|should|will|would) "
    r"(?:it|they|them|these|those|this|that|the|my)"
    r")\b"
)

# ...or whether the item is at fault: "is it broken?", "is that normal?", "what does dSC mean?"
IS_IT_FAULTY = re.compile(
    r"\b(?:is (?:it|this|that|mine|my [\w-]+(?: [\w-]+)?) (?:broken|faulty|defective|dead|normal|ok|okay|supposed to)"
    r"|is (?:something|anything) wrong|what does (?:it|that|this|[\w' -]{1,30}) mean)\b"
)
# "do I need to send it back?", "should I return it?": asking whether a return is needed is not asking for one
MUST_I = re.compile(
    r"\b(?:do|would|will|should|must) (?:i|we) (?:need|have) to (?:send|return)\w*(?: (?:it|them))?(?: back)?\b"
    r"|\b(?:should|must) (?:i|we) (?:send|return)\w*(?: (?:it|them))?(?: back)?\b"
)
# ...or what to do about a problem: "what do i do?", "what should we do now?"
WHAT_TO_DO = re.compile(r"^what (?:do|should|can|could) (?:i|we) do\b")
REMOVE_TARGET = re.compile(
    r"\b(?:remove|take|drop|delete|pull)\s+(?:the|my|a|an)?\s*([\w .-]{1,40}?)(?:\s+(?:off|from|out)\b|[?.!,]|$)",
    re.IGNORECASE,
)


class DeterministicEngine:
    """`profile` is the shop's merchant.json as deployed; a turn that carries the imported profile uses that one."""

    def __init__(self, profile: MerchantProfile) -> None:
        self.profile = profile
        self.merchant = profile.name
        self.return_window_days = profile.return_window_days

    # entry point -------------------------------------------------------------------------
    def decide(self, turn: ReadyTurn) -> Decision:
        if turn.merchant is not None and turn.merchant != self.profile:
            return DeterministicEngine(turn.merchant).decide(turn)
        if turn.signals.intent == "password" and not turn.conversation.flow:
            # "I can't log in, and I want to return the grinder": the request is made, and the sign-in answered beside
            # it (`_with_sign_in`)
            other = signals.beside_sign_in(turn.message.text)
            if other is not None:
                turn = turn.model_copy(update={"signals": turn.signals.model_copy(update={"intent": other})})
        second = self._second_request(turn)
        main = self._part_turn(turn, second, main=True) if second else turn
        decision = self._with_other_requests(main, self._decide(main))
        if second:
            decision = self._with_second(turn, second, decision)
        elif (later := self._later_request(turn, decision)) is not None:
            decision = self._with_second(turn, later, decision, after_first=True)
        decision = self._with_sign_in(turn, decision)
        # Call ids are unique per turn and round: an action id is derived from the call id, so a second return in
        # the same conversation is a new action, not a replay of the first. The second request's keep their mark.
        rounds = f"{turn.conversation.customer_turns}.{turn.agent_rounds}"  # (prefetched calls have ids of their own)
        calls = [
            c.model_copy(update={"id": f"{ALSO if c.id.startswith(ALSO) else ''}{c.tool}-{rounds}-{i}"})
            for i, c in enumerate(decision.tool_calls, 1)
        ]
        return decision.model_copy(
            update={"reply": self._with_greeting(turn, decision.reply), "engine": ENGINE, "tool_calls": calls}
        )

    # two requests to act in one message ------------------------------------------------------------------
    @staticmethod
    def _second_request(turn: ReadyTurn) -> tuple[str, str] | None:
        """A message asking for two things to be done ("1) please cancel the striped towels order, and 2) the glass
        containers order needs to go to my new place, …"): the second, of another kind than the first, as (intent,
        its words), made beside the first in the same reply; ("", "") while its proposal waits for the customer's
        answer with the first's (the conversation's flow keeps it under "also"). None for one request."""
        flow = turn.conversation.flow
        if flow.get("also"):
            return "", ""
        if flow.get("name") in (*ACTION_FLOWS, "appointment") or not turn.customer.verified:
            return None
        acting = signals.acting_parts(turn.message.text) or DeterministicEngine._joined_requests(turn.message.text)
        if len(acting) < 2:
            return DeterministicEngine._return_beside_exchange(turn)
        first = REQUEST_KINDS.get(acting[0][0])
        index = next(
            (
                n
                for n, (i, _) in enumerate(acting[1:], 1)
                if REQUEST_KINDS.get(i) not in (first, "track", "appointment", None)
            ),
            None,
        )
        if index is None:
            return None
        intent, words = acting[index]
        # what follows of the same kind is the second's too ("…and I'd also like to send back the towels. Refund for
        # those to my card please."): its words run to the last of them, as the message says them
        text = turn.message.text
        start, end = text.find(words), text.find(words) + len(words)
        for later, part in acting[index + 1 :]:
            if REQUEST_KINDS.get(later) != REQUEST_KINDS.get(intent):
                break
            at = text.find(part, end)
            if start < 0 or at < 0:
                break
            end = at + len(part)
        return intent, text[start:end] if start >= 0 else words

    @staticmethod
    def _joined_requests(text: str) -> list[tuple[str, str]]:
        """Two requests of other kinds joined by "and" and a verb, in one sentence ("cancel order #505 and change the
        address on #504 to …", "please cancel the kettle and take the mug off the grinder order"), each as (intent,
        its words); [] where the message is not two such requests. Not a cancellation and the money back ("cancel
        the order and refund me": a cancellation refunds; "return the grinder and cancel the kettle order" is two),
        nor a request and how it is done ("return the mug and send me the slate one")."""
        read = [(signals.classify(part)[0], part) for part in signals.request_parts(text)]
        if len(read) != 2:
            return []
        kinds = {REQUEST_KINDS.get(intent) for intent, _ in read}
        if (
            len(kinds) != 2
            or not kinds <= {"cancel", "address", "remove_item", "return"}
            or not all(signals.requests_something(part) for _, part in read)
        ):
            return []
        if kinds == {"cancel", "return"} and not any(
            SENT_BACK.search(part) for intent, part in read if REQUEST_KINDS.get(intent) == "return"
        ):
            return []  # the money of the cancellation ("cancel the order and refund me"), not an item sent back
        return read

    @staticmethod
    def _return_beside_exchange(turn: ReadyTurn) -> tuple[str, str] | None:
        """A return and an exchange asked for two different items of theirs ("swap the white dripper for the black
        one and I'm sending the oat mug back too", "I want to return the oat mug and exchange the dripper for the
        black one"): the later one, as (intent, its words), a request of its own. Both are the return flow's (a change
        between them, "not a refund, I'd rather swap it", is one request), so they are told apart by the items their
        words name, once the customer's orders are looked up; None where either names none ("return the kettle, or
        can I swap it for the black one?") or both name the same one."""
        found = turn.results_for("find_orders")
        if not found:
            return None
        parts = [(signals.classify(part)[0], part) for part in signals.request_parts(turn.message.text)]
        first = next(((n, i) for n, (i, _) in enumerate(parts) if i in ("return", "exchange")), None)
        if first is None:
            return None
        other = "exchange" if first[1] == "return" else "return"
        later = next((n for n, (i, _) in enumerate(parts) if n > first[0] and i == other), None)
        if later is None or any(i not in ("return", "exchange", "question", "unknown") for i, _ in parts):
            return None
        candidates = [
            (order, line)
            for order in found[-1].result.get("orders", [])
            if order["status"] != "cancelled"
            for line in order["lines"]
        ]
        named = [
            set(items_named(words, candidates, exchange=intent == "exchange").best)
            for intent, words in (parts[first[0]], parts[later])
        ]
        return parts[later] if all(named) and not named[0] & named[1] else None

    @staticmethod
    def _later_request(turn: ReadyTurn, decision: Decision) -> tuple[str, str] | None:
        """The second request left waiting (`LATER`) while the first's proposal waited, once this turn settles the
        first (its action done or withdrawn, nothing more asked): as (intent, its words), with what this message
        adds of the same kind ("yes to both. refund for the cable")."""
        later = turn.conversation.flow.get(LATER)
        if not later or decision.next != "reply" or decision.flow.get("name") in (*ACTION_FLOWS, "appointment"):
            return None
        if not DeterministicEngine._waits(turn.conversation.flow) or not turn.results:
            return None  # the first's proposal is not answered in this turn: the second keeps waiting
        intent, words = str(later.get("intent", "")), str(later.get("words", ""))
        if later.get("order"):
            words = f"order {later['order']}: {words}"
        kind = REQUEST_KINDS.get(intent)
        added = [
            part
            for part in signals.clauses(turn.message.text)
            if REQUEST_KINDS.get(signals.classify(part)[0]) == kind and kind is not None
        ]
        return (intent, " ".join([words, *added])) if words else None

    @staticmethod
    def _part_turn(turn: ReadyTurn, second: tuple[str, str], main: bool) -> ReadyTurn:
        """The turn as one of two requests sees it: its own flow, the results of its own calls (the second's are
        marked) and the lookups they share; a new second request reads its own words, and the first the rest."""
        flow = dict(turn.conversation.flow)
        also = flow.pop("also", None)
        intent, words = second
        if main:
            results = [r for r in turn.results if not r.call_id.startswith(ALSO)]
            text = turn.message.text.replace(words, " ") if words else turn.message.text
            signals_read = turn.signals
            first = signals.acting_parts(turn.message.text)[:1] if words else []
            if first and REQUEST_KINDS.get(first[0][0]) != REQUEST_KINDS.get(turn.signals.intent or ""):
                # the whole message's reading may be its second request's ("please cancel the grinder, and I'd also
                # like to send back the towels. Refund for those please" reads as a return): the first is its own
                signals_read = turn.signals.model_copy(update={"intent": first[0][0]})
        else:
            flow = also or {}
            flow.pop(LATER, None)
            results = [r for r in turn.results if r.call_id.startswith(ALSO) or r.tool in SHARED_LOOKUPS]
            text = words or turn.message.text
            signals_read = turn.signals.model_copy(update={"intent": intent}) if intent else turn.signals
        return turn.model_copy(
            update={
                "results": results,
                "message": turn.message.model_copy(update={"text": text}),
                "signals": signals_read,
                "conversation": turn.conversation.model_copy(update={"flow": flow}),
            }
        )

    def _with_second(
        self, turn: ReadyTurn, second: tuple[str, str], decision: Decision, after_first: bool = False
    ) -> Decision:
        """The first request's decision with the second's: their action rounds together, then one reply that
        proposes (or answers) both; a yes then confirms both, a no withdraws both. A new second request that needs
        a question answered first waits (`LATER`) while the first's proposal does, and is taken up in the reply
        that settles the first (`after_first`)."""
        if (
            decision.handoff is not None
            or decision.close
            or any(c.tool == "create_handoff" for c in decision.tool_calls)
        ):
            # a handoff is for the whole conversation: one ticket, and no second request proposed beside it (the
            # second's part of the message would open a ticket of its own)
            return decision
        fresh = bool(second[1])
        other = self._decide(self._part_turn(turn, second, main=False))
        if other.next == "actions":
            own = {(c.tool, repr(sorted(c.arguments.items()))) for c in decision.tool_calls}
            marked = [
                c.model_copy(update={"id": f"{ALSO}{c.id}"})
                for c in other.tool_calls
                if (c.tool, repr(sorted(c.arguments.items()))) not in own
            ]
            calls = [*decision.tool_calls, *marked] if decision.next == "actions" else marked
            return Decision(next="actions", tool_calls=calls, flow=decision.flow) if calls else decision
        if decision.next == "actions" or other.handoff is not None or other.close:
            return decision
        first_waits, other_waits = self._waits(decision.flow), self._waits(other.flow)
        if fresh and other.flow and not other_waits and decision.flow and not after_first:
            # the second asks something first ("what's the new address?"): it waits until the first is settled
            what = LATER_WORDS.get(second[0], "your other request")
            first = decision.reply.strip()
            told = (
                f"{GO_AHEAD.sub('', first)} Once that's settled, I'll help with {what} too. Shall I go ahead?"
                if GO_AHEAD.search(first)
                else f"{first}\n\nOnce that's settled, I'll help with {what} too."
            )
            later = {"intent": second[0], "words": second[1]}
            if THE_REST.search(second[1]) and decision.flow.get("order_id"):
                # "take the mug off order #504, send the rest to my office …": the rest is of the first's order
                later["order"] = decision.flow["order_id"]
            return decision.model_copy(update={"reply": told, "flow": {**decision.flow, LATER: later}})
        first_reply, other_reply = decision.reply.strip(), other.reply.strip()
        if first_waits and other_waits:
            also = re.sub(r"^To confirm:\s*", "", GO_AHEAD.sub("", other_reply))
            lowered = also if re.match(r"I\b", also) else f"{also[:1].lower()}{also[1:]}"  # "I'll" stays "I'll"
            reply = f"{GO_AHEAD.sub('', first_reply)}\n\nAlso, {lowered}\n\nShall I go ahead with both?"
        elif decision.flow and not other.flow and not first_waits:
            # the second is done and the first still asks ("…which would you prefer?"): what is done first, the
            # question last
            reply = f"{ANYTHING_ELSE.sub('', other_reply)}\n\n{first_reply}"
        else:
            reply = f"{ANYTHING_ELSE.sub('', first_reply)}\n\n{other_reply}"
        if first_waits:
            flow = {**decision.flow, "also": other.flow} if other_waits else decision.flow
        elif decision.flow and other_waits and not after_first:
            # the first asks something ("Is that the one you'd like to return?") beside the second's proposal: the
            # answer goes to both, and the first is not dropped for the second
            flow = {**decision.flow, "also": other.flow}
        else:  # the first is settled: the second's question or proposal is what the conversation waits on
            flow = other.flow if other_waits or (other.flow and not decision.flow) or after_first else decision.flow
        return decision.model_copy(
            update={
                "reply": reply,
                "flow": flow,
                "resolved": decision.resolved or other.resolved,
                "citations": [*decision.citations, *other.citations],
            }
        )

    @staticmethod
    def _waits(flow: dict[str, Any]) -> bool:
        """Whether a proposal in `flow` waits for the customer's yes."""
        return bool(flow.get("action_id")) and flow.get("stage") in ("confirm", "confirm_action")

    def _decide(self, turn: ReadyTurn) -> Decision:
        flow = dict(turn.conversation.flow)
        text = turn.message.text
        if turn.conversation.status is ConversationStatus.HANDED_OFF:
            return Decision(
                next="reply",
                reply="A member of our team has this conversation and will reply here shortly.",
                flow=flow,
            )
        if "actions" in turn.errors:
            return self.handoff(
                turn, "an action failed", "I'm sorry, something went wrong on our side while I was doing that."
            )
        if any(r.status is ActionStatus.DENIED and r.reason == "in_progress" for r in turn.results):
            # A second "yes" while the first is being carried out (a double click, a resent message): not a refusal.
            return Decision(
                next="reply",
                reply="I'm on it: that is being carried out right now, and you'll see the outcome here in a moment.",
                flow={},
            )
        trigger = self._handoff_trigger(turn, flow)
        if trigger:
            return self.handoff(turn, trigger)
        anew = self._takes_back_and_asks_anew(turn, flow)
        if anew is not None:
            return anew
        if flow.get("name") == "return":
            return self._return_flow(turn, flow)
        if flow.get("name") == "journey":
            decided = self._journey_flow(turn, flow)
            if decided is not None:
                return decided
            # a question or another request: the normal path answers it, and the proposals keep waiting for the
            # customer's choice (unless that path starts a flow of its own)
            plain = turn.model_copy(update={"conversation": turn.conversation.model_copy(update={"flow": {}})})
            other = self._decide(plain)
            return other if other.flow or other.handoff is not None else other.model_copy(update={"flow": flow})
        if flow.get("name") == "offer_handoff":
            if flow.get("explicit"):  # nothing was asked: only a fault reported or a person asked for hands it on
                if self._fit_reason(text) == "damaged" or self._accepts_handoff(text, explicit=True):
                    return self.handoff(turn, flow.get("reason", "customer asked for a person"))
                if flow.get("final_sale") and self._pushes_back(text):
                    # "it's not broken, just ugly. so I'm stuck with it??": the refusal stands, said kindly once more,
                    # and a person is offered (a yes hands it on)
                    return Decision(
                        next="reply",
                        reply=(
                            f"I'm sorry, I know that's disappointing. The {flow['final_sale']} was sold as final "
                            "sale, so I can't return or exchange it here. If you'd like, I can pass this to a member "
                            "of our team to take a look."
                        ),
                        flow={"name": "offer_handoff", "reason": "final-sale item: the customer asks again"},
                    )
                flow = {}
            elif self._accepts_handoff(text):
                return self.handoff(turn, flow.get("reason", "no answer in the help center"))
            elif (
                signals.is_affirmative(text)
                and not flow.get("asked_again")
                and not signals.any_phrase(signals.normalize(text), signals.INTENT_PHRASES["thanks"])
            ):
                return Decision(
                    next="reply",
                    flow={**flow, "asked_again": True},
                    reply='Would you like me to pass this to a member of our team? Just say "connect me" if so.',
                )
            flow = {}
        if flow.get("name") == "late_parcel":
            # the shop's remedy for a late parcel was said (a trace, a reship, a refund): asked for, it is a person's
            # to carry out, with this conversation ("please send me a new one if this one's stuck")
            if self._asks_late_remedy(text, flow):
                return self.handoff(turn, f"late parcel {flow.get('order_id', '')}: the customer asks for the remedy")
            flow = {}
        if flow.get("name") == "cancel":
            return self._cancel_flow(turn, flow)
        if flow.get("name") == "address":
            return self._address_flow(turn, flow)
        if flow.get("name") == "appointment":
            return self._appointment_flow(turn, flow)
        if flow.get("name") == "offer_tracking":
            if signals.is_affirmative(text) and not signals.is_negative(text):
                return self._track(turn, flow["order_id"])
            flow = {}
        lead = self._lead(turn, flow)  # a business request (merchant.json `leads`), its questions, its outcome
        if lead is not None:
            return lead
        if flow.get("name") == leads.FLOW:  # left for another request
            flow = {}
        product_reply = products.decide(turn)  # a question about products: stock, sizing, a comparison (catalogue/)
        if product_reply is not None:
            return product_reply
        if flow.get("name") == products.FLOW:  # the product asked about was not picked: another request
            flow = {}
        # Shopping help: the cart retrieval built for a shopping request, worded from the cart (catalogue/).
        cart_reply = shopping.decide(turn)
        if cart_reply is not None:
            return cart_reply
        recommended = recommend.decide(turn, self.profile)  # "what would you recommend for me?" (engine/recommend.py)
        if recommended is not None:
            return recommended
        # An account question (a balance, a gift card, their orders, a payment, a refund): engine/account.py
        account_reply = account.decide(turn, self.profile, lambda words: self._help_answer(turn, words), self._excerpt)
        if account_reply is not None:
            return account_reply
        intent = turn.signals.intent
        if not turn.customer.verified and (intent in ACCOUNT_INTENTS or order_reference(text)):
            return Decision(next="reply", reply=UNVERIFIED_REPLY, flow={})
        # a question giving an address, or tracking words, asks for that; asking how to place an order asks nothing of
        # the orders they have
        intent = acting_intent(text, intent)
        if intent in ("return", "exchange") and (
            self._asks_how_to(text) or self._asks_if_faulty(text) or self._describes_known_problem(turn)
        ):
            intent = "question"
        if intent == "track" and signals.read_only_requests(text):
            # "where are my headphones? And can you send my hub order to my office?": what is to be done is made,
            # and where the order is (or what the help center says) comes with it (_with_other_requests)
            intent = next(iter(signals.acting_requests(text)), intent)
        started = self._start(turn, intent)
        if started is not None:
            return started
        if intent == "password":
            return self._password_reset(turn)
        if self._only_no_person(turn, intent):
            # "I don't want to talk to a person", "no need for a human thanks" as a first message: nothing is asked
            # yet, and nothing was helped with (no thanks-and-close, no offer of the person they just refused)
            return Decision(next="reply", reply="No problem, I can help you here. What can I do for you?", flow=flow)
        praise = moments.positive_feedback(text, turn.signals.sentiment, turn.signals.frustrated)
        if intent in ("goodbye", "thanks") and not self._has_question(text):
            if intent == "thanks" and praise is not None and not THANKED.search(text):
                # "I just wanted to say I love the gooseneck kettle, it's brilliant!": praise, not thanks for help
                return Decision(next="reply", reply="That's lovely to hear, thank you for telling us!", moment=praise)
            return Decision(
                next="reply", reply="You're welcome — glad I could help. Have a lovely day!", close="resolved"
            )
        if intent == "greeting":
            return Decision(next="reply", reply="How can I help you today?", flow=flow)
        if (
            "?" not in text
            and len(content_words(text)) <= 1
            and (signals.is_affirmative(text) or signals.is_negative(text))
            # "ok so how do I actually place that order": a question without its question mark asks something
            and not any(
                signals.QUESTION_WORD.search(signals.normalize(part)) for part in signals.clauses(text) or [text]
            )
        ):
            # "Yes, that order." / "ok" with nothing pending asks nothing: no help-center passage is an answer to it
            return Decision(next="reply", reply="Is there anything else I can help with?", flow={})
        if praise is not None and not self._has_question(text):  # the positive-feedback moment (offers/moments.py)
            return Decision(next="reply", reply="That's lovely to hear, thank you for telling us!", moment=praise)
        return self._answer_from_knowledge(turn)

    @staticmethod
    def _asks_if_faulty(text: str) -> bool:
        """ "my kettle has 'dSC' on the little screen and it won't go away. is it broken??": a symptom with a question
        whether the item is at fault, and no request to send it back or swap it (beyond asking whether they must): the
        help center's answer first; the return stays one message away."""
        asked = [signals.normalize(part) for part in signals.clauses(text) or [text]]
        if not any(IS_IT_FAULTY.search(part) for part in asked):
            return False
        return RETURN_VERB.search(MUST_I.sub(" ", signals.normalize(text))) is None

    @staticmethod
    def _asks_late_remedy(text: str, flow: dict[str, Any]) -> bool:
        """Whether the customer asks for the late parcel's remedy by name ("please send me a new one", "can you
        just send me another one?", "just refund me"): not what they refuse ("no, not a refund"), not a question
        asking to be told ("how long does a refund take?", "and if it never turns up, do I get my money back?"), not
        a request about another order."""
        if not REMEDY_ASKED.search(choice_text(text)):
            return False
        if asks_to_be_told(text):
            return False
        return order_reference(text) in (None, flow.get("order_id"))

    def _describes_known_problem(self, turn: ReadyTurn) -> bool:
        """ "only my right earbud connects to my phone now, the left one is just silent": a problem in use, with no
        word of sending it back and no damage, that a section of the merchant's help center is headed by ("Only one
        earbud connects", found with confidence): its answer first; the return stays one message away."""
        text = turn.message.text
        normalized = signals.normalize(text)
        if RETURN_VERB.search(normalized) or self._fit_reason(text) == "damaged":
            return False
        if signals.any_phrase(normalized, (*RESOLUTION_WORDS, "new pair", "replace")) or asks_exchange(normalized):
            return False  # "…flickers all the time, I want a replacement": what to do about it is said
        said = content_words(text)
        return any(
            len(said & content_words(p.section)) >= 2 for p in self._grounded(turn) if p.url.split("#")[0] != POLICY_URL
        )

    @staticmethod
    def _asks_how_to(text: str) -> bool:
        """ "my earbuds only connect on the left, how do i do a proper reset on them?": a fault described (which the
        model reads as a return) with a question how to fix it themselves, and no word of sending it back or
        swapping it (the rules then read a question): the help center's answer is wanted, not a return."""
        if signals.classify(text)[0] != "question":
            return False
        asked = [signals.normalize(part) for part in signals.clauses(text) or [text]]
        if any(HOW_TO.match(part) for part in asked):
            return True
        # "only the left earbud plays sound, the right one won't connect. what do i do?": a problem in use asks how to
        # fix it; an item that arrived damaged ("it came cracked, what do I do?") asks what we do about it
        return any(WHAT_TO_DO.match(part) for part in asked) and DeterministicEngine._fit_reason(text) != "damaged"

    def _start(self, turn: ReadyTurn, intent: str, about: str | None = None) -> Decision | None:
        """The flow of a new request to act on an order, an item or a booking, or to track one; None for others.
        `about`: the order of a proposal just withdrawn in the same message, which "it" may mean ("don't cancel it,
        send it to my new place instead")."""
        if intent == "cancel":
            return self._cancel_flow(turn, {"name": "cancel", "stage": "find"})
        if intent in ("address", "remove_item"):
            started = {"name": "address", "remove": intent == "remove_item"}
            return self._address_flow(turn, {**started, "about": about} if about else started)
        if intent == "appointment":
            return self._appointment_flow(turn, {"name": "appointment", "stage": "find"})
        if intent in ("return", "exchange"):
            return self._return_flow(turn, {"name": "return", "stage": "find_item", "wants": intent})
        if intent == "track":
            return self._track(turn)
        return None

    def _takes_back_and_asks_anew(self, turn: ReadyTurn, flow: dict[str, Any]) -> Decision | None:
        """ "Hmm actually no, don't cancel it. Just take the tea towels off": a no to the proposal waiting for the
        customer's yes, with another request in the same words. The proposal is withdrawn and the new request made
        at once, in one reply that says what was withdrawn. A request of the same kind ("no, the refund instead") is
        the flow's own business; a bare "no, cancel that" withdraws and asks nothing new."""
        if not flow.get("action_id") or flow.get("stage") not in ("confirm", "confirm_action"):
            return None
        text = turn.message.text
        answer = refusals_aside(text, flow.get("item"))
        if self._pending_kind(flow) == "cancel" and signals.is_affirmative(CANCEL_WORD.sub(" ", answer)):
            # "yes cancel that one. keep the glass containers order though": with a cancellation waiting, "cancel" said
            # beside a yes is what the customer asks for (as `_cancel_flow` reads it), not a no
            answer = CANCEL_WORD.sub(" ", answer)
        if not signals.is_negative(answer):
            return None
        intent = acting_intent(text, turn.signals.intent)
        if intent == "cancel" and not CANCELS_ORDER.search(text):
            return None  # "no, cancel that" withdraws the proposal: it is not a cancellation of the order
        kind = REQUEST_KINDS.get(intent)
        if kind is None or kind == self._pending_kind(flow):
            return None
        withdrawn = turn.results_for("cancel_action")
        if not withdrawn:
            return Decision(
                next="actions",
                tool_calls=[
                    call("cancel_action", {"action_id": flow["action_id"]}),
                    call("find_orders", {"limit": ORDER_SEARCH_LIMIT}),
                ],
                flow={},
            )
        started = self._start(turn, intent, about=flow.get("order_id"))
        assert started is not None  # every kind of REQUEST_KINDS starts a flow
        if started.next != "reply" or withdrawn[-1].status is not ActionStatus.EXECUTED:
            return started
        return started.model_copy(update={"reply": f"{self._withdrawn(flow)} {started.reply}"})

    @staticmethod
    def _pending_kind(flow: dict[str, Any]) -> str:
        """What the proposal waiting in `flow` does, as REQUEST_KINDS names it."""
        if flow.get("name") == "address":
            return "remove_item" if flow.get("change") == "remove" else "address"
        return str(flow.get("name"))

    @staticmethod
    def _withdrawn(flow: dict[str, Any]) -> str:
        """The acknowledgement of a proposal withdrawn, in the words of what it would have done."""
        order = flow.get("order_id")
        name = flow.get("name")
        if name == "cancel":
            return f"No problem, I won't cancel order {order}." if order else "No problem, I won't cancel it."
        if name == "address" and flow.get("change") == "remove":
            return f"No problem, order {order} stays as it is." if order else "No problem, the order stays as it is."
        if name == "address":
            return "No problem, the address stays as it was."
        if name == "appointment":
            return "No problem, I haven't booked anything."
        resolution = flow.get("resolution")
        return f"No problem, I won't go ahead with the {resolution}." if resolution else "No problem, I won't go ahead."

    # handoff -----------------------------------------------------------------------------
    def _handoff_trigger(self, turn: ReadyTurn, flow: dict[str, Any]) -> str | None:
        """The same code-enforced triggers as every engine (reasoning.escalation)."""
        return escalation.trigger(turn, turn.conversation.sentiments, flow.get("misses", 0))

    def handoff(self, turn: ReadyTurn, reason: str, preface: str = "") -> Decision:
        """Create the handoff ticket (first step), then tell the customer (once it exists)."""
        done = turn.results_for("create_handoff")
        if not done:
            summary = f"Customer {turn.customer.first_name}: '{turn.message.text[:200]}'. Reason: {reason}."
            return Decision(next="actions", tool_calls=[call("create_handoff", {"reason": reason, "summary": summary})])
        ticket = done[-1].result if done[-1].status is ActionStatus.EXECUTED else {}
        # the order the customer named, in their words, so they know what the team will look at (echoed, never
        # looked up: whose it is is for the person to check)
        named = order_reference(turn.message.text)
        about = f", about order {named}," if named else ""
        if ticket.get("within_hours") is False and ticket.get("reply_expected_by"):
            message = (
                f"{preface + ' ' if preface else ''}Our team is away right now, so I've passed this{about} to them "
                f"with this whole conversation — you won't need to repeat anything. A teammate will reply here by "
                f"{expected_by(ticket['reply_expected_by'])}."
            ).strip()
        else:
            passing = f"I'm passing {'this' + about if named else 'you'} to a member of our team now"
            message = (
                f"{preface + ' ' if preface else ''}{passing}. They'll see this whole conversation, so you won't need "
                "to repeat anything, and they'll reply right here."
            ).strip()
        return Decision(next="reply", reply=message, handoff=Handoff(reason=reason, message=message))

    # return ------------------------------------------------------------------------------
    def _return_flow(self, turn: ReadyTurn, flow: dict[str, Any]) -> Decision:
        stage = flow.get("stage")
        text = turn.message.text
        if stage != "confirm_action" and keeps_it(text):
            return Decision(
                next="reply",
                reply="No problem — nothing has been changed. Is there anything else I can help with?",
                flow={},
            )
        if stage == "find_item":
            return self._find_item(turn, flow)
        if stage == "confirm_item":
            # "just the money back please, no store credit": credit refused is not a no to the item
            answer = refusals_aside(no_to_alternatives(text), flow.get("item"))
            if self._goes_on(answer):
                reason = self._fit_reason(text) or flow.get("reason")
                said = choice_text(text)
                if signals.any_phrase(said, REFUND_WORDS) and not asks_exchange(said):
                    # "forget the swap, I'd rather have my money back": a change of mind replaces what they first asked
                    return self._after_item_confirmed(
                        turn, {**flow, "reason": reason, "wants": "refund", "request": text}
                    )
                return self._after_item_confirmed(
                    turn, {**flow, "reason": reason, "request": f"{flow.get('request', '')} {text}"}
                )
            if signals.is_negative(answer):
                return self._choose_other(flow)
            return self._miss(flow, f"Is the {flow['item']} the item you mean? A yes or no is fine.")
        if stage == "choose_item":
            line = match_line(text, flow["candidates"])
            if line is None:
                choice = pick_choice(text, len(flow["candidates"]))
                line = flow["candidates"][choice] if choice is not None else None
            if line:
                order = flow["orders"][line["line_key"]]
                return self._find_item(
                    turn, {**flow, "stage": "find_item", "picked": [order["order_id"], line["line_id"]]}
                )
            return self._miss(flow, "Which of those items do you mean?")
        if stage == "ask_fit":
            reason = self._fit_reason(text) or "other"
            return self._offer(
                turn, {**flow, "reason": reason, "stage": "offer", "request": f"{flow.get('request', '')} {text}"}
            )
        if stage == "offer":
            return self._choose_resolution(turn, flow)
        if stage == "confirm_action":
            return self._confirm_action(turn, flow)
        return self._find_item(turn, {"name": "return", "stage": "find_item"})

    # a journey's message (journeys/outreach.py) ----------------------------------------------------------------------
    def _journey_flow(self, turn: ReadyTurn, flow: dict[str, Any]) -> Decision | None:
        """The customer answers a message the assistant started: the proposals it made wait in `flow` ({"reship": id,
        "refund": id}). The one they name ("refund it please", "yes, reship"), or the only one with a yes, is confirmed
        (the executor checks it again and runs it once); a no withdraws them. A question or another request is the
        normal path's (None), and the proposals stay pending."""
        proposals: dict[str, str] = dict(flow.get("proposals") or {})
        if not proposals and flow.get("context") is not None:  # a journey that only told (a cart, a trial, a step)
            return self._journey_told(turn, flow)
        # a confirmation's result carries the tool it settled; a withdrawal's is cancel_action
        settled = [r for tool in (*JOURNEY_REMEDIES, "confirm_action", "cancel_action") for r in turn.results_for(tool)]
        if settled:
            return self._journey_outcome(settled[-1])
        text = turn.message.text
        said = signals.normalize(text)
        wants = {
            "reship": signals.any_phrase(said, JOURNEY_RESHIP_WORDS),
            "refund": signals.any_phrase(said, REFUND_WORDS),
        }
        named = [verb for verb, asked in wants.items() if asked and verb in proposals]
        if named and asks_to_be_told(text):  # a question about a proposal: answered, nothing runs
            worded = dict(flow.get("said") or {})
            if len(named) == 1 and named[0] in worded and PROPOSAL_DETAIL.search(said):
                verb = named[0]  # "where would the refund go?", "how much would I get back?": the proposal says
                answer = f'I would {worded[verb]}. Nothing happens until you say so: reply "{verb}" to go ahead.'
                return Decision(next="reply", reply=answer, flow=flow)
            return None  # "how long does a refund take?": the help center's answer; the proposals stay pending
        if len(named) == 1 and not signals.is_negative(refusals_aside(text, None)):
            return Decision(
                next="actions", tool_calls=[call("confirm_action", {"action_id": proposals[named[0]]})], flow=flow
            )
        if len(named) == 2 or (signals.is_affirmative(text) and len(proposals) == 2 and not named):
            return self._miss(flow, "Happy to. Would you like me to send it again, or refund it?")
        if signals.is_affirmative(text) and len(proposals) == 1 and not named:
            [only] = proposals.values()
            return Decision(next="actions", tool_calls=[call("confirm_action", {"action_id": only})], flow=flow)
        if signals.is_negative(text) and not named and "?" not in text:
            withdraw = [
                call("cancel_action", {"action_id": pending}, n) for n, pending in enumerate(proposals.values(), 1)
            ]
            return Decision(next="actions", tool_calls=withdraw, flow=flow)
        return None

    def _journey_told(self, turn: ReadyTurn, flow: dict[str, Any]) -> Decision | None:
        """The customer answers a message that proposed nothing (journeys/outreach.py `tell`): a question about what it
        said is answered from what the journey read then (`flow["context"]`: the cart's items and the offer's code,
        the trial's plan, price, end and manage link, the onboarding step and its help); a presented offer whose code
        comes with a yes is taken (accept_offer); a no closes it. Anything else is the normal path's (None)."""
        context: dict[str, Any] = flow["context"]
        text = turn.message.text
        said = signals.normalize(text)
        journey = flow.get("journey")
        no = signals.is_negative(text) and "?" not in text
        if journey == "abandoned_cart":
            return self._cart_answer(turn, flow, context, said, no)
        if journey == "trial_ending":
            return self._trial_answer(turn, flow, context, said, no)
        if journey == "stalled_onboarding":
            return self._step_answer(flow, context, said, no)
        if journey == "survey_promoter":
            return self._promoter_answer(turn, flow, context, said, no)
        if journey == "churn_risk":
            return self._churn_answer(turn, flow, context, said, no)
        return None

    def _churn_answer(
        self, turn: ReadyTurn, flow: dict[str, Any], context: dict[str, Any], said: str, no: bool
    ) -> Decision | None:
        """The answer to a churn_risk nudge (journeys/churn.py): about a step or a feature, its help (as the onboarding
        nudge's); after "is there anything we can still put right?", a yes or a request for a person is handed to the
        team with the earlier conversation named, a no closes it kindly. Anything else is the normal path's."""
        chosen = dict(context.get("help") or {})
        if chosen.get("kind") != "put_right":
            return self._step_answer(flow, context, said, no)
        if no:
            return Decision(
                next="reply", reply="Thank you for letting me know. I'm here if you need anything.", flow={}
            )
        if self._accepts_handoff(turn.message.text):
            earlier = chosen.get("conversation_id", "")
            return self.handoff(turn, f"follow-up to conversation {earlier}: the customer would like a person")
        return None

    def _cart_answer(
        self, turn: ReadyTurn, flow: dict[str, Any], context: dict[str, Any], said: str, no: bool
    ) -> Decision | None:
        offer = dict(context.get("offer") or {})
        items = journey_listing(context.get("items") or [])
        asks_code = signals.any_phrase(said, CART_CODE_WORDS)
        taken = self._journey_offer_taken(
            turn, flow, context, offer, asks_code, no, lambda o: self._code_line(o, items), {"items": items}
        )
        if taken is not None:
            return taken
        asks_cart = signals.any_phrase(said, CART_WORDS)
        if asks_code:
            return Decision(next="reply", reply=self._code_line(offer, items), flow=flow)
        if asks_cart:
            total = (
                f" ({money(context['total'], context['currency'])} in all)"
                if context.get("total") and context.get("currency")
                else ""
            )
            code = f" {self._code_line(offer, items, named=False)}" if offer.get("code") else ""
            return Decision(
                next="reply",
                reply=f"Your cart at {self.merchant} holds {items}{total}.{code} Is there anything about them "
                "I can help with?",
                flow=flow,
            )
        if no:
            return Decision(
                next="reply", reply="No problem, I'll leave it there. Is there anything else I can help with?", flow={}
            )
        return None

    def _promoter_answer(
        self, turn: ReadyTurn, flow: dict[str, Any], context: dict[str, Any], said: str, no: bool
    ) -> Decision | None:
        """The answer to a promoter's thank-you (the survey_promoter journey): the offer's code again, with its value,
        product and expiry; the code of an offer given on a yes, taken (accept_offer); a no closes it kindly."""
        offer = dict(context.get("offer") or {})
        product = str(context.get("product") or "")
        asks_code = signals.any_phrase(said, CART_CODE_WORDS)
        taken = self._journey_offer_taken(
            turn, flow, context, offer, asks_code, no, lambda o: self._offer_code_line(o, product), {"product": product}
        )
        if taken is not None:
            return taken
        if asks_code and offer.get("code"):
            return Decision(next="reply", reply=self._offer_code_line(offer, product), flow=flow)
        if no:
            return Decision(
                next="reply", reply="No problem at all. Thank you again for your feedback!", flow={}, resolved=True
            )
        return None

    def _journey_offer_taken(
        self,
        turn: ReadyTurn,
        flow: dict[str, Any],
        context: dict[str, Any],
        offer: dict[str, Any],
        asks_code: bool,
        no: bool,
        line: Callable[[dict[str, Any]], str],
        values: dict[str, str],
    ) -> Decision | None:
        """An answer to a journey's message that takes its offer (the cart reminder's, a promoter's thank-you's):
        the code `accept_offer` issued this turn, in the merchant's accepted words (else `line`), or its refusal;
        a yes, or a question for the code, to an offer whose code comes on a yes: `accept_offer`. None otherwise."""
        results = turn.results_for("accept_offer")
        if results:
            taken = results[-1]
            if taken.status is not ActionStatus.EXECUTED or not taken.result.get("code"):
                reason = str(taken.result.get("explanation") or "I couldn't issue that code just now.")
                return Decision(next="reply", reply=f"I'm sorry — {reason}", flow=flow)
            issued = taken.result
            offer = offer | {"code": issued["code"], "expires_at": issued.get("expires_at")}
            reply = line(offer)
            if issued.get("accepted"):  # the merchant's own words for it (validated: no urgency, placeholders known)
                from concierge.offers.catalogue import render

                with contextlib.suppress(ValueError):
                    reply = render(str(issued["accepted"]), {**dict(issued.get("values") or {}), **values})
            return Decision(next="reply", reply=reply, flow={**flow, "context": {**context, "offer": offer}})
        yes = signals.is_affirmative(turn.message.text) and not no
        if offer.get("takes_on_yes") and not offer.get("code") and (yes or asks_code) and offer.get("offer_id"):
            return Decision(
                next="actions", tool_calls=[call("accept_offer", {"offer_id": offer["offer_id"]})], flow=flow
            )
        return None

    @staticmethod
    def _code_sentence(offer: dict[str, Any], where: str) -> str:
        """'Your code is HK-BEANS-3F9A0C1E for 15% off, on the House Espresso Beans: it works once, until 5 June.'"""
        until = ""
        if offer.get("expires_at"):
            until = f", until {datetime.fromisoformat(str(offer['expires_at'])):%-d %B}"
        value = f" for {offer['value']}" if offer.get("value") else ""
        return f"Your code is {offer['code']}{value}{where}: it works once{until}."

    @classmethod
    def _offer_code_line(cls, offer: dict[str, Any], product: str) -> str:
        return cls._code_sentence(offer, f", on the {product}" if product else "")

    @classmethod
    def _code_line(cls, offer: dict[str, Any], items: str, named: bool = True) -> str:
        if not offer.get("code"):
            return f"There's no discount code with this reminder, but your cart still holds {items}."
        return cls._code_sentence(offer, f" on your order of {items}" if named else " on that order")

    def _trial_answer(
        self, turn: ReadyTurn, flow: dict[str, Any], context: dict[str, Any], said: str, no: bool
    ) -> Decision | None:
        if not context.get("plan"):
            return None
        if flow.get("asked_cancel") and self._accepts_handoff(turn.message.text):  # "yes, please do it for me"
            return self.handoff(turn, "customer asked to cancel a trial")
        day = f"{datetime.fromisoformat(str(context['ends_at'])):%A %-d %B}"
        price = f"{money(context['price'], context['currency'])} {TRIAL_PER.get(context.get('interval', ''), '')}"
        link = context.get("manage_url", "")
        if signals.any_phrase(said, TRIAL_CANCEL_WORDS) and not signals.any_phrase(said, TRIAL_KEEP_WORDS):
            # no action cancels a subscription here (docs/journeys.md): the merchant's own page does, or a person
            return Decision(
                next="reply",
                reply=f"I can't cancel it from here, but you can at {link}: cancel before {day} and it won't become "
                f"a paid {context['plan']} subscription. If you'd rather a person did it, say so and I'll pass this "
                "on.",
                flow={**flow, "asked_cancel": True},
            )
        if signals.any_phrase(said, TRIAL_KEEP_WORDS) or (
            signals.is_affirmative(turn.message.text) and not no and not flow.get("asked_cancel")
        ):
            return Decision(
                next="reply",
                reply=f"Then there's nothing to do: from {day} it continues as {context['plan']} at {price.strip()}. "
                f"You can change it any time at {link}.",
                flow={},
                resolved=True,
            )
        if signals.any_phrase(said, TRIAL_PRICE_WORDS):
            return Decision(
                next="reply",
                reply=f"Your free trial ends on {day}. After that, {context['plan']} costs {price.strip()}, unless you "
                f"cancel before then at {link}.",
                flow=flow,
            )
        return None

    def _step_answer(self, flow: dict[str, Any], context: dict[str, Any], said: str, no: bool) -> Decision | None:
        step = context.get("step") or {}
        if not step:
            return None
        named = content_words(step.get("name", "")) & content_words(said)
        if named or signals.any_phrase(said, STEP_HELP_WORDS):
            how = f"It's explained here: {step['help']}" if step.get("help") else "Tell me where you got stuck"
            return Decision(
                next="reply",
                reply=f"{how} — that's for \"{step['name']}\". If something doesn't work as it says, tell me what "
                "you see, or ask for a person.",
                flow=flow,
            )
        if no:
            return Decision(next="reply", reply="No problem. I'm here if you need anything.", flow={}, resolved=True)
        return None

    @staticmethod
    def _journey_outcome(outcome: ActionResult) -> Decision:
        r = outcome.result
        if outcome.status is ActionStatus.EXECUTED and "cancelled" in r:
            reply = "No problem, I'll leave it as it is. Is there anything else I can help with?"
        elif outcome.status is ActionStatus.EXECUTED and r.get("replacement_order_id"):
            reply = (
                f"Done: I've sent order {r.get('order_id')} again as order {r['replacement_order_id']}, at no cost to "
                "you. You'll get its tracking as soon as it ships. Is there anything else I can help with?"
            )
        elif outcome.status is ActionStatus.AWAITING_APPROVAL:  # above the limit: a person decides first
            reply = (
                f"Thanks — I've sent your refund of {money(r['refund_amount'], r['currency'])} to a teammate for "
                f"approval (reference {r['action_id']}). Nothing is refunded until they decide, usually well within "
                f"{r['decision_within_hours']:g} hours, and I'll tell you here as soon as they do."
            )
            return Decision(next="reply", reply=reply, flow={})
        elif outcome.status is ActionStatus.EXECUTED:
            where = r.get("refund_to") or "your original payment method"
            reply = (
                f"Done: I've refunded {money(r['refund_amount'], r['currency'])} to {where}. Is there anything else "
                "I can help with?"
            )
        else:
            explanation = str(r.get("explanation") or "I couldn't do that.")
            return Decision(
                next="reply",
                reply=f"I'm sorry — {explanation} Would you like me to connect you with a teammate?",
                flow={"name": "offer_handoff", "reason": f"journey remedy not possible: {outcome.reason}"},
            )
        return Decision(next="reply", reply=reply, flow={}, resolved=True)

    @classmethod
    def _goes_on(cls, text: str) -> bool:
        """Yes to "is that the one?" — or an answer that takes it as read ("it's too heavy", "just a refund please").
        A resolution refused is not a no to the item ("yes that's the one. no swap thanks, just the refund")."""
        text = choice_text(text)
        if signals.is_negative(text) and not signals.is_affirmative(text):
            return False
        if signals.is_affirmative(text):
            return True
        normalized = signals.normalize(text)
        return (
            bool(cls._fit_reason(text))
            or signals.any_phrase(normalized, RESOLUTION_WORDS)
            or len(normalized.split()) >= 4
        )

    @staticmethod
    def _pushes_back(text: str) -> bool:
        """ "So you're really telling me I'm stuck with it??", "seriously? nothing you can do?": the answer questioned,
        with no new request (no order number, no other item asked for)."""
        normalized = signals.normalize(text)
        return order_reference(text) is None and not request_object(text) and PUSHBACK.search(normalized) is not None

    @staticmethod
    def _accepts_handoff(text: str, explicit: bool = False) -> bool:
        """Yes to "would you like me to connect you?": a request for a person, or a bare yes. Not "yes, that's the
        one" (the item), not "ok, thanks" (an acknowledgement)."""
        normalized = signals.normalize(text)
        if signals.is_negative(text):
            return False
        if signals.any_phrase(
            normalized,
            (
                "connect",
                "person",
                "someone",
                "teammate",
                "team",
                "agent",
                "human",
                "staff",
                "pass it on",
                "pass me",
                "speak to",
                "talk to",
            ),
        ):
            return True
        if explicit:
            return False
        if signals.any_phrase(
            normalized,
            (
                "that one",
                "the one",
                "that order",
                "that is it",
                "that is right",
                "correct",
                "thanks",
                "thank you",
                "ok",
                "okay",
                "understood",
                "got it",
                "fair",
            ),
        ):
            return False
        return signals.is_affirmative(text) and len(normalized.split()) <= 3

    def _miss(self, flow: dict[str, Any], question: str) -> Decision:
        misses = flow.get("misses", 0) + 1
        return Decision(next="reply", reply=question, flow={**flow, "misses": misses})

    def _find_item(self, turn: ReadyTurn, flow: dict[str, Any]) -> Decision:
        """Which item of which order: the customer's own words matched against all their recent orders."""
        found = turn.results_for("find_orders")
        text = own_words(turn.message.text)
        flow = {**flow, "request": flow.get("request") or text}
        if flow.get("reason") is None:
            flow["reason"] = self._fit_reason(text)
        if not found:
            return Decision(next="actions", tool_calls=[call("find_orders", {"limit": ORDER_SEARCH_LIMIT})], flow=flow)
        orders = [o for o in found[-1].result.get("orders", []) if o["status"] != "cancelled"]
        if not orders:
            return Decision(
                next="reply", reply="I can't find any orders on your account that could be returned.", flow={}
            )
        picked = flow.pop("picked", None)
        if picked:
            order = next(o for o in orders if o["order_id"] == picked[0])
            return self._item_chosen(turn, flow, order, next(ln for ln in order["lines"] if ln["line_id"] == picked[1]))
        reference, named = named_order(text, orders)
        if reference and named is None:
            return Decision(
                next="reply",
                flow={},
                reply=(
                    f"I can't find an order {reference} on your account. Could you check the number, or tell me "
                    "which item it is?"
                ),
            )
        if named:
            orders = [named]
        whole = self._whole_order(text, orders, named, flow)
        if whole is not None:
            return self._return_lines(turn, flow, *whole)
        candidates = [(order, line) for order in orders for line in order["lines"]]
        words = self._item_words(text, [line for _, line in candidates])
        match = items_named(words, candidates, exchange=flow.get("wants") == "exchange")
        notes = turn.conversation.notes if turn.conversation else []
        if notes and not named and not any(line_score(text, line) for _, line in candidates):
            # no item of theirs in their words, right after an answer about one ("tried closing the case already,
            # still the same" after the earbuds' pairing steps): the item that answer was about, when it names one
            about = items_named(notes[-1].topic, candidates)
            match = about if about.best else match
        best, have, object_named, latest = match.best, match.have, match.named, match.latest
        if not best and latest:
            orders = orders[:1]
            candidates = [(orders[0], line) for line in orders[0]["lines"]]
        elif not best and not named and not object_named and content_words(have) - FIT_WORDS and self._grounded(turn):
            # "Can I send back a gift card I bought?": nothing of theirs is called that, so it asks about the policy
            # (not "I need to return something from order #1014": that names an order of theirs)
            return self._answer_from_knowledge(turn)
        together = [candidates[i] for i in best]
        if (
            len(together) > 1
            and flow.get("wants") != "exchange"
            and len({o["order_id"] for o, _ in together}) == 1
            and self._each_named_apart(text, [line for _, line in together])
        ):
            # "the gas canisters … can I send them back? and the steel bottle from that order too": both, each named
            # in words of its own; what cannot go back is said so beside the rest (`_return_lines`)
            return self._return_lines(turn, flow, together[0][0], [line for _, line in together])
        if len(best) == 1 or len(candidates) == 1:
            order, line = candidates[best[0] if best else 0]
            # sure: their words name this item of theirs and no other, or they name an order holding only it
            sure = match.unique or (named is not None and len(candidates) == 1)
            return self._item_chosen(turn, flow, order, line, sure=sure)
        # nothing of theirs named ("I want to return something"): what they have received, newest first (a parcel
        # not yet with them cannot go back), else their newest order's items
        received = [o for o in orders if o["status"] == "delivered"] if not named and not latest else []
        unnamed = [(order, line) for order in received or orders[:1] for line in order["lines"]]
        options = ([candidates[i] for i in best] or unnamed)[:6]
        listing = "; ".join(
            f"{i}. {self._label(line)} (order {order['order_id']})" for i, (order, line) in enumerate(options, 1)
        )
        verb = "exchange" if flow.get("wants") == "exchange" else "return"
        keyed = [{**line, "line_key": order["order_id"]} for order, line in options]
        return Decision(
            next="reply",
            reply=f"I can help with that. Which item would you like to {verb}: {listing}?",
            flow={
                **flow,
                "stage": "choose_item",
                "candidates": keyed,
                "orders": {order["order_id"]: self._order_brief(order) for order, _ in options},
            },
        )

    @staticmethod
    def _whole_order(
        text: str, orders: list[dict[str, Any]], named: dict[str, Any] | None, flow: dict[str, Any]
    ) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
        """The order and its lines, when the customer returns a whole order or all of it ("I'd like to return order
        1016", "return order a20918, both items", "send everything from my last order back"): the order they name
        by number or as their last; or the items they name, all of one order, with "both" or "all". None when they
        want an exchange, or name only some of its items ("return order 1016, just the mug")."""
        said = signals.NEGATED_REQUEST.sub(" ", text)
        if flow.get("wants") == "exchange" or asks_exchange(choice_text(said)):
            return None
        if not WHOLE_ORDER.search(said) or ONLY_SOME.search(said):
            return None
        every = ALL_OF_THEM.search(said) is not None
        latest = LATEST_ORDER.search(said)
        if latest and re.search(r"delivery|parcel|package", latest.group(0), re.IGNORECASE):
            # "everything from my last delivery": the newest order that was delivered, not a newer one still to ship
            arrived = [o for o in orders if o.get("delivered_at") or o.get("status") == "delivered"]
            order = named or (arrived[0] if arrived else None)
        else:
            order = named or (orders[0] if orders and latest else None)
        if order is None:
            if not every:
                return None
            candidates = [(o, line) for o in orders for line in o["lines"]]
            best = items_named(text, candidates).best
            held = {candidates[i][0]["order_id"] for i in best}
            if len(best) < 2 or len(held) != 1:  # "return both the hub and the cable": two items of one order
                return None
            return candidates[best[0]][0], [candidates[i][1] for i in best]
        lines = order["lines"]
        best = sorted(set(items_named(text, [(order, line) for line in lines]).best))
        if best and len(best) < len(lines):
            if not every:
                return None  # "return order #501, the grinder is too loud": the grinder
            whole = WHOLE_OF_IT.search(said)
            if whole and (not whole.group(0).lower().startswith("both") or len(lines) == 2):
                return order, lines  # "both things in it, the containers and the glasses": the two, however named
            return order, [lines[i] for i in best]
        return order, lines

    def _return_lines(
        self, turn: ReadyTurn, flow: dict[str, Any], order: dict[str, Any], lines: list[dict[str, Any]]
    ) -> Decision:
        """A refund of these lines of one order, proposed at once (nothing is done before the customer's yes);
        what cannot be returned (final sale, already returned) is left out and said so, and if nothing can, why."""
        proposed = turn.results_for("return_items")
        missing = list(dict.fromkeys(ln["product_id"] for ln in lines if self._product(turn, ln["product_id"]) is None))
        if missing and not proposed:
            return Decision(
                next="actions",
                tool_calls=[call("get_product", {"product_id": pid}, n) for n, pid in enumerate(missing, 1)],
                flow=flow,
            )
        blocked = [(ln, self._not_returnable(turn, order, ln, self._product(turn, ln["product_id"]))) for ln in lines]
        kept = [ln for ln, why in blocked if why is None]
        if not kept:
            why_not = blocked[0][1]
            assert why_not is not None
            return why_not
        left_out = " ".join(
            f"The {self._label(ln)} "
            + ("has already been returned" if ln.get("returned") else "is final sale")
            + ", so it isn't part of this return."
            for ln, why in blocked
            if why is not None
        )
        first = kept[0]
        flow = {
            **flow,
            "stage": "offer",
            "wants": "refund",
            "order_id": order["order_id"],
            "line_id": first["line_id"],
            "line_ids": [ln["line_id"] for ln in kept],
            "product_id": first["product_id"],
            "options": first["options"],
            "item": " and ".join(self._label(ln) for ln in kept),
            "price": str(sum(Decimal(str(ln["unit_price"])) * int(ln.get("quantity", 1)) for ln in kept)),
            "currency": order["currency"],
            "refund_to": order["refund_to"],
            "reason": flow.get("reason") or "other",
            "exchange_options": [],
            "misses": 0,
            "direct": True,
        }
        if proposed:
            decision = self._after_proposal(turn, proposed[-1], flow)
            return decision.model_copy(update={"reply": f"{left_out} {decision.reply}".strip()})
        arguments = {
            "order_id": order["order_id"],
            "line_ids": flow["line_ids"],
            "resolution": "refund",
            "reason": flow["reason"],
        }
        # "store credit is fine by me"; not "I paid with credit" or "the credit from my last return"
        credit = flow.get("store_credit") is True or STORE_CREDIT_SAID.search(turn.message.text) is not None
        flow["store_credit"] = credit
        arguments["refund_to"] = "store_credit" if credit else "original_payment"  # said in the proposal's record
        return Decision(next="actions", tool_calls=[call("return_items", arguments)], flow=flow)

    def _item_chosen(
        self, turn: ReadyTurn, flow: dict[str, Any], order: dict[str, Any], line: dict[str, Any], sure: bool = False
    ) -> Decision:
        """The item is known: read its product (final sale? sized? its variants), then say at once if it cannot
        be returned, or confirm it with the customer. When the customer's words name it and no other (`sure`) and
        say already how to resolve it ("swap it for the moss green one", "refund to my card please"), the proposal
        comes at once: it names the item and the order, and nothing is done until they confirm it."""
        if order["status"] == "pending" and (
            signals.asks_to_cancel(turn.message.text) or signals.unwanted_unsent(turn.message.text)
        ):
            # "please cancel the grinder I ordered yesterday, I got one as a gift", "scrap the kettle, my partner
            # already bought one": a cancellation, not a return
            return self._cancel_item(turn, order, line)
        product = self._product(turn, line["product_id"])
        if product is None:
            flow = {**flow, "stage": "find_item", "picked": [order["order_id"], line["line_id"]]}
            return Decision(
                next="actions", tool_calls=[call("get_product", {"product_id": line["product_id"]})], flow=flow
            )
        beside = self._named_beside(turn.message.text, order, line)
        blocked = self._not_returnable(turn, order, line, product)
        if blocked and product.get("returnable") is False and order["status"] == "delivered" and beside:
            # "the screen protectors … can I send them back? and the usb-c cable from that order too": the other item
            # goes on (and the final-sale one is said so beside it, below), once its product is read
            reading = self._read_products(turn, flow, order, line, beside)
            if reading is not None:
                return reading
            returnable = [
                ln
                for ln in beside
                if (self._product(turn, ln["product_id"]) or {}).get("returnable") is not False
                and not ln.get("returned")
                and self._each_named_apart(turn.message.text, [line, ln])  # asked about, not only mentioned
            ]
            if returnable:
                return self._item_chosen(turn, flow, order, returnable[0], sure=sure)
        if blocked:
            return blocked
        # other items of the order named beside it ("…the dripper, plus the bag of beans"): one that can't be
        # returned is said so now, not left out without a word
        reading = self._read_products(turn, flow, order, line, beside)
        if reading is not None:
            return reading
        final_sale = " ".join(
            f"The {self._label(ln)} is final sale, so it can't be returned."
            for ln in beside
            if (self._product(turn, ln["product_id"]) or {}).get("returnable") is False
        )
        asked, unavailable = requested_variant(product, line["options"], flow.get("request", ""))
        confirmed = self._confirm_item(flow, order, line, product)
        if final_sale:
            confirmed = confirmed.model_copy(update={"reply": f"{final_sale} {confirmed.reply}"})
        if unavailable is not None and asked is None:  # what they asked for is sold out: say so before anything else
            return self._offer(turn, {**confirmed.flow, "reason": flow.get("reason") or "other", "stage": "offer"})
        said = choice_text(flow.get("request", ""))
        # how to resolve it, in their own words: a variant named, an exchange or a refund asked for (not only read)
        resolution_said = (
            asked is not None
            or asks_exchange(said)
            or signals.any_phrase(said, REFUND_OBJECTS)
            or STORE_CREDIT_SAID.search(flow.get("request", "")) is not None  # "…return mine, store credit is fine"
        )
        if sure and resolution_said:
            at_once = self._after_item_confirmed(turn, {**confirmed.flow, "direct": True})
            proposing = any(c.tool == "return_items" for c in at_once.tool_calls) or turn.results_for("return_items")
            if proposing:
                if final_sale and at_once.next == "reply":  # the final-sale item named beside it is said so here too
                    at_once = at_once.model_copy(update={"reply": f"{final_sale} {at_once.reply}"})
                return at_once
        return confirmed

    def _read_products(
        self,
        turn: ReadyTurn,
        flow: dict[str, Any],
        order: dict[str, Any],
        line: dict[str, Any],
        lines: list[dict[str, Any]],
    ) -> Decision | None:
        """The product reads the items named beside `line` still need, in one round, coming back to `line`
        (`picked`); None when every one has been read."""
        unread = list(dict.fromkeys(ln["product_id"] for ln in lines if self._product(turn, ln["product_id"]) is None))
        if not unread:
            return None
        flow = {**flow, "stage": "find_item", "picked": [order["order_id"], line["line_id"]]}
        calls = [call("get_product", {"product_id": pid}, n) for n, pid in enumerate(unread, 1)]
        return Decision(next="actions", tool_calls=calls, flow=flow)

    @staticmethod
    def _item_words(text: str, lines: list[dict[str, Any]]) -> str:
        """The words that name the item to return: the return request's own, when the message also asks something
        else ("Any update on my head torch? Also if I end up not liking the gas canisters, can I send them back?"
        returns the canisters, not the torch); the whole message when it makes one request, or when the request
        names none of the customer's items in words of its own ("my keyboard is the nordic one. can I swap it?")."""
        readings = signals.readings(text)
        asked = [part for intent, part in readings if intent in ("return", "exchange")]
        if len(asked) != 1 or not any(intent == "track" for intent, _ in readings):
            return text
        return asked[0] if any(line_score(asked[0], line) for line in lines) else text

    @staticmethod
    def _each_named_apart(text: str, lines: list[dict[str, Any]]) -> bool:
        """Whether the customer asks about each of these items in a request of its own, naming it by a word no other
        of them has: "can I send the canisters back? and the bottle from that order too" asks about two items; "the
        screen protector that came with my cable has a bubble" about one (the cable only says which protector);
        "the glass one" beside two glass items names neither apart."""
        words = [content_words(line_text(ln)) for ln in lines]
        own = [w - set().union(*(other for j, other in enumerate(words) if j != i)) for i, w in enumerate(words)]
        # a request of its own: read as a return or exchange, or joined to one ("and the bottle from that order
        # too"); not a remark beside it ("I love the steel bottle though", "does the bottle keep drinks cold?")
        requests = [
            part
            for part in signals.clauses(text) or [text]
            if signals.classify(part)[0] in ("return", "exchange") or JOINED.search(part)
        ]
        parts = [content_words(part) for part in requests]
        if any(DeterministicEngine._listed(part, own) for part in requests):
            return True
        return all(
            any(said & own[i] and not any(said & own[j] for j in range(len(own)) if j != i) for said in parts)
            for i in range(len(own))
        )

    @staticmethod
    def _listed(part: str, own: list[set[str]]) -> bool:
        """One request listing the items one after another ("return the power bank and the charging cable"): each
        named by a word of its own, with "and", a comma or "&" between one and the next; not one item described by
        another ("the screen protector that came with my cable")."""
        lowered = part.lower()
        places = []
        for words in own:
            found = [m.start() for w in words for m in re.finditer(rf"\b{re.escape(w)}", lowered)]
            if not found:
                return False
            places.append((min(found), max(found)))
        places.sort()
        return all(
            LIST_JOIN.search(lowered[first[1] : second[0]]) is not None for first, second in itertools.pairwise(places)
        )

    @staticmethod
    def _named_beside(text: str, order: dict[str, Any], line: dict[str, Any]) -> list[dict[str, Any]]:
        """The order's other items the customer's words name beside the one chosen: named by words of their own, not
        only by what they share with it ("glass")."""
        words_said = content_words(text)
        chosen_words = content_words(line_text(line))
        return [
            ln
            for ln in order["lines"]
            if ln["line_id"] != line["line_id"]
            and line_score(text, ln) >= 2
            and words_said & (content_words(line_text(ln)) - chosen_words)
        ]

    def _cancel_item(self, turn: ReadyTurn, order: dict[str, Any], line: dict[str, Any]) -> Decision:
        """Cancel the item of an order not yet shipped: the order, when it is all the order holds (or the order
        itself is what they cancel), else the item taken off it; proposed, and done only on the customer's yes."""
        if turn.results_for("cancel_order"):
            return self._cancel_flow(turn, {"name": "cancel", "stage": "find"})
        if turn.results_for("modify_order"):
            return self._address_flow(turn, {"name": "address", "remove": True})
        text = turn.message.text
        return self._remove_items(turn, {"name": "address", "remove": True, "request": text}, order, text, line)

    @staticmethod
    def _product(turn: ReadyTurn, product_id: str) -> dict[str, Any] | None:
        for result in reversed(turn.results_for("get_product")):
            if result.status is ActionStatus.EXECUTED and result.result.get("id") == product_id:
                return result.result
        return None

    def _not_returnable(
        self, turn: ReadyTurn, order: dict[str, Any], line: dict[str, Any], product: dict[str, Any] | None = None
    ) -> Decision | None:
        """Say at once why an item cannot be returned, rather than after three more questions. The action layer's
        policy still decides; this only spares the customer a dead-end conversation."""
        item = self._label(line)
        if product is not None and product.get("returnable") is False:
            # final sale is said first: "you can return it once it's delivered" would promise what the policy refuses
            arrived = "arrived" if order["status"] == "delivered" else "arrives"
            return Decision(
                next="reply",
                reply=(
                    f"The {item} from order {order['order_id']} is final sale, so it can't be returned or exchanged. "
                    f"If it {arrived} damaged or faulty, tell me and I'll pass it to a member of our team. Is there "
                    "anything else I can help with?"
                ),
                flow={
                    "name": "offer_handoff",
                    "reason": "final-sale item reported damaged or faulty",
                    "explicit": True,
                    "final_sale": item,
                },
            )
        if order["status"] in ("pending", "shipped"):
            state = "hasn't shipped yet" if order["status"] == "pending" else "is still on its way"
            return Decision(
                next="reply",
                reply=(
                    f"Your order {order['order_id']} with the {item} {state}, so it can't be returned yet. Once it's "
                    f"delivered you can return it {self.profile.return_window_phrase()}. Would you like me to check "
                    "where it is?"
                ),
                flow={"name": "offer_tracking", "order_id": order["order_id"]},
            )
        if line.get("returned"):
            return Decision(
                next="reply",
                reply=(
                    f"Our records show the {item} from order {order['order_id']} has already been returned, so "
                    "there's nothing more to do for that one. Is there anything else I can help with?"
                ),
                flow={},
            )
        delivered = order.get("delivered_at")
        if delivered:
            age = turn.message.received_at - datetime.fromisoformat(delivered)
            if age > timedelta(days=self.return_window_days):
                return Decision(
                    next="reply",
                    reply=(
                        f"The {item} from order {order['order_id']} was delivered on {day(delivered)}, more than "
                        f"{self.return_window_days} days ago, so it's outside our return window. "
                        + (
                            f"{self.profile.warranty} If it's faulty, tell me and I'll pass it to a member of our "
                            "team to start a warranty claim."
                            if self.profile.warranty
                            else "If something is wrong with it, tell me and I'll pass it to a member of our team."
                        )
                        + " Is there anything else I can help with?"
                    ),
                    flow={"name": "offer_handoff", "reason": "return outside the window", "explicit": True},
                )
        return None

    @staticmethod
    def _order_brief(order: dict[str, Any]) -> dict[str, Any]:
        return {k: order[k] for k in ("order_id", "delivered_at", "currency", "refund_to", "status")}

    @staticmethod
    def _label(line: dict[str, Any]) -> str:
        options = ", ".join(f"{v}" for v in line["options"].values())
        return f"{line['title']} ({options})" if options else line["title"]

    def _confirm_item(
        self, flow: dict[str, Any], order: dict[str, Any], line: dict[str, Any], product: dict[str, Any]
    ) -> Decision:
        item = self._label(line)
        flow = {
            **flow,
            "stage": "confirm_item",
            "order_id": order["order_id"],
            "line_id": line["line_id"],
            "product_id": line["product_id"],
            "options": line["options"],
            "item": item,
            "price": line["unit_price"],
            "currency": order["currency"],
            "refund_to": order["refund_to"],
            "sized": self.profile.is_sized(product.get("category")),
            "misses": 0,
        }
        for key in ("candidates", "orders", "order"):
            flow.pop(key, None)
        delivered = f", delivered on {day(order['delivered_at'])}" if order.get("delivered_at") else ""
        verb = "exchange" if flow.get("wants") == "exchange" else "return"
        return Decision(
            next="reply",
            reply=(
                f"I found it: the {item} from your order {order['order_id']}{delivered} "
                f"({money(line['unit_price'], order['currency'])}). Is that the one you'd like to {verb}?"
            ),
            flow=flow,
        )

    def _after_item_confirmed(self, turn: ReadyTurn, flow: dict[str, Any]) -> Decision:
        """A fit question only for what the merchant sizes, and only if the customer has not said already."""
        if flow.get("reason") or not flow.get("sized") or not self.profile.exchanges.allowed:
            return self._offer(turn, {**flow, "reason": flow.get("reason") or "other", "stage": "offer"})
        return Decision(
            next="reply",
            reply="Thanks. How did it fit — too small, too large, or is something else wrong with it?",
            flow={**flow, "stage": "ask_fit", "misses": 0},
        )

    def _choose_other(self, flow: dict[str, Any]) -> Decision:
        return Decision(
            next="reply",
            reply="No problem. Which item do you mean? You can describe it or give the order number.",
            flow={"name": "return", "stage": "find_item", "wants": flow.get("wants"), "misses": flow.get("misses", 0)},
        )

    @staticmethod
    def _fit_reason(text: str) -> str | None:
        """What is wrong with the item, in the customer's words; not what they want instead ("swap it for the big
        green one" says nothing is too big), though a comparative there still does ("for a bigger one")."""
        lowered = NEGATED_FAULT.sub(" ", signals.normalize(text))  # "it's not even broken, it's just ugly": no fault
        compared = SIZE_COMPARED.search(lowered)  # "it's smaller than I thought": too small, not "a smaller one"
        if compared:
            return "too_small" if compared.group(1) in ("smaller", "shorter", "tighter") else "too_large"
        for words, skipped in ((EXCHANGE_TARGET.sub(" ", lowered), ()), (lowered, PLAIN_SIZE_WORDS)):
            for reason, phrases in FIT_REASONS:
                if any(re.search(rf"\b{re.escape(p)}\b", words) for p in phrases if p not in skipped):
                    return reason
        return None

    def _offer(self, turn: ReadyTurn, flow: dict[str, Any]) -> Decision:
        """Refund, or an exchange for an in-stock variant of the same product: the one the customer asked for, the
        next size for a fit problem, the same variant for a damaged one, else the variants in stock."""
        product = self._product(turn, flow["product_id"])
        if product is None:
            return Decision(
                next="actions", tool_calls=[call("get_product", {"product_id": flow["product_id"]})], flow=flow
            )
        refund = f"refund {money(flow['price'], flow['currency'])} to {flow['refund_to']}"
        sorry = SORRY.get(flow["reason"], "Thanks for letting me know.")
        flow = {**flow, "misses": 0, "exchange_options": []}
        if asks_credit(flow.get("request", "")):  # "…for store credit": the refund they will choose is paid as credit
            flow["store_credit"] = True
        if not self.profile.exchanges.allowed:
            return Decision(
                next="reply", reply=f"{sorry} I can {refund}{self.profile.refund_eta()}. Shall I do that?", flow=flow
            )
        asked, unavailable = requested_variant(product, flow["options"], flow.get("request", ""))
        options = [asked] if asked else self._alternatives(product, flow["options"], flow["reason"])
        # What is offered comes first (and is what is listed); any other variant in stock can still be chosen by name.
        others = [
            v
            for v in product.get("variants", [])
            if v["stock"] > 0 and v["options"] != flow["options"] and v not in options
        ]
        labels = self._labels(options, flow["options"])
        flow["exchange_options"] = [
            {"sku": v["sku"], "options": v["options"], "label": label}
            for v, label in zip([*options, *others], [*labels, *self._labels(others, flow["options"])], strict=True)
        ]
        flow["shown"] = len(options)
        said = choice_text(flow.get("request", ""))
        # a refund asked for in their own words, and no exchange, is a refund whatever the first reading was; store
        # credit asked for is a refund too ("can I get store credit instead of a refund?")
        refund_only = flow.get("store_credit") is True or (
            signals.any_phrase(said, REFUND_WORDS) and not asks_exchange(said)
        )
        wants_exchange = (flow.get("wants") == "exchange" and not refund_only) or asks_exchange(said)
        replacement = len(options) == 1 and options[0]["options"] == flow["options"]  # the same again, for a fault
        if (asked or replacement) and wants_exchange and not unavailable:
            # they named what they want, or asked for a new one when only the same one can be sent:
            # propose exactly that
            return self._choose_resolution(
                turn, {**flow, "stage": "offer"}, f"exchange {flow['exchange_options'][0]['label']}"
            )
        if refund_only:
            return self._choose_resolution(turn, {**flow, "stage": "offer"}, "refund")
        note = f" {self.profile.exchanges.note}" if self.profile.exchanges.note else ""
        lead = f"{sorry} "
        if unavailable:
            lead = (
                f"I found your {flow['item']} from order {flow['order_id']}, but the "
                f"{self._variant_label(unavailable, flow['options'])} is out of stock right now. "
            )
        shown = flow["exchange_options"][: len(options)]
        if replacement:
            reply = (
                f"{lead}I can {refund}, or send you a replacement {flow['item']}, which is in stock. "
                "Which would you prefer?"
            )
        elif len(options) == 1:
            label = flow["exchange_options"][0]["label"]
            reply = (
                f"{lead}I can {refund}, or exchange it for the {label}, which is in stock.{note} "
                "Which would you prefer?"
            )
        elif options:
            listing = alternatives([o["label"] for o in shown])
            reply = (
                f"{lead}I can {refund}, or exchange it for the {listing} (all in stock).{note} Which would you prefer?"
            )
        else:
            what = self._other_variants_phrase(product, flow["options"], flow["reason"])
            # "…the 28 cm is out of stock right now. Another diameter isn't in stock either, …"
            reply = f"{lead}{what} isn't in stock {'either' if unavailable else 'right now'}, but I can {refund}. "
            reply += "Shall I do that?"
        moment = None
        if unavailable and options:  # the variant they want is sold out, another is in stock: an offer moment
            wanted = self._variant_label(unavailable, flow["options"])
            offered = flow["exchange_options"]
            moment = self._declined(
                moments.variant_out_of_stock(product, flow, wanted, offered, unavailable["options"]), flow
            )
        return Decision(next="reply", reply=reply, flow=flow, moment=moment)

    @classmethod
    def _labels(cls, variants: list[dict[str, Any]], current: dict[str, Any]) -> list[str]:
        """Labels that tell the variants apart: what differs from the customer's, or everything when that repeats."""
        short = [cls._variant_label(v, current) for v in variants]
        return short if len(set(short)) == len(short) else [", ".join(v["options"].values()) for v in variants]

    @staticmethod
    def _variant_label(variant: dict[str, Any], current: dict[str, Any]) -> str:
        """What sets a variant apart from the one the customer has ("Green", "1 L"), else all its options."""
        differing = [v for k, v in variant["options"].items() if current.get(k) != v]
        return ", ".join(differing or list(variant["options"].values()))

    @staticmethod
    def _size_key(options: dict[str, Any]) -> str | None:
        for key, value in options.items():
            if key.lower() in SIZE_OPTIONS or str(value).upper() in SIZE_ORDER:
                return key
        return None

    @classmethod
    def _other_variants_phrase(cls, product: dict[str, Any], options: dict[str, Any], reason: str) -> str:
        key = cls._size_key(options) if reason in ("too_small", "too_large") else None
        if key:
            return f"Another {key.lower()}"
        names = sorted(
            {k.lower() for v in product.get("variants", []) for k in v["options"] if v["options"] != options}
        )
        return f"Another {' or '.join(names)}" if names else "A replacement"

    @classmethod
    def _alternatives(cls, product: dict[str, Any], options: dict[str, Any], reason: str) -> list[dict[str, Any]]:
        in_stock = [v for v in product.get("variants", []) if v["stock"] > 0]
        key = cls._size_key(options)
        if key is None and reason in ("too_small", "too_large"):
            # no size, but an amount: a mug's "350 ml", a pan's "24 cm", a drive's "1 TB"
            key = next((k for k, v in options.items() if amount_of(str(v)) is not None), None)
        if reason in ("too_small", "too_large") and key:
            size = options[key]  # key is one of options' own keys
            same_rest = [
                v for v in in_stock if all(v["options"].get(k) == val for k, val in options.items() if k != key)
            ]

            def rank(variant: dict[str, Any]) -> float:
                other = variant["options"].get(key, "")
                if str(size).upper() in SIZE_ORDER and str(other).upper() in SIZE_ORDER:
                    return SIZE_ORDER.index(str(other).upper()) - SIZE_ORDER.index(str(size).upper())
                mine, theirs = amount_of(str(size)), amount_of(str(other))
                return theirs - mine if mine is not None and theirs is not None else 0.0

            if reason == "too_small":
                bigger = sorted((v for v in same_rest if rank(v) > 0), key=rank)
                return bigger[:1]
            smaller = sorted((v for v in same_rest if rank(v) < 0), key=rank, reverse=True)
            return smaller[:1]
        if reason == "damaged":
            same = [v for v in in_stock if v["options"] == options]
            return same[:1]
        if reason in ("too_small", "too_large"):
            return []
        return [v for v in in_stock if v["options"] != options][:3]

    def _choose_resolution(self, turn: ReadyTurn, flow: dict[str, Any], said: str | None = None) -> Decision:
        proposed = turn.results_for("return_items")
        if proposed:
            return self._after_proposal(turn, proposed[-1], flow)
        text = said or turn.message.text
        normalized = choice_text(text)
        offered = flow.get("exchange_options") or []
        shown = offered[: flow.get("shown", len(offered))]
        chosen: dict[str, Any] | None = None
        if offered:  # any variant in stock, named by what sets it apart ("the moss one, 350 ml")
            product = {
                "variants": [
                    {"sku": o["sku"], "options": o.get("options") or {"choice": o["label"]}, "stock": 1}
                    for o in offered
                ]
            }
            asked, _ = requested_variant(product, flow.get("options", {}), text)
            chosen = next((o for o in offered if asked and o["sku"] == asked["sku"]), None)
            if signals.any_phrase(normalized, REFUND_WORDS) and not asks_exchange(normalized):
                chosen = None  # "the green was the whole point. just refund the mug then": a refund, not the green
            if chosen is None and len(shown) > 1:
                pick = pick_choice(text, len(shown))
                chosen = shown[pick] if pick is not None else None
        credit = flow.get("store_credit") is True or asks_credit(text)
        if credit:  # "store credit instead, please": the refund, paid as credit (not the "instead" of an exchange)
            chosen = None
        wants_exchange = not credit and bool(offered) and (chosen is not None or asks_exchange(normalized))
        # a bare "yes" to a refund offered instead of the exchange they came for is not a choice: they say "refund"
        wants_refund = (
            credit
            or signals.any_phrase(normalized, REFUND_WORDS)
            or (not offered and signals.is_affirmative(text) and flow.get("wants") != "exchange")
        )
        if wants_exchange and chosen is None and len(shown) == 1:
            chosen = shown[0]
        if wants_exchange and chosen is None:
            return self._miss(
                flow, f"Which one would you like instead: {alternatives([o['label'] for o in shown or offered])}?"
            )
        if wants_exchange == wants_refund:
            if signals.is_negative(text):
                return Decision(
                    next="reply",
                    reply="No problem, I won't change anything. Is there anything else I can help with?",
                    flow={},
                )
            if not offered:
                return self._miss(flow, "Would you like the refund, or would you rather keep it?")
            return self._miss(flow, "Would you like the refund, or the exchange?")
        arguments = {
            "order_id": flow["order_id"],
            "line_ids": [flow["line_id"]] if wants_exchange else flow.get("line_ids") or [flow["line_id"]],
            "resolution": "exchange" if wants_exchange else "refund",
            "reason": flow["reason"],
        }
        if wants_exchange:
            assert chosen is not None  # an exchange without a choice was asked about above
            arguments["exchange_sku"] = chosen["sku"]
        else:
            arguments["refund_to"] = "store_credit" if credit else "original_payment"
        return Decision(next="actions", tool_calls=[call("return_items", arguments)], flow=flow)

    def _after_proposal(self, turn: ReadyTurn, result: ActionResult, flow: dict[str, Any]) -> Decision:
        """The proposal in words, or why it cannot be made. Made at once from the customer's first words (`direct`),
        it opens with a word of sympathy for what they said is wrong."""
        lead = self._sympathy(turn, flow) if flow.get("direct") else ""
        flow = {k: v for k, v in flow.items() if k != "direct"}
        if result.status is not ActionStatus.PENDING_CONFIRMATION:
            explanation = result.result.get("explanation", "I can't process that return.")
            return Decision(
                next="reply",
                reply=f"I'm sorry — {explanation} Would you like me to connect you with a teammate?",
                flow={"name": "offer_handoff", "reason": f"action not possible: {result.reason or 'denied'}"},
            )
        effect = result.result
        moment = None
        if effect["resolution"] == "refund":
            items = effect["items"]
            named = " and the ".join(items) if len(items) <= 2 else ", the ".join(items[:-1]) + " and the " + items[-1]
            bonus = Decimal(effect.get("credit_bonus") or "0")
            refund = Decimal(effect["refund_amount"])
            if effect.get("store_credit") and bonus > 0:
                what = (
                    f"add {money(refund + bonus, effect['currency'])} of store credit to your account for the {named} "
                    f"from order {effect['order_id']} (the {money(refund, effect['currency'])} refund plus a "
                    f"{money(bonus, effect['currency'])} bonus)"
                )
            else:
                what = (
                    f"refund {money(refund, effect['currency'])} to {effect['refund_to']} for the {named}"
                    f" from order {effect['order_id']}"
                )
            # a refund about to be confirmed: the return moment (the retention offer, if the shop has one)
            moment = self._declined(moments.return_requested(effect, flow.get("product_id")), flow)
        else:
            what = (
                f"send you a replacement {effect['exchange_item']}"
                if effect["exchange_item"] == effect["items"][0]
                else f"send you the {effect['exchange_item']} in exchange for the {effect['items'][0]}"
            )
            what += f" from order {effect['order_id']}"
            difference = Decimal(effect["price_difference"])
            if difference > 0:
                what += f" (a difference of {money(difference, effect['currency'])})"
            elif difference < 0:
                what += f" (with {money(-difference, effect['currency'])} back to you)"
        if effect.get("requires_approval"):
            reply = (
                f"Refunds of this size need a teammate's approval. If you confirm, I'll send a request to "
                f"{what} for approval; you'll hear back here as soon as they decide. Shall I send it?"
            )
        else:
            reply = f"To confirm: I'll {what}{self.profile.return_wording.proposal}. Shall I go ahead?"
        return Decision(
            next="reply",
            reply=f"{lead}{reply}",
            flow={
                **flow,
                "stage": "confirm_action",
                "action_id": result.action_id,
                "misses": 0,
                "resolution": effect["resolution"],
                "store_credit": bool(effect.get("store_credit")),
            },
            moment=moment,
        )

    @staticmethod
    def _declined(moment: moments.OfferMomentHint | None, flow: dict[str, Any]) -> moments.OfferMomentHint | None:
        """The moment, marked declined when the request's earlier words already turned an offer's kind down ("just the
        money back, no store credit"); the actions function checks the message of the moment itself."""
        if moment is not None and moments.declines(flow.get("request", "")):
            return moment.model_copy(update={"declined": True})
        return moment

    @staticmethod
    def _sympathy(turn: ReadyTurn, flow: dict[str, Any]) -> str:
        said = SORRY.get(flow.get("reason") or "")
        if said:
            return f"{said} "
        if turn.signals.sentiment <= SYMPATHY_SENTIMENT:
            return "I'm sorry about that. "
        return ""

    def _confirm_action(self, turn: ReadyTurn, flow: dict[str, Any]) -> Decision:
        switched = self._to_store_credit(turn, flow) or self._other_resolution(turn, flow)
        if switched is not None:
            return switched
        confirmed = (
            turn.results_for("return_items") + turn.results_for("confirm_action") + turn.results_for("cancel_action")
        )
        if confirmed:
            outcome = confirmed[-1]
            if outcome.status is ActionStatus.EXECUTED and "cancelled" in outcome.result:
                return Decision(
                    next="reply",
                    reply="No problem, I've cancelled that. Is there anything else I can help with?",
                    flow={},
                )
            if outcome.status is ActionStatus.AWAITING_APPROVAL:
                r = outcome.result
                return Decision(
                    next="reply",
                    reply=(
                        f"Thanks — I've sent your refund of {money(r['refund_amount'], r['currency'])} to a teammate "
                        f"for approval (reference {r['action_id']}). Nothing is charged or refunded until they decide, "
                        f"usually well within {r['decision_within_hours']:g} hours, and I'll tell you here as soon as "
                        "they do. "
                        "Is there anything else I can help with?"
                    ),
                    flow={},
                )
            if outcome.status is ActionStatus.EXECUTED:
                r = outcome.result
                bonus = Decimal(r.get("credit_bonus") or "0")
                if r["resolution"] == "refund" and r.get("store_credit"):
                    credit = money(Decimal(r["refund_amount"]) + bonus, r["currency"])
                    extra = f", {money(bonus, r['currency'])} of it a bonus" if bonus > 0 else ""
                    done = f"Done — your return {r['return_id']} is processed and {credit} of store credit is on " + (
                        f"your account{extra}, ready for your next order."
                    )
                elif r["resolution"] == "refund":
                    done = (
                        f"Done — your return {r['return_id']} is processed and your refund of "
                        f"{money(r['refund_amount'], r['currency'])} is on its way to "
                        f"{r['refund_to']}{self.profile.refund_eta()}."
                    )
                else:
                    done = f"Done — your exchange is placed: the {r['exchange_item']} is ordered for you."
                how = r.get("how_to_return") or self.profile.return_method_sentence(r["email"]["to"])
                reply = f"{done} {how} Is there anything else I can help with?"
                return Decision(next="reply", reply=reply, flow={}, resolved=True)
            explanation = outcome.result.get("explanation", "that didn't go through.")
            return Decision(
                next="reply",
                reply=f"I'm sorry — {explanation} Would you like me to connect you with a teammate?",
                flow={
                    "name": "offer_handoff",
                    "reason": f"action not possible: {outcome.reason or outcome.status.value}",
                },
            )
        text = turn.message.text
        pending = flow.get("resolution")
        said = choice_text(text)
        contradicts = (
            pending == "refund"
            and signals.any_phrase(said, EXCHANGE_WORDS)
            and not signals.any_phrase(said, REFUND_WORDS)
        ) or (
            # "my money back instead": "instead" asks for no exchange beside refund words ("refund the difference" is
            # the exchange's own price difference)
            pending == "exchange"
            and signals.any_phrase(DIFFERENCE_BACK.sub(" ", said), REFUND_WORDS)
            and not asks_exchange(said)
        )
        if contradicts:  # "yes, send the replacement" to a refund: nothing runs until it is clear
            what, other = ("refund", "replacement") if pending == "refund" else ("exchange", "refund")
            return self._miss(
                {**flow, "stage": "offer"},
                f"Just to be sure — what I've prepared is a{'n' if what == 'exchange' else ''} {what}. Shall I go "
                f"ahead with the {what}, or would you rather have the {other}?",
            )
        # "swap it, I don't want my money back" to an exchange: refusing the other resolution is not a no to this one
        refused = REFUND_OBJECTS if pending == "exchange" else EXCHANGE_OBJECTS if pending == "refund" else ()
        answer = REFUSED.sub(
            lambda m: " " if m.group(3).lower() in refused else m.group(0),
            refusal_words(refusals_aside(text, flow.get("item"))),
        )
        unclear = "Shall I go ahead with that? A yes or no is fine."
        kept = signals.any_phrase(signals.normalize(answer), KEEP_IT)
        if not kept and self._names_pending(text, answer, flow):
            # "no thanks, just the refund to my card": the no turns down what was offered beside the proposal (store
            # credit, another size), and the resolution it names is the one proposed: a yes to it
            return Decision(
                next="actions", tool_calls=[call("confirm_action", {"action_id": flow["action_id"]})], flow=flow
            )
        offered = bool(turn.conversation.offers_presented)
        mine = REFUND_OBJECTS if pending == "refund" else EXCHANGE_OBJECTS if pending == "exchange" else ()
        refuses_it = any(m.group(3).lower() in mine for m in REFUSED.finditer(signals.normalize(answer)))
        if (
            offered
            and not kept
            and not refuses_it
            and signals.is_negative(answer)
            and not signals.is_affirmative(answer)
        ):
            # a bare "no thanks" after an offer shown beside the proposal may turn down either: nothing is withdrawn
            # on a guess, the customer is asked
            return self._miss(
                flow,
                f"No problem. Just to be sure: shall I still go ahead with the {pending or 'change'} I proposed, "
                "or leave everything as it is?",
            )
        return self._settle_pending(answer, flow) or self._miss(flow, unclear)

    @staticmethod
    def _names_pending(text: str, answer: str, flow: dict[str, Any]) -> bool:
        """The answer asks for the resolution proposed, as proposed, and for nothing else ("just the refund please",
        "no, the swap is what I want"); refusing it ("no refund") names nothing, nor does a question about it ("will
        the refund go to my card?"): only a choice stands for a yes."""
        if "?" in text or signals.QUESTION_WORD.search(answer):  # `answer`: the customer's `text`, normalized
            return False
        said = choice_text(answer)
        refund, exchange, credit = signals.any_phrase(said, REFUND_WORDS), asks_exchange(said), asks_credit(answer)
        if flow.get("resolution") == "refund" and flow.get("store_credit"):
            return credit and not exchange  # a refund as store credit is named as credit, never as "to my card"
        if flow.get("resolution") == "refund":
            return refund and not exchange and not credit
        if flow.get("resolution") == "exchange":
            return exchange and not refund and not credit
        return False

    def _to_store_credit(self, turn: ReadyTurn, flow: dict[str, Any]) -> Decision | None:
        """ "Could I have it as store credit instead?" to a refund proposed to the original payment: that proposal is
        withdrawn and the same refund proposed as store credit (with any bonus a return offer presented in this
        conversation adds, which the action layer works out), in one reply; it too waits for the customer's yes."""
        if flow.get("resolution") != "refund" or flow.get("store_credit") or not flow.get("action_id"):
            return None
        if not asks_credit(turn.message.text):
            return None
        if not turn.results_for("cancel_action"):
            return Decision(
                next="actions", tool_calls=[call("cancel_action", {"action_id": flow["action_id"]})], flow=flow
            )
        offer = {k: v for k, v in flow.items() if k not in ("action_id", "resolution")}
        return self._choose_resolution(turn, {**offer, "stage": "offer", "misses": 0, "store_credit": True}, "refund")

    def _other_resolution(self, turn: ReadyTurn, flow: dict[str, Any]) -> Decision | None:
        """ "Forget the swap, let's just send it back and get my money back instead": the resolution proposed is
        refused and the other asked for, so the proposal is withdrawn and the other one proposed, in one reply (it
        too waits for the customer's yes). A yes that names the other one is only asked about (`_confirm_action`)."""
        pending = flow.get("resolution")
        if pending not in ("refund", "exchange") or not flow.get("action_id"):
            return None
        text = turn.message.text
        said = choice_text(text)
        mine, theirs = (REFUND_OBJECTS, EXCHANGE_OBJECTS) if pending == "refund" else (EXCHANGE_OBJECTS, REFUND_OBJECTS)
        refused = [m.group(3).lower() for m in REFUSED.finditer(refusal_words(text))]
        refuses = (
            any(r in mine for r in refused)
            or (signals.is_negative(text) and not any(r in theirs for r in refused))
            # "Actually, wait. Could I swap it for the bigger one instead?": the other asked for in place of it
            or (TURNS_AROUND.search(text) is not None and not any(r in theirs for r in refused))
        )
        if pending == "refund":
            wants_other = asks_exchange(said) and not signals.any_phrase(said, REFUND_WORDS)
        else:
            wants_other = signals.any_phrase(DIFFERENCE_BACK.sub(" ", said), REFUND_WORDS) and not asks_exchange(said)
        if not (refuses and wants_other):
            return None
        if not turn.results_for("cancel_action"):
            return Decision(
                next="actions", tool_calls=[call("cancel_action", {"action_id": flow["action_id"]})], flow=flow
            )
        offer = {k: v for k, v in flow.items() if k not in ("action_id", "resolution")}
        return self._choose_resolution(
            turn, {**offer, "stage": "offer", "misses": 0}, "refund" if pending == "exchange" else text
        )

    @staticmethod
    def _settled(turn: ReadyTurn, tool: str) -> ActionResult | None:
        """The outcome of the customer's answer to a proposed `tool` (confirmed, withdrawn or refused), if any."""
        done = [
            r
            for r in turn.results
            if r.tool in (tool, "confirm_action", "cancel_action") and r.status is not ActionStatus.PENDING_CONFIRMATION
        ]
        return done[-1] if done else None

    @staticmethod
    def _settle_pending(text: str, flow: dict[str, Any]) -> Decision | None:
        """The customer's answer to "shall I go ahead?": confirm the pending action, withdraw it, or None if unclear.
        "OK, I'll just keep it" withdraws it, whatever "OK" says."""
        if signals.any_phrase(signals.normalize(text), KEEP_IT):
            return Decision(
                next="actions", tool_calls=[call("cancel_action", {"action_id": flow["action_id"]})], flow=flow
            )
        if signals.is_affirmative(text) and not signals.is_negative(text):
            return Decision(
                next="actions", tool_calls=[call("confirm_action", {"action_id": flow["action_id"]})], flow=flow
            )
        if signals.is_negative(text):
            return Decision(
                next="actions", tool_calls=[call("cancel_action", {"action_id": flow["action_id"]})], flow=flow
            )
        return None

    # cancellation ------------------------------------------------------------------------
    def _cancel_flow(self, turn: ReadyTurn, flow: dict[str, Any]) -> Decision:
        """Find the order (named by id, by item, or the only one not yet shipped), propose the cancellation, and
        carry it out only when the customer confirms it. An id that is not one of the customer's orders goes to the
        action layer as written, which refuses it: another order is never cancelled in its place."""
        text = own_words(turn.message.text)
        if flow.get("stage") == "confirm":
            outcome = self._settled(turn, "cancel_order")
            another = OTHER_ONE.search(re.split(r"\bkeep\b", text, maxsplit=1, flags=re.IGNORECASE)[0]) is not None
            if outcome:
                if outcome.status is ActionStatus.EXECUTED and outcome.result.get("cancelled") is True:
                    r = outcome.result
                    paid = (
                        f" {self.profile.cancellation_payment}"
                        if self.profile.cancellation_payment
                        else f" Any payment taken for it goes back to {r['refund_to']}{self.profile.refund_eta()}."
                        if r.get("refund_to")
                        else ""
                    )
                    return Decision(
                        next="reply",
                        resolved=True,
                        flow={},
                        reply=f"Done — order {r['order_id']} is cancelled.{paid} Anything else?",
                    )
                if outcome.status is ActionStatus.EXECUTED and another:
                    return self._cancel_flow(
                        turn, {"name": "cancel", "stage": "find", "request": "", "withdrawn": flow.get("order_id")}
                    )
                if outcome.status is ActionStatus.EXECUTED:
                    return Decision(
                        next="reply",
                        reply="No problem, your order stays as it is. Anything else I can help with?",
                        flow={},
                    )
                return Decision(
                    next="reply", reply=outcome.result.get("explanation", "I couldn't cancel that order."), flow={}
                )
            if another:
                # "yes cancel the other one instead": not the order proposed. It is withdrawn, and the other one looked
                # for (nothing is cancelled before a yes to it); "…, keep the other one" keeps another order
                return Decision(
                    next="actions",
                    tool_calls=[
                        call("cancel_action", {"action_id": flow["action_id"]}),
                        call("find_orders", {"limit": ORDER_SEARCH_LIMIT}),
                    ],
                    flow=flow,
                )
            # Here "cancel" is what the customer asked for, not a refusal ("yes, cancel it").
            without_cancel = CANCEL_WORD.sub("", refusals_aside(text))
            return self._settle_pending(without_cancel, flow) or Decision(
                next="reply",
                # the order named: "it" could be read as another order the customer has just mentioned
                reply=f"Shall I cancel order {flow['order_id']}? A yes or no is fine."
                if flow.get("order_id")
                else "Shall I cancel it? A yes or no is fine.",
                flow=flow,
            )
        proposed = turn.results_for("cancel_order")
        if proposed:
            outcome = proposed[-1]
            if outcome.status is not ActionStatus.PENDING_CONFIRMATION:
                explanation = outcome.result.get("explanation", "I couldn't cancel that order.")
                if outcome.reason == "order_shipped":  # what they can do instead, with this shop's window
                    explanation += f" Once it's delivered, you can return it {self.profile.return_window_phrase()}."
                return Decision(next="reply", reply=explanation, flow={})
            r = outcome.result
            note = self._shipped_beside(turn, f"{flow.get('request', '')} {text}", r["order_id"])
            return Decision(
                next="reply",
                reply=f"{self._other_than(flow)}{note}Order {r['order_id']} ({', '.join(r['items'])}) hasn't shipped "
                f"yet, so I can cancel it and refund {money(r['total'], r['currency'])} to {r['refund_to']}. "
                "Shall I go ahead?",
                flow={"name": "cancel", "stage": "confirm", "action_id": r["action_id"], "order_id": r["order_id"]},
            )
        request = f"{flow.get('request', '')} {text}".strip()
        flow = {**flow, "request": request}
        found = turn.results_for("find_orders")
        if not found:
            return Decision(next="actions", tool_calls=[call("find_orders", {"limit": ORDER_SEARCH_LIMIT})], flow=flow)
        # the order just withdrawn is not the other one they mean
        orders = [o for o in found[-1].result.get("orders", []) if o["order_id"] != flow.get("withdrawn")]
        if flow.get("withdrawn") and not [o for o in orders if o["status"] == "pending"]:
            return Decision(
                next="reply",
                reply=f"{self._other_than(flow)}None of your other orders is still waiting to ship, so there's no "
                "other order I could cancel. Anything else I can help with?",
                flow={},
            )
        reference, named = named_order(request, orders)
        if reference:
            order_id = named["order_id"] if named else reference
            return Decision(next="actions", tool_calls=[call("cancel_order", {"order_id": order_id})], flow=flow)
        apart = self._orders_named_apart(request, orders)
        # "cancel my orders for the dutch oven and the big glass jar": the one that has not shipped is proposed (and
        # the one that has is said so beside it, `_shipped_beside`); several that can be are proposed one at a time,
        # the customer saying which first
        decided = self._cancel_one_of(
            [o for o in apart if o["status"] == "pending"],
            flow,
            f"{self._shipped_note(apart)}I can cancel these orders that haven't shipped, one at a time: ",
            "Which one first?",
            "",
        )
        if decided is not None:
            return decided
        by_item = orders_with_item(request, orders)
        if by_item:
            open_ones = [o for o in by_item if o["status"] == "pending"]
            target = (open_ones or by_item)[0]
            line = self._one_item_of(request, target)
            if line is not None:
                # "please cancel the slate mug" of an order that holds a grinder too: the mug taken off, not the grinder
                # cancelled with it
                return self._cancel_item(turn, target, line)
            return Decision(
                next="actions", tool_calls=[call("cancel_order", {"order_id": target["order_id"]})], flow=flow
            )
        decided = self._cancel_one_of(
            [o for o in orders if o["status"] == "pending"],
            flow,
            f"{self._other_than(flow)}You have more than one order that hasn't shipped: ",
            "Which one should I cancel?",
            request,
        )
        if decided is not None:
            return decided
        latest = orders[0] if orders else None
        if latest is None:
            return Decision(
                next="reply", reply="I can't find an order on your account that could still be cancelled.", flow={}
            )
        done = {"shipped": "shipped", "delivered": "been delivered", "cancelled": "been cancelled"}.get(
            latest["status"], latest["status"]
        )
        reply = f"Your most recent order {latest['order_id']} has already {done}, so it can't be cancelled" + (
            " — you can return it once it arrives." if latest["status"] == "shipped" else "."
        )
        return Decision(next="reply", reply=reply, flow={})

    @staticmethod
    def _one_item_of(request: str, order: dict[str, Any]) -> dict[str, Any] | None:
        """The one line of a pending order of several that a cancellation names by its item, when it names the item
        and not the order ("please cancel the slate mug", "scrap the tea caddy, my partner bought one"; not "cancel
        the grinder order", "cancel my order with the mug", nor every item of it named); else None."""
        if order["status"] != "pending" or len(order["lines"]) < 2:
            return None
        if not names_item_not_order(request):
            return None
        best = items_named(request, [(order, line) for line in order["lines"]]).best
        named = {order["lines"][i]["line_id"] for i in best}
        if len(named) != 1:
            return None
        one: dict[str, Any] = next(line for line in order["lines"] if line["line_id"] in named)
        return one

    def _shipped_beside(self, turn: ReadyTurn, request: str, proposed: str) -> str:
        """What the customer asked to cancel beside the order proposed that has already shipped, said so: "Order
        #1029 (…) has already shipped, so it can't be cancelled; once it's delivered you can return it …"."""
        found = turn.results_for("find_orders")
        orders = found[-1].result.get("orders", []) if found else []
        apart = self._orders_named_apart(request, orders)
        if [o["order_id"] for o in apart if o["status"] == "pending"] != [proposed]:
            return ""
        return self._shipped_note(apart)

    def _cancel_one_of(
        self, choices: list[dict[str, Any]], flow: dict[str, Any], lead: str, question: str, request: str
    ) -> Decision | None:
        """The cancellation of the one order of `choices`, proposed; or, for several, the list of them (at most five)
        after `lead` and the `question` which one; None for none."""
        if len(choices) == 1:
            return Decision(
                next="actions", tool_calls=[call("cancel_order", {"order_id": choices[0]["order_id"]})], flow=flow
            )
        if not choices:
            return None
        listing = "; ".join(f"{o['order_id']} ({', '.join(self._label(ln) for ln in o['lines'])})" for o in choices[:5])
        return Decision(
            next="reply",
            reply=f"{lead}{listing}. {question}",
            flow={"name": "cancel", "stage": "find", "request": request},
        )

    def _shipped_note(self, orders: list[dict[str, Any]]) -> str:
        """ "Order #1029 (…) has already shipped, so it can't be cancelled; once it's delivered you can return it …"
        for each of these orders that has shipped."""
        return "".join(
            f"Order {o['order_id']} ({', '.join(self._label(ln) for ln in o['lines'])}) has already shipped, so it "
            f"can't be cancelled; once it's delivered you can return it {self.profile.return_window_phrase()}. "
            for o in orders
            if o["status"] == "shipped"
        )

    @staticmethod
    def _orders_named_apart(request: str, orders: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The orders not yet delivered that a cancellation names item by item ("cancel my orders for the dutch oven
        and the big glass jar"), each item found on its own (by its words, else by meaning), when it names items of
        two or more of them; else []."""
        asked = CANCEL_WORD.search(request)
        if asked is None:
            return []
        clause = re.split(r"[,.;!?]", request[asked.end() :], maxsplit=1)[0]
        pieces = [p for p in re.split(r"\b(?:and|plus)\b|&", clause, flags=re.IGNORECASE) if content_words(p)]
        # each piece names a thing ("my orders for the dutch oven", "the big glass jar"), not another request ("tell
        # me when the daypack arrives")
        if not all(NAMED_THING.match(p.strip()) for p in pieces):
            return []
        open_orders = [o for o in orders if o["status"] in ("pending", "shipped")]
        if len(pieces) < 2 or len(open_orders) < 2:
            return []
        named: dict[str, dict[str, Any]] = {}
        for piece in pieces:
            found = orders_with_item(piece, open_orders)
            if len(found) != 1:
                return []  # a piece naming none of them, or two: not read item by item
            named[found[0]["order_id"]] = found[0]
        return list(named.values()) if len(named) > 1 else []

    @staticmethod
    def _other_than(flow: dict[str, Any]) -> str:
        """ "No problem, I won't cancel order X. ", when the customer meant another order than the one proposed."""
        withdrawn = flow.get("withdrawn")
        return f"No problem, I won't cancel order {withdrawn}. " if withdrawn else ""

    # order changes ------------------------------------------------------------------------
    def _address_flow(self, turn: ReadyTurn, flow: dict[str, Any]) -> Decision:
        """A new delivery address for an order that has not shipped: found like a cancellation, the address read from
        the customer's words (street and number, postcode and city), proposed back in full, changed on a yes."""
        text = own_words(turn.message.text)
        stage = flow.get("stage")
        if turn.results_for("cancel_order"):  # taking the only item off an order is cancelling it
            return self._cancel_flow(turn, {"name": "cancel", "stage": "find"})
        if stage == "confirm":
            outcome = self._settled(turn, "modify_order")
            if outcome:
                if outcome.status is ActionStatus.EXECUTED and outcome.result.get("modified"):
                    r = outcome.result
                    done = (
                        f"Done — the {', '.join(r['removed_items'])} "
                        f"{'is' if len(r['removed_items']) == 1 else 'are'} off "
                        f"order {r['order_id']}; the new total is {money(r['total_after'], r['currency'])}."
                        if r.get("removed_items")
                        else f"Done — order {r['order_id']} will go to the new address."
                    )
                    return Decision(next="reply", resolved=True, flow={}, reply=f"{done} Anything else?")
                if outcome.status is ActionStatus.EXECUTED:
                    return Decision(next="reply", reply=f"{self._withdrawn(flow)} Anything else?", flow={})
                return Decision(
                    next="reply", reply=outcome.result.get("explanation", "I couldn't change that order."), flow={}
                )
            ask = "Shall I take it off?" if flow.get("change") == "remove" else "Shall I change the address?"
            return self._settle_pending(text, flow) or Decision(
                next="reply", reply=f"{ask} A yes or no is fine.", flow=flow
            )
        proposed = turn.results_for("modify_order")
        if proposed:
            outcome = proposed[-1]
            if outcome.status is not ActionStatus.PENDING_CONFIRMATION:
                return Decision(
                    next="reply", reply=outcome.result.get("explanation", "I couldn't change that order."), flow={}
                )
            r = outcome.result
            if r.get("removed_items"):
                change = (
                    f"I'll take the {', '.join(r['removed_items'])} off order {r['order_id']}; the new total is "
                    f"{money(r['total_after'], r['currency'])}"
                )
            else:
                a = r["shipping_address"]
                change = (
                    f"order {r['order_id']} will be delivered to {a['name']}, {a['line1']}, {a['postcode']} "
                    f"{a['city']}, {a['country']}"
                )
            return Decision(
                next="reply",
                reply=f"To confirm: {change}. Shall I go ahead?",
                flow={
                    "name": "address",
                    "stage": "confirm",
                    "action_id": r["action_id"],
                    "order_id": r["order_id"],
                    "change": "remove" if r.get("removed_items") else "address",
                },
            )
        request = f"{flow.get('request', '')} {text}".strip()
        flow = {**flow, "name": "address", "request": request}
        found = turn.results_for("find_orders")
        if not found:
            return Decision(next="actions", tool_calls=[call("find_orders", {"limit": ORDER_SEARCH_LIMIT})], flow=flow)
        orders = found[-1].result.get("orders", [])
        order = self._order_for_change(request, orders)
        if order is None and flow.get("about") and not order_reference(without_address(request)):
            # the order of the proposal withdrawn in the same words, when the request names no other
            order = next((o for o in orders if o["order_id"] == flow["about"] and o["status"] == "pending"), None)
        if order is None:
            pending = [o for o in orders if o["status"] == "pending"]
            if not pending:
                return Decision(
                    next="reply",
                    flow={},
                    reply="None of your orders is still waiting to ship, so I can't change a delivery address. "
                    "If a parcel is on its way, I can check where it is.",
                )
            listing = "; ".join(
                f"{o['order_id']} ({', '.join(self._label(ln) for ln in o['lines'])})" for o in pending[:5]
            )
            return Decision(next="reply", reply=f"Which order should go to the new address: {listing}?", flow=flow)
        if flow.get("remove") or turn.signals.intent == "remove_item":
            return self._remove_items(turn, {**flow, "remove": True}, order, request)
        address = parse_address(text) or parse_address(request)
        if address is None:
            return Decision(
                next="reply",
                reply=f"Sure — what's the new address for order {order['order_id']}? Street and number, postcode "
                "and city, please.",
                flow={**flow, "order_id": order["order_id"]},
            )
        ship_to = order.get("ship_to") or {}
        new = {**address, "name": ship_to.get("name", turn.customer.first_name), "country": ship_to.get("country", "")}
        return Decision(
            next="actions",
            flow=flow,
            tool_calls=[call("modify_order", {"order_id": order["order_id"], "shipping_address": new})],
        )

    def _remove_items(
        self,
        turn: ReadyTurn,
        flow: dict[str, Any],
        order: dict[str, Any],
        request: str,
        line: dict[str, Any] | None = None,
    ) -> Decision:
        """Take the item the customer names (or `line`, when already known) off a pending order. Taking off all of
        it is a cancellation, proposed as one: its only item, or the order itself asked to be cancelled, whatever
        items they name it by (and nothing said to be kept)."""
        # "…, keep the canisters" and "keep the cable on it, just take the charger off": what is kept is left out
        kept_out = without_kept(request)
        wanted = kept_out if kept_out != request else re.split(r"\bkeep\b", request, maxsplit=1, flags=re.IGNORECASE)[0]
        if line is None:
            target = REMOVE_TARGET.search(wanted)
            line = (match_line(target.group(1), order["lines"]) if target else None) or match_line(
                wanted, order["lines"]
            )
        if line is None and kept_out != request:
            # "take the two small glass jars off, I still want the tea towels": of an order of two, the one not kept
            kept_words = said_kept(request)
            kept = [ln for ln in order["lines"] if title_score(kept_words, ln)]
            others = [ln for ln in order["lines"] if ln not in kept]
            if kept and len(others) == 1:
                line = others[0]
        # "can I still cancel my order with the canisters and the tea towels?": its items say which order
        cancels = wanted == request and CANCELS_ORDER.search(signals.NEGATED_REQUEST.sub(" ", request)) is not None
        # an order that has shipped cannot be changed, whichever item: the action layer says so, and what they can do
        every = len(order["lines"]) == 1 or cancels or order["status"] != "pending"
        if line is None and not every:
            listing = "; ".join(self._label(ln) for ln in order["lines"])
            return Decision(
                next="reply",
                flow={**flow, "order_id": order["order_id"]},
                reply=f"Which item should I take off order {order['order_id']}: {listing}?",
            )
        if every or line is None:
            return Decision(
                next="actions",
                flow={"name": "cancel", "stage": "find", "request": request},
                tool_calls=[call("cancel_order", {"order_id": order["order_id"]})],
            )
        return Decision(
            next="actions",
            flow=flow,
            tool_calls=[call("modify_order", {"order_id": order["order_id"], "remove_line_ids": [line["line_id"]]})],
        )

    def _order_for_change(self, request: str, orders: list[dict[str, Any]]) -> dict[str, Any] | None:
        request = without_address(request)  # its numbers name neither an item nor an order
        reference, named = named_order(request, orders)
        if named:
            return named
        if reference:
            return None
        held = orders_with_item(request, orders)
        if held:
            # "kettle was due the 10th, still not here. also change the address on the grinder order to …": the order
            # the change's own words name, not another the message names for another request
            own = [
                part
                for part in signals.request_parts(request)
                if signals.classify(part)[0] in ("address", "remove_item")
            ]
            if own:
                # (what the change's own words name, where the rest of the message names other items more strongly:
                # "can you pull the mug off it before it does, and is the offer on the beans still running?")
                narrowed = orders_with_item(" ".join(own), orders)
                held = [o for o in held if o in narrowed] or narrowed or held
        kept_words = said_kept(request)
        if not held and kept_words:
            # "take the other thing off, I still want the grinder": the order holding what they keep
            held = orders_with_item(kept_words, orders)
        by_item = [o for o in held if o["status"] == "pending"]
        if by_item:
            return by_item[0]
        if held:
            # the item they name is in an order that has shipped: that order, which the action layer refuses to
            # change with its reason; never another order of theirs that happens to be pending
            return held[0]
        pending = [o for o in orders if o["status"] == "pending"]
        return pending[0] if len(pending) == 1 else None

    # leads -----------------------------------------------------------------------------------
    def _lead(self, turn: ReadyTurn, flow: dict[str, Any]) -> Decision | None:
        """The lead flow (engine/leads.py) of a shop with merchant.json `leads`; None for a message that neither asks
        for its business line nor answers its questions."""
        return leads.decide(self.profile.leads, turn, flow, self._decide)

    # account and appointments --------------------------------------------------------------
    def _password_reset(self, turn: ReadyTurn) -> Decision:
        done = turn.results_for("send_password_reset")
        if not done:
            return Decision(next="actions", tool_calls=[call("send_password_reset")])
        outcome = done[-1]
        if outcome.status is not ActionStatus.EXECUTED:
            return Decision(next="reply", reply=self._reset_sentence(outcome))
        return Decision(
            next="reply", resolved=True, reply=f"{self._reset_sentence(outcome)} Anything else I can help with?"
        )

    @staticmethod
    def _reset_sentence(outcome: ActionResult) -> str:
        if outcome.status is not ActionStatus.EXECUTED:
            return str(outcome.result.get("explanation", "I couldn't send a reset link just now."))
        return (
            f"I've emailed a password-reset link to {outcome.result['sent_to']}. It works once, for "
            f"{outcome.result['valid_minutes']} minutes — if it isn't in your inbox in a few minutes, check spam."
        )

    def _with_sign_in(self, turn: ReadyTurn, decision: Decision) -> Decision:
        """A message that asks for something and, beside it, says they cannot sign in ("want to return it but I can't
        log in, it says my password is wrong"): the reset link is sent in the same turn (in the first action round, or
        a round of its own) and the reply to the request says so, rather than the sign-in going unanswered."""
        if (
            decision.handoff is not None
            or decision.close
            or turn.signals.intent == "password"
            or any(c.tool == "send_password_reset" for c in decision.tool_calls)
            or not turn.customer.verified
            or signals.beside_sign_in(turn.message.text) is None
        ):
            return decision
        done = turn.results_for("send_password_reset")
        if not done:
            reset = call("send_password_reset")
            if decision.next == "actions":
                return decision.model_copy(update={"tool_calls": [*decision.tool_calls, reset]})
            if turn.agent_rounds < MAX_ACTION_ROUNDS:
                return Decision(next="actions", tool_calls=[reset], flow=decision.flow)
            return decision
        sentence = self._reset_sentence(done[-1])
        if decision.next == "actions" or sentence in decision.reply:
            return decision
        return decision.model_copy(
            update={"reply": with_paragraphs(decision.reply, [f"As for signing in: {sentence}"])}
        )

    def _appointment_flow(self, turn: ReadyTurn, flow: dict[str, Any]) -> Decision:
        """Offer the three soonest free slots, book the one the customer picks once they confirm it."""
        text = signals.normalize(turn.message.text)
        stage = flow.get("stage")
        if stage == "confirm":
            outcome = self._settled(turn, "book_appointment")
            if outcome:
                if outcome.status is ActionStatus.EXECUTED and outcome.result.get("booked"):
                    r = outcome.result
                    return Decision(
                        next="reply",
                        resolved=True,
                        flow={},
                        reply=f"You're booked: {r['label']}, {slot_time(r['starts_at'])} ({r['minutes']} minutes). "
                        "Anything else?",
                    )
                if outcome.status is ActionStatus.EXECUTED:
                    return Decision(
                        next="reply", reply="No problem, I haven't booked anything. Anything else?", flow={}
                    )
                return Decision(
                    next="reply",
                    reply=outcome.result.get("explanation", "I couldn't book that slot."),
                    flow={"name": "appointment", "stage": "find", "kind": flow.get("kind")},
                )
            return self._settle_pending(turn.message.text, flow) or Decision(
                next="reply", reply="Shall I book it? A yes or no is fine.", flow=flow
            )
        if stage == "pick":
            proposed = turn.results_for("book_appointment")
            if proposed:
                outcome = proposed[-1]
                if outcome.status is not ActionStatus.PENDING_CONFIRMATION:
                    return Decision(
                        next="reply", reply=outcome.result.get("explanation", "I couldn't book that slot."), flow={}
                    )
                r = outcome.result
                return Decision(
                    next="reply",
                    reply=f"To confirm: {r['label']}, {slot_time(r['starts_at'])}. Shall I book it?",
                    flow={"name": "appointment", "stage": "confirm", "action_id": r["action_id"]},
                )
            choice = pick_choice(text, len(flow["slots"]))
            if choice is None:
                if signals.is_negative(turn.message.text):
                    return Decision(next="reply", reply="No problem. Anything else I can help with?", flow={})
                return self._miss(flow, f"Which one suits you — 1 to {len(flow['slots'])}?")
            return Decision(
                next="actions", tool_calls=[call("book_appointment", {"slot_id": flow["slots"][choice]})], flow=flow
            )
        found = turn.results_for("find_appointment_slots")
        kinds = self.profile.appointments
        if not kinds and not flow.get("kind"):
            return Decision(
                next="reply",
                flow={},
                reply=f"{self.merchant} doesn't take appointments here, I'm sorry. Is there anything else I can "
                "help with?",
            )
        named = [name for name, k in kinds.items() if content_words(f"{name} {k.label}") & content_words(text)]
        kind = flow.get("kind") or (named or list(kinds))[0]
        if not found:
            return Decision(
                next="actions",
                tool_calls=[call("find_appointment_slots", {"kind": kind, "limit": 3})],
                flow={"name": "appointment", "stage": "find", "kind": kind},
            )
        outcome = found[-1]
        if outcome.status is not ActionStatus.EXECUTED or not outcome.result.get("slots"):
            return Decision(
                next="reply",
                flow={},
                reply=outcome.result.get("explanation", "There are no free slots in the next two weeks, I'm sorry."),
            )
        slots = outcome.result["slots"]
        listing = "; ".join(f"{i}. {slot_time(s['starts_at'])}" for i, s in enumerate(slots, 1))
        return Decision(
            next="reply",
            reply=f"The next free slots for a {outcome.result['label'].lower()} ({outcome.result['minutes']} "
            f"minutes) are: {listing}. Which one suits you?",
            flow={"name": "appointment", "stage": "pick", "kind": kind, "slots": [s["slot_id"] for s in slots]},
        )

    # tracking ----------------------------------------------------------------------------
    def _track(self, turn: ReadyTurn, order_id: str | None = None) -> Decision:
        """The order the customer means: named by id (as they wrote it: the action layer matches it to their own
        orders and refuses anyone else's), or by the item in it, or their latest order on its way."""
        tracked = turn.results_for("track_shipment")
        if not tracked:
            text = turn.message.text
            reference = order_reference(text)
            if reference is None and order_id is None and content_words(text):
                found = turn.results_for("find_orders")
                if not found:
                    return Decision(next="actions", tool_calls=[call("find_orders", {"limit": ORDER_SEARCH_LIMIT})])
                orders = list(found[-1].result.get("orders", []))
                each = self._tracked_apart(text, orders)
                if len(each) > 1:  # "has my knife strip shipped? and where are the cups?": each order, each answer
                    return Decision(
                        next="actions", tool_calls=[call("track_shipment", {"order_id": o}) for o in each], flow={}
                    )
                holding = orders_with_item(text, orders)
                order_id = holding[0]["order_id"] if holding else None
            order_id = reference or order_id
            arguments = {"order_id": order_id} if order_id else {}
            flow: dict[str, Any] = {"name": "offer_tracking", "order_id": order_id} if order_id else {}
            return Decision(next="actions", tool_calls=[call("track_shipment", arguments)], flow=flow)
        if len(tracked) > 1:  # each order of a message asking after two (`_tracked_apart`)
            answers = [
                self._shipment(t.result, offer=False)[0]
                if t.status is ActionStatus.EXECUTED
                else t.result.get("explanation", "I couldn't find that order.")
                for t in tracked
            ]
            return Decision(next="reply", reply="\n\n".join(answers), resolved=True, flow={})
        outcome = tracked[-1]
        if outcome.status is not ActionStatus.EXECUTED:
            return Decision(next="reply", reply=outcome.result.get("explanation", "I couldn't find that order."))
        reply, flow = self._shipment(outcome.result)
        other = self._other_answer(turn)
        if other:
            passage, text = other
            source = f"{passage.title} — {passage.section}" if passage.section else passage.title
            return Decision(
                next="reply",
                reply=f"{reply}\n\nAs for your other question: {text}",
                resolved=True,
                citations=[Citation(title=source, url=passage.url)],
                flow=flow,
            )
        return Decision(next="reply", reply=reply, resolved=True, flow=flow)

    @staticmethod
    def _tracked_apart(text: str, orders: list[dict[str, Any]]) -> list[str]:
        """The orders of a message asking after items in two tracking questions, one per question whose item one
        order holds; [] when the questions do not name two orders apart."""
        parts = [part for intent, part in signals.readings(text) if intent == "track"]
        if len(parts) < 2:
            return []
        each: list[str] = []
        for part in parts:
            holding = orders_with_item(part, orders) if content_words(part) else []
            if len({o["order_id"] for o in holding}) != 1:
                return []  # a question naming no item of theirs, or one two orders hold: not read apart
            if holding[0]["order_id"] not in each:
                each.append(holding[0]["order_id"])
        return each

    def _shipment(self, r: dict[str, Any], offer: bool = True) -> tuple[str, dict[str, Any]]:
        """Where an order is, in words, from track_shipment's result, and the flow after it (a late parcel may offer
        a person). `offer=False`: the words alone, said beside another request's answer."""
        items = r.get("items") or []
        what = f"Your order {r['order_id']}" + (f" ({', '.join(items[:3])})" if items else "")
        flow: dict[str, Any] = {}
        if r["status"] == "pending":
            reply = f"{what} is being prepared and hasn't shipped yet. I'll have tracking for you as soon as it ships."
        elif r["status"] == "delivered":
            reply = f"{what} was delivered on {day(r.get('delivered_at'))}." + (
                " Did everything arrive safely?" if offer else ""
            )
        elif r["status"] == "cancelled":
            reply = f"{what} was cancelled, so nothing is on its way."
        elif r.get("late"):
            last = r.get("last_event") or {}
            latest = (
                f" The last scan was '{last['status']}' in {last['location']} on {day(last['at'])}." if last else ""
            )
            remedy = self.profile.late_delivery
            follow = (
                f" {remedy}"
                if remedy
                else " If you'd like, I can pass this to a member of our team to chase it with the carrier."
                if offer
                else ""
            )
            reply = (
                f"I'm sorry — {what[0].lower() + what[1:]} is running late. It's with {r['carrier']} (tracking number "
                f"{r['tracking_number']}) and was due on {day(r['estimated_delivery'])}.{latest}{follow}"
            )
            if not remedy and offer:
                flow = {"name": "offer_handoff", "reason": "late parcel"}
            elif offer:
                flow = {"name": "late_parcel", "order_id": r["order_id"]}
        else:
            last = r.get("last_event") or {}
            latest = f" Latest update: {last['status']} — {last['location']}, {day(last['at'])}." if last else ""
            reply = (
                f"{what} is on its way with {r['carrier']} (tracking number {r['tracking_number']})."
                f"{latest} Estimated delivery: {day(r['estimated_delivery'])}."
            )
        return reply, flow

    def _with_other_requests(self, turn: ReadyTurn, decision: Decision) -> Decision:
        """A message that asks for something to be done and, beside it, only to be told something ("can you send my
        hub order to my office instead, …? And where are my headphones?", "please cancel the grinder. And how hot can
        my dutch oven go?"): the action's reply (its proposal, or why it cannot be done) also answers the rest, where
        the order is (tracked in the round that makes the proposal) or what the help center says, rather than never.
        """
        if decision.handoff is not None:
            return decision
        text = turn.message.text
        others = signals.read_only_requests(text)
        acted = any(r.tool in ACTING_TOOLS or r.tool == "send_password_reset" for r in turn.results)
        readings = signals.readings(text)
        if not others and any(intent in ("return", "exchange") for intent, _ in readings):
            # "Any update on my head torch? Also if I end up not liking the gas canisters, can I send them back?": the
            # return asked about only if, answered (final sale, or not yet delivered), and the tracking beside it
            others = [(intent, part) for intent, part in readings if intent == "track"]
            acted = acted or bool(turn.results_for("get_product"))  # the return's item was read: this reply is its
        if not others or not (acted or decision.flow.get("name") in ACTION_FLOWS):
            return decision
        tracking = [part for intent, part in others if intent == "track"]
        if tracking and not turn.results_for("track_shipment"):
            order_id = self._tracked_order(turn, tracking[0])
            track = call("track_shipment", {"order_id": order_id} if order_id else {})
            if decision.next == "actions" and any(c.tool in PROPOSING_TOOLS for c in decision.tool_calls):
                return decision.model_copy(update={"tool_calls": [*decision.tool_calls, track]})
            if decision.next == "reply" and turn.agent_rounds < MAX_ACTION_ROUNDS:  # a prefetched round is not ours
                return Decision(next="actions", tool_calls=[track], flow=decision.flow)
        if decision.next == "actions":
            return decision
        answers: list[str] = []
        citations = list(decision.citations)
        tracked = [r for r in turn.results_for("track_shipment") if r.status is ActionStatus.EXECUTED]
        if tracking and tracked:
            status, _ = self._shipment(tracked[-1].result, offer=False)
            answers.append(status[0].lower() + status[1:])
        for intent, part in others:
            passage = self._help_answer(turn, part) if intent == "question" else None
            if passage is not None:
                text = self._excerpt(passage.text, 300)
                if text in decision.reply:
                    continue
                answers.append(text)
                source = f"{passage.title} — {passage.section}" if passage.section else passage.title
                citations.append(Citation(title=source, url=passage.url))
        if not answers:
            return decision
        reply = with_paragraphs(decision.reply or "", [f"As for your other question: {answer}" for answer in answers])
        return decision.model_copy(update={"reply": reply, "citations": citations})

    @staticmethod
    def _tracked_order(turn: ReadyTurn, words: str) -> str | None:
        """The order a tracking question means: the number it gives, else the order holding the item it names."""
        reference = order_reference(words)
        if reference:
            return reference
        found = turn.results_for("find_orders")
        holding = orders_with_item(words, list(found[-1].result.get("orders", []))) if found else []
        if holding and content_words(words):
            return str(holding[0]["order_id"])
        # "take the mug off order #504, … and when will it ship": "it" is the order the message names
        return order_reference(turn.message.text) if IT_ASKED.search(words) else None

    @staticmethod
    def _help_answer(turn: ReadyTurn, words: str) -> PassageHit | None:
        """The help-center passage that answers a question of the message: among those good enough to quote that
        share its words, the closest to it in meaning (the sentence model), else the one whose title and section
        share most of its words."""
        asked = content_words(words)
        about = [
            p
            for p in turn.passages
            if p.confidence >= ANSWER_THRESHOLD
            and not p.suspicious
            and replyguard.quotable_text(p.text)
            and asked & content_words(f"{p.title} {p.section} {p.text}")
        ]
        if not about:
            return None
        closest = DeterministicEngine._closest(words, about)
        if closest is not None:
            closeness, passage = closest
            return passage if closeness >= SECOND_ANSWER_FLOOR else None
        titled = [p for p in about if asked & content_words(f"{p.title} {p.section}")]
        return min(
            titled, key=lambda p: (-len(asked & content_words(f"{p.title} {p.section}")), -p.confidence), default=None
        )

    @staticmethod
    def _closest(words: str, passages: list[PassageHit]) -> tuple[float, PassageHit] | None:
        """The passage closest in meaning to `words` (the sentence model), with its closeness; None without a model."""
        from concierge.reasoning import sentences

        question = sentences.embedding(words)
        if question is None:
            return None
        scored = [(sentences.embedding(f"{p.section} {p.text}"), p) for p in passages]
        closest = [(float(question @ vector), p) for vector, p in scored if vector is not None]
        return max(closest, key=lambda entry: entry[0]) if closest else None

    def _other_answer(self, turn: ReadyTurn) -> tuple[PassageHit, str] | None:
        """Several requests in one message ("where is my order, and how long do refunds take?", or in two questions:
        "where's my power bank? And unrelated, how long does a refund take…?"): the tracking answer comes first,
        then the help center's answer to the rest, when it has a grounded one about it: the closest in meaning to
        what they ask (a passage sharing its words, "refunds over $200 … usually within one business day", is not
        the answer to how long a refund takes), else the one whose heading shares most of its words."""
        text = turn.message.text
        parts = signals.requests(text)
        if len(parts) < 2:
            parts = [q.strip() for q in signals.QUESTION_SENTENCE.findall(text) if q.strip()]
        others = [
            part for part in parts if not signals.any_phrase(signals.normalize(part), signals.INTENT_PHRASES["track"])
        ]
        if len(others) == len(parts) or not others:
            return None
        confident = [
            p
            for p in turn.passages
            if p.confidence >= ANSWER_THRESHOLD
            and not p.suspicious
            and replyguard.quotable_text(p.text)
            and not signals.any_phrase(signals.normalize(f"{p.title} {p.section}"), signals.INTENT_PHRASES["track"])
        ]
        # found with confidence by the search, for this request or another: "refund", "how long" and "take" name no
        # item (`content_words`), so the meaning, not shared item words, says which one answers it; the merchant's
        # own articles first, the digest of merchant.json for what they leave out (`_grounded`)
        own = [p for p in confident if p.url.split("#")[0] != POLICY_URL]
        for passages in (own, confident):
            closest = self._closest(" ".join(others), passages)
            if closest is not None and closest[0] >= SECOND_ANSWER_FLOOR:
                return closest[1], self._excerpt(closest[1].text, 300)
        asked = content_words(" ".join(others))
        about = [p for p in confident if asked & content_words(f"{p.title} {p.section} {p.text}")]
        about.sort(
            key=lambda p: (
                p.url.split("#")[0] == POLICY_URL,
                -len(asked & content_words(f"{p.title} {p.section}")),
                -p.confidence,
            )
        )
        return (about[0], self._excerpt(about[0].text, 300)) if about else None

    # knowledge ---------------------------------------------------------------------------
    @staticmethod
    def _grounded(turn: ReadyTurn) -> list[PassageHit]:
        """The passages good enough to quote: the most confident of the merchant's own articles first; the digest
        of merchant.json answers what they leave out. Retrieved text is data: a passage that addresses an AI
        ("ignore previous instructions…") is never used."""
        grounded = [
            p
            for p in turn.passages
            if p.confidence >= ANSWER_THRESHOLD and not p.suspicious and replyguard.quotable_text(p.text)
        ]
        whole = [p for p in grounded if p.request == 0]  # found for the whole message, not for one part of it
        return sorted(whole or grounded, key=lambda p: (p.url.split("#")[0] == POLICY_URL, -p.confidence))

    def _answer_from_knowledge(self, turn: ReadyTurn) -> Decision:
        grounded = self._grounded(turn)
        if not grounded or self._unrelated(turn, grounded[0]):
            # no passage found with confidence, or the one found shares a word with the message and nothing of its
            # meaning ("how much is shipping up there?" and a strip that "holds up to six knives"): the passage
            # closest in meaning answers, when one is clearly close; else the word search's, as before
            meant = self._closest_in_meaning(turn)
            grounded = [meant] if meant is not None else grounded
        if not grounded:
            clarify = self._clarifying_question(turn)
            if clarify:
                return clarify
            return Decision(
                next="reply",
                reply=(
                    "I'm not sure about that, and I'd rather not guess. Would you like me to connect you with a "
                    "member of our team who can help?"
                ),
                flow={"name": "offer_handoff"},
            )
        best = grounded[0]
        body = self._excerpt(best.text)
        source = f"{best.title} — {best.section}" if best.section else best.title
        note = Note(
            topic=best.title, aspect=best.section, text=self._excerpt(best.text, 240), channel=turn.message.channel
        )
        recap = self._recap(turn, note)
        citations = [Citation(title=source, url=best.url)]
        sources = f"{source}{'' if source.endswith('?') else '.'}"
        second = self._second_answer(turn, best)
        if second:  # two questions in one message: each gets its own answer
            others = [f"{p.title} — {p.section}" if p.section else p.title for p in second]
            quoted = [self._excerpt(p.text, 300) for p in second]
            if len(second) > 1:  # two sections answer it alike: each said under its heading
                quoted = [
                    f"{p.section}{'' if p.section.endswith(('?', '.', ':')) else ':'} {text}" if p.section else text
                    for p, text in zip(second, quoted, strict=True)
                ]
            body += "\n\nAs for your other question: " + " ".join(quoted)
            citations += [Citation(title=other, url=p.url) for other, p in zip(others, second, strict=True)]
            sources = "; ".join([source, *others]) + ("" if others[-1].endswith("?") else ".")
        step = self._next_step(turn, [best, *(second or [])])
        if step is not None:
            body += f"\n\n{step.section} {self._excerpt(step.text, 300)}"
            citations.append(Citation(title=f"{step.title} — {step.section}", url=step.url))
            sources = f"{sources.rstrip('.')}; {step.title} — {step.section}"
        return Decision(
            next="reply",
            reply=f"{recap}{body}\n\n(From our help center: {sources}) Is there anything else I can help with?",
            citations=citations,
            resolved=True,
            notes=[note],
        )

    @staticmethod
    def _next_step(turn: ReadyTurn, answered: list[PassageHit]) -> PassageHit | None:
        """The suggested next step after an answer: the same help document's section on how to go ahead ("How do I
        place a bulk order? Email trade@… for a quote") when the search found it too and the customer asked whether
        or what, not already how. None for the policy digest (its sections are the policy, not a process) and when
        the answer is itself a how-to."""
        clauses = re.split(r"[.?!,;]\s*|\s+(?:and|but|also|so)\s+", signals.normalize(turn.message.text))
        if any(HOW_TO.match(clause.strip()) for clause in clauses):
            return None
        first = answered[0]
        document = first.url.split("#")[0]
        if document == POLICY_URL or any(HOW_TO.match(p.section.lower()) for p in answered):
            return None
        if re.match(r"(?i)no\b", first.text.strip()):
            return None  # "No, once it has shipped it can't be cancelled": no how-to after a no
        quoted = {(p.title, p.section) for p in answered}
        steps = [
            p
            for p in turn.passages
            if p.url.split("#")[0] == document
            and (p.title, p.section) not in quoted
            and HOW_TO.match(p.section.lower())
            and p.confidence >= NEXT_STEP_FLOOR
            and not p.suspicious
            and replyguard.quotable_text(p.text)
        ]
        # a step about what was asked or answered: the answer's heading or the question share a word with its heading
        # ("discounts on bulk orders" and "place a bulk order"), not any how-to of a one-page FAQ
        about = content_words(" ".join(p.section for p in answered)) | content_words(turn.message.text)
        steps = [p for p in steps if about & content_words(p.section)]
        # the step the answer points to first ("If that doesn't help, reset them." -> "How do I reset the earbuds?")
        pointed = content_words(" ".join(p.text for p in answered)) - content_words(
            " ".join(f"{p.title} {p.section}" for p in answered)
        )
        return max(steps, key=lambda p: (bool(pointed & content_words(p.section)), p.confidence), default=None)

    @staticmethod
    def _unrelated(turn: ReadyTurn, passage: PassageHit) -> bool:
        """Whether a passage the word search found is unrelated in meaning to the message (the sentence model, below
        UNRELATED_MEANING): it shares a word, not what is asked. False without a sentence model."""
        from concierge.reasoning import sentences

        question = sentences.embedding(turn.message.text)
        answer = sentences.embedding(f"{passage.section} {passage.text}")
        return question is not None and answer is not None and float(question @ answer) < UNRELATED_MEANING

    @staticmethod
    def _closest_in_meaning(turn: ReadyTurn) -> PassageHit | None:
        """The passage the search found that is closest in meaning to a question the word search found no confident
        answer to, when close enough and clearly ahead of any other section close enough too (MEANING_ANSWER_FLOOR
        and _LEAD); None without a sentence model, for a message that asks nothing, or when two sections are as
        close."""
        from concierge.reasoning import sentences

        if not turn.signals.asks:
            return None
        question = sentences.embedding(turn.message.text)
        if question is None:
            return None
        closest: dict[tuple[str, str], tuple[float, PassageHit]] = {}
        for passage in turn.passages:
            if passage.suspicious or not replyguard.quotable_text(passage.text):
                continue
            vector = sentences.embedding(f"{passage.section} {passage.text}")
            if vector is None:
                continue
            key = (passage.title, passage.section)
            closeness = float(question @ vector)
            if key not in closest or closeness > closest[key][0]:
                closest[key] = (closeness, passage)
        ranked = sorted(closest.values(), key=lambda entry: -entry[0])
        if not ranked or ranked[0][0] < MEANING_ANSWER_FLOOR:
            return None
        runner_up = ranked[1][0] if len(ranked) > 1 else 0.0
        if runner_up >= MEANING_ANSWER_FLOOR and ranked[0][0] - runner_up < MEANING_ANSWER_LEAD:
            # too close to call by meaning alone, unless the word search ranks the same section first: two readings
            # that agree ("only my left earbud connects… what do I do?" and "Only one earbud connects")
            searched = max((p for p in turn.passages if not p.suspicious), key=lambda p: p.confidence, default=None)
            top = ranked[0][1]
            if (
                searched is None
                or searched.confidence < CLARIFY_THRESHOLD
                or (searched.title, searched.section) != (top.title, top.section)
            ):
                return None
        return ranked[0][1]

    @staticmethod
    def _second_answer(turn: ReadyTurn, best: PassageHit) -> list[PassageHit]:
        """The passages that answer another of the message's requests, when they answer something else than `best`
        (another section, another text): the one closest in meaning to the request `best` does not answer, with any
        section of its article as close (`_answer_by_meaning`), else the best grounded passage found for another
        request; [] for none."""
        by_meaning = DeterministicEngine._answer_by_meaning(turn, best)
        if by_meaning:
            return by_meaning
        others = [
            p
            for p in turn.passages
            if p.request > 0
            and p.request != best.request
            and p.confidence >= ANSWER_THRESHOLD
            and not p.suspicious
            and p.section != best.section
            and p.text != best.text
        ]
        return [max(others, key=lambda p: p.confidence)] if others else []

    @staticmethod
    def _answer_by_meaning(turn: ReadyTurn, best: PassageHit) -> list[PassageHit]:
        """Two questions in one message ("do I get the shipping refunded? And how long until the money is back on
        my card?"): the request `best` answers least, in meaning, is the other one, and its answer is the passage
        closest to it in meaning (the sentence model), among those the search found near it (at least the
        clarifying threshold) and only when close enough (SECOND_ANSWER_FLOOR). The word search ranks a passage
        that shares the message's words ("send back", "card") above the one that answers the question; the meaning
        does not. Another section of the same article as close to that question (within MEANING_TIE: "if the
        battery wears out, is that covered or is it normal wear?", between what the warranty covers and what it
        does not) is quoted after it: which of the two comes first is noise. [] without a sentence model, or when no
        passage is close enough."""
        from concierge.reasoning import sentences

        text = turn.message.text
        parts = signals.requests(text)
        if len(parts) < 2:
            parts = [q.strip() for q in signals.QUESTION_SENTENCE.findall(text) if q.strip()]
        if len(parts) < 2:
            return []
        answered = sentences.embedding(f"{best.section} {best.text}")
        asked = [sentences.embedding(part) for part in parts]
        if answered is None or any(vector is None for vector in asked):
            return []
        vectors = [vector for vector in asked if vector is not None]
        covered = max(range(len(vectors)), key=lambda i: float(vectors[i] @ answered))
        candidates = [
            p
            for p in turn.passages
            if p.confidence >= CLARIFY_THRESHOLD
            and not p.suspicious
            and p.section != best.section
            and p.text != best.text
            and replyguard.quotable_text(p.text)
        ]
        scored: list[tuple[float, int, PassageHit]] = []
        for i, question in enumerate(vectors):
            if i == covered:
                continue
            for passage in candidates:
                vector = sentences.embedding(f"{passage.section} {passage.text}")
                if vector is not None:
                    scored.append((float(question @ vector), i, passage))
        if not scored:
            return []
        closeness, asked_in, passage = max(scored, key=lambda entry: entry[0])
        if closeness < SECOND_ANSWER_FLOOR:
            return []
        answers = {(passage.title, passage.section): passage}
        for other, i, neighbour in sorted(scored, key=lambda entry: -entry[0]):
            if (
                i == asked_in
                and neighbour.title == passage.title
                and closeness - other < MEANING_TIE
                and (neighbour.title, neighbour.section) not in answers
                and neighbour.text != passage.text
            ):
                answers[(neighbour.title, neighbour.section)] = neighbour
        return list(answers.values())

    @staticmethod
    def _clarifying_question(turn: ReadyTurn) -> Decision | None:
        """Near misses on two different topics: ask which one the customer means rather than guess or give up."""
        if turn.conversation.flow.get("name") == "clarify":
            return None  # asked once already: offer a human instead
        topics: dict[str, PassageHit] = {}
        for passage in turn.passages:
            if CLARIFY_THRESHOLD <= passage.confidence < ANSWER_THRESHOLD and not passage.suspicious:
                section = passage.section.split(":")[0].rstrip("?")
                label = passage.title if section in ("", "Overview") else section
                topics.setdefault(label, passage)
        if len(topics) < 2:
            return None
        first, second = list(topics)[:2]
        return Decision(
            next="reply",
            reply=f"I want to get this right — is your question about {first.lower()} or {second.lower()}? Or "
            "tell me a bit more.",
            flow={"name": "clarify"},
        )

    @staticmethod
    def _recap(turn: ReadyTurn, answer: Note) -> str:
        """When the customer moves to another channel (or a linked conversation), build on what was already
        answered there, so that they never have to ask again or piece the two answers together."""
        conversation = turn.conversation
        earlier = (
            [n for n in conversation.notes if n.channel != turn.message.channel]
            if conversation.channel_switched
            else []
        )
        earlier += turn.memory.linked_notes
        earlier = [n for n in earlier if (n.topic, n.aspect) != (answer.topic, answer.aspect)]
        if not earlier:
            return ""
        note = earlier[-1]
        where = CHANNEL_NAMES.get(note.channel.value, note.channel.value)
        return f"Picking up from our {where}: {note.text}\n\n"

    @staticmethod
    def _excerpt(text: str, limit: int = 480) -> str:
        """A passage quoted word for word, without the sentences about secrets it may not repeat (replyguard)."""
        text = re.sub(r"\s+", " ", replyguard.quotable_text(text)).strip()
        if len(text) <= limit:
            return text
        cut = text[:limit]
        end = max(cut.rfind(". "), cut.rfind("! "), cut.rfind("? "))
        return cut[: end + 1] if end > 120 else cut.rsplit(" ", 1)[0] + "…"

    @staticmethod
    def _has_question(text: str) -> bool:
        return "?" in text

    @classmethod
    def _only_no_person(cls, turn: ReadyTurn, intent: str | None) -> bool:
        """The conversation's first message says only that no person is wanted ("I don't want to talk to a person",
        "no need for a human thanks"): besides that refusal it asks nothing."""
        text = turn.message.text
        return (
            turn.conversation.customer_turns <= 1
            and not turn.conversation.opened_by_us
            and intent in ("unknown", "thanks", "greeting", "goodbye", "human", None)
            and signals.NO_PERSON.search(text) is not None
            and not signals.asks_for_person(text)
            and not cls._has_question(signals.NO_PERSON.sub(" ", text))
        )

    # greeting ----------------------------------------------------------------------------
    def _with_greeting(self, turn: ReadyTurn, reply: str) -> str:
        if not reply or turn.conversation.customer_turns != 1 or turn.conversation.opened_by_us:
            return reply  # (a conversation the shop opened: its first message already said who writes)
        if not turn.customer.verified:
            return f"Hi, I'm the {self.merchant} AI assistant. {reply}"
        name = turn.customer.first_name
        memory = turn.memory
        if memory.open_issues:
            issue = memory.open_issues[0]
            opening = (
                # an open issue is a late parcel or a question a person was looking into: words that fit both
                f"Welcome back, {name}! Last time we spoke, {issue}. If that still needs sorting out, just say so. "
                f"I'm the {self.merchant} AI assistant."
            )
        elif memory.returning and memory.last_summary:
            opening = f"Welcome back, {name}! Last time, {memory.last_summary} I'm the {self.merchant} AI assistant."
        else:
            opening = f"Hi {name}, I'm the {self.merchant} AI assistant."
        return f"{opening} {reply}"
