"""The embeddable chat widget on the sample storefront (examples/storefront), in a real headless Chromium, against
`concierge dev` on another origin: the one script tag, the storefront's token endpoint, CORS, the merchant's name
and colours, accessibility and a phone's width (docs/widget.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from contextlib import ExitStack
from pathlib import Path
from unittest import mock

import jwt
import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import chromium_page, dev_server, free_port, screenshot_path

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
BRAND = {"primary_colour": "#7a1f3d", "text_on_primary": "#ffffff"}  # the merchant.json the stack runs on
BRAND_RGB = "rgb(122, 31, 61)"
WIDGET = "[data-concierge-widget]"
WAIT_MS = 30_000  # an upper bound for a condition on two busy cores, never a delay

expect.set_options(timeout=WAIT_MS)


def _started(process: subprocess.Popen, url: str, log: deque[str]) -> None:
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            if process.poll() is not None:
                pytest.fail("the sample storefront exited:\n" + "".join(log))
            time.sleep(0.2)
    pytest.fail("the sample storefront did not answer within 60 s:\n" + "".join(log))


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    """The demo store with colours in its merchant.json, run by `concierge dev` that allows the storefront's origin
    only; and the sample storefront as a merchant runs it. Yields (storefront URL, API URL, storefront origin)."""
    from concierge.store.demo import DEMO_MERCHANT, generate_store, write_store
    from concierge.store.merchant import Brand

    store = tmp_path_factory.mktemp("branded-store")
    write_store(generate_store(seed=7), store, DEMO_MERCHANT.model_copy(update={"brand": Brand(**BRAND)}))
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    with ExitStack() as stack:
        with mock.patch.dict(os.environ, {"CONCIERGE_ALLOWED_ORIGINS": origin}):  # read when the server starts
            api_url, _ = stack.enter_context(dev_server(tmp_path_factory.mktemp("dev"), "--store", str(store)))
        storefront = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "examples" / "storefront" / "server.py"),
                "--port",
                str(port),
                "--api",
                api_url,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        log: deque[str] = deque(maxlen=200)
        threading.Thread(target=lambda: log.extend(storefront.stdout), daemon=True).start()
        stack.callback(storefront.wait, 10)
        stack.callback(storefront.terminate)
        _started(storefront, origin + "/", log)
        yield origin, api_url, origin


@pytest.fixture(scope="module")
def storefront_url(shop):
    return shop[0]


# ---- helpers ----
def sign_in(page, customer: str = "sam") -> None:
    """The storefront's own sign-in (a demo account): its backend now mints tokens for this customer."""
    page.select_option("#customer", customer)
    page.click("form[action='/sign-in'] button")
    page.locator(".account", has_text="Signed in as").wait_for()


def widget(page):
    return page.locator(WIDGET)


def open_widget(page) -> None:
    widget(page).locator("#launcher").click()
    widget(page).locator("#panel").wait_for(state="visible")
    expect(widget(page).locator("#message")).to_be_enabled()


def ask(page, text: str) -> str:
    """Types a message as a customer does and returns the assistant's answer once it is shown."""
    replies = widget(page).locator("#log .msg.assistant:not([data-greeting])")
    before = replies.count()
    box = widget(page).locator("#message")
    box.fill(text)
    box.press("Enter")
    replies.nth(before).wait_for(timeout=WAIT_MS)
    expect(box).to_be_enabled()
    return replies.nth(before).inner_text()


def turns(page, seen: list[tuple[str, str, int | None]]) -> None:
    """Records the calls that matter, in order: the storefront's token endpoint and the API's turn route."""

    def on_response(response) -> None:
        request = response.request
        if request.url.endswith("/concierge/token"):
            seen.append(("token", "", response.status))
        elif "/v1/conversations/" in request.url and request.method == "POST":
            seen.append(("turn", request.headers.get("authorization", ""), response.status))

    page.on("response", on_response)


