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
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from concierge.offers.catalogue import OfferMoment

if TYPE_CHECKING:
    from concierge.journeys.definitions import Subscriptions
    from concierge.store.models import Product, Variant

# The moments a conversation can reach (the others are journeys': abandoned carts, survey promoters).
CONVERSATION_MOMENTS = frozenset(
    {
        OfferMoment.VARIANT_OUT_OF_STOCK,
        OfferMoment.RETURN_REQUESTED,
        OfferMoment.POSITIVE_FEEDBACK,
        OfferMoment.PAID_FEATURE_INTEREST,
    }
)
# The moments customers meet today: in a conversation, whichever engine answers, a sold-out variant in an exchange, a
# refund proposed for a return and praise (named by the engines), a question about a paid plan's feature (named by
# the offering wrapper around both, engine/offering.py); and the journeys' (an abandoned cart, a promoter's answer).
LIVE_MOMENTS = frozenset(OfferMoment)
# The return reasons that mean the shop got it wrong: the customer is owed a fix, never an offer.
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
    action_id: str | None = Field(
        None, max_length=80, description="return_requested: the pending refund the moment is about (its amounts)"
    )
    shop_at_fault: bool = Field(False, description="damaged, faulty, wrong or late: owed a fix, not an offer")
    declined: bool = Field(False, description="earlier words of the request turned offers, credit or discounts down")
    feature: str | None = Field(None, max_length=60, description="paid_feature_interest: the feature asked about")
    plan: str | None = Field(None, max_length=64, description="paid_feature_interest: the plan that gives it")


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


# "no store credit", "I don't want a voucher", "no discounts please", "without any offers": what an offer would give,
# turned down before it is made. Never "credit card" ("not to my credit card").
DECLINED = re.compile(
    r"\b(?:no|not|without|(?:do not|don'?t) (?:want|need)(?: any)?|rather than|instead of)\s+(?:an?\s+|any\s+)?"
    r"(?:(?:store|shop|account|site)\s+)?(?:credit|voucher|coupon|discount|offer|promo(?:tion)?|upsell)s?\b"
    r"(?!\s+card)",
    re.IGNORECASE,
)


def declines(text: str) -> bool:
    """Whether the customer's words turn down what an offer would give (a guardrail: `OfferContext.declined`)."""
    return DECLINED.search(text) is not None


def items_phrase(items: Iterable[object]) -> str:
    """Items as a reply names them: "the mug", "mug and saucer", "mug, saucer and spoon" (at most 120 characters)."""
    names = [str(i) for i in items]
    return (" and ".join(names) if len(names) <= 2 else ", ".join(names[:-1]) + " and " + names[-1])[:120]


def return_requested(proposal: Mapping[str, Any], product_id: str | None = None) -> OfferMomentHint | None:
    """The return moment, from a `return_items` proposal's result (pending confirmation): a refund to the original
    payment is about to be confirmed. Either engine names it the same way, in code. The actions function reads the
    amounts from the pending action itself (`action_id`), never from here; None for an exchange, a refund already
    going to store credit, or anything that is not a proposal."""
    if proposal.get("resolution") != "refund" or proposal.get("store_credit") or not proposal.get("action_id"):
        return None
    return OfferMomentHint(
        moment=OfferMoment.RETURN_REQUESTED,
        product_id=product_id,
        item=items_phrase(proposal.get("items") or []) or None,
        order_id=str(proposal.get("order_id") or "") or None,
        action_id=str(proposal["action_id"]),
        shop_at_fault=str(proposal.get("reason") or "") in FAULT_REASONS,
    )


def sold_out_labels(product: Product, wanted: str, alternative: str) -> tuple[str, str, str] | None:
    """A sold-out moment a model reported, checked against the catalogue. Each text names the option values of
    `product` it contains (those that tell its variants apart: "pink", "pink, size L"); `wanted` must name some and
    no variant with all of them may be in stock, `alternative` must name some that an in-stock variant has. Returns
    the catalogue's labels ("Oxford Shirt (Pink)", "Oxford Shirt (White)") and the alternative's sku, or None when
    the catalogue disagrees: the customer is never shown the model's words for them."""
    values_of = [[v for v in variant.options.values() if v] for variant in product.variants]
    shared = set.intersection(*(set(v) for v in values_of)) if values_of else set()
    distinct = list(dict.fromkeys(v for values in values_of for v in values if v not in shared))

    def named(text: str) -> list[str]:
        words = set(_WORD.findall(text.lower()))
        return [v for v in distinct if set(_WORD.findall(v.lower())) <= words]

    def having(values: list[str]) -> list[Variant]:
        return [variant for variant in product.variants if set(values) <= set(variant.options.values())]

    gone, kept = named(wanted), named(alternative)
    if not gone or not kept or not having(gone) or any(v.stock > 0 for v in having(gone)):
        return None
    available = [v for v in having(kept) if v.stock > 0]
    if not available:
        return None

    def label(values: list[str], variant: Variant) -> str:  # in the order of the variant's options
        return f"{product.title} ({' / '.join(v for v in variant.options.values() if v in values)})"

    return label(gone, having(gone)[0]), label(kept, available[0]), available[0].sku


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


def _word_list(text: str) -> list[str]:
    """The content words of a text in order, plurals folded ("workouts" -> "workout")."""
    words = [w for w in _WORD.findall(text.lower()) if (w not in _STOP and len(w) > 2) or any(c.isdigit() for c in w)]
    return [w[:-1] if w.endswith("s") and len(w) > 3 else w for w in words]


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


# Words of a customer managing or disputing what they already pay for: never a moment to offer a trial, whatever
# feature they name ("cancel my sleep coaching", "why was I charged for the backup plan?").
SUBSCRIPTION_BUSINESS = re.compile(
    r"\b(cancel\w*|unsubscrib\w*|stop (my|the|paying)|end (my|the)|refund\w*|charged?|charging|billing|bill|"
    r"invoice|downgrad\w*|pause|renew\w*|already (have|pay|paying|subscribed)|i (have|pay for|subscribed to))\b",
    re.IGNORECASE,
)


def paid_feature_interest(text: str, subscriptions: Subscriptions | None) -> OfferMomentHint | None:
    """The paid-feature moment of a message: it names a feature one of the shop's plans gives (its name or one of
    its mentions, as whole words: merchant.json `subscriptions.plans[].features`), or the plan itself, and is not
    about managing, cancelling or disputing a subscription. The feature named first in the message wins; the plan
    named alone stands for its features. None when nothing paid is named."""
    if subscriptions is None or SUBSCRIPTION_BUSINESS.search(text):
        return None
    words = _word_list(text)
    found: list[tuple[int, str, str]] = []  # (where in the message, the feature's name, the plan)

    def where(phrase: str) -> int | None:
        """Where the message names the phrase: each of its words (in any order: "workouts older than 30 days"
        names "older workouts"), at the first of them; None when a word is missing."""
        wanted = set(_word_list(phrase))
        places = [words.index(w) for w in wanted if w in words]
        return min(places) if wanted and len(places) == len(wanted) else None

    for plan in subscriptions.plans:
        if not plan.features:
            continue
        for name, phrases in [*((f.name, f.phrases()) for f in plan.features), (plan.name, [plan.name])]:
            for phrase in phrases:
                at = where(phrase)
                if at is not None:
                    found.append((at, name, plan.code))
    if not found:
        return None
    _, feature_name, plan_code = min(found)
    return OfferMomentHint(moment=OfferMoment.PAID_FEATURE_INTEREST, feature=feature_name, plan=plan_code)
