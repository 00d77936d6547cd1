"""Cart cards in the chat page, in a real headless Chromium, on a sample store (`concierge dev --store
stores/home-kitchen`): a shopping request is answered with one card per line of the cart the API returned — its
title, options, price and why it fits — a total and the storefront's checkout link, and each card's add-to-cart
button hands the line to the storefront as a `concierge:add-to-cart` event."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from tests.e2e.conftest import chromium_page, dev_server, screenshot_path
from tests.e2e.test_chat_page import say
from tests.e2e.test_widget import shop  # noqa: F401  (the sample storefront with the widget, on the demo store)

pytestmark = pytest.mark.e2e

STORE = Path(__file__).resolve().parents[2] / "stores" / "home-kitchen"


@pytest.fixture(scope="module")
def store_url(tmp_path_factory):
    with dev_server(tmp_path_factory.mktemp("run"), "--store", str(STORE)) as (url, _):
        yield url


@pytest.fixture(scope="module")
def page(store_url):
    with chromium_page(store_url + "/") as tab:
        tab.locator("#customer option[value='cust_8841']").wait_for(state="attached")
        tab.select_option("#customer", "cust_8841")
        tab.locator("#message:enabled").wait_for()
        yield tab


def test_a_shopping_request_shows_one_card_per_line_with_its_price_and_why(page):
    reply = say(page, "Can you put together a coffee starter kit for under $150?")
    cards = page.locator(".msg.assistant").last.locator(".cart-card")
    cards.first.wait_for()
    count = cards.count()
    assert 1 <= count <= 4
    for n in range(count):
        card = cards.nth(n)
        title = card.locator(".title").inner_text()
        assert title in reply, "every card is a line the reply names"
        assert card.locator(".price").inner_text().startswith("$")
        assert "in stock" in card.locator(".why").inner_text()
        assert card.locator("button.add-to-cart").inner_text() == "Add to cart"
        assert card.locator("a.title").get_attribute("href").endswith(card.get_attribute("data-product-id"))
    total = page.locator(".msg.assistant").last.locator(".cart-total").inner_text()
    amount = Decimal(total.split("$")[1].split(" ")[0].replace(",", ""))
    assert amount <= Decimal("150"), total
    checkout = page.locator(".msg.assistant").last.locator("a.cart-checkout")
    assert "/cart?add=" in checkout.get_attribute("href")
    page.screenshot(path=screenshot_path("chat-cart.png"))


def test_add_to_cart_hands_the_line_to_the_storefront(page):
    card = page.locator(".msg.assistant").last.locator(".cart-card").first
    card.wait_for()
    page.evaluate(
        """() => { window.__added = [];
                   window.addEventListener("concierge:add-to-cart", (e) => window.__added.push(e.detail)); }"""
    )
    button = card.locator("button.add-to-cart")
    button.click()
    page.locator("button.add-to-cart[aria-pressed='true']").first.wait_for()
    (added,) = page.evaluate("() => window.__added")
    assert added["sku"] == card.get_attribute("data-sku") and added["quantity"] == 1
    assert added["currency"] == "USD" and Decimal(added["unit_price"]) > 0
    assert button.inner_text() == "Added to cart"
    notice = page.locator(".notice", has_text="The storefront received")
    notice.wait_for()
    assert added["sku"] in notice.inner_text()


def test_a_request_the_shop_cannot_keep_shows_no_cards(page):
    before = page.locator(".cart-card").count()
    reply = say(page, "I need linen tea towels by today")
    assert "couldn't put together a cart" in reply
    assert page.locator(".msg.assistant").last.locator(".cart-card").count() == 0
    assert page.locator(".cart-card").count() == before


def test_the_widget_shows_the_cards_and_hands_add_to_cart_to_the_storefront_page(page, shop):
    """The widget on the sample storefront (tests/e2e/test_widget.py's shop, on the demo store), in another tab of the
    same browser: the storefront's own script takes the add-to-cart event and says so by cancelling it."""
    from playwright.sync_api import expect

    from tests.e2e.test_widget import ask, open_widget, sign_in, widget

    tab = page.context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.goto(shop[0] + "/")
    sign_in(tab)
    tab.evaluate(
        """() => { window.__added = [];
                   window.addEventListener("concierge:add-to-cart", (e) => {
                     e.preventDefault(); window.__added.push(e.detail); }); }"""
    )
    open_widget(tab)
    reply = ask(tab, "Looking for a hiking boot under $200")
    card = widget(tab).locator(".cart-card").first
    card.wait_for()
    assert "Ridge Hiking Boot" in card.inner_text() and "Ridge Hiking Boot" in reply
    card.locator("button.add-to-cart").click()
    expect(widget(tab).locator("button.add-to-cart[aria-pressed='true']")).to_have_count(1)
    (added,) = tab.evaluate("() => window.__added")
    assert added["sku"] == card.get_attribute("data-sku") and added["product_id"] == "hiking-boot"
    tab.close()
    assert not errors, f"JavaScript errors on the storefront page: {errors}"
