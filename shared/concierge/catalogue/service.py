"""The catalogue index where the knowledge index is — the embedded one as an object beside the knowledge index in the
knowledge bucket (`CONCIERGE_CATALOGUE_KEY`, default `knowledge/catalogue.npz`), or a second OpenSearch index in the
knowledge index's collection or domain — and the one path from a shopping request to its candidates.

`concierge import` syncs it with the store's products (`sync`); retrieval searches it (`index`) for a message that
asks for shopping help (`catalogue.prefetch`). The same `candidates` serve the labelled evaluation
(`catalogue.evaluation`), so what is measured is what runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from concierge.catalogue.policy import DeliveryEstimate
from concierge.catalogue.requests import ShoppingRequest
from concierge.catalogue.search import CatalogueFilters, CatalogueHit, CatalogueSyncReport, ranked, search

if TYPE_CHECKING:
    from concierge.catalogue.embedded import EmbeddedCatalogue
    from concierge.catalogue.search import CatalogueIndex
    from concierge.knowledge.embeddings import Embedder
    from concierge.platform.settings import KnowledgeSettings
    from concierge.store.merchant import MerchantProfile
    from concierge.store.models import Product

# How many products a shopping request brings back from the index for the cart builder to choose from.
CANDIDATES = 12


def working_days_until(merchant: MerchantProfile, now: datetime, by: date) -> int | None:
    """The most working days (dispatch and transit together) an order placed now can take and still arrive by `by`
    (a date), in the shop's calendar; with express, as many more as express saves. None: the shop states no delivery
    times; -1: not even a same-day delivery would."""
    delivery = merchant.delivery
    if delivery is None:
        return None
    zone = delivery.zone
    found = -1
    for days in range(61):
        probe = DeliveryEstimate(
            dispatch_days=0, cutoff=delivery.cutoff, min_days=0, max_days=days, working_days=delivery.working_days
        )
        if probe.latest_arrival(now, zone) > by:
            break
        found = days
    if found >= 0 and delivery.express is not None:
        express = delivery.express.estimate(delivery)
        found += max(0, delivery.dispatch_days + delivery.max_days - express.dispatch_days - express.max_days)
    return found


def filters_for(request: ShoppingRequest, merchant: MerchantProfile, now: datetime) -> CatalogueFilters:
    """The request's constraints as index filters: a prefilter only (the index holds stock and prices as of the
    last import); the cart builder checks every one again on the live products."""
    within = working_days_until(merchant, now, request.needed_by) if request.needed_by else None
    return CatalogueFilters(
        max_price=request.budget,
        min_price=request.min_price,
        in_stock=True,
        within_days=max(within, 0) if within is not None else None,
        age=request.recipient_age,
        dietary=request.dietary,
    )


def candidates(
    request: ShoppingRequest,
    index: CatalogueIndex,
    embedder: Embedder,
    merchant: MerchantProfile,
    now: datetime,
    k: int = CANDIDATES,
) -> list[CatalogueHit]:
    """The products the cart may be built from, most relevant first: the best matches that pass every filter, and
    the best matches in stock whatever their price or delivery time — so that the cart builder weighs the goal
    against what it names best, and can say why that is not in the cart ("the party hats arrive by Friday"), rather
    than offer whatever else passes. The date filter is dropped when the shop states no delivery times: the cart
    then says it cannot promise one, rather than that nothing is sold."""
    filters = filters_for(request, merchant, now)
    if merchant.delivery is None:
        filters = filters.model_copy(update={"within_days": None})
    found = {hit.listing.product_id: hit for hit in search(index, embedder, request.query, filters, k=k)}
    for hit in search(index, embedder, request.query, CatalogueFilters(in_stock=True), k=k):
        found.setdefault(hit.listing.product_id, hit)
    return ranked(found.values(), 2 * k)


# storage -------------------------------------------------------------------------------------------------------
def index(settings: KnowledgeSettings, cache: EmbeddedCache | None = None) -> CatalogueIndex | None:
    """The catalogue index to search (None before anything was imported)."""
    from concierge.platform import aws, wiring

    if settings.knowledge_index == "opensearch":
        from concierge.catalogue.opensearch import OpenSearchCatalogue

        return OpenSearchCatalogue.beside(wiring.opensearch_index(settings))
    return (cache or EmbeddedCache()).get(aws.client("s3"), settings.knowledge_bucket, settings.catalogue_key)


def sync(
    settings: KnowledgeSettings, products: Sequence[Product], merchant: MerchantProfile | None
) -> CatalogueSyncReport:
    """Make the configured catalogue index hold exactly these products."""
    from concierge.catalogue.search import sync_catalogue
    from concierge.platform import aws, wiring

    embedder = wiring.embedder(settings)
    if settings.knowledge_index == "opensearch":
        from concierge.catalogue.opensearch import OpenSearchCatalogue

        catalogue = OpenSearchCatalogue.beside(wiring.opensearch_index(settings))
        catalogue.ensure_index()
        return sync_catalogue(products, catalogue, embedder, merchant)
    from concierge.catalogue.embedded import EmbeddedCatalogue

    embedded = EmbeddedCatalogue(embedder.dimensions, embedder.name)
    report = sync_catalogue(products, embedded, embedder, merchant)
    # One writer replaces the whole object (an import holds the whole catalogue): no merge with what was there.
    aws.client("s3").put_object(Bucket=settings.knowledge_bucket, Key=settings.catalogue_key, Body=embedded.to_bytes())
    return report


class EmbeddedCache:
    """Loads the embedded catalogue once per process; again only when the S3 object's ETag changes."""

    def __init__(self) -> None:
        self._etag: str | None = None
        self._index: EmbeddedCatalogue | None = None

    def get(self, s3_client: Any, bucket: str, key: str) -> EmbeddedCatalogue | None:
        from concierge.catalogue.embedded import EmbeddedCatalogue

        try:
            etag = s3_client.head_object(Bucket=bucket, Key=key)["ETag"]
        except s3_client.exceptions.ClientError as exc:
            if exc.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        if etag != self._etag:
            body = s3_client.get_object(Bucket=bucket, Key=key)["Body"].read()
            self._index, self._etag = EmbeddedCatalogue.from_bytes(body), etag
        return self._index
