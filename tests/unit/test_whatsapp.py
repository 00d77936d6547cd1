"""WhatsApp Cloud API: Meta's verification handshake, signed deliveries, the messages a customer can send us, and
replies sent to a local stand-in of the Graph API (retries, Graph's errors, the token kept out of messages)."""

from __future__ import annotations

import copy
import json
import re
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import urllib3

from concierge.channels.whatsapp import (
    MalformedWebhook,
    WhatsAppSender,
    WhatsAppSendError,
    normalize_number,
    parse_webhook,
    sign_payload,
    verify_signature,
    verify_subscription,
)
from concierge.conversation.api import Channel
from concierge.local.graph_standin import GraphStandIn
from concierge.platform.errors import BadRequest, Forbidden, Unauthorized, http_status

EVENTS = Path(__file__).parents[2] / "events" / "whatsapp"
APP_SECRET = "whatsapp-app-secret"
VERIFY_TOKEN = "concierge-verify-token"
ACCESS_TOKEN = "EAAG-local-access-token"
PHONE_NUMBER_ID = "106540352242922"
CUSTOMER = "15035550142"
NOW = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)


def sample(name: str) -> dict:
    return json.loads((EVENTS / f"{name}.json").read_text())


def delivery(*messages: dict, statuses: list[dict] | None = None) -> dict:
    """A webhook body around these messages, shaped like the samples Meta sends."""
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE_NUMBER_ID},
        "contacts": [{"profile": {"name": "Alex Morgan"}, "wa_id": CUSTOMER}],
    }
    if messages:
        value["messages"] = list(messages)
    if statuses is not None:
        value["statuses"] = statuses
        del value["contacts"]
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"value": value, "field": "messages"}]}],
    }


def message(kind: str, content: dict | None = None, **extra) -> dict:
    body = {"from": CUSTOMER, "id": f"wamid.{kind}-1", "timestamp": "1767605400", "type": kind, **extra}
    if content is not None:
        body[kind] = content
    return body


def only(payload: dict):
    [parsed] = parse_webhook(payload, NOW)
    return parsed


# --- the verification handshake -------------------------------------------------------------------------------


def test_the_handshake_echoes_the_challenge_to_whoever_knows_the_token():
    params = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"}
    assert verify_subscription(params, VERIFY_TOKEN) == "1158201444"


@pytest.mark.parametrize("token", ["wrong-token", VERIFY_TOKEN.upper(), "jeton-vérifié"])
def test_the_handshake_refuses_a_wrong_token(token):
    params = {"hub.mode": "subscribe", "hub.verify_token": token, "hub.challenge": "1158201444"}
    with pytest.raises(Forbidden, match=re.escape("hub.verify_token does not match")) as raised:
        verify_subscription(params, VERIFY_TOKEN)
    assert http_status(raised.value) == 403


