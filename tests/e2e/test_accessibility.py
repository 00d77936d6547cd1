"""Accessibility of the three pages in a real headless Chromium: axe-core (the npm package, `npm ci` at the repository
root; `make` runs it) finds no serious or critical violation in the state a user sees each page, the main control of
each page is reached and operated from the keyboard alone, and each page fits a phone 390 px wide."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.conftest import chromium_page
from tests.e2e.test_dashboard import LOADED_MACHINE_MS, dashboard_url  # noqa: F401 - the demo month's stack
from tests.e2e.test_local_stack import request, signed

pytestmark = pytest.mark.e2e

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
PHONE = {"width": 390, "height": 844}
# Each violation of impact serious or critical: its rule, what it asks, and where (the first few elements).
SERIOUS = """async () => {
  const results = await axe.run(document, { resultTypes: ["violations"] });
  return results.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.slice(0, 4).map((n) => n.target.join(" ")) }));
}"""


def serious_violations(page) -> list[dict]:
    if not AXE.exists():
        pytest.fail(f"axe-core is missing ({AXE}): run `npm ci` at the repository root (`make` does)")
    # Evaluated, not added as a <script>: the operators' pages allow only the site's own scripts (concierge/web/sites.py).
    page.evaluate(AXE.read_text())
    return page.evaluate(SERIOUS)


def described(violations: list[dict]) -> str:
    return "\n".join(f"{v['id']} ({v['impact']}): {v['help']} at {', '.join(v['targets'])}" for v in violations)


def tab_to(page, selector: str, limit: int = 80) -> None:
    """Presses Tab until the element matching `selector` has the focus, and checks the focus can be seen there."""
    for _ in range(limit):
        if page.evaluate("(s) => !!document.activeElement && document.activeElement.matches(s)", selector):
            outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
            assert outline != "none", f"{selector} has the focus but shows no focus outline"
            return
        page.keyboard.press("Tab")
    focused = page.evaluate("() => document.activeElement && document.activeElement.outerHTML.slice(0, 120)")
    pytest.fail(f"{selector} was not reached with {limit} presses of Tab; the focus is on {focused}")


def fits(page, *selectors: str) -> None:
    """Nothing scrolls sideways at the phone's width, and each control is wholly in view and usable."""
    width = page.viewport_size["width"]
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width
    for selector in selectors:
        box = page.locator(selector).first.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= width, (selector, box)


def signed_in_chat(page, customer: str = "alex") -> None:
    page.locator(f"#customer option[value='{customer}']").wait_for(state="attached")
    page.select_option("#customer", customer)
    page.locator("#message:enabled").wait_for()


def first_reply(page, text: str) -> None:
    page.fill("#message", text)
    page.click("#send")
    page.locator(".msg.assistant").first.wait_for(timeout=30_000)
    page.locator("#message:enabled").wait_for(timeout=30_000)


def hand_off(base_url: str, customer: str, conversation_id: str) -> None:
    """A customer asks for a person, as the chat page sends it: the conversation waits in the console's queue."""
    status, body = request(
        f"{base_url}/v1/conversations/{conversation_id}/messages",
        "POST",
        json.dumps({"text": "I want to talk to a human", "channel": "web"}).encode(),
        signed(customer),
    )
    assert status == 200 and body["conversation_status"] == "handed_off", body


def open_in_console(console, conversation_id: str) -> None:
    item = console.locator(f"[data-testid='queue-item'][data-conversation='{conversation_id}']")
    item.wait_for(timeout=25_000)
    item.click()
    console.locator("#customer dd").first.wait_for(timeout=20_000)


# ---- The chat page ----


def test_the_chat_page_has_no_serious_violations_once_it_has_replied(base_url):
    with chromium_page(base_url + "/") as page:
        signed_in_chat(page)
        first_reply(page, "Where is my order?")
        violations = serious_violations(page)
        assert not violations, described(violations)


def test_the_chat_works_from_the_keyboard_alone(base_url):
    with chromium_page(base_url + "/") as page:
        page.locator("#customer option[value='sam']").wait_for(state="attached")
        page.locator("#message:enabled").wait_for()
        # The customer picker: the next customer with the arrow key, as a keyboard user changes a select.
        tab_to(page, "#customer")
        page.keyboard.press("ArrowDown")
        page.locator(".notice", has_text="signed in as Sam Rivera").wait_for(timeout=20_000)
        page.locator("#message:enabled").wait_for()

        tab_to(page, "#message")
        page.keyboard.type("Where is my order?")
        page.keyboard.press("Enter")
        page.locator(".msg.assistant").first.wait_for(timeout=30_000)
        assert page.locator(".msg.customer").inner_text() == "Where is my order?"
        # New messages are announced: the transcript is a polite live region.
        assert page.locator("#transcript[role='log'][aria-live='polite']").count() == 1

        # A suggestion chip is sent with Enter too.
        page.locator(".suggestions button:enabled").first.wait_for(timeout=30_000)
        tab_to(page, ".suggestions button")
        page.keyboard.press("Enter")
        page.locator(".msg.assistant").nth(1).wait_for(timeout=30_000)

        page.locator("#message:enabled").wait_for(timeout=30_000)
        tab_to(page, "#new-conversation")
        page.keyboard.press("Enter")
        page.wait_for_function("() => document.querySelectorAll('#transcript .msg').length === 0")


