"""The WhatsApp Cloud API webhook: Meta proves itself by the verify token (GET) or by signing each body (POST), so
neither route takes the storefront's API key."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Header, Query
from pydantic import BaseModel, Field

from concierge.channels.whatsapp import SIGNATURE_HEADER, WRONG_VERIFY_TOKEN
from concierge.platform.clock import now
from concierge.platform.errors import Forbidden
from concierge.web.routes.common import INVALID_QUERY, TEXT, TOO_LARGE, area_router, errors, event, ok, quote, services

if TYPE_CHECKING:
    from concierge.channels.inbox import WhatsAppIntake

router = area_router()

NOT_CONFIGURED = "WhatsApp is not configured for this deployment."


class WebhookAck(BaseModel):
    received: int = Field(description="customer messages taken in (delivery receipts and unsupported types are not)")


def _intake() -> WhatsAppIntake:
    intake = services().whatsapp
    if intake is None:
        raise Forbidden(NOT_CONFIGURED)
    return intake


@router.get(
    "/v1/channels/whatsapp",
    operation_id="verifyWhatsAppWebhook",
    summary="WhatsApp Cloud API webhook verification (hub.challenge).",
    responses=errors(
        ok("The hub.challenge, echoed as text/plain.", TEXT),
        e400=f"{INVALID_QUERY} A missing hub.mode, hub.verify_token or hub.challenge, or hub.mode other than "
        "'subscribe'.",
        e403=f"{quote(WRONG_VERIFY_TOKEN)}, or {quote(NOT_CONFIGURED)}",
    ),
)
def verify(
    mode: Annotated[Literal["subscribe"], Query(alias="hub.mode", description="Always 'subscribe'.")],
    verify_token: Annotated[
        str,
        Query(alias="hub.verify_token", description="The verify token configured for this webhook in the Meta app."),
    ],
    challenge: Annotated[str, Query(alias="hub.challenge", description="Echoed back when the verify token matches.")],
) -> Response[str]:
    params = {"hub.mode": mode, "hub.verify_token": verify_token, "hub.challenge": challenge}
    return Response(status_code=200, content_type=content_types.TEXT_PLAIN, body=_intake().verify(params))


@router.post(
    "/v1/channels/whatsapp",
    operation_id="receiveWhatsAppWebhook",
    summary="WhatsApp Cloud API webhook (X-Hub-Signature-256).",
    responses=errors(
        ok("The messages were taken in; the turns run asynchronously and replies follow on WhatsApp."),
        e400="The body is not JSON, or not the Cloud API webhook shape; the message names the offending field.",
        e401="A missing, malformed or invalid X-Hub-Signature-256 (checked before the body is read).",
        e403=quote(NOT_CONFIGURED),
        e413=TOO_LARGE,
    ),
    # The body is read as the bytes Meta signed (not validated as a model): the signature is checked first.
    openapi_extensions={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "description": (
                            "The WhatsApp Cloud API webhook body, signed byte for byte (see X-Hub-Signature-256)."
                        ),
                        "required": ["object", "entry"],
                        "properties": {
                            "object": {"const": "whatsapp_business_account"},
                            "entry": {"type": "array", "items": {"type": "object"}},
                        },
                    }
                }
            },
        }
    },
)
def receive(
    signature: Annotated[
        str | None,
        Header(
            alias=SIGNATURE_HEADER,
            description="sha256=<hex HMAC-SHA256 of the raw body under the Meta app secret>; without it, a 401.",
        ),
    ] = None,
) -> WebhookAck:
    intake = _intake()
    request = event()
    raw = request.decoded_body if request.is_base64_encoded else (request.body or "")
    assert raw is not None  # a base64-flagged event without a body: .encode below would fail on None as well
    # both are text: powertools' decoded_body decodes base64 to str
    return WebhookAck(received=intake.receive(raw.encode("utf-8"), signature, now()))
