"""How well the tuning half is read by an intent model that never saw it: the model ships trained on the tuning half,
so its figure there (0.99) says only that it learnt what it was shown. Here the tuning half is cut in five by a hash
of each id, and each fifth is read (the model and the rules, `understanding.read`) by a model trained on everything
else it is trained on (the written files, the development shops, the other four fifths). The rules were fitted to
the tuning half, so this is still not a held-out figure; it shows where the model fails on messages like the
held-out half's without printing any of those (the held-out half is never read here).

Usage: python benchmarks/intent_tune_cv.py [--misses]   (about half a minute of training per fifth)
Not run by `make bench`: it measures understanding, not speed.
"""

from __future__ import annotations

import argparse
import functools
import zlib
from pathlib import Path

from concierge.reasoning import intentmodel
from concierge.reasoning.understanding import read
from concierge.reasoning.understanding_eval import SET, TRAINING, StoreContext, load, training_set

ROOT = Path(__file__).resolve().parents[1]
FOLDS = 5


def use(model: intentmodel.IntentModel) -> None:
    """Make `model` the one every reading uses (intentmodel.model() is looked up at each call)."""
    intentmodel.model = functools.lru_cache(maxsize=1)(lambda: model)  # type: ignore[assignment]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--misses", action="store_true", help="list the tuning messages misread")
    args = parser.parse_args()
    tune = [m for m in load(ROOT / SET) if m.split == "tune"]
    fold = {m.id: zlib.crc32(m.id.encode()) % FOLDS for m in tune}
    pairs = training_set(ROOT / TRAINING, ROOT / SET)
    stores: dict[str, StoreContext] = {}
    hits, misses = 0, []
    for k in range(FOLDS):
        left_out = {m.text for m in tune if fold[m.id] == k}
        kept = [(t, i) for t, i in pairs if t not in left_out]
        use(intentmodel.train([t for t, _ in kept], [i for _, i in kept]))
        for m in (m for m in tune if fold[m.id] == k):
            store = stores.setdefault(m.store, StoreContext(ROOT / "stores" / m.store))
            got = read(m.text, store.orders.get(m.customer, []), store.products).intent.value
            hits += got == m.main_intent
            if got != m.main_intent:
                misses.append(f"{m.id} [{m.kind}] {m.main_intent} <- {got}: {m.text}")
        print(f"fifth {k + 1}: {hits} of the tuning messages read so far", flush=True)
    print(f"intent, each fifth read by a model trained without it: {hits / len(tune):.3f} ({hits}/{len(tune)})")
    if args.misses:
        print("\n".join(misses))


if __name__ == "__main__":
    main()
