"""Storefront identity: the storefront signs its signed-in customer's id; we verify before any account data is read."""

from __future__ import annotations

import hashlib
import hmac

from concierge.errors import Unauthorized


def sign_customer_id(customer_id: str, secret: str) -> str:
    return hmac.new(secret.encode(), customer_id.encode(), hashlib.sha256).hexdigest()


def verify_customer(customer_id: str | None, signature: str | None, secret: str) -> str:
    """Return the verified customer id, or raise Unauthorized saying what is missing or wrong."""
    if not customer_id:
        raise Unauthorized("Missing x-customer-id header: the storefront must identify its signed-in customer.")
    if not signature:
        raise Unauthorized("Missing x-customer-signature header (hex HMAC-SHA256 of the customer id).")
    expected = sign_customer_id(customer_id, secret)
    # Bytes, not str: compare_digest refuses non-ASCII text, and a garbled header is a 401, not a 500.
    if not hmac.compare_digest(expected.encode(), signature.strip().lower().encode("utf-8", "replace")):
        raise Unauthorized("Invalid x-customer-signature for this customer id.")
    return customer_id


def sign_operator(operator_id: str, secret: str) -> str:
    """Operators (support staff, the merchant's back office) sign in a namespace of their own, so that a
    customer's signature can never be replayed as an operator's."""
    return sign_customer_id(f"operator:{operator_id}", secret)


def verify_operator(operator_id: str | None, signature: str | None, secret: str) -> str | None:
    """The verified operator id, None when no operator headers were sent; Unauthorized when they are wrong."""
    if not operator_id and not signature:
        return None
    if not operator_id or not signature:
        raise Unauthorized("Send both x-operator-id and x-operator-signature.")
    expected = sign_operator(operator_id, secret)
    if not hmac.compare_digest(expected.encode(), signature.strip().lower().encode("utf-8", "replace")):
        raise Unauthorized("Invalid x-operator-signature for this operator id.")
    return operator_id
