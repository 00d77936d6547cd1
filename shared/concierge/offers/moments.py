"""Offer moments as an engine sees them (docs/offers.md, "Wiring"): the hint an engine puts on its decision when its
reply is at an offer moment, and the detectors the engines share.

The agent function reads and writes no data (topology.ACCESS), so an engine only *names* the moment: it sets
`Decision.moment` to an `OfferMomentHint`, and the offering wrapper (engine/offering.py) turns that into one
`next_best_action` call that the actions function (which has the table, the bus and the holdout salt) decides.
Nothing here reads engine state or storage: values in, values out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from concierge.offers.catalogue import OfferMoment

# The moments a conversation can reach (the others are journeys: survey promoters, abandoned carts).
CONVERSATION_MOMENTS = frozenset(
    {
        OfferMoment.VARIANT_OUT_OF_STOCK,
        OfferMoment.RETURN_REQUESTED,
        OfferMoment.POSITIVE_FEEDBACK,
        OfferMoment.PAID_FEATURE_INTEREST,
    }
)
# The return reasons that mean the shop got it wrong: the customer is owed a fix, never an offer.
# The moments an engine names today (the deterministic engine: a sold-out variant in an exchange, praise); the others
# have offers configured but nothing that reaches them yet (docs/offers.md, "What the engine wiring still has to do").
LIVE_MOMENTS = frozenset({OfferMoment.VARIANT_OUT_OF_STOCK, OfferMoment.POSITIVE_FEEDBACK})
FAULT_REASONS = frozenset({"damaged", "not_as_described", "wrong_item", "faulty", "late"})


class OfferMomentHint(BaseModel):
    """What an engine knows at an offer moment, as the `next_best_action` tool takes it (its arguments). Labels
    only, never amounts the customer could set: the item's value is re-read from the order when an order is named."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    moment: OfferMoment
    product_id: str | None = Field(None, max_length=80, description="the product the moment is about")
    wanted: str | None = Field(None, max_length=120, description="the sold-out variant the customer wanted")
    alternative: str | None = Field(None, max_length=120, description="the variant in stock offered instead")
    alternative_sku: str | None = Field(None, max_length=80)
    item: str | None = Field(None, max_length=120, description="the item returned, or the product praised")
    item_value: Decimal | None = Field(None, ge=0, le=100000, description="the item's unit price, as the order says")
    order_id: str | None = Field(None, max_length=40)
    shop_at_fault: bool = Field(False, description="damaged, faulty, wrong or late: owed a fix, not an offer")


def variant_out_of_stock(
    product: Mapping[str, Any],
    flow: Mapping[str, Any],
    wanted_label: str,
    alternatives: Sequence[Mapping[str, Any]],
    wanted_options: Mapping[str, Any] | None = None,
) -> OfferMomentHint | None:
    """The deterministic engine's sold-out moment: the variant the customer asked for (`wanted_options`) is out of
    stock and `alternatives` (the flow's `exchange_options`: sku, options, label) are in stock. The alternative named
    is the one closest to what they wanted (most option values in common), else the first. None without one."""
    wanted = dict(wanted_options or {})
    ranked = sorted(
        (a for a in alternatives if a.get("sku")),
        key=lambda a: -sum(1 for k, v in (a.get("options") or {}).items() if wanted.get(k) == v),
    )
    alternative = ranked[0] if ranked else None
    if alternative is None:
        return None
    title = str(product.get("title") or flow.get("item") or "")
    price = flow.get("price")
    return OfferMomentHint(
        moment=OfferMoment.VARIANT_OUT_OF_STOCK,
        product_id=str(product.get("id") or flow.get("product_id") or "") or None,
        wanted=f"{title} ({wanted_label})" if title else wanted_label,
        alternative=f"{title} ({alternative['label']})" if title else str(alternative["label"]),
        alternative_sku=str(alternative["sku"]),
        item=str(flow.get("item") or title) or None,
        item_value=Decimal(str(price)) if price is not None else None,
        order_id=flow.get("order_id"),
        shop_at_fault=str(flow.get("reason") or "") in FAULT_REASONS,
    )


# Praise of a product in so many words. Sentiment alone is not praise ("great, thanks for tracking it").
PRAISE = re.compile(
    r"\b(love|loving|adore|obsessed with|(really |so |very )?(happy|pleased|impressed|delighted) with|"
    r"(is|are|was|works?|working|tastes?|makes?) (so |really |absolutely )?(great|brilliant|amazing|fantastic|"
    r"excellent|perfect|wonderful|superb|lovely|delicious|incredible|awesome|a dream)|best .{0,30} (i've|i have) "
    r"ever|game[- ]changer|highly recommend)\b",
    re.IGNORECASE,
)
PRAISE_SENTIMENT = 0.5  # VADER compound: "I love the grinder" is 0.64; "it's ok I guess" is 0.30
_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset({"the", "a", "an", "of", "and", "set", "with", "for", "in", "on", "my", "your", "cm", "ml", "l"})


def is_praise(text: str, sentiment: float, frustrated: bool = False) -> bool:
    """The message praises something: a praise phrase, a clearly positive sentiment, no frustration."""
    return not frustrated and sentiment >= PRAISE_SENTIMENT and PRAISE.search(text) is not None


def positive_feedback(text: str, sentiment: float, frustrated: bool = False) -> OfferMomentHint | None:
    """The positive-feedback moment of a message, for an engine that knows no products (the agent reads no data):
    the product praised is found by the actions function among the customer's orders (`praised_product`)."""
    if not is_praise(text, sentiment, frustrated):
        return None
    return OfferMomentHint(moment=OfferMoment.POSITIVE_FEEDBACK)


def _words(text: str) -> set[str]:
    words = {w for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 2}
    return words | {w[:-1] for w in words if w.endswith("s") and len(w) > 3}


def praised_product(text: str, products: Iterable[tuple[str, str]]) -> str | None:
    """The id of the product the message names, among (id, title) pairs (the customer's ordered products): the one
    sharing the most title words with it; None when none shares a word, or two tie."""
    said = _words(text)
    scored = sorted(((len(said & _words(title)), pid) for pid, title in products), reverse=True)
    if (
        not scored
        or scored[0][0] == 0
        or (len(scored) > 1 and scored[1][0] == scored[0][0] and scored[1][1] != scored[0][1])
    ):
        return None
    return scored[0][1]
