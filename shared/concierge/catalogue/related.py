"""What the shop's data says about its products together, for recommendations (catalogue/recommend.py): worked out
once per `concierge import`, from the catalogue and the shop's orders, never on a customer's turn.

- `sold`: how many customers bought each product (in orders not cancelled): the best sellers;
- `bought_with`: for each product, the products its buyers also bought (in any of their orders), with how many
  customers bought both, only from MIN_CUSTOMERS customers on ("others who bought Y also bought Z" never rests on one
  other person's basket);
- `rebought`: products that at least MIN_CUSTOMERS customers bought again, in another order: things people run out of
  (with the foods, `Product.dietary` stated, they are the only products a customer who bought one may be recommended
  again);
- `similar`: for each product, the products the catalogue search (catalogue/search.py, the index just synced, either
  kind) finds for its title, category and tags, with their relevance, from SIMILAR_FLOOR on.

The snapshot is stored in the store table, beside merchant.json (pk=MERCHANT): a pointer (sk=RELATED: version, chunks,
built_at) and the snapshot itself, zlib-compressed JSON cut into items of at most CHUNK_BYTES (sk=RELATED#<version>#n),
so a large catalogue fits. A process reads the small pointer at most once a minute, and the chunks only when the
version changed. Counts and product ids only: nothing of any customer.
"""

from __future__ import annotations

import hashlib
import time
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from concierge.catalogue.search import CatalogueIndex
    from concierge.knowledge.embeddings import Embedder
    from concierge.store.models import Order, Product

MIN_CUSTOMERS = 2
KEPT_PER_PRODUCT = 5
SIMILAR_FLOOR = 0.2
CHUNK_BYTES = 350_000  # a DynamoDB item holds at most 400 KB


class Related(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)  # built on first use (docs/performance.md)

    built_at: datetime
    orders: int = Field(0, description="the orders counted (not cancelled)")
    products: list[str] = Field(default_factory=list, description="every product id, in the catalogue's order")
    sold: dict[str, int] = Field(default_factory=dict, description="product -> customers who bought it")
    rebought: list[str] = Field(default_factory=list, description="products MIN_CUSTOMERS customers bought again")
    bought_with: dict[str, list[tuple[str, int]]] = Field(
        default_factory=dict, description="product -> [(another product, customers who bought both)], most first"
    )
    similar: dict[str, list[tuple[str, float]]] = Field(
        default_factory=dict, description="product -> [(a similar product, relevance 0..1)], most similar first"
    )

    def best_sellers(self) -> list[str]:
        """Products by customers who bought them, most first; ties in the catalogue's order."""
        position = {p: n for n, p in enumerate(self.products)}
        return sorted(self.sold, key=lambda p: (-self.sold[p], position.get(p, len(position)), p))


def counted(order: Order) -> bool:
    from concierge.store.models import OrderStatus  # at import and in the actions function: never on the agent's path

    return order.status is not OrderStatus.CANCELLED


def build(
    products: Sequence[Product],
    orders: Sequence[Order],
    similar: Callable[[Product], list[tuple[str, float]]],
    at: datetime,
) -> Related:
    """The snapshot of this catalogue and these orders; `similar` finds a product's similar products (`searcher`)."""
    known = {p.id for p in products}
    bought: dict[str, set[str]] = defaultdict(set)  # customer -> products
    orders_of: dict[tuple[str, str], int] = Counter()  # (customer, product) -> orders
    counted_orders = 0
    for order in orders:
        if not counted(order):
            continue
        counted_orders += 1
        for product_id in {line.product_id for line in order.lines if line.product_id in known}:
            bought[order.customer_id].add(product_id)
            orders_of[(order.customer_id, product_id)] += 1
    sold: Counter[str] = Counter(p for items in bought.values() for p in items)
    pairs: Counter[tuple[str, str]] = Counter(
        (first, second) for items in bought.values() for first in items for second in items if first != second
    )
    with_: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for (first, second), customers in pairs.items():
        if customers >= MIN_CUSTOMERS:
            with_[first].append((second, customers))
    again = Counter(product for (_, product), times in orders_of.items() if times > 1)
    return Related(
        built_at=at,
        orders=counted_orders,
        products=[p.id for p in products],
        sold=dict(sold),
        rebought=sorted(p for p, customers in again.items() if customers >= MIN_CUSTOMERS),
        bought_with={
            p: sorted(others, key=lambda o: (-o[1], o[0]))[:KEPT_PER_PRODUCT] for p, others in sorted(with_.items())
        },
        similar={p.id: found for p in products if (found := similar(p))},
    )