def serious_violations(page) -> list[dict]:
    if not AXE.exists():
        pytest.fail(f"axe-core is missing ({AXE}): run `npm ci` at the repository root (`make` does)")
    page.add_script_tag(path=str(AXE))
    return page.evaluate(
        """async () => {
          const results = await axe.run(document, { resultTypes: ["violations"] });
          return results.violations.filter((v) => v.impact === "serious" || v.impact === "critical")
            .map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.slice(0, 4).map((n) => JSON.stringify(n.target)) }));
        }"""
    )


def widget_checked_by_axe(page) -> int:
    """How many of the widget's elements axe looked at (it reaches into the open shadow root)."""
    return page.evaluate(
        """async () => {
          const results = await axe.run({ include: [{ fromShadowDom: ["[data-concierge-widget]", ".wrap"] }] });
          return results.passes.reduce((n, rule) => n + rule.nodes.length, 0);
        }"""
    )


def focused_in_widget(page, selector: str) -> bool:
    return page.evaluate(
        """(s) => { const a = document.activeElement;
                    return !!a && a.matches("[data-concierge-widget]") && !!a.shadowRoot.activeElement
                           && a.shadowRoot.activeElement.matches(s); }""",
        selector,
    )


# ---- the widget on the storefront ----
def test_the_widget_opens_and_greets_in_the_shops_name_and_colours(storefront_url):
    with chromium_page(storefront_url + "/") as page:
        sign_in(page)
        launcher = widget(page).locator("#launcher")
        assert launcher.get_attribute("aria-expanded") == "false"
        assert widget(page).locator("#panel").is_hidden()
        open_widget(page)
        expect(widget(page).locator("#title")).to_have_text("Northwind Outfitters")
        expect(widget(page).locator("[data-greeting]")).to_contain_text("Welcome to Northwind Outfitters!")
        assert launcher.get_attribute("aria-expanded") == "true"
        # merchant.json's brand: the launcher, the header and the send button wear the shop's colour.
        for selector in ("#launcher", ".head", "#send"):
            colours = (
                widget(page)
                .locator(selector)
                .evaluate("e => [getComputedStyle(e).backgroundColor, getComputedStyle(e).color]")
            )
            assert colours == [BRAND_RGB, "rgb(255, 255, 255)"], (selector, colours)
        # The storefront's broad CSS (uppercase Georgia buttons, tall div lines) does not reach into the widget.
        assert page.locator("form[action='/sign-out'] button").evaluate("b => getComputedStyle(b).textTransform") == (
            "uppercase"
        )
        send = (
            widget(page)
            .locator("#send")
            .evaluate("b => [getComputedStyle(b).textTransform, getComputedStyle(b).fontFamily]")
        )
        assert send[0] == "none" and "Georgia" not in send[1], send


def test_sam_asks_where_his_order_is_and_the_conversation_survives_a_page_change(storefront_url):
    with chromium_page(storefront_url + "/") as page:
        seen: list[tuple[str, str, int | None]] = []
        turns(page, seen)
        sign_in(page)
        open_widget(page)
        reply = ask(page, "where is my order?")
        # Sam's own order, the one on its way (the demo store: NW10004, the puffer jacket).
        assert "Hi Sam" in reply and "NW10004" in reply and "tracking number" in reply, reply
        chip = widget(page).locator(".action[data-tool='track_shipment'][data-status='executed']")
        expect(chip).to_have_text("Order tracking · done")
        assert [kind for kind, _, _ in seen] == ["token", "turn"]  # one token for the whole visit so far
        assert [status for _, _, status in seen] == [200, 200]
        conversation = page.evaluate(
            "() => JSON.parse(sessionStorage.getItem(Object.keys(sessionStorage).find((k) => k.startsWith('concierge-widget:'))))"
        )
        assert conversation["conversationId"].startswith("web-") and conversation["open"] is True
        page.screenshot(path=screenshot_path("widget.png"))  # `make screenshots`

        # Another page of the shop (here: the same one again): the widget is open on the same conversation.
        page.reload()
        log = widget(page).locator("#log")
        expect(log.locator(".msg.customer")).to_have_text(["You: where is my order?"])
        expect(log.locator(".msg.assistant:not([data-greeting])")).to_contain_text(["NW10004"])
        after = ask(page, "thanks")
        assert after
        assert (
            page.evaluate(
                "() => JSON.parse(sessionStorage.getItem(Object.keys(sessionStorage).find((k) => k.startsWith('concierge-widget:')))).conversationId"
            )
            == conversation["conversationId"]
        )


