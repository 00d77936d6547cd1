"""Text analysis shared by every knowledge index: the same terms for documents and questions."""
from __future__ import annotations

import re

STOPWORDS = frozenset(
    "a an and are as at be by can could do does for from how i if in is it its me my of on or our so that the "
    "their them there this to was we what when where which who why will with you your yours i'm im get got long take "
    "much many need want know tell please like would should any have has just about".split()
)
CONTRACTION = re.compile(r"['’](s|re|ve|ll|d|m|t)\b")
# Questions about duration are answered in days ("3 to 5 business days"): "how long" searches for them.
HOW_LONG = re.compile(r"\bhow (long|soon|many days)\b")


def stem(word: str) -> str:
    for suffix, keep in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)] + keep
    return word


def terms(text: str) -> list[str]:
    words = re.findall(r"[a-z0-9]+", HOW_LONG.sub(" days ", CONTRACTION.sub("", text.lower())))
    return [stem(w) for w in words if w not in STOPWORDS]