@pytest.mark.parametrize(
    ("params", "missing"),
    [
        ({}, "hub.mode, hub.verify_token, hub.challenge"),
        ({"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN}, "hub.challenge"),
        ({"hub.mode": "subscribe", "hub.challenge": "1"}, "hub.verify_token"),
        ({"hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"}, "hub.mode"),
    ],
)
def test_a_handshake_without_its_parameters_is_a_bad_request(params, missing):
    with pytest.raises(BadRequest, match=f"Missing {missing} query parameter"):
        verify_subscription(params, VERIFY_TOKEN)


def test_the_handshake_is_only_for_subscribing():
    params = {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"}
    with pytest.raises(BadRequest, match=re.escape("hub.mode must be 'subscribe'")):
        verify_subscription(params, VERIFY_TOKEN)


# --- signed deliveries ----------------------------------------------------------------------------------------

BODY = json.dumps(sample("text-message")).encode()


def test_a_delivery_signed_with_the_app_secret_passes():
    signature = sign_payload(BODY, APP_SECRET)
    assert signature.startswith("sha256=") and len(signature) == len("sha256=") + 64
    verify_signature(BODY, signature, APP_SECRET)
    verify_signature(BODY, signature.upper().replace("SHA256=", "sha256="), APP_SECRET)


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (None, "Missing X-Hub-Signature-256"),
        ("", "Missing X-Hub-Signature-256"),
        (sign_payload(BODY, "someone-elses-secret"), "Invalid X-Hub-Signature-256"),
        (sign_payload(BODY + b" ", APP_SECRET), "Invalid X-Hub-Signature-256"),
        (sign_payload(BODY, APP_SECRET).replace("sha256=", "sha1="), "Malformed X-Hub-Signature-256"),
        (sign_payload(BODY, APP_SECRET).removeprefix("sha256="), "Malformed X-Hub-Signature-256"),
        ("sha256=" + "zz" * 32, "Malformed X-Hub-Signature-256"),
        ("sha256=" + "ab" * 31, "Malformed X-Hub-Signature-256"),
        ("sha256=" + "é" * 64, "Malformed X-Hub-Signature-256"),
        ("sha256=" + "٣" * 64, "Malformed X-Hub-Signature-256"),  # Arabic-Indic digits are not hex
    ],
)
def test_an_unsigned_or_spoofed_delivery_is_unauthorized(header, message):
    with pytest.raises(Unauthorized, match=message) as raised:
        verify_signature(BODY, header, APP_SECRET)
    assert http_status(raised.value) == 401


def test_a_body_changed_after_signing_is_unauthorized():
    tampered = BODY.replace(b"Trail Shell Jacket", b"Summit Parka")
    with pytest.raises(Unauthorized):
        verify_signature(tampered, sign_payload(BODY, APP_SECRET), APP_SECRET)


# --- what the customer sent -----------------------------------------------------------------------------------


def test_a_text_message_becomes_a_verified_inbound_message():
    parsed = only(sample("text-message"))
    assert parsed.channel == Channel.WHATSAPP
    assert parsed.text == "Hi! What material is the Trail Shell Jacket made of? Is it fully waterproof?"
    assert parsed.sender == CUSTOMER and parsed.sender_name == "Alex Morgan"
    assert parsed.verified and parsed.verified_by == "whatsapp:signed-webhook"
    assert parsed.message_id == "wamid.HBgLMTUwMzU1NTAxNDIVAgASGBQzQUI3RjE2QzQ1MEE5RDI4MkE2MQA="
    assert parsed.recipient == PHONE_NUMBER_ID
    assert parsed.received_at == datetime(2025, 12, 30, 11, 0, tzinfo=UTC)
    assert parsed.references == []


def test_the_sender_compares_equal_to_a_stored_phone_number():
    stored = "+15035550142"  # how the store keeps Alex's phone number
    assert only(sample("text-message")).sender == normalize_number(stored) == normalize_number("+1 (503) 555-0142")


def test_a_tapped_reply_button_reads_as_its_title_and_references_the_message_it_was_on():
    parsed = only(sample("button-reply"))
    assert parsed.text == "Size guide"
    assert parsed.references == ["wamid.HBgLMTUwMzU1NTAxNDIVAgARGBI0NTk2QjNBMjlGNjhFOEM3RjIA"]


def test_a_chosen_list_row_reads_as_its_title():
    row = {
        "type": "list_reply",
        "list_reply": {"id": "priority_express", "title": "Priority Mail Express", "description": "Next day"},
    }
    assert only(delivery(message("interactive", row))).text == "Priority Mail Express"


def test_a_template_quick_reply_reads_as_the_button_text():
    button = {"payload": "track-order", "text": "Track my order"}
    assert only(delivery(message("button", button))).text == "Track my order"


def test_a_quoted_reply_references_the_quoted_message():
    quoted = message("text", {"body": "Yes, that one"}, context={"from": "15550783881", "id": "wamid.earlier"})
    assert only(delivery(quoted)).references == ["wamid.earlier"]


@pytest.mark.parametrize(
    ("kind", "content", "text"),
    [
        (
            "image",
            {"id": "1479537139650973", "mime_type": "image/jpeg", "caption": "The zip is broken"},
            "The zip is broken",
        ),
        ("image", {"id": "1479537139650973", "mime_type": "image/jpeg"}, "(sent an image)"),
        ("document", {"id": "1", "filename": "receipt.pdf"}, "(sent a document)"),
        ("audio", {"id": "1", "voice": True}, "(sent an audio message)"),
        ("video", {"id": "1", "caption": "  "}, "(sent a video)"),
        ("sticker", {"id": "1", "animated": False}, "(sent a sticker)"),
        (
            "location",
            {"latitude": 45.52, "longitude": -122.68, "name": "Pioneer Square", "address": "701 SW 6th Ave"},
            "(shared a location: Pioneer Square, 701 SW 6th Ave)",
        ),
        ("location", {"latitude": 45.52, "longitude": -122.68}, "(shared a location: 45.52, -122.68)"),
    ],
)
def test_media_reads_as_its_caption_or_says_what_was_sent(kind, content, text):
    assert only(delivery(message(kind, content))).text == text


def test_delivery_receipts_are_not_customer_messages():
    receipt = {"id": "wamid.sent-1", "status": "delivered", "timestamp": "1767605401", "recipient_id": CUSTOMER}
    assert parse_webhook(delivery(statuses=[receipt]), NOW) == []


def test_a_reaction_is_not_a_turn():
    reaction = message("reaction", {"message_id": "wamid.sent-1", "emoji": "👍"})
    assert parse_webhook(delivery(reaction, message("text", {"body": "Thanks!"})), NOW)[0].text == "Thanks!"
    assert parse_webhook(delivery(reaction), NOW) == []


def test_a_message_without_timestamp_keeps_the_time_it_was_received():
    untimed = message("text", {"body": "Hello"})
    del untimed["timestamp"]
    assert only(delivery(untimed)).received_at == NOW


def test_long_text_is_capped_at_what_a_turn_accepts():
    assert len(only(delivery(message("text", {"body": "a" * 5000}))).text) == 4000


def test_messages_from_every_entry_and_change_are_returned_in_order():
    payload = delivery(message("text", {"body": "first"}))
    second = copy.deepcopy(payload["entry"][0])
    second["changes"][0]["value"]["messages"] = [message("text", {"body": "second"}, id="wamid.2")]
    payload["entry"].append(second)
    assert [m.text for m in parse_webhook(payload, NOW)] == ["first", "second"]


def malformed(mutate) -> dict:
    payload = delivery(message("text", {"body": "Hello"}))
    mutate(payload)
    return payload


def value_of(payload: dict) -> dict:
    return payload["entry"][0]["changes"][0]["value"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ([], "The webhook body must be a JSON object"),
        ("not json", "The webhook body must be a JSON object"),
        (malformed(lambda p: p.update(object="page")), "object must be 'whatsapp_business_account'"),
        (malformed(lambda p: p.pop("entry")), "entry must be a list"),
        (malformed(lambda p: p["entry"][0].pop("changes")), r"entry\[0\].changes must be a list"),
        (malformed(lambda p: p["entry"][0]["changes"][0].pop("value")), r"entry\[0\].changes\[0\].value must be"),
        (malformed(lambda p: value_of(p).pop("metadata")), r"value.metadata must be an object"),
        (malformed(lambda p: value_of(p)["metadata"].pop("phone_number_id")), r"metadata.phone_number_id is missing"),
        (malformed(lambda p: value_of(p).update(messages={})), r"value.messages must be a list"),
        (malformed(lambda p: value_of(p)["messages"][0].pop("from")), r"messages\[0\].from is missing"),
        (malformed(lambda p: value_of(p)["messages"][0].update({"from": "+"})), r"messages\[0\].from must be a phone"),
        (malformed(lambda p: value_of(p)["messages"][0].pop("id")), r"messages\[0\].id is missing"),
        (malformed(lambda p: value_of(p)["messages"][0].pop("type")), r"messages\[0\].type is missing"),
        (malformed(lambda p: value_of(p)["messages"][0].pop("text")), r"messages\[0\].text must be an object"),
        (malformed(lambda p: value_of(p)["messages"][0]["text"].pop("body")), r"messages\[0\].text.body is missing"),
        (
            malformed(lambda p: value_of(p)["messages"][0].update(timestamp="yesterday")),
            r"messages\[0\].timestamp must be epoch seconds",
        ),
        (
            malformed(lambda p: value_of(p)["messages"].append(message("interactive", {"type": "button_reply"}))),
            r"messages\[1\].interactive.button_reply must be an object",
        ),
        (
            malformed(lambda p: value_of(p)["messages"].append(message("button", {"payload": "x"}))),
            r"messages\[1\].button.text is missing",
        ),
    ],
)
def test_a_malformed_delivery_names_the_field_that_is_wrong(payload, field):
    with pytest.raises(MalformedWebhook, match=field) as raised:
        parse_webhook(payload, NOW)
    assert http_status(raised.value) == 400


