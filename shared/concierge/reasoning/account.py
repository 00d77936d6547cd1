"""Account questions read from a customer's words: their store credit, the gift cards they hold, their recent orders,
what an order cost and how it was paid, whether a refund was issued (docs/account.md).

`asked(text)` is what retrieval's prefetch (actions/prefetch.py) and the deterministic engine (engine/account.py)
both read, so that the lookup retrieval runs is exactly the one the engine would ask for first. It reads questions
about the customer's own account only, asked in so many words ("what's my store credit balance?", "how much is left
on my gift card?", "show my recent orders", "how was I charged for my last order?", "did my refund go through?");
never a request to have something done ("I'd like store credit instead", "refund the mug"), a policy question ("how
long do refunds take?", "can I pay with a gift card?", "do you sell gift cards?") or a tracking question ("where is
my order?"), which keep the way they go. Nothing here assumes a shop: no ids, currencies or products.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from concierge.reasoning import signals
from concierge.reasoning.orderref import order_reference


class Asked(StrEnum):
    STORE_CREDIT = "store_credit"
    GIFT_CARD = "gift_card"
    ORDERS = "orders"
    PAYMENT = "payment"
    REFUND = "refund"
    PURCHASED = "purchased"


@dataclass(frozen=True)
class AccountQuestion:
    """What an account question asks, and what it names: a gift card (its code, or the last characters the customer
    gave) or an order, as they wrote it (the action layer matches either against their own account only). A message
    asking several ("how much is left on my gift card? and which card did I pay with?") asks `asked` first, then
    `more`: one lookup answers them all."""

    asked: Asked
    gift_card: str | None = None
    order_id: str | None = None
    more: tuple[Asked, ...] = ()

    @property
    def kinds(self) -> tuple[Asked, ...]:
        return (self.asked, *self.more)

    @property
    def tool(self) -> str:
        """The lookup that answers it: what they bought, and in which options, is in their orders' lines
        (`find_orders`); everything else is in `get_account`."""
        return "find_orders" if self.asked is Asked.PURCHASED else "get_account"

    def arguments(self) -> dict[str, Any]:
        """The arguments (actions/tools.py) of this question's lookup, `tool`."""
        if self.tool == "find_orders":
            return {"limit": ORDERS_SEARCHED}
        named: dict[str, Any] = {}
        if self.gift_card:
            named["gift_card"] = self.gift_card
        if self.order_id:
            named["order_id"] = self.order_id
        return named


# How many of the customer's orders are read for what they bought before (the same as an item search reads, actions/
# prefetch.py ITEM_SEARCH_LIMIT; a unit test keeps the two the same).
ORDERS_SEARCHED = 25
# Words of the customer's own account ("my", "I have").
OWN = r"(?:my|mine|i|i've|me|our|we)"
RECENT = r"(?:last |latest |recent |most recent )?"


def _any(*alternatives: str) -> re.Pattern[str]:
    """One pattern of whole-word alternatives, each matched in `signals.normalize`d text (lower case, contractions
    written out: "what's" is "what is", "haven't" is "have not")."""
    return re.compile("|".join(rf"\b(?:{a})\b" for a in alternatives))


