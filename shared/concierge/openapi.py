"""The OpenAPI description of the public API, generated from the code (routes from topology, schemas from the
pydantic models). `concierge openapi` writes docs/openapi.json; a test fails when the checked-in file is stale."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from concierge import __version__, topology
from concierge.api import TurnRequestBody, TurnResponse


class ErrorBody(BaseModel):
    message: str


class ErasureReceipt(BaseModel):
    erased: bool
    items_deleted: int
    objects_deleted: int


class PreferencesOut(BaseModel):
    customer_id: str
    personalization: bool


class MergeReceipt(BaseModel):
    target_customer_id: str
    source_customer_id: str
    identities_moved: int
    items_copied: int


class UnmergeReceipt(BaseModel):
    target_customer_id: str
    source_customer_id: str
    identities_restored: int


class CustomerExport(BaseModel):
    """Everything held about the customer (see docs/memory.md, Privacy rights)."""

    customer_id: str
    exported_at: str
    profile: dict | None = None
    identities: list[dict]
    facts: list[dict]
    summaries: list[dict]
    audit: list[dict]
    conversations: list[dict]
    commerce: dict


class WebhookAck(BaseModel):
    received: int


ERRORS = {
    "400": "Malformed JSON, or a missing or invalid field; the message says which.",
    "401": "Missing or wrong x-customer-id / x-customer-signature.",
    "403": "Missing or unknown x-api-key.",
    "404": "Unknown route, or a conversation that belongs to another customer.",
    "500": "The turn could not be completed; it is safe to retry.",
}
CUSTOMER_ERRORS = {
    "401": "Missing or wrong customer or operator signature.",
    "403": "Missing x-api-key, or a customer asking for someone else's data.",
    "404": "No data is held about this customer.",
}


@dataclass(frozen=True)
class Operation:
    operation_id: str
    request: str | None
    response: str
    description: str
    errors: dict[str, str]
    operator: str = "optional"  # "optional" | "required" | "none"


OPERATIONS = {
    ("POST", "/v1/conversations/{conversation_id}/messages"): Operation(
        "postMessage", "TurnRequestBody", "TurnResponse", "The reply, the actions taken and any handoff.", ERRORS, "none"
    ),
    ("GET", "/v1/customers/{customer_id}/data"): Operation(
        "exportCustomerData", None, "CustomerExport", "Everything held about the customer.", CUSTOMER_ERRORS
    ),
    ("DELETE", "/v1/customers/{customer_id}"): Operation(
        "eraseCustomer", None, "ErasureReceipt", "The customer's data was erased.", CUSTOMER_ERRORS
    ),
    ("PUT", "/v1/customers/{customer_id}/preferences"): Operation(
        "setCustomerPreferences", "Preferences", "PreferencesOut", "The consent now in force.",
        {**CUSTOMER_ERRORS, "400": "Malformed JSON or an unknown field."},
    ),
    ("POST", "/v1/customers/{customer_id}/merges"): Operation(
        "mergeCustomers", "MergeRequest", "MergeReceipt", "The source customer was merged into this one.",
        {"400": "Malformed body, or a customer merged into itself.", "401": "Not a signed operator.",
         "404": "Both customers must exist.", "409": "The source is already merged."}, "required",
    ),
    ("DELETE", "/v1/customers/{customer_id}/merges/{source_customer_id}"): Operation(
        "unmergeCustomers", None, "UnmergeReceipt", "The merge was undone.",
        {"401": "Not a signed operator.", "404": "The source is not merged into this customer."}, "required",
    ),
    ("GET", "/v1/channels/whatsapp"): Operation(
        "verifyWhatsAppWebhook", None, "text/plain", "The hub.challenge, echoed.",
        {"400": "Missing hub.mode, hub.verify_token or hub.challenge.", "403": "Wrong verify token."}, "none",
    ),
    ("POST", "/v1/channels/whatsapp"): Operation(
        "receiveWhatsAppWebhook", "object", "WebhookAck", "The messages were taken in; replies follow on WhatsApp.",
        {"400": "A malformed webhook payload; the message names the field.", "401": "Missing or wrong X-Hub-Signature-256."},
        "none",
    ),
}
HUB_PARAMETERS = ("hub.mode", "hub.verify_token", "hub.challenge")


def _header(name: str, description: str, required: bool = True) -> dict:
    return {"name": name, "in": "header", "required": required, "schema": {"type": "string"}, "description": description}


def _parameters(route: topology.Route, operation: Operation) -> list[dict]:
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1, "maxLength": 128}}
        for name in re.findall(r"\{(\w+)\}", route.path)
    ]
    if route.requires_customer and operation.operator == "none":
        parameters += [
            _header("x-customer-id", "The storefront's signed-in customer."),
            _header("x-customer-signature", "Hex HMAC-SHA256 of x-customer-id under the storefront's signing secret."),
        ]
    elif operation.operator == "optional":
        parameters += [
            _header("x-customer-id", "The customer themselves (or use the operator headers).", False),
            _header("x-customer-signature", "Hex HMAC-SHA256 of x-customer-id under the signing secret.", False),
            _header("x-operator-id", "An operator acting for the merchant.", False),
            _header("x-operator-signature", "Hex HMAC-SHA256 of 'operator:<x-operator-id>' under the signing secret.", False),
        ]
    elif operation.operator == "required":
        parameters += [
            _header("x-operator-id", "The operator; recorded in the audit trail."),
            _header("x-operator-signature", "Hex HMAC-SHA256 of 'operator:<x-operator-id>' under the signing secret."),
        ]
    if operation.operation_id == "verifyWhatsAppWebhook":
        parameters += [{"name": n, "in": "query", "required": True, "schema": {"type": "string"}} for n in HUB_PARAMETERS]
    if operation.operation_id == "receiveWhatsAppWebhook":
        parameters.append(_header("X-Hub-Signature-256", "sha256=<hex HMAC-SHA256 of the raw body under the Meta app secret>"))
    return parameters


def _content(name: str) -> dict:
    if name == "text/plain":
        return {"text/plain": {"schema": {"type": "string"}}}
    if name == "object":
        return {"application/json": {"schema": {"type": "object", "description": "The WhatsApp Cloud API webhook body."}}}
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}


def openapi_document() -> dict:
    from concierge.privacy import MergeRequest, Preferences

    models = [(TurnRequestBody, "validation"), (Preferences, "validation"), (MergeRequest, "validation")]
    models += [(m, "serialization") for m in (TurnResponse, ErrorBody, ErasureReceipt, PreferencesOut, MergeReceipt,
                                              UnmergeReceipt, CustomerExport, WebhookAck)]
    _, schemas = models_json_schema(models, ref_template="#/components/schemas/{model}")
    paths: dict[str, dict] = {}
    for route in topology.ROUTES:
        operation = OPERATIONS[(route.method, route.path)]
        errors = {
            status: {"description": text, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}}
            for status, text in operation.errors.items()
        }
        document = {
            "summary": route.description,
            "operationId": operation.operation_id,
            "security": [{"apiKey": []}] if route.api_key else [],
            "parameters": _parameters(route, operation),
            "responses": {"200": {"description": operation.description, "content": _content(operation.response)}, **errors},
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
