"""Catalogue search: hybrid retrieval (keywords and vectors) over the merchant's products, with structured filters
(price, in stock, deliverable within so many working days, category, age, dietary needs), on both index kinds: the
embedded one (`catalogue.embedded`) and OpenSearch (`catalogue.opensearch`).

A product is indexed as a `Listing`: its words (title, category, tags, attributes, description, material, the
variants' options) and the figures the filters read (the variants' prices, which are in stock, how many working days
delivery takes at the latest). The index is a snapshot taken at import: stock and prices move, so whatever is
promised to a customer is checked again on the live product (`carts`).

Both adapters rank the same way: the union of their keyword (BM25) and vector candidates ordered by `relevance`
(how much of the query a listing covers, title, category and tags counting more than the description, blended with
the vector cosine), computed here on the listing itself, so the same catalogue gives the same order on either kind.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

from pydantic import BaseModel, ConfigDict, Field

from concierge.knowledge import text

if TYPE_CHECKING:
    import numpy as np

    from concierge.knowledge.embeddings import Embedder
    from concierge.store.merchant import MerchantProfile
    from concierge.store.models import AgeRange, Product

# A query term found in the title or category counts fully, in the tags or attribute names nearly, and found only in
# the description, material, attribute values or options, half.
NAME_WEIGHT, TAG_WEIGHT, WEAK_WEIGHT = 1.0, 0.8, 0.5
# relevance = COVERAGE_SHARE * weighted coverage + the rest * cosine
COVERAGE_SHARE = 0.75


class Listing(BaseModel):
    """A product as the catalogue index holds it."""

    model_config = ConfigDict(frozen=True)

    product_id: str
    title: str
    category: str
    url: str
    description: str = ""
    material: str = ""
    tags: tuple[str, ...] = ()
    attributes: dict[str, str] = Field(default_factory=dict)
    options: tuple[str, ...] = Field((), description="every variant's option values")
    prices: tuple[Decimal, ...] = Field(description="every variant's price")
    in_stock_prices: tuple[Decimal, ...] = Field((), description="the prices of the variants in stock")
    delivery_days: int | None = Field(
        None, description="working days from order to arrival at the latest (dispatch + transit); None: not stated"
    )
    min_age: int | None = None
    max_age: int | None = None
    dietary: tuple[str, ...] | None = Field(None, description="a food's dietary facts; None: not a food")

    @property
    def in_stock(self) -> bool:
        return bool(self.in_stock_prices)

    @property
    def name_text(self) -> str:
        return f"{self.title} {self.category}"

    @property
    def tag_text(self) -> str:
        return " ".join([*self.tags, *self.attributes])

    @property
    def strong_text(self) -> str:
        return f"{self.name_text} {self.tag_text}"

    @property
    def weak_text(self) -> str:
        return " ".join([self.description, self.material, *self.attributes.values(), *self.options])

    @property
    def text(self) -> str:
        """What is embedded and searched by keywords."""
        return f"{self.strong_text} {self.weak_text}"


def listing_of(product: Product, merchant: MerchantProfile | None = None) -> Listing:
    delivery = product.delivery or (merchant.delivery if merchant else None)
    ages: AgeRange | None = product.ages
    return Listing(
        product_id=product.id,
        title=product.title,
        category=product.category,
        url=product.url,
        description=product.description,
        material=product.material,
        tags=tuple(product.tags),
        attributes=dict(product.attributes),
        options=tuple(dict.fromkeys(v for variant in product.variants for v in variant.options.values())),
        prices=tuple(v.price for v in product.variants),
        in_stock_prices=tuple(v.price for v in product.variants if v.stock > 0),
        delivery_days=delivery.dispatch_days + delivery.max_days if delivery else None,
        min_age=ages.min_years if ages else None,
        max_age=ages.max_years if ages else None,
        dietary=tuple(product.dietary) if product.dietary is not None else None,
    )


class CatalogueFilters(BaseModel):
    """Structured filters; a field left out filters nothing. A product passes the price window when one of its
    variants (one in stock, with `in_stock`) is priced inside it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    min_price: Decimal | None = Field(None, ge=0)
    max_price: Decimal | None = Field(None, ge=0)
    in_stock: bool = False
    within_days: int | None = Field(
        None, ge=0, description="arrives within this many working days at the latest (a product stating none fails)"
    )
    categories: tuple[str, ...] = Field((), description="any of these categories (lower case)")
    age: int | None = Field(None, ge=0, le=120, description="a product stating an age range must admit this age")
    dietary: tuple[str, ...] = Field((), description="a food must state every one of these; other products pass")

    def admits(self, listing: Listing) -> bool:
        """The filters on one listing (the embedded index applies them so; OpenSearch as query clauses)."""
        prices = listing.in_stock_prices if self.in_stock else listing.prices
        if self.in_stock and not prices:
            return False
        if self.min_price is not None or self.max_price is not None:
            low = self.min_price if self.min_price is not None else Decimal("0")
            if not any(low <= p and (self.max_price is None or p <= self.max_price) for p in prices):
                return False
        if self.within_days is not None and (listing.delivery_days is None or listing.delivery_days > self.within_days):
            return False
        if self.categories and listing.category.lower() not in self.categories:
            return False
        if self.age is not None and (
            (listing.min_age is not None and self.age < listing.min_age)
            or (listing.max_age is not None and self.age > listing.max_age)
        ):
            return False
        return not (self.dietary and listing.dietary is not None and not set(self.dietary) <= set(listing.dietary))