def test_the_chat_page_fits_a_phone_once_it_has_replied(base_url):
    with chromium_page(base_url + "/", PHONE["width"], PHONE["height"]) as page:
        signed_in_chat(page)
        first_reply(page, "I need to return the blue shirt from my last order")
        fits(page, "#customer", "#new-conversation", "#message", "#send", ".msg.assistant", ".suggestions button")


# ---- The agent console ----


def test_the_console_has_no_serious_violations_with_a_conversation_open(base_url):
    hand_off(base_url, "jordan", "a11y-console-axe")
    with chromium_page(base_url + "/console", 1400, 1000) as console:
        open_in_console(console, "a11y-console-axe")
        violations = serious_violations(console)
        assert not violations, described(violations)


def test_the_console_works_from_the_keyboard_alone(base_url):
    hand_off(base_url, "sam", "a11y-console-keys")
    with chromium_page(base_url + "/console", 1400, 1000) as console:
        item = "[data-testid='queue-item'][data-conversation='a11y-console-keys']"
        console.locator(item).wait_for(timeout=25_000)
        # The queue's entries are in the tab order and open with Enter.
        tab_to(console, item)
        console.keyboard.press("Enter")
        console.locator("#detail-title", has_text="a11y-console-keys").wait_for(timeout=20_000)
        console.locator("#customer dd", has_text="Sam").first.wait_for(timeout=20_000)

        tab_to(console, "#claim")
        console.keyboard.press("Enter")
        console.locator("#owner", has_text="assigned to dana").wait_for(timeout=20_000)

        tab_to(console, "#reply")
        console.keyboard.type("Hi Sam, Dana from the team here.")
        console.keyboard.press("Control+Enter")
        console.locator("#status.ok", has_text="Sent").wait_for(timeout=20_000)
        console.locator("#transcript .msg.agent", has_text="Dana from the team").wait_for(timeout=20_000)

        tab_to(console, "#hand-back")
        console.keyboard.press("Enter")
        console.locator("#status.ok", has_text="Handed back").wait_for(timeout=20_000)


def test_the_console_fits_a_phone_with_a_conversation_open(base_url):
    hand_off(base_url, "alex", "a11y-console-phone")
    with chromium_page(base_url + "/console", PHONE["width"], PHONE["height"]) as console:
        open_in_console(console, "a11y-console-phone")
        fits(console, "#agent", "#queue-filter", "#queue li", "#claim", "#reply", "#send", "#close-reason", "#close")
        # The reply box is the agent's work: it takes the phone's width, not a sliver beside the queue.
        assert console.locator("#reply").bounding_box()["width"] >= 0.75 * PHONE["width"]


# ---- The dashboard ----


def loaded_dashboard(page) -> None:
    page.locator("body[data-loaded='true']").wait_for(timeout=LOADED_MACHINE_MS)
    page.wait_for_function("() => !!Chart.getChart('chart-volume') && !!Chart.getChart('chart-satisfaction')")


def test_the_dashboard_has_no_serious_violations_with_its_charts_rendered(dashboard_url):
    with chromium_page(dashboard_url + "/dashboard", 1360, 1100) as page:
        loaded_dashboard(page)
        violations = serious_violations(page)
        assert not violations, described(violations)
        # The drill-down too, as it opens over the page.
        page.locator("#low-scores a").first.click()
        page.locator("#transcript-body li").first.wait_for(timeout=LOADED_MACHINE_MS)
        violations = serious_violations(page)
        assert not violations, described(violations)


def test_the_dashboard_works_from_the_keyboard_alone(dashboard_url):
    with chromium_page(dashboard_url + "/dashboard", 1360, 1100) as page:
        loaded_dashboard(page)
        before = page.input_value("#from")
        tab_to(page, "#from")
        page.keyboard.press("ArrowDown")  # the date's first part one step earlier: a longer range
        after = page.input_value("#from")
        assert after and after < before, (before, after)
        # "Show" is reached by Tab; pressing it reloads a month of figures, which is slow on a busy machine, so the
        # range is put back and the page's figures (already loaded) are used for the rest.
        tab_to(page, "#apply")
        page.fill("#from", before)

        # A low score's transcript opens with Enter and closes with Escape, the focus back where it was.
        page.locator("#low-scores a").first.wait_for(timeout=LOADED_MACHINE_MS)
        tab_to(page, "#low-scores a", limit=120)
        page.keyboard.press("Enter")
        page.locator("#transcript-body li").first.wait_for(timeout=LOADED_MACHINE_MS)
        page.keyboard.press("Escape")
        page.locator("#transcript").wait_for(state="hidden")
        assert page.evaluate("() => document.activeElement.matches('#low-scores a')")


def test_the_dashboard_fits_a_phone_with_its_charts_rendered(dashboard_url):
    with chromium_page(dashboard_url + "/dashboard", PHONE["width"], PHONE["height"]) as page:
        loaded_dashboard(page)
        fits(page, "#from", "#to", "#channel", "#apply", "#tiles .tile", "#chart-volume", "#chart-satisfaction")
