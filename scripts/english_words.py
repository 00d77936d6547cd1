"""Writes shared/concierge/reasoning/data/english-words.txt: the 30,000 most frequent English words of four letters or
more, from pyspellchecker's English frequency list (MIT licence; a dev dependency, never shipped in a function).

`signals.normalize` corrects a customer's typos towards the words the assistant acts on, and must never "correct" a
word that is already English ("a whole new set" is not "a holes new set"). Four letters or more: shorter words are
never corrected. Run again only to change the list's size; `tests/unit/test_english_words.py` checks the file is the
one this script writes.

    python scripts/english_words.py
"""

from __future__ import annotations

import gzip
import json
from importlib.resources import files
from pathlib import Path

SIZE = 30_000
OUT = Path(__file__).resolve().parent.parent / "shared" / "concierge" / "reasoning" / "data" / "english-words.txt"
HEADER = (
    "# The 30,000 most frequent English words of 4+ letters (pyspellchecker's English list, MIT): "
    "scripts/english_words.py\n"
)


def words(size: int = SIZE) -> list[str]:
    frequencies: dict[str, int] = json.loads(
        gzip.decompress(files("spellchecker").joinpath("resources/en.json.gz").read_bytes())
    )
    ranked = sorted(
        ((w, n) for w, n in frequencies.items() if w.isascii() and w.isalpha() and len(w) >= 4),
        key=lambda kv: (-kv[1], kv[0]),
    )
    return sorted(w for w, _ in ranked[:size])


def render(size: int = SIZE) -> str:
    return HEADER + "\n".join(words(size)) + "\n"


if __name__ == "__main__":
    OUT.write_text(render())
    print(f"{OUT}: {SIZE} words")