def test_a_refused_token_is_minted_again_without_the_customer_noticing(storefront_url):
    with chromium_page(storefront_url + "/") as page:
        sign_in(page)
        now = int(time.time())
        # A token the API refuses (signed with another key): as after a key rotation, or a forged one.
        refused = jwt.encode(
            {"sub": "sam", "aud": "concierge-storefront", "iat": now, "exp": now + 900},
            "a-key-that-is-not-the-storefront-signing-key",
            algorithm="HS256",
            headers={"kid": "default"},
        )
        served: list[str] = []

        def token_endpoint(route) -> None:
            served.append(route.request.url)
            if len(served) == 1:
                route.fulfill(
                    status=200,
                    content_type="application/json",
                    body=json.dumps({"token": refused, "expires_at": now + 900}),
                )
            else:
                route.continue_()  # the storefront's real endpoint

        page.route("**/concierge/token", token_endpoint)
        seen: list[tuple[str, str, int | None]] = []
        turns(page, seen)
        open_widget(page)
        reply = ask(page, "where is my order?")
        assert "NW10004" in reply
        assert [(kind, status) for kind, _, status in seen] == [
            ("token", 200),
            ("turn", 401),
            ("token", 200),
            ("turn", 200),
        ]
        assert widget(page).locator(".msg.error").count() == 0


def test_an_expired_token_is_replaced_before_it_is_sent(storefront_url):
    with chromium_page(storefront_url + "/") as page:
        page.clock.install()  # the page's clock, moved on below instead of waiting a quarter of an hour
        seen: list[tuple[str, str, int | None]] = []
        turns(page, seen)
        sign_in(page)  # a new page load: the widget runs on the installed clock
        open_widget(page)
        ask(page, "where is my order?")
        page.clock.fast_forward("15:00")  # the storefront's tokens live 15 minutes
        ask(page, "How long do refunds take?")
        assert [(kind, status) for kind, _, status in seen] == [
            ("token", 200),
            ("turn", 200),
            ("token", 200),
            ("turn", 200),
        ]
        first, second = (authorization for kind, authorization, _ in seen if kind == "turn")
        assert first != second and second.startswith("Bearer ")
        assert widget(page).locator(".msg.error").count() == 0


def test_a_signed_out_visitor_is_asked_to_sign_in(storefront_url):
    with chromium_page(storefront_url + "/") as page:
        open_widget_anyway = widget(page).locator("#launcher")
        open_widget_anyway.click()
        error = widget(page).locator(".msg.error[role='alert']")
        expect(error).to_contain_text("Please sign in to your account")
        expect(error.locator("a")).to_have_attribute("href", storefront_url + "/#sign-in")
        expect(widget(page).locator("#message")).to_be_disabled()


