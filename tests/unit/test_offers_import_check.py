"""`concierge import --check` on a store's offers: the products and categories a trigger names exist in
products.json, and no percentage is above what the action layer may give (CONCIERGE_DISCOUNT_MAX_PERCENT)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from concierge.store.storefolder import check_store_folder

STORES = Path(__file__).parents[2] / "stores"


@pytest.fixture
def store(tmp_path) -> Path:
    folder = tmp_path / "home-kitchen"
    shutil.copytree(STORES / "home-kitchen", folder, ignore=shutil.ignore_patterns("scenarios"))
    return folder


def edit_offer(folder: Path, offer_id: str, **changes) -> None:
    path = folder / "merchant.json"
    merchant = json.loads(path.read_text())
    for offer in merchant["offers"]:
        if offer["id"] == offer_id:
            offer.update(changes)
    path.write_text(json.dumps(merchant))


@pytest.mark.parametrize("name", ["home-kitchen", "electronics"])
def test_the_shipped_stores_offers_pass(name):
    assert check_store_folder(STORES / name) == []


def test_an_offer_naming_a_product_or_category_the_store_does_not_sell_is_a_problem(store):
    edit_offer(
        store,
        "bean-subscription",
        trigger={"moment": "positive_feedback", "categories": ["coffee", "teapots"], "products": ["no-such-kettle"]},
    )
    problems = [str(p) for p in check_store_folder(store)]
    assert problems == [
        "merchant.json: offer 'bean-subscription': offers.2.trigger.products.0: names product 'no-such-kettle', which "
        "is not in products.json",
        "merchant.json: offer 'bean-subscription': offers.2.trigger.categories.1: names category 'teapots', which no "
        "product in products.json has",
    ]


def test_a_percentage_above_the_deployments_limit_is_a_problem(store):
    edit_offer(store, "bean-subscription", value={"type": "percent_off", "percent": 20})
    [problem] = check_store_folder(store)
    assert problem.field == "offers.2.value.percent"
    assert "is 20%, above the 15% the assistant may give (CONCIERGE_DISCOUNT_MAX_PERCENT)" in problem.message
    assert check_store_folder(store, max_discount_percent=25) == [], "a deployment that allows more"
