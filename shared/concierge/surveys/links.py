"""One-click survey links: a token naming the conversation, the customer, the survey and an expiry, signed with
HMAC-SHA256. The key is derived from the signing secret in a namespace of its own, so a survey token can never
stand in for a customer or operator signature (nor the reverse)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from urllib.parse import urlencode

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from concierge.platform.errors import BadRequest, Gone, Unauthorized
from concierge.platform.events import SurveyKind
from concierge.web.auth import SigningKeys

LINK_PATH = "/v1/surveys/answer"


class SurveyToken(BaseModel):
    model_config = ConfigDict(extra="forbid")

    c: str = Field(description="conversation id")
    u: str = Field(description="customer id")
    k: SurveyKind
    e: int = Field(description="expiry, epoch seconds")


def _key(secret: str) -> bytes:
    return hmac.new(secret.encode(), b"concierge:survey-link", hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: str, body: str) -> str:
    return _b64(hmac.new(_key(key), body.encode(), hashlib.sha256).digest())


def sign(conversation_id: str, customer_id: str, survey: str, expires: datetime, keys: SigningKeys) -> str:
    """A link token signed with the current key (links sent before a rotation still verify: `verify`)."""
    body = _b64(
        json.dumps(
            {"c": conversation_id, "u": customer_id, "k": survey, "e": int(expires.timestamp())}, separators=(",", ":")
        ).encode()
    )
    return f"{body}.{_mac(keys.key, body)}"


def verify(token: str | None, keys: SigningKeys, at: datetime) -> SurveyToken:
    """The token's claims; Unauthorized when it is missing or tampered with, Gone when it has expired."""
    if not token:
        raise BadRequest("Missing token query parameter: open the link from the survey message.")
    body, _, mac = token.partition(".")
    given = mac.encode("utf-8", "replace")
    if not mac or not any(hmac.compare_digest(_mac(key, body).encode(), given) for key in keys.all()):
        raise Unauthorized("This survey link is not valid: it may have been altered or cut short.")
    try:
        claims = SurveyToken.model_validate_json(_unb64(body))
    except (ValueError, ValidationError) as exc:  # signed by us but unreadable: only an old format could do this
        raise Unauthorized("This survey link is not valid.") from exc
    if at > datetime.fromtimestamp(claims.e, tz=UTC):
        raise Gone("This survey has closed: answers are taken for a limited time after the conversation.")
    return claims


def _query(token: str, score: int | None) -> str:
    return urlencode({"token": token, **({"score": str(score)} if score is not None else {})})


def link(base_url: str, token: str, score: int | None = None) -> str:
    return f"{base_url.rstrip('/')}{LINK_PATH}?{_query(token, score)}"


def sibling(token: str, score: int | None = None) -> str:
    """A link relative to the survey page itself, so it keeps whatever stage prefix the page was served under."""
    return f"{LINK_PATH.rsplit('/', 1)[1]}?{_query(token, score)}"
