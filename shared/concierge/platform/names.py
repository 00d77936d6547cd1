"""The names the functions read of the deployed topology: the functions and their handlers, the event source, and
the environment variables that name each resource.

concierge.platform.topology (the tables, rules, queues, schedules and routes that CDK and the local runtime build)
re-exports them. The functions import this module alone (the settings, the events), so that a cold start does not
build the topology's declarations, which only CDK, the local runtime and the HTTP API's routing read
(docs/performance.md).
"""

from __future__ import annotations

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

# The environment variable naming each resource a function is given (concierge.platform.settings reads them).
MEMORY_TABLE_ENV = "CONCIERGE_MEMORY_TABLE"
STORE_TABLE_ENV = "CONCIERGE_STORE_TABLE"
EVENT_BUS_ENV = "CONCIERGE_EVENT_BUS"
KNOWLEDGE_BUCKET_ENV = "CONCIERGE_KNOWLEDGE_BUCKET"
# Raw inbound email (SES receipt S3 action, under inbound/) and attachments (under attachments/).
MAIL_BUCKET_ENV = "CONCIERGE_MAIL_BUCKET"
TURN_STATE_MACHINE_ENV = "CONCIERGE_TURN_STATE_MACHINE_ARN"
APPROVAL_STATE_MACHINE_ENV = "CONCIERGE_APPROVAL_STATE_MACHINE_ARN"
JOURNEY_STATE_MACHINE_ENV = "CONCIERGE_JOURNEY_STATE_MACHINE_ARN"
METRICS_QUEUE_ENV = "CONCIERGE_METRICS_QUEUE_ARN"
