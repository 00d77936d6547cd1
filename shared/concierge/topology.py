"""The deployed topology, declared once: CDK (infra/) builds it and the local runtime (concierge.local)
creates the same tables, bus, rules and queues from it, so the two cannot drift.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

EVENT_SOURCE = "concierge"


class FunctionName(StrEnum):
    INGEST = "ingest"
    RETRIEVAL = "retrieval"
    AGENT = "agent"
    ACTIONS = "actions"
    SURVEYS = "surveys"


# Handler entry point of each function, relative to the function code root (the repository root).
HANDLERS: dict[FunctionName, str] = {name: f"functions.{name.value}.handler.handler" for name in FunctionName}


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


MEMORY_TABLE = Table(logical_id="MemoryTable", env_var="CONCIERGE_MEMORY_TABLE")
STORE_TABLE = Table(
    logical_id="StoreTable",
    env_var="CONCIERGE_STORE_TABLE",
    ttl_attribute=None,
    indexes=(Index(name="by-customer", partition_key="gsi1pk", sort_key="gsi1sk"),),
)
TABLES = (MEMORY_TABLE, STORE_TABLE)

EVENT_BUS_ENV = "CONCIERGE_EVENT_BUS"
KNOWLEDGE_BUCKET_ENV = "CONCIERGE_KNOWLEDGE_BUCKET"
# Raw inbound email (SES receipt S3 action, under inbound/) and attachments (under attachments/).
MAIL_BUCKET_ENV = "CONCIERGE_MAIL_BUCKET"
TURN_STATE_MACHINE_ENV = "CONCIERGE_TURN_STATE_MACHINE_ARN"


@dataclass(frozen=True)
class Rule:
    """EventBridge rule -> SQS queue (with a dead-letter queue) -> Lambda function."""

    name: str
    detail_types: tuple[str, ...]
    function: FunctionName
    max_receive_count: int = 3
    batch_size: int = 10

    @property
    def pattern(self) -> dict:
        return {"source": [EVENT_SOURCE], "detail-type": list(self.detail_types)}

    @property
    def queue_name(self) -> str:
        return f"{self.name}-queue"

    @property
    def dead_letter_queue_name(self) -> str:
        return f"{self.name}-dlq"


RULES = (
    Rule(name="conversation-closed-to-surveys", detail_types=("conversation.closed",), function=FunctionName.SURVEYS),
    # Email and WhatsApp messages, taken in by ingest, run the turn workflow from this queue (asynchronously).
    Rule(name="message-received-to-turns", detail_types=("message.received",), function=FunctionName.INGEST, batch_size=5),
)


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    target: str  # "turn-workflow" (Step Functions Express, synchronous) | "ingest" (Lambda proxy integration)
    requires_customer: bool = True
    description: str = ""
    api_key: bool = True  # storefront routes need the API key; provider webhooks authenticate by signature instead


TURN_ROUTE = Route(
    method="POST",
    path="/v1/conversations/{conversation_id}/messages",
    target="turn-workflow",
    description="Post a customer message; the turn runs synchronously and returns the reply.",
)
CUSTOMER_ROUTES = (
    Route("GET", "/v1/customers/{customer_id}/data", "ingest", description="Export everything held about a customer (JSON)."),
    Route("DELETE", "/v1/customers/{customer_id}", "ingest", description="Erase a customer's data everywhere."),
    Route("PUT", "/v1/customers/{customer_id}/preferences", "ingest", description="Set consent (personalization)."),
    Route("POST", "/v1/customers/{customer_id}/merges", "ingest", description="Operator: merge another customer into this one."),
    Route(
        "DELETE", "/v1/customers/{customer_id}/merges/{source_customer_id}", "ingest",
        description="Operator: undo a merge.",
    ),
)
WHATSAPP_ROUTES = (
    Route("GET", "/v1/channels/whatsapp", "ingest", requires_customer=False, api_key=False,
          description="WhatsApp Cloud API webhook verification (hub.challenge)."),
    Route("POST", "/v1/channels/whatsapp", "ingest", requires_customer=False, api_key=False,
          description="WhatsApp Cloud API webhook (X-Hub-Signature-256)."),
)
ROUTES = (TURN_ROUTE, *CUSTOMER_ROUTES, *WHATSAPP_ROUTES)


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
    ),
    FunctionName.RETRIEVAL: FunctionAccess(read_tables=(MEMORY_TABLE,), read_knowledge=True, embed=True),
    # The agent decides from the turn it is given: it reads and writes no data, and may only call the model.
    FunctionName.AGENT: FunctionAccess(call_model=True),
    FunctionName.ACTIONS: FunctionAccess(
        read_tables=(MEMORY_TABLE, STORE_TABLE),
        write_tables=(MEMORY_TABLE, STORE_TABLE),
        put_events=True,
        send_email=True,
    ),
    FunctionName.SURVEYS: FunctionAccess(write_tables=(MEMORY_TABLE,)),
}
