"""Personal recommendations, each with the signal it comes from (docs/shopping.md, "Recommendations").

What drives them, for a customer who consents to personalization (`Profile.personalization`):

- **what they viewed** (catalogue/views.py: the storefront's `product.viewed` signals, their last 50 of 90 days): the
  product itself ("you viewed it on 3 December") and the products the catalogue search finds like it, those of the
  same category most ("because you viewed the Ceramic Pour-Over Dripper on 3 December"), weighed by how recent the
  view is (half-life VIEW_HALF_LIFE);
- **what they bought** (their orders, not cancelled): products the catalogue search finds like it, in another
  category ("goes with the Ceramic Pour-Over Dripper you bought") or, weighed less, in the same one ("like the …
  you bought"), and what other customers who bought it bought too ("others who bought the Volt Power Bank also bought
  it", only from MIN_CUSTOMERS other customers on);
- **what they returned** (a returned line whose product they do not hold in another order): never recommended
  again, and products like it are weighed down.

Never recommended: a product out of stock, one they bought (unless it is consumed: a food, `dietary` stated, or a
product the shop's orders show customers buying again, catalogue/related.py), one they returned, and any product
merchant.json's `recommendations` excludes (a sensitive category or tag: health, religion…); a view or a purchase
of an excluded product is no reason either. A reason names the signal and nothing more: the product viewed or
bought and the day, never what it might say about the person.

Without consent nothing of theirs is read (not their views, not their orders): the shop's best sellers (customers
who bought each, catalogue/related.py), said as such. With consent but nothing to go on: the same, said as such.

Similarity, co-purchases and best sellers come from the snapshot `concierge import` works out (catalogue/related.py),
so a recommendation reads a few items, never the shop's orders: the customer's profile, views and last
RECENT_ORDERS orders (with the returns of the delivered ones), the snapshot, and the live products considered (stock
and prices are read live, like a cart's).
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from concierge.catalogue.related import MIN_CUSTOMERS

if TYPE_CHECKING:
    from concierge.catalogue.related import Related
    from concierge.conversation.turn import ReadyTurn
    from concierge.memory.store import MemoryStore
    from concierge.store.commerce import CommerceBackend
    from concierge.store.merchant import MerchantProfile, RecommendationSettings
    from concierge.store.models import Product

SHOWN = 3
MOST_SHOWN = 4
RECENT_ORDERS = 20
VIEW_SOURCES = 10  # the most recent products viewed that give reasons
BOUGHT_SOURCES = 10  # the most recent products bought that give reasons
VIEW_HALF_LIFE = timedelta(days=14)
BOUGHT_HALF_LIFE = timedelta(days=180)
# What each signal weighs (a view of the product itself most; a product like one bought, in the same category, least:
# they have one already).
W_VIEWED = 1.0
W_LIKE_VIEWED = 0.6
W_GOES_WITH_BOUGHT = 0.5
W_LIKE_BOUGHT = 0.2
W_BOUGHT_TOGETHER = 0.8
W_BUY_AGAIN = 0.4
# A product like one viewed, in another category, weighs this much of one in the same (a view looks for that kind of
# thing; a purchase, for what goes with it: W_GOES_WITH_BOUGHT over W_LIKE_BOUGHT).
OTHER_KIND = 0.5
RETURNED_DAMPING = 0.8  # a product like one returned keeps (1 - this x the likeness) of its score
FLOOR = 0.03  # a personal score below this is no recommendation

ReasonKind = Literal[
    "viewed", "like_viewed", "goes_with_bought", "like_bought", "bought_together", "buy_again", "best_seller", "range"
]
PERSONAL_KINDS = frozenset({"viewed", "like_viewed", "goes_with_bought", "like_bought", "bought_together", "buy_again"})


class Reason(BaseModel):
    """Why a product is recommended: the signal, named as it is."""

    model_config = ConfigDict(frozen=True, defer_build=True)  # built on first use (docs/performance.md)

    kind: ReasonKind
    text: str = Field(description="the reason as the customer is told it")
    source_product_id: str | None = Field(None, description="the product viewed or bought it comes from")
    source_title: str | None = None
    on: date | None = Field(None, description="the day of the view or the order it comes from")


class Recommendation(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)  # built on first use (docs/performance.md)

    product_id: str
    title: str
    url: str
    price: str = Field(description="the lowest price of a variant in stock")
    currency: str
    reason: Reason
    also: list[Reason] = Field(default_factory=list, description="other signals that point to it")
    score: float


class Recommendations(BaseModel):
    """The recommend_products tool's result."""

    model_config = ConfigDict(defer_build=True)

    personal: bool = Field(description="True: drawn from the customer's own views and orders")
    generic_because: Literal["no_consent", "no_history", "nothing_fits"] | None = Field(
        None, description="why none (or only some) is personal"
    )
    recommendations: list[Recommendation] = Field(default_factory=list)
    note: str = Field("", description="how to present them")


