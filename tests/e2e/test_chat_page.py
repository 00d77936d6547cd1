"""The chat page in a real headless Chromium: a demo customer does the shirt return by typing, as in a browser."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import chromium_page, screenshot_path

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def page(base_url):
    with chromium_page(base_url + "/") as tab:
        yield tab


def say(page, text: str) -> str:
    before = page.locator(".msg.assistant").count()
    page.fill("#message", text)
    page.click("#send")
    page.locator(".msg.assistant").nth(before).wait_for(timeout=10_000)
    return page.locator(".msg.assistant").nth(before).inner_text()


def test_the_picker_lists_every_customer_of_the_store(page):
    from concierge.store.demo import generate_store

    store = generate_store(seed=7)
    page.locator(f"#customer option[value='{store.customers[-1].id}']").wait_for(state="attached")
    options = page.eval_on_selector_all("#customer option", "os => os.map(o => [o.value, o.textContent])")
    assert sorted(value for value, _ in options) == sorted(c.id for c in store.customers)
    # The README's customers come first, under the names the README gives them.
    assert [text for _, text in options[:3]] == [
        "Alex Morgan (alex@example.com)",
        "Sam Rivera (sam@example.com)",
        "Jordan Lee (jordan@example.com)",
    ]


def test_alex_returns_the_blue_shirt_in_the_chat_page(page):
    page.locator("#customer option[value='alex']").wait_for(state="attached")
    page.select_option("#customer", "alex")
    page.locator("#message:enabled").wait_for()

    first = say(page, "I need to return the blue shirt from my last order")
    assert "AI assistant" in first  # the assistant discloses it is an AI
    assert "Classic Oxford Shirt (Blue, L)" in first
    say(page, "Yes, that's the one")
    say(page, "It's too small")
    assert "$49.00" in say(page, "A refund please")
    done = say(page, "Yes, go ahead")
    assert "refund of $49.00" in done

    executed = page.locator(".action[data-tool='return_items'][data-status='executed']")
    assert executed.count() == 1

    email = page.locator("#outbox .email").first
    email.wait_for(timeout=10_000)  # the inbox panel refreshes after each reply
    email.locator("button").click()
    qr = page.locator("#viewer .attachments img")
    qr.wait_for()
    assert qr.evaluate("img => img.complete && img.naturalWidth > 0"), "the QR code image must render"
    page.screenshot(path=screenshot_path("chat.png"))


def test_asking_for_a_human_shows_the_handoff_banner(page):
    page.click("#new-conversation")
    say(page, "I want to talk to a human")
    banner = page.locator("#handoff")
    banner.wait_for()
    assert "Handed to a human" in banner.inner_text()
    # The handoff's message is said once: in the reply, not again in the banner.
    shown = page.locator("main section").inner_text()
    assert shown.count("passing you to a member of our team") == 1, shown


def test_the_customer_picker_fits_a_phone(page, base_url):
    phone = page.context.new_page()  # a second tab of the module's browser, at a phone's size
    errors: list[str] = []
    phone.on("pageerror", lambda error: errors.append(str(error)))
    phone.set_viewport_size({"width": 390, "height": 844})
    phone.goto(base_url + "/")
    phone.locator("#customer option[value='alex']").wait_for(state="attached")
    phone.locator("#message:enabled").wait_for()
    # Nothing is wider than the screen: no sideways scrolling, the picker and its button are in view.
    assert phone.evaluate("() => document.documentElement.scrollWidth") <= 390
    for selector in ("#customer", "#new-conversation", "#send", "#message"):
        box = phone.locator(selector).bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390, (selector, box)
    say(phone, "Where is my order?")
    assert phone.evaluate("() => document.documentElement.scrollWidth") <= 390
    phone.screenshot(path=screenshot_path("chat-390.png"))
    phone.close()
    assert not errors, f"JavaScript errors on the page: {errors}"
