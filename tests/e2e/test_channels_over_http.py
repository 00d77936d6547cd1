"""End to end over HTTP: an email and a WhatsApp message reach `concierge dev` the way providers deliver them,
and the replies go out on the same channel (SES on moto, the Graph API stand-in)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from email.message import EmailMessage

import pytest

from tests.e2e.test_local_stack import request, signed

pytestmark = pytest.mark.e2e


def wait_for(fetch, condition, timeout: float = 15.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = fetch()
        if condition(value):
            return value
        time.sleep(0.2)
    pytest.fail(f"timed out; last value: {value!r}")


def test_an_email_is_answered_by_email(base_url):
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = (
        "Sam Rivera <sam@example.com>",
        "support@northwind.example",
        "Puffer",
    )
    message.set_content("Hi there, what is the Down Puffer Jacket made of?\n\nCheers,\nSam")
    status, body = request(
        f"{base_url}/_local/inbound-email", "POST", message.as_bytes(), {"content-type": "message/rfc822"}
    )
    assert status == 202 and body["message_id"]
    emails = wait_for(
        lambda: request(f"{base_url}/_local/outbox?to=sam@example.com")[1],
        lambda e: any(m["subject"] == "Re: Puffer" for m in e),
    )
    reply = next(m for m in emails if m["subject"] == "Re: Puffer")
    assert "650-fill" in reply["text"] and reply["text"].startswith("Hi Sam,")


def test_a_signed_whatsapp_message_is_answered_on_whatsapp_and_a_spoofed_one_is_refused(base_url):
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
                            "contacts": [{"profile": {"name": "Alex Morgan"}, "wa_id": "15035550142"}],
                            "messages": [
                                {
                                    "from": "15035550142",
                                    "id": "wamid.e2e-1",
                                    "timestamp": "1767092400",
                                    "type": "text",
                                    "text": {"body": "I want to talk to a human"},
                                }
                            ],
                        },
                    }
                ],
            }
        ],
    }
    raw = json.dumps(payload).encode()
    good = "sha256=" + hmac.new(b"dev-whatsapp-app-secret", raw, hashlib.sha256).hexdigest()
    bad = "sha256=" + hmac.new(b"guessed", raw, hashlib.sha256).hexdigest()

    assert (
        request(
            f"{base_url}/v1/channels/whatsapp",
            "POST",
            raw,
            {"content-type": "application/json", "x-hub-signature-256": bad},
        )[0]
        == 401
    )
    status, body = request(
        f"{base_url}/v1/channels/whatsapp",
        "POST",
        raw,
        {"content-type": "application/json", "x-hub-signature-256": good},
    )
    assert (status, body) == (200, {"received": 1})
    sent = wait_for(
        lambda: request(f"{base_url}/_local/whatsapp-sent")[1],
        lambda s: any(m["body"]["to"] == "15035550142" for m in s),
    )
    text = next(m for m in sent if m["body"]["to"] == "15035550142")["body"]["text"]["body"]
    assert "member of our team" in text, "'talk to a human' hands off at once on WhatsApp too"


def test_customer_data_routes_need_the_api_key_and_the_customer(base_url):
    assert request(f"{base_url}/v1/customers/alex/data")[0] == 403
    status, export = request(f"{base_url}/v1/customers/alex/data", headers=signed("alex"))
    assert status == 200 and export["customer_id"] == "alex"
    assert request(f"{base_url}/v1/customers/alex/data", headers=signed("sam"))[0] == 403