@dataclass(frozen=True)
class Seen:
    product_id: str
    at: datetime
    times: int = 1


@dataclass(frozen=True)
class Owned:
    product_id: str
    title: str
    at: datetime


@dataclass
class History:
    """What a customer did that recommendations may read (with their consent)."""

    views: list[Seen] = field(default_factory=list)  # newest first, one per product
    bought: dict[str, Owned] = field(default_factory=dict)  # kept: not returned, or held in another order
    returned: dict[str, Owned] = field(default_factory=dict)  # returned, and not held in another order

    @property
    def empty(self) -> bool:
        return not (self.views or self.bought or self.returned)


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _fresh(now: datetime, at: datetime, half_life: timedelta) -> float:
    age = max((now - _aware(at)).total_seconds(), 0.0)
    return math.pow(0.5, age / half_life.total_seconds())


def day_words(day: date) -> str:
    return f"{day.day} {day.strftime('%B')}"


def shop_zone(merchant: MerchantProfile) -> ZoneInfo:
    """The shop's time zone (its delivery's, else its support hours', else UTC): the day a view is told in."""
    zone = merchant.delivery.timezone if merchant.delivery else None
    return ZoneInfo(zone or (merchant.support_hours.timezone if merchant.support_hours else "UTC"))


def in_stock_price(product: Product, max_price: Decimal | None = None) -> Decimal | None:
    """The lowest price of a variant in stock (within `max_price`); None: none is."""
    prices = [v.price for v in product.variants if v.stock > 0 and (max_price is None or v.price <= max_price)]
    return min(prices) if prices else None


def consumed(product: Product, related: Related | None) -> bool:
    """A product bought again and again: a food (`dietary` stated), or one the shop's orders show customers buying
    again (catalogue/related.py). Only these are recommended to someone who bought them."""
    return product.dietary is not None or (related is not None and product.id in related.rebought)


# a message asking for recommendations ------------------------------------------------------------------------------
# What asks for suggestions for the customer themself: recommend or suggest with nothing named to search for,
# "anything else I might like?", "based on what I bought", "what should I get next?". Never a thing named ("can you
# recommend a kettle?": a cart, catalogue/requests.py), someone else ("for my dad", a gift: a cart), a date it is
# needed by (a cart), a size or a comparison (a product question), an order of theirs (another request).
RECOMMEND_CUE = re.compile(
    r"\b(?:recommend\w*|suggest\w*)\b"
    r"|\b(?:anything|something|what)(?: else)?(?: (?:do )?you think)? "
    r"(?:i|i'?d|i would|i might|i could|might i|would i)"
    r"(?: also)? (?:like|love|enjoy|want|be into)\b"
    r"|\bbased on (?:what i(?:'?ve)? (?:bought|ordered|purchased|viewed|looked at|browsed)|my (?:orders?|purchases?|"
    r"history|browsing|shopping))\b"
    r"|\bwhat should i (?:get|buy|try|order) next\b"
    r"|\b(?:picks?|ideas?) for me\b",
    re.IGNORECASE,
)
NOT_RECOMMEND = re.compile(
    r"\b(?:gifts?|presents?|birthday|christmas|xmas|wedding|anniversary|housewarming|party|secret santa|stocking)\b"
    r"|\bfor (?:my|our|his|her|their|a|an|the|him|them) (?!own\b)\w+"
    r"|\b(?:size|sizes|sizing|fit|fits|fitting|compare|comparison|versus|vs|difference|better|which one|which of)\b"
    r"|\bor (?:the|a|an)\b"
    r"|\b(?:return\w*|refund\w*|exchange\w*|cancel\w*|track\w*|where is|where's|arriv\w*|deliver\w*|broken|"
    r"damaged|faulty|warranty|password|address|person|human|agent)\b",
    re.IGNORECASE,
)
# Words of such a request that name nothing to search for.
REQUEST_WORDS = frozenset(
    "any anything else show give tell might based bought ordered purchased purchases viewed looked browsed browsing "  # noqa: SIM905 (a word list kept readable)
    "history orders next picks pick personal personalised personalized think enjoy also similar shopping "
    "recommended suggested i'd i've i'll".split()
)


