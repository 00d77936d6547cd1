"""The deployed topology, declared once: CDK (infra/) builds it and the local runtime (concierge.local)
creates the same tables, bus, rules and queues from it, so the two cannot drift.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from concierge.platform import names

# The names the functions read at run time, declared in concierge.platform.names (which they import alone, without
# the declarations below) and named here too.
EVENT_SOURCE = names.EVENT_SOURCE
FunctionName = names.FunctionName
HANDLERS = names.HANDLERS
MEMORY_TABLE_ENV = names.MEMORY_TABLE_ENV
STORE_TABLE_ENV = names.STORE_TABLE_ENV
EVENT_BUS_ENV = names.EVENT_BUS_ENV
KNOWLEDGE_BUCKET_ENV = names.KNOWLEDGE_BUCKET_ENV
MAIL_BUCKET_ENV = names.MAIL_BUCKET_ENV
TURN_STATE_MACHINE_ENV = names.TURN_STATE_MACHINE_ENV
APPROVAL_STATE_MACHINE_ENV = names.APPROVAL_STATE_MACHINE_ENV
JOURNEY_STATE_MACHINE_ENV = names.JOURNEY_STATE_MACHINE_ENV
METRICS_QUEUE_ENV = names.METRICS_QUEUE_ENV


@dataclass(frozen=True)
class Index:
    name: str
    partition_key: str
    sort_key: str


@dataclass(frozen=True)
class Table:
    logical_id: str
    env_var: str
    partition_key: str = "pk"
    sort_key: str = "sk"
    ttl_attribute: str | None = "expires_at"
    indexes: tuple[Index, ...] = ()

    def create_request(self, name: str) -> dict[str, Any]:
        """DynamoDB CreateTable's arguments for this table under `name` (the local stack and tests on moto; CDK
        declares the deployed one from the same fields)."""
        attributes = {self.partition_key, self.sort_key} | {
            a for i in self.indexes for a in (i.partition_key, i.sort_key)
        }
        request: dict[str, Any] = {
            "TableName": name,
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [{"AttributeName": a, "AttributeType": "S"} for a in sorted(attributes)],
            "KeySchema": [
                {"AttributeName": self.partition_key, "KeyType": "HASH"},
                {"AttributeName": self.sort_key, "KeyType": "RANGE"},
            ],
        }
        if self.indexes:
            request["GlobalSecondaryIndexes"] = [
                {
                    "IndexName": index.name,
                    "KeySchema": [
                        {"AttributeName": index.partition_key, "KeyType": "HASH"},
                        {"AttributeName": index.sort_key, "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
                for index in self.indexes
            ]
        return request


MEMORY_TABLE = Table(logical_id="MemoryTable", env_var=MEMORY_TABLE_ENV)
STORE_TABLE = Table(
    logical_id="StoreTable",
    env_var=STORE_TABLE_ENV,
    ttl_attribute=None,
    indexes=(Index(name="by-customer", partition_key="gsi1pk", sort_key="gsi1sk"),),
)
TABLES = (MEMORY_TABLE, STORE_TABLE)


@dataclass(frozen=True)
class ContentFilter:
    """One detail-type of a rule delivered only when its detail matches one of `any_of` (EventBridge content
    filtering: the bus drops the rest, so they cost no queue message and no invocation)."""

    detail_type: str
    any_of: tuple[dict[str, Any], ...]
    says: str  # what it keeps, as docs/deploy.md's access table says it


@dataclass(frozen=True)
class Rule:
    """EventBridge rule -> SQS queue (with a dead-letter queue) -> Lambda function."""

    name: str
    detail_types: tuple[str, ...]
    function: FunctionName
    max_receive_count: int = 3
    batch_size: int = 10
    # When set, the function receives its queue's ARN in this variable (to tell its queues' records apart).
    queue_arn_env: str | None = None
    # Detail-types among `detail_types` delivered only when their detail matches.
    filters: tuple[ContentFilter, ...] = ()

    @property
    def pattern(self) -> dict[str, Any]:
        """The rule's event pattern: its detail-types, and each filtered one only with a detail it keeps (one `$or`
        alternative per kept detail)."""
        if not self.filters:
            return {"source": [EVENT_SOURCE], "detail-type": list(self.detail_types)}
        filtered = {f.detail_type for f in self.filters}
        plain = [t for t in self.detail_types if t not in filtered]
        return {
            "source": [EVENT_SOURCE],
            "$or": [
                *([{"detail-type": plain}] if plain else []),
                *({"detail-type": [f.detail_type], "detail": detail} for f in self.filters for detail in f.any_of),
            ],
        }

    def describe(self, detail_type: str) -> str:
        """A detail-type as the access table names it: with what its filter keeps."""
        kept = next((f.says for f in self.filters if f.detail_type == detail_type), None)
        return f"{detail_type} ({kept})" if kept else detail_type

    @property
    def queue_name(self) -> str:
        return f"{self.name}-queue"

    @property
    def dead_letter_queue_name(self) -> str:
        return f"{self.name}-dlq"


RULES = (
    Rule(name="conversation-closed-to-surveys", detail_types=("conversation.closed",), function=FunctionName.SURVEYS),
    # Email and WhatsApp messages, taken in by ingest, run the turn workflow from this queue (asynchronously).
    Rule(
        name="message-received-to-turns", detail_types=("message.received",), function=FunctionName.INGEST, batch_size=5
    ),
    # KPI roll-up (concierge.metrics.rollup.DETAIL_TYPES). A survey or Auto-CSAT that arrives before its conversation's
    # close is retried, hence a few more receives before the dead-letter queue.
    Rule(
        name="kpi-events-to-surveys",
        function=FunctionName.SURVEYS,
        max_receive_count=6,
        queue_arn_env=METRICS_QUEUE_ENV,
        detail_types=(
            "conversation.closed",
            "turn.completed",
            "survey.answered",
            "autocsat.scored",
            "discount.redeemed",
            "order.placed",
            "lead.qualified",
        ),
    ),
    # Journeys (docs/journeys.md): the signals a journey starts from (a late parcel, a charge, a cart, a trial, a
    # start) or reads when its wait ends (an order's new status, a later cart, a subscription's change, a feature
    # used). Actions starts one journey workflow per journey and signal (named from both, so a signal delivered twice
    # starts one run); tests/unit/test_journeys.py keeps this list the journeys' own (journeys.definitions.SIGNALS).
    # The sign-ins and feature uses are also counted per customer and day for churn (docs/churn.md). Survey answers
    # come only from promoters (the survey_promoter journey): the bus keeps a CSAT 5 and an NPS 9–10, as
    # surveys.models.promoter says (tests/unit/test_journeys_promoter.py checks the two agree on every score). A
    # churn.risk comes from the actions function's own scheduled scoring (the churn_risk journey).
    Rule(
        name="signals-to-journeys",
        function=FunctionName.ACTIONS,
        detail_types=(
            "shipment.delayed",
            "charge.posted",
            "order.updated",
            "cart.updated",
            "trial.updated",
            "subscription.changed",
            "customer.signed_in",
            "feature.used",
            "survey.answered",
            "churn.risk",
        ),
        filters=(
            ContentFilter(
                detail_type="survey.answered",
                any_of=(
                    {"survey": ["csat"], "score": [{"numeric": ["=", 5]}]},
                    {"survey": ["nps"], "score": [{"numeric": [">=", 9]}]},
                ),
                says="a promoter's: CSAT 5 or NPS 9–10",
            ),
        ),
    ),
    # Churn scoring (docs/churn.md): one page of customers per message, the next page's request published on the bus
    # by the page before. A queue of its own rather than the journeys': one page per invocation (a batch of one,
    # whatever the signals' traffic), a failed page retried alone without holding signals back, and its own
    # dead-letter queue and alarm. The first page's request comes from the daily schedule (SCHEDULES).
    Rule(
        name="churn-scoring",
        function=FunctionName.ACTIONS,
        detail_types=("churn.scoring.requested",),
        batch_size=1,
        max_receive_count=5,
    ),
)


@dataclass(frozen=True)
class Schedule:
    """A message put on a rule's queue at fixed times (an EventBridge Scheduler schedule whose target is the queue),
    with the envelope the rule's own events have: `detail-type` and `detail`."""

    name: str
    cron: dict[str, str]  # cron fields in UTC: minute, hour, day, month, week_day, year
    rule: str  # the topology rule whose queue it feeds
    detail_type: str
    detail: dict[str, Any]  # `occurred_at` is filled with the schedule's time
    says: str  # as docs/deploy.md's access table names it