@dataclass(frozen=True)
class CatalogueHit:
    listing: Listing
    relevance: float  # 0..1: how well the listing answers the query (comparable across queries and index kinds)
    keyword_score: float = 0.0
    vector_score: float = 0.0


class CatalogueIndex(Protocol):
    def upsert(self, listings: Sequence[Listing], vectors: np.ndarray) -> None:
        """Add or replace listings (by product id) with their embeddings."""

    def delete(self, product_ids: Iterable[str]) -> int:
        """Remove these products; returns how many were removed."""

    def product_ids(self) -> set[str]: ...

    def search(
        self, query: str, vector: np.ndarray, k: int = 10, filters: CatalogueFilters | None = None
    ) -> list[CatalogueHit]:
        """The k listings that pass the filters and best answer the query, most relevant first. An empty query
        ranks every listing that passes by its vector alone (relevance 0)."""

    def count(self) -> int: ...


def _fold(term: str) -> str:
    """One spelling for a word's singular and plural where the shared stemmer keeps two ("cable" and "cables" ->
    "cabl", "knife" and "knives" -> "knif"): both sides of every comparison go through it."""
    term = term[:-1] if len(term) > 3 and term.endswith("e") else term
    return f"{term[:-1]}f" if len(term) > 3 and term.endswith("v") else term


def terms(words: str) -> list[str]:
    """The catalogue's terms of a text: the knowledge index's analysis (lower case, no stop words, a light stemmer),
    with singular and plural folded together."""
    return [_fold(t) for t in text.terms(words)]


def coverage(wanted: Sequence[str], listing: Listing) -> tuple[float, list[str]]:
    """The share of these query terms the listing has, 0..1 (weighted by where it has them: NAME_WEIGHT,
    TAG_WEIGHT, WEAK_WEIGHT), and the terms it has."""
    if not wanted:
        return 0.0, []
    name, tags, weak = (set(terms(part)) for part in (listing.name_text, listing.tag_text, listing.weak_text))
    weights = [
        NAME_WEIGHT if t in name else TAG_WEIGHT if t in tags else WEAK_WEIGHT if t in weak else 0.0 for t in wanted
    ]
    return sum(weights) / len(wanted), [t for t, w in zip(wanted, weights, strict=True) if w]


def relevance(query: str, listing: Listing, cosine: float) -> float:
    """How well a listing answers the query, 0..1: its `coverage` of the query's terms blended with the vector cosine.
    No query terms: 0."""
    wanted = list(dict.fromkeys(terms(query)))
    if not wanted:
        return 0.0
    covered, _ = coverage(wanted, listing)
    return round(COVERAGE_SHARE * covered + (1 - COVERAGE_SHARE) * max(cosine, 0.0), 6)


def ranked(hits: Iterable[CatalogueHit], k: int) -> list[CatalogueHit]:
    """Most relevant first; ties by keyword score, then vector score, then product id (a stable order)."""
    return sorted(hits, key=lambda h: (-h.relevance, -h.keyword_score, -h.vector_score, h.listing.product_id))[:k]


def search(
    index: CatalogueIndex, embedder: Embedder, query: str, filters: CatalogueFilters | None = None, k: int = 10
) -> list[CatalogueHit]:
    from concierge.knowledge.embeddings import embed_query

    return index.search(query, embed_query(embedder, query), k=k, filters=filters)


@dataclass(frozen=True)
class CatalogueSyncReport:
    indexed: int
    removed: int


def sync_catalogue(
    products: Sequence[Product], index: CatalogueIndex, embedder: Embedder, merchant: MerchantProfile | None = None
) -> CatalogueSyncReport:
    """Make the index hold exactly these products (every listing rewritten: stock and prices change between
    imports, and a catalogue is small beside the help center)."""
    listings = [listing_of(p, merchant) for p in products]
    gone = index.product_ids() - {listing.product_id for listing in listings}
    removed = index.delete(gone) if gone else 0
    if listings:
        index.upsert(listings, embedder.embed([listing.text for listing in listings]))
    return CatalogueSyncReport(indexed=len(listings), removed=removed)