def asks_for_recommendations(text: str, today: date | None = None) -> bool:
    """Whether the message asks for recommendations for the customer themself, with nothing named to search for."""
    from concierge.catalogue.requests import _search_words, budget, needed_by
    from concierge.reasoning.orderref import order_reference

    if not RECOMMEND_CUE.search(text) or NOT_RECOMMEND.search(text) or order_reference(text):
        return False
    if today is not None and needed_by(text, today)[0] is not None:
        return False  # needed by a date: a cart, which keeps it
    _, _, spans = budget(text)
    rest = text
    for start, end in sorted(spans, reverse=True):
        rest = rest[:start] + " " + rest[end:]
    named = [w for w in _search_words(rest).split() if w.lower() not in REQUEST_WORDS]
    return not named


# The flow key the deterministic engine keeps the products shown under (engine/recommend.py): a follow-up brings others.
FLOW_KEY = "recommended"
# Asks for the customer themself in so many words ("for me", "I might like", "based on what I bought"): a bare
# "what do you suggest?" does not, and after another answer it asks about that answer.
FOR_THEMSELF = re.compile(
    r"\b(?:for me|for myself|i(?:'d| would| might| could)? (?:also )?(?:like|love|enjoy|want)|might i|would i"
    r"|based on|next|picks?|recommendations?|suggestions?|else)\b",
    re.IGNORECASE,
)


def asked(turn: ReadyTurn, today: date) -> bool:
    """Whether this turn's message asks for recommendations (`asks_for_recommendations`): a bare "what do you
    suggest?" only when it opens the conversation or follows recommendations."""
    text = turn.message.text
    if not asks_for_recommendations(text, today):
        return False
    return (
        bool(FOR_THEMSELF.search(text)) or turn.conversation.customer_turns <= 1 or FLOW_KEY in turn.conversation.flow
    )


def budget_of(text: str) -> Decimal | None:
    """The most a recommended product may cost, when the message says ("something under $50")."""
    from concierge.catalogue.requests import budget

    return budget(text)[0]


# reading the customer's history -----------------------------------------------------------------------------------
def history(customer_id: str, memory: MemoryStore, store: CommerceBackend, now: datetime) -> History:
    """The customer's views, purchases and returns (call only with their consent)."""
    from concierge.catalogue.views import ViewStore

    seen: dict[str, Seen] = {}
    for view in ViewStore(memory).views(customer_id, now):  # newest first
        earlier = seen.get(view.product_id)
        seen[view.product_id] = (
            Seen(view.product_id, earlier.at, earlier.times + 1)
            if earlier
            else Seen(view.product_id, _aware(view.viewed_at))
        )
    from concierge.store.models import OrderStatus  # the actions function's path only: the agent words the result

    kept: dict[str, Owned] = {}
    gone: dict[str, Owned] = {}
    for order in store.recent_orders(customer_id, RECENT_ORDERS):
        if order.status is OrderStatus.CANCELLED:
            continue
        returned = store.returned_line_ids(order.id) if order.status is OrderStatus.DELIVERED else set()
        for line in order.lines:
            into = gone if line.line_id in returned else kept
            before = into.get(line.product_id)
            if before is None or _aware(order.placed_at) > before.at:
                into[line.product_id] = Owned(line.product_id, line.title, _aware(order.placed_at))
    return History(
        views=list(seen.values()),
        bought=kept,
        returned={p: o for p, o in gone.items() if p not in kept},
    )


# ranking ---------------------------------------------------------------------------------------------------------
def _sources(history: History) -> tuple[list[Seen], list[Owned]]:
    bought = sorted(history.bought.values(), key=lambda o: (o.at, o.product_id), reverse=True)
    return history.views[:VIEW_SOURCES], bought[:BOUGHT_SOURCES]


