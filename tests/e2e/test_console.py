"""The agent console in a real headless Chromium, against `concierge dev`: an angry customer on WhatsApp is handed
off, the console shows the package, the agent's reply reaches WhatsApp, and the AI stays silent until the agent
hands the conversation back. The agent works from the keyboard (claim, send, hand back), starts from an empty reply
box with the suggestion one action away, and signs replies with the id the console shows; a web chat customer sees
that name, and is told when the agent closes the conversation."""

from __future__ import annotations

import hashlib
import hmac
import json
import re

import pytest

from tests.e2e.conftest import chromium_page, screenshot_path
from tests.e2e.test_channels_over_http import wait_for
from tests.e2e.test_chat_page import say
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


def earlier_conversations(console) -> tuple[int, list[str]]:
    """The count in the 'Earlier conversations (N)' heading and the items of the list under it."""
    title = console.locator("#history-title").inner_text()
    assert re.fullmatch(r"Earlier conversations \(\d+\)", title, re.IGNORECASE), title
    return int(title.split("(")[1].rstrip(")")), console.locator("#history li").all_inner_texts()


def spy_on_posts(console) -> None:
    """Records the URL of every POST the page makes (window.posts): what a shortcut did, or did not, call."""
    console.evaluate(
        "() => { window.posts = []; const original = window.fetch; window.fetch = (url, options) => {"
        " if (options && options.method === 'POST') window.posts.push(String(url)); return original(url, options); }; }"
    )


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
    # The queue says who (the name the store knows), why, for how long, and what the priority means.
    entry = item.first.inner_text()
    assert "Jordan Lee" in entry and "customer is frustrated" in entry and "waiting" in entry, entry
    assert not re.search(r"\bP\d+\b", entry), entry
    priority = item.first.locator("[data-testid='priority']")
    assert re.search(r"priority \(\d+/100\)", priority.inner_text()), priority.inner_text()
    assert "highest first" in priority.get_attribute("title")
    item.first.click()
    console.locator("#customer dd", has_text="Jordan Lee").wait_for(timeout=20_000)
    assert "track" in console.locator("#problem").inner_text()
    assert "(open)" in console.locator("#orders").inner_text()
    transcript = console.locator("#transcript").inner_text()
    assert "Where is my order?" in transcript and "fed up" in transcript, "one conversation, the whole story"
    # No earlier conversation: the count says 0 and the list says so; what we know is listed apart.
    assert earlier_conversations(console) == (0, ["First contact."])
    assert console.locator("#facts li").count() >= 1
    # The reply box starts empty; the suggestion is an explicit action.
    assert console.input_value("#reply") == ""
    console.click("#insert-suggestion")
    assert console.input_value("#reply").startswith("Hi Jordan")

    # The keys are documented on the page; they do nothing while the agent types in the reply box.
    legend = console.locator("#shortcuts").inner_text()
    assert all(word in legend for word in ("claim", "hand back", "Ctrl", "Enter")), legend
    spy_on_posts(console)
    console.fill("#reply", "")
    console.locator("#reply").press_sequentially("ch")
    assert console.input_value("#reply") == "ch", "the letters were typed, not taken as shortcuts"
    assert console.evaluate("() => window.posts") == [], "no claim, no hand back while typing"

    # Claim (C), reply (Ctrl+Enter in the box): the reply reaches Jordan on WhatsApp, and the box is emptied.
    console.locator("#reply").press("Escape")
    console.keyboard.press("c")
    console.locator("#owner", has_text="assigned to dana").wait_for(timeout=20_000)
    text = "Hi Jordan, Dana here. Your jacket left the depot this morning; it arrives tomorrow."
    console.fill("#reply", text)
    console.locator("#reply").press("Control+Enter")
    console.locator("#status.ok", has_text="Sent").wait_for(timeout=20_000)
    console.wait_for_function("() => document.getElementById('reply').value === ''")
    after_reply = wait_for(lambda: sent_to_jordan(base_url), lambda s: any("Dana here" in m for m in s))
    assert after_reply[-1] == text, "exactly what the agent wrote, no suggestion before it"
    console.locator("#transcript .msg.agent", has_text="Dana here").wait_for(timeout=20_000)

    # While Dana owns it, the AI says nothing on any channel.
    whatsapp(base_url, "ok thanks, and what is your return policy?", "wamid.console-3")
    console.locator("#transcript .msg.customer", has_text="return policy").wait_for(timeout=25_000)
    assert sent_to_jordan(base_url) == after_reply, "the AI stayed silent"
    console.screenshot(path=screenshot_path("console.png"), full_page=True)  # `make screenshots`

    # Handed back (H, with nothing focused): the AI answers again.
    console.locator("#reply").press("Escape")
    console.keyboard.press("h")
    console.locator("#status.ok", has_text="Handed back").wait_for(timeout=20_000)
    # The question Jordan asked while Dana had it is answered at once, on WhatsApp, without writing again.
    answered = wait_for(lambda: sent_to_jordan(base_url), lambda s: len(s) > len(after_reply))
    assert "Dana here" not in answered[-1] and "return" in answered[-1].lower()
    whatsapp(base_url, "Thanks! And do you ship to Canada?", "wamid.console-4")
    again = wait_for(lambda: sent_to_jordan(base_url), lambda s: len(s) > len(answered))
    assert "Dana here" not in again[-1]


