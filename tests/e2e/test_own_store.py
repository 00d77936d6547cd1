"""`concierge dev --store DIR` as a merchant runs it on their own folder, in a real headless Chromium: the page is the
merchant's (name, customers, suggestions), not the demo shop's, and a return speaks the merchant's policy."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import chromium_page, dev_server
from tests.e2e.test_chat_page import say
from tests.integration.test_store_folder import store_dir  # noqa: F401  (the tea shop the tests write)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def tea_url(store_dir, tmp_path_factory):
    with dev_server(tmp_path_factory.mktemp("run"), "--store", str(store_dir)) as (url, _):
        yield url


def test_the_chat_page_is_the_merchants_own(tea_url):
    with chromium_page(tea_url + "/") as page:
        page.locator("#customer option[value='ada']").wait_for(state="attached")
        assert page.locator("#store-name").inner_text() == "Kettle & Leaf"
        assert "Kettle & Leaf" in page.title()
        assert "Northwind" not in page.content()
        chips = page.locator(".suggestions button")
        chips.first.wait_for()
        assert "Where is my order?" in chips.all_inner_texts()

        page.select_option("#customer", "ada")
        page.locator("#message:enabled").wait_for()
        first = say(page, "I'd like to return the teapot")
        assert "Kettle & Leaf AI assistant" in first and "T/0041" in first
        offer = say(page, "yes")
        assert "Teal" in offer and "fit" not in offer.lower()
