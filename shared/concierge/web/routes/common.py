"""What every area's routes share: the services of the current request, who is calling, the path parameter type,
and how a route documents what it answers (`ok`, `errors`: the texts are the constants of the code that raises)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import BaseRouter
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from pydantic import BaseModel

from concierge.platform.errors import INVALID, Forbidden
from concierge.web.auth import AUTHORIZER_REFUSAL, Operator, SigningKeys, require_operator, verify_customer
from concierge.web.limits import API, WEBHOOK

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.openapi.types import (
        OpenAPIResponse,
        OpenAPIResponseContentModel,
        OpenAPIResponseContentSchema,
    )
    from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

    from concierge.actions.approvals import ApprovalWorkflow
    from concierge.channels.inbox import WhatsAppIntake
    from concierge.handoff.console import ConsoleServices
    from concierge.memory.privacy import PrivacyServices
    from concierge.store.merchant import MerchantProfile
    from concierge.surveys.answers import SurveyServices

JSON = "application/json"
TEXT = "text/plain"
HTML = "text/html"
CSV = "text/csv"


class ErrorBody(BaseModel):
    """Every error the API answers in JSON."""

    message: str


@dataclass
class HttpServices:
    privacy: PrivacyServices
    signing_keys: SigningKeys
    whatsapp: WhatsAppIntake | None  # None when WhatsApp is not configured
    approvals: ApprovalWorkflow | None = None  # None when no approval workflow is deployed
    console: ConsoleServices | None = None  # the agent console's operations
    surveys: SurveyServices | None = None
    merchant: Callable[[], MerchantProfile] | None = None  # merchant.json as imported (the widget's name, colours)

    def console_services(self) -> ConsoleServices:
        assert self.console is not None  # always wired; the console's operations would fail on None at once
        return self.console

    def survey_services(self) -> SurveyServices:
        assert self.surveys is not None  # always wired; taking an answer would fail on None
        return self.surveys

    def merchant_profile(self) -> MerchantProfile:
        assert self.merchant is not None  # always wired; the widget would fall back to neutral colours on None
        return self.merchant()


_factory: Callable[[], HttpServices] | None = None


def area_router() -> APIGatewayRouter:
    """The Router of one area's routes (concierge.web.http_api includes each into the resolver)."""
    return APIGatewayRouter()  # type: ignore[no-untyped-call]  # powertools leaves its constructor unannotated


def bind(factory: Callable[[], HttpServices]) -> None:
    """The services of the requests that follow (the resolver sets it before each request)."""
    global _factory
    _factory = factory


def services() -> HttpServices:
    assert _factory is not None  # http_api.resolve() binds it before any route runs
    return _factory()


def event() -> APIGatewayProxyEvent:
    """The request being answered (powertools keeps it on the routers)."""
    return BaseRouter.current_event  # type: ignore[return-value]  # the REST resolver's: an APIGatewayProxyEvent


def header(name: str) -> str | None:
    return next((v for k, v in (event().headers or {}).items() if k.lower() == name.lower()), None)


# who is calling ----------------------------------------------------------------------------------------------------
OWN_DATA_ONLY = "A customer can only reach their own data."


def operator(what: str, supervisor: bool = False) -> Operator:
    """The signed-in operator, from the claims of the operator authorizer that ran before this function."""
    authorizer = event().request_context.authorizer
    return require_operator(authorizer.claims if authorizer else None, what, supervisor)


def customer(services: HttpServices) -> str:
    """The customer the storefront's token names (401 without a valid one)."""
    return verify_customer(header("authorization"), services.signing_keys)


def own_data(customer_id: str, services: HttpServices) -> None:
    """Only the customer themselves: anyone else gets 401 (no token) or 403 (someone else's token)."""
    if customer(services) != customer_id:
        raise Forbidden(OWN_DATA_ONLY)


# a path parameter: one non-empty segment, as API Gateway matches it
PathId = Annotated[str, Path(min_length=1)]


# what a route documents ------------------------------------------------------------------------------------------
def quote(*messages: str) -> str:
    """Messages as the code sends them, quoted, a placeholder shown as <name>: "Customer <source_customer_id> ..."."""
    return " or ".join('"' + re.sub(r"\{(\w+)(?:![rs])?(?::[^}]*)?\}", r"<\1>", m) + '"' for m in messages)


CUSTOMER_TOKEN = "No valid customer token in Authorization; the message says what is wrong with it."
OPERATOR_TOKEN = (
    f"No valid operator token in Authorization: the operator authorizer answers {quote(AUTHORIZER_REFUSAL)} "
    "(deployed, Cognito's; locally, the dev issuer's)."
)
API_KEY = f"Missing or unknown x-api-key ({quote('Forbidden')}: API Gateway's answer)."
INVALID_BODY = (
    f"{quote(INVALID.format(what='request body', problems='{problems}'))}: malformed JSON, or a missing, invalid or "
    "unknown field (the message says which)."
)
INVALID_QUERY = (
    f"{quote(INVALID.format(what='query', problems='{problems}'))}: a missing or invalid parameter (the message says "
    "which)."
)
NO_ROUTE = '"Not found": no route takes this path (a customer id with characters no route accepts, say).'
TOO_LARGE = (
    f"The request body is over {API.max_bytes // 1024} KiB (the WhatsApp webhook's: {WEBHOOK.max_bytes // 2**20} MiB); "
    "the message says how large it was."
)


def ok(description: str, content_type: str = JSON, schema: dict[str, Any] | None = None) -> OpenAPIResponse:
    """The 200 answer: its content is the route's return annotation, unless it is not JSON."""
    if content_type == JSON and schema is None:
        return {"description": description}
    return {"description": description, "content": {content_type: {"schema": schema or {"type": "string"}}}}


def errors(ok_response: OpenAPIResponse, *, content_type: str = JSON, **by_status: str) -> dict[int, OpenAPIResponse]:
    """A route's answers: 200 and each error status it can send (`e401="..."`), JSON `ErrorBody`s unless the route
    answers its errors in another content type (the survey link's HTML pages)."""
    answers: dict[int, OpenAPIResponse] = {200: ok_response}
    for key, description in by_status.items():
        content: dict[str, OpenAPIResponseContentSchema | OpenAPIResponseContentModel] = (
            {JSON: {"model": ErrorBody}} if content_type == JSON else {content_type: {"schema": {"type": "string"}}}
        )
        answers[int(key.removeprefix("e"))] = {"description": description, "content": content}
    return answers
