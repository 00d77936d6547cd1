"""Scenario carts: a goal and its constraints in, a `Cart` out — lines (product, variant, quantity, price, why each
fits), totals, the promotions applied and the storefront's checkout link.

The hard constraints are kept by code, on the live products, never traded away: every line is in stock in the
quantity asked for, arrives by the date asked for (at the latest, by the shop's or the product's own delivery
time), and the cart's total, after promotions and with delivery, is within the budget. The recipient's age, dietary
and size needs are kept the same way where a product states them (an age range, a food's dietary facts, a size
option). A cart that cannot keep them says so: it is empty, or shorter, and `left_out` says why each candidate was
not taken; nothing is put in that breaks one.

What is picked: the candidates the catalogue search found (or a caller named), in that order, taking each that
matches the goal's words well enough (`pick="matching"`: at least `MIN_MATCH` of the words, and at least
`RELATIVE_MATCH` of the best candidate's match) and keeps every constraint, up to `MAX_LINES` lines; or, with
`pick="listed"`, every candidate named that keeps the constraints (a model that chose the products itself).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Literal
from urllib.parse import quote
from zoneinfo import ZoneInfo

from concierge.catalogue.cart import (
    Cart,
    CartDelivery,
    CartLine,
    CartStatus,
    CartTotals,
    ConstraintCheck,
    LeftOut,
    day_phrase,
)
from concierge.catalogue.policy import ITEMS, DeliveryEstimate
from concierge.catalogue.promotions import PricedLine, Pricing, cents, price
from concierge.catalogue.requests import ShoppingRequest
from concierge.catalogue.search import coverage, listing_of, terms
from concierge.store.merchant import MerchantProfile
from concierge.store.models import Product, Variant

MAX_LINES = 4
MIN_MATCH = 0.34
MIN_ITEM_MATCH = 0.5  # one of several things asked for is named in few words: a product has half of them at least
RELATIVE_MATCH = 0.6
SIZE_OPTIONS = ("size", "shoe size", "sizes")
Pick = Literal["matching", "listed"]
Chosen = tuple[Product, Variant, int, list[str]]


def _match(query_terms: list[str], product: Product) -> tuple[float, list[str]]:
    """The share of the query's words the product has (`search.coverage`), and which words matched."""
    return coverage(query_terms, listing_of(product))


def _names_counted_item(request: ShoppingRequest, product: Product, query_terms: list[str]) -> bool | None:
    """With a count of an item asked for ("two USB-C cables", "6 mugs"): whether this product is that item by its
    title (None: these words count no item)."""
    nouns = {t for noun in request.quantities for t in terms(noun)} & set(query_terms)
    if not nouns:
        return None
    return bool(nouns & set(terms(product.title)))


def _said_words(query: str, matched: list[str]) -> str:
    """The customer's own words behind the matched terms ('pour-over coffee')."""
    words = [w for w in query.split() if any(t in matched for t in terms(w))]
    return " ".join(dict.fromkeys(words)) or " ".join(matched)


def _sizes_of(variant: Variant) -> list[str]:
    return [value for name, value in variant.options.items() if name.strip().lower() in SIZE_OPTIONS]


def _size_fits(variant: Variant, sizes: Sequence[str]) -> bool:
    if not sizes:
        return True
    own = _sizes_of(variant)
    if not own:
        return True  # the product has no size: the need does not apply to it
    wanted = {s.lower() for s in sizes}
    return any(value.lower() in wanted or value.lower().split()[0] in wanted for value in own)


def _option_affinity(variant: Variant, query_terms: list[str]) -> int:
    return sum(1 for value in variant.options.values() for t in terms(value) if t in query_terms)


def _quantity(request: ShoppingRequest, product: Product) -> int:
    title = set(terms(f"{product.title} {product.category}"))
    for noun, count in request.quantities.items():
        if set(terms(noun)) & title:
            return count
    return 1