# --- sending replies ------------------------------------------------------------------------------------------


@pytest.fixture
def graph():
    stand_in = GraphStandIn(access_token=ACCESS_TOKEN).start()
    yield stand_in
    stand_in.stop()


@pytest.fixture
def http():
    pool = urllib3.PoolManager()
    yield pool
    pool.clear()


def sender(graph: GraphStandIn, http: urllib3.PoolManager, token: str = ACCESS_TOKEN, retries: int = 3):
    return WhatsAppSender(
        base_url=graph.url,
        phone_number_id=PHONE_NUMBER_ID,
        access_token=token,
        retries=retries,
        backoff_factor=0.01,
        http=http,
    )


def test_a_text_reply_reaches_graph_as_documented(graph, http):
    wamid = sender(graph, http).send_text(
        "+1 503 555 0142", "It is 3-layer recycled nylon.", reply_to_message_id="wamid.question"
    )
    assert graph.sent == [
        {
            "phone_number_id": PHONE_NUMBER_ID,
            "message_id": wamid,
            "body": {
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": CUSTOMER,
                "type": "text",
                "text": {"body": "It is 3-layer recycled nylon.", "preview_url": False},
                "context": {"message_id": "wamid.question"},
            },
        }
    ]
    assert wamid.startswith("wamid.")


