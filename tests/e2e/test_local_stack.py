"""End to end: `concierge dev` started as a newcomer would, driven over HTTP through the public contract."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.e2e


def request(url: str, method: str = "GET", body: bytes | None = None, headers: dict | None = None) -> tuple[int, dict]:
    req = urllib.request.Request(url, data=body, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def signed(customer_id: str, **claims) -> dict:
    """As the storefront's backend does it, with any JWT library: a short-lived token under the signing key."""
    import time

    import jwt

    now = int(time.time())
    claims = {"sub": customer_id, "aud": "concierge-storefront", "iat": now, "exp": now + 300, **claims}
    token = jwt.encode(claims, "dev-signing-secret-of-the-local-stack", algorithm="HS256")
    return {"content-type": "application/json", "x-api-key": "dev-api-key", "Authorization": f"Bearer {token}"}


def test_the_acceptance_script_plays_the_shirt_return(base_url):
    """scripts/play_shirt_return.py uses only the public contract and exits non-zero on any failed expectation."""
    run = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "play_shirt_return.py"), base_url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "OK: refund 49.00" in run.stdout


def test_chat_page_is_served(base_url):
    with urllib.request.urlopen(base_url + "/", timeout=5) as response:
        assert "text/html" in response.headers["content-type"]
        assert "Concierge" in response.read().decode()


def test_where_is_my_order_as_sam(base_url):
    status, body = request(
        f"{base_url}/v1/conversations/wismo-1/messages", "POST", b'{"text": "where is my order?"}', signed("sam")
    )
    assert status == 200
    assert "tracking number" in body["reply"]["text"] and "Estimated delivery" in body["reply"]["text"]
    assert body["actions"][0]["tool"] == "track_shipment"


def test_talk_to_a_human_hands_off_at_once(base_url):
    status, body = request(
        f"{base_url}/v1/conversations/human-1/messages", "POST", b'{"text": "I want to talk to a human"}', signed("sam")
    )
    assert status == 200 and body["handoff"]["reason"] == "customer asked for a human"
    assert body["conversation_status"] == "handed_off"


def test_help_question_is_answered_with_a_citation(base_url):
    status, body = request(
        f"{base_url}/v1/conversations/help-1/messages", "POST", b'{"text": "How long do refunds take?"}', signed("sam")
    )
    assert status == 200 and body["reply"]["citations"][0]["url"].startswith("/help/returns")
    assert "5 to 10 business days" in body["reply"]["text"]


def test_unknown_answer_is_honest_and_offers_a_human(base_url):
    status, body = request(
        f"{base_url}/v1/conversations/help-2/messages",
        "POST",
        b'{"text": "What is the capital of France?"}',
        signed("sam"),
    )
    assert status == 200 and "rather not guess" in body["reply"]["text"] and not body["reply"]["citations"]


@pytest.mark.parametrize(
    ("path", "method", "body", "headers", "status", "message"),
    [
        (
            "/v1/conversations/e1/messages",
            "POST",
            b'{"text": "hi"}',
            {"x-api-key": "dev-api-key"},
            401,
            "Missing Authorization header",
        ),
        (
            "/v1/conversations/e1/messages",
            "POST",
            b'{"text": "hi"}',
            lambda: signed("alex", exp=1),
            401,
            "The customer token has expired",
        ),
        (
            "/v1/conversations/e1/messages",
            "POST",
            b'{"text": "hi"}',
            lambda: signed("alex", aud="concierge-operator"),
            401,
            "not for this API",
        ),
        (
            "/v1/conversations/e1/messages",
            "POST",
            b'{"text": "hi"}',
            lambda: {**signed("alex"), "x-api-key": "wrong"},
            403,
            "Forbidden",
        ),
        ("/v1/conversations/e1/messages", "POST", b'{"text": "hi"', lambda: signed("alex"), 400, "malformed JSON"),
        ("/v1/conversations/e1/messages", "POST", b'{"channel": "web"}', lambda: signed("alex"), 400, "text"),
        (
            "/v1/conversations/e1/messages",
            "POST",
            b'{"text": "hi", "channel": "fax"}',
            lambda: signed("alex"),
            400,
            "channel",
        ),
        ("/v1/nowhere", "GET", None, {}, 404, "No route"),
        ("/v1/conversations/e1/messages", "DELETE", None, {}, 405, "not allowed"),
    ],
)
def test_bad_requests_get_a_clear_4xx(base_url, path, method, body, headers, status, message):
    # tokens are minted when the test runs, not when pytest collects it: the suite may run longer than their lifetime
    got, payload = request(base_url + path, method, body, headers() if callable(headers) else headers)
    assert got == status and message in payload["message"]


def test_someone_elses_conversation_is_not_found(base_url):
    request(f"{base_url}/v1/conversations/private-1/messages", "POST", b'{"text": "hi"}', signed("alex"))
    status, body = request(f"{base_url}/v1/conversations/private-1/messages", "POST", b'{"text": "hi"}', signed("sam"))
    assert status == 404 and body == {"message": "Conversation not found."}


def test_operator_routes_take_an_operator_token_and_never_a_customer_token(base_url):
    def session(query: str) -> dict:
        return request(f"{base_url}/_local/operator-session?{query}")[1]

    agent, supervisor = session("operator_id=lee"), session("operator_id=dana&groups=agent,supervisor")
    assert agent["groups"] == ["agent"] and supervisor["groups"] == ["agent", "supervisor"]
    assert request(f"{base_url}/v1/handoffs", headers=agent["headers"])[0] == 200
    assert request(f"{base_url}/v1/handoffs", headers=signed("alex")) == (401, {"message": "Unauthorized"})
    assert request(f"{base_url}/v1/handoffs", headers={"x-api-key": "dev-api-key"})[0] == 401
    forged = {**agent["headers"], "Authorization": agent["headers"]["Authorization"][:-4] + "AAAA"}
    assert request(f"{base_url}/v1/handoffs", headers=forged)[0] == 401
    status, body = request(f"{base_url}/v1/approvals/A-NONE/approve", "POST", b"{}", agent["headers"])
    assert status == 403 and "needs a supervisor" in body["message"]
    assert request(f"{base_url}/v1/approvals/A-NONE/approve", "POST", b"{}", supervisor["headers"])[0] == 404
    # a customer session gives a customer token, which the customer routes take and the operator routes refuse
    customer = request(f"{base_url}/_local/session?customer_id=alex")[1]
    assert request(f"{base_url}/v1/customers/alex/data", headers=customer["headers"])[0] == 200
    assert request(f"{base_url}/v1/operator/customers/alex/data", headers=customer["headers"])[0] == 401
    assert request(f"{base_url}/v1/operator/customers/alex/data", headers=agent["headers"])[0] == 200
