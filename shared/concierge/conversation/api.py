"""The HTTP contract of the turn route: what storefronts send and receive.

API Gateway validates the body against `TurnRequestBody`'s JSON schema; the state machine receives an
`ApiRequest` (the shape API Gateway's Step Functions integration builds) and ends with an `HttpResponse`.
"""

from __future__ import annotations

import html
import json
import re
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from concierge.catalogue.cart import Cart
from concierge.platform.errors import ConciergeError, http_status, retry_after

# The turn route's answer when its workflow fails (API Gateway's integration response, and the local stack's).
TURN_FAILED = "The turn could not be completed; it is safe to retry."


class Channel(StrEnum):
    WEB = "web"
    EMAIL = "email"
    WHATSAPP = "whatsapp"
    SMS = "sms"


# The models here are built on first use (`defer_build`), except `Citation` and `HttpResponse`: every turn embeds
# and uses them (concierge.conversation.turn), and an embedded model that was deferred would be built twice
# (docs/performance.md).
class TurnRequestBody(BaseModel):
    model_config = ConfigDict(extra="forbid", title="TurnRequestBody", defer_build=True)

    text: str = Field(min_length=1, max_length=4000, description="What the customer wrote.")
    channel: Channel = Field(Channel.WEB, description="The channel the customer used.")


class ApiRequest(BaseModel):
    """Execution input built by API Gateway (and by the local server, identically)."""

    model_config = ConfigDict(defer_build=True)

    body: Any = None
    header: dict[str, str] = Field(default_factory=dict)
    path: dict[str, str] = Field(default_factory=dict)

    def header_value(self, name: str) -> str | None:
        wanted = name.lower()
        return next((value for key, value in self.header.items() if key.lower() == wanted), None)


class Citation(BaseModel):
    """A source shown under a reply. Help documents are written by others: the title is plain text (tags removed)
    and the link is http(s) or a path of the shop's site only (a `javascript:` or `data:` link is dropped, the title
    stays)."""

    title: str
    url: str

    @field_validator("title")
    @classmethod
    def _plain_title(cls, value: str) -> str:
        # Entities first, then tags: "&lt;img onerror=…&gt;" must not come out as a tag.
        return re.sub(r"\s+", " ", re.sub(r"<[^>]*>?", " ", html.unescape(value))).strip()

    @field_validator("url")
    @classmethod
    def _web_link(cls, value: str) -> str:
        # http(s), or a path on the shop's own site ("/help/returns"); never another scheme.
        # A backslash is refused too: browsers read "/\evil.example" as "//evil.example".
        return value if re.match(r"^(https?://|/(?![/\\]))[^\s<>\"\\]*$", value.strip(), re.IGNORECASE) else ""


class ReplyOut(BaseModel):
    model_config = ConfigDict(defer_build=True)

    text: str
    citations: list[Citation] = Field(default_factory=list)


class ActionOut(BaseModel):
    model_config = ConfigDict(defer_build=True)

    tool: str
    status: Literal["executed", "pending_confirmation", "awaiting_approval", "denied", "failed"]
    arguments: dict[str, Any] = Field(
        default_factory=dict, description="what was asked of the tool, e.g. the order id as the customer wrote it"
    )
    result: dict[str, Any] = Field(default_factory=dict)


class HandoffOut(BaseModel):
    model_config = ConfigDict(defer_build=True)

    reason: str
    status: str
    message: str


class TurnResponse(BaseModel):
    model_config = ConfigDict(defer_build=True)

    conversation_id: str
    reply: ReplyOut | None = Field(description="the assistant's reply; null while a person owns the conversation")
    actions: list[ActionOut] = Field(default_factory=list)
    handoff: HandoffOut | None = None
    cart: Cart | None = Field(
        None,
        description="a cart the assistant built for a shopping request this turn (docs/shopping.md): its lines with "
        "why each fits, totals, promotions applied and the storefront's checkout link; null when none was built",
    )
    conversation_status: str


class HttpResponse(BaseModel):
    """The workflow's final output; API Gateway's integration response turns it into the HTTP response."""

    statusCode: int
    body: str
    headers: dict[str, str] = Field(default_factory=dict, description="e.g. Retry-After on a 409 that clears itself")

    @classmethod
    def of(cls, status: int, payload: BaseModel | dict[str, Any]) -> HttpResponse:
        text = payload.model_dump_json() if isinstance(payload, BaseModel) else json.dumps(payload)
        return cls(statusCode=status, body=text)

    @classmethod
    def error(cls, status: int, message: str) -> HttpResponse:
        return cls.of(status, {"message": message})

    @classmethod
    def from_error(cls, error: ConciergeError) -> HttpResponse:
        response = cls.error(http_status(error), error.message)
        seconds = retry_after(error)
        return response if seconds is None else response.model_copy(update={"headers": {"Retry-After": str(seconds)}})
