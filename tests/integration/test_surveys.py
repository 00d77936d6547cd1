"""Surveys on the local stack (moto, the surveys function on the event path, ingest's HTTP routes as API Gateway
proxies them): offers at close, answers by API, signed email link and WhatsApp tap; duplicates, changes, late and
unoffered answers; the Auto-CSAT and survey events; the calibration pairs."""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime, timedelta
from html import unescape
from urllib.parse import parse_qsl, urlsplit

import boto3
import pytest

from concierge.channels.whatsapp import sign_payload
from concierge.local.stack import DEV_WHATSAPP, REGION
from concierge.memory.store import ConversationRecord
from concierge.platform import wiring
from concierge.platform.clock import now
from concierge.platform.events import ConversationClosed, EventPublisher
from concierge.platform.settings import IngestSettings, current_settings
from concierge.surveys.calibration import calibrate, pairs_between
from concierge.surveys.store import SurveyStore
from tests.credentials import customer_headers, customer_token
from tests.integration.conftest import Client, EventTap

PUBLIC = "https://api.northwind.example/prod"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    from concierge.dev.cli import start_local

    previous = os.environ.get("CONCIERGE_PUBLIC_API_URL")
    os.environ["CONCIERGE_PUBLIC_API_URL"] = PUBLIC
    local, _ = start_local(store_dir=tmp_path_factory.mktemp("store"))
    local.tap = EventTap(current_settings(IngestSettings).event_bus)
    yield local
    local.stop()
    if previous is None:
        os.environ.pop("CONCIERGE_PUBLIC_API_URL", None)
    else:
        os.environ["CONCIERGE_PUBLIC_API_URL"] = previous


def headers(customer_id: str) -> dict:
    return customer_headers(customer_id)


def call(stack, method: str, conversation_id: str, customer_id: str, body: dict | None = None) -> tuple[int, dict]:
    path = f"/v1/conversations/{conversation_id}/surveys"
    status, _, text = stack.proxy(
        method,
        path,
        {"conversation_id": conversation_id},
        headers(customer_id),
        {},
        json.dumps(body) if body is not None else None,
    )
    return status, json.loads(text)


def close(stack, conversation_id: str, customer_id: str, channel: str = "web", **changes) -> None:
    at = now()
    fields = {
        "occurred_at": at,
        "conversation_id": conversation_id,
        "customer_id": customer_id,
        "channel": channel,
        "started_at": at,
        "turns": 2,
        "resolution": "resolved",
        "sentiments": [0.0, 0.6],
        "thanked": True,
    }
    EventPublisher(boto3.client("events", region_name=REGION), current_settings(IngestSettings).event_bus).publish(
        ConversationClosed(**(fields | changes))
    )
    while stack.poll_once():
        pass


def conversation(conversation_id: str, customer_id: str, channel: str, address: str) -> None:
    at = now()
    record = ConversationRecord(
        conversation_id=conversation_id,
        customer_id=customer_id,
        channel=channel,
        started_at=at,
        updated_at=at,
        reply_to={channel: address},
        channels=[channel],
    )
    wiring.memory_store(current_settings(IngestSettings)).append_customer_message(record, "hello", at, None)


def events_of(stack, detail_type: str, conversation_id: str) -> list[dict]:
    return [
        e["detail"]
        for e in stack.tap.drain()
        if e["detail-type"] == detail_type and e["detail"]["conversation_id"] == conversation_id
    ]


def surveys() -> SurveyStore:
    return wiring.survey_store(current_settings(IngestSettings))


