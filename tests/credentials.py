"""The credentials tests send, made as the storefront's backend (customer tokens) and the operators' sign-in
(operator tokens; locally the dev issuer stands in for Cognito) make them."""

from __future__ import annotations

from concierge.local import operators
from concierge.local.stack import DEV_SIGNING_SECRET
from concierge.web.auth import SigningKeys, mint_customer_token

KEYS = SigningKeys.parse(DEV_SIGNING_SECRET)


def customer_token(customer_id: str, **options) -> str:
    return mint_customer_token(customer_id, KEYS, **options)


def customer_headers(customer_id: str, api_key: str = "test") -> dict[str, str]:
    return {"x-api-key": api_key, "Authorization": f"Bearer {customer_token(customer_id)}"}


def operator_headers(operator_id: str = "dana", supervisor: bool = True, api_key: str = "test") -> dict[str, str]:
    groups = ("agent", "supervisor") if supervisor else ("agent",)
    return {"x-api-key": api_key, "Authorization": operators.mint(operator_id, groups)}
