"""Signals in (POST /v1/signals) on moto: the storefront's backend reports what happened to its signed-in customer,
and the signal is on the bus under its kind; a bad signal is a 400 saying which field, another customer's a 403."""

from __future__ import annotations

import json

from tests.credentials import customer_headers

SHIPMENT = {
    "kind": "shipment.delayed",
    "signal_id": "sig-http-1",
    "occurred_at": "2026-11-20T09:00:00Z",
    "customer_id": "alex",
    "order_id": "NW10412",
    "promised_by": "2026-11-21",
    "expected_by": "2026-11-25",
}


def post(stack, body: dict, customer: str = "alex") -> tuple[int, dict]:
    headers = {**customer_headers(customer), "content-type": "application/json"}
    status, _, answer = stack.proxy("POST", "/v1/signals", {}, headers, {}, json.dumps(body))
    return status, json.loads(answer)


def test_a_signal_is_published_on_the_bus_under_its_kind(stack, tap):
    tap.drain()
    status, answer = post(stack, SHIPMENT)
    assert status == 200, answer
    assert answer["kind"] == "shipment.delayed" and answer["signal_id"] == "sig-http-1"
    published = [e for e in tap.drain() if e["detail-type"] == "shipment.delayed"]
    assert len(published) == 1
    assert published[0]["detail"]["order_id"] == "NW10412" and published[0]["detail"]["customer_id"] == "alex"


def test_each_kind_is_taken_with_its_own_fields(stack, tap):
    charge = {
        "kind": "charge.posted",
        "signal_id": "sig-http-2",
        "occurred_at": "2026-11-20T09:00:00Z",
        "customer_id": "alex",
        "charge_id": "ch_1",
        "amount": "42.50",
        "currency": "USD",
        "merchant_ref": "acct_main",
    }
    assert post(stack, charge)[0] == 200
    status, answer = post(stack, {**charge, "amount": "-1"})
    assert status == 400 and "amount" in answer["message"]
    status, answer = post(stack, {**charge, "kind": "charge.refunded"})
    assert status == 400 and "kind" in answer["message"]
    status, answer = post(stack, {**SHIPMENT, "colour": "blue"})
    assert status == 400 and "colour" in answer["message"]


def test_a_signal_about_another_customer_is_refused(stack):
    status, answer = post(stack, SHIPMENT, customer="sam")
    assert status == 403 and "own data" in answer["message"]
    status, _, _ = stack.proxy(
        "POST", "/v1/signals", {}, {"content-type": "application/json"}, {}, json.dumps(SHIPMENT)
    )
    assert status == 401
