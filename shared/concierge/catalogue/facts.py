"""What `get_product` tells about a product, read live from the catalogue (docs/shopping.md, "Product questions"):
which variants are in stock, the one a customer asked for (in stock or not, with the product's other variants in
stock), its size data and what past returns said about its fit, and two products side by side.

Nothing here knows a kind of shop: a variant is named by the values of its own options, whatever the merchant calls
them (size, colour, capacity, pieces…), and every fact comes from products.json, merchant.json or the returns the
store counted. The same code runs for the actions function (a model's call) and for retrieval's prefetch.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from concierge.actions.tools import GetProduct
    from concierge.store.commerce import CommerceBackend, ReturnReasons
    from concierge.store.merchant import MerchantProfile
    from concierge.store.models import Product, Variant

# What past returns say about a product's fit is told only from this many returns that gave a reason (fewer could be
# one unlucky customer's), and a lean ("most said it was too small") only when at least this share said the same.
MIN_RETURNS_FOR_FIT = 5
LEAN_SHARE = 0.5
FIT_REASONS = ("too_small", "too_large")
# How many in-stock variants are offered in place of a sold-out one.
ALTERNATIVES = 4


def label(options: dict[str, str]) -> str:
    """A variant as customers read it: its option values ("5.2 L, Cream")."""
    return ", ".join(options.values())


def _normal(text: str) -> str:
    """Lower case, thousands separators dropped ("10,000" -> "10000"), curly quotes straightened."""
    return re.sub(r"(?<=\d),(?=\d{3}\b)", "", text.lower().replace("’", "'"))


def mentions(text: str, value: str) -> bool:
    """Whether the text names this option value as a phrase ("5.2 L", "5.2l", "midnight black", "usb-c to
    lightning"), never inside another word or number ("2 m" is not in "5.2 m", "L" not in "it'll")."""
    parts = re.findall(r"[a-z0-9]+(?:\.[0-9]+)?", _normal(value))
    if not parts:
        return False
    pattern = r"(?:[\s\-/(),&+]|\band\b)*".join(re.escape(p) for p in parts)  # "fig & cedar", "fig and cedar"
    return re.search(rf"(?<![\w.'-]){pattern}(?![\w]|\.\d)", _normal(text)) is not None


def named_options(product: Product, words: str) -> dict[str, str]:
    """The option values the words name, by option: a value counts only when it is the one value of its option the
    words name (the longest, when one contains another: "Midnight Black" over "Black")."""
    named: dict[str, str] = {}
    keys = dict.fromkeys(key for variant in product.variants for key in variant.options)
    for key in keys:
        values = dict.fromkeys(v.options[key] for v in product.variants if key in v.options)
        found = [value for value in values if mentions(words, value)]
        found = [v for v in found if not any(v != o and mentions(o, v) for o in found)]
        if len(found) == 1:
            named[key] = found[0]
    return named


def _variant(variant: Variant, currency: str) -> dict[str, Any]:
    return {
        "sku": variant.sku,
        "options": dict(variant.options),
        "label": label(variant.options),
        "price": str(variant.price),
        "currency": currency,
        "in_stock": variant.stock > 0,
    }


def _alternatives(product: Product, asked: dict[str, str], currency: str) -> list[dict[str, Any]]:
    """The product's variants in stock, those sharing most of what was asked first (the same capacity in another
    colour before another capacity)."""
    in_stock = [v for v in product.variants if v.stock > 0 and not all(v.options.get(k) == x for k, x in asked.items())]
    ranked = sorted(in_stock, key=lambda v: -sum(v.options.get(k) == x for k, x in asked.items()))
    return [_variant(v, currency) for v in ranked[:ALTERNATIVES]]


def asked_variant(product: Product, words: str, currency: str) -> dict[str, Any]:
    """The variant the words ask about: the options they name, the variants that have them (each in stock or not),
    and when none of those is in stock, the product's variants that are."""
    named = named_options(product, words)
    matches = [v for v in product.variants if named and all(v.options.get(k) == x for k, x in named.items())]
    keys = {key for variant in product.variants for key in variant.options}
    result: dict[str, Any] = {
        "named": named,
        "complete": bool(named) and set(named) == keys,
        "matches": [_variant(v, currency) for v in matches],
        "in_stock": any(v.stock > 0 for v in matches) if matches else None,
    }
    if named and not any(v.stock > 0 for v in matches):
        result["alternatives"] = _alternatives(product, named, currency)
    return result


def fit_from_returns(reasons: ReturnReasons) -> dict[str, Any]:
    """What the returns that gave a reason say about fit, and whether there are enough of them to say it at all."""
    counted = reasons.total
    small, large = (reasons.counts.get(r, 0) for r in FIT_REASONS)
    enough = counted >= MIN_RETURNS_FOR_FIT
    lean = None
    if enough and max(small, large) >= LEAN_SHARE * counted and small != large:
        lean = "too_small" if small > large else "too_large"
    return {
        "counted": counted,
        "too_small": small,
        "too_large": large,
        "minimum": MIN_RETURNS_FOR_FIT,
        "enough": enough,
        "lean": lean,
    }


def sizing(product: Product, merchant: MerchantProfile, reasons: ReturnReasons | None) -> dict[str, Any]:
    """The shop's size data for the product (its fit note and size chart, as products.json states them) and, in a
    category the shop sizes (merchant.json `sized_categories`), what its returns said about fit."""
    sized = merchant.is_sized(product.category)
    keys = dict.fromkeys(key for variant in product.variants for key in variant.options)
    sized_by = [k for k in keys if any(v.options.get(k) in product.size_chart for v in product.variants)]
    return {
        "sized_category": sized,
        "fit": product.fit or None,
        "size_chart": dict(product.size_chart),
        "size_option": sized_by[0] if sized_by else None,
        "returns": fit_from_returns(reasons) if sized and reasons is not None else None,
    }


def delivery(product: Product, merchant: MerchantProfile) -> dict[str, Any] | None:
    """How long it takes to arrive, in working days: the product's own time (made to order), else the shop's."""
    estimate = product.delivery or merchant.delivery
    if estimate is None:
        return None
    return {
        "dispatch_days": estimate.dispatch_days,
        "min_days": estimate.min_days,
        "max_days": estimate.max_days,
        "own": product.delivery is not None,
    }


def summary(product: Product, merchant: MerchantProfile) -> dict[str, Any]:
    """The product's facts, side by side with another's in a comparison: price range, options in stock, material,
    fit, attributes, tags, delivery, and its page to cite."""
    currency = merchant.currency
    prices = sorted({v.price for v in product.variants})
    return {
        "product_id": product.id,
        "title": product.title,
        "url": product.url,
        "category": product.category,
        "currency": currency,
        "price_from": str(prices[0]),
        "price_to": str(prices[-1]),
        "in_stock": [label(v.options) for v in product.variants if v.stock > 0],
        "sold_out": [label(v.options) for v in product.variants if v.stock == 0],
        "material": product.material or None,
        "fit": product.fit or None,
        "attributes": dict(product.attributes),
        "tags": list(product.tags),
        "returnable": product.returnable,
        "delivery": delivery(product, merchant),
    }


def run(arguments: GetProduct, store: CommerceBackend, merchant: MerchantProfile) -> dict[str, Any] | None:
    """`get_product`: the product as the store holds it (its variants with their stock), and what the arguments ask
    besides: `variant` (the variant the words name), `sizing`, `compare_with` (a second product side by side).
    None when the product is not in the catalogue; a second product that is not comes back as `compared: null`."""
    if arguments.sizing:
        product, reasons = store.product_with_returns(arguments.product_id)
    else:
        product, reasons = store.get_product(arguments.product_id), None
    if product is None:
        return None
    result: dict[str, Any] = product.model_dump(mode="json")
    if not (arguments.variant or arguments.sizing or arguments.compare_with):
        return result  # the product itself, as every lookup of one has read it
    result["currency"] = merchant.currency
    result["in_stock"] = [label(v.options) for v in product.variants if v.stock > 0]
    result["sold_out"] = [label(v.options) for v in product.variants if v.stock == 0]
    if arguments.variant:
        result["asked"] = asked_variant(product, arguments.variant, merchant.currency)
    if arguments.sizing:
        result["sizing"] = sizing(product, merchant, reasons)
    if arguments.compare_with:
        other = store.get_product(arguments.compare_with)
        result["compared"] = (
            [summary(product, merchant), summary(other, merchant)]
            if other is not None and other.id != product.id
            else None
        )
    return result


def price_range(low: str | Decimal, high: str | Decimal, currency: str) -> str:
    from concierge.actions.proposal import money

    return money(low, currency) if Decimal(low) == Decimal(high) else f"{money(low, currency)}–{money(high, currency)}"
