"""The OpenAPI description of the public API, generated from the code (routes from topology, schemas from the
pydantic models). `concierge openapi` writes docs/openapi.json; a test fails when the checked-in file is stale.

Every route in `topology.ROUTES` needs an entry in `OPERATIONS` (what it takes, returns and who may call it);
the document refuses to build otherwise. The error texts quote the messages the code sends (`http_api`, `auth`,
`privacy`, `channels.whatsapp`, and API Gateway's own responses in `infra/constructs/api.py`).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, Field
from pydantic.json_schema import models_json_schema

from concierge import __version__, topology
from concierge.api import TurnRequestBody, TurnResponse


class ErrorBody(BaseModel):
    message: str


# --- response bodies of the customer-data routes (the dicts `concierge.privacy` returns) -----------------------


class ErasureReceipt(BaseModel):
    """Counts only: an erasure receipt holds no personal data."""

    erased: Literal[True]
    items_deleted: int = Field(description="records deleted from the tables")
    objects_deleted: int = Field(description="mail objects (raw emails, attachments) deleted")


class PreferencesOut(BaseModel):
    customer_id: str
    personalization: bool = Field(description="the consent now in force")


class MergeReceipt(BaseModel):
    target_customer_id: str
    source_customer_id: str
    identities_moved: int = Field(description="verified channel addresses re-pointed to the target")
    items_copied: int = Field(description="facts, summaries and conversation entries copied to the target")


class UnmergeReceipt(BaseModel):
    target_customer_id: str
    source_customer_id: str
    identities_restored: int = Field(description="verified channel addresses given back to the source")


class ConversationExport(BaseModel):
    conversation_id: str
    state: dict[str, Any] | None
    messages: list[dict[str, Any]]
    actions: list[dict[str, Any]]
    handoffs: list[dict[str, Any]]
    scores: list[dict[str, Any]]


class CommerceExport(BaseModel):
    """What the merchant's commerce system holds (it keeps orders under its own obligations; erasure leaves them)."""

    customer: dict[str, Any] | None
    orders: list[dict[str, Any]]


class CustomerExport(BaseModel):
    """Everything held about the customer (see docs/memory.md, Privacy rights). Records are as stored."""

    customer_id: str
    exported_at: str = Field(description="ISO 8601 timestamp")
    profile: dict[str, Any] | None
    identities: list[dict[str, Any]]
    facts: list[dict[str, Any]]
    summaries: list[dict[str, Any]]
    audit: list[dict[str, Any]]
    conversations: list[ConversationExport]
    commerce: CommerceExport


class WebhookAck(BaseModel):
    received: int = Field(description="customer messages taken in (delivery receipts and unsupported types are not)")


# --- errors ------------------------------------------------------------------------------------------------------

ERRORS = {  # the turn route's (API Gateway and the turn workflow)
    "400": "Malformed JSON, or a missing or invalid field; the message says which.",
    "401": "Missing or wrong x-customer-id / x-customer-signature.",
    "403": "Missing or unknown x-api-key.",
    "404": "Unknown route, or a conversation that belongs to another customer.",
    "500": "The turn could not be completed; it is safe to retry.",
}
API_KEY = 'Missing or unknown x-api-key ("Forbidden").'
SELF_OR_OPERATOR_401 = (
    "Neither a signed customer nor a signed operator: a missing x-customer-id or x-customer-signature, "
    '"Invalid x-customer-signature for this customer id.", "Send both x-operator-id and x-operator-signature." '
    'or "Invalid x-operator-signature for this operator id."'
)
SELF_OR_OPERATOR_403 = (
    'Missing or unknown x-api-key ("Forbidden"), or a customer asking for someone else\'s data '
    '("A customer can only reach their own data.").'
)
OPERATOR_401 = (
    '"Merging customers needs an operator: send x-operator-id and x-operator-signature.", '
    '"Send both x-operator-id and x-operator-signature." or "Invalid x-operator-signature for this operator id."'
)
NOT_CONFIGURED = '"WhatsApp is not configured for this deployment."'
INVALID_BODY = '"Invalid request body: ...": malformed JSON, or a missing, invalid or unknown field (the message says which).'

# --- operations --------------------------------------------------------------------------------------------------

Auth = Literal["customer", "self-or-operator", "operator", "webhook"]


