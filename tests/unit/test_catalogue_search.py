"""Catalogue search on both index kinds — the embedded index and OpenSearch (the real opensearch-py client against
the local stand-in of the REST API): what a shopper's words find, and what each structured filter lets through."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from concierge.catalogue.embedded import EmbeddedCatalogue
from concierge.catalogue.opensearch import OpenSearchCatalogue
from concierge.catalogue.policy import DeliveryEstimate
from concierge.catalogue.search import CatalogueFilters, CatalogueIndex, search, sync_catalogue
from concierge.knowledge.embeddings import HashingEmbedder
from concierge.knowledge.opensearch import OpenSearchIndex
from concierge.local.opensearch_standin import OpenSearchStandIn
from concierge.store.merchant import MerchantProfile
from concierge.store.models import AgeRange, Product, Variant
from concierge.store.storefolder import load_store_folder

EMBEDDER = HashingEmbedder(64)
STORES = Path(__file__).parents[2] / "stores"
MERCHANT = MerchantProfile.model_validate(
    {
        "name": "Party Pantry",
        "return_window_days": 30,
        "max_auto_refund": "100.00",
        "delivery": {"dispatch_days": 1, "min_days": 1, "max_days": 3, "timezone": "Europe/London"},
    }
)


def product(
    product_id: str,
    title: str,
    category: str,
    prices: list[tuple[str, int]],
    description: str = "",
    **extra: object,
) -> Product:
    return Product.model_validate(
        {
            "id": product_id,
            "title": title,
            "category": category,
            "description": description or title,
            "url": f"/products/{product_id}",
            "variants": [
                Variant(sku=f"{product_id}-{n}", options={"pack": str(n)}, price=Decimal(price), stock=stock)
                for n, (price, stock) in enumerate(prices)
            ],
            **extra,
        }
    )


CATALOGUE = [
    product("balloons", "Party Balloons, Pack of 20", "party", [("6.00", 40)], "Latex balloons in bright colours."),
    product("piñata", "Unicorn Piñata", "party", [("24.00", 3)], "A piñata to fill with sweets.", tags=["unicorn"]),
    product(
        "science-kit",
        "Junior Science Kit",
        "toys",
        [("29.00", 5), ("49.00", 2)],
        "Twelve experiments for curious kids.",
        ages=AgeRange(min_years=8, max_years=12),
    ),
    product(
        "puzzle",
        "Animal Floor Puzzle",
        "toys",
        [("15.00", 0)],
        "A 24-piece floor puzzle.",
        ages=AgeRange(min_years=3, max_years=6),
    ),
    product(
        "cake-mix",
        "Chocolate Birthday Cake Mix",
        "baking",
        [("7.50", 10)],
        "Makes one 20 cm chocolate cake.",
        dietary=["vegetarian"],
    ),
    product(
        "vegan-cake-mix",
        "Vegan Vanilla Cake Mix",
        "baking",
        [("8.50", 6)],
        "Makes one 20 cm vanilla cake.",
        dietary=["vegan", "vegetarian"],
    ),
    product(
        "party-hats",
        "Party Hats, Pack of 8",
        "party",
        [("5.00", 12)],
        "Card party hats with elastic.",
        delivery=DeliveryEstimate(dispatch_days=5, min_days=3, max_days=5),
    ),
]


@pytest.fixture(scope="module")
def opensearch():
    server = OpenSearchStandIn().start()
    yield server
    server.stop()


@pytest.fixture(params=["embedded", "opensearch"])
def index(request, opensearch) -> CatalogueIndex:
    if request.param == "embedded":
        built: CatalogueIndex = EmbeddedCatalogue(EMBEDDER.dimensions, EMBEDDER.name)
    else:
        knowledge = OpenSearchIndex.from_endpoint(opensearch.url, "es", "us-east-1", dimensions=EMBEDDER.dimensions)
        catalogue = OpenSearchCatalogue.beside(knowledge, index_name=f"catalogue-{request.node.name.lower()}"[:60])
        catalogue.ensure_index()
        built = catalogue
    sync_catalogue(CATALOGUE, built, EMBEDDER, MERCHANT)
    return built


def ids(index: CatalogueIndex, query: str, **filters: object) -> list[str]:
    return [hit.listing.product_id for hit in search(index, EMBEDDER, query, CatalogueFilters(**filters), k=10)]


def test_a_shoppers_words_find_the_product_named_by_them_first(index):
    assert ids(index, "unicorn piñata")[0] == "piñata"
    assert ids(index, "balloons for the party")[0] == "balloons"
    found = search(index, EMBEDDER, "cake mix", k=3)
    assert {h.listing.product_id for h in found[:2]} == {"cake-mix", "vegan-cake-mix"}
    assert found[0].relevance > 0.7 and found[0].relevance > found[2].relevance


def test_the_price_window_admits_a_product_with_one_variant_inside_it(index):
    under_30 = ids(index, "science kit", max_price=Decimal("30"))
    assert "science-kit" in under_30, "the 29.00 variant is under 30"
    assert "piñata" in under_30 and "puzzle" in under_30
    assert "science-kit" not in ids(index, "science kit", max_price=Decimal("28.99"))
    assert ids(index, "kit", min_price=Decimal("40"), max_price=Decimal("60")) == ["science-kit"]


def test_in_stock_leaves_out_what_is_sold_out_and_reads_only_the_prices_in_stock(index):
    assert "puzzle" not in ids(index, "floor puzzle", in_stock=True)
    assert "puzzle" in ids(index, "floor puzzle")
    # the 49.00 science kit is in stock too: both variants count
    assert "science-kit" in ids(index, "science", in_stock=True, min_price=Decimal("45"))


def test_a_delivery_date_leaves_out_what_arrives_later_or_states_no_time(index):
    within_four = ids(index, "party hats balloons", within_days=4)
    assert "balloons" in within_four and "party-hats" not in within_four, "the hats take 5 + 5 working days"
    assert "party-hats" in ids(index, "party hats", within_days=10)
    bare = EmbeddedCatalogue(EMBEDDER.dimensions)
    sync_catalogue(CATALOGUE[:1], bare, EMBEDDER, merchant=None)
    assert ids(bare, "balloons", within_days=30) == [], "no delivery time stated: no date can be kept"


def test_age_and_dietary_needs_leave_out_only_the_products_that_state_otherwise(index):
    for_seven = ids(index, "kit puzzle balloons", age=7)
    assert "science-kit" not in for_seven and "puzzle" not in for_seven, "8-12 and 3-6 do not admit 7"
    assert "balloons" in for_seven, "no age stated: not left out"
    assert "science-kit" in ids(index, "kit", age=8)
    vegan = ids(index, "cake mix balloons", dietary=("vegan",))
    assert "vegan-cake-mix" in vegan and "cake-mix" not in vegan
    assert "balloons" in vegan, "not a food: a dietary need does not apply to it"


def test_categories_filter_by_the_merchants_own_names(index):
    assert set(ids(index, "party", categories=("baking",))) == {"cake-mix", "vegan-cake-mix"}


def test_a_resync_removes_the_products_no_longer_sold(index):
    report = sync_catalogue(CATALOGUE[:5], index, EMBEDDER, MERCHANT)
    assert (report.indexed, report.removed) == (5, 2)
    assert index.product_ids() == {p.id for p in CATALOGUE[:5]}
    assert "party-hats" not in ids(index, "party hats")


def test_both_index_kinds_rank_a_shipped_store_the_same_way(opensearch):
    folder = load_store_folder(STORES / "electronics")
    embedded = EmbeddedCatalogue(EMBEDDER.dimensions)
    knowledge = OpenSearchIndex.from_endpoint(opensearch.url, "es", "us-east-1", dimensions=EMBEDDER.dimensions)
    remote = OpenSearchCatalogue.beside(knowledge, index_name="catalogue-electronics")
    remote.ensure_index()
    for built in (embedded, remote):
        sync_catalogue(folder.data.products, built, EMBEDDER, folder.merchant)
    for query, filters in [
        ("wireless noise cancelling headphones", CatalogueFilters(in_stock=True)),
        ("usb-c charger for my laptop", CatalogueFilters(max_price=Decimal("60"))),
        ("portable speaker", CatalogueFilters(in_stock=True, max_price=Decimal("100"), within_days=5)),
    ]:
        on_both = [[h.listing.product_id for h in search(i, EMBEDDER, query, filters, k=5)] for i in (embedded, remote)]
        assert on_both[0] == on_both[1], query
        assert on_both[0], query
    assert search(embedded, EMBEDDER, "wireless noise cancelling headphones", k=1)[0].listing.product_id in (
        "aurora-headphones",
        "pulse-earbuds",
    )


def test_opensearch_filters_inside_the_knn_clause_and_the_keyword_query(opensearch):
    knowledge = OpenSearchIndex.from_endpoint(opensearch.url, "es", "us-east-1", dimensions=EMBEDDER.dimensions)
    catalogue = OpenSearchCatalogue.beside(knowledge, index_name="catalogue-requests")
    catalogue.ensure_index()
    sync_catalogue(CATALOGUE, catalogue, EMBEDDER, MERCHANT)
    opensearch.requests.clear()
    search(catalogue, EMBEDDER, "balloons", CatalogueFilters(in_stock=True, max_price=Decimal("10")))
    (msearch,) = [r for r in opensearch.requests if r.path.endswith("/_msearch")]
    vector_body, keyword_body = msearch.body[1], msearch.body[3]
    expected = [{"term": {"in_stock": True}}, {"range": {"in_stock_prices": {"gte": 0.0, "lte": 10.0}}}]
    assert vector_body["query"]["knn"]["embedding"]["filter"] == {"bool": {"filter": expected}}
    assert keyword_body["query"]["bool"]["filter"] == expected


def test_the_embedded_index_file_gives_back_the_same_answers():
    built = EmbeddedCatalogue(EMBEDDER.dimensions, EMBEDDER.name)
    sync_catalogue(CATALOGUE, built, EMBEDDER, MERCHANT)
    loaded = EmbeddedCatalogue.from_bytes(built.to_bytes())
    assert loaded.count() == len(CATALOGUE)
    for query in ("cake", "party hats", "science kit for kids"):
        assert ids(loaded, query, in_stock=True) == ids(built, query, in_stock=True)
