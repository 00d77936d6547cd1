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
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from concierge import __version__, topology
from concierge.actions.approvals import ApprovalRequest
from concierge.api import TurnRequestBody, TurnResponse
from concierge.auth import AUDIENCE
from concierge.handoff import QueueEntry


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
    surveys: bool = Field(description="whether satisfaction surveys are offered after a conversation")


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


class PendingApproval(ApprovalRequest):
    deadline: str = Field(description="undecided by then, the customer is told and a person follows up")
    status: Literal["waiting"]


class ApprovalList(BaseModel):
    approvals: list[PendingApproval] = Field(description="oldest first")


class DecisionReceipt(BaseModel):
    action_id: str
    status: Literal["approved", "denied"]
    decided_by: str


class WebhookAck(BaseModel):
    received: int = Field(description="customer messages taken in (delivery receipts and unsupported types are not)")


# --- errors ------------------------------------------------------------------------------------------------------

ERRORS = {  # the turn route's (API Gateway and the turn workflow)
    "400": "Malformed JSON, or a missing or invalid field; the message says which.",
    "401": "No valid customer token in Authorization (the message says what is wrong with it).",
    "403": "Missing or unknown x-api-key.",
    "404": "Unknown route, or a conversation that belongs to another customer.",
    "409": (
        '"Another message in this conversation is being processed; please retry." with a Retry-After header: nothing '
        'was kept, send the same message again after that many seconds. "The conversation is too busy to record the '
        'reply; please send your message again." has none: the message was kept, its answer was not.'
    ),
    "500": "The turn could not be completed; it is safe to retry.",
}
API_KEY = 'Missing or unknown x-api-key ("Forbidden").'
CUSTOMER_401 = (
    'No valid customer token in Authorization: "Missing Authorization header: ...", "The customer token has '
    'expired: ...", "... signature is not valid.", "... not for this API ...", "... lives longer than 24 hours ..." '
    "and the like (the message says which)."
)
CUSTOMER_403 = (
    'Missing or unknown x-api-key ("Forbidden"), or a customer asking for someone else\'s data '
    '("A customer can only reach their own data.").'
)
OPERATOR_401 = (
    'No valid operator token in Authorization: the operator authorizer answers "Unauthorized" (deployed, Cognito\'s; '
    "locally, the dev issuer's)."
)
SUPERVISOR_403 = (
    "An operator who is not a supervisor (\"Deciding an approval needs a supervisor: <id> is not in the 'supervisor' "
    'group.").'
)
NOT_CONFIGURED = '"WhatsApp is not configured for this deployment."'
INVALID_BODY = (
    '"Invalid request body: ...": malformed JSON, or a missing, invalid or unknown field (the message says which).'
)

NO_ROUTE = '"Not found": no route takes this path (a customer id with characters no route accepts, say).'
PAYLOAD_TOO_LARGE = (
    '"The request body is <n> bytes; at most <limit> bytes are accepted." (64 KiB; the WhatsApp webhook 3 MiB; '
    "deployed, API Gateway's own 10 MB limit on the turn route)."
)

# --- operations --------------------------------------------------------------------------------------------------

Auth = Literal["customer", "operator", "webhook", "signed-link", "anyone"]


@dataclass(frozen=True)
class Operation:
    operation_id: str
    request: str | None  # a component schema, WHATSAPP_WEBHOOK, or None for no body
    response: str  # a component schema, or TEXT
    description: str  # of the 200 response
    errors: dict[str, str]
    # customer: a customer token (the customer themselves); operator: an operator token, checked by the operator
    # authorizer; webhook: the provider proves itself (no customer, no API key); signed-link: the HMAC-signed token
    # in the link is the proof (no customer token, no API key); anyone: public and impersonal. Must agree with
    # `topology.Route.caller`.
    auth: Auth
    query: tuple[dict[str, Any], ...] = ()
    headers: tuple[dict[str, Any], ...] = ()


TEXT = "text/plain"
HTML = "text/html"
WHATSAPP_WEBHOOK = "WhatsAppWebhook"
PATH_ID = {"type": "string", "minLength": 1}