# The daily churn scoring pass, at 03:00 UTC: the day before is complete, and the night is quiet for most shops.
SCHEDULES = (
    Schedule(
        name="churn-scoring-daily",
        cron={"minute": "0", "hour": "3"},
        rule="churn-scoring",
        detail_type="churn.scoring.requested",
        detail={"page": 1},
        says="daily schedule `churn-scoring-daily` (03:00 UTC, the first page of churn scoring)",
    ),
)


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    target: str  # "turn-workflow" (Step Functions Express, synchronous) | "ingest" (Lambda proxy integration)
    # who may call: the signed-in customer (a storefront token), an operator (the operator authorizer), or anyone
    # with a signature of the route's own (provider webhooks, signed survey links)
    caller: Literal["customer", "operator", "public"] = "customer"
    # The storefront's API key (x-api-key) identifies the storefront on its routes. Operator routes go without it
    # (the operator's sign-in is the proof: the operators' pages carry no key), and so do provider webhooks (they
    # authenticate by signature). None: the caller decides (customer routes yes, operator routes no).
    api_key: bool | None = None
    # A storefront's page (an allowed origin: the chat widget) may call it from the browser. None: customer routes.
    cors: bool | None = None

    def __post_init__(self) -> None:
        if self.api_key is None:
            object.__setattr__(self, "api_key", self.caller != "operator")
        if self.cors is None:
            object.__setattr__(self, "cors", self.caller == "customer")