def considered(history: History, related: Related | None) -> list[str]:
    """Every product a ranking of this history may read: the signals' products and what they lead to, and the best
    sellers (bounded: about 150 at most)."""
    views, bought = _sources(history)
    wanted: list[str] = [*(s.product_id for s in views), *(o.product_id for o in bought), *history.returned]
    if related is not None:
        for source in [*(s.product_id for s in views), *(o.product_id for o in bought)]:
            wanted += [p for p, _ in related.similar.get(source, [])]
            wanted += [p for p, _ in related.bought_with.get(source, [])]
        wanted += (related.best_sellers() or related.products)[: 4 * MOST_SHOWN]
    return list(dict.fromkeys(wanted))


@dataclass
class _Candidate:
    score: float = 0.0
    damping: float = 1.0
    reasons: list[tuple[float, Reason]] = field(default_factory=list)

    def add(self, weight: float, reason: Reason) -> None:
        if weight > 0:
            self.score += weight
            self.reasons.append((weight, reason))


def rank(
    history: History,
    related: Related | None,
    products: Mapping[str, Product | None],
    settings: RecommendationSettings,
    now: datetime,
    zone: ZoneInfo,
) -> list[tuple[str, float, list[Reason]]]:
    """The products the customer's signals point to, best first: (product id, score, reasons strongest first).
    Stock, price and what may not be recommended are `eligible`'s."""

    def usable(product_id: str) -> Product | None:
        product = products.get(product_id)
        return None if product is None or settings.excludes(product.category, product.tags) else product

    def day(at: datetime) -> date:
        return _aware(at).astimezone(zone).date()

    def because(kind: ReasonKind, text: str, source: Product, on: date) -> Reason:
        return Reason(kind=kind, text=text, source_product_id=source.id, source_title=source.title, on=on)

    found: dict[str, _Candidate] = defaultdict(_Candidate)
    views, bought = _sources(history)
    for seen in views:
        source = usable(seen.product_id)
        if source is None or seen.product_id in history.returned:
            continue  # a product they sent back is no reason, whenever they looked at it
        fresh = _fresh(now, seen.at, VIEW_HALF_LIFE)
        on = day(seen.at)
        repeat = 1 + 0.2 * min(seen.times - 1, 3)
        found[source.id].add(
            W_VIEWED * fresh * repeat,
            because("viewed", f"you viewed it on {day_words(on)}", source, on),
        )
        for other, likeness in related.similar.get(source.id, []) if related else []:
            candidate = products.get(other)
            same = candidate is not None and candidate.category.strip().lower() == source.category.strip().lower()
            found[other].add(
                W_LIKE_VIEWED * (1.0 if same else OTHER_KIND) * fresh * likeness,
                because("like_viewed", f"because you viewed the {source.title} on {day_words(on)}", source, on),
            )
    for owned in bought:
        source = usable(owned.product_id)
        if source is None:
            continue
        fresh = max(_fresh(now, owned.at, BOUGHT_HALF_LIFE), 0.25)
        on = day(owned.at)
        for other, likeness in related.similar.get(source.id, []) if related else []:
            candidate = products.get(other)
            same = candidate is not None and candidate.category.strip().lower() == source.category.strip().lower()
            kind: ReasonKind = "like_bought" if same else "goes_with_bought"
            text = f"like the {source.title} you bought" if same else f"goes with the {source.title} you bought"
            found[other].add(
                (W_LIKE_BOUGHT if same else W_GOES_WITH_BOUGHT) * fresh * likeness,
                because(kind, text, source, on),
            )
        buyers = related.sold.get(source.id, 0) if related else 0
        for other, customers in related.bought_with.get(source.id, []) if related else []:
            others = customers - (1 if other in history.bought or other in history.returned else 0)
            if others < MIN_CUSTOMERS or not buyers:
                continue  # never one other person's basket
            found[other].add(
                W_BOUGHT_TOGETHER * fresh * min(others / buyers, 1.0),
                because("bought_together", f"others who bought the {source.title} also bought it", source, on),
            )
        if consumed(source, related):
            found[source.id].add(
                W_BUY_AGAIN * max(fresh, 0.5),
                because("buy_again", f"you bought it on {day_words(on)}", source, on),
            )
    for returned in history.returned.values():
        if usable(returned.product_id) is None:
            continue
        for other, likeness in related.similar.get(returned.product_id, []) if related else []:
            if other in found:
                found[other].damping *= 1 - RETURNED_DAMPING * likeness
    ranked = []
    for product_id, entry in found.items():
        score = round(entry.score * entry.damping, 6)
        if score < FLOOR:
            continue
        reasons = [r for _, r in sorted(entry.reasons, key=lambda wr: -wr[0])]
        distinct = list({r.text: r for r in reversed(reasons)}.values())[::-1]
        ranked.append((product_id, score, distinct))
    sold = related.sold if related else {}
    return sorted(ranked, key=lambda r: (-r[1], -sold.get(r[0], 0), r[0]))


