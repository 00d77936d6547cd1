"""The shops no rule was written for (evaluation/understanding/unseen-shops/): their labels name real things of the
customer who writes, their figures hold a floor, and their misses are never printed."""

from __future__ import annotations

from pathlib import Path

import pytest

from concierge.dev import cli
from concierge.reasoning.understanding_eval import UNSEEN_SHOPS, figures, load_shop, score_shops

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / UNSEEN_SHOPS
SHOPS = sorted(FOLDER.glob("*.json"))


def test_there_are_shops_of_verticals_of_their_own_with_forty_messages_each():
    assert len(SHOPS) >= 3
    assert all(len(load_shop(path).messages) == 40 for path in SHOPS)


@pytest.mark.parametrize("path", SHOPS, ids=lambda p: p.stem)
def test_every_label_names_something_of_the_customer_who_writes(path):
    shop = load_shop(path)
    for m in shop.messages:
        orders = shop.orders[m.customer]
        if m.order and not m.order.startswith("!"):
            assert m.order in {o["order_id"] for o in orders}, m.text
        if m.item:
            assert m.item in {line["product_id"] for o in orders for line in o["lines"]}, m.text
        if m.variant:  # of the item, or (a message about several items) of one of theirs
            mine = [m.item] if m.item else sorted({line["product_id"] for o in orders for line in o["lines"]})
            assert any(
                all(
                    any(v["options"].get(k) == value for v in shop.products[p]["variants"])
                    for k, value in m.variant.items()
                )
                for p in mine
            ), m.text


def test_their_figures_hold_the_floor():
    """First measured at intent 0.892, entity 0.764 (before the round that added them); 0.917 and 0.803 after it.
    The floor is a little under the last: a change that loses understanding on shops nobody tuned on fails here."""
    result = figures(score_shops(FOLDER))
    assert result["intent_accuracy"] >= 0.9
    assert result["entity_accuracy"] >= 0.78


def test_their_misses_are_never_printed(monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    assert cli.main(["understanding", "--shops", str(UNSEEN_SHOPS), "--misses"]) == 2
    assert "refused" in capsys.readouterr().err
    assert cli.main(["understanding", "--shops", str(UNSEEN_SHOPS)]) == 0
    printed = capsys.readouterr().out
    assert "intent" in printed and "luggage" in printed
