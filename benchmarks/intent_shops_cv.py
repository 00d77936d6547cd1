"""Does training the intent model on the development shops' messages help on a shop it never saw? Leave one shop
out: for each shop of evaluation/understanding/training/shops/, the model trained on everything else it is trained
on (the written files, the tuning half) without any shop, and with every other shop; each reads the shop left out
(intent as `concierge understanding` counts it: the model and the rules, `understanding.read`).

Usage: python benchmarks/intent_shops_cv.py [--shops NAME,NAME]   (about half a minute of training per shop)
Not run by `make bench`: it measures understanding, not speed.
"""

from __future__ import annotations

import argparse
import functools
from pathlib import Path

from concierge.reasoning import intentmodel
from concierge.reasoning.understanding import read
from concierge.reasoning.understanding_eval import SET, TRAINING, Shop, load_shop, training_set

ROOT = Path(__file__).resolve().parents[1]


def use(model: intentmodel.IntentModel) -> None:
    """Make `model` the one every reading uses (intentmodel.model() is looked up at each call)."""
    intentmodel.model = functools.lru_cache(maxsize=1)(lambda: model)  # type: ignore[assignment]


def intent_hits(shop: Shop) -> int:
    return sum(
        read(m.text, shop.orders.get(m.customer, []), shop.products).intent.value == m.main_intent
        for m in shop.messages
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shops", help="only these shops (comma-separated names)")
    args = parser.parse_args()
    shops = {p.stem: load_shop(p) for p in sorted((ROOT / TRAINING / "shops").glob("*.json"))}
    names = args.shops.split(",") if args.shops else list(shops)
    shop_texts = {m.text for shop in shops.values() for m in shop.messages}
    base = [(t, i) for t, i in training_set(ROOT / TRAINING, ROOT / SET) if t not in shop_texts]
    use(intentmodel.train([t for t, _ in base], [i for _, i in base]))
    without = {name: intent_hits(shops[name]) for name in names}
    total = [0, 0, 0]
    print(f"{'shop':14} {'messages':>8} {'without shops':>14} {'with the others':>16}")
    for name in names:
        others = [(m.text, m.main_intent) for other, shop in shops.items() if other != name for m in shop.messages]
        pairs = base + others
        use(intentmodel.train([t for t, _ in pairs], [i for _, i in pairs]))
        hits, n = intent_hits(shops[name]), len(shops[name].messages)
        total = [total[0] + without[name], total[1] + hits, total[2] + n]
        print(f"{name:14} {n:8} {without[name] / n:14.3f} {hits / n:16.3f}", flush=True)
    print(f"{'all':14} {total[2]:8} {total[0] / total[2]:14.3f} {total[1] / total[2]:16.3f}")


if __name__ == "__main__":
    main()