# What a storefront's page (the chat widget) sends to the routes it may call from its own origin (`Route.cors`): CORS
# allows these request headers and exposes Retry-After (a 409's "send it again in n seconds"); never credentials,
# never "*". The local server, the ingest function and API Gateway's preflight all answer from these.
CORS_REQUEST_HEADERS = ("authorization", "content-type", "x-api-key")
CORS_EXPOSED_HEADERS = ("Retry-After",)
CORS_MAX_AGE_SECONDS = 600

TURN_ROUTE = Route(method="POST", path="/v1/conversations/{conversation_id}/messages", target="turn-workflow")
CUSTOMER_ROUTES = (
    Route("GET", "/v1/customers/{customer_id}/data", "ingest"),
    Route("DELETE", "/v1/customers/{customer_id}", "ingest"),
    # the same two rights, asked of the support team (by email, by phone): an operator acts for the customer
    Route("GET", "/v1/operator/customers/{customer_id}/data", "ingest", caller="operator"),
    Route("DELETE", "/v1/operator/customers/{customer_id}", "ingest", caller="operator"),
    Route("PUT", "/v1/customers/{customer_id}/preferences", "ingest"),
    # the customer's own "forget what I viewed" (personal recommendations: docs/shopping.md)
    Route("DELETE", "/v1/customers/{customer_id}/product-views", "ingest"),
    Route("POST", "/v1/customers/{customer_id}/merges", "ingest", caller="operator"),
    Route("DELETE", "/v1/customers/{customer_id}/merges/{source_customer_id}", "ingest", caller="operator"),
)
WHATSAPP_ROUTES = (
    Route("GET", "/v1/channels/whatsapp", "ingest", caller="public", api_key=False),
    Route("POST", "/v1/channels/whatsapp", "ingest", caller="public", api_key=False),
)
APPROVAL_ROUTES = (
    Route("GET", "/v1/approvals", "ingest", caller="operator"),
    Route("POST", "/v1/approvals/{action_id}/approve", "ingest", caller="operator"),
    Route("POST", "/v1/approvals/{action_id}/deny", "ingest", caller="operator"),
)
SURVEY_ROUTES = (
    Route("GET", "/v1/conversations/{conversation_id}/surveys", "ingest"),
    Route("POST", "/v1/conversations/{conversation_id}/surveys", "ingest"),
    # The one-click link in a survey email or WhatsApp message: the signed token is the proof, no API key.
    Route("GET", "/v1/surveys/answer", "ingest", caller="public", api_key=False),
)
CONSOLE_ROUTES = (
    Route("GET", "/v1/handoffs", "ingest", caller="operator"),
    Route("GET", "/v1/handoffs/{conversation_id}", "ingest", caller="operator"),
    Route("POST", "/v1/handoffs/{conversation_id}/claim", "ingest", caller="operator"),
    Route("POST", "/v1/handoffs/{conversation_id}/messages", "ingest", caller="operator"),
    Route("POST", "/v1/handoffs/{conversation_id}/release", "ingest", caller="operator"),
    Route("POST", "/v1/handoffs/{conversation_id}/close", "ingest", caller="operator"),
    Route("GET", "/v1/conversations/{conversation_id}/messages", "ingest"),
)
METRICS_ROUTES = (
    Route("GET", "/v1/metrics", "ingest", caller="operator"),
    Route("GET", "/v1/conversations/{conversation_id}/transcript", "ingest", caller="operator"),
    # The storefront reports an order placed with a code the assistant issued: single use, and the revenue is counted.
    Route("POST", "/v1/discounts/{code}/redemptions", "ingest"),
    # Every order of a signed-in customer: the offers' holdout comparison counts conversions in both groups from it.
    Route("POST", "/v1/orders", "ingest"),
    Route("GET", "/v1/offers/report", "ingest", caller="operator"),
    Route("GET", "/v1/journeys/report", "ingest", caller="operator"),
)
# Signals in: the storefront's backend reports what happened to its signed-in customer (journeys start from them).
JOURNEY_ROUTES = (Route("POST", "/v1/signals", "ingest"),)
# The chat widget's look before anyone signs in: the shop's name and colours from merchant.json, nothing personal.
# No API key (a plain GET, no preflight), yet callable only from the allowed origins' pages.
WIDGET_ROUTES = (Route("GET", "/v1/widget-config", "ingest", caller="public", api_key=False, cors=True),)
ROUTES = (
    TURN_ROUTE,
    *CUSTOMER_ROUTES,
    *WHATSAPP_ROUTES,
    *APPROVAL_ROUTES,
    *SURVEY_ROUTES,
    *CONSOLE_ROUTES,
    *METRICS_ROUTES,
    *JOURNEY_ROUTES,
    *WIDGET_ROUTES,
)


