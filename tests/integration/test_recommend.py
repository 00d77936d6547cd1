"""Personal recommendations on the local stack with the deterministic engine, on the home-kitchen sample store
(docs/shopping.md, "Recommendations"):

- a product view posted by the storefront (POST /v1/signals) is kept with the customer's consent, and "what would you
  recommend for me?" names it, with the day it was viewed and its link;
- a returned product is never recommended again, even viewed again;
- a customer who turns personalization off loses their views, a view posted after is not kept, and they get the
  shop's best sellers, said as such;
- merchant.json's exclusions keep a category out, as a suggestion and as a reason;
- the views and what drives the recommendations are in the data export; the customer clears their views with
  DELETE /v1/customers/{id}/product-views, and erasure removes them.
"""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from concierge.catalogue.views import ViewStore
from concierge.memory import keys
from concierge.platform import wiring
from concierge.platform.clock import now
from concierge.platform.settings import IngestSettings, current_settings
from concierge.store.commerce import ReturnRecord
from concierge.store.merchant import RecommendationSettings
from tests.credentials import customer_headers
from tests.integration.conftest import Client, local_stack, merchant
from tests.integration.test_privacy import as_customer, call, everything_in_memory

STORE = Path(__file__).resolve().parents[2] / "stores" / "home-kitchen"
TITLES = {p["id"]: p["title"] for p in json.loads((STORE / "products.json").read_text())}


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    yield from local_stack(tmp_path_factory, STORE, CONCIERGE_MODEL_PROVIDER="none")


@pytest.fixture(scope="module")
def client(stack):
    return Client(stack)


def memory():
    return wiring.memory_store(current_settings(IngestSettings))


def view(stack, customer_id: str, product_id: str, signal_id: str, days_ago: float = 1) -> None:
    at = now() - timedelta(days=days_ago)
    body = {
        "kind": "product.viewed",
        "signal_id": signal_id,
        "occurred_at": at.isoformat(),
        "customer_id": customer_id,
        "product_id": product_id,
    }
    headers = {**customer_headers(customer_id), "content-type": "application/json"}
    status, _, answer = stack.proxy("POST", "/v1/signals", {}, headers, {}, json.dumps(body))
    assert status == 200, answer
    while stack.poll_once():
        pass


def viewed(customer_id: str) -> list[str]:
    return [v.product_id for v in ViewStore(memory()).views(customer_id, now())]


def recommended(reply) -> list[dict]:
    [done] = reply.actions("recommend_products", "executed")
    return done["result"]["recommendations"]


def test_a_view_is_kept_and_recommended_with_the_day_and_its_link(stack, client):
    view(stack, "cust_8845", "gooseneck-kettle", "view-1", days_ago=2)
    view(stack, "cust_8845", "gooseneck-kettle", "view-1", days_ago=2)  # sent twice: kept once
    assert viewed("cust_8845") == ["gooseneck-kettle"]

    answer = client.say("cust_8845", "rec-1", "What would you recommend for me?")
    assert answer.status == 200, answer.body
    found = recommended(answer)
    assert found[0]["product_id"] == "gooseneck-kettle" and found[0]["reason"]["kind"] == "viewed"
    assert TITLES["gooseneck-kettle"] in answer.text and "/products/gooseneck-kettle" in answer.text
    assert "you viewed it on" in answer.text and "Here are a few picks for you" in answer.text
    bought = {"ceramic-dripper", "glass-tumblers", "pantry-canisters", "saucepan-set"}  # cust_8845's orders
    assert not {r["product_id"] for r in found} & bought, "nothing they already have (none of these is consumed)"
    assert all(r["reason"]["text"] for r in found)

    more = client.say("cust_8845", "rec-1", "anything else I might like?")
    again = recommended(more)
    assert not {r["product_id"] for r in again} & {r["product_id"] for r in found}, "others the second time"


def test_a_returned_product_is_never_recommended_again(stack, client):
    store = wiring.reference_store(current_settings(IngestSettings))
    order = next(o for o in store.recent_orders("cust_8844", 20) if o.id == "#1025")  # the carbon pan, delivered
    store.record_return(
        ReturnRecord(
            return_id="R-rec-1",
            order_id=order.id,
            line_ids=["1"],
            resolution="refund",
            refund_amount=Decimal("79.00"),
            currency="USD",
            refund_to="card",
            created_at=now(),
        ),
        None,
    )
    view(stack, "cust_8844", "carbon-pan", "view-2", days_ago=0.5)
    answer = client.say("cust_8844", "rec-2", "any recommendations based on what I bought?")
    found = recommended(answer)
    assert found and "carbon-pan" not in {r["product_id"] for r in found}
    assert TITLES["carbon-pan"] not in answer.text


