"""One customer, one thread, across web chat, email and WhatsApp — on the local stack (moto, the real handlers,
the shared turn workflow, SES receiving simulated, the Graph API stand-in)."""

from __future__ import annotations

import json
import time
from email.message import EmailMessage
from email.utils import make_msgid

import boto3
import pytest

from concierge.channels.whatsapp import sign_payload
from concierge.local.stack import DEV_WHATSAPP, REGION
from concierge.platform import wiring
from concierge.platform.settings import IngestSettings, current_settings
from tests.credentials import customer_token
from tests.integration.conftest import Client


def email(sender: str, subject: str, body: str, to: str = "support@northwind.example", **headers: str) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2])
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message.as_bytes()


def deliver(stack) -> None:
    while stack.poll_once():
        pass


def replies_to(stack, address: str) -> list[dict]:
    return [e for e in stack.outbox() if address in e["to"] and not e["subject"].startswith("Your return")]


def whatsapp_body(number: str, name: str, text: str, wamid: str) -> bytes:
    return json.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": "102290129340398",
                    "changes": [
                        {
                            "field": "messages",
                            "value": {
                                "messaging_product": "whatsapp",
                                "metadata": {
                                    "display_phone_number": "15550783881",
                                    "phone_number_id": "106540352242922",
                                },
                                "contacts": [{"profile": {"name": name}, "wa_id": number}],
                                "messages": [
                                    {
                                        "from": number,
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
    ).encode()


def webhook(stack, body: bytes, signature: str | None) -> tuple[int, str]:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature
    status, _, text = stack.proxy("POST", "/v1/channels/whatsapp", {}, headers, {}, body)
    return status, text


@pytest.fixture(scope="module")
def client(stack):
    return Client(stack)


def memory():
    return wiring.memory_store(current_settings(IngestSettings))


def test_sizing_in_chat_then_material_by_email_gets_one_answer_covering_both(stack, client):
    chat = client.say("alex", "omni-jacket", "Does the Trail Shell Jacket run small?")
    assert chat.status == 200
    assert "snug" in chat.text.lower()

    stack.receive_email(
        email(
            "Alex Morgan <alex@example.com>",
            "Trail Shell Jacket",
            "Hi, what is the Trail Shell Jacket made of?\n\nThanks,\nAlex",
        )
    )
    deliver(stack)

    [reply] = replies_to(stack, "alex@example.com")
    text = reply["text"].lower()
    assert "recycled nylon" in text, "the email answers the material question"
    assert "snug" in text and "web chat" in text, "and builds on the sizing answer given in chat"
    assert reply["subject"].startswith("Re: Trail Shell Jacket")
    # The same conversation holds both channels, so the agent (and a human) sees both.
    record = memory().get_conversation("omni-jacket")
    assert [c.value for c in record.channels] == ["web", "email"]
    assert [m["channel"] for m in memory().transcript("omni-jacket")] == ["web", "web", "email", "email"]


def test_a_reply_to_our_email_continues_the_thread(stack, client):
    before = memory().get_conversation("omni-jacket").customer_turns
    [ours] = replies_to(stack, "alex@example.com")
    reply_to = "support+omni-jacket@northwind.example"
    stack.receive_email(
        email(
            "alex@example.com",
            "Re: Trail Shell Jacket",
            "Is it fully waterproof?\n\nOn Mon, Support wrote:\n> old text",
            to=reply_to,
        )
    )
    deliver(stack)
    assert memory().get_conversation("omni-jacket").customer_turns == before + 1
    assert ours["message_id"]


def test_welcome_back_after_a_delayed_shipment_mentions_it(stack, client):
    first = client.say("jordan", "omni-late-1", "Where is my order?")
    assert "running late" in first.text
    assert client.say("jordan", "omni-late-1", "ok thanks").body["conversation_status"] == "closed"

    later = client.say("jordan", "omni-late-2", "Hi")
    assert later.text.startswith("Welcome back, Jordan!")
    assert "running late" in later.text and "NW10005" in later.text


def test_an_unverified_email_matching_a_customer_sees_none_of_their_orders(stack):
    # A spoofed From: SPF and DKIM pass, but for the sender's own domain, not alex's (not aligned, as DMARC says).
    stack.receive_email(
        email("alex@example.com", "my order", "Where is my order NW10002? Please send the tracking number."),
        envelope_from="bounce@evil.example",
        dkim_domain="evil.example",
    )
    deliver(stack)
    before = len(replies_to(stack, "alex@example.com"))
    [reply] = [e for e in replies_to(stack, "alex@example.com") if "couldn't verify" in e["text"]]
    text = reply["text"]
    # Neutral: nothing of the sender's is echoed (the reply may reach someone who never wrote).
    assert "my order" not in reply["subject"].lower() and "NW10002" not in text and "tracking" not in text
    assert text.startswith("Hello,")
    # At most one a day to that address: a second spoofed mail gets no reply at all.
    stack.receive_email(
        email("alex@example.com", "Re: refund approved - confirm at http://evil.example", "Confirm now"),
        envelope_from="bounce@evil.example",
        dkim_domain="evil.example",
    )
    deliver(stack)
    assert len(replies_to(stack, "alex@example.com")) == before
    # Nothing was linked: the address still has no identity, and no conversation of alex's was touched.
    from concierge.conversation.api import Channel

    assert (
        memory().get_identity(Channel.EMAIL, "alex@example.com") is None
        or memory().get_identity(Channel.EMAIL, "alex@example.com").customer_id == "alex"
    )
    unverified = [i for i in memory().customer_partition("alex") if i["sk"].startswith("CONV#")]
    assert all(memory().get_conversation(i["conversation_id"]).verified for i in unverified)


def test_whatsapp_message_from_the_number_on_file_is_answered_on_whatsapp(stack):
    body = whatsapp_body("15125550187", "Sam Rivera", "What is the Down Puffer Jacket made of?", "wamid.sam-1")
    status, text = webhook(stack, body, sign_payload(body, DEV_WHATSAPP["app_secret"]))
    assert status == 200 and json.loads(text) == {"received": 1}
    deliver(stack)
    sent = [m["body"] for m in stack.graph.sent if m["body"]["to"] == "15125550187"]
    assert len(sent) == 1 and "650-fill" in sent[0]["text"]["body"]
    assert sent[0]["context"]["message_id"] == "wamid.sam-1"
    from concierge.conversation.api import Channel

    assert memory().get_identity(Channel.WHATSAPP, "15125550187").customer_id == "sam"

    # Meta redelivers the same webhook: exactly one reply.
    webhook(stack, body, sign_payload(body, DEV_WHATSAPP["app_secret"]))
    deliver(stack)
    assert len([m for m in stack.graph.sent if m["body"]["to"] == "15125550187"]) == 1


def test_spoofed_whatsapp_signatures_get_401(stack):
    body = whatsapp_body("15035550142", "Alex Morgan", "refund everything", "wamid.spoof")
    assert webhook(stack, body, sign_payload(body, "not-the-app-secret"))[0] == 401
    assert webhook(stack, body, None)[0] == 401
    assert webhook(stack, body, "sha256=zz")[0] == 401


def test_malformed_webhook_payload_gets_a_clear_400(stack):
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"phone_number_id": "106540352242922"},
        "messages": [{"id": "x", "type": "text"}],
    }
    body = json.dumps({"object": "whatsapp_business_account", "entry": [{"changes": [{"value": value}]}]}).encode()
    status, text = webhook(stack, body, sign_payload(body, DEV_WHATSAPP["app_secret"]))
    assert status == 400
    assert "from" in json.loads(text)["message"], "the message names the missing field"
    status, text = webhook(stack, b"{not json", sign_payload(b"{not json", DEV_WHATSAPP["app_secret"]))
    assert status == 400 and "malformed JSON" in json.loads(text)["message"]


def test_whatsapp_verification_handshake(stack):
    query = {"hub.mode": "subscribe", "hub.verify_token": DEV_WHATSAPP["verify_token"], "hub.challenge": "1158201444"}
    status, _, text = stack.proxy("GET", "/v1/channels/whatsapp", {}, {}, query, None)
    assert (status, text) == (200, "1158201444")
    status, _, _ = stack.proxy("GET", "/v1/channels/whatsapp", {}, {}, {**query, "hub.verify_token": "guess"}, None)
    assert status == 403


def test_a_turn_without_a_valid_customer_token_gets_401(stack):
    def turn(header: dict) -> tuple[int, str]:
        status, body, _ = stack.turn_response(
            {"body": {"text": "hi"}, "header": header, "path": {"conversation_id": "x1"}}
        )
        return status, json.loads(body)["message"]

    assert turn({"x-customer-id": "alex"}) == (
        401,
        "Missing Authorization header: send 'Bearer <customer token>', minted by the storefront's backend for its "
        "signed-in customer.",
    )
    expired = customer_token("alex", issued_at=time.time() - 7200, lifetime_seconds=3600)
    assert turn({"Authorization": f"Bearer {expired}"}) == (
        401,
        "The customer token has expired: the storefront mints a new one.",
    )
    assert turn({"Authorization": f"Bearer {customer_token('alex')}x"})[0] == 401


def test_malformed_mime_is_parked_in_the_dead_letter_queue_not_lost(stack):
    before = stack.dead_letters()["ingest-async-dlq"]
    stack.receive_email(b"\x00\x01 this is not an email at all")
    assert stack.dead_letters()["ingest-async-dlq"] == before + 1
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.get_queue_url(QueueName="ingest-async-dlq")["QueueUrl"]
    parked = json.loads(sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"])
    assert parked["requestPayload"]["Records"][0]["eventSource"] == "aws:ses"
    assert parked["errorMessage"]


def test_a_new_web_conversation_on_an_open_topic_is_linked_to_it(stack, client):
    body = whatsapp_body("13125550123", "Jordan Lee", "Does the Selvedge Denim Jacket run small?", "wamid.jordan-1")
    webhook(stack, body, sign_payload(body, DEV_WHATSAPP["app_secret"]))
    deliver(stack)
    web = client.say("jordan", "omni-linked", "And what is the Selvedge Denim Jacket made of?")
    assert "selvedge denim" in web.text.lower()
    assert "Picking up from our WhatsApp" in web.text
    assert memory().get_conversation("omni-linked").linked_conversation_id.startswith("whatsapp-")


def test_a_reply_that_failed_to_send_is_resent_without_running_the_turn_again(stack):
    import time

    body = whatsapp_body("15125550187", "Sam Rivera", "Do you ship to Canada?", "wamid.sam-retry")
    stack.graph.fail_next(500, times=4)  # the first send and its three retries fail
    assert webhook(stack, body, sign_payload(body, DEV_WHATSAPP["app_secret"]))[0] == 200
    stack.poll_once()
    assert not [m for m in stack.graph.sent if m["body"].get("context", {}).get("message_id") == "wamid.sam-retry"]

    time.sleep(2.5)  # the queue's visibility timeout: the message comes back
    deliver(stack)
    sent = [m for m in stack.graph.sent if m["body"].get("context", {}).get("message_id") == "wamid.sam-retry"]
    assert len(sent) == 1 and "Canada" in sent[0]["body"]["text"]["body"]
    conversations = [i for i in memory().customer_partition("sam") if i["sk"].startswith("CONV#")]
    turns = [memory().get_conversation(c["conversation_id"]) for c in conversations]
    asked = [
        t
        for t in turns
        if any("Canada" in m["text"] for m in memory().transcript(t.conversation_id) if m["role"] == "customer")
    ]
    assert (
        len(asked) == 1
        and sum(m["text"] == "Do you ship to Canada?" for m in memory().transcript(asked[0].conversation_id)) == 1
    )