def test_a_web_conversation_is_scored_offered_csat_and_answered_through_the_api(stack):
    Client(stack).say("sam", "sv-web", "where is my order?")
    stack.tap.drain()
    close(stack, "sv-web", "sam")
    scored = [e for e in stack.tap.drain() if e["detail-type"] == "autocsat.scored"]
    assert [(e["detail"]["conversation_id"], e["detail"]["score"], e["detail"]["scorer"]) for e in scored] == [
        ("sv-web", 5, "explainable-1")
    ]

    status, offered = call(stack, "GET", "sv-web", "sam")
    assert status == 200
    assert [(s["survey"], s["scale"]["min"], s["scale"]["max"], s["score"]) for s in offered["surveys"]] == [
        ("csat", 1, 5, None),
        ("nps", 0, 10, None),
    ]

    assert (
        call(stack, "POST", "sv-web", "sam", {"survey": "csat", "score": 4, "answered_via": "chat"})[1]["outcome"]
        == "recorded"
    )
    assert call(stack, "POST", "sv-web", "sam", {"survey": "csat", "score": 4})[1]["outcome"] == "unchanged"
    assert call(stack, "POST", "sv-web", "sam", {"survey": "csat", "score": 5})[1]["outcome"] == "replaced"
    published = events_of(stack, "survey.answered", "sv-web")
    assert [(e["survey"], e["score"], e["answered_via"], e["channel"]) for e in published] == [
        ("csat", 4, "chat", "web"),
        ("csat", 5, "api", "web"),
    ]  # the repeat published nothing
    assert call(stack, "GET", "sv-web", "sam")[1]["surveys"][0]["score"] == 5

    # the calibration pair (Auto-CSAT 5, the customer's latest answer 5), read by day without a scan
    today = now().date()
    assert pairs_between(surveys(), today, today).count((5, 5)) == 1


def test_wrong_answers_are_refused_with_what_is_wrong(stack):
    Client(stack).say("alex", "sv-refused", "where is my order?")
    close(stack, "sv-refused", "alex", resolution="unresolved")  # no CSAT after an unresolved conversation
    status, body = call(stack, "POST", "sv-refused", "alex", {"survey": "csat", "score": 9})
    assert status == 400 and "csat takes a score from 1 to 5, got 9" in body["message"]
    status, body = call(stack, "POST", "sv-refused", "alex", {"survey": "csat", "score": 3})
    assert (status, body["message"]) == (404, "No csat survey was offered for this conversation.")
    status, body = call(stack, "POST", "sv-refused", "sam", {"survey": "nps", "score": 3})
    assert (status, body["message"]) == (404, "Conversation not found.")  # someone else's conversation
    status, _, _ = stack.proxy(
        "GET",
        "/v1/conversations/sv-refused/surveys",
        {"conversation_id": "sv-refused"},
        {"Authorization": "Bearer " + customer_token("alex").rsplit(".", 1)[0] + ".forged"},
        {},
        None,
    )
    assert status == 401


def test_an_answer_after_the_window_is_gone(stack):
    Client(stack).say("jordan", "sv-late", "where is my order?")
    close(stack, "sv-late", "jordan")
    table = boto3.resource("dynamodb", region_name=REGION).Table(current_settings(IngestSettings).memory_table)
    table.update_item(
        Key={"pk": "CONV#sv-late", "sk": "SCORE#csat"},
        UpdateExpression="SET answer_by = :past",
        ExpressionAttributeValues={":past": (now() - timedelta(minutes=1)).isoformat()},
    )
    status, body = call(stack, "POST", "sv-late", "jordan", {"survey": "csat", "score": 5})
    assert status == 410 and "closed on" in body["message"]


def test_nps_is_asked_at_most_once_per_cadence(stack):
    Client(stack).say("sam", "sv-nps-2", "where is my order?")
    close(stack, "sv-nps-2", "sam")  # sam was asked NPS after sv-web, earlier in this module
    assert [s["survey"] for s in call(stack, "GET", "sv-nps-2", "sam")[1]["surveys"]] == ["csat"]


def test_an_email_conversation_gets_one_click_links_that_record_the_answer(stack):
    conversation("sv-mail", "alex", "email", "alex@example.com")
    close(stack, "sv-mail", "alex", channel="email", actions_executed=["return_items"])
    [email] = [m for m in stack.outbox() if m["subject"].startswith("How did we do?") and "alex@example.com" in m["to"]]
    urls = [unescape(u) for u in re.findall(r'href="([^"]+)"', email["html"])]
    assert len(urls) == 5 + 7  # CSAT 1–5 and CES 1–7 (the plan's two)
    assert all(u.startswith(f"{PUBLIC}/v1/surveys/answer?token=") for u in urls)
    ces_6 = dict(parse_qsl(urlsplit(urls[5 + 5]).query))
    assert ces_6["score"] == "6"

    status, _, page = stack.proxy("GET", "/v1/surveys/answer", {}, {}, ces_6, None)
    assert status == 200 and "You answered <strong>6</strong>" in page and "Your answer is recorded." in page
    offer = surveys().get("sv-mail", "ces")
    assert (offer.score, offer.answered_via, offer.sent_via) == (6, "email", "email")
    status, _, page = stack.proxy("GET", "/v1/surveys/answer", {}, {}, ces_6, None)
    assert status == 200 and "Your answer is unchanged." in page

    tampered = {**ces_6, "token": ces_6["token"][:-3] + ("AAA" if not ces_6["token"].endswith("AAA") else "BBB")}
    status, _, page = stack.proxy("GET", "/v1/surveys/answer", {}, {}, tampered, None)
    assert status == 401 and "not valid" in page
    assert "token" not in json.dumps(stack.outbox()[0]["text"]).split("How satisfied")[0]  # the intro holds no secret


