"""Promotions in merchant.json: validated where they are written, applied by code to a cart's lines — which ones a
line takes, what an order promotion needs, when delivery is free, and that a promotion outside its dates does
nothing. Figures are exact to the cent."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from concierge.catalogue.promotions import PricedLine, price
from concierge.store.merchant import MerchantProfile
from concierge.store.storefolder import check_store_folder, load_store_folder
from tests.unit.shop import NOW, merchant

STORES = Path(__file__).parents[2] / "stores"
SHOP = merchant()


def line(product_id: str, category: str, unit: str, quantity: int = 1, tags: tuple[str, ...] = ()) -> PricedLine:
    return PricedLine(product_id=product_id, category=category, tags=tags, unit_price=Decimal(unit), quantity=quantity)


def priced(*lines: PricedLine, shipping: str | None = "3.99", when=NOW, free_shipping: bool = True):
    return price(lines, SHOP.promotions, when, Decimal(shipping) if shipping else None, free_shipping=free_shipping)


def test_a_percentage_applies_to_the_lines_in_its_scope_only_to_the_cent():
    pricing = priced(line("balloons", "party", "6.35", 3), line("science-kit", "toys", "29.00"))
    assert pricing.line_discounts == [Decimal("1.91"), Decimal("0.00")], "10% of 19.05 is 1.905: half up"
    assert pricing.line_promotions == ["party-week", None]
    assert pricing.subtotal == Decimal("48.05") and pricing.discount == Decimal("1.91")


def test_a_line_takes_the_promotion_that_saves_it_most_never_two():
    pricing = priced(line("party-bags", "party", "2.50", 6))
    # 10% off six bags is 1.50; two of six free is 5.00: the better one alone
    assert (pricing.line_discounts, pricing.line_promotions) == ([Decimal("5.00")], ["bags-3-for-2"])
    assert [p.id for p in pricing.applied] == ["bags-3-for-2"]


@pytest.mark.parametrize(("quantity", "free"), [(2, 0), (3, 1), (5, 1), (6, 2)])
def test_buy_two_get_one_gives_one_of_every_three(quantity, free):
    shop = merchant(promotions=[p for p in SHOP.promotions if p.id == "bags-3-for-2"])
    pricing = price([line("party-bags", "party", "2.50", quantity)], shop.promotions, NOW, None)
    assert pricing.discount == Decimal("2.50") * free


def test_an_order_promotion_needs_its_subtotal_in_scope_after_line_discounts():
    under = priced(line("science-kit", "toys", "29.00"), line("balloons", "party", "30.00"))
    assert "five-off-fifty" not in [p.id for p in under.applied], "only 29.00 of toys"
    over = priced(line("science-kit", "toys", "29.00", 2))
    assert [p.id for p in over.applied if p.kind == "amount_off"] == ["five-off-fifty"]
    assert over.total == Decimal("53.00"), "58.00 - 5.00, free delivery over 30"


def test_delivery_is_free_from_the_threshold_and_the_gap_is_said_below_it():
    below = priced(line("candles", "party", "10.00", 2))  # 20.00 - 10% = 18.00
    assert below.shipping == Decimal("3.99") and below.free_shipping_from == Decimal("30")
    assert below.total == Decimal("21.99")
    at = priced(line("science-kit", "toys", "30.00"))
    assert at.shipping == Decimal("0.00") and at.total == Decimal("30.00")
    assert "free-delivery" in [p.id for p in at.applied]
    discounted_below = priced(line("balloons", "party", "33.00"))  # 33.00 - 3.30 = 29.70: under 30 after discount
    assert discounted_below.shipping == Decimal("3.99")


def test_express_delivery_is_never_made_free():
    pricing = priced(line("science-kit", "toys", "40.00"), shipping="7.99", free_shipping=False)
    assert pricing.shipping == Decimal("7.99") and pricing.free_shipping_from is None


def test_a_promotion_applies_only_between_its_dates_and_while_enabled():
    before = priced(line("balloons", "party", "6.00"), when=NOW - timedelta(days=1))
    assert before.discount == 0, "the party week starts on the 7th"
    last_moment = priced(line("balloons", "party", "6.00"), when=NOW.replace(day=13, hour=23, minute=59))
    assert last_moment.discount == Decimal("0.60")
    after = priced(line("balloons", "party", "6.00"), when=NOW.replace(day=14, hour=0))
    assert after.discount == 0, "ends_at is the first moment it no longer runs"
    disabled = merchant(promotions=[{**SHOP.promotions[1].model_dump(mode="json"), "enabled": False}])
    assert price([line("balloons", "party", "6.00")], disabled.promotions, NOW, None).discount == 0


def test_an_empty_cart_costs_nothing():
    assert priced().total == Decimal("0.00")


@pytest.mark.parametrize(
    ("promotion", "problem"),
    [
        ({"id": "p", "kind": "percent_off", "label": "Sale"}, "percent"),
        ({"id": "p", "kind": "percent_off", "label": "Sale", "percent": 95}, "less than or equal to 90"),
        ({"id": "p", "kind": "half_price", "label": "Sale"}, "percent_off"),
        ({"id": "p", "kind": "free_shipping", "label": "Free", "colour": "red"}, "Extra inputs are not permitted"),
        (
            {
                "id": "p",
                "kind": "free_shipping",
                "label": "Free",
                "starts_at": "2026-12-10T00:00:00Z",
                "ends_at": "2026-12-01T00:00:00Z",
            },
            "ends_at is not after starts_at",
        ),
        ({"id": "p", "kind": "free_shipping", "label": "Free", "starts_at": "2026-12-10T00:00:00"}, "time zone"),
        ({"id": "Big Sale", "kind": "free_shipping", "label": "Free"}, "should match pattern"),
    ],
)
def test_a_promotion_that_cannot_be_applied_as_written_is_refused(promotion, problem):
    with pytest.raises(ValidationError, match=problem):
        merchant(promotions=[promotion])


def test_two_promotions_with_one_id_and_links_without_their_placeholders_are_refused():
    twice = {"id": "p", "kind": "free_shipping", "label": "Free"}
    with pytest.raises(ValidationError, match="used twice"):
        merchant(promotions=[twice, twice])
    with pytest.raises(ValidationError, match=re.escape("should contain {items}")):
        merchant(storefront={"checkout_url": "https://shop.example/cart"})
    with pytest.raises(ValidationError, match="https:// link or a path"):
        merchant(storefront={"checkout_url": "javascript:alert(1)//{items}"})
    with pytest.raises(ValidationError, match=re.escape("unknown placeholders {sku}")):
        merchant(storefront={"checkout_url": "/cart?add={items}&first={sku}"})


def test_the_sample_stores_promotions_are_valid_and_name_what_they_sell():
    for store in ("home-kitchen", "electronics"):
        assert check_store_folder(STORES / store) == []
        profile = load_store_folder(STORES / store).merchant
        assert profile is not None and profile.promotions and profile.delivery is not None


def test_a_promotion_naming_a_category_nobody_sells_is_a_problem_of_the_folder(tmp_path):
    import shutil

    folder = tmp_path / "store"
    shutil.copytree(STORES / "home-kitchen", folder)
    text = (
        (folder / "merchant.json")
        .read_text()
        .replace('"categories": [\n        "coffee"', '"categories": [\n        "tea"')
    )
    (folder / "merchant.json").write_text(text)
    problems = [str(p) for p in check_store_folder(folder)]
    assert problems == [
        "merchant.json: promotion 'holiday-coffee': promotions.1.categories.0: names category 'tea', which no "
        "product in products.json has"
    ]


def test_a_sample_stores_promotions_move_with_its_snapshot():
    written = load_store_folder(STORES / "home-kitchen").merchant
    moved = load_store_folder(STORES / "home-kitchen", today=date(2026, 12, 9)).merchant
    assert written is not None and moved is not None
    before = {p.id: p.starts_at for p in written.promotions}
    after = {p.id: p.starts_at for p in moved.promotions}
    assert after["holiday-coffee"] == before["holiday-coffee"] + timedelta(days=10)  # type: ignore[operator]
    assert after["free-standard-shipping"] is None


def test_merchant_json_without_selling_fields_keeps_the_defaults():
    bare = MerchantProfile(name="Plain", return_window_days=14, max_auto_refund=Decimal("50"))
    assert (bare.currency, bare.delivery, bare.promotions, bare.storefront.checkout_url) == ("USD", None, [], None)
