"""Input limits on every route that reads a JSON body or a number (concierge.web.limits), through `concierge dev` over
HTTP: JSON nested 10,000 deep, a 5,000-digit integer, an oversize body and wrong JSON types are each answered with a
4xx JSON message that says what is wrong; none is a 500. Also: the local server keeps the proxied routes' headers,
so JSON, HTML and CSV are served as what they are.

Credentials come only from the local session routes' `headers` object."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest

from concierge.channels.whatsapp import sign_payload
from concierge.local.stack import DEV_WHATSAPP

pytestmark = pytest.mark.e2e

DEEP = b'{"a":' * 10_000 + b"1" + b"}" * 10_000
HUGE = b'{"score": ' + b"9" * 5000 + b"}"


def call(url: str, method: str = "GET", body: bytes | None = None, headers: dict | None = None):
    request = urllib.request.Request(url, data=body, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def session(base_url: str, path: str) -> dict[str, str]:
    status, _, body = call(base_url + path)
    assert status == 200, body
    return json.loads(body)["headers"]


@pytest.fixture(scope="module")
def customer(base_url) -> dict[str, str]:
    return {**session(base_url, "/_local/session?customer_id=sam"), "Content-Type": "application/json"}


@pytest.fixture(scope="module")
def operator(base_url) -> dict[str, str]:
    return {
        **session(base_url, "/_local/operator-session?operator_id=limits&groups=agent,supervisor"),
        "Content-Type": "application/json",
    }


def refused(status: int, headers: Any, body: bytes) -> str:
    assert 400 <= status < 500, (status, body[:300])
    assert headers["Content-Type"].startswith("application/json"), headers["Content-Type"]
    return json.loads(body)["message"]


JSON_ROUTES = [  # (method, path, who)
    ("POST", "/v1/conversations/limits-1/messages", "customer"),  # the turn route (API Gateway → Step Functions)
    ("PUT", "/v1/customers/sam/preferences", "customer"),
    ("POST", "/v1/customers/sam/merges", "operator"),
    ("POST", "/v1/approvals/a-1/approve", "operator"),
    ("POST", "/v1/conversations/limits-1/surveys", "customer"),
    ("POST", "/v1/handoffs/limits-1/messages", "operator"),
    ("POST", "/v1/discounts/NW-X/redemptions", "customer"),
]


@pytest.mark.parametrize(("method", "path", "who"), JSON_ROUTES)
def test_json_bodies_are_limited_on_every_route(base_url, customer, operator, method, path, who):
    headers = customer if who == "customer" else operator
    url = base_url + path
    message = refused(*call(url, method, DEEP, headers))
    assert message.startswith("The request body is nested deeper than 32 levels")
    message = refused(*call(url, method, HUGE, headers))
    assert message == "The request body has an integer longer than 20 digits at position 10."
    status, response_headers, body = call(url, method, b'{"text": "' + b"a" * 70_000 + b'"}', headers)
    assert status == 413
    assert refused(status, response_headers, body).startswith("The request body is 70,012 bytes; at most 65,536")
    message = refused(*call(url, method, b"[NaN]", headers))
    assert message == "The request body has NaN, which is not a JSON number."


@pytest.mark.parametrize(
    ("method", "path", "who", "body", "words"),
    [
        (
            "POST",
            "/v1/conversations/limits-2/messages",
            "customer",
            {"text": 5},
            "text: Input should be a valid string",
        ),
        ("POST", "/v1/conversations/limits-2/messages", "customer", {"text": ["hi"]}, "valid string"),
        ("PUT", "/v1/customers/sam/preferences", "customer", {"personalization": "yes"}, "valid boolean"),
        ("PUT", "/v1/customers/sam/preferences", "customer", {"personalization": 1}, "valid boolean"),
        ("POST", "/v1/conversations/limits-2/surveys", "customer", {"survey": "csat", "score": True}, "valid integer"),
        ("POST", "/v1/conversations/limits-2/surveys", "customer", {"survey": "csat", "score": "4"}, "valid integer"),
        ("POST", "/v1/customers/sam/merges", "operator", {"source_customer_id": 7, "reason": "same"}, "valid string"),
        ("POST", "/v1/approvals/a-1/deny", "operator", {"note": 5}, "valid string"),
        ("POST", "/v1/handoffs/limits-2/close", "operator", {"resolution": True, "reason": "x"}, "resolution"),
        ("POST", "/v1/discounts/NW-X/redemptions", "customer", {"order_id": 1}, "order_id"),
    ],
)
def test_wrong_json_types_are_refused_not_coerced(base_url, customer, operator, method, path, who, body, words):
    headers = customer if who == "customer" else operator
    message = refused(*call(base_url + path, method, json.dumps(body).encode(), headers))
    assert message.startswith("Invalid request body") and words in message


def test_the_whatsapp_webhook_is_limited_after_its_signature(base_url):
    url = base_url + "/v1/channels/whatsapp"
    for body, words in [
        (DEEP, "The webhook body is nested deeper than 32 levels"),
        (HUGE, "The webhook body has an integer longer than 20 digits"),
        (b"{not json", "Invalid webhook body: malformed JSON"),
    ]:
        headers = {
            "Content-Type": "application/json",
            "X-Hub-Signature-256": sign_payload(body, DEV_WHATSAPP["app_secret"]),
        }
        assert refused(*call(url, "POST", body, headers)).startswith(words)
    big = b'{"object": "' + b"a" * (3 * 1024 * 1024) + b'"}'
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": sign_payload(big, DEV_WHATSAPP["app_secret"])}
    status, response_headers, body = call(url, "POST", big, headers)
    assert status == 413 and "at most 3,145,728 bytes (3 MiB)" in refused(status, response_headers, body)


def test_numbers_in_query_strings_are_bounded(base_url, customer):
    status, _, body = call(f"{base_url}/v1/conversations/limits-q/messages", "POST", b'{"text": "hello"}', customer)
    assert status == 200, body
    url = f"{base_url}/v1/conversations/limits-q/messages?after=" + "9" * 5000
    assert refused(*call(url, headers=customer)) == "after is longer than 18 digits."
    url = f"{base_url}/v1/conversations/limits-q/messages?after=%C2%B2"  # '²': isdigit() says yes, int() says no
    assert "after must be a whole number" in refused(*call(url, headers=customer))
    status, _, _ = call(f"{base_url}/_local/demo-month?seed=" + "9" * 5000, "POST")
    assert status == 400


def test_the_survey_page_refuses_a_huge_score_as_a_page(base_url):
    status, headers, body = call(f"{base_url}/v1/surveys/answer?token=a.b&score=" + "9" * 5000)
    assert status == 401 and headers["Content-Type"].startswith("text/html")  # the token is checked first
    assert b"not valid" in body


def test_the_local_import_routes_are_limited(base_url):
    headers = {"x-api-key": "dev-api-key", "Content-Type": "application/json"}
    for target in ("import", "knowledge-sync"):
        url = f"{base_url}/_local/{target}"
        assert refused(*call(url, "POST", DEEP, headers)).startswith("The request body is nested deeper than 32")
        assert "integer longer than 20 digits" in refused(*call(url, "POST", HUGE, headers))


def test_the_local_server_keeps_the_proxied_content_type(base_url, operator):
    status, headers, _ = call(f"{base_url}/v1/approvals", headers=operator)
    assert status == 200 and headers["Content-Type"] == "application/json"
    status, headers, _ = call(f"{base_url}/v1/surveys/answer")
    assert status == 400 and headers["Content-Type"] == "text/html; charset=utf-8"
    assert headers["Cache-Control"] == "no-store"
    query = "from=2026-01-01&to=2026-01-31&format=csv"
    status, headers, body = call(f"{base_url}/v1/metrics?{query}", headers=operator)
    assert status == 200 and headers["Content-Type"] == "text/csv; charset=utf-8", body[:200]
    assert "attachment" in headers["Content-Disposition"]
