"""The demo store: a seeded, date-relative generator of the import format, and the validating reader that
`concierge import DIR` uses."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from concierge.store.demo import generate_store, write_store
from concierge.store.models import OrderStatus, StoreData
from concierge.store.storefolder import load_store_folder

TODAY = date(2025, 5, 14)


@pytest.fixture(scope="module")
def store() -> StoreData:
    return generate_store(seed=7, today=TODAY)


def customer_orders(store: StoreData, customer_id: str):
    return sorted((o for o in store.orders if o.customer_id == customer_id), key=lambda o: o.placed_at, reverse=True)


# generation ------------------------------------------------------------------------------------------------------
def test_same_seed_and_date_give_the_same_store(store):
    assert generate_store(seed=7, today=TODAY) == store


def test_another_seed_or_date_gives_another_store(store):
    assert generate_store(seed=8, today=TODAY) != store
    later = generate_store(seed=7, today=TODAY + timedelta(days=1))
    assert later != store
    # dates move with "today" so the scripted orders stay inside the return window
    alex_now, alex_later = customer_orders(store, "alex")[0], customer_orders(later, "alex")[0]
    assert alex_later.placed_at - alex_now.placed_at == timedelta(days=1)


def test_sizes(store):
    assert len(store.customers) >= 50
    assert len(store.orders) == 200
    assert len({o.id for o in store.orders}) == 200
    assert len({c.id for c in store.customers}) == len(store.customers)


def test_every_order_status_is_present_and_consistent(store):
    by_status = {status: [o for o in store.orders if o.status is status] for status in OrderStatus}
    assert all(by_status[status] for status in OrderStatus), "pending, shipped, delivered and cancelled all appear"

    for order in by_status[OrderStatus.PENDING] + by_status[OrderStatus.CANCELLED]:
        assert order.shipment is None
    for order in by_status[OrderStatus.SHIPPED]:
        assert order.shipment and order.shipment.tracking_number and order.shipment.delivered_at is None
    for order in by_status[OrderStatus.DELIVERED]:
        assert order.shipment and order.shipment.tracking_number
        assert order.shipment.delivered_at is not None
        assert order.shipment.events[-1].status == "Delivered"


def test_alex_latest_order_is_a_delivered_blue_shirt_in_large_inside_the_return_window(store):
    alex = next(c for c in store.customers if c.id == "alex")
    assert alex.email == "alex@example.com"

    latest = customer_orders(store, "alex")[0]
    assert latest.status is OrderStatus.DELIVERED
    shirts = [line for line in latest.lines if "Shirt" in line.title]
    assert [(line.options["colour"], line.options["size"]) for line in shirts] == [("Blue", "L")]
    delivered = latest.shipment.delivered_at
    assert timedelta(0) < datetime.combine(TODAY, datetime.min.time(), tzinfo=UTC) - delivered < timedelta(days=30)
    assert latest.payment.describe() == "your Visa card ending 4242"


def test_sam_has_a_shipped_order_with_a_tracking_number(store):
    sam = next(c for c in store.customers if c.id == "sam")
    assert sam.email == "sam@example.com"
    shipped = [o for o in customer_orders(store, "sam") if o.status is OrderStatus.SHIPPED]
    assert shipped and shipped[0].shipment.tracking_number
    assert shipped[0].shipment.carrier in {"UPS", "FedEx", "USPS"}
    assert shipped[0].shipment.events, "tracking has at least one update"


def test_help_articles_cover_the_common_questions(store):
    topics = {a.topic for a in store.articles}
    assert {"shipping", "returns", "exchanges", "sizing", "warranty", "payments"} <= topics
    returns = next(a for a in store.articles if a.topic == "returns")
    assert "## Refund timing" in returns.body


def test_products_have_size_and_colour_variants(store):
    apparel = [p for p in store.products if p.category != "gift cards"]
    assert apparel
    for product in store.products:
        assert product.variants
        for variant in product.variants:
            assert set(variant.options) == {"colour", "size"}
            assert variant.price > 0 and variant.stock >= 0
    skus = [v.sku for p in store.products for v in p.variants]
    assert len(skus) == len(set(skus))
    oxford = next(p for p in store.products if p.id == "oxford-shirt")
    blue_xl = next(v for v in oxford.variants if v.options == {"colour": "Blue", "size": "XL"})
    assert blue_xl.stock > 0, "the size up from alex's shirt is in stock, so an exchange can be offered"


def test_final_sale_items_are_not_returnable(store):
    by_id = {p.id: p for p in store.products}
    assert by_id["gift-card"].returnable is False
    assert by_id["boxer-brief"].returnable is False
    assert by_id["oxford-shirt"].returnable is True


# files ------------------------------------------------------------------------------------------------------------
def test_write_and_read_round_trip(store, tmp_path):
    counts = write_store(store, tmp_path)

    assert counts == {
        "products": len(store.products),
        "customers": len(store.customers),
        "orders": 200,
        "articles": len(store.articles),
        "gift_cards": len(store.gift_cards),
    }
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "articles.json",
        "customers.json",
        "gift_cards.json",
        "merchant.json",
        "orders.json",
        "products.json",
    ]
    assert load_store_folder(tmp_path).data == store  # read back by the same checker `concierge import` uses
    first_order = json.loads((tmp_path / "orders.json").read_text())[0]
    assert isinstance(first_order["lines"][0]["unit_price"], str), "money is written as a decimal string"