class CartBuilder:
    def __init__(self, merchant: MerchantProfile, now: datetime) -> None:
        self.merchant = merchant
        self.now = now
        delivery = merchant.delivery
        self.zone = delivery.zone if delivery else ZoneInfo("UTC")
        self.express = False

    def _choose_delivery(self, request: ShoppingRequest) -> None:
        """Express, when the shop sells it and only it arrives by the date asked for."""
        delivery = self.merchant.delivery
        self.express = False
        if request.needed_by is None or delivery is None or delivery.express is None:
            return
        if delivery.latest_arrival(self.now, self.zone) <= request.needed_by:
            return
        faster = delivery.express.estimate(delivery)
        self.express = faster.latest_arrival(self.now, self.zone) <= request.needed_by

    def build(self, request: ShoppingRequest, candidates: Sequence[Product], pick: Pick = "matching") -> Cart:
        browse = list(dict.fromkeys(p.category for p in candidates))
        self._choose_delivery(request)
        # The words no candidate has say nothing about which candidate fits ("for my dad who loves pour-over coffee":
        # "dad"): the share of the goal a product covers is the share of the words some candidate has.
        known = {t for p in candidates for t in terms(listing_of(p).text)}
        query_terms = [t for t in dict.fromkeys(terms(request.query)) if t in known]
        if pick == "matching" and not query_terms:  # nothing said that any product has: ask what they'd like
            return self._cart(request, [], [], "needs_goal", browse).model_copy(update={"searched": request.query})
        self._left_out: list[LeftOut] = []
        self._chosen: list[Chosen] = []
        items = [[t for t in dict.fromkeys(terms(item)) if t in known] for item in request.items]
        if pick == "matching" and sum(bool(i) for i in items) > 1:
            for item, item_terms in zip(request.items, items, strict=True):
                if item_terms:  # one product per thing asked for ("keyboard, mouse and a hub")
                    self._take(request, candidates, item_terms, item, wanted=1, least=MIN_ITEM_MATCH)
        else:
            self._take(request, candidates, query_terms, request.query, wanted=MAX_LINES, pick=pick)
        chosen = self._chosen
        return self._cart(request, chosen, self._left_out, "ready" if chosen else "empty", [] if chosen else browse)

    def _take(
        self,
        request: ShoppingRequest,
        candidates: Sequence[Product],
        query_terms: list[str],
        said: str,
        wanted: int,
        pick: Pick = "matching",
        least: float = MIN_MATCH,
    ) -> None:
        """Add to the cart up to `wanted` of the candidates that match these words well enough and keep every
        constraint, best match first."""
        scored = []
        for order, product in enumerate(candidates):
            score, matched = _match(query_terms, product) if pick == "matching" else (1.0, [])
            scored.append((score, order, product, matched))
        best = max((s for s, *_ in scored), default=0.0)
        floor = max(least, RELATIVE_MATCH * best)
        taken = 0
        for score, _, product, matched in sorted(scored, key=lambda entry: (-entry[0], entry[1])):
            if any(product.id == p.id for p, *_ in self._chosen):
                continue
            if pick == "matching" and (score < floor or _names_counted_item(request, product, query_terms) is False):
                self._leave(product, "is not a close match", close=False)
                continue
            if taken >= wanted or len(self._chosen) >= MAX_LINES:
                self._leave(product, "did not fit: the cart is full", close=False)
                continue
            fit = self._fit(request, product, query_terms)
            if isinstance(fit, str):
                self._leave(product, fit)
                continue
            variant, quantity, why = fit
            if matched:
                why = [f"matches “{_said_words(said, matched)}”", *why]
            trial = [*self._chosen, (product, variant, quantity, why)]
            priced = self._pricing(trial) if request.budget is not None else None
            if priced is not None and request.budget is not None and priced.total > request.budget:
                shipping = priced.shipping or Decimal(0)
                # alone in the cart, the item fits the budget and its delivery does not: said with both amounts
                if not self._chosen and shipping > 0 and priced.total - shipping <= request.budget:
                    self._leave(
                        product,
                        f"would come to {self._money(priced.total)} with {self._money(shipping)} delivery, just "
                        "over the budget",
                    )
                else:
                    self._leave(product, "would take the cart over budget")
                continue
            self._chosen = trial
            taken += 1

    def _leave(self, product: Product, reason: str, close: bool = True) -> None:
        """A candidate not taken, and why (the first reason given for it stands); `close`: it matched the goal."""
        if not any(left.product_id == product.id for left in self._left_out):
            self._left_out.append(LeftOut(product_id=product.id, title=product.title, reason=reason, close=close))

    # one product ------------------------------------------------------------------------------------------------
    def _fit(
        self, request: ShoppingRequest, product: Product, query_terms: list[str]
    ) -> tuple[Variant, int, list[str]] | str:
        """The variant to put in the cart, its quantity and why it fits; or why the product cannot be taken."""
        why: list[str] = []
        if request.recipient_age is not None and product.ages is not None:
            if not product.ages.admits(request.recipient_age):
                return f"is made for {product.ages.describe()}"
            why.append(f"for {product.ages.describe()}")
        if request.dietary and product.dietary is not None:
            missing = [need for need in request.dietary if need not in product.dietary]
            if missing:
                return f"is not stated to be {', '.join(missing)}"
            why.append(", ".join(request.dietary))
        quantity = _quantity(request, product)
        named = max((_option_affinity(v, query_terms) for v in product.variants), default=0)
        variants = [v for v in product.variants if _option_affinity(v, query_terms) == named]
        in_stock = [v for v in variants if v.stock >= quantity]
        if not in_stock:
            if named:  # the customer named an option ("with a UK plug") that is not to be had: not another one
                wanted = " / ".join(dict.fromkeys(" ".join(v.options.values()) for v in variants))
                return f"is out of stock in {wanted}"
            return "is out of stock" if quantity == 1 else f"has fewer than {quantity} in stock"
        sized = [v for v in in_stock if _size_fits(v, request.sizes)]
        if not sized:
            return f"is not in stock in size {', '.join(request.sizes)}"
        priced = [v for v in sized if request.min_price is None or v.price >= request.min_price]
        if not priced:
            return f"costs less than {self._money(request.min_price or Decimal(0))}"
        if request.budget is not None:
            priced = [v for v in priced if v.price * quantity <= request.budget]
            if not priced:
                return "is over budget"
        arrives = self._arrival(product)
        if request.needed_by is not None:
            if arrives is None:
                return "has no delivery time stated, so no date can be promised"
            if arrives > request.needed_by:
                return f"arrives by {day_phrase(arrives)} at the latest"
        listed = {v.sku: n for n, v in enumerate(product.variants)}  # the merchant's own order breaks ties
        variant = min(priced, key=lambda v: (v.price, listed[v.sku]))
        sizes = _sizes_of(variant)
        if request.sizes and sizes:
            why.append(f"size {sizes[0]}")
        why.append("in stock")
        if arrives is not None:
            why.append(f"arrives by {day_phrase(arrives)}")
        return variant, quantity, why

    def _arrival(self, product: Product) -> date | None:
        delivery = self.merchant.delivery
        estimate: DeliveryEstimate | None = product.delivery or delivery
        if product.delivery is None and delivery is not None and self.express and delivery.express is not None:
            estimate = delivery.express.estimate(delivery)
        return estimate.latest_arrival(self.now, self.zone) if estimate is not None else None

    def _shipping_cost(self) -> Decimal | None:
        delivery = self.merchant.delivery
        if delivery is None:
            return None
        return delivery.express.cost if self.express and delivery.express is not None else delivery.cost

    # the cart ---------------------------------------------------------------------------------------------------
    def _priced_lines(self, chosen: Sequence[Chosen]) -> list[PricedLine]:
        return [
            PricedLine(
                product_id=product.id,
                category=product.category,
                tags=tuple(product.tags),
                unit_price=variant.price,
                quantity=quantity,
            )
            for product, variant, quantity, _ in chosen
        ]

    def _pricing(self, chosen: Sequence[Chosen]) -> Pricing:
        return price(
            self._priced_lines(chosen),
            self.merchant.promotions,
            self.now,
            self._shipping_cost(),
            free_shipping=not self.express,
        )

    def _money(self, amount: Decimal) -> str:
        from concierge.actions.proposal import money

        return money(amount, self.merchant.currency)

    def _cart(
        self,
        request: ShoppingRequest,
        chosen: Sequence[Chosen],
        left_out: list[LeftOut],
        status: CartStatus,
        browse: list[str],
    ) -> Cart:
        pricing = self._pricing(chosen)
        labels = {p.id: p.label for p in self.merchant.promotions}
        storefront = self.merchant.storefront
        lines = []
        for (product, variant, quantity, why), discount, promotion in zip(
            chosen, pricing.line_discounts, pricing.line_promotions, strict=True
        ):
            label = labels.get(promotion) if promotion else None
            lines.append(
                CartLine(
                    product_id=product.id,
                    title=product.title,
                    sku=variant.sku,
                    options=dict(variant.options),
                    quantity=quantity,
                    unit_price=variant.price,
                    discount=discount,
                    line_total=cents(variant.price * quantity - discount),
                    promotion=label,
                    url=product.url,
                    add_to_cart_url=(
                        storefront.add_to_cart_url.replace("{sku}", quote(variant.sku, safe="")).replace(
                            "{quantity}", str(quantity)
                        )
                        if storefront.add_to_cart_url
                        else None
                    ),
                    arrives_by=self._arrival(product),
                    why=[*why, *([label] if label else [])],
                )
            )
        checkout = None
        if storefront.checkout_url and lines:
            items = ",".join(f"{line.sku}:{line.quantity}" for line in lines)
            checkout = storefront.checkout_url.replace(ITEMS, quote(items, safe=""))
        totals = CartTotals(
            currency=self.merchant.currency,
            subtotal=pricing.subtotal,
            discount=pricing.discount,
            shipping=pricing.shipping,
            total=pricing.total,
        )
        constraints = self._constraints(request, lines, totals)
        arrivals = [line.arrives_by for line in lines]
        return Cart(
            goal=request.goal,
            status=status,
            lines=lines,
            totals=totals,
            delivery=CartDelivery(
                method="express" if self.express else "standard",
                cost=self._shipping_cost(),
                arrives_by=max(a for a in arrivals if a) if arrivals and all(arrivals) else None,
            ),
            promotions=pricing.applied,
            checkout_url=checkout,
            constraints=constraints,
            satisfied=all(c.satisfied for c in constraints if c.hard),
            left_out=left_out,
            # the free-delivery threshold is worth saying only when the budget leaves room to reach it
            free_shipping_from=pricing.free_shipping_from
            if lines and (request.budget is None or (pricing.free_shipping_from or 0) <= request.budget)
            else None,
            browse=browse,
        )

    def _constraints(
        self, request: ShoppingRequest, lines: list[CartLine], totals: CartTotals
    ) -> list[ConstraintCheck]:
        """Each constraint, checked on the cart as built (the hard ones hold by construction; this says so)."""
        checks = [
            ConstraintCheck(
                name="in_stock",
                hard=True,
                wanted="every item in stock",
                satisfied=True,
                detail="every line is in stock in the quantity asked for" if lines else "no lines",
            )
        ]
        if request.budget is not None:
            checks.append(
                ConstraintCheck(
                    name="budget",
                    hard=True,
                    wanted=self._money(request.budget),
                    satisfied=totals.total <= request.budget,
                    detail=f"total {self._money(totals.total)}"
                    + ("" if totals.shipping is not None else " before delivery, which is added at checkout"),
                )
            )
        if request.needed_by is not None:
            latest = max((line.arrives_by for line in lines if line.arrives_by), default=None)
            checks.append(
                ConstraintCheck(
                    name="needed_by",
                    hard=True,
                    wanted=day_phrase(request.needed_by),
                    satisfied=all(
                        line.arrives_by is not None and line.arrives_by <= request.needed_by for line in lines
                    ),
                    detail=f"everything arrives by {day_phrase(latest)}" if latest else "no lines",
                )
            )
        if request.recipient_age is not None:
            checks.append(
                ConstraintCheck(
                    name="recipient_age",
                    hard=False,
                    wanted=str(request.recipient_age),
                    satisfied=True,
                    detail="no line is made for another age",
                )
            )
        if request.dietary:
            checks.append(
                ConstraintCheck(
                    name="dietary",
                    hard=False,
                    wanted=", ".join(request.dietary),
                    satisfied=True,
                    detail="every food in the cart states it",
                )
            )
        if request.sizes:
            checks.append(
                ConstraintCheck(
                    name="size",
                    hard=False,
                    wanted=", ".join(request.sizes),
                    satisfied=True,
                    detail="every sized item is in that size",
                )
            )
        return checks


def build_cart(
    request: ShoppingRequest,
    candidates: Sequence[Product],
    merchant: MerchantProfile,
    now: datetime | None = None,
    pick: Pick = "matching",
) -> Cart:
    return CartBuilder(merchant, now or datetime.now(UTC)).build(request, candidates, pick)


def products_in_order(found: Mapping[str, Product | None], ids: Sequence[str]) -> list[Product]:
    return [p for p in (found.get(i) for i in ids) if p is not None]
