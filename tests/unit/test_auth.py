"""Storefront identity: the storefront signs its signed-in customer's id (hex HMAC-SHA256) and nothing about an
account is read until that signature checks out."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from concierge import auth
from concierge.auth import sign_customer_id, verify_customer
from concierge.errors import Unauthorized, http_status

SECRET = "dev-signing-secret"


def test_the_signature_is_hex_hmac_sha256_of_the_customer_id():
    expected = hmac.new(SECRET.encode(), b"alex", hashlib.sha256).hexdigest()
    assert sign_customer_id("alex", SECRET) == expected
    assert len(expected) == 64


def test_a_correct_signature_verifies_to_the_customer_id():
    assert verify_customer("alex", sign_customer_id("alex", SECRET), SECRET) == "alex"


def test_signature_case_and_surrounding_whitespace_do_not_matter():
    signature = sign_customer_id("alex", SECRET)
    assert verify_customer("alex", f"  {signature.upper()}\n", SECRET) == "alex"


@pytest.mark.parametrize(
    ("customer_id", "signature", "message"),
    [
        (None, "abc", "Missing x-customer-id header"),
        ("", "abc", "Missing x-customer-id header"),
        ("alex", None, "Missing x-customer-signature header"),
        ("alex", "", "Missing x-customer-signature header"),
        ("alex", "0" * 64, "Invalid x-customer-signature"),
        ("alex", "not-even-hex", "Invalid x-customer-signature"),
    ],
)
def test_missing_or_wrong_signatures_are_unauthorized(customer_id, signature, message):
    with pytest.raises(Unauthorized) as error:
        verify_customer(customer_id, signature, SECRET)
    assert error.value.message.startswith(message)
    assert http_status(error.value) == 401


def test_a_signature_for_one_customer_does_not_open_another_account():
    alex_signature = sign_customer_id("alex", SECRET)
    with pytest.raises(Unauthorized):
        verify_customer("sam", alex_signature, SECRET)
    with pytest.raises(Unauthorized):
        verify_customer("alex ", alex_signature, SECRET)  # a tampered id, even by one character


def test_a_signature_made_with_another_secret_is_refused():
    with pytest.raises(Unauthorized):
        verify_customer("alex", sign_customer_id("alex", "someone-elses-secret"), SECRET)


def test_signatures_are_compared_in_constant_time(monkeypatch):
    compared = []
    real = hmac.compare_digest

    def spy(a, b):
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(auth.hmac, "compare_digest", spy)
    signature = sign_customer_id("alex", SECRET)
    verify_customer("alex", signature, SECRET)
    with pytest.raises(Unauthorized):
        verify_customer("alex", "f" * 64, SECRET)
    as_text = [(a.decode(), b.decode()) if isinstance(a, bytes) else (a, b) for a, b in compared]
    assert as_text == [(signature, signature), (signature, "f" * 64)]


def test_a_garbled_non_ascii_signature_is_unauthorized_not_a_crash():
    with pytest.raises(Unauthorized):
        verify_customer("alex", "é" * 64, SECRET)
