"""How good the scenario carts are, on the labelled shopping requests in evaluation/shopping/ (`concierge
shopping-eval`).

Each labelled request was written from a shipped sample store's data as of its `snapshot.json` day: the customer's
words, the hard constraints a reader takes from them (`budget`, `needed_by`; every line must also be in stock), the
products that suit the goal (`fits`, with `fit_skus` where only some variants do) and whether a cart keeping every
constraint exists at all (`possible`). The set is split in two by a hash of each id (`split`): rules and thresholds
may be tuned on `tune`; figures are reported on `heldout`.

A request is played as the product plays it (`requests.read`, `service.candidates` on the embedded catalogue index,
`carts.build_cart` on the store's products) at noon UTC on the store's snapshot day, and the cart is checked against
the labels and the store's data, not against its own claims:

- precision: the share of cart lines that fit — the product suits the goal (and the variant, where the label says
  which), and the line keeps the line's hard constraints (in stock in its quantity, priced as the store prices it,
  arriving by the date, costing no more than the budget);
- hard-constraint satisfaction: the share of carts with lines whose total is within the budget and whose every line
  is in stock and arrives by the date;
- and, to read them by: how many requests were read as shopping, how many got a cart with lines, and how many of the
  impossible ones were answered with an empty cart that says why.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from concierge.catalogue.cart import Cart
from concierge.catalogue.carts import build_cart
from concierge.catalogue.policy import shop_today
from concierge.catalogue.requests import read

SET = Path("evaluation") / "shopping" / "requests.jsonl"
Split = Literal["tune", "heldout"]


def split_of(request_id: str) -> Split:
    """The half a request belongs to, from a hash of its id (stable, and blind to what the request says)."""
    return "tune" if hashlib.sha256(request_id.encode()).digest()[0] % 2 == 0 else "heldout"


class LabelledRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    store: str
    text: str
    budget: Decimal | None = None
    needed_by: date | None = None
    fits: list[str] = Field(description="the products that suit the goal")
    fit_skus: dict[str, list[str]] = Field(default_factory=dict, description="product -> the variants that suit it")
    possible: bool = Field(True, description="a cart keeping every hard constraint exists")

    @property
    def split(self) -> Split:
        return split_of(self.id)


def load(path: Path = SET) -> list[LabelledRequest]:
    return [
        LabelledRequest.model_validate_json(line)
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]


@dataclass
class Outcome:
    request: LabelledRequest
    cart: Cart | None  # None: not read as a shopping request
    fitting_lines: int = 0
    violations: list[str] = field(default_factory=list)

    @property
    def lines(self) -> int:
        return len(self.cart.lines) if self.cart else 0

    @property
    def keeps_hard_constraints(self) -> bool:
        return not self.violations


class _Store:
    """A sample store as the evaluation plays it: its products, merchant.json and the catalogue index."""

    def __init__(self, directory: Path) -> None:
        from concierge.catalogue.embedded import EmbeddedCatalogue
        from concierge.catalogue.search import sync_catalogue
        from concierge.knowledge.embeddings import HashingEmbedder
        from concierge.store.merchant import MerchantProfile
        from concierge.store.storefolder import load_store_folder

        folder = load_store_folder(directory)
        if folder.as_of is None:
            raise ValueError(f"{directory}: the shopping evaluation needs the store's snapshot.json (its day)")
        self.merchant = folder.merchant or MerchantProfile(
            name=directory.name, return_window_days=0, max_auto_refund=Decimal(0)
        )
        self.products = {p.id: p for p in folder.data.products}
        self.now = datetime.combine(folder.as_of, time(12), tzinfo=UTC)
        self.embedder = HashingEmbedder()
        self.index = EmbeddedCatalogue(self.embedder.dimensions, self.embedder.name)
        sync_catalogue(folder.data.products, self.index, self.embedder, self.merchant)


def play(request: LabelledRequest, store: _Store) -> Outcome:
    from concierge.catalogue.service import candidates

    reading = read(request.text, shop_today(store.merchant, store.now))
    if reading is None:
        return Outcome(request, None)
    hits = candidates(reading, store.index, store.embedder, store.merchant, store.now)
    cart = build_cart(reading, [store.products[h.listing.product_id] for h in hits], store.merchant, store.now)
    return check(Outcome(request, cart), store)


def check(outcome: Outcome, store: _Store) -> Outcome:
    """The cart against the labels and the store's data."""
    from concierge.catalogue.policy import DeliveryEstimate

    request, cart = outcome.request, outcome.cart
    assert cart is not None
    delivery = store.merchant.delivery
    for line in cart.lines:
        product = store.products.get(line.product_id)
        variant = next((v for v in product.variants if v.sku == line.sku), None) if product else None
        problems = []
        if product is None or variant is None:
            problems.append(f"{line.sku}: not in the store")
        else:
            if variant.stock < line.quantity:
                problems.append(f"{line.sku}: {variant.stock} in stock, {line.quantity} in the cart")
            if variant.price != line.unit_price:
                problems.append(f"{line.sku}: priced {line.unit_price}, the store says {variant.price}")
            if request.needed_by is not None:
                estimate: DeliveryEstimate | None = product.delivery or delivery
                if product.delivery is None and delivery is not None and cart.delivery.method == "express":
                    estimate = delivery.express.estimate(delivery) if delivery.express else None
                arrives = estimate.latest_arrival(store.now, delivery.zone) if estimate and delivery else None
                if arrives is None or arrives > request.needed_by:
                    problems.append(f"{line.sku}: arrives by {arrives}, needed by {request.needed_by}")
        outcome.violations += problems
        suits = line.product_id in request.fits and (
            line.product_id not in request.fit_skus or line.sku in request.fit_skus[line.product_id]
        )
        affordable = request.budget is None or line.unit_price * line.quantity <= request.budget
        outcome.fitting_lines += suits and not problems and affordable
    if cart.lines:
        subtotal = sum((line.unit_price * line.quantity for line in cart.lines), Decimal("0"))
        if subtotal != cart.totals.subtotal:
            outcome.violations.append(f"subtotal {cart.totals.subtotal}, the lines add up to {subtotal}")
        if request.budget is not None and cart.totals.total > request.budget:
            outcome.violations.append(f"total {cart.totals.total} over the budget of {request.budget}")
    return outcome


