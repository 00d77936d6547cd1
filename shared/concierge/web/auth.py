"""Who is calling: customers by a short-lived token the storefront mints, operators by the merchant's sign-in.

**Customers.** The storefront's backend, which knows who is signed in, mints a JWT (HS256) under the signing key:
`sub` the customer id, `aud` `concierge-storefront`, `iat`, `exp` at most 24 hours after `iat`, optionally `jti`,
and the key id in the header's `kid`. The browser sends it as `Authorization: Bearer <token>` beside the API key.
Nothing about an account is read until the token checks out. Keys rotate: the signing secret holds a current key
and, during a rotation, the previous one; a token names the key it was signed with (`kid`).

**Operators** (support agents, supervisors) are people with identities of their own, never the storefront's key.
Deployed, a Cognito user pool signs them in and API Gateway's Cognito authorizer checks their token on every
operator route, handing the function the token's claims; locally the dev server plays that part with a dev issuer
of its own (`concierge.local.operators`). Either way the function reads the operator from the authorizer's claims
(`operator_from_claims`), and a supervisor is a member of the `supervisor` group.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from concierge.platform.errors import Forbidden, Unauthorized

AUDIENCE = "concierge-storefront"
MAX_LIFETIME_SECONDS = 24 * 3600
MAX_TOKEN_CHARS = 4096  # a customer token is a few hundred characters; anything this long is not one of ours
LEEWAY_SECONDS = 30  # clock skew allowed between the storefront's backend and us
DEFAULT_KID = "default"
MIN_KEY_CHARS = 32  # HS256 wants a key of at least its hash's 256 bits (RFC 7518, 3.2)
SUPERVISOR = "supervisor"
AGENT = "agent"
OPERATOR_GROUPS = (AGENT, SUPERVISOR)
# The operator authorizer's refusal, before the function runs: API Gateway's answer (and the dev server's stand-in).
AUTHORIZER_REFUSAL = "Unauthorized"
NEEDS_OPERATOR = "{what} needs a signed-in operator: send the operator's token in Authorization."
NEEDS_SUPERVISOR = "{what} needs a supervisor: {operator} is not in the {group!r} group."


@dataclass(frozen=True)
class SigningKeys:
    """The storefront signing keys: the current one (signs) and, during a rotation, the previous one (verifies).

    The secret's text is either a JSON object {"kid", "key", "previous_kid"?, "previous_key"?} or, for a single
    key with no rotation yet, the key itself (its kid is "default")."""

    kid: str
    key: str = field(repr=False)
    previous_kid: str | None = None
    previous_key: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        for key in (self.key, self.previous_key):
            if key is not None and len(key) < MIN_KEY_CHARS:
                raise ValueError(f"A signing key must be at least {MIN_KEY_CHARS} characters (HS256).")

    @classmethod
    def parse(cls, text: str) -> SigningKeys:
        text = text.strip()
        if not text.startswith("{"):
            if not text:
                raise ValueError("The signing secret is empty.")
            return cls(kid=DEFAULT_KID, key=text)
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"The signing secret is not valid JSON ({exc.msg}).") from None
        if not isinstance(value, dict) or not all(isinstance(value.get(k), str) and value[k] for k in ("kid", "key")):
            raise ValueError(
                'The signing secret must be {"kid": "...", "key": "...", "previous_kid"?, "previous_key"?}.'
            )
        previous_kid, previous_key = value.get("previous_kid"), value.get("previous_key")
        if bool(previous_kid) != bool(previous_key):
            raise ValueError("The signing secret names a previous key: give both previous_kid and previous_key.")
        if previous_kid == value["kid"]:
            raise ValueError("The previous key needs a kid of its own.")
        return cls(kid=value["kid"], key=value["key"], previous_kid=previous_kid, previous_key=previous_key)

    def by_kid(self, kid: str | None) -> str | None:
        if kid is None or kid == self.kid:
            return self.key
        return self.previous_key if kid == self.previous_kid else None

    def all(self) -> Iterator[str]:
        """The keys to try where a token carries no kid (survey links): the current one first."""
        yield self.key
        if self.previous_key:
            yield self.previous_key


def mint_customer_token(
    customer_id: str,
    keys: SigningKeys,
    lifetime_seconds: int = 3600,
    issued_at: float | None = None,
    token_id: str | None = None,
) -> str:
    """What the storefront's backend does (the docs show the same in ten lines of Python and of Node)."""
    import jwt  # the customer routes' verification path only

    iat = int(time.time() if issued_at is None else issued_at)
    claims = {
        "sub": customer_id,
        "aud": AUDIENCE,
        "iat": iat,
        "exp": iat + lifetime_seconds,
        "jti": token_id or secrets.token_urlsafe(12),
    }
    return jwt.encode(claims, keys.key, algorithm="HS256", headers={"kid": keys.kid})


