"""`concierge import DIR`: loads products, customers and orders into the commerce store and the help-center
articles into the knowledge index — the same path for a merchant's export and for the demo store."""
from __future__ import annotations

from concierge.commerce import ReferenceStore
from concierge.knowledge import KeywordIndex, product_article, save_index, split_article
from concierge.models import StoreData


def import_store(data: StoreData, store: ReferenceStore, s3_client, bucket: str, key: str) -> dict[str, int]:
    store.put_products(data.products)
    store.put_customers(data.customers)
    store.put_orders(data.orders)
    # Product pages are knowledge too: "what is it made of?" and "does it run small?" are answered from them.
    articles = [*data.articles, *(product_article(product) for product in data.products)]
    passages = [passage for article in articles for passage in split_article(article)]
    save_index(KeywordIndex.build(passages), s3_client, bucket, key)
    return {
        "products": len(data.products),
        "customers": len(data.customers),
        "orders": len(data.orders),
        "articles": len(data.articles),
        "passages": len(passages),
    }