def score(requests: list[LabelledRequest], stores: Path) -> list[Outcome]:
    loaded: dict[str, _Store] = {}
    outcomes = []
    for request in requests:
        if request.store not in loaded:
            loaded[request.store] = _Store(stores / request.store)
        outcomes.append(play(request, loaded[request.store]))
    return outcomes


class Figures(BaseModel):
    requests: int
    read_as_shopping: int
    carts_with_lines: int
    lines: int
    fitting_lines: int
    precision: float | None = Field(description="fitting lines / lines")
    carts_keeping_hard_constraints: int
    hard_constraint_satisfaction: float | None = Field(description="carts with lines keeping them / carts with lines")
    possible: int
    possible_with_a_cart: int
    impossible: int
    impossible_answered_empty: int


def report(outcomes: list[Outcome]) -> Figures:
    with_lines = [o for o in outcomes if o.lines]
    lines = sum(o.lines for o in outcomes)
    fitting = sum(o.fitting_lines for o in outcomes)
    keeping = sum(o.keeps_hard_constraints for o in with_lines)
    possible = [o for o in outcomes if o.request.possible]
    impossible = [o for o in outcomes if not o.request.possible]
    return Figures(
        requests=len(outcomes),
        read_as_shopping=sum(o.cart is not None for o in outcomes),
        carts_with_lines=len(with_lines),
        lines=lines,
        fitting_lines=fitting,
        precision=round(fitting / lines, 3) if lines else None,
        carts_keeping_hard_constraints=keeping,
        hard_constraint_satisfaction=round(keeping / len(with_lines), 3) if with_lines else None,
        possible=len(possible),
        possible_with_a_cart=sum(bool(o.lines) for o in possible),
        impossible=len(impossible),
        impossible_answered_empty=sum(o.cart is not None and not o.lines for o in impossible),
    )


def table(figures: Figures) -> str:
    def share(part: int, whole: int) -> str:
        return f"{part}/{whole}" + (f" ({part / whole:.0%})" if whole else "")

    rows = [
        ("requests", str(figures.requests)),
        ("read as shopping requests", share(figures.read_as_shopping, figures.requests)),
        ("carts with lines", share(figures.carts_with_lines, figures.requests)),
        ("precision (lines that fit)", share(figures.fitting_lines, figures.lines)),
        ("hard constraints kept", share(figures.carts_keeping_hard_constraints, figures.carts_with_lines)),
        ("possible requests given a cart", share(figures.possible_with_a_cart, figures.possible)),
        ("impossible ones answered empty", share(figures.impossible_answered_empty, figures.impossible)),
    ]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def details(outcomes: list[Outcome]) -> str:
    """One line per request (the tuning half only: the held-out half is for figures)."""
    out = []
    for o in outcomes:
        if o.cart is None:
            out.append(f"{o.request.id}: not read as shopping")
            continue
        lines = ", ".join(f"{line.product_id}×{line.quantity}" for line in o.cart.lines) or o.cart.status
        flags = f" VIOLATES {'; '.join(o.violations)}" if o.violations else ""
        out.append(f"{o.request.id}: {o.fitting_lines}/{o.lines} fit [{lines}] {o.cart.totals.total}{flags}")
    return "\n".join(out)
