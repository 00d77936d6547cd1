"""The last check on what the assistant says: no reply asks a customer for a secret.

Whatever wrote the reply — the deterministic engine quoting a help passage, or a model that read one — a sentence
that asks for a card number, a security code, a PIN, a password, a one-time code, a bank login or an identity
number is withheld before the reply is stored or sent, and the customer is told instead never to share them here.
The assistant never needs any of these: payments, refunds and account changes go through the action layer, which
asks for none. The passage classifier (`knowledge/injection.py`) catches some poisoned passages before they are
used; this guard holds for every reply, however the request got in.

A sentence counts when it names such a secret and asks for it: a verb that hands it over ("send", "share", "tell",
"reply with", "what is your…", "can you…"), or one that uses it ("type", "enter", "confirm") pointed at this
conversation ("here", "in the chat", "in your next message", "to us", "by email") — unless the request is negated
("we will never ask for your password", "do not share your PIN"). Entering a code at checkout, in the app or on a
terminal is not a request to the chat.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

NOTICE = "For your security, never share card details, passwords or codes in this chat: we will never ask for them."

SECRET = re.compile(
    r"\b(?:card\s*(?:number|no\.?|details|info(?:rmation)?)|full\s+card|long\s+number\s+on\s+(?:the|your)\s+card"
    r"|1[56][\s-]*digit|cvv2?|cvc2?|cid\s+code|security\s+code|card\s+verification|(?:three|four|3|4)[\s-]*digit"
    r"\s+(?:code|number)|digits?\s+(?:on|at)\s+the\s+back|expir(?:y|ation)\s+date|pin(?:\s*code|\s*number)?"
    r"|passcode|pass\s*phrase|password|passwd|one[\s-]*time\s+(?:pass)?(?:code|password|pin)|otp|2fa\s+code"
    r"|verification\s+code|authentication\s+code|sms\s+code|login\s+(?:details|credentials|info)|log[\s-]*in"
    r"\s+(?:details|credentials)|online\s+banking|bank(?:ing)?\s+(?:login|credentials|password|details)"
    r"|security\s+(?:question|answer)s?|maiden\s+name|social\s+security|\bssn|national\s+(?:id|insurance)"
    r"\s+number|recovery\s+(?:phrase|code)|seed\s+phrase|private\s+key)\b"
)
# Verbs that hand a secret to someone: a request with one of these counts wherever it points.
DISCLOSE = re.compile(
    r"\b(?:send|sends|share|provide|give|tell|read\s+(?:out|back|us|me)|spell|upload|attach|post|paste|e-?mail(?!\s*address)"
    r"|text\s+us|dm|submit|reply\s+with|respond\s+with|let\s+us\s+know|ask(?:s|ed)?\s+(?:you\s+)?for"
    r"|what(?:'s|\s+is|\s+are)\s+(?:your|the)|could\s+you|can\s+you|would\s+you|we\s+need|need\s+your)\b"
)
# Verbs of using a secret ("enter your PIN on the terminal"): a request only when it points at this conversation.
USE = re.compile(r"\b(?:type|enter|write|confirm|include|verify|key\s+in)\b")
HERE = re.compile(
    r"\b(?:here|(?:in|into|to|on)\s+(?:this|the|our)\s+(?:chat|conversation|thread)|(?:in|with)\s+your\s+"
    r"(?:next\s+)?(?:reply|message|answer)|to\s+(?:us|me|the\s+assistant|our\s+team)|below|by\s+(?:email|e-mail"
    r"|whatsapp))\b"
)
NEGATED = re.compile(
    r"\b(?:never|not|don't|dont|do\s+not|won't|will\s+not|shouldn't|should\s+not|must\s+not|mustn't|cannot"
    r"|can't)\s+(?:(?:ever|you|we|us|to|be|asked|ask\s+you\s+to)\s+){0,3}(?:ask|send|share|provide|give|type|enter"
    r"|reply|tell|request|need|email|text"
    r"|post|write|disclose|reveal)\b"
    r"|\b(?:no\s+one|nobody|no\s+(?:member|employee|agent|one\s+from))\b"
)
SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")


@dataclass(frozen=True)
class Guarded:
    text: str
    withheld: int  # how many sentences were withheld (their text is never logged: it may quote an attacker)


LEET = re.compile(r"[a-z][0-9@$][a-z]|[0-9][a-z]{2}", re.IGNORECASE)  # digits inside words: "p4ssw0rd"


def _readable(sentence: str) -> str:
    """The sentence as the patterns read it: casefolded, and undisguised when it looks disguised (look-alike
    letters, invisible characters, leetspeak)."""
    text = sentence.casefold()
    if not text.isascii() or LEET.search(text):
        from concierge.knowledge.injection import normalize  # its tables cost a cold start most replies never need

        text = normalize(sentence)
    return text


def asks_for_a_secret(sentence: str) -> bool:
    text = _readable(sentence)
    asks = DISCLOSE.search(text) or (USE.search(text) and HERE.search(text))
    return bool(SECRET.search(text) and asks and not NEGATED.search(text))


# Where entering a secret is the customer's own business, not the chat's: a help passage may say so.
SAFE_PLACE = re.compile(
    r"\b(?:checkout|check-out|payment\s+(?:form|page|field|step|screen)|card\s+(?:terminal|reader)|terminal"
    r"|(?:in|on)\s+(?:the|our|your)\s+(?:app|website|site|account\s+page|settings)|settings\s*>\s*\w|sign[\s-]*in\s+page"
    r"|log[\s-]*in\s+page|reset\s+link|forgot\s+password|bank'?s\s+(?:app|website))\b"
)


def quotable(sentence: str) -> bool:
    """Whether a sentence of a help passage may be quoted to a customer word for word. Stricter than a reply: a
    passage sentence that names a secret is quoted only when it is negated advice ("we never ask for your PIN") or
    says where the customer enters it themselves (checkout, the app, a terminal) — never an instruction about
    collecting one, however it is worded."""
    text = _readable(sentence)
    if not SECRET.search(text) or NEGATED.search(text):
        return True
    return bool(SAFE_PLACE.search(text)) and not asks_for_a_secret(sentence)


def quotable_text(passage: str) -> str:
    """The passage without the sentences that may not be quoted (empty when none may)."""
    return " ".join(part for part in SENTENCE.split(passage) if part.strip() and quotable(part))


def _flat(text: str) -> str:
    return " ".join(text.casefold().split())


def _quoted(sentence: str, sources: Sequence[str]) -> bool:
    """Whether the sentence repeats one of the retrieved passages word for word (six words or more)."""
    flat = _flat(sentence).rstrip(".!?")
    return len(flat.split()) >= 6 and any(flat in _flat(source) for source in sources)


def guard(reply: str, sources: Sequence[str] = ()) -> Guarded:
    """The reply without the sentences that ask for a secret, nor those repeating a passage of `sources` (what the
    turn retrieved) that may not be quoted, and the notice once in their place."""
    parts = [p for p in SENTENCE.split(reply) if p.strip()]
    kept = [p for p in parts if not asks_for_a_secret(p) and (quotable(p) or not _quoted(p, sources))]
    withheld = len(parts) - len(kept)
    if not withheld:
        return Guarded(reply, 0)
    return Guarded(" ".join([*kept, NOTICE]).strip(), withheld)
