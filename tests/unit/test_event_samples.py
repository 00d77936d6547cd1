"""Every sample in events/ is validated against the model it documents; a sample nobody maps fails the suite.

- api/turn-request.json ........ the execution input API Gateway builds for the turn workflow (ApiRequest)
- bus/<detail-type>.json ....... an EventBridge envelope whose detail is the domain event model of that type
- sqs/*.json ................... an SQS event whose bodies are EventBridge envelopes (rule -> queue -> function)
- tasks/<kind>.json ............ the payload a workflow state sends to its function (concierge.conversation.tasks)
- whatsapp/*.json .............. a WhatsApp Cloud API webhook body, parsed into channel messages
- ses/*.json ................... an SES receiving event (the receipt rule's Lambda action on ingest)

The SQS sample is also scored with record_auto_csat against DynamoDB on moto (the surveys handler itself, with
powertools' batch processing and the dead-letter path, is covered by the integration tests).
"""

from __future__ import annotations

import json
import re
from datetime import UTC
from pathlib import Path

import boto3
import jwt
import pytest
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel, SqsModel

from concierge.conversation.api import ApiRequest, TurnRequestBody
from concierge.conversation.tasks import ActTask, DecideTask, IngestTask, ReceiveTask, ReplyTask, RetrieveTask
from concierge.local.stack import DEV_SIGNING_SECRET
from concierge.memory.store import MemoryStore
from concierge.platform import topology
from concierge.platform.events import EVENT_TYPES
from concierge.surveys.autocsat import score_conversation
from concierge.surveys.scoring import record_auto_csat
from concierge.web.auth import AUDIENCE, bearer

EVENTS = Path(__file__).parents[2] / "events"
SAMPLES = sorted(p.relative_to(EVENTS).as_posix() for p in EVENTS.rglob("*.json"))
TASKS = {
    "turn.receive": ReceiveTask,
    "turn.retrieve": RetrieveTask,
    "turn.decide": DecideTask,
    "turn.act": ActTask,
    "turn.reply": ReplyTask,
}


def load(name: str):
    return json.loads((EVENTS / name).read_text())


def validate_envelope(envelope: dict):
    """An EventBridge event from this bus: the envelope, then the detail against its detail-type's model."""
    parsed = EventBridgeModel.model_validate(envelope)
    assert parsed.source == topology.EVENT_SOURCE
    assert parsed.detail_type in EVENT_TYPES, f"unknown detail-type {parsed.detail_type!r}"
    return parsed.detail_type, EVENT_TYPES[parsed.detail_type].model_validate(envelope["detail"])


def validate_api(name: str, sample: dict) -> None:
    request = ApiRequest.model_validate(sample)
    TurnRequestBody.model_validate(request.body)
    assert request.header_value("x-api-key")
    # a customer token of the local stack's key, for alex: valid but for its age (a sample is older than a day)
    token = bearer(request.header_value("authorization"))
    assert token is not None
    claims = jwt.decode(
        token, DEV_SIGNING_SECRET, algorithms=["HS256"], audience=AUDIENCE, options={"verify_exp": False}
    )
    assert claims["sub"] == "alex" and claims["exp"] - claims["iat"] <= 24 * 3600
    assert "conversation_id" in request.path


def validate_bus(name: str, sample: dict) -> None:
    detail_type, _ = validate_envelope(sample)
    assert Path(name).stem == detail_type, "a bus sample is named after its detail-type"


def validate_sqs(name: str, sample: dict) -> None:
    batch = SqsModel.model_validate(sample)
    assert batch.Records
    rules = {rule.queue_name: rule for rule in topology.RULES}
    for record in batch.Records:
        queue = record.eventSourceARN.rsplit(":", 1)[-1]
        assert queue in rules, f"{queue} is not a queue of the topology"
        detail_type, _ = validate_envelope(json.loads(record.body))
        assert detail_type in rules[queue].detail_types, f"the {queue} rule does not deliver {detail_type}"


def validate_task(name: str, sample: dict) -> None:
    kind = Path(name).stem
    assert kind in TASKS, f"no task model for {kind!r}"
    assert sample["kind"] == kind
    TASKS[kind].model_validate(sample)
    if kind in ("turn.receive", "turn.reply"):  # both go to the ingest function, which tells them apart by kind
        assert isinstance(IngestTask.model_validate({"task": sample}).task, TASKS[kind])


