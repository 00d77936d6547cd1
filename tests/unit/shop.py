"""A made-up party shop (pounds, London, an express option, four promotions) for the cart and promotion tests: a
vertical unlike the sample stores, with products that state ages, dietary facts, sizes and their own delivery time.
It holds PRODUCT.md's scenario: "a birthday party for a 7-year-old on Saturday"."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from concierge.store.merchant import MerchantProfile
from concierge.store.models import Product

# Monday 7 December 2026, 10:00 in London: Saturday is the 12th.
NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


def product(product_id: str, title: str, category: str, variants: list[tuple[dict[str, str], str, int]], **extra: Any):
    return Product.model_validate(
        {
            "id": product_id,
            "title": title,
            "category": category,
            "description": extra.pop("description", title),
            "url": f"/products/{product_id}",
            "variants": [
                {"sku": f"{product_id}-{n}".upper(), "options": options, "price": price, "stock": stock}
                for n, (options, price, stock) in enumerate(variants)
            ],
            **extra,
        }
    )


CATALOGUE = [
    product(
        "balloons", "Party Balloons, Pack of 20", "party", [({}, "6.00", 40)], description="Bright latex balloons."
    ),
    product(
        "pinata",
        "Unicorn Piñata",
        "party",
        [({"colour": "Pink"}, "24.00", 0), ({"colour": "Blue"}, "24.00", 3)],
        description="A piñata to fill with sweets for a birthday party.",
        tags=["unicorn", "birthday"],
    ),
    product(
        "party-bags",
        "Party Bags",
        "party",
        [({}, "2.50", 30)],
        description="Paper party bags to fill for your guests.",
        tags=["favours"],
    ),
    product("candles", "Birthday Candles", "party", [({}, "3.00", 50)], description="Twelve striped birthday candles."),
    product(
        "science-kit",
        "Junior Science Kit",
        "toys",
        [({}, "29.00", 5)],
        description="Twelve experiments for a curious birthday child.",
        ages={"min_years": 8, "max_years": 12},
    ),
    product(
        "floor-puzzle",
        "Animal Floor Puzzle",
        "toys",
        [({}, "15.00", 4)],
        description="A 24-piece floor puzzle, a birthday favourite.",
        ages={"min_years": 3, "max_years": 6},
    ),
    product(
        "craft-set",
        "Birthday Craft Set",
        "toys",
        [({}, "12.00", 9)],
        description="Make your own party crowns and cards.",
        ages={"min_years": 5, "max_years": 9},
    ),
    product(
        "cake-mix",
        "Chocolate Birthday Cake Mix",
        "baking",
        [({}, "7.50", 10)],
        description="Makes one 20 cm chocolate birthday cake.",
        dietary=["vegetarian"],
    ),
    product(
        "vegan-cake-mix",
        "Vegan Vanilla Cake Mix",
        "baking",
        [({}, "8.50", 6)],
        description="Makes one 20 cm vanilla cake.",
        dietary=["vegan", "vegetarian"],
    ),
    product(
        "party-hats",
        "Party Hats, Pack of 8",
        "party",
        [({}, "5.00", 12)],
        description="Card party hats for a birthday, printed to order.",
        delivery={"dispatch_days": 5, "min_days": 1, "max_days": 3},
    ),
    product(
        "costume",
        "Dinosaur Costume",
        "dress-up",
        [({"size": "S"}, "18.00", 2), ({"size": "M"}, "18.00", 0), ({"size": "L"}, "20.00", 1)],
        description="A soft dinosaur costume with a tail.",
    ),
]
PRODUCTS = {p.id: p for p in CATALOGUE}


def merchant(**changes: Any) -> MerchantProfile:
    profile: dict[str, Any] = {
        "name": "Party Pantry",
        "return_window_days": 30,
        "max_auto_refund": "100.00",
        "currency": "GBP",
        "delivery": {
            "dispatch_days": 1,
            "cutoff": "14:00",
            "min_days": 1,
            "max_days": 3,
            "timezone": "Europe/London",
            "cost": "3.99",
            "express": {"dispatch_days": 0, "min_days": 1, "max_days": 1, "cost": "7.99"},
        },
        "promotions": [
            {"id": "free-delivery", "kind": "free_shipping", "label": "Free delivery over £30", "min_subtotal": "30"},
            {
                "id": "party-week",
                "kind": "percent_off",
                "label": "10% off party decorations this week",
                "percent": 10,
                "categories": ["party"],
                "starts_at": "2026-12-07T00:00:00Z",
                "ends_at": "2026-12-14T00:00:00Z",
            },
            {
                "id": "bags-3-for-2",
                "kind": "buy_x_get_y",
                "label": "Party bags: buy 2, get 1 free",
                "buy": 2,
                "get": 1,
                "products": ["party-bags"],
            },
            {
                "id": "five-off-fifty",
                "kind": "amount_off",
                "label": "£5 off £50 of toys",
                "amount": "5.00",
                "min_subtotal": "50",
                "categories": ["toys"],
            },
        ],
        "storefront": {
            "checkout_url": "https://shop.example/cart?add={items}",
            "add_to_cart_url": "https://shop.example/cart/add?sku={sku}&qty={quantity}",
        },
    }
    profile.update(changes)
    return MerchantProfile.model_validate(profile)


def money(value: str) -> Decimal:
    return Decimal(value)
