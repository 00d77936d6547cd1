"""The demo store: a seeded, date-relative generator of the import format, and the validating reader that
`concierge import DIR` uses."""
from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from concierge.demo import generate_store, read_store, write_store
from concierge.models import OrderStatus, StoreData

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

    assert counts == {"products": len(store.products), "customers": len(store.customers), "orders": 200,
                      "articles": len(store.articles)}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["articles.json", "customers.json", "merchant.json", "orders.json",
                                                          "products.json"]
    assert read_store(tmp_path) == store
    first_order = json.loads((tmp_path / "orders.json").read_text())[0]
    assert isinstance(first_order["lines"][0]["unit_price"], str), "money is written as a decimal string"


def _edit(directory, name: str, change) -> None:
    path = directory / f"{name}.json"
    items = json.loads(path.read_text())
    change(items)
    path.write_text(json.dumps(items))


def test_an_order_of_an_unknown_customer_is_rejected(store, tmp_path):
    write_store(store, tmp_path)
    _edit(tmp_path, "orders", lambda orders: orders[0].update(customer_id="c-999"))

    with pytest.raises(ValueError) as error:
        read_store(tmp_path)
    assert str(error.value) == f"orders.json: order {store.orders[0].id} names unknown customer 'c-999'"


def test_an_order_line_with_a_sku_of_another_product_is_rejected(store, tmp_path):
    write_store(store, tmp_path)
    _edit(tmp_path, "orders", lambda orders: orders[0]["lines"][0].update(sku="BEA-BLA-One size"))

    with pytest.raises(ValueError, match=rf"orders.json: order {store.orders[0].id} line 1 names unknown product/sku"):
        read_store(tmp_path)


def test_a_bad_value_names_the_file_item_and_field(store, tmp_path):
    write_store(store, tmp_path)
    _edit(tmp_path, "products", lambda products: products[3]["variants"][0].update(price="forty"))

    with pytest.raises(ValueError, match=r"^products.json: item 3.variants.0.price: Input should be a valid decimal"):
        read_store(tmp_path)


def test_an_unknown_field_is_rejected_so_typos_are_caught(store, tmp_path):
    write_store(store, tmp_path)
    _edit(tmp_path, "customers", lambda customers: customers[0].update(emial="x@example.com"))

    with pytest.raises(ValueError, match=r"^customers.json: item 0.emial: Extra inputs are not permitted"):
        read_store(tmp_path)


def test_duplicate_ids_are_rejected(store, tmp_path):
    write_store(store, tmp_path)
    _edit(tmp_path, "customers", lambda customers: customers.append(customers[0]))

    with pytest.raises(ValueError, match=r"^customers.json: duplicate ids \['alex'\]"):
        read_store(tmp_path)


def test_a_duplicate_sku_is_rejected(store, tmp_path):
    write_store(store, tmp_path)

    def duplicate(products):
        # a new product listed first re-uses the Blue L oxford shirt's sku
        twin = products[0] | {"id": "oxford-shirt-2", "url": "/products/oxford-shirt-2", "variants": [
            v for v in products[0]["variants"] if v["sku"] == "OXF-BLU-L"
        ]}
        products.insert(0, twin)

    _edit(tmp_path, "products", duplicate)
    with pytest.raises(ValueError, match="products.json: duplicate sku"):
        read_store(tmp_path)


def test_a_missing_file_is_named(store, tmp_path):
    write_store(store, tmp_path)
    (tmp_path / "articles.json").unlink()

    with pytest.raises(ValueError, match=r"^articles.json: missing from"):
        read_store(tmp_path)