def eligible(
    product: Product | None,
    history: History | None,
    related: Related | None,
    settings: RecommendationSettings,
    exclude: Sequence[str],
    max_price: Decimal | None,
) -> Decimal | None:
    """The price it would be recommended at, or None when it may not be: unknown, excluded by the merchant, already
    shown, out of stock (within `max_price`), returned, or bought and not consumed."""
    if product is None or product.id in exclude or settings.excludes(product.category, product.tags):
        return None
    if history is not None:
        if product.id in history.returned:
            return None
        if product.id in history.bought and not consumed(product, related):
            return None
    return in_stock_price(product, max_price)


def _item(product: Product, price: Decimal, currency: str, reasons: list[Reason], score: float) -> Recommendation:
    return Recommendation(
        product_id=product.id,
        title=product.title,
        url=product.url,
        price=str(price),
        currency=currency,
        reason=reasons[0],
        also=reasons[1:2],
        score=round(score, 4),
    )


def choose(
    history: History | None,
    related: Related | None,
    products: Mapping[str, Product | None],
    merchant: MerchantProfile,
    now: datetime,
    limit: int = SHOWN,
    exclude: Sequence[str] = (),
    max_price: Decimal | None = None,
) -> Recommendations:
    """Up to `limit` recommendations: the personal ones first (None `history`: no consent, none), then the best
    sellers to fill, each with its reason."""
    settings = merchant.recommendations
    limit = max(1, min(limit, MOST_SHOWN))
    chosen: list[Recommendation] = []
    personal_ranked = (
        rank(history, related, products, settings, now, shop_zone(merchant)) if history is not None else []
    )
    for product_id, score, reasons in personal_ranked:
        product = products.get(product_id)
        price = eligible(product, history, related, settings, exclude, max_price)
        if product is not None and price is not None:
            chosen.append(_item(product, price, merchant.currency, reasons, score))
        if len(chosen) == limit:
            break
    personal = bool(chosen)
    if len(chosen) < limit and related is not None:
        best = related.best_sellers()
        kind: ReasonKind = "best_seller" if best else "range"
        text = "one of our best sellers" if best else "from our range"
        taken = {c.product_id for c in chosen}
        for product_id in best or related.products:
            product = products.get(product_id)
            price = eligible(product, history, related, settings, exclude, max_price)
            if product is None or price is None or product_id in taken:
                continue
            chosen.append(_item(product, price, merchant.currency, [Reason(kind=kind, text=text)], 0.0))
            if len(chosen) == limit:
                break
    because: Literal["no_consent", "no_history", "nothing_fits"] | None = None
    if history is None:
        because = "no_consent"
    elif not personal:
        because = "no_history" if history.empty else "nothing_fits"
    return Recommendations(
        personal=personal,
        generic_because=because,
        recommendations=chosen,
        note=_note(personal, because, chosen),
    )


def _note(personal: bool, because: str | None, chosen: list[Recommendation]) -> str:
    if not chosen:
        return "Nothing in stock can be recommended just now: say so, and offer to help find something specific."
    if not personal:
        said = {
            "no_consent": "the customer has turned personalization off",
            "no_history": "there is nothing of theirs to go on yet",
            "nothing_fits": "nothing in stock fits what they viewed or bought",
        }.get(because or "", "")
        return (
            f"These are the shop's popular picks, not based on the customer's history ({said}): say so plainly. "
            "Give each with its link."
        )
    return (
        "Give each product with its reason as written and its link; never add why they might like it beyond that "
        "reason (nothing about who they are). Products marked best seller are popular picks, not personal."
    )