def route_for(method: str, path: str) -> Route | None:
    """The route a request is for, as API Gateway matches it (a path parameter is one non-empty segment)."""
    for route in ROUTES:
        pattern = re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(route.path))
        if route.method == method.upper() and re.fullmatch(pattern, path):
            return route
    return None


@dataclass(frozen=True)
class FunctionAccess:
    """What each function may touch: CDK turns this into one least-privilege role per function."""

    read_tables: tuple[Table, ...] = ()
    write_tables: tuple[Table, ...] = ()
    put_events: bool = False
    read_knowledge: bool = False
    send_email: bool = False
    read_signing_secret: bool = False
    read_write_mail: bool = False  # the mail bucket: read raw email, write attachments, delete on erasure
    start_turns: bool = False  # StartSyncExecution on the turn workflow (channel messages)
    read_whatsapp_secret: bool = False
    write_knowledge: bool = False  # index uploaded documents (knowledge bucket: read documents/, write the index)
    embed: bool = False  # call the embeddings model (Bedrock Titan) when it is the configured embedder
    call_model: bool = False  # the language model: the Anthropic API key's secret, or Claude on Bedrock
    recall_actions: bool = False  # with a model: recall the conversation's actions for its context (reads memory)
    redeem_discounts: bool = False  # UpdateItem on the store's DISCOUNT# items only (mark a code used)
    unlink_gift_cards: bool = (
        False  # UpdateItem on the store's GIFTCARD# items only (erasure: no longer the customer's)
    )
    start_approvals: bool = False  # StartExecution on the approval workflow (a confirmed action above the limit)
    decide_approvals: bool = False  # SendTaskSuccess/Failure on the approval workflow (an operator's decision)
    start_journeys: bool = False  # StartExecution on the journey workflow (a signal that starts a journey)
    scan_store: bool = False  # Scan of the store table (the scheduled churn scoring's pages); no other function scans


# Triggers CDK builds outside the routes, rules and workflows (infra/constructs/inbound_email.py, infra/stack.py).
OTHER_TRIGGERS: dict[FunctionName, tuple[str, ...]] = {
    FunctionName.INGEST: ("SES receipt rule (inbound email)", "S3 upload under `documents/` (knowledge bucket)"),
}

