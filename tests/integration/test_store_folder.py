"""A store folder nobody tuned on runs locally: its name greets, its policy numbers answer, its help/ and its articles
are both searchable, its order ids are whatever it uses, its variants are whatever options it has, and it can be
imported into a running stack over HTTP (`concierge import --local`)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from concierge.dev.evaluation import LocalHttpStack

AS_OF = date(2030, 3, 10)


def at(days_before: int, hour: int = 10) -> str:
    return (
        datetime.combine(AS_OF, datetime.min.time(), tzinfo=UTC) - timedelta(days=days_before, hours=-hour)
    ).isoformat()


def variant(sku: str, options: dict, price: str, stock: int) -> dict:
    return {"sku": sku, "options": options, "price": price, "stock": stock}


def order(order_id: str, customer: str, status: str, days: int, lines: list[dict], delivered: bool = True) -> dict:
    shipment = None
    if status in ("shipped", "delivered"):
        shipment = {
            "carrier": "Parcelo",
            "tracking_number": f"PX{order_id[-4:]}99",
            "shipped_at": at(days),
            "estimated_delivery": at(days - 3),
            "delivered_at": at(days - 2) if status == "delivered" else None,
            "events": [],
        }
    return {
        "id": order_id,
        "customer_id": customer,
        "placed_at": at(days + 1),
        "status": status,
        "currency": "EUR",
        "lines": lines,
        "shipment": shipment,
        "payment": {"method": "paypal"},
        "shipping_address": {
            "name": "Ada Quill",
            "line1": "1 Canal St",
            "city": "Utrecht",
            "postcode": "3511",
            "country": "NL",
        },
    }


def line(line_id: str, product: str, sku: str, title: str, options: dict, price: str) -> dict:
    return {
        "line_id": line_id,
        "product_id": product,
        "sku": sku,
        "title": title,
        "options": options,
        "quantity": 1,
        "unit_price": price,
    }


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory) -> Path:
    """A tea shop: ids like 'T/0042', variants by weight and tin, a final-sale sampler, a 21-day window."""
    root = tmp_path_factory.mktemp("tea-shop")
    products = [
        {
            "id": "sencha",
            "title": "First Flush Sencha",
            "category": "green tea",
            "description": "A grassy Japanese green tea.",
            "url": "/p/sencha",
            "variants": [
                variant("SEN-50", {"weight": "50 g", "tin": "Refill bag"}, "9.00", 5),
                variant("SEN-100", {"weight": "100 g", "tin": "Refill bag"}, "16.00", 4),
                variant("SEN-50T", {"weight": "50 g", "tin": "Tin"}, "12.00", 0),
            ],
        },
        {
            "id": "teapot",
            "title": "Cast Iron Teapot",
            "category": "teaware",
            "description": "A 0.8 litre tetsubin.",
            "url": "/p/teapot",
            "variants": [
                variant("POT-BLK", {"glaze": "Black"}, "64.00", 3),
                variant("POT-TEAL", {"glaze": "Teal"}, "64.00", 2),
            ],
        },
        {
            "id": "sampler",
            "title": "Tasting Sampler",
            "category": "gifts",
            "description": "Twelve teas to try.",
            "url": "/p/sampler",
            "returnable": False,
            "variants": [variant("SMP-1", {"size": "Standard"}, "25.00", 9)],
        },
    ]
    customers = [
        {"id": "ada", "email": "ada@tea.example", "name": "Ada Quill", "created_at": at(300)},
        {"id": "bo", "email": "bo@tea.example", "name": "Bo Lind", "created_at": at(200)},
    ]
    orders = [
        order(
            "T/0041",
            "ada",
            "delivered",
            6,
            [
                line("1", "teapot", "POT-BLK", "Cast Iron Teapot", {"glaze": "Black"}, "64.00"),
                line("2", "sampler", "SMP-1", "Tasting Sampler", {"size": "Standard"}, "25.00"),
            ],
        ),
        order(
            "T/0042",
            "ada",
            "pending",
            0,
            [line("1", "sencha", "SEN-50", "First Flush Sencha", {"weight": "50 g", "tin": "Refill bag"}, "9.00")],
        ),
        order(
            "T/0043",
            "bo",
            "pending",
            0,
            [line("1", "sencha", "SEN-100", "First Flush Sencha", {"weight": "100 g", "tin": "Refill bag"}, "16.00")],
        ),
        order(
            "T/0044",
            "bo",
            "delivered",
            4,
            [line("1", "teapot", "POT-BLK", "Cast Iron Teapot", {"glaze": "Black"}, "64.00")],
        ),
    ]
    articles = [
        {
            "id": "returns",
            "title": "Returns",
            "url": "/help/returns",
            "topic": "returns",
            "body": "## How long do I have to return something?\nYou can return unopened tea and teaware within 21 days "
            "of delivery.\n\n## Refunds\nRefunds reach your account within 4 business days.",
        }
    ]
    merchant = {
        "name": "Kettle & Leaf",
        "return_window_days": 21,
        "max_auto_refund": "150.00",
        "refund_timing": "4 business days",
        "return_method": "customer_ships",
        "return_instructions": "Post it to Kettle & Leaf Returns, 9 Dock Road, Utrecht.",
        "featured_customers": ["ada"],
    }
    for name, value in (
        ("products", products),
        ("customers", customers),
        ("orders", orders),
        ("articles", articles),
        ("merchant", merchant),
        ("snapshot", {"as_of": AS_OF.isoformat()}),
    ):
        (root / f"{name}.json").write_text(json.dumps(value, indent=2))
    (root / "help").mkdir()
    (root / "help" / "brewing.md").write_text(
        "# Brewing guide\n\n## What water temperature for green tea?\nBrew sencha at 70 °C for one minute; boiling "
        "water makes it bitter.\n"
    )
    return root


@pytest.fixture(scope="module")
def tea(store_dir):
    with LocalHttpStack(store_dir) as stack:
        yield stack


def say(stack, text: str, conversation: str, customer: str = "ada") -> dict:
    status, body, _ = stack.say(customer, conversation, text, "web")
    assert status == 200, body
    return body


def test_the_check_finds_nothing_wrong(store_dir):
    from concierge.store.storefolder import check_store_folder

    assert check_store_folder(store_dir) == []


def test_the_greeting_uses_the_stores_name_and_the_page_its_customers(tea):
    body = say(tea, "hi", "greet")
    assert "Kettle & Leaf AI assistant" in body["reply"]["text"]
    assert "Northwind" not in body["reply"]["text"]
    assert tea.stack.page_info["name"] == "Kettle & Leaf"


def test_policy_answers_come_from_its_articles_and_its_help_folder(tea):
    window = say(tea, "how many days do I have to return something?", "policy-1")["reply"]
    assert "21 days" in window["text"] and window["citations"][0]["url"].startswith("/help/returns")
    brewing = say(tea, "what water temperature should I use for green tea?", "policy-2")["reply"]
    assert "70 °C" in brewing["text"]


def test_a_return_speaks_its_policy_and_never_the_demo_shops(tea):
    conversation = "return-teapot"
    found = say(tea, "I'd like to return the teapot", conversation)["reply"]["text"]
    assert "Cast Iron Teapot (Black) from your order T/0041" in found
    offer = say(tea, "yes", conversation)["reply"]["text"]
    # no fit question for teaware; the exchange offered is the other glaze, in stock
    assert "fit" not in offer.lower() and "size" not in offer.lower()
    assert "Teal" in offer
    proposal = say(tea, "a refund please", conversation)["reply"]["text"]
    assert "€64.00" in proposal and "QR" not in proposal
    done = say(tea, "yes", conversation)
    text = done["reply"]["text"]
    assert [a["status"] for a in done["actions"]] == ["executed"]
    assert "4 business days" in text and "9 Dock Road" in text
    assert "5–10" not in text and "drop-off" not in text


def test_a_final_sale_item_is_refused_at_once(tea):
    body = say(tea, "can I return the tasting sampler?", "sampler")
    assert "final sale" in body["reply"]["text"]
    assert not [a for a in body["actions"] if a["tool"] == "return_items"]


def test_its_order_ids_are_recognised_and_another_customers_is_refused(tea):
    mine = say(tea, "please cancel order T/0042", "cancel-mine")
    assert "T/0042" in mine["reply"]["text"] and mine["actions"][-1]["status"] == "pending_confirmation"
    theirs = say(tea, "please cancel order T/0043", "cancel-theirs")
    assert [a["status"] for a in theirs["actions"] if a["tool"] == "cancel_order"] == ["denied"]
    assert "T/0042" not in theirs["reply"]["text"], "another order is never cancelled in its place"


def test_an_exchange_moves_to_another_option_the_store_has(tea):
    conversation = "swap-teapot"
    # the teapot is the only one the customer has and the teal one is named: the swap is proposed at once
    proposal = say(tea, "can I swap my teapot for the teal one?", conversation, customer="bo")
    [action] = [a for a in proposal["actions"] if a["tool"] == "return_items"]
    assert action["status"] == "pending_confirmation" and action["result"]["exchange_sku"] == "POT-TEAL"
    assert "teal" in proposal["reply"]["text"].lower()
    done = say(tea, "yes", conversation, customer="bo")
    assert [a["status"] for a in done["actions"] if a["tool"] == "return_items"] == ["executed"]


def test_tracking_by_item_name_reports_the_order_holding_it(tea):
    body = say(tea, "where is my sencha?", "track-sencha")
    [track] = [a for a in body["actions"] if a["tool"] == "track_shipment"]
    assert track["result"]["order_id"] == "T/0042"
