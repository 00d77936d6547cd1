"""A customer's last product views: what "because you viewed …" recommendations come from (catalogue/recommend.py,
docs/shopping.md).

The storefront reports each product page a signed-in customer views (`product.viewed`, POST /v1/signals). The view
is kept only with the customer's consent to personalization (`Profile.personalization`; no profile yet: consent, as
everywhere in memory), only of a product the catalogue has, and never of one merchant.json's `recommendations` keeps
out (a sensitive category). One item per customer, in their partition of the memory table:

    pk=CUST#<customer id>  sk=VIEWS   views [{product_id, sku, viewed_at, signal_id}] (newest first), version

bounded by construction: the last KEPT views, none older than KEPT_DAYS (the item expires KEPT_DAYS after the latest
view, and older views are dropped when it is read or written). A signal sent twice is kept once (its id). Written
with a condition on the version read, so two views at once both land. Withdrawing consent, the customer's own
`DELETE /v1/customers/{id}/product-views` and erasure delete it; the data export lists it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from concierge.memory import keys

if TYPE_CHECKING:
    from concierge.memory.store import MemoryStore
    from concierge.platform.events import ProductViewed
    from concierge.store.commerce import CommerceBackend
    from concierge.store.merchant import MerchantProfile

KEPT = 50
KEPT_DAYS = 90
ATTEMPTS = 4  # a write that lost the race to another view reads again and retries


class ProductView(BaseModel):
    model_config = ConfigDict(frozen=True)

    product_id: str
    sku: str | None = None
    viewed_at: datetime
    signal_id: str = Field(description="the storefront's id of the signal: a view sent twice is kept once")


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


class ViewStore:
    """The repository of product views: it alone reads and writes them, through the memory table's access layer."""

    def __init__(self, memory: MemoryStore) -> None:
        self._db = memory.storage

    @staticmethod
    def _key(customer_id: str) -> dict[str, str]:
        return {"pk": keys.customer_pk(customer_id), "sk": keys.VIEWS}

    def _read(self, customer_id: str) -> tuple[list[ProductView], int | None]:
        item = self._db.get(self._key(customer_id), consistent=True)
        if item is None:
            return [], None
        return [ProductView.model_validate(v) for v in item.get("views") or []], int(item.get("version", 0))

    def record(self, customer_id: str, view: ProductView, now: datetime) -> bool:
        """Keep the view among the customer's last KEPT; False when this signal was kept before, or is older than
        what is kept."""
        for _ in range(ATTEMPTS):
            views, version = self._read(customer_id)
            if any(v.signal_id == view.signal_id for v in views):
                return False
            kept = _bounded([*views, view], now)
            if view not in kept:
                return False
            latest = max(_aware(v.viewed_at) for v in kept)
            item: dict[str, Any] = {
                **self._key(customer_id),
                "views": [v.model_dump(mode="json") for v in kept],
                "version": (version or 0) + 1,
                "expires_at": min(int((latest + timedelta(days=KEPT_DAYS)).timestamp()), self._db.expiry()),
            }
            if version is None:
                written = self._db.put(item, condition="attribute_not_exists(sk)")
            else:
                written = self._db.put(
                    item, condition="#version = :read", names={"#version": "version"}, values={":read": version}
                )
            if written:
                return True
        return False

    def views(self, customer_id: str, now: datetime) -> list[ProductView]:
        """The customer's last views, newest first (none older than KEPT_DAYS)."""
        views, _ = self._read(customer_id)
        return _bounded(views, now)

    def clear(self, customer_id: str) -> int:
        """Delete the customer's views; how many there were."""
        views, version = self._read(customer_id)
        if version is not None:
            self._db.delete(self._key(customer_id))
        return len(views)


def _bounded(views: list[ProductView], now: datetime) -> list[ProductView]:
    """Newest first, the last KEPT, none older than KEPT_DAYS (nor from the future, beyond a clock's skew)."""
    oldest, latest = now - timedelta(days=KEPT_DAYS), now + timedelta(minutes=5)
    fresh = [v for v in views if oldest <= _aware(v.viewed_at) <= latest]
    return sorted(fresh, key=lambda v: (_aware(v.viewed_at), v.signal_id), reverse=True)[:KEPT]


def personalization(memory: MemoryStore, customer_id: str) -> bool:
    """The customer's consent to personalization (no profile yet: consent, as in memory, offers and journeys)."""
    profile = memory.get_profile(customer_id)
    return True if profile is None else profile.personalization


def keep(
    signal: ProductViewed, memory: MemoryStore, store: CommerceBackend, merchant: MerchantProfile, now: datetime
) -> str:
    """Keep a storefront's product view if it may be: what happened, as a code (`kept`, `no_consent`,
    `unknown_product`, `excluded`, `seen`: kept before, or older than what is kept)."""
    if not personalization(memory, signal.customer_id):
        return "no_consent"
    product = store.get_product(signal.product_id)
    if product is None:
        return "unknown_product"
    if merchant.recommendations.excludes(product.category, product.tags):
        return "excluded"
    view = ProductView(
        product_id=signal.product_id,
        sku=signal.sku,
        viewed_at=_aware(signal.viewed_at or signal.occurred_at),
        signal_id=signal.signal_id,
    )
    return "kept" if ViewStore(memory).record(signal.customer_id, view, now) else "seen"


class ViewsCleared(BaseModel):
    """DELETE /v1/customers/{id}/product-views: counts only."""

    customer_id: str
    views_deleted: int = Field(description="the product views deleted: recommendations no longer read them")


def clear(customer_id: str, memory: MemoryStore) -> ViewsCleared:
    """The customer's own "forget what I viewed": every view deleted, and an audit entry saying so (how many)."""
    deleted = ViewStore(memory).clear(customer_id)
    memory.audit(customer_id, "product_views.cleared", {"views": deleted})
    return ViewsCleared(customer_id=customer_id, views_deleted=deleted)
