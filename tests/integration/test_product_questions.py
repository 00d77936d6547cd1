"""Product questions through the whole turn on moto (docs/shopping.md, "Product questions"), on a copy of the
home-kitchen sample store that sizes its cookware and carries past returns with their reasons in orders.json:

- stock of a variant, read live, with the product page cited; a sold-out one with what is in stock instead;
- words that fit several products are asked about, and the answer gets the facts;
- two products side by side, both cited;
- sizing from the imported returns (counted and said only from the documented minimum), and a return made in chat
  counted with its reason; a line the history returned is not returned again.

The Claude path: tests/integration/test_product_questions_claude.py.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from concierge.catalogue.facts import MIN_RETURNS_FOR_FIT
from concierge.platform import wiring
from concierge.platform.settings import IngestSettings, current_settings
from tests.integration.conftest import Client, local_stack

SAMPLE = Path(__file__).resolve().parents[2] / "stores" / "home-kitchen"
# The imported history: five returns of the 5.2 L Dutch oven that gave a reason (three too small, one too large, one
# damaged), two of the carbon pan (below the minimum).
HISTORY = {
    "dutch-oven": ["too_small", "too_small", "too_small", "too_large", "damaged"],
    "carbon-pan": ["too_small"] * 2,
}
VARIANTS = {
    "dutch-oven": ("DO-52-CRM", {"capacity": "5.2 L", "colour": "Cream"}, "189.00", "Enamelled Cast Iron Dutch Oven"),
    "carbon-pan": ("CSP-24", {"diameter": "24 cm"}, "45.00", "Carbon Steel Frying Pan"),
}


def past_order(number: int, product_id: str, reason: str) -> dict[str, Any]:
    sku, options, price, title = VARIANTS[product_id]
    return {
        "id": f"#9{number:03d}",
        "customer_id": "cust_8844",
        "placed_at": "2026-10-02T10:00:00Z",
        "status": "delivered",
        "lines": [
            {
                "line_id": "1",
                "product_id": product_id,
                "sku": sku,
                "title": title,
                "options": options,
                "quantity": 1,
                "unit_price": price,
            }
        ],
        "shipping_address": {
            "name": "Tom Hadley",
            "line1": "1 Main St",
            "city": "Austin",
            "postcode": "78701",
            "country": "US",
        },
        "shipment": {
            "carrier": "UPS",
            "tracking_number": f"1Z9{number:05d}",
            "shipped_at": "2026-10-03T10:00:00Z",
            "estimated_delivery": "2026-10-08T10:00:00Z",
            "delivered_at": "2026-10-07T10:00:00Z",
            "events": [],
        },
        "payment": {"method": "card", "brand": "Visa", "last4": "4242"},
        "returns": [{"line_ids": ["1"], "reason": reason}],
    }


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("sized-store") / "home-kitchen"
    shutil.copytree(SAMPLE, root)
    merchant = json.loads((root / "merchant.json").read_text())
    (root / "merchant.json").write_text(json.dumps({**merchant, "sized_categories": ["cookware"]}))
    orders = json.loads((root / "orders.json").read_text())
    pasts = [(pid, reason) for pid, reasons in HISTORY.items() for reason in reasons]
    orders += [past_order(n, pid, reason) for n, (pid, reason) in enumerate(pasts, 1)]
    (root / "orders.json").write_text(json.dumps(orders))
    return root


@pytest.fixture(scope="module")
def client(folder, tmp_path_factory) -> Iterator[Client]:
    for local in local_stack(tmp_path_factory, folder):
        yield Client(local)


def cited(answer) -> list[str]:
    return [c["url"] for c in answer.body["reply"]["citations"]]


def test_a_variant_in_stock_is_said_with_its_price_and_the_page_cited(client):
    answer = client.say("cust_8841", "pq-1", "Hi! Do you have the dutch oven in 5.2 L cream in stock?")
    assert answer.status == 200, answer.body
    assert "5.2 L, Cream in stock, at $189.00" in answer.text, answer.text
    assert cited(answer) == ["/products/dutch-oven"]
    assert answer.body.get("cart") is None and not answer.actions("return_items")


def test_a_sold_out_variant_comes_with_the_variants_in_stock_closest_first(client):
    answer = client.say("cust_8842", "pq-2", "is the cherry dutch oven available in 3.8 L?")
    assert "3.8 L, Cherry is sold out right now" in answer.text, answer.text
    instead = answer.text.split("In stock instead:")[1]
    assert instead.index("3.8 L, Sage") < instead.index("5.2 L, Cherry"), "the same capacity first"
    assert "5.2 L, Sage" not in instead, "a sold-out variant is never offered"


def test_words_that_fit_several_products_are_asked_about_then_answered(client):
    asked = client.say("cust_8843", "pq-3", "is the espresso in stock?")
    assert asked.text.count("Espresso") == 3 and "Which one do you mean" in asked.text, asked.text
    answer = client.say("cust_8843", "pq-3", "the beans please")
    assert "House Espresso Beans in 250 g ($14.00) and 1 kg ($42.00)" in answer.text, answer.text
    assert cited(answer) == ["/products/espresso-beans"]


def test_two_products_side_by_side_both_cited(client):
    answer = client.say("cust_8844", "pq-4", "what's the difference between the carbon steel pan and the saucepan set?")
    assert "$45.00–$55.00" in answer.text and "$149.00–$229.00" in answer.text, answer.text
    assert "2 mm carbon steel" in answer.text and "tri-ply" in answer.text
    assert cited(answer) == ["/products/carbon-pan", "/products/saucepan-set"]


def test_sizing_tells_the_imported_returns_only_from_the_minimum(client):
    assert MIN_RETURNS_FOR_FIT == 5, "the history above is written for this minimum"
    sized = client.say("cust_8841", "pq-5", "Does the dutch oven run small?")
    assert (
        "Of the 5 returns of it that gave a reason, 3 said it was too small and 1 that it was too large" in sized.text
    )
    assert "Most of them found it small" in sized.text, sized.text
    few = client.say("cust_8841", "pq-6", "does the carbon steel pan run small?")
    assert "Too few of its returns gave a reason" in few.text and "too small" not in few.text, few.text


def test_a_return_made_in_chat_counts_its_reason_and_history_is_not_returned_again(client):
    store = wiring.reference_store(current_settings(IngestSettings))
    assert store.returned_line_ids("#9001") == {"1"}, "a line the history returned counts as returned"
    _, before = store.product_with_returns("dutch-oven")
    for text in (
        "I'd like to return the dutch oven from order #1024",
        "yes that's the one",
        "it's too small",
        "a refund please",
        "yes go ahead",
    ):
        answer = client.say("cust_8846", "pq-7", text)
    assert answer.actions("confirm_action", "executed") or answer.actions("return_items", "executed"), answer.body
    _, after = store.product_with_returns("dutch-oven")
    assert after.counts["too_small"] == before.counts["too_small"] + 1
    assert after.total == before.total + 1
