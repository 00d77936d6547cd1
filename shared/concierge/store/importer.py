"""`concierge import DIR`: loads products, customers, orders and gift cards into the commerce store, merchant.json
into the store table, the help-center articles, product pages and help/ documents into the knowledge index, and the
products into the catalogue index beside it (with what the orders and the catalogue search say of products together,
for recommendations: catalogue/related.py) — the same path for a merchant's export, a local `concierge dev --store
DIR` and the demo store.

Each kind of knowledge is a source of its own: the import replaces only what an earlier import of the store put
there (source `store`, and `store-help` for the folder's help/), never what `concierge knowledge sync` or an upload
added.
"""

from __future__ import annotations

from collections.abc import Sequence

from concierge.knowledge.documents import Document, documents_from_store, in_source
from concierge.knowledge.service import sync_knowledge
from concierge.platform.settings import IngestSettings
from concierge.store.commerce import ReferenceStore, ReturnReasons
from concierge.store.merchant import MerchantProfile
from concierge.store.models import StoreData

# A store folder's help/ is a source of its own: `concierge knowledge sync` (source `help` by default) never
# replaces it.
STORE_HELP_SOURCE = "store-help"


def import_store(
    data: StoreData,
    store: ReferenceStore,
    settings: IngestSettings,
    merchant: MerchantProfile | None = None,
    help_documents: Sequence[Document] | None = None,
) -> dict[str, int]:
    """Write the store. `help_documents` (a folder's help/) replace the `store-help` source when given; None leaves
    it."""
    from concierge.platform import wiring

    store.put_products(data.products, ReturnReasons.of_history(data.orders))  # past returns' reasons, per product
    store.put_customers(data.customers)
    store.put_orders(data.orders)
    store.put_gift_cards(data.gift_cards)
    if merchant is not None:
        wiring.merchant_profiles(settings).put(merchant)
    report = sync_knowledge(settings, documents_from_store(data, merchant=merchant), source="store")
    from concierge.catalogue import service as catalogue

    catalogue.sync(settings, data.products, merchant)  # the products as catalogue search finds them (shopping.md)
    index = catalogue.index(settings)  # what the orders and the search say of products together (recommendations)
    if index is not None:
        from concierge.catalogue.related import build, searcher
        from concierge.platform.clock import now

        similar = searcher(index, wiring.embedder(settings))
        wiring.related_products(settings).put(build(data.products, data.orders, similar, now()))
    counts = {
        "products": len(data.products),
        "customers": len(data.customers),
        "orders": len(data.orders),
        "articles": len(data.articles),
        "passages": report.passages_indexed,
    }
    if data.gift_cards:
        counts["gift cards"] = len(data.gift_cards)
    if help_documents is not None:
        documents = [in_source(STORE_HELP_SOURCE, d) for d in help_documents]
        counts["help documents"] = len(documents)
        counts["passages"] += sync_knowledge(settings, documents, source=STORE_HELP_SOURCE).passages_indexed
    return counts
