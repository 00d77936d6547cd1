"""The OpenAPI description of the public API, generated from the code (routes from topology, schemas from the
pydantic models). `concierge openapi` writes docs/openapi.json; a test fails when the checked-in file is stale."""
from __future__ import annotations

import json
import re

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from concierge import __version__, topology
from concierge.api import TurnRequestBody, TurnResponse


class ErrorBody(BaseModel):
    message: str


ERRORS = {
    "400": "Malformed JSON, or a missing or invalid field; the message says which.",
    "401": "Missing or wrong x-customer-id / x-customer-signature.",
    "403": "Missing or unknown x-api-key.",
    "404": "Unknown route, or a conversation that belongs to another customer.",
    "500": "The turn could not be completed; it is safe to retry.",
}


def _parameters(route: topology.Route) -> list[dict]:
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1, "maxLength": 128}}
        for name in re.findall(r"\{(\w+)\}", route.path)
    ]
    if route.requires_customer:
        parameters += [
            {"name": "x-customer-id", "in": "header", "required": True, "schema": {"type": "string"},
             "description": "The storefront's signed-in customer."},
            {"name": "x-customer-signature", "in": "header", "required": True, "schema": {"type": "string"},
             "description": "Hex HMAC-SHA256 of x-customer-id under the storefront's signing secret."},
        ]
    return parameters


def openapi_document() -> dict:
    _, schemas = models_json_schema(
        [(TurnRequestBody, "validation"), (TurnResponse, "serialization"), (ErrorBody, "serialization")],
        ref_template="#/components/schemas/{model}",
    )
    errors = {
        status: {"description": text, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}}
        for status, text in ERRORS.items()
    }
    bodies = {topology.TURN_ROUTE: ("TurnRequestBody", "TurnResponse")}
    paths: dict[str, dict] = {}
    for route in topology.ROUTES:
        request, response = bodies[route]
        paths.setdefault(route.path, {})[route.method.lower()] = {
            "summary": route.description,
            "operationId": "postMessage",
            "security": [{"apiKey": []}],
            "parameters": _parameters(route),
            "requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{request}"}}}},
            "responses": {
                "200": {"description": "The reply, the actions taken and any handoff.",
                        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{response}"}}}},
                **errors,
            },
        }
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
