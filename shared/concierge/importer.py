"""`concierge import DIR`: loads products, customers and orders into the commerce store and the help-center
articles and product pages into the knowledge index — the same path for a merchant's export and the demo store."""
from __future__ import annotations

from concierge.commerce import ReferenceStore
from concierge.knowledge.documents import documents_from_store
from concierge.knowledge.service import sync_knowledge
from concierge.models import StoreData
from concierge.settings import Settings


def import_store(data: StoreData, store: ReferenceStore, settings: Settings) -> dict[str, int]:
    store.put_products(data.products)
    store.put_customers(data.customers)
    store.put_orders(data.orders)
    report = sync_knowledge(settings, documents_from_store(data))
    return {
        "products": len(data.products),
        "customers": len(data.customers),
        "orders": len(data.orders),
        "articles": len(data.articles),
        "passages": report.passages_indexed,
    }