# ---- CORS: only the configured storefront's pages may call the API ----
def preflight(api_url: str, origin: str, method: str = "POST") -> tuple[int, dict[str, str]]:
    request = urllib.request.Request(
        f"{api_url}/v1/conversations/web-cors/messages",
        method="OPTIONS",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization,content-type,x-api-key",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers.items())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers.items())


def test_the_api_answers_the_preflight_of_the_configured_origin_only(shop):
    _, api_url, origin = shop
    status, headers = preflight(api_url, origin)
    assert status == 204
    assert headers["Access-Control-Allow-Origin"] == origin
    assert headers["Access-Control-Allow-Methods"] == "GET, POST"
    assert headers["Access-Control-Allow-Headers"] == "authorization, content-type, x-api-key"
    assert "Access-Control-Allow-Credentials" not in headers and "Origin" in headers["Vary"]

    for stranger in ("http://localhost:" + origin.rsplit(":", 1)[1], "https://evil.example"):
        status, headers = preflight(api_url, stranger)
        assert status == 403 and not any(h.lower().startswith("access-control-allow") for h in headers), headers


def test_a_page_on_an_origin_not_configured_cannot_use_the_widget(shop):
    storefront, _, origin = shop
    stranger = storefront.replace("127.0.0.1", "localhost")  # the same storefront under another origin
    with chromium_page(stranger + "/") as page:
        failed: list[str] = []
        page.on("requestfailed", lambda request: failed.append(request.url))
        answered: list[int] = []
        page.on("response", lambda r: answered.append(r.status) if "/v1/" in r.url else None)
        sign_in(page)
        widget(page).locator("#launcher").click()
        expect(widget(page).locator(".msg.error").first).to_contain_text("couldn't reach the chat service")
        widget(page).locator("#message").fill("where is my order?")
        widget(page).locator("#message").press("Enter")
        expect(widget(page).locator(".msg.error")).to_have_count(2)
        assert widget(page).locator(".msg.assistant:not([data-greeting])").count() == 0
        assert any("/v1/widget-config" in url for url in failed) and any("/v1/conversations/" in url for url in failed)
        assert answered == []  # the browser never let the page read an API answer
    assert origin not in stranger


# ---- accessibility and a phone ----
def test_the_widget_has_no_serious_accessibility_violations_once_it_has_replied(storefront_url):
    with chromium_page(storefront_url + "/") as page:
        sign_in(page)
        open_widget(page)
        ask(page, "How long do refunds take?")
        expect(widget(page).locator(".citations a").first).to_be_visible()
        violations = serious_violations(page)
        assert not violations, violations
        assert widget_checked_by_axe(page) > 20  # axe did look inside the shadow root


def test_the_widget_works_from_the_keyboard_alone(storefront_url):
    with chromium_page(storefront_url + "/") as page:
        sign_in(page)
        for _ in range(30):
            if focused_in_widget(page, "#launcher"):
                break
            page.keyboard.press("Tab")
        else:
            pytest.fail("the widget's launcher was not reached with Tab")
        outline = page.evaluate("() => getComputedStyle(document.activeElement.shadowRoot.activeElement).outlineStyle")
        assert outline != "none", "the launcher has the focus but shows no focus outline"
        page.keyboard.press("Enter")
        widget(page).locator("#panel").wait_for(state="visible")
        page.wait_for_function(
            """() => { const a = document.activeElement;
                       return a && a.shadowRoot && a.shadowRoot.activeElement && a.shadowRoot.activeElement.id === "message"; }"""
        )  # the focus is in the message box as the panel opens
        page.keyboard.type("Where is my order?")
        page.keyboard.press("Enter")
        widget(page).locator("#log .msg.assistant:not([data-greeting])").first.wait_for(timeout=WAIT_MS)
        # New messages are announced: the transcript is a polite live region inside a labelled dialog.
        assert widget(page).locator("#log[role='log'][aria-live='polite']").count() == 1
        assert widget(page).locator("#panel[role='dialog'][aria-labelledby='title']").count() == 1
        page.keyboard.press("Escape")
        widget(page).locator("#panel").wait_for(state="hidden")
        assert focused_in_widget(page, "#launcher")  # back where the customer started
        assert widget(page).locator("#launcher").get_attribute("aria-expanded") == "false"


def test_the_widget_fits_a_phone_390_px_wide(storefront_url):
    with chromium_page(storefront_url + "/", width=390, height=844) as page:
        sign_in(page)
        launcher = widget(page).locator("#launcher").bounding_box()
        assert launcher and launcher["x"] >= 0 and launcher["x"] + launcher["width"] <= 390
        open_widget(page)
        panel = widget(page).locator("#panel").bounding_box()
        assert panel == {"x": 0, "y": 0, "width": 390, "height": 844}, panel  # the whole screen
        reply = ask(page, "where is my order?")
        assert "NW10004" in reply
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
        page.screenshot(path=screenshot_path("widget-390.png"))
        for selector in ("#message", "#send", "#close", "#restart", "#log .msg.assistant >> nth=1"):
            box = widget(page).locator(selector).bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390 and box["y"] + box["height"] <= 844, (
                selector,
                box,
            )
        widget(page).locator("#close").click()
        widget(page).locator("#launcher").wait_for(state="visible")  # hidden behind the full-screen panel until then