def test_without_consent_the_views_go_and_best_sellers_are_said_as_such(stack, client):
    view(stack, "cust_8846", "espresso-machine", "view-3")
    assert viewed("cust_8846") == ["espresso-machine"]
    status, _ = call(
        stack,
        "PUT",
        "/v1/customers/cust_8846/preferences",
        as_customer("cust_8846"),
        {"personalization": False},
        customer_id="cust_8846",
    )
    assert status == 200 and viewed("cust_8846") == []
    view(stack, "cust_8846", "espresso-machine", "view-4")
    assert viewed("cust_8846") == [], "no view is kept without consent"

    answer = client.say("cust_8846", "rec-3", "what would you recommend for me?")
    result = answer.actions("recommend_products", "executed")[0]["result"]
    assert result["personal"] is False and result["generic_because"] == "no_consent"
    assert {r["reason"]["kind"] for r in result["recommendations"]} == {"best_seller"}
    assert "turned personalization off" in answer.text and "best sellers" in answer.text
    assert "you viewed" not in answer.text and "you bought" not in answer.text


def test_an_excluded_category_is_never_a_suggestion_nor_a_reason(stack, client):
    coffee = {"gooseneck-kettle", "ceramic-dripper", "burr-grinder", "espresso-machine"}
    with merchant(recommendations=RecommendationSettings(excluded_categories=["Coffee", "coffee beans"])):
        view(stack, "cust_8847", "burr-grinder", "view-5")
        assert viewed("cust_8847") == [], "a view of an excluded product is not kept"
        answer = client.say("cust_8847", "rec-4", "suggest something based on what I bought")
        found = recommended(answer)
        assert found and not {r["product_id"] for r in found} & (coffee | {"espresso-beans"})
        reasons = " ".join(r["reason"]["text"] for r in found)
        assert TITLES["gooseneck-kettle"] not in reasons, "the kettle they bought is in an excluded category"


def test_the_export_shows_what_drives_them_and_the_customer_clears_their_views(stack, client):
    view(stack, "cust_8849", "chef-knife", "view-6", days_ago=3)
    status, export = call(
        stack, "GET", "/v1/customers/cust_8849/data", as_customer("cust_8849"), customer_id="cust_8849"
    )
    assert status == 200
    assert [v["product_id"] for v in export["product_views"]] == ["chef-knife"]
    uses = {(u["signal"], u["product_id"]): u for u in export["recommendation_signals"]}
    assert uses[("viewed", "chef-knife")]["used"] is True
    assert "because you viewed the " + TITLES["chef-knife"] in uses[("viewed", "chef-knife")]["effect"]
    assert ("bought", "glass-storage") in uses

    status, cleared = call(
        stack, "DELETE", "/v1/customers/cust_8849/product-views", as_customer("cust_8849"), customer_id="cust_8849"
    )
    assert status == 200 and cleared == {"customer_id": "cust_8849", "views_deleted": 1}
    assert viewed("cust_8849") == []
    status, _ = call(
        stack, "DELETE", "/v1/customers/cust_8849/product-views", as_customer("cust_8848"), customer_id="cust_8849"
    )
    assert status == 403, "only the customer themselves"

    view(stack, "cust_8849", "chef-knife", "view-7")
    items = [i for i in everything_in_memory() if i["pk"] == keys.customer_pk("cust_8849")]
    assert [keys.record_of(i["pk"], i["sk"]).name for i in items if i["sk"] == keys.VIEWS] == ["product views"]
    status, receipt = call(
        stack, "DELETE", "/v1/customers/cust_8849", as_customer("cust_8849"), customer_id="cust_8849"
    )
    assert status == 200 and receipt["erased"]
    assert viewed("cust_8849") == []


def test_a_gift_request_is_still_a_cart(client):
    answer = client.say("cust_8841", "rec-5", "a gift for my dad who loves pour-over coffee, under $60")
    assert answer.status == 200, answer.body
    assert not answer.actions("recommend_products") and answer.body.get("cart") is not None
