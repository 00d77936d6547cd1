"""Plays the shirt return as Alex against a running local stack, using only the public HTTP contract.

Usage: python scripts/play_shirt_return.py [BASE_URL | PORT]
The stack is the one at BASE_URL, or at http://127.0.0.1:PORT when a port number is given; without an argument,
http://127.0.0.1:$PORT (the local stack's PORT variable, 8787 when it is unset), as `concierge dev` listens.
Exits non-zero if any expectation fails, with a message saying which; prints each turn with its latency.
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.error
import urllib.request
import uuid

import jwt  # what the storefront's backend uses to mint its customer's token (any JWT library does)


def base_url(arguments: list[str], environment: dict[str, str]) -> str:
    """The stack's URL: the argument (a URL, or a port number), else 127.0.0.1 on $PORT (8787 when unset)."""
    given = arguments[0].strip() if arguments else ""
    if given and not given.isdigit():
        return given.rstrip("/")
    port = given or environment.get("PORT", "").strip() or "8787"
    if not port.isdigit() or not 0 < int(port) < 65536:
        sys.exit(f"PORT={port!r} is not a port number.")
    return f"http://127.0.0.1:{port}"


BASE = base_url(sys.argv[1:], dict(os.environ))
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
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            body = json.loads(response.read())
    except urllib.error.HTTPError as error:
        sys.exit(f"POST {request.full_url} answered {error.code}: {error.read().decode(errors='replace')[:500]}")
    except urllib.error.URLError as error:
        sys.exit(f"No stack answers at {BASE} ({error.reason}): start it (`concierge dev`) or give its URL or port.")
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
        if not isinstance(body.get("reply"), dict) or not isinstance(body["reply"].get("text"), str):
            # A conversation with a person (handed off) answers no reply: the assistant stays silent.
            sys.exit(
                f"No reply to {text!r} in {conversation} (status {body.get('conversation_status')!r}, "
                f"handoff {body.get('handoff')!r}): the assistant did not answer, so the return cannot go on."
            )
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