# the tool ---------------------------------------------------------------------------------------------------------
def recommend(
    customer_id: str,
    memory: MemoryStore,
    store: CommerceBackend,
    related: Related | None,
    merchant: MerchantProfile,
    now: datetime,
    limit: int = SHOWN,
    exclude: Sequence[str] = (),
    max_price: Decimal | None = None,
) -> Recommendations:
    """The recommendations for a verified customer: their history read only with their consent."""
    from concierge.catalogue.views import personalization

    past = history(customer_id, memory, store, now) if personalization(memory, customer_id) else None
    wanted = considered(past or History(), related)
    products = store.lookup(wanted).products if wanted else {}
    return choose(past, related, products, merchant, now, limit, exclude, max_price)


def tool_result(found: Recommendations) -> dict[str, Any]:
    return found.model_dump(mode="json")


# what the customer can see: their data export --------------------------------------------------------------------
class SignalUse(BaseModel):
    """One of the customer's signals, and what it does to their recommendations."""

    model_config = ConfigDict(defer_build=True)

    signal: Literal["viewed", "bought", "returned"]
    product_id: str
    title: str | None = None
    on: date
    used: bool = Field(description="whether it drives suggestions now (`effect` says why not)")
    effect: str


def signal_uses(
    customer_id: str, memory: MemoryStore, store: CommerceBackend, merchant: MerchantProfile | None, now: datetime
) -> list[SignalUse]:
    """What drives the customer's recommendations, as the data export shows it: each view, purchase and return
    recommendations read, and what it does. Nothing when they have turned personalization off (nothing is read)."""
    from concierge.catalogue.views import personalization

    if not personalization(memory, customer_id):
        return []
    past = history(customer_id, memory, store, now)
    ids = [*(s.product_id for s in past.views), *past.bought, *past.returned]
    products = store.lookup(ids).products if ids else {}
    zone = shop_zone(merchant) if merchant else ZoneInfo("UTC")
    settings = merchant.recommendations if merchant else None

    def day(at: datetime) -> date:
        return _aware(at).astimezone(zone).date()

    def unused(product_id: str, among: bool, limit: int) -> str | None:
        """Why a signal does not drive suggestions; None: it does."""
        product = products.get(product_id)
        if product is None:
            return "not used: the product is no longer in the catalogue"
        if settings is not None and settings.excludes(product.category, product.tags):
            return "not used: the shop never suggests from this kind of product"
        if product_id in past.returned:
            return "not used: you returned it"
        return None if among else f"not used: only the {limit} most recent count"

    uses = []
    views, bought = _sources(past)
    for seen in past.views:
        product = products.get(seen.product_id)
        title = product.title if product else None
        on = day(seen.at)
        why = unused(seen.product_id, seen in views, VIEW_SOURCES)
        uses.append(
            SignalUse(
                signal="viewed",
                product_id=seen.product_id,
                title=title,
                on=on,
                used=why is None,
                effect=why
                or f'the {title} and products like it may be suggested: "because you viewed the {title} on '
                f'{day_words(on)}"',
            )
        )
    for owned in sorted(past.bought.values(), key=lambda o: o.at, reverse=True):
        why = unused(owned.product_id, owned in bought, BOUGHT_SOURCES)
        uses.append(
            SignalUse(
                signal="bought",
                product_id=owned.product_id,
                title=owned.title,
                on=day(owned.at),
                used=why is None,
                effect=why
                or f'products that go with the {owned.title} may be suggested ("goes with the {owned.title} you '
                f'bought", "others who bought the {owned.title} also bought it")',
            )
        )
    for owned in past.returned.values():
        excluded = unused(owned.product_id, True, 0) == "not used: the shop never suggests from this kind of product"
        uses.append(
            SignalUse(
                signal="returned",
                product_id=owned.product_id,
                title=owned.title,
                on=day(owned.at),
                used=not excluded,
                effect=f"the {owned.title} is never suggested again"
                + ("" if excluded else ", and products like it are suggested less"),
            )
        )
    return uses