def test_a_whatsapp_conversation_gets_a_list_and_a_tap_records_the_answer(stack):
    number = "15035550142"
    conversation("sv-wa", "alex", "whatsapp", number)
    close(stack, "sv-wa", "alex", channel="whatsapp")
    [sent] = [
        s["body"]
        for s in stack.graph.sent
        if s["body"].get("type") == "interactive" and "sv-wa" in json.dumps(s["body"])
    ]
    rows = sent["interactive"]["action"]["sections"][0]["rows"]
    assert next(r["title"] for r in rows) == "5 – Very satisfied"
    four = next(r for r in rows if r["title"] == "4")

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
                            "metadata": {"phone_number_id": "106540352242922"},
                            "contacts": [{"profile": {"name": "Alex Morgan"}, "wa_id": number}],
                            "messages": [
                                {
                                    "from": number,
                                    "id": "wamid.survey-tap-1",
                                    "timestamp": str(int(datetime.now(UTC).timestamp())),
                                    "type": "interactive",
                                    "interactive": {"type": "list_reply", "list_reply": four},
                                }
                            ],
                        },
                    }
                ],
            }
        ],
    }
    raw = json.dumps(payload).encode()
    before = stack.invocations["agent"]
    status, _, _ = stack.proxy(
        "POST",
        "/v1/channels/whatsapp",
        {},
        {"X-Hub-Signature-256": sign_payload(raw, DEV_WHATSAPP["app_secret"])},
        {},
        raw,
    )
    assert status == 200
    while stack.poll_once():
        pass
    offer = surveys().get("sv-wa", "csat")
    assert (offer.score, offer.answered_via) == (4, "whatsapp")
    assert stack.invocations["agent"] == before  # an answer, not a question: no turn ran
    thanks = stack.graph.sent[-1]["body"]
    assert thanks["type"] == "text" and thanks["text"]["body"].startswith("Thank you for your answer")


def test_calibration_reads_the_pairs_of_the_day(stack):
    today = now().date()
    report = calibrate(pairs_between(surveys(), today, today))
    assert report.pairs >= 2  # sv-web (5, 5) and sv-wa (auto 5, answered 4)
    assert report.confusion[4][4] >= 1 and report.confusion[4][3] >= 1


def test_a_customer_who_opted_out_of_surveys_is_not_asked(stack):
    status, _, text = stack.proxy(
        "PUT",
        "/v1/customers/jordan/preferences",
        {"customer_id": "jordan"},
        headers("jordan"),
        {},
        json.dumps({"personalization": True, "surveys": False}),
    )
    assert (status, json.loads(text)["surveys"]) == (200, False)
    conversation("sv-optout", "jordan", "email", "jordan@example.com")
    close(stack, "sv-optout", "jordan", channel="email")
    assert call(stack, "GET", "sv-optout", "jordan")[1]["surveys"] == []
    assert not [
        m for m in stack.outbox() if "jordan@example.com" in m["to"] and m["subject"].startswith("How did we do?")
    ]


def test_concierge_calibrate_prints_the_report_for_a_date_range(stack, capsys):
    from concierge.dev.cli import main

    today = now().date().isoformat()
    assert main(["calibrate", "--since", today, "--until", today]) == 0
    printed = capsys.readouterr().out
    assert f"conversations closed {today} to {today}" in printed
    assert "| Auto-CSAT \\ answer | 1 | 2 | 3 | 4 | 5 |" in printed
    pairs = calibrate(pairs_between(surveys(), now().date(), now().date())).pairs
    assert f"\n| {pairs} | " in printed
