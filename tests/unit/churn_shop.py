"""A made-up bookkeeping app (Ledgerly: euros, onboarding steps, a Pro plan with a feature of its own) and a small
churn model built by hand, for the churn_risk tests: a vertical unlike the sample stores, whose customers' behaviour
the tests write themselves, so that nothing passes because of a shipped store's data.

The model is a logistic regression with few weights (probability = sigmoid of the log-odds below), so that each
customer's probability and reasons can be worked out on paper:

    log-odds = -2 + 0.08 × (days since sign-in − 5) − 0.05 × (feature uses in 30 days − 20)
                  + 0.01 × (days since order − 60) + 0.1 × (support contacts − 1) − 1.0 × sentiment
                  − 1.2 × (Auto-CSAT − 3) − 0.001 × (tenure − 400)
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from concierge.churn.features import MODEL_FEATURES
from concierge.churn.scorer import FORMAT, ChurnModel

# Wednesday 18 November 2026, 10:00 UTC: the scoring pass runs then and scores the day before.
MORNING = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)
AS_OF = date(2026, 11, 17)
SIGNED_UP = datetime(2025, 10, 14, 9, 0, tzinfo=UTC)  # 399 days before AS_OF

WEIGHTS = {
    "tenure_days": (400.0, -0.001),
    "days_since_sign_in": (5.0, 0.08),
    "feature_uses_30d": (20.0, -0.05),
    "days_since_order": (60.0, 0.01),
    "support_contacts_90d": (1.0, 0.1),
    "sentiment_90d": (0.0, -1.0),
    "auto_csat_90d": (3.0, -1.2),
}
TYPICAL = {"sign_ins_30d": 8.0, "sign_ins_90d": 24.0, "feature_uses_90d": 60.0, "features_used_90d": 3.0}


def logistic_model(high: float = 0.5) -> ChurnModel:
    """The model above as a concierge-churn/1 artifact (high risk from `high`)."""
    mean = [WEIGHTS[f][0] if f in WEIGHTS else TYPICAL.get(f, 1.0) for f in MODEL_FEATURES]
    return ChurnModel.model_validate(
        {
            "format": FORMAT,
            "trained_at": "2026-11-01T00:00:00Z",
            "features": list(MODEL_FEATURES),
            "typical": mean,
            "model": {
                "kind": "logistic_regression",
                "mean": mean,
                "scale": [1.0] * len(MODEL_FEATURES),
                "coef": [WEIGHTS[f][1] if f in WEIGHTS else 0.0 for f in MODEL_FEATURES],
                "intercept": -2.0,
            },
            "calibration": {"a": -1.0, "b": 0.0},  # probability = sigmoid(log-odds)
            "bands": {"medium": min(0.25, high / 2), "high": high},
        }
    )


STEPS = [
    {"feature": "bank.connect", "name": "Connect your bank account", "help": "/help/connect-your-bank"},
    {"feature": "invoice.create", "name": "Send your first invoice", "help": "https://ledgerly.example/invoices"},
    {"feature": "team.invite", "name": "Invite your accountant"},
]
PRO = {
    "code": "pro-monthly",
    "name": "Pro",
    "price": "12.00",
    "currency": "EUR",
    "interval": "month",
    "features": [
        {"code": "reports.custom", "name": "Custom reports", "help": "https://ledgerly.example/help/custom-reports"}
    ],
}


def merchant_json(**changes: Any) -> dict[str, Any]:
    return {
        "name": "Ledgerly",
        "return_window_days": 14,
        "max_auto_refund": "50.00",
        "currency": "EUR",
        "support_email": "help@ledgerly.example",
        "onboarding": STEPS,
        "subscriptions": {"manage_url": "https://app.ledgerly.example/settings/billing", "plans": [PRO]},
        **changes,
    }


def customer(customer_id: str, name: str) -> dict[str, Any]:
    return {
        "id": customer_id,
        "email": f"{customer_id}@ledgerly-customer.example",
        "name": name,
        "created_at": SIGNED_UP.isoformat(),
    }


def order(order_id: str, customer_id: str, days_before: int, total: str = "120.00") -> dict[str, Any]:
    placed = datetime.combine(AS_OF, datetime.min.time(), UTC) - timedelta(days=days_before) + timedelta(hours=9)
    return {
        "id": order_id,
        "customer_id": customer_id,
        "placed_at": placed.isoformat(),
        "status": "delivered",
        "currency": "EUR",
        "lines": [
            {
                "line_id": "1",
                "product_id": "ledgerly-year",
                "sku": "LEDGERLY-YEAR",
                "title": "Ledgerly, a year",
                "options": {},
                "quantity": 1,
                "unit_price": total,
            }
        ],
        "shipping_address": {"name": "-", "line1": "-", "city": "-", "postcode": "-", "country": "NL"},
        "shipment": {  # a licence sent by email
            "carrier": "email",
            "tracking_number": f"LIC-{order_id}",
            "shipped_at": placed.isoformat(),
            "estimated_delivery": placed.isoformat(),
            "delivered_at": placed.isoformat(),
            "events": [],
        },
        "payment": {"method": "card", "brand": "visa", "last4": "4242"},
    }


def store_folder(directory: Path, customers: list[dict[str, Any]], orders: list[dict[str, Any]]) -> Path:
    """Ledgerly as a store folder (docs/import-format.md) with these customers and orders."""
    directory.mkdir(parents=True, exist_ok=True)
    product = {
        "id": "ledgerly-year",
        "title": "Ledgerly, a year",
        "category": "plans",
        "description": "A year of Ledgerly bookkeeping.",
        "url": "/products/ledgerly-year",
        "returnable": False,
        "variants": [{"sku": "LEDGERLY-YEAR", "options": {}, "price": "120.00", "stock": 1000}],
    }
    article = {
        "id": "connect-your-bank",
        "title": "Connecting your bank",
        "url": "/help/connect-your-bank",
        "topic": "getting started",
        "body": "## How do I connect my bank?\nOpen Settings, choose Bank feeds, pick your bank and sign in to it.",
    }
    files = {
        "products.json": [product],
        "customers.json": customers,
        "orders.json": orders,
        "articles.json": [article],
        "merchant.json": merchant_json(),
    }
    for name, content in files.items():
        (directory / name).write_text(json.dumps(content, indent=2))
    return directory