def _header(name: str, description: str, required: bool = True) -> dict[str, Any]:
    return {
        "name": name,
        "in": "header",
        "required": required,
        "schema": {"type": "string"},
        "description": description,
    }


def _query(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": True,
        "schema": schema or {"type": "string"},
        "description": description,
    }


OPERATIONS: dict[tuple[str, str], Operation] = {
    (topology.TURN_ROUTE.method, topology.TURN_ROUTE.path): Operation(
        "postMessage",
        "TurnRequestBody",
        "TurnResponse",
        "The reply, the actions taken and any handoff.",
        ERRORS,
        "customer",
    ),
    ("GET", "/v1/customers/{customer_id}/data"): Operation(
        "exportCustomerData",
        None,
        "CustomerExport",
        "Everything held about the customer.",
        {"401": CUSTOMER_401, "403": CUSTOMER_403, "404": "No data is held about this customer."},
        "customer",
    ),
    ("DELETE", "/v1/customers/{customer_id}"): Operation(
        "eraseCustomer",
        None,
        "ErasureReceipt",
        "The customer's data was erased; the receipt holds counts only.",
        {"401": CUSTOMER_401, "403": CUSTOMER_403, "404": "No data is held about this customer."},
        "customer",
    ),
    ("GET", "/v1/operator/customers/{customer_id}/data"): Operation(
        "exportCustomerDataForOperator",
        None,
        "CustomerExport",
        "Everything held about the customer; the export is recorded in the customer's audit trail.",
        {"401": OPERATOR_401, "404": "No data is held about this customer."},
        "operator",
    ),
    ("DELETE", "/v1/operator/customers/{customer_id}"): Operation(
        "eraseCustomerForOperator",
        None,
        "ErasureReceipt",
        "The customer's data was erased; customer.erased names the operator who asked.",
        {"401": OPERATOR_401, "404": "No data is held about this customer."},
        "operator",
    ),
    ("PUT", "/v1/customers/{customer_id}/preferences"): Operation(
        "setCustomerPreferences",
        "Preferences",
        "PreferencesOut",
        "The consent now in force. Opting out of personalization also forgets the facts and summaries held.",
        {"400": INVALID_BODY, "401": CUSTOMER_401, "403": CUSTOMER_403, "404": NO_ROUTE},
        "customer",
    ),
    ("POST", "/v1/customers/{customer_id}/merges"): Operation(
        "mergeCustomers",
        "MergeRequest",
        "MergeReceipt",
        "The source customer was merged into this one (both get an audit entry naming the operator).",
        {
            "400": f'{INVALID_BODY} Or "A customer cannot be merged into itself."',
            "401": OPERATOR_401,
            "404": '"Both customers must exist."',
            "409": 'The source is already merged: "Customer <source_customer_id> is already merged; unmerge it first."',
        },
        "operator",
    ),
    ("DELETE", "/v1/customers/{customer_id}/merges/{source_customer_id}"): Operation(
        "unmergeCustomers",
        None,
        "UnmergeReceipt",
        "The merge was undone: what it copied is removed, its identities given back.",
        {
            "401": OPERATOR_401,
            "404": '"Customer <source_customer_id> is not merged into <customer_id>."',
        },
        "operator",
    ),
    ("GET", "/v1/channels/whatsapp"): Operation(
        "verifyWhatsAppWebhook",
        None,
        TEXT,
        "The hub.challenge, echoed as text/plain.",
        {
            "400": (
                "A missing hub.mode, hub.verify_token or hub.challenge query parameter, "
                "or hub.mode other than 'subscribe'."
            ),
            "403": (
                f'"hub.verify_token does not match the verify token configured for this webhook.", or {NOT_CONFIGURED}'
            ),
        },
        "webhook",
        query=(
            _query("hub.mode", "Always 'subscribe'.", {"type": "string", "enum": ["subscribe"]}),
            _query("hub.verify_token", "The verify token configured for this webhook in the Meta app."),
            _query("hub.challenge", "Echoed back when the verify token matches."),
        ),
    ),
    ("POST", "/v1/channels/whatsapp"): Operation(
        "receiveWhatsAppWebhook",
        WHATSAPP_WEBHOOK,
        "WebhookAck",
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

NO_APPROVALS = '"No approval workflow is deployed: refunds above the limit are refused instead of waiting."'
DECISION_ERRORS = {
    "400": INVALID_BODY,
    "401": OPERATOR_401,
    "403": SUPERVISOR_403,
    "404": (
        '"No approval is waiting for action <action_id>: it was decided already, has expired, or never existed.", '
        f"or {NO_APPROVALS}"
    ),
    "409": '"This approval was already <approved|denied> by <operator>.", "This approval is being set up; try again '
    'in a few seconds." or "This approval has expired: the customer was told it was not reviewed in time."',
}
OPERATIONS.update(
    {
        ("GET", "/v1/approvals"): Operation(
            "listApprovals",
            None,
            "ApprovalList",
            "The actions waiting for a person's decision, oldest first.",
            {"401": OPERATOR_401, "404": NO_APPROVALS},
            "operator",
        ),
        ("POST", "/v1/approvals/{action_id}/approve"): Operation(
            "approveAction",
            "Decision",
            "DecisionReceipt",
            "Approved: the action executes once and the customer is told, in the conversation and on their channel.",
            DECISION_ERRORS,
            "operator",
        ),
        ("POST", "/v1/approvals/{action_id}/deny"): Operation(
            "denyAction",
            "Decision",
            "DecisionReceipt",
            "Denied: nothing is executed; the customer is told, with the note if one was given.",
            DECISION_ERRORS,
            "operator",
        ),
    }
)


class ConsoleQueueEntry(QueueEntry):
    customer_name: str | None = Field(description="the customer's name in the store, when it knows them")


class HandoffQueue(BaseModel):
    handoffs: list[ConsoleQueueEntry] = Field(description="highest priority first, then oldest")
    queues: list[str]


class HandoffPackage(BaseModel):
    """Everything an agent needs so the customer never repeats themselves (docs/handoff.md)."""

    conversation_id: str
    handoff: dict[str, Any]
    customer: dict[str, Any]
    history: dict[str, Any] = Field(
        description="summaries of earlier conversations and facts (verified customers only)"
    )
    orders: list[dict[str, Any]]
    open_orders: list[str]
    problem: dict[str, Any] = Field(description="summary, intent, sentiment and its trajectory, what was already tried")
    pending_approvals: list[dict[str, Any]]
    transcript: list[dict[str, Any]]
    suggested_reply: str


class ConsoleReceipt(BaseModel):
    conversation_id: str
    model_config = {"extra": "allow"}


class ConversationMessages(BaseModel):
    conversation_id: str
    conversation_status: str
    owner: Literal["human", "ai"] = Field(description="who answers now")
    messages: list[dict[str, Any]] = Field(
        description="seq, role (customer|assistant|agent), text, channel, at, author"
    )


NO_HANDOFF = '"There is no handoff for conversation <id>." or "Conversation <id> is not with our team."'
ASSIGNEE_ERRORS = {
    "400": INVALID_BODY,
    "401": OPERATOR_401,
    "403": '"This conversation is assigned to <agent>."',
    "404": NO_HANDOFF,
    "409": (
        '"Claim the conversation before replying or closing it." or "The conversation is no longer assigned to you."'
    ),
}
OPERATIONS.update(
    {
        ("GET", "/v1/handoffs"): Operation(
            "listHandoffs",
            None,
            "HandoffQueue",
            "The conversations with our team, highest priority first.",
            {"401": OPERATOR_401},
            "operator",
            query=(
                {
                    **_query("queue", "Only this topic queue (returns, orders, billing, account, general)."),
                    "required": False,
                },
            ),
        ),
        ("GET", "/v1/handoffs/{conversation_id}"): Operation(
            "getHandoffPackage",
            None,
            "HandoffPackage",
            "The handoff package.",
            {"401": OPERATOR_401, "404": NO_HANDOFF},
            "operator",
        ),
        ("POST", "/v1/handoffs/{conversation_id}/claim"): Operation(
            "claimHandoff",
            None,
            "ConsoleReceipt",
            "The conversation is now assigned to the caller.",
            {
                "401": OPERATOR_401,
                "404": NO_HANDOFF,
                "409": '"Another agent has already claimed this conversation."',
            },
            "operator",
        ),
        ("POST", "/v1/handoffs/{conversation_id}/messages"): Operation(
            "replyToCustomer",
            "AgentMessage",
            "ConsoleReceipt",
            (
                "Written into the conversation and delivered on the customer's channel "
                "(reason already_sent: a resent message_id)."
            ),
            ASSIGNEE_ERRORS,
            "operator",
        ),
        ("POST", "/v1/handoffs/{conversation_id}/release"): Operation(
            "handBackToAi",
            "HandBack",
            "ConsoleReceipt",
            "The AI answers the conversation again, starting with what the customer wrote meanwhile (`answered`).",
            ASSIGNEE_ERRORS,
            "operator",
        ),
        ("POST", "/v1/handoffs/{conversation_id}/close"): Operation(
            "closeHandoff",
            "CloseRequest",
            "ConsoleReceipt",
            "Closed with a resolution; if the customer writes again, the conversation returns to the caller.",
            ASSIGNEE_ERRORS,
            "operator",
        ),
        ("GET", "/v1/conversations/{conversation_id}/messages"): Operation(
            "listConversationMessages",
            None,
            "ConversationMessages",
            "The messages after `after`, oldest first, and who answers now.",
            {
                "400": '"after must be a message sequence number (0 or more)."',
                "401": ERRORS["401"],
                "403": API_KEY,
                "404": '"Conversation not found." (unknown, or another customer\'s)',
            },
            "customer",
            query=(
                {
                    **_query(
                        "after", "Only messages with a higher sequence number.", {"type": "integer", "minimum": 0}
                    ),
                    "required": False,
                },
            ),
        ),
    }
)

SURVEY_404 = (
    '"Conversation not found." (unknown, or another customer\'s), or "No <survey> survey was offered for '
    'this conversation."'
)
OPERATIONS.update(
    {
        ("GET", "/v1/conversations/{conversation_id}/surveys"): Operation(
            "listConversationSurveys",
            None,
            "ConversationSurveys",
            (
                "The surveys offered after the conversation closed "
                "(none yet: not closed, or the offer is still on its way)."
            ),
            {
                "401": ERRORS["401"],
                "403": API_KEY,
                "404": '"Conversation not found." (unknown, or another customer\'s)',
            },
            "customer",
        ),
        ("POST", "/v1/conversations/{conversation_id}/surveys"): Operation(
            "answerSurvey",
            "SurveyAnswerBody",
            "SurveyAnswerOut",
            "The answer is recorded (or replaced within the answer window; the same answer again is unchanged).",
            {
                "400": (
                    f"{INVALID_BODY} A score outside the survey's scale says so, "
                    'e.g. "csat takes a score from 1 to 5, got 7".'
                ),
                "401": ERRORS["401"],
                "403": API_KEY,
                "404": SURVEY_404,
                "409": '"This survey was answered at the same moment from elsewhere; please retry."',
                "410": "The answer window closed (CONCIERGE_SURVEY_ANSWER_WINDOW_DAYS after the offer).",
            },
            "customer",
        ),
        ("GET", "/v1/surveys/answer"): Operation(
            "answerSurveyFromLink",
            None,
            HTML,
            "A thank-you page (with a score) or the scale to choose from (without one). Errors are HTML pages too.",
            {
                "400": "A missing token, or a score that is not a whole number or outside the survey's scale.",
                "401": "The token was altered or cut short.",
                "404": SURVEY_404,
                "410": "The link expired: the answer window closed.",
            },
            "signed-link",
            query=(
                _query("token", "The signed token from the survey message (conversation, customer, survey, expiry)."),
                {
                    **_query(
                        "score",
                        "The score chosen; without it the page shows the scale.",
                        {"type": "integer", "minimum": 0, "maximum": 10},
                    ),
                    "required": False,
                },
            ),
        ),
    }
)

# --- KPIs, the dashboard's drill-down, discount redemptions (docs/metrics.md) -----------------------------------------
METRICS_REPORT = "MetricsReport"  # JSON, or CSV with format=csv


def _metrics_query(model: type[BaseModel] | None = None) -> tuple[dict[str, Any], ...]:
    from concierge.metrics.query import MetricsQuery

    schema = (model or MetricsQuery).model_json_schema(by_alias=True)
    required = set(schema.get("required", []))
    parameters = []
    for name, prop in schema["properties"].items():
        description = prop.pop("description", prop.get("title", name))
        prop.pop("title", None)
        parameters.append(
            {"name": name, "in": "query", "required": name in required, "schema": prop, "description": description}
        )
    return tuple(parameters)


def _offer_report_query() -> tuple[dict[str, Any], ...]:
    from concierge.offers.report import OfferReportQuery

    return _metrics_query(OfferReportQuery)


OPERATIONS.update(
    {
        ("GET", "/v1/metrics"): Operation(
            "getMetrics",
            None,
            METRICS_REPORT,
            "The KPIs of the range with sample sizes and 95% intervals, a series (by day, channel or intent) and the "
            "lowest-scoring conversations; with format=csv, one row per series point and a total row.",
            {
                "400": '"Invalid query: ...": a missing or malformed from/to, to before from, more than 366 days, '
                "or an unknown parameter (the message says which).",
                "401": OPERATOR_401,
            },
            "operator",
            query=_metrics_query(),
        ),
        ("GET", "/v1/conversations/{conversation_id}/transcript"): Operation(
            "getTranscript",
            None,
            "TranscriptOut",
            "The conversation's messages, its Auto-CSAT with reasons, and its survey answers.",
            {
                "401": OPERATOR_401,
                "404": '"Conversation not found."',
            },
            "operator",
        ),
        ("POST", "/v1/discounts/{code}/redemptions"): Operation(
            "redeemDiscount",
            "RedemptionRequest",
            "Redemption",
            (
                "The code is now used on this order; discount.redeemed is published "
                "(revenue attributed to the conversation)."
            ),
            {
                "400": INVALID_BODY,
                "401": CUSTOMER_401,
                "403": API_KEY,
                "404": '"Unknown discount code for this customer." (also when the code is someone else\'s)',
                "409": '"This discount code was already used."',
                "410": '"This discount code has expired."',
            },
            "customer",
        ),
        ("POST", "/v1/orders"): Operation(
            "recordOrder",
            "OrderRequest",
            "OrderRecorded",
            "Recorded: order.placed is published. Call it for every order of a signed-in customer (with or without a "
            "code): the offers' holdout comparison counts conversion, revenue and retention from it, once per order.",
            {"400": INVALID_BODY, "401": CUSTOMER_401, "403": API_KEY},
            "customer",
        ),
        ("GET", "/v1/offers/report"): Operation(
            "getOffersReport",
            None,
            "OfferReport",
            "Per offer: decisions by outcome and refusal reason, presented, accepted, redeemed, revenue, the "
            "treatment and holdout groups with conversion, retention and revenue-per-customer lift (95% intervals, "
            "or not enough data); and the outcomes by channel and locale.",
            {
                "400": '"Invalid query: ...": a missing or malformed from/to, to before from, more than 366 days, '
                "or an unknown parameter (the message says which).",
                "401": OPERATOR_401,
            },
            "operator",
            query=_offer_report_query(),
        ),
        ("GET", "/v1/widget-config"): Operation(
            "getWidgetConfig",
            None,
            "WidgetConfig",
            "The shop's name and the widget's colours, from merchant.json as imported (neutral colours without a "
            "brand). Public: nothing personal; Cache-Control allows 5 minutes.",
            {},
            "anyone",
        ),
    }
)

SECURITY: dict[str, dict[str, list[str]]] = {  # besides the API key, where the route takes it
    "customer": {"customerToken": []},
    "operator": {"operatorToken": []},
    "webhook": {},
    "signed-link": {},
    "anyone": {},
}
CALLERS: dict[str, tuple[str, ...]] = {
    "customer": ("customer",),
    "operator": ("operator",),
    "public": ("webhook", "signed-link", "anyone"),
}


def operation_for(route: topology.Route) -> Operation:
    operation = OPERATIONS.get((route.method, route.path))
    if operation is None:
        raise KeyError(f"{route.method} {route.path} is in topology.ROUTES but not described in openapi.OPERATIONS")
    if operation.auth not in CALLERS[route.caller]:
        raise ValueError(f"{route.method} {route.path}: caller={route.caller!r} but auth={operation.auth!r}")
    return operation


def _parameters(route: topology.Route, operation: Operation) -> list[dict[str, Any]]:
    path_schema = {**PATH_ID, "maxLength": 128} if route is topology.TURN_ROUTE else PATH_ID
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": dict(path_schema)}
        for name in re.findall(r"\{(\w+)\}", route.path)
    ]
    return parameters + [dict(p) for p in (*operation.headers, *operation.query)]


def _content(name: str) -> dict[str, Any]:
    if name == METRICS_REPORT:
        return {
            "application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}},
            "text/csv": {"schema": {"type": "string", "description": "one row per series point, then a total row"}},
        }
    if name in (TEXT, HTML):
        return {name: {"schema": {"type": "string"}}}
    if name == WHATSAPP_WEBHOOK:
        return {
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
        }
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}


