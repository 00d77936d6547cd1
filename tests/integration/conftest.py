"""Integration tests run the real functions and the turn workflow against AWS on moto (no network)."""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import pytest

from concierge.local.stack import REGION
from concierge.platform import topology
from tests.credentials import customer_headers


@dataclass
class Reply:
    status: int
    body: dict
    headers: dict = field(default_factory=dict)

    @property
    def text(self) -> str:
        return self.body["reply"]["text"]

    def actions(self, tool: str | None = None, status: str | None = None) -> list[dict]:
        return [
            a
            for a in self.body.get("actions", [])
            if (tool is None or a["tool"] == tool) and (status is None or a["status"] == status)
        ]


class Client:
    """Plays turns through the workflow exactly as API Gateway starts it."""

    def __init__(self, stack) -> None:
        self.stack = stack

    def say(self, customer_id: str, conversation_id: str, text: str, channel: str = "web") -> Reply:
        status, body, headers = self.stack.turn_response(
            {
                "body": {"text": text, "channel": channel},
                "header": customer_headers(customer_id),
                "path": {"conversation_id": conversation_id},
            }
        )
        return Reply(status, json.loads(body), headers)


class EventTap:
    """A rule on the bus that copies every Concierge event to a queue the test reads."""

    def __init__(self, bus: str) -> None:
        self.sqs = boto3.client("sqs", region_name=REGION)
        events = boto3.client("events", region_name=REGION)
        self.url = self.sqs.create_queue(QueueName="test-tap")["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name="test-tap", EventBusName=bus, EventPattern=json.dumps({"source": [topology.EVENT_SOURCE]}))
        events.put_targets(Rule="test-tap", EventBusName=bus, Targets=[{"Id": "tap", "Arn": arn}])

    def drain(self) -> list[dict]:
        seen = []
        while messages := self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10).get("Messages", []):
            for message in messages:
                seen.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])
        return seen


@contextmanager
def environment(**values: str):
    """These environment variables for the duration; the earlier values (or their absence) come back after."""
    previous = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextmanager
def settings(**values: str):
    """A running stack's functions read these settings for the duration (settings and adapters are rebuilt)."""
    from concierge.platform import wiring
    from concierge.platform.settings import current_settings

    with environment(**values):
        current_settings.cache_clear()
        wiring.reset()
        try:
            yield
        finally:
            current_settings.cache_clear()
            wiring.reset()


@contextmanager
def merchant(**changes):
    """The running stack's merchant.json with these fields changed for the duration (functions re-read it)."""
    from concierge.platform import wiring
    from concierge.platform.settings import IngestSettings, current_settings

    profiles = wiring.merchant_profiles(current_settings(IngestSettings))
    before = profiles.get()
    profiles.put(before.model_copy(update=changes))
    try:
        yield
    finally:
        wiring.merchant_profiles(current_settings(IngestSettings)).put(before)


def model_stack(tmp_path_factory, model, store: Path | None = None, **values: str):
    """A module's local stack answering through Claude at the Messages API stand-in `model` (no retries, 5 s); on
    the store folder `store` (docs/import-format.md) when given, else the demo store."""
    yield from local_stack(
        tmp_path_factory,
        store,
        CONCIERGE_MODEL_PROVIDER="anthropic",
        ANTHROPIC_API_KEY="test-key",
        ANTHROPIC_BASE_URL=model.url,
        CONCIERGE_MODEL_MAX_RETRIES="0",
        CONCIERGE_MODEL_TIMEOUT_SECONDS="5",
        **values,
    )


def local_stack(tmp_path_factory, store: Path | None = None, **values: str):
    """A module's local stack with the demo store (or the store folder `store`), started with these settings in the
    environment."""
    from concierge.dev.cli import start_local

    with environment(**values):
        local, _ = start_local(store_dir=tmp_path_factory.mktemp("store"), store=store)
        try:
            yield local
        finally:
            local.stop()


def model_client(stack, model) -> Client:
    """A client of a model stack, the stand-in's script and requests cleared for the test."""
    from concierge.platform.settings import current_settings

    current_settings.cache_clear()
    model.script.clear()
    model.requests.clear()
    return Client(stack)


@pytest.fixture(autouse=True)
def fresh_model_circuit():
    """Each test starts with a closed circuit: the agent's model client (and its breaker) is per warm process, and
    one test's model failures must not make the next one skip the model."""
    from functions.agent import handler as agent_handler

    agent_handler._engines.clear()
    yield


@pytest.fixture(scope="module")
def model():
    """The strict Messages API stand-in (Claude API and Bedrock routes), one per test module."""
    from concierge.local.messages_standin import MessagesStandIn

    server = MessagesStandIn().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    yield from local_stack(tmp_path_factory)


@pytest.fixture(scope="module")
def client(stack) -> Client:
    return Client(stack)


@pytest.fixture(scope="module")
def tap(stack) -> EventTap:
    return EventTap(stack.env[topology.EVENT_BUS_ENV])