STORE_CREDIT = _any(
    r"(?:store|shop|account|site|website) credits?",
    r"credit (?:balance|on (?:my|the|our) account)",
    r"(?:my|any|much|the) credits?(?! card)",
)
CREDIT_ASKED = _any(
    r"balance|how much|how many|total|left|remaining|still (?:have|got)",
    r"do (?:i|we) (?:still )?(?:have|got)|have (?:i|we) (?:got|still got)|is there any",
    r"is on my|is in my|what is my|check|show|see|look up|tell me",
)
GIFT_CARD = _any(r"gift ?(?:cards?|certificates?|vouchers?)", r"giftcards?", r"e ?gift ?cards?")
GIFT_CARD_ASKED = _any(
    rf"balance|how much|left|remaining|still (?:have|got)|do {OWN} (?:still )?(?:have|got)|is (?:still )?on",
    r"value|worth|expire\w*|expiry|valid|check|show|see|look up|tell me|any gift|which gift|what gift",
)
# The customer's own card: "my gift card", "the gift card I got", a code or its last characters.
OWN_CARD = _any(
    r"(?:my|our|mine)(?:\s+\w+){0,2}\s+gift",
    rf"gift ?(?:cards?|certificates?|vouchers?) {OWN} (?:have|got|received|hold|was given|were given)",
    r"on (?:my|our) account|ending|ends in|last (?:4|four)",
    rf"(?:do|did) {OWN} (?:still )?(?:have|hold|own) (?:any|a|some)",
)
# What is not a question about the customer's own balance: buying or sending one, paying or redeeming with one,
# whether the shop sells or accepts them, what one would get. The help center answers those.
NOT_OWN_BALANCE = _any(
    r"buy|buying|purchase|purchasing|sell|sells|selling|order a|send a|gift a|give a",
    r"pay with|pay by|pay using|paying with|use (?:it|my|a|the|them)|using (?:my|a|the)|redeem\w*",
    r"apply (?:it|my|a|the)|accept\w*|take (?:gift|store)",
    r"would (?:i|we) (?:get|have|receive)|will (?:i|we) (?:get|have|receive)|if (?:i|we)|instead|rather|prefer",
    r"(?:as|in|for|into|to|get) store credit",
    r"can (?:i|we) (?:get|have|use|pay|spend|combine|add|transfer|top)|how (?:do|can|would) (?:i|we)",
    r"top up|transfer|combine|lost|stolen",
)
# Orders asked about as the customer's own in so many words ("my recent orders"): a request about orders to act on
# ("cancel my last order") or a question where they are ("where are my orders?") is not one.
ORDERS = _any(
    rf"(?:show|list|see|view|tell|give|send|what are|which are|what were|pull up|look up|check)(?:\s+\w+){{0,2}}\s+"
    rf"(?:{OWN} )?(?:recent|past|previous|last (?:few|\d+|two|three|four|five)|latest|all(?: of)?(?: my)?|other)\s+"
    r"(?:orders|purchases)",
    rf"(?:show|list|see|view|what are|which are|all) (?:(?:me|of) )?(?:all )?{OWN} (?:orders|purchases)",
    r"order history|purchase history|past orders|previous orders|recent orders",
    rf"what (?:have|did) {OWN} (?:ordered|order|bought|buy|purchased|purchase)"
    r"(?: (?:recently|lately|so far|from you|with you|before|in the past))?\s*$",
    rf"how many orders (?:have|did) {OWN}",
)
# What they bought before, asked about: which option of it, or whether they did ("I can't remember which colour I
# got", "what size were the mugs I bought last time?", "did I already order the filters before?"). Never a question
# about an item they have now ("what is the lamp I ordered made of?") or where it is.
# up to two words between "which" and the buyer, none of them one that asks what to buy ("which size should I get?")
NOT_ADVICE = r"(?:(?!(?:should|could|would|can|will|shall|must|to|do|does|need|ought)\b)\w+ ){0,2}"
BOUGHT = r"(?:get|got|buy|bought|order|ordered|pick|picked|choose|chose|go for|went for|purchase|purchased)"
PURCHASED = _any(
    rf"(?:which|what) {NOT_ADVICE}(?:(?:did|have) {OWN} |{OWN} (?:have )?){BOUGHT}",
    rf"(?:which|what) {NOT_ADVICE}(?:was|were) (?:the|my|our|those|these|that|it|they)\b(?:\s+\w+){{0,5}}\s+"
    rf"{OWN} (?:got|bought|ordered|had|picked|chose|purchased)",
    rf"(?:did|have) {OWN} (?:already |ever |previously )?{BOUGHT} (?:a|an|the|any|some|this|that|these|those|one)\b"
    r"(?:\s+\w+){0,6}\s+(?:before|already|previously|last (?:time|month|year|week)|in the past)",
)
# What asks for something new from what they bought is shopping help, never a question of what it was ("what should I
# get next, based on what I bought?", "anything that goes with what I ordered?").
NOT_PURCHASED = _any(
    r"based on|going by|similar to|goes? with|to go with|match\w*|recommend\w*|suggest\w*",
    r"(?:should|could|would|can) (?:i|we) (?:get|buy|order|try|add)|(?:get|buy|order|try) next|next time",
)
PAYMENT = _any(
    rf"what did {OWN} (?:pay|spend)|how much did {OWN} (?:pay|spend|get charged|get billed)",
    rf"how much (?:was|were) {OWN} (?:charged|billed)",
    rf"how much (?:was|is|did) (?:my|our|the) {RECENT}order(?: cost| come to| total)?",
    rf"how (?:was|were|did|have) {OWN} (?:get |been )?(?:charged|billed|pay|paid)|what did {OWN} pay with",
    rf"(?:which|what) (?:card|payment method|payment|method of payment|account) (?:did|was|were|have) {OWN}"
    r"(?: \w+)? (?:use|used|pay|paid|charged|billed|charge)",
    r"(?:which|what) (?:card|payment method) (?:was|did) (?:it|the order|my order|that|this)(?: \w+)? "
    r"(?:charged|billed|paid|go|use|used|put)",
    rf"what was {OWN} (?:charged|billed)|(?:what|how much) (?:have|did) {OWN} (?:been )?(?:charged|billed)",
    rf"(?:total|amount|cost) (?:of|for) (?:my|our|the) {RECENT}order|what (?:was|is) (?:the|my) (?:total|order total)",
)
REFUND = _any(
    r"(?:did|has|have|was|were|is) (?:my|our|the|that|this) (?:\w+ )?refunds? (?:go|gone|come|been|already|actually"
    r"|went|get|gotten|got|processed|issued|sent|made|paid|done|through|happen\w*|complete\w*|approved)",
    r"(?:did|has|have|was|is) (?:my|our|the|that|this) refunds?(?: \w+){0,6} (?:go|gone|come|came|been|went) through",
    r"(?:where|what) is (?:my|our|the) refund|(?:status|update) (?:of|on) (?:my|our|the) refund|refund status",
    r"(?:did|have|has) (?:you|anyone|someone|they|it) (?:already |actually )?(?:refund\w*"
    r"|issue\w* (?:my|the|a) refund|process\w* (?:my|the) refund|sen[dt] (?:my|the) refund)",
    rf"(?:have|did|was|were|has) {OWN} (?:already |actually )?(?:been |get |got |gotten |receive\w* )?"
    r"(?:refunded|(?:my|a|the) refund)",
    r"(?:did|has) (?:my|the|our) money (?:come|been|go|gone) (?:back|through)",
    r"(?:any )?(?:sign|news|word|update) (?:of|on|about) (?:my|our|the) refunds?",
    r"is (?:my|the) refund (?:done|through|on its way|processed|issued)",
)
# Before a refund is asked about in so many words: a request for one ("I want a refund", "refund the mug") or a
# question of policy ("how long do refunds take?") is not a question about one issued.
NOT_REFUND_STATUS = _any(r"how long|how many days|would|if (?:i|we)|can (?:i|we)|should")
# A gift card written as the customer gave it: its last characters after "ending" ("ending 4F2K", "ends in 4f2k",
# "last 4 are 4F2K"), or a code of at least 8 letters and digits with a digit in it ("HSK7-Q2MW-9TZP-4F2K").
CARD_ENDING = re.compile(
    r"\b(?:ending(?: in| with)?|ends (?:in|with)|last (?:4|four)(?: digits| characters| letters)?(?: (?:are|is))?)"
    r"\s*[:#]?\s*([A-Za-z0-9]{4})\b",
    re.IGNORECASE,
)
CARD_CODE = re.compile(r"(?<![A-Za-z0-9-])[A-Za-z0-9]{2,}(?:[- ][A-Za-z0-9]{2,}){0,7}(?![A-Za-z0-9-])")
CARD_CODE_LENGTH = 8