def test_a_web_chat_customer_sees_the_persons_reply_in_the_chat_page(base_url, console):
    chat = console.context.new_page()
    errors: list[str] = []
    chat.on("pageerror", lambda error: errors.append(str(error)))
    chat.goto(base_url + "/")
    chat.locator("#customer option[value='sam']").wait_for(state="attached")
    chat.select_option("#customer", "sam")
    chat.locator("#message:enabled").wait_for()
    # An earlier conversation, answered and closed by the AI: the package counts it and lists its summary.
    say(chat, "Where is my order?")
    say(chat, "thanks")
    chat.locator(".notice", has_text="closed").wait_for(timeout=20_000)
    chat.click("#new-conversation")
    chat.fill("#message", "I want to talk to a human please")
    chat.click("#send")
    chat.locator("#handoff").wait_for(timeout=20_000)

    console.reload()
    item = console.locator("[data-testid='queue-item']", has_text="sam")
    item.first.wait_for(timeout=25_000)
    item.first.click()
    console.locator("#customer dd", has_text="Sam").first.wait_for(timeout=20_000)
    count, listed = earlier_conversations(console)
    assert count == len(listed) == 1, (count, listed)
    # Another agent takes the seat and types their id without leaving the field: the claim and the reply are theirs.
    console.fill("#agent", "lee")
    console.click("#claim")
    console.locator("#owner", has_text="assigned to lee").wait_for(timeout=20_000)
    assert console.locator("#signed").inner_text() == "signed in as lee (supervisor)"
    console.fill("#reply", "Hi Sam, Lee from the team here. How can I help?")
    console.click("#send")
    console.locator("#status.ok").wait_for(timeout=20_000)
    console.locator("#transcript .msg.agent small", has_text="lee (you)").wait_for(timeout=20_000)

    agent = chat.locator(".msg.agent", has_text="Lee from the team")
    agent.wait_for(timeout=20_000)
    assert agent.locator(".author").inner_text().startswith("lee"), "the customer sees the agent's id"
    before = chat.locator(".msg.assistant").count()
    chat.fill("#message", "Thanks Lee, is the puffer jacket warm?")
    chat.click("#send")
    chat.locator("#message:enabled").wait_for(timeout=20_000)
    assert chat.locator(".msg.assistant").count() == before, "no AI reply while Lee owns the conversation"

    console.click("#hand-back")
    console.locator("#status.ok", has_text="Handed back").wait_for(timeout=20_000)
    chat.locator(".notice", has_text="back with the AI assistant").wait_for(timeout=20_000)
    # The question Sam asked while Lee had it is answered by the AI, without Sam writing again.
    chat.locator(".msg.assistant").nth(before).wait_for(timeout=20_000)
    assert not errors, f"JavaScript errors on the chat page: {errors}"


def test_a_web_chat_customer_is_told_when_the_agent_closes_the_conversation(base_url, console):
    chat = console.context.new_page()
    errors: list[str] = []
    chat.on("pageerror", lambda error: errors.append(str(error)))
    chat.goto(base_url + "/")
    chat.locator("#customer option[value='alex']").wait_for(state="attached")
    chat.select_option("#customer", "alex")
    chat.locator("#message:enabled").wait_for()
    chat.fill("#message", "I want to talk to a human please")
    chat.click("#send")
    chat.locator("#handoff").wait_for(timeout=20_000)

    console.reload()
    item = console.locator("[data-testid='queue-item']", has_text="alex")
    item.first.wait_for(timeout=25_000)
    item.first.click()
    console.locator("#customer dd", has_text="Alex").first.wait_for(timeout=20_000)
    console.click("#claim")
    console.locator("#owner", has_text="assigned to").wait_for(timeout=20_000)
    console.select_option("#resolution", "resolved")
    console.fill("#close-reason", "answered on the phone")
    console.click("#close")
    console.locator("#status.ok", has_text="Closed").wait_for(timeout=20_000)

    chat.locator(".notice", has_text="closed this conversation").wait_for(timeout=20_000)
    assert chat.locator(".notice", has_text="back with the AI").count() == 0
    assert chat.locator("#handoff").count() == 0
    assert not errors, f"JavaScript errors on the chat page: {errors}"
