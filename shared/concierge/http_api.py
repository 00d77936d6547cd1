"""The ingest function's HTTP routes (API Gateway Lambda proxy): customer data rights, consent, merges, and
the WhatsApp webhook. Routes are declared in topology (CUSTOMER_ROUTES, WHATSAPP_ROUTES); typed errors become
HTTP statuses here, through `errors.http_status`, as everywhere else.

Who may call what (`topology.Route.caller`; `concierge.auth` says how each is proven):
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
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from pydantic import BaseModel, ValidationError

from concierge import topology
from concierge.auth import Operator, SigningKeys, require_operator, verify_customer
from concierge.clock import now
from concierge.errors import BadRequest, ConciergeError, Forbidden, NotFound, http_status, retry_after
from concierge.limits import read_json, whole_number
from concierge.privacy import MergeRequest, Preferences, PrivacyServices, erase, export, merge, set_preferences, unmerge

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from concierge.actions.approvals import ApprovalStore, ApprovalWorkflow
    from concierge.console import ConsoleServices
    from concierge.inbox import WhatsAppIntake
    from concierge.merchant import MerchantProfile
    from concierge.surveys.answers import SurveyServices

ModelT = TypeVar("ModelT", bound=BaseModel)


@dataclass
class HttpServices:
    privacy: PrivacyServices
    signing_keys: SigningKeys
    whatsapp: WhatsAppIntake | None  # None when WhatsApp is not configured
    approvals: ApprovalWorkflow | None = None  # None when no approval workflow is deployed
    console: ConsoleServices | None = None  # the agent console's operations
    surveys: SurveyServices | None = None
    merchant: Callable[[], MerchantProfile] | None = None  # merchant.json as imported (the widget's name, colours)


app = APIGatewayRestResolver()
_services_factory: Callable[[], HttpServices] | None = None


def resolve(
    event: dict[str, Any],
    context: LambdaContext,
    services: Callable[[], HttpServices],
    allowed_origins: Collection[str] = (),
) -> dict[str, Any]:
    global _services_factory
    _services_factory = services
    response = app.resolve(event, context)
    cors(event, response, allowed_origins)
    return response


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


def _services() -> HttpServices:
    assert _services_factory is not None  # resolve() sets it before any route runs
    return _services_factory()


def _console_services(services: HttpServices) -> ConsoleServices:
    assert services.console is not None  # always wired; the console's operations would fail on None at once
    return services.console


def _survey_services(services: HttpServices) -> SurveyServices:
    assert services.surveys is not None  # always wired; taking an answer would fail on None
    return services.surveys


def _json(status: int, payload: Any) -> Response[str]:
    return Response(
        status_code=status, content_type=content_types.APPLICATION_JSON, body=json.dumps(payload, default=str)
    )


@app.exception_handler(ConciergeError)  # type: ignore[untyped-decorator]  # powertools leaves it unannotated
def _concierge_error(error: ConciergeError) -> Response[str]:
    response = _json(http_status(error), {"message": error.message})
    seconds = retry_after(error)
    if seconds is not None:  # a conflict that clears itself: the client may send the same request again then
        response.headers["Retry-After"] = str(seconds)
    return response


def _invalid(exc: ValidationError, what: str, root: str) -> BadRequest:
    problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or root}: {e['msg']}" for e in exc.errors())
    return BadRequest(f"Invalid {what}: {problems}")


def _body(model: type[ModelT]) -> ModelT:
    payload = read_json(app.current_event.body)  # size, depth and integer limits (concierge.limits)
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise _invalid(exc, "request body", "body") from exc


def _header(name: str) -> str | None:
    return next((v for k, v in (app.current_event.headers or {}).items() if k.lower() == name), None)


def _operator(what: str, supervisor: bool = False) -> Operator:
    """The signed-in operator, from the claims of the operator authorizer that ran before this function."""
    authorizer = app.current_event.request_context.authorizer
    return require_operator(authorizer.claims if authorizer else None, what, supervisor)


def _customer(services: HttpServices) -> str:
    return verify_customer(_header("authorization"), services.signing_keys)


def _self(customer_id: str, services: HttpServices) -> None:
    """Only the customer themselves: anyone else gets 401 (no token) or 403 (someone else's token)."""
    if _customer(services) != customer_id:
        raise Forbidden("A customer can only reach their own data.")


@app.get("/v1/customers/<customer_id>/data")
def _export(customer_id: str) -> Response[str]:
    services = _services()
    _self(customer_id, services)
    return _json(200, export(customer_id, services.privacy, now()))


@app.delete("/v1/customers/<customer_id>")
def _erase(customer_id: str) -> Response[str]:
    services = _services()
    _self(customer_id, services)
    return _json(200, erase(customer_id, services.privacy, now()))


@app.get("/v1/operator/customers/<customer_id>/data")
def _operator_export(customer_id: str) -> Response[str]:
    operator = _operator("Exporting a customer's data")
    services = _services()
    memory = services.privacy.memory
    memory.write([memory.audit_item(customer_id, "data.exported", {"operator": operator.id})])
    return _json(200, export(customer_id, services.privacy, now()))


@app.delete("/v1/operator/customers/<customer_id>")
def _operator_erase(customer_id: str) -> Response[str]:
    operator = _operator("Erasing a customer's data")
    return _json(200, erase(customer_id, _services().privacy, now(), requested_by=operator.audit_name))


@app.put("/v1/customers/<customer_id>/preferences")
def _preferences(customer_id: str) -> Response[str]:
    services = _services()
    _self(customer_id, services)
    return _json(200, set_preferences(customer_id, _body(Preferences), services.privacy))


@app.post("/v1/customers/<customer_id>/merges")
def _merge(customer_id: str) -> Response[str]:
    operator = _operator("Merging customers")
    return _json(200, merge(customer_id, _body(MergeRequest), operator.id, _services().privacy))


@app.delete("/v1/customers/<customer_id>/merges/<source_customer_id>")
def _unmerge(customer_id: str, source_customer_id: str) -> Response[str]:
    operator = _operator("Undoing a merge")
    return _json(200, unmerge(customer_id, source_customer_id, operator.id, _services().privacy))


@app.get("/v1/channels/whatsapp")
def _whatsapp_verify() -> Response[str]:
    intake = _services().whatsapp
    if intake is None:
        raise Forbidden("WhatsApp is not configured for this deployment.")
    challenge = intake.verify(app.current_event.query_string_parameters or {})
    return Response(status_code=200, content_type=content_types.TEXT_PLAIN, body=challenge)


@app.post("/v1/channels/whatsapp")
def _whatsapp_messages() -> Response[str]:
    intake = _services().whatsapp
    if intake is None:
        raise Forbidden("WhatsApp is not configured for this deployment.")
    event = app.current_event
    raw = event.decoded_body if event.is_base64_encoded else (event.body or "")
    assert raw is not None  # a base64-flagged event without a body: .encode below would fail on None as well
    raw_bytes = raw.encode("utf-8")  # both are text: powertools' decoded_body decodes base64 to str
    taken = intake.receive(raw_bytes, _header("x-hub-signature-256"), now())
    return _json(200, {"received": taken})


def _approvals(services: HttpServices) -> ApprovalStore:
    from concierge.actions.approvals import ApprovalStore

    if services.approvals is None:
        raise NotFound("No approval workflow is deployed: refunds above the limit are refused instead of waiting.")
    return ApprovalStore(services.privacy.memory)


@app.get("/v1/approvals")
def _list_approvals() -> Response[str]:
    _operator("Reading approvals")
    services = _services()
    return _json(200, {"approvals": _approvals(services).pending()})


def _decide(action_id: str, approve: bool) -> Response[str]:
    from concierge.actions.approvals import Decision, decide

    operator = _operator("Deciding an approval", supervisor=True)
    services = _services()
    decision = _body(Decision) if (app.current_event.body or "").strip() else Decision()
    store = _approvals(services)
    workflow = services.approvals
    assert workflow is not None  # _approvals() refused a deployment without one
    return _json(200, decide(action_id, approve, decision, operator.id, store, workflow, now()))


@app.post("/v1/approvals/<action_id>/approve")
def _approve(action_id: str) -> Response[str]:
    return _decide(action_id, True)


@app.post("/v1/approvals/<action_id>/deny")
def _deny(action_id: str) -> Response[str]:
    return _decide(action_id, False)


# surveys (docs/surveys.md) -------------------------------------------------------------------------------------
@app.get("/v1/conversations/<conversation_id>/surveys")
def _offered_surveys(conversation_id: str) -> Response[str]:
    from concierge.surveys.answers import offered_surveys

    services = _services()
    return _json(
        200, offered_surveys(conversation_id, _customer(services), _survey_services(services)).model_dump(mode="json")
    )


@app.post("/v1/conversations/<conversation_id>/surveys")
def _answer_survey(conversation_id: str) -> Response[str]:
    from concierge.surveys.answers import record_answer
    from concierge.surveys.models import SurveyAnswerBody

    services = _services()
    customer_id = _customer(services)
    body = _body(SurveyAnswerBody)
    answer = record_answer(
        conversation_id, customer_id, body.survey, body.score, body.answered_via, _survey_services(services), now()
    )
    return _json(200, answer.model_dump(mode="json"))


@app.get("/v1/surveys/answer")
def _survey_link() -> Response[str]:
    """A one-click link from a survey email or WhatsApp message: a small HTML page, errors included."""
    from concierge.surveys.pages import answer_from_link

    status, page = answer_from_link(
        app.current_event.query_string_parameters or {}, _survey_services(_services()), now()
    )
    return Response(
        status_code=status,
        content_type="text/html; charset=utf-8",
        body=page,
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


# the agent console ----------------------------------------------------------------------------------------------
def _agent() -> tuple[HttpServices, str]:
    return _services(), _operator("The agent console").id


@app.get("/v1/handoffs")
def _handoff_queue() -> Response[str]:
    from concierge import console

    services, _ = _agent()
    name = (app.current_event.query_string_parameters or {}).get("queue") or None
    return _json(200, console.queue(_console_services(services), name))


@app.get("/v1/handoffs/<conversation_id>")
def _handoff_package(conversation_id: str) -> Response[str]:
    from concierge import console

    services, _ = _agent()
    return _json(200, console.package(conversation_id, _console_services(services)))


@app.post("/v1/handoffs/<conversation_id>/claim")
def _handoff_claim(conversation_id: str) -> Response[str]:
    from concierge import console

    services, agent = _agent()
    return _json(200, console.claim(conversation_id, agent, _console_services(services), now()))


@app.post("/v1/handoffs/<conversation_id>/messages")
def _handoff_reply(conversation_id: str) -> Response[str]:
    from concierge import console

    services, agent = _agent()
    return _json(
        200, console.reply(conversation_id, agent, _body(console.AgentMessage), _console_services(services), now())
    )


@app.post("/v1/handoffs/<conversation_id>/release")
def _handoff_release(conversation_id: str) -> Response[str]:
    from concierge import console

    services, agent = _agent()
    request = _body(console.HandBack) if (app.current_event.body or "").strip() else console.HandBack()
    return _json(200, console.hand_back(conversation_id, agent, request, _console_services(services), now()))


@app.post("/v1/handoffs/<conversation_id>/close")
def _handoff_close(conversation_id: str) -> Response[str]:
    from concierge import console

    services, agent = _agent()
    return _json(
        200, console.close(conversation_id, agent, _body(console.CloseRequest), _console_services(services), now())
    )


@app.get("/v1/conversations/<conversation_id>/messages")
def _conversation_messages(conversation_id: str) -> Response[str]:
    """The customer's own conversation, after a sequence number: what their chat page polls while a person answers."""
    from concierge import handoff

    services = _services()
    customer = _customer(services)
    memory = services.privacy.memory
    record = memory.get_conversation(conversation_id)
    if record is None or record.customer_id != customer:
        raise NotFound("Conversation not found.")
    after = whole_number((app.current_event.query_string_parameters or {}).get("after"), "after", default=0)
    owner = handoff.HandoffStore(memory).get(conversation_id)
    with_people = owner is not None and owner.with_people
    return _json(
        200,
        {
            "conversation_id": conversation_id,
            "conversation_status": record.status.value,
            "owner": "human" if with_people else "ai",
            "messages": memory.messages_after(conversation_id, after),
        },
    )


# KPIs and the dashboard (docs/metrics.md) ---------------------------------------------------------------------------
def _query_model(model: type[ModelT]) -> ModelT:
    try:
        return model.model_validate(app.current_event.query_string_parameters or {})
    except ValidationError as exc:
        raise _invalid(exc, "query", "query") from exc


@app.get("/v1/metrics")
def _metrics() -> Response[str]:
    from concierge.metrics.query import MetricsQuery, MetricsReader, to_csv

    _operator("Reading metrics")
    services = _services()
    query = _query_model(MetricsQuery)
    report = MetricsReader(services.privacy.memory).report(query)
    if query.format == "csv":
        name = f"concierge-kpis-{query.from_}-{query.to}.csv"
        return Response(
            status_code=200,
            content_type="text/csv; charset=utf-8",
            body=to_csv(report),
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return _json(200, report.model_dump(mode="json", by_alias=True))


@app.get("/v1/conversations/<conversation_id>/transcript")
def _transcript(conversation_id: str) -> Response[str]:
    from concierge.metrics.query import transcript

    _operator("Reading transcripts")
    services = _services()
    return _json(200, transcript(conversation_id, services.privacy.memory).model_dump(mode="json"))


@app.post("/v1/discounts/<code>/redemptions")
def _redeem(code: str) -> Response[str]:
    from concierge.metrics.redemptions import RedemptionRequest, redeem

    services = _services()
    customer = _customer(services)
    request = _body(RedemptionRequest)
    redemption = redeem(code, customer, request, services.privacy.store, services.privacy.events, now())
    return _json(200, redemption.model_dump(mode="json"))


@app.post("/v1/orders")
def _order_placed() -> Response[str]:
    from concierge.metrics.redemptions import OrderRequest, record_order

    services = _services()
    customer = _customer(services)
    request = _body(OrderRequest)
    recorded = record_order(customer, request, services.privacy.events, now())
    return _json(200, recorded.model_dump(mode="json"))


@app.get("/v1/offers/report")
def _offers_report() -> Response[str]:
    from concierge.metrics.store import MetricsStore
    from concierge.offers.report import OfferReportQuery, build

    _operator("Reading the offers' report")
    services = _services()
    query = _query_model(OfferReportQuery)
    assert services.merchant is not None
    report = build(MetricsStore(services.privacy.memory), services.merchant().offers, query, now().date())
    return _json(200, report.model_dump(mode="json", by_alias=True))


WIDGET_CONFIG_MAX_AGE = 300  # seconds a browser may keep the shop's name and colours before asking again


@app.get("/v1/widget-config")
def _widget_config() -> Response[str]:
    services = _services()
    assert services.merchant is not None  # always wired; the widget would fall back to neutral colours on None
    response = _json(200, services.merchant().widget_config().model_dump(mode="json"))
    response.headers["Cache-Control"] = f"public, max-age={WIDGET_CONFIG_MAX_AGE}"
    return response