@dataclass(frozen=True)
class Operation:
    operation_id: str
    request: str | None  # a component schema, WHATSAPP_WEBHOOK, or None for no body
    response: str  # a component schema, or TEXT
    description: str  # of the 200 response
    errors: dict[str, str]
    # customer: the signed customer headers (the turn route); self-or-operator: the customer themselves or an
    # operator; operator: a signed operator only; webhook: the provider proves itself (no customer, no API key).
    auth: Auth
    query: tuple[dict, ...] = ()
    headers: tuple[dict, ...] = ()


TEXT = "text/plain"
WHATSAPP_WEBHOOK = "WhatsAppWebhook"
PATH_ID = {"type": "string", "minLength": 1}


def _header(name: str, description: str, required: bool = True) -> dict:
    return {"name": name, "in": "header", "required": required, "schema": {"type": "string"}, "description": description}


def _query(name: str, description: str, schema: dict | None = None) -> dict:
    return {"name": name, "in": "query", "required": True, "schema": schema or {"type": "string"}, "description": description}


OPERATIONS: dict[tuple[str, str], Operation] = {
    (topology.TURN_ROUTE.method, topology.TURN_ROUTE.path): Operation(
        "postMessage", "TurnRequestBody", "TurnResponse", "The reply, the actions taken and any handoff.", ERRORS, "customer"
    ),
    ("GET", "/v1/customers/{customer_id}/data"): Operation(
        "exportCustomerData", None, "CustomerExport", "Everything held about the customer.",
        {"401": SELF_OR_OPERATOR_401, "403": SELF_OR_OPERATOR_403, "404": "No data is held about this customer."},
        "self-or-operator",
    ),
    ("DELETE", "/v1/customers/{customer_id}"): Operation(
        "eraseCustomer", None, "ErasureReceipt", "The customer's data was erased; the receipt holds counts only.",
        {"401": SELF_OR_OPERATOR_401, "403": SELF_OR_OPERATOR_403, "404": "No data is held about this customer."},
        "self-or-operator",
    ),
    ("PUT", "/v1/customers/{customer_id}/preferences"): Operation(
        "setCustomerPreferences", "Preferences", "PreferencesOut",
        "The consent now in force. Opting out of personalization also forgets the facts and summaries held.",
        {"400": INVALID_BODY, "401": SELF_OR_OPERATOR_401, "403": SELF_OR_OPERATOR_403},
        "self-or-operator",
    ),
    ("POST", "/v1/customers/{customer_id}/merges"): Operation(
        "mergeCustomers", "MergeRequest", "MergeReceipt",
        "The source customer was merged into this one (both get an audit entry naming the operator).",
        {
            "400": f'{INVALID_BODY} Or "A customer cannot be merged into itself."',
            "401": OPERATOR_401,
            "403": API_KEY,
            "404": '"Both customers must exist."',
            "409": 'The source is already merged: "Customer <source_customer_id> is already merged; unmerge it first."',
        },
        "operator",
    ),
    ("DELETE", "/v1/customers/{customer_id}/merges/{source_customer_id}"): Operation(
        "unmergeCustomers", None, "UnmergeReceipt", "The merge was undone: what it copied is removed, its identities given back.",
        {
            "401": OPERATOR_401,
            "403": API_KEY,
            "404": '"Customer <source_customer_id> is not merged into <customer_id>."',
        },
        "operator",
    ),
    ("GET", "/v1/channels/whatsapp"): Operation(
        "verifyWhatsAppWebhook", None, TEXT, "The hub.challenge, echoed as text/plain.",
        {
            "400": "A missing hub.mode, hub.verify_token or hub.challenge query parameter, or hub.mode other than 'subscribe'.",
            "403": f'"hub.verify_token does not match the verify token configured for this webhook.", or {NOT_CONFIGURED}',
        },
        "webhook",
        query=(
            _query("hub.mode", "Always 'subscribe'.", {"type": "string", "enum": ["subscribe"]}),
            _query("hub.verify_token", "The verify token configured for this webhook in the Meta app."),
            _query("hub.challenge", "Echoed back when the verify token matches."),
        ),
    ),
    ("POST", "/v1/channels/whatsapp"): Operation(
        "receiveWhatsAppWebhook", WHATSAPP_WEBHOOK, "WebhookAck",
        "The messages were taken in; the turns run asynchronously and replies follow on WhatsApp.",
        {
            "400": "The body is not JSON, or not the Cloud API webhook shape; the message names the offending field.",
            "401": "A missing, malformed or invalid X-Hub-Signature-256 (checked before the body is read).",
            "403": NOT_CONFIGURED,
        },
        "webhook",
        headers=(_header("X-Hub-Signature-256", "sha256=<hex HMAC-SHA256 of the raw body under the Meta app secret>"),),
    ),
}