ACCESS: dict[FunctionName, FunctionAccess] = {
    # Ingest is the channel edge: it takes messages in (web, email, WhatsApp), replies on the customer's channel,
    # and serves the customer-data routes (export, erasure, consent, merges).
    FunctionName.INGEST: FunctionAccess(
        read_tables=(STORE_TABLE, MEMORY_TABLE),
        write_tables=(MEMORY_TABLE,),
        put_events=True,
        read_signing_secret=True,
        send_email=True,
        read_write_mail=True,
        start_turns=True,
        read_whatsapp_secret=True,
        write_knowledge=True,
        embed=True,
        decide_approvals=True,
        redeem_discounts=True,  # the storefront's "order placed with a code" (POST /v1/discounts/{code}/redemptions)
        unlink_gift_cards=True,  # erasure keeps a customer's gift cards with their balances, unlinked (docs/account.md)
    ),
    # Retrieval gathers a turn's context: passages, recalled memory, and the read-only lookups of the customer's
    # orders a message plainly needs (actions/prefetch.py). It reads; it writes nothing and publishes nothing.
    FunctionName.RETRIEVAL: FunctionAccess(
        read_tables=(MEMORY_TABLE, STORE_TABLE), read_knowledge=True, embed=True, recall_actions=True
    ),
    # The agent decides from the turn it is given: it reads and writes no data, and may only call the model.
    FunctionName.AGENT: FunctionAccess(call_model=True),
    FunctionName.ACTIONS: FunctionAccess(
        read_tables=(MEMORY_TABLE, STORE_TABLE),
        write_tables=(MEMORY_TABLE, STORE_TABLE),
        put_events=True,
        send_email=True,
        start_approvals=True,
        start_journeys=True,
        scan_store=True,  # churn scoring: one page of the store's customers per invocation (churn/scheduled.py)
    ),
    # Survey scoring: Auto-CSAT (the model only when one is configured), then the surveys it offers, sent on the
    # customer's channel: links signed with the signing secret (in a namespace of their own), email, WhatsApp.
    # It also rolls the KPIs up into the memory table (reads: a conversation's attribution, a repeat-contact marker).
    FunctionName.SURVEYS: FunctionAccess(
        read_tables=(MEMORY_TABLE,),
        write_tables=(MEMORY_TABLE,),
        put_events=True,
        send_email=True,
        read_signing_secret=True,
        read_whatsapp_secret=True,
        call_model=True,
    ),
}


# What each FunctionAccess flag lets a function do, as docs/deploy.md says it.
_GRANTS = {
    "put_events": "put events on the bus",
    "read_knowledge": "read the knowledge index",
    "send_email": "send email (SES, from the configured sender)",
    "read_signing_secret": "read the signing secret",
    "read_write_mail": "read raw mail and write attachments (mail bucket, two prefixes)",
    "start_turns": "start turns (turn workflow only)",
    "read_whatsapp_secret": "read the WhatsApp secret",
    "write_knowledge": "index uploaded documents",
    "embed": "call the embeddings model",
    "call_model": "call the language model",
    "recall_actions": "recall a conversation's actions",
    "redeem_discounts": "mark discount codes used (the store's DISCOUNT# items only)",
    "unlink_gift_cards": "unlink an erased customer's gift cards (the store's GIFTCARD# items only)",
    "start_approvals": "start approvals (approval workflow only)",
    "decide_approvals": "send an operator's decision to a waiting approval",
    "start_journeys": "start journeys (journey workflow only)",
    "scan_store": "scan the StoreTable (churn scoring, a page per invocation)",
}


def access_table() -> str:
    """What starts each function and what it may touch, as docs/deploy.md shows it (a test keeps the two the same)."""
    from concierge.workflows import approval_definition, function_arn_placeholder, journey_definition, turn_definition

    def steps(definition: dict[str, object], workflow: str, name: FunctionName) -> list[str]:
        placeholder = "${" + function_arn_placeholder(name) + "}"
        states = definition["States"]
        assert isinstance(states, dict)
        return [
            f"{workflow} step {state}"
            for state, body in states.items()
            if placeholder in str(body.get("Parameters") or body.get("Arguments") or "")
        ]

    rows = ["| function | started by | may |", "| --- | --- | --- |"]
    for name in FunctionName:
        routes = [r for r in ROUTES if r.target == name.value]
        started = [
            *steps(turn_definition(), "turn", name),
            *steps(approval_definition(), "approval", name),
            *steps(journey_definition(), "journey", name),
        ]
        if routes:
            started.append(f"{len(routes)} HTTP routes")
        started += [
            f"rule `{r.name}` ({', '.join(r.describe(t) for t in r.detail_types)})" for r in RULES if r.function == name
        ]
        started += [s.says for s in SCHEDULES if next(r for r in RULES if r.name == s.rule).function == name]
        started += OTHER_TRIGGERS.get(name, ())
        access = ACCESS[name]
        may = [
            *(f"read the {t.logical_id}" for t in access.read_tables if t not in access.write_tables),
            *(f"read and write the {t.logical_id}" for t in access.write_tables),
            *(text for flag, text in _GRANTS.items() if getattr(access, flag)),
        ]
        rows.append(f"| {name.value} | {'; '.join(started) or '-'} | {'; '.join(may) or 'nothing'} |")
    return "\n".join(rows)