def bearer(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header; None when there is no such header."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("The Authorization header must be 'Bearer <token>'.")
    return token.strip()


def verify_customer(authorization: str | None, keys: SigningKeys) -> str:
    """The verified customer id of an `Authorization: Bearer <customer token>` header, or Unauthorized saying
    what is missing or wrong."""
    import jwt

    token = bearer(authorization)
    if token is None:
        raise Unauthorized(
            "Missing Authorization header: send 'Bearer <customer token>', minted by the storefront's backend "
            "for its signed-in customer."
        )
    if len(token) > MAX_TOKEN_CHARS:
        raise Unauthorized(f"The customer token is longer than {MAX_TOKEN_CHARS} characters.")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.DecodeError:
        raise Unauthorized("The customer token is not a JWT.") from None
    kid = header.get("kid")
    key = keys.by_kid(kid if isinstance(kid, str) else None)
    if key is None:
        raise Unauthorized(f"The customer token's key id {kid!r} is not one of the storefront's signing keys.")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=["HS256"],
            audience=AUDIENCE,
            leeway=LEEWAY_SECONDS,
            options={"require": ["sub", "aud", "iat", "exp"]},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthorized("The customer token has expired: the storefront mints a new one.") from None
    except jwt.InvalidAudienceError:
        raise Unauthorized(f"The customer token is not for this API (its audience must be {AUDIENCE!r}).") from None
    except jwt.ImmatureSignatureError:
        raise Unauthorized("The customer token is issued in the future: check the storefront's clock.") from None
    except jwt.MissingRequiredClaimError as exc:
        raise Unauthorized(f"The customer token has no {exc.claim!r} claim.") from None
    except jwt.InvalidSignatureError:
        raise Unauthorized("The customer token's signature is not valid.") from None
    except jwt.InvalidTokenError as exc:
        raise Unauthorized(f"The customer token is not valid ({exc}).") from None
    subject = claims["sub"]
    if not isinstance(subject, str) or not subject.strip():
        raise Unauthorized("The customer token's 'sub' must be the customer id.")
    if float(claims["exp"]) - float(claims["iat"]) > MAX_LIFETIME_SECONDS:  # both numbers: PyJWT checked them
        raise Unauthorized("The customer token lives longer than 24 hours: mint short-lived tokens.")
    return subject


@dataclass(frozen=True)
class Operator:
    """A signed-in support agent or supervisor, as the authorizer saw them."""

    id: str
    groups: frozenset[str] = frozenset()

    @property
    def is_supervisor(self) -> bool:
        return SUPERVISOR in self.groups

    @property
    def audit_name(self) -> str:
        return f"operator:{self.id}"


def _groups(value: Any) -> frozenset[str]:
    """cognito:groups as API Gateway hands it over: a list, 'a,b', or '[a b]' depending on the path it took."""
    if isinstance(value, list | tuple):
        return frozenset(str(v) for v in value)
    if isinstance(value, str):
        return frozenset(g for g in value.strip("[]").replace(",", " ").split() if g)
    return frozenset()


def operator_from_claims(claims: Mapping[str, Any] | None) -> Operator | None:
    """The operator of a request that passed the operator authorizer; None when no authorizer claims came with it."""
    if not claims:
        return None
    name = claims.get("cognito:username") or claims.get("username") or claims.get("sub")
    if not isinstance(name, str) or not name:
        return None
    return Operator(id=name, groups=_groups(claims.get("cognito:groups")))


def require_operator(claims: Mapping[str, Any] | None, what: str, supervisor: bool = False) -> Operator:
    operator = operator_from_claims(claims)
    if operator is None:
        raise Unauthorized(NEEDS_OPERATOR.format(what=what))
    if supervisor and not operator.is_supervisor:
        raise Forbidden(NEEDS_SUPERVISOR.format(what=what, operator=operator.id, group=SUPERVISOR))
    return operator