CUSTOMER_HEADERS = (
    _header("x-customer-id", "The storefront's signed-in customer."),
    _header("x-customer-signature", "Hex HMAC-SHA256 of x-customer-id under the storefront's signing secret."),
)
SELF_OR_OPERATOR_HEADERS = (
    _header("x-customer-id", "The customer themselves, for their own data (or send the operator headers).", False),
    _header("x-customer-signature", "Hex HMAC-SHA256 of x-customer-id under the signing secret.", False),
    _header("x-operator-id", "An operator acting for the merchant (takes precedence over the customer headers).", False),
    _header("x-operator-signature", "Hex HMAC-SHA256 of 'operator:<x-operator-id>' under the signing secret.", False),
)
OPERATOR_HEADERS = (
    _header("x-operator-id", "The operator; recorded in the audit trail."),
    _header("x-operator-signature", "Hex HMAC-SHA256 of 'operator:<x-operator-id>' under the signing secret."),
)
AUTH_HEADERS: dict[str, tuple[dict, ...]] = {
    "customer": CUSTOMER_HEADERS,
    "self-or-operator": SELF_OR_OPERATOR_HEADERS,
    "operator": OPERATOR_HEADERS,
    "webhook": (),
}


def operation_for(route: topology.Route) -> Operation:
    operation = OPERATIONS.get((route.method, route.path))
    if operation is None:
        raise KeyError(f"{route.method} {route.path} is in topology.ROUTES but not described in openapi.OPERATIONS")
    if route.requires_customer != (operation.auth != "webhook"):
        raise ValueError(f"{route.method} {route.path}: requires_customer={route.requires_customer} but auth={operation.auth!r}")
    return operation


def _parameters(route: topology.Route, operation: Operation) -> list[dict]:
    path_schema = {**PATH_ID, "maxLength": 128} if route is topology.TURN_ROUTE else PATH_ID
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": dict(path_schema)}
        for name in re.findall(r"\{(\w+)\}", route.path)
    ]
    return parameters + [dict(p) for p in (*AUTH_HEADERS[operation.auth], *operation.headers, *operation.query)]


def _content(name: str) -> dict:
    if name == TEXT:
        return {TEXT: {"schema": {"type": "string"}}}
    if name == WHATSAPP_WEBHOOK:
        return {"application/json": {"schema": {
            "type": "object",
            "description": "The WhatsApp Cloud API webhook body, signed byte for byte (see X-Hub-Signature-256).",
            "required": ["object", "entry"],
            "properties": {
                "object": {"const": "whatsapp_business_account"},
                "entry": {"type": "array", "items": {"type": "object"}},
            },
        }}}
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}


def _error(text: str) -> dict:
    return {"description": text, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}}


def openapi_document() -> dict:
    from concierge.privacy import MergeRequest, Preferences

    models = [(TurnRequestBody, "validation"), (Preferences, "validation"), (MergeRequest, "validation")]
    models += [(m, "serialization") for m in (TurnResponse, ErrorBody, ErasureReceipt, PreferencesOut, MergeReceipt,
                                              UnmergeReceipt, CustomerExport, WebhookAck)]
    _, schemas = models_json_schema(models, ref_template="#/components/schemas/{model}")
    paths: dict[str, dict] = {}
    for route in topology.ROUTES:
        operation = operation_for(route)
        document = {
            "summary": route.description,
            "operationId": operation.operation_id,
            "security": [{"apiKey": []}] if route.api_key else [],
            "parameters": _parameters(route, operation),
            "responses": {
                "200": {"description": operation.description, "content": _content(operation.response)},
                **{status: _error(text) for status, text in operation.errors.items()},
            },
        }
        if operation.request:
            document["requestBody"] = {"required": True, "content": _content(operation.request)}
        paths.setdefault(route.path, {})[route.method.lower()] = document
    return {
        "openapi": "3.1.0",
        "info": {"title": "Concierge API", "version": __version__},
        "paths": paths,
        "components": {
            "schemas": schemas["$defs"],
            "securitySchemes": {"apiKey": {"type": "apiKey", "in": "header", "name": "x-api-key"}},
        },
    }


def openapi_text() -> str:
    return json.dumps(openapi_document(), indent=2, sort_keys=True) + "\n"
