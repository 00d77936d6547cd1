"""The agent console in a real headless Chromium, against `concierge dev`: an angry customer on WhatsApp is handed
off, the console shows the package, the agent's reply reaches WhatsApp, and the AI stays silent until the agent
hands the conversation back."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import tempfile

import pytest

from tests.e2e.conftest import chromium_page
from tests.e2e.test_channels_over_http import wait_for
from tests.e2e.test_local_stack import request

pytestmark = pytest.mark.e2e
JORDAN = "13125550123"  # Jordan's phone on file: a signed WhatsApp message from it is Jordan


def whatsapp(base_url: str, text: str, wamid: str) -> None:
    payload = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "1",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
                            "contacts": [{"profile": {"name": "Jordan Lee"}, "wa_id": JORDAN}],
                            "messages": [
                                {
                                    "from": JORDAN,
                                    "id": wamid,
                                    "timestamp": "1767092400",
                                    "type": "text",
                                    "text": {"body": text},
                                }
                            ],
                        },
                    }
                ],
            }
        ],
    }
    raw = json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(b"dev-whatsapp-app-secret", raw, hashlib.sha256).hexdigest()
    status, body = request(
        f"{base_url}/v1/channels/whatsapp",
        "POST",
        raw,
        {"content-type": "application/json", "x-hub-signature-256": signature},
    )
    assert status == 200, body


def sent_to_jordan(base_url: str) -> list[str]:
    sent = request(f"{base_url}/_local/whatsapp-sent")[1]
    return [m["body"]["text"]["body"] for m in sent if m["body"]["to"] == JORDAN and m["body"].get("type") == "text"]


@pytest.fixture(scope="module")
def console(base_url):
    with chromium_page(base_url + "/console", 1400, 1000) as tab:
        yield tab


def test_an_angry_customer_is_handed_off_answered_by_a_person_and_handed_back(base_url, console):
    whatsapp(base_url, "Where is my order?", "wamid.console-1")
    wait_for(lambda: sent_to_jordan(base_url), lambda s: len(s) >= 1)
    whatsapp(base_url, "This is ridiculous, I'm fed up. Where is my jacket??", "wamid.console-2")
    handed = wait_for(lambda: sent_to_jordan(base_url), lambda s: len(s) >= 2)
    assert "member of our team" in handed[-1]

    # The console shows the conversation in the queue, and its package.
    item = console.locator("[data-testid='queue-item']", has_text="jordan")
    item.first.wait_for(timeout=25_000)
    item.first.click()
    console.locator("#customer dd", has_text="Jordan Lee").wait_for(timeout=20_000)
    assert "track" in console.locator("#problem").inner_text()
    assert "(open)" in console.locator("#orders").inner_text()
    transcript = console.locator("#transcript").inner_text()
    assert "Where is my order?" in transcript and "fed up" in transcript, "one conversation, the whole story"
    suggested = console.input_value("#reply")
    assert suggested.startswith("Hi Jordan")

    # Claim, reply: the reply reaches Jordan on WhatsApp.
    console.click("#claim")
    console.locator("#owner", has_text="assigned to dana").wait_for(timeout=20_000)
    console.fill("#reply", "Hi Jordan, Dana here. Your jacket left the depot this morning; it arrives tomorrow.")
    console.click("#send")
    console.locator("#status.ok").wait_for(timeout=20_000)
    after_reply = wait_for(lambda: sent_to_jordan(base_url), lambda s: any("Dana here" in m for m in s))
    console.locator("#transcript .msg.agent", has_text="Dana here").wait_for(timeout=20_000)

    # While Dana owns it, the AI says nothing on any channel.
    whatsapp(base_url, "ok thanks, and what is your return policy?", "wamid.console-3")
    console.locator("#transcript .msg.customer", has_text="return policy").wait_for(timeout=25_000)
    assert sent_to_jordan(base_url) == after_reply, "the AI stayed silent"
    # For the README: CONCIERGE_SCREENSHOT_DIR=docs refreshes docs/console.png; a test run never writes tracked files.
    console.screenshot(
        path=os.path.join(os.environ.get("CONCIERGE_SCREENSHOT_DIR", tempfile.gettempdir()), "console.png"),
        full_page=True,
    )

    # Handed back: the AI answers again.
    console.click("#hand-back")
    console.locator("#status.ok", has_text="Handed back").wait_for(timeout=20_000)
    whatsapp(base_url, "What is your return policy?", "wamid.console-4")
    answered = wait_for(lambda: sent_to_jordan(base_url), lambda s: len(s) > len(after_reply))
    assert "Dana here" not in answered[-1] and "return" in answered[-1].lower()


def test_a_web_chat_customer_sees_the_persons_reply_in_the_chat_page(base_url, console):
    chat = console.context.new_page()
    errors: list[str] = []
    chat.on("pageerror", lambda error: errors.append(str(error)))
    chat.goto(base_url + "/")
    chat.locator("#customer option[value='sam']").wait_for(state="attached")
    chat.select_option("#customer", "sam")
    chat.locator("#message:enabled").wait_for()
    chat.fill("#message", "I want to talk to a human please")
    chat.click("#send")
    chat.locator("#handoff").wait_for(timeout=20_000)

    console.reload()
    item = console.locator("[data-testid='queue-item']", has_text="sam")
    item.first.wait_for(timeout=25_000)
    item.first.click()
    console.locator("#customer dd", has_text="Sam").first.wait_for(timeout=20_000)
    console.click("#claim")
    console.locator("#owner", has_text="assigned to dana").wait_for(timeout=20_000)
    console.fill("#reply", "Hi Sam, Dana from the team here. How can I help?")
    console.click("#send")
    console.locator("#status.ok").wait_for(timeout=20_000)

    agent = chat.locator(".msg.agent", has_text="Dana from the team")
    agent.wait_for(timeout=20_000)
    assert "dana" in agent.inner_text().lower()
    before = chat.locator(".msg.assistant").count()
    chat.fill("#message", "Thanks Dana, is the puffer jacket warm?")
    chat.click("#send")
    chat.locator("#message:enabled").wait_for(timeout=20_000)
    assert chat.locator(".msg.assistant").count() == before, "no AI reply while Dana owns the conversation"

    console.click("#hand-back")
    console.locator("#status.ok", has_text="Handed back").wait_for(timeout=20_000)
    chat.locator(".notice", has_text="back with the AI assistant").wait_for(timeout=20_000)
    assert not errors, f"JavaScript errors on the chat page: {errors}"