def validate_whatsapp(name: str, sample: dict) -> None:
    from datetime import datetime

    from concierge.channels.whatsapp import parse_webhook

    messages = parse_webhook(sample, datetime.now(UTC))
    assert messages and all(m.verified and m.text for m in messages)


def validate_ses(name: str, sample: dict) -> None:
    from concierge.channels.inbound_email import sender_verified

    assert sample["Records"]
    for record in sample["Records"]:
        assert record["eventSource"] == "aws:ses"
        assert record["ses"]["mail"]["messageId"]
        sender_verified(record["ses"]["receipt"], record["ses"]["mail"])


VALIDATORS = {
    "api": validate_api,
    "bus": validate_bus,
    "sqs": validate_sqs,
    "tasks": validate_task,
    "whatsapp": validate_whatsapp,
    "ses": validate_ses,
}


def test_there_are_samples():
    assert len(SAMPLES) >= 11


@pytest.mark.parametrize("name", SAMPLES)
def test_sample_is_valid(name):
    directory = name.split("/")[0]
    if directory not in VALIDATORS or name.count("/") != 1:
        pytest.fail(f"events/{name} is not mapped to a model: put it in one of {sorted(VALIDATORS)} or map it here")
    VALIDATORS[directory](name, load(name))


def test_every_event_type_and_task_kind_has_a_sample():
    assert {Path(n).stem for n in SAMPLES if n.startswith("bus/")} == set(EVENT_TYPES)
    assert {Path(n).stem for n in SAMPLES if n.startswith("tasks/")} == set(TASKS)
    assert "api/turn-request.json" in SAMPLES
    assert any(n.startswith("sqs/") for n in SAMPLES)


def test_the_turn_samples_follow_one_conversation():
    request = load("api/turn-request.json")
    assert load("tasks/turn.receive.json")["request"] == request
    conversation_id = request["path"]["conversation_id"]
    for kind in ("turn.retrieve", "turn.decide", "turn.act", "turn.reply"):
        assert load(f"tasks/{kind}.json")["turn"]["conversation_id"] == conversation_id
    act = ActTask.model_validate(load("tasks/turn.act.json")).turn
    assert act.decision.next == "actions" and act.decision.tool_calls and act.loop.steps >= 1
    reply = ReplyTask.model_validate(load("tasks/turn.reply.json")).turn
    assert reply.decision.next == "reply" and reply.decision.reply


def test_the_sqs_batch_bodies_carry_the_bus_samples_format():
    for record in load("sqs/conversation-closed-batch.json")["Records"]:
        envelope = json.loads(record["body"])
        assert set(envelope) == set(load("bus/conversation.closed.json"))


@pytest.fixture
def memory(monkeypatch):
    from moto import mock_aws

    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    table = topology.MEMORY_TABLE
    with mock_aws():
        dynamodb = boto3.resource("dynamodb", region_name="us-east-1")
        created = dynamodb.create_table(
            TableName="concierge-memory",
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[
                {"AttributeName": table.partition_key, "KeyType": "HASH"},
                {"AttributeName": table.sort_key, "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": table.partition_key, "AttributeType": "S"},
                {"AttributeName": table.sort_key, "AttributeType": "S"},
            ],
        )
        yield MemoryStore(created, ttl_days=365)


def test_the_sqs_sample_is_scored_and_stored(memory):
    for record in load("sqs/conversation-closed-batch.json")["Records"]:
        envelope = json.loads(record["body"])
        scored = record_auto_csat(envelope, memory)

        _, event = validate_envelope(envelope)
        assert scored == score_conversation(event)
        stored = memory.get_score(event.conversation_id, "auto")
        assert stored["score"] == scored.score and stored["raw"] == pytest.approx(scored.raw)
        assert [r["factor"] for r in stored["reasons"]] == [r.factor for r in scored.reasons]

        again = record_auto_csat(envelope, memory)  # a redelivered message overwrites the same record
        assert again == scored
        assert memory.get_score(event.conversation_id, "auto")["score"] == scored.score


def test_scoring_refuses_another_event_type(memory):
    with pytest.raises(ValueError, match=re.escape("unexpected event type 'turn.completed'")):
        record_auto_csat(load("bus/turn.completed.json"), memory)
