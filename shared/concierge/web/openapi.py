"""The OpenAPI description of the public API, generated from the code: powertools builds it from the HTTP resolver
(concierge.web.http_api: each route's signature, models and decorator), and the turn route's operation from its models
(concierge.conversation.api: API Gateway's Step Functions integration serves it, not the resolver). Added here is what
neither can know: who may call each route and with which credentials (topology.Route.caller and api_key, which CDK
builds), the security schemes, and the 400 that replaces powertools' 422. `concierge openapi` writes docs/openapi.json;
a test fails when the checked-in file differs from this.
"""

from __future__ import annotations

import json
from typing import Any

from concierge import __version__
from concierge.conversation.api import TURN_FAILED, TurnRequestBody, TurnResponse
from concierge.conversation.edges import REPLY_NOT_RECORDED
from concierge.memory.store import TURN_IN_PROGRESS
from concierge.platform import topology
from concierge.web.auth import AUDIENCE
from concierge.web.routes.common import API_KEY, CUSTOMER_TOKEN, INVALID_BODY, JSON, quote

REF = "#/components/schemas/{model}"
# What powertools adds that this API does not answer: its 422 (a 400 here, the routes list it) and the 500 of a
# response that does not match its model (a bug of ours, never documented as an answer).
POWERTOOLS_ONLY = {
    "responses": ("422", "500"),
    "schemas": ("HTTPValidationError", "ValidationError", "ResponseValidationError"),
}

SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    "apiKey": {"type": "apiKey", "in": "header", "name": "x-api-key"},
    "customerToken": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": (
            "A short-lived customer token the storefront's backend mints (HS256 under the signing key; "
            f"sub = customer id, aud = {AUDIENCE!r}, exp at most 24 h after iat, kid in the header)."
        ),
    },
    "operatorToken": {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": "The operator's ID token from the merchant's Cognito user pool (locally, the dev issuer's).",
    },
}
CALLER_SCHEMES: dict[str, dict[str, list[str]]] = {
    "customer": {"customerToken": []},
    "operator": {"operatorToken": []},
    "public": {},
}


def _security(route: topology.Route) -> list[dict[str, list[str]]]:
    requirement = {**({"apiKey": []} if route.api_key else {}), **CALLER_SCHEMES[route.caller]}
    return [requirement] if requirement else []


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": {"$ref": REF.format(model="ErrorBody")}}}}


def turn_operation() -> tuple[dict[str, Any], dict[str, Any]]:
    """The turn route's operation and the schemas it names: API Gateway validates the body against TurnRequestBody's
    schema (infra/constructs/api.py) and the workflow answers a TurnResponse, or an error."""
    from pydantic.json_schema import models_json_schema

    _, schemas = models_json_schema(
        [(TurnRequestBody, "validation"), (TurnResponse, "serialization")], ref_template=REF
    )
    operation = {
        "summary": "Post a customer message; the turn runs synchronously and returns the reply.",
        "operationId": "postMessage",
        "parameters": [
            {
                "name": "conversation_id",
                "in": "path",
                "required": True,
                "schema": {"type": "string", "minLength": 1, "maxLength": 128},
            }
        ],
        "requestBody": {"required": True, "content": {JSON: {"schema": {"$ref": REF.format(model="TurnRequestBody")}}}},
        "responses": {
            "200": {
                "description": "The reply, the actions taken and any handoff.",
                "content": {JSON: {"schema": {"$ref": REF.format(model="TurnResponse")}}},
            },
            "400": _error(f"{INVALID_BODY} (API Gateway's request validator, before the workflow starts)"),
            "401": _error(CUSTOMER_TOKEN),
            "403": _error(API_KEY),
            "404": _error("Unknown route, or a conversation that belongs to another customer."),
            "409": _error(
                f"{quote(TURN_IN_PROGRESS)} with a Retry-After header: nothing was kept, send the same message again "
                f"after that many seconds. {quote(REPLY_NOT_RECORDED)} has none: the message was kept, its answer "
                "was not."
            ),
            "413": _error("The request body is over API Gateway's 10 MB limit."),
            "500": _error(quote(TURN_FAILED)),
        },
    }
    return operation, schemas["$defs"]


def _query_parameters(route: Any) -> dict[str, dict[str, Any]]:
    """The query parameters a route declares as one model, described from the model's own schema (powertools lists
    their names and required flags, but each as a plain string)."""
    from concierge.web.http_api import query_models

    described: dict[str, dict[str, Any]] = {}
    for model in query_models(route).values():
        schema = model.model_json_schema(by_alias=True)
        for name, prop in schema["properties"].items():
            description = prop.pop("description", prop.get("title", name))
            prop.pop("title", None)
            described[name] = {"schema": prop, "description": description}
    return described


def _plain(parameter: dict[str, Any]) -> None:
    """A parameter's schema says what the value is; its name and description are the parameter's own, and a query
    string or header has no null (an optional one is left out)."""
    schema = parameter["schema"]
    schema.pop("title", None)
    if schema.get("description") == parameter.get("description"):
        schema.pop("description", None)
    for bound in ("minimum", "maximum"):  # powertools' document holds bounds as floats
        if isinstance(schema.get(bound), float) and schema[bound].is_integer():
            schema[bound] = int(schema[bound])
    options = schema.get("anyOf", [])
    if len(options) == 2 and {"type": "null"} in options:
        schema.pop("anyOf")
        schema.update(next(o for o in options if o != {"type": "null"}))


def openapi_document() -> dict[str, Any]:
    from concierge.web.http_api import app, routes

    document: dict[str, Any] = json.loads(app.get_openapi_json_schema(title="Concierge API", version=__version__))
    served = {(route.method, route.openapi_path): route for route in routes()}
    declared = {(r.method, r.path): r for r in topology.ROUTES if r.target == topology.FunctionName.INGEST.value}
    if served.keys() != declared.keys():
        raise KeyError(
            "topology.ROUTES and the HTTP resolver's routes differ: "
            f"only in topology {sorted(declared.keys() - served.keys())}, "
            f"only in the resolver {sorted(served.keys() - declared.keys())}"
        )
    for (method, path), route in served.items():
        operation = document["paths"][path][method.lower()]
        operation["security"] = _security(declared[(method, path)])
        for status in POWERTOOLS_ONLY["responses"]:
            if status in operation["responses"] and "ValidationError" in json.dumps(operation["responses"][status]):
                del operation["responses"][status]
        described = _query_parameters(route)
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "query" and parameter["name"] in described:
                parameter.update(described[parameter["name"]])
            _plain(parameter)
    turn, turn_schemas = turn_operation()
    document["paths"].setdefault(topology.TURN_ROUTE.path, {})[topology.TURN_ROUTE.method.lower()] = turn
    document["paths"][topology.TURN_ROUTE.path][topology.TURN_ROUTE.method.lower()]["security"] = _security(
        topology.TURN_ROUTE
    )
    schemas = document["components"]["schemas"]
    for name in POWERTOOLS_ONLY["schemas"]:
        schemas.pop(name, None)
    for name, schema in turn_schemas.items():
        if name in schemas and schemas[name] != schema:
            raise ValueError(f"two schemas named {name}: the turn route's and a resolver route's")
        schemas[name] = schema
    document.pop("servers", None)
    document["components"] = {"schemas": dict(sorted(schemas.items())), "securitySchemes": SECURITY_SCHEMES}
    return document


def openapi_text() -> str:
    return json.dumps(openapi_document(), indent=2, sort_keys=True) + "\n"
