"""The asynchronous path, as deployed: bus -> rule -> SQS (with a DLQ) -> surveys function with partial-batch
failures. A bad event never blocks good ones and is never lost."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import boto3

from concierge.local.stack import REGION
from concierge.platform import topology, wiring
from concierge.platform.events import ConversationClosed, EventPublisher
from concierge.platform.settings import IngestSettings, current_settings

RULE = topology.RULES[0]


def closed(conversation_id: str, **changes) -> ConversationClosed:
    now = datetime.now(UTC)
    fields = {
        "occurred_at": now,
        "conversation_id": conversation_id,
        "customer_id": "sam",
        "channel": "web",
        "started_at": now,
        "turns": 2,
        "resolution": "resolved",
        "intents": ["tracking", "thanks"],
        "sentiments": [0.0, 0.6],
        "thanked": True,
    }
    return ConversationClosed(**(fields | changes))


def test_a_published_closed_conversation_is_scored(stack):
    EventPublisher(boto3.client("events", region_name=REGION), current_settings(IngestSettings).event_bus).publish(
        closed("ev-good")
    )
    while stack.poll_once():
        pass
    score = wiring.memory_store(current_settings(IngestSettings)).get_score("ev-good", "auto")
    assert score["score"] >= 4


def test_a_poison_message_lands_in_the_dead_letter_queue_and_good_ones_still_score(stack):
    sqs = boto3.client("sqs", region_name=REGION)
    queue = sqs.get_queue_url(QueueName=RULE.queue_name)["QueueUrl"]
    good = {
        "source": topology.EVENT_SOURCE,
        "detail-type": "conversation.closed",
        "detail": json.loads(closed("ev-batch").model_dump_json()),
    }
    sqs.send_message(
        QueueUrl=queue,
        MessageBody=json.dumps({"detail-type": "conversation.closed", "detail": {"conversation_id": "broken"}}),
    )
    sqs.send_message(QueueUrl=queue, MessageBody=json.dumps(good))

    deadline = time.monotonic() + 30
    while stack.dead_letters()[RULE.name] == 0 and time.monotonic() < deadline:
        stack.poll_once()
        time.sleep(0.5)  # the local queue's visibility timeout is 2 s; failed messages come back after it

    assert stack.dead_letters()[RULE.name] == 1
    assert wiring.memory_store(current_settings(IngestSettings)).get_score("ev-batch", "auto") is not None
    assert wiring.memory_store(current_settings(IngestSettings)).get_score("broken", "auto") is None