def card_reference(text: str) -> str | None:
    """The gift card a message names, as written: its last characters after "ending", or a code-like run of letters
    and digits (at least 8, a digit among them); None when it names none."""
    ending = CARD_ENDING.search(text)
    if ending:
        return ending.group(1)
    for match in CARD_CODE.finditer(text):
        for part in _code_runs(match.group(0)):
            compact = re.sub(r"[^A-Za-z0-9]", "", part)
            if len(compact) >= CARD_CODE_LENGTH and any(c.isdigit() for c in compact):
                return part
    return None


def _code_runs(found: str) -> list[str]:
    """A code-like match split where a plain word joins it ("card HSK7-Q2MW please" is "HSK7-Q2MW"): the longest
    runs of parts that each hold a digit or are written in capitals."""
    parts = re.split(r"(?<=[A-Za-z0-9])([- ])(?=[A-Za-z0-9])", found)
    runs: list[str] = []
    current = ""
    for index in range(0, len(parts), 2):
        part = parts[index]
        codelike = any(c.isdigit() for c in part) or (part.isupper() and len(part) >= 2)
        if codelike:
            current = f"{current}{parts[index - 1]}{part}" if current else part
        elif current:
            runs.append(current)
            current = ""
    if current:
        runs.append(current)
    return runs