def searcher(index: CatalogueIndex, embedder: Embedder) -> Callable[[Product], list[tuple[str, float]]]:
    """A product's similar products by the catalogue's own search: its title, category and tags as the query."""
    from concierge.catalogue.search import search

    def similar(product: Product) -> list[tuple[str, float]]:
        query = " ".join([product.title, product.category, *product.tags])
        hits = search(index, embedder, query, None, k=KEPT_PER_PRODUCT + 1)
        return [
            (hit.listing.product_id, round(hit.relevance, 4))
            for hit in hits
            if hit.listing.product_id != product.id and hit.relevance >= SIMILAR_FLOOR
        ][:KEPT_PER_PRODUCT]

    return similar


class RelatedStore:
    """The snapshot in the store table (a boto3 DynamoDB Table: boto3 publishes no types)."""

    POINTER: ClassVar[dict[str, str]] = {"pk": "MERCHANT", "sk": "RELATED"}  # in the store table
    TTL_SECONDS = 60.0

    def __init__(self, table: Any, clock: Callable[[], float] | None = None) -> None:
        self._table = table
        self._clock = clock or time.monotonic
        self._checked: float | None = None
        self._cached: tuple[str, Related] | None = None

    @staticmethod
    def _chunk_key(version: str, n: int) -> dict[str, str]:
        return {"pk": "MERCHANT", "sk": f"RELATED#{version}#{n:04d}"}  # in the store table

    def put(self, related: Related) -> str:
        """Store the snapshot, then point to it (a reader never finds a pointer to nothing); the version. The
        snapshot before stays until the next one, for a process that read the pointer just before."""
        packed = zlib.compress(related.model_dump_json().encode(), 9)
        version = hashlib.sha256(packed).hexdigest()[:16]
        chunks = [packed[i : i + CHUNK_BYTES] for i in range(0, len(packed), CHUNK_BYTES)] or [b""]
        pointer = self._table.get_item(Key=self.POINTER, ConsistentRead=True).get("Item") or {}
        for n, chunk in enumerate(chunks):
            self._table.put_item(Item={**self._chunk_key(version, n), "data": chunk})
        self._table.put_item(
            Item={
                **self.POINTER,
                "version": version,
                "chunks": len(chunks),
                "built_at": related.built_at.isoformat(),
                "previous": pointer.get("version", "")
                if pointer.get("version") != version
                else pointer.get("previous", ""),
                "previous_chunks": pointer.get("chunks", 0) if pointer.get("version") != version else 0,
            }
        )
        older, older_chunks = pointer.get("previous"), int(pointer.get("previous_chunks", 0) or 0)
        if older and older not in (version, pointer.get("version")):  # two imports back: nobody reads it
            for n in range(older_chunks):
                self._table.delete_item(Key=self._chunk_key(str(older), n))
        self._cached, self._checked = None, None
        return version

    def get(self) -> Related | None:
        """The snapshot of the last import; None before any."""
        now = self._clock()
        if self._checked is not None and now - self._checked < self.TTL_SECONDS:
            return self._cached[1] if self._cached else None
        pointer = self._table.get_item(Key=self.POINTER).get("Item")
        self._checked = now
        if pointer is None:
            self._cached = None
            return None
        version = str(pointer["version"])
        if self._cached is not None and self._cached[0] == version:
            return self._cached[1]
        from concierge.platform import aws

        wanted = [self._chunk_key(version, n) for n in range(int(pointer["chunks"]))]
        found = {item["sk"]: item for item in aws.batch_get(self._table, wanted)}
        if len(found) < len(wanted):
            return self._cached[1] if self._cached else None
        packed = b"".join(bytes(getattr(found[k["sk"]]["data"], "value", found[k["sk"]]["data"])) for k in wanted)
        self._cached = (version, Related.model_validate_json(zlib.decompress(packed)))
        return self._cached[1]
