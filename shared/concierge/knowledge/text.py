"""Text analysis shared by every knowledge index: the same terms for documents and questions."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache

# A word list kept as grouped, commented prose (SIM905 would make it one word per line).
STOPWORDS = frozenset(
    "a an and are as at be by can could do does for from how i if in is it its me my of on or our so that the "  # noqa: SIM905
    "their them there this to was we what when where which who why will with you your yours i'm im get got long take "
    "much many need want know tell please like would should any have has just about "
    # Filler and function words that say nothing about what is asked ("return stuff", "after a return").
    "stuff thing things something anything anyone someone after until already also still really very now then than "
    "go goes going he she him her his hers they us ours put too yes no ok okay "
    # the chat around a question ("quick question", "btw", "lol")
    "hi hey hello thanks thank btw lol quick question questions actually wondering "
    # what is left of a negation once its "'t" is cut off ("doesn't" -> "doesn")
    "don doesn didn isn aren wasn weren won wouldn couldn shouldn haven hasn hadn ain".split()
)
CONTRACTION = re.compile(r"['’](s|re|ve|ll|d|m|t)\b")
# Questions about duration are answered in days ("3 to 5 business days"): "how long" searches for them.
HOW_LONG = re.compile(r"\bhow (long|soon|many days)\b")


def stem(word: str) -> str:
    for suffix, keep in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            base = word[: -len(suffix)] + keep
            # "shipping", "shipped" -> "ship", as "ships" is ("filled" keeps its double l).
            if suffix in ("ing", "ed") and len(base) >= 4 and base[-1] == base[-2] and base[-1] not in "aeiouylsz":
                base = base[:-1]
            return base
    return word


# How customers say what help centers write. Applied to questions only (documents keep their own words),
# by replacement, so that a rewritten word counts once in the question's coverage.
QUERY_REWRITES: tuple[tuple[str, str], ...] = (
    (r"\bsend(ing)? (it|them|this|that|something|stuff|an item|items?)? ?back\b", "return"),
    (r"\bmoney back\b", "refund"),
    (r"\b(postage|delivery (fee|fees|charge|charges|cost|costs))\b", "shipping costs"),
    (r"\b(customs|import) (fees|charges|tax|taxes|duty|duties)\b|\bcustoms\b", "duties"),
    (r"\b(billed|charged|debited) (twice|two times|double)\b|\bdouble (charged|billed)\b", "charged twice"),
    (r"\bbilled\b", "charged"),
    (
        r"\b(money|payment) (actually )?(leaves?|comes? out of|gets? taken from|is taken from|goes? out of) my "
        r"(account|card|bank)\b",
        "charged",
    ),
    (r"\bcourier\b", "carrier"),
    (r"\b(package|packages)\b", "parcel"),
    (r"\bdropped off\b", "delivered"),
    (r"\b(pricier|more expensive|costs? more)\b", "costs more"),
    (r"\b(normal|regular|standard) (delivery|postage)( option)?\b", "standard shipping"),
    (r"\b(late|running late|delayed|(has ?n[o']?t|not) (moved|updated|changed))\b", "delayed not updated"),
    (r"\b(bigger|larger) size\b|\bsize(s)? bigger\b", "size up"),
    (r"\b(smaller) size\b", "size down"),
    (r"\bminimum (spend|order)\b", "orders of free"),
    (r"\bbroke\b", "broken"),
    (
        r"\b(is|are|would|will) (it|that|this|they|these) (still )?covered\b(?!\s+(by|in|with|for)\b)"
        r"|\bunder warranty\b",
        "warranty covered",
    ),
    # a quantity pointed back at ("a discount for that many?") or said as one: what help centers call bulk.
    # Not "wholesale": a help center's own word for its trade terms, which rewriting would stop matching.
    (
        r"\b((buy(ing)?|order(ing)?|get(ting)?|for|of|on) (that|this) many|(buy(ing)?|order(ing)?) so many|"
        r"in bulk|a lot of them|large (quantit(y|ies)|orders?)|in quantity)\b"
        # a quantity of ten or more said as a number: "if I order like 30 of them", "we want 40 mugs" (an order
        # number, "order 1034", has more digits and no plural after it)
        r"|\b(buy(ing)?|order(ing)?|get(ting)?|need|want)\s+(like\s+|about\s+|around\s+|roughly\s+|some\s+|maybe\s+)?"
        r"\d{2,3}\s+(of (them|those|these|the|your|our)\b"
        # a plural of a thing, not of time or money ("30 days to return it", "10 bucks off")
        r"|(?!(?:days|weeks|months|years|hours|minutes|bucks|dollars|euros|pounds|percent|items? (?:is|was))\b)"
        r"[a-z]{3,}s\b)",
        "bulk orders",
    ),
    (r"\b(coming|came|fell|falling|peeling) (off|apart|away)\b", "separation defects"),
)


@cache
def _query_rewrites() -> tuple[tuple[re.Pattern[str], str], ...]:
    """QUERY_REWRITES compiled, on first use: only a question's retrieval rewrites it, while ingest and the agent load
    this module for its other helpers."""
    return tuple((re.compile(pattern), replacement) for pattern, replacement in QUERY_REWRITES)


def doubled(typed: str, word: str) -> bool:
    """True when `typed` is `word` with letters repeated ("shippping" for "shipping")."""
    return re.sub(r"(.)\1+", r"\1", typed) == re.sub(r"(.)\1+", r"\1", word)


def typo_candidates(word: str, known: Iterable[str]) -> list[str]:
    """The known words `word` may be a typo of: a typo drops or swaps letters ("jaket", "retrun") or doubles one
    ("shippping"); a word one letter longer than a known word that is not a doubling is another word ("spend" is not
    "send", "black" is not "back")."""
    return [w for w in known if abs(len(w) - len(word)) <= 2 and (len(w) >= len(word) or doubled(word, w))]


def rewrite_query(text: str) -> str:
    text = CONTRACTION.sub("", text.lower().replace("’", "'"))
    for pattern, replacement in _query_rewrites():
        text = pattern.sub(replacement, text)
    return text


def terms(text: str) -> list[str]:
    words = re.findall(r"[a-z0-9]+", HOW_LONG.sub(" days ", CONTRACTION.sub("", text.lower())))
    return [stem(w) for w in words if w not in STOPWORDS]


def query_terms(text: str) -> list[str]:
    return terms(rewrite_query(text))
