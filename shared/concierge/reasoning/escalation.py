"""Handoff triggers from PRODUCT.md, enforced by code whatever engine decides the turn.

Checked before any model is asked (so "I want a human" hands off at once, on every channel), and again on the
model's answer (low confidence becomes an offer of a person, not a guess).
"""

from __future__ import annotations

import re

from concierge.conversation.turn import ReadyTurn

LOW_CONFIDENCE = 0.4
STRONGLY_NEGATIVE = -0.6
ASKING_SENTIMENT = -0.85
WORSENING_DROP = 0.6  # sentiment fell this much across the last messages, and is negative now
ACCEPTS = re.compile(
    r"\b(i understand|understood|fair enough|makes sense|no worries|i see|that's fine|that is fine|"
    r"i get it|ok,? thanks)\b",
    re.IGNORECASE,
)
SARCASTIC_THANKS = re.compile(
    r"\bthanks? (for nothing|a lot\b.*\b(not|never|useless))|\bthanks for wasting\b", re.IGNORECASE
)
PAYMENT_FAILURE = re.compile(
    r"\b(payment|card)\b.{0,30}\b(failed|declined|rejected|didn'?t go through|not going through)\b"
    r"|\b(charged|billed) (twice|two times|double)\b|\bdouble(-| )charged\b"
    # a double charge in other words: "the pan was taken twice", "two payments of $50.95", "a duplicate charge"
    r"|\b(charged|billed|taken|debited|deducted|withdrawn)\b(\s+(me|us|for it|for them|from (my|our) \w+))?\s+"
    r"(twice|two times|double)\b"
    r"|(?<!\bin )\btwo\s+(identical\s+|separate\s+|duplicate\s+|same\s+)?(payments|charges|debits|transactions)"
    r"\s+(of|for|on|from|taken|went)\b"
    r"|\b(duplicate|double|repeated)\s+(payment|charge|debit|transaction)s?\b",
    re.IGNORECASE,
)


def trigger(turn: ReadyTurn, sentiments: list[float] | None = None, misses: int = 0) -> str | None:
    """The reason this turn must go to a person, or None. `sentiments` are the conversation's so far."""
    s = turn.signals
    if s.wants_human:
        return "customer asked for a human"
    if s.frustrated:
        return "customer is frustrated"
    # Describing a fault is negative by nature ("it already looks grey and dirty :("), and so is a question that
    # mentions a dislike ("can I use Apple Pay, I hate typing my card number"): a message that asks for something the
    # assistant can do or answer goes to a person only when it is very negative; venting alone, sooner.
    # Whether it asks is read from its words (`Signals.asks`), not inferred: "it fell apart after a week, so sad"
    # may well mean a return, but it vents more than it asks.
    asks = s.asks
    if s.sentiment <= (ASKING_SENTIMENT if asks else STRONGLY_NEGATIVE):
        return "strongly negative sentiment"
    history = sentiments or []
    # A customer who closes with thanks ("Oh, I didn't realise. OK, thanks anyway.") is taking the answer, not
    # getting angrier, unless the thanks is sarcastic.
    closing = (s.intent in ("thanks", "goodbye") or ACCEPTS.search(turn.message.text)) and not SARCASTIC_THANKS.search(
        turn.message.text
    )
    worsening = len(history) >= 3 and history[-1] < -0.2 and max(history[-4:-1]) - history[-1] >= WORSENING_DROP
    if worsening and not closing:
        return "sentiment is getting worse"
    if misses >= 2 and not closing:  # "I'll hang on to it then, thanks" drops the request: nothing failed
        return "two failed attempts at the same request"
    if PAYMENT_FAILURE.search(turn.message.text):
        return "payment failure"
    return None