def test_the_stand_in_shows_over_http_what_was_sent(graph, http):
    sender(graph, http).send_text(CUSTOMER, "Hello")
    over_http = json.loads(http.request("GET", f"{graph.url}/_sent").data)
    assert over_http == graph.sent and over_http[0]["body"]["text"]["body"] == "Hello"


def test_a_reply_longer_than_whatsapp_allows_is_shortened_visibly(graph, http):
    sender(graph, http).send_text(CUSTOMER, "x" * 5000)
    body = graph.sent[0]["body"]["text"]["body"]
    assert len(body) == 4096 and body.endswith("…")


def test_reply_buttons_reach_graph_as_documented(graph, http):
    buttons = [("size-guide", "Size guide"), ("agent", "Talk to us")]
    sender(graph, http).send_buttons(CUSTOMER, "Anything else?", buttons)
    assert graph.sent[0]["body"] == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": CUSTOMER,
        "type": "interactive",
        "interactive": {
            "type": "button",
            "body": {"text": "Anything else?"},
            "action": {
                "buttons": [
                    {"type": "reply", "reply": {"id": "size-guide", "title": "Size guide"}},
                    {"type": "reply", "reply": {"id": "agent", "title": "Talk to us"}},
                ]
            },
        },
    }


@pytest.mark.parametrize(
    ("buttons", "message"),
    [
        ([], "1 to 3 reply buttons"),
        ([("a", "A"), ("b", "B"), ("c", "C"), ("d", "D")], "1 to 3 reply buttons"),
        ([("a", "A title well over twenty")], "must be 1 to 20 characters"),
        ([("a" * 257, "A")], "must be 1 to 256 characters"),
        ([("a", "A"), ("a", "B")], "ids must be unique"),
        ([("a", "A"), ("b", "A")], "titles must be unique"),
    ],
)
def test_buttons_whatsapp_would_refuse_are_refused_before_sending(graph, http, buttons, message):
    with pytest.raises(ValueError, match=message):
        sender(graph, http).send_buttons(CUSTOMER, "Pick one", buttons)
    assert graph.sent == []


def test_throttling_and_outages_are_retried_until_graph_accepts(graph, http):
    graph.fail_next(503, times=2)
    graph.fail_next(429, retry_after=0)
    wamid = sender(graph, http).send_text(CUSTOMER, "Your order shipped.")
    assert [sent["message_id"] for sent in graph.sent] == [wamid]


def test_graphs_retry_after_is_respected(graph, http):
    graph.fail_next(429, retry_after=1)
    started = time.monotonic()
    sender(graph, http).send_text(CUSTOMER, "Your order shipped.")
    assert time.monotonic() - started >= 0.9
    assert len(graph.sent) == 1


def test_an_outage_longer_than_the_retries_is_an_error(graph, http):
    graph.fail_next(503, times=3)
    with pytest.raises(WhatsAppSendError, match="after 2 retries: HTTP 503") as raised:
        sender(graph, http, retries=2).send_text(CUSTOMER, "Your order shipped.")
    assert raised.value.status == 503 and raised.value.code == 2
    assert graph.sent == []


def test_a_refused_message_raises_graphs_error_without_the_token(graph, http):
    with pytest.raises(WhatsAppSendError) as raised:
        sender(graph, http).send_text(CUSTOMER, "")
    assert "The parameter text['body'] is required" in str(raised.value)
    assert raised.value.status == 400 and raised.value.code == 100
    assert ACCESS_TOKEN not in str(raised.value)


def test_a_wrong_token_is_refused_by_graph(graph, http):
    with pytest.raises(WhatsAppSendError, match="HTTP 401, Graph error 190: Invalid OAuth access token") as raised:
        sender(graph, http, token="EAAG-revoked-token").send_text(CUSTOMER, "Hello")
    assert "EAAG-revoked-token" not in str(raised.value)
    assert graph.sent == []


def test_an_unreachable_graph_is_an_error(http):
    stopped = GraphStandIn(access_token=ACCESS_TOKEN).start()
    url = stopped.url
    stopped.stop()
    unreachable = WhatsAppSender(
        base_url=url,
        phone_number_id=PHONE_NUMBER_ID,
        access_token=ACCESS_TOKEN,
        retries=1,
        backoff_factor=0.01,
        http=http,
    )
    with pytest.raises(WhatsAppSendError, match="did not answer") as raised:
        unreachable.send_text(CUSTOMER, "Hello")
    assert ACCESS_TOKEN not in str(raised.value)