def asked(text: str) -> AccountQuestion | None:
    """The account question a message asks, or None; each of its clauses is read on its own ("how much is left on my
    gift card? Which card did I pay with?" asks two). A message that also asks for something to be done (a return, a
    cancellation, an address change…) is not read as one: the request is made the way it always was."""
    if not text.strip() or signals.acting_requests(text):
        return None
    found = [q for clause in signals.clauses(text) or [text] if (q := _asked(clause, text)) is not None]
    if not found:
        return None
    kinds = list(dict.fromkeys(q.asked for q in found))
    if len(kinds) > 1 and Asked.PURCHASED in kinds:
        kinds.remove(Asked.PURCHASED)  # one lookup answers a message: the account's, for the rest it asks
    return AccountQuestion(
        kinds[0],
        gift_card=next((q.gift_card for q in found if q.gift_card), None),
        order_id=next((q.order_id for q in found if q.order_id), None),
        more=tuple(kinds[1:]),
    )


def other_questions(text: str) -> list[str]:
    """The clauses of a message that ask something besides its account questions ("what did I buy, and does that
    jacket run small?" -> ["does that jacket run small?"]): the help center may answer them beside the account's."""
    return [
        clause
        for clause in signals.clauses(text)
        if _asked(clause, text) is None
        and (clause.rstrip().endswith("?") or signals.QUESTION_START.match(signals.normalize(clause)))
    ]


def _asked(clause: str, text: str) -> AccountQuestion | None:
    """The account question one clause asks; an order it names may be written elsewhere in the message."""
    normalized = signals.normalize(clause)
    if not normalized:
        return None
    if GIFT_CARD.search(normalized):
        card = card_reference(clause)
        own = OWN_CARD.search(normalized) or card is not None
        if own and GIFT_CARD_ASKED.search(normalized) and not NOT_OWN_BALANCE.search(normalized):
            return AccountQuestion(Asked.GIFT_CARD, gift_card=card)
        return None
    if STORE_CREDIT.search(normalized):
        if CREDIT_ASKED.search(normalized) and not NOT_OWN_BALANCE.search(normalized):
            return AccountQuestion(Asked.STORE_CREDIT)
        return None
    if REFUND.search(normalized) and not NOT_REFUND_STATUS.search(normalized):
        return AccountQuestion(Asked.REFUND, order_id=order_reference(clause) or order_reference(text))
    if PAYMENT.search(normalized):
        return AccountQuestion(Asked.PAYMENT, order_id=order_reference(clause) or order_reference(text))
    if ORDERS.search(normalized):
        return AccountQuestion(Asked.ORDERS)
    if PURCHASED.search(normalized) and not NOT_PURCHASED.search(normalized):
        return AccountQuestion(Asked.PURCHASED)
    return None
