"""The local stack's stand-in for the operators' sign-in: what Cognito and API Gateway's Cognito authorizer do
deployed, done by the dev server.

A dev issuer mints operator tokens under a secret of its own (never the storefront's signing key), with the
claims a Cognito ID token carries (`cognito:username`, `cognito:groups`, `token_use`); on an operator route the dev
server checks the token as the authorizer would and hands the function the same claims. A customer token is
signed with another key, for another audience: it never passes.
"""

from __future__ import annotations

import time
from typing import Any

import jwt

from concierge.local.stack import DEV_OPERATOR_SECRET
from concierge.platform.errors import Unauthorized
from concierge.web.auth import AUTHORIZER_REFUSAL, OPERATOR_GROUPS, bearer

ISSUER = "concierge-local-operators"
AUDIENCE = "concierge-operator"
LIFETIME_SECONDS = 8 * 3600  # a working day, as a Cognito ID token refreshed through the day


def mint(operator_id: str, groups: tuple[str, ...], secret: str = DEV_OPERATOR_SECRET) -> str:
    unknown = set(groups) - set(OPERATOR_GROUPS)
    if unknown:
        raise ValueError(f"Unknown operator group(s) {sorted(unknown)}: use {', '.join(OPERATOR_GROUPS)}.")
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": f"local-{operator_id}",
        "cognito:username": operator_id,
        "cognito:groups": list(groups),
        "token_use": "id",
        "iat": now,
        "exp": now + LIFETIME_SECONDS,
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def authorize(authorization: str | None, secret: str = DEV_OPERATOR_SECRET) -> dict[str, str]:
    """The claims API Gateway's Cognito authorizer would pass on (string values; groups comma-separated), or
    Unauthorized. Like Cognito's, the header carries the token with or without 'Bearer '."""
    if not authorization:
        raise Unauthorized(AUTHORIZER_REFUSAL)
    token = bearer(authorization) if authorization.lower().startswith("bearer ") else authorization.strip()
    try:
        claims: dict[str, Any] = jwt.decode(
            token or "",
            secret,
            algorithms=["HS256"],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["exp", "iat", "cognito:username"]},
        )
    except jwt.InvalidTokenError:
        raise Unauthorized(AUTHORIZER_REFUSAL) from None
    return {
        "sub": str(claims.get("sub", "")),
        "cognito:username": str(claims["cognito:username"]),
        "cognito:groups": ",".join(claims.get("cognito:groups") or []),
        "token_use": str(claims.get("token_use", "")),
    }
