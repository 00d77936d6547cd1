"""Plays the shirt return as Alex against a running local stack, using only the public HTTP contract.

Usage: python scripts/play_shirt_return.py [BASE_URL]   (default http://127.0.0.1:8787)
Exits non-zero if any expectation fails; prints each turn with its latency.
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.request
import uuid

import jwt  # what the storefront's backend uses to mint its customer's token (any JWT library does)

BASE = sys.argv[1] if len(sys.argv) > 1 else f"http://127.0.0.1:{os.environ.get('PORT', '8787')}"
API_KEY = os.environ.get("CONCIERGE_API_KEY", "dev-api-key")
SECRET = os.environ.get("CONCIERGE_SIGNING_SECRET", "dev-signing-secret-of-the-local-stack")


def customer_token(customer_id: str) -> str:
    now = int(time.time())
    claims = {"sub": customer_id, "aud": "concierge-storefront", "iat": now, "exp": now + 600}
    return jwt.encode(claims, SECRET, algorithm="HS256")


def post(conversation_id: str, text: str, customer_id: str = "alex") -> tuple[dict, float]:
    request = urllib.request.Request(
        f"{BASE}/v1/conversations/{conversation_id}/messages",
        data=json.dumps({"text": text, "channel": "web"}).encode(),
        headers={
            "content-type": "application/json",
            "x-api-key": API_KEY,
            "Authorization": f"Bearer {customer_token(customer_id)}",
        },
        method="POST",
    )
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=10) as response:
        body = json.loads(response.read())
    return body, time.perf_counter() - started


def get(path: str):
    with urllib.request.urlopen(f"{BASE}{path}", timeout=10) as response:
        return json.loads(response.read())


def play() -> dict:
    conversation = f"web-{uuid.uuid4().hex[:12]}"
    turns = [
        "I need to return the blue shirt from my last order",
        "Yes, that's the one",
        "It's too small",
        "A refund please",
        "Yes, go ahead",
    ]
    replies, latencies = [], []
    for text in turns:
        body, seconds = post(conversation, text)
        replies.append(body)
        latencies.append(seconds)
        print(f"[{seconds * 1000:6.0f} ms] customer: {text}\n            concierge: {body['reply']['text']}")
        for action in body["actions"]:
            print(f"            action: {action['tool']} -> {action['status']}")
    first = replies[0]["reply"]["text"]
    assert "Classic Oxford Shirt (Blue, L)" in first and "order number" not in first.lower(), first
    executed = [a for a in replies[-1]["actions"] if a["tool"] == "return_items" and a["status"] == "executed"]
    assert executed, replies[-1]
    result = executed[0]["result"]
    assert result["refund_amount"] == "49.00" and result["resolution"] == "refund", result
    assert "refund" in replies[-1]["reply"]["text"].lower() and "$49.00" in replies[-1]["reply"]["text"]
    emails = get("/_local/outbox?to=alex@example.com")
    qr = [
        e
        for e in emails
        if result["return_id"] in e["subject"] and any(a["content_type"] == "image/png" for a in e["attachments"])
    ]
    assert qr, "no email with a QR code for this return"
    assert sum(latencies) < 60, latencies  # the reference scenario: the whole return in under a minute
    print(
        f"OK: refund {result['refund_amount']} for return {result['return_id']}; QR email '{qr[0]['subject']}'; "
        f"slowest turn {max(latencies) * 1000:.0f} ms"
    )
    return {"replies": replies, "latencies": latencies, "email": qr[0]}


if __name__ == "__main__":
    play()
