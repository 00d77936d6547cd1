"""The ingest function's HTTP routes (API Gateway Lambda proxy): customer data rights, consent, merges, and
the WhatsApp webhook. Routes are declared in topology (CUSTOMER_ROUTES, WHATSAPP_ROUTES); typed errors become
HTTP statuses here, through `errors.http_status`, as everywhere else.

Who may call what:
- export, erase, consent: the customer themselves (the storefront's signed customer id, for that id) or a
  signed operator;
- merge and unmerge: a signed operator only (the audit trail records who);
- the WhatsApp webhook: Meta, proven by the verify token (GET) or the X-Hub-Signature-256 of the body (POST).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from pydantic import BaseModel, ValidationError

from concierge.auth import verify_customer, verify_operator
from concierge.clock import now
from concierge.errors import BadRequest, ConciergeError, Forbidden, Unauthorized, http_status
from concierge.privacy import MergeRequest, Preferences, PrivacyServices, erase, export, merge, set_preferences, unmerge


@dataclass
class HttpServices:
    privacy: PrivacyServices
    signing_secret: str
    whatsapp: Any  # a WhatsAppIntake, or None when WhatsApp is not configured


app = APIGatewayRestResolver()
_services: Callable[[], HttpServices] | None = None


def resolve(event: dict, context: Any, services: Callable[[], HttpServices]) -> dict:
    global _services
    _services = services
    return app.resolve(event, context)


def _json(status: int, payload: Any) -> Response:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=json.dumps(payload, default=str))


@app.exception_handler(ConciergeError)
def _concierge_error(error: ConciergeError) -> Response:
    return _json(http_status(error), {"message": error.message})


def _body(model: type[BaseModel]) -> BaseModel:
    raw = app.current_event.body
    try:
        return model.model_validate(json.loads(raw or "null"))
    except json.JSONDecodeError as exc:
        raise BadRequest(f"Invalid request body: malformed JSON ({exc.msg} at position {exc.pos}).") from exc
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors())
        raise BadRequest(f"Invalid request body: {problems}") from exc


def _header(name: str) -> str | None:
    return next((v for k, v in (app.current_event.headers or {}).items() if k.lower() == name), None)


def _operator(services: HttpServices) -> str | None:
    return verify_operator(_header("x-operator-id"), _header("x-operator-signature"), services.signing_secret)


def _self_or_operator(customer_id: str, services: HttpServices) -> str:
    """The caller's identity for the audit: 'operator:<id>' or 'customer'. Anyone else gets 401/403."""
    operator = _operator(services)
    if operator:
        return f"operator:{operator}"
    caller = verify_customer(_header("x-customer-id"), _header("x-customer-signature"), services.signing_secret)
    if caller != customer_id:
        raise Forbidden("A customer can only reach their own data.")
    return "customer"


def _operator_only(services: HttpServices) -> str:
    operator = _operator(services)
    if not operator:
        raise Unauthorized("Merging customers needs an operator: send x-operator-id and x-operator-signature.")
    return operator


@app.get("/v1/customers/<customer_id>/data")
def _export(customer_id: str) -> Response:
    services = _services()
    _self_or_operator(customer_id, services)
    return _json(200, export(customer_id, services.privacy, now()))


@app.delete("/v1/customers/<customer_id>")
def _erase(customer_id: str) -> Response:
    services = _services()
    _self_or_operator(customer_id, services)
    return _json(200, erase(customer_id, services.privacy, now()))


@app.put("/v1/customers/<customer_id>/preferences")
def _preferences(customer_id: str) -> Response:
    services = _services()
    _self_or_operator(customer_id, services)
    return _json(200, set_preferences(customer_id, _body(Preferences), services.privacy))


@app.post("/v1/customers/<customer_id>/merges")
def _merge(customer_id: str) -> Response:
    services = _services()
    operator = _operator_only(services)
    return _json(200, merge(customer_id, _body(MergeRequest), operator, services.privacy))


@app.delete("/v1/customers/<customer_id>/merges/<source_customer_id>")
def _unmerge(customer_id: str, source_customer_id: str) -> Response:
    services = _services()
    operator = _operator_only(services)
    return _json(200, unmerge(customer_id, source_customer_id, operator, services.privacy))


@app.get("/v1/channels/whatsapp")
def _whatsapp_verify() -> Response:
    intake = _services().whatsapp
    if intake is None:
        raise Forbidden("WhatsApp is not configured for this deployment.")
    challenge = intake.verify(app.current_event.query_string_parameters or {})
    return Response(status_code=200, content_type=content_types.TEXT_PLAIN, body=challenge)


@app.post("/v1/channels/whatsapp")
def _whatsapp_messages() -> Response:
    intake = _services().whatsapp
    if intake is None:
        raise Forbidden("WhatsApp is not configured for this deployment.")
    event = app.current_event
    raw = event.decoded_body if event.is_base64_encoded else (event.body or "")
    raw_bytes = raw if isinstance(raw, bytes) else raw.encode("utf-8")
    taken = intake.receive(raw_bytes, _header("x-hub-signature-256"), now())
    return _json(200, {"received": taken})
