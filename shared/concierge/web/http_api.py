"""The ingest function's HTTP API (API Gateway Lambda proxy): one powertools resolver with validation on, and a Router
per area (concierge.web.routes). The routes are the contract: their signatures declare the path and query parameters,
request bodies and responses as pydantic models, and docs/openapi.json is generated from them (concierge.web.openapi).
`topology.ROUTES` holds what CDK and the local stack need of each (method, path, function, kind of caller), and a
test keeps the two the same set.

Errors are answered here, in one place: a typed error (`concierge.platform.errors`) becomes its HTTP status and message;
input that does not match its model becomes a 400 saying what is wrong (powertools would answer 422); a request body
is read through `concierge.web.limits` (size, depth, integers: a 413 or a 400).

Who may call what (`topology.Route.caller`; `concierge.web.auth` says how each is proven):
- export, erase, consent: the customer themselves (a customer token for that id);
- the same export and erasure under /v1/operator/...: a signed-in operator acting on the customer's request;
- merge and unmerge: an operator (the audit trail records who);
- approvals: listing, an operator; approving or denying, a supervisor (the decision and its author are audited);
- the agent console (queue, package, claim, reply, hand back, close): an operator;
- a conversation's messages: the customer themselves (their chat page polls it while a person answers);
- the WhatsApp webhook: Meta, proven by the verify token (GET) or the X-Hub-Signature-256 of the body (POST).
- survey answers: the customer (a customer token, their own conversation), or the signed one-click link;
- KPIs and transcripts (the dashboard): an operator; a discount redemption: the storefront, for its signed-in
  customer (the code must be theirs);
- the chat widget's configuration (the shop's name and colours): anyone, nothing personal in it.

Operators are proven before the function runs: deployed by API Gateway's Cognito authorizer, locally by the dev
server's stand-in of it; the function reads who they are from the authorizer's claims.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from pydantic import BaseModel

from concierge.platform import topology
from concierge.platform.errors import ConciergeError, http_status, invalid, retry_after
from concierge.web.limits import read_json
from concierge.web.routes import approvals, console, journeys, metrics, privacy, surveys, whatsapp, widget
from concierge.web.routes.common import HttpServices, bind

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
    from aws_lambda_powertools.utilities.typing import LambdaContext

__all__ = ["HttpServices", "app", "cors", "resolve"]

# A request body is parsed by concierge.web.limits (its refusals are typed errors); a response that does not match its
# model is a bug of ours: a 500, never a 4xx blaming the caller.
app = APIGatewayRestResolver(
    enable_validation=True, json_body_deserializer=read_json, response_validation_error_http_code=500
)
for area in (privacy, whatsapp, approvals, surveys, console, metrics, journeys, widget):
    app.include_router(area.router)


def resolve(
    event: dict[str, Any],
    context: LambdaContext,
    services: Callable[[], HttpServices],
    allowed_origins: Collection[str] = (),
) -> dict[str, Any]:
    bind(services)
    response = app.resolve(_json_bodies(event), context)
    cors(event, response, allowed_origins)
    return response


def _json_bodies(event: dict[str, Any]) -> dict[str, Any]:
    """Every request body of this API is JSON, whatever its Content-Type says (a form's, a multipart's without a
    boundary, none): the API has always read it so. Powertools' validator picks its parser by Content-Type, so the
    event it reads goes without one (no route reads the header)."""

    def without(headers: dict[str, Any] | None) -> dict[str, Any] | None:
        return None if headers is None else {k: v for k, v in headers.items() if k.lower() != "content-type"}

    return {
        **event,
        "headers": without(event.get("headers")),
        "multiValueHeaders": without(event.get("multiValueHeaders")),
    }


def cors(event: dict[str, Any], response: dict[str, Any], allowed_origins: Collection[str]) -> None:
    """A page of an allowed origin (a storefront's, embedding the chat widget) may read the answer of a route it may
    call (`Route.cors`); any other origin gets no Access-Control-* header, so its browser keeps the answer from it.
    API Gateway answers the preflight (infra/constructs/api.py); this is the answer itself."""
    route = topology.route_for(event.get("httpMethod", ""), event.get("resource") or event.get("path") or "")
    if route is None or not route.cors or not allowed_origins:
        return
    headers = response.setdefault("multiValueHeaders", {})
    headers["Vary"] = ["Origin"]  # the answer depends on the Origin: a cache must not give one origin's to another
    origin = next((v for k, v in (event.get("headers") or {}).items() if k.lower() == "origin"), None)
    if origin in allowed_origins:
        headers["Access-Control-Allow-Origin"] = [origin]
        headers["Access-Control-Expose-Headers"] = [", ".join(topology.CORS_EXPOSED_HEADERS)]


def _json(status: int, payload: Any) -> Response[str]:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=json.dumps(payload))


@app.exception_handler(ConciergeError)  # type: ignore[untyped-decorator]  # powertools leaves it unannotated
def _concierge_error(error: ConciergeError) -> Response[str]:
    return _error_response(error)


def _error_response(error: ConciergeError) -> Response[str]:
    response = _json(http_status(error), {"message": error.message})
    seconds = retry_after(error)
    if seconds is not None:  # a conflict that clears itself: the client may send the same request again then
        response.headers["Retry-After"] = str(seconds)
    return response


WHERE = {"body": "request body", "query": "query", "path": "path", "header": "header", "cookie": "cookie"}


@app.exception_handler(RequestValidationError)  # type: ignore[untyped-decorator]
def _invalid_input(error: RequestValidationError) -> Response[str]:
    """Input that does not match the route's models: a 400 naming each field and what is wrong with it, located as
    the caller sees it ("text", "from"): without powertools' prefix (body, query) or the parameter's name."""
    problems = list(error.errors())
    where = str(problems[0]["loc"][0]) if problems and problems[0]["loc"] else "body"
    located = [{**p, "loc": _field(tuple(p["loc"]), where)} for p in problems]
    return _error_response(invalid(WHERE.get(where, where), located, where))


def _field(loc: tuple[Any, ...], where: str) -> tuple[Any, ...]:
    rest = loc[1:] if loc and loc[0] == where else loc
    route = app.context.get("_route")
    return rest[1:] if rest and route is not None and rest[0] in query_models(route) else rest


def query_models(route: Any) -> dict[str, type[BaseModel]]:
    """A route's query parameters declared as one model, by name (powertools locates their errors under it)."""
    return {
        p.name: p.field_info.annotation
        for p in route.dependant.query_params
        if isinstance(p.field_info.annotation, type) and issubclass(p.field_info.annotation, BaseModel)
    }


def _strict_query(resolver: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response[Any]:
    """A query declared as a model that forbids unknown fields refuses unknown parameters too (powertools reads only
    the model's own from the query string)."""
    for model in query_models(resolver.context["_route"]).values():
        if model.model_config.get("extra") == "forbid":
            known = {f.alias or name for name, f in model.model_fields.items()} | set(model.model_fields)
            sent = resolver.current_event.query_string_parameters or {}
            unknown = [name for name in sent if name not in known]
            if unknown:
                extra = [{"loc": (name,), "msg": "Extra inputs are not permitted"} for name in unknown]
                raise invalid("query", extra, "query")
    return next_middleware(resolver)


app.use([_strict_query])


def routes() -> list[Any]:
    """The resolver's routes, each a powertools Route (it keeps them in two lists: static paths, then the others)."""
    return [*app._static_routes, *app._dynamic_routes]