def _error(text: str, content_type: str = "application/json") -> dict[str, Any]:
    if content_type == HTML:
        return {"description": text, "content": _content(HTML)}
    return {
        "description": text,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
    }


def openapi_document() -> dict[str, Any]:
    from concierge.actions.approvals import Decision
    from concierge.console import AgentMessage, CloseRequest, HandBack
    from concierge.merchant import WidgetConfig
    from concierge.privacy import MergeRequest, Preferences
    from concierge.surveys.models import ConversationSurveys, SurveyAnswerBody, SurveyAnswerOut

    models: list[tuple[type[BaseModel], JsonSchemaMode]] = [
        (AgentMessage, "validation"),
        (HandBack, "validation"),
        (CloseRequest, "validation"),
    ]
    models += [
        (TurnRequestBody, "validation"),
        (Preferences, "validation"),
        (MergeRequest, "validation"),
        (Decision, "validation"),
        (SurveyAnswerBody, "validation"),
    ]
    models += [
        (m, "serialization")
        for m in (ApprovalList, DecisionReceipt, HandoffQueue, HandoffPackage, ConsoleReceipt, ConversationMessages)
    ]
    from concierge.metrics.query import MetricsReport, TranscriptOut
    from concierge.metrics.redemptions import OrderRecorded, OrderRequest, Redemption, RedemptionRequest
    from concierge.offers.report import OfferReport

    models += [(RedemptionRequest, "validation"), (OrderRequest, "validation")]
    models += [(m, "serialization") for m in (MetricsReport, TranscriptOut, Redemption, OrderRecorded, OfferReport)]
    models += [
        (m, "serialization")
        for m in (
            TurnResponse,
            ErrorBody,
            ErasureReceipt,
            PreferencesOut,
            MergeReceipt,
            UnmergeReceipt,
            CustomerExport,
            WebhookAck,
            SurveyAnswerOut,
            ConversationSurveys,
            WidgetConfig,
        )
    ]
    _, schemas = models_json_schema(models, ref_template="#/components/schemas/{model}")
    paths: dict[str, dict[str, Any]] = {}
    for route in topology.ROUTES:
        operation = operation_for(route)
        requirement = {**({"apiKey": []} if route.api_key else {}), **SECURITY[operation.auth]}
        too_large = {"413": _error(PAYLOAD_TOO_LARGE, operation.response)} if operation.request else {}
        document = {
            "summary": route.description,
            "operationId": operation.operation_id,
            "security": [requirement] if requirement else [],
            "parameters": _parameters(route, operation),
            "responses": {
                "200": {"description": operation.description, "content": _content(operation.response)},
                **{status: _error(text, operation.response) for status, text in operation.errors.items()},
                **too_large,  # every body is read through concierge.limits
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
            "securitySchemes": {
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
                    "description": (
                        "The operator's ID token from the merchant's Cognito user pool (locally, the dev issuer's)."
                    ),
                },
            },
        },
    }


def openapi_text() -> str:
    return json.dumps(openapi_document(), indent=2, sort_keys=True) + "\n"
