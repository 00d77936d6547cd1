"""What a reply writes with its turn, in one transaction (MemoryStore.record_reply; DynamoDB on moto)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from concierge.conversation.api import Channel
from concierge.conversation.turn import ActionResult, ActionStatus, ConversationStatus, Signals, ToolCall
from concierge.memory import keys
from concierge.memory.store import ConversationRecord, Fact, Profile, Summary, TurnEntry
from concierge.platform.errors import Conflict
from concierge.reasoning.costs import Usage
from tests.unit.test_memory_rules import tables  # noqa: F401  # the moto tables fixture
from tests.unit.test_privacy_writes import EXPIRES, NOW, contents, ordered, put

STARTED = NOW - timedelta(minutes=5)
ALEX = keys.customer_pk("alex")
CONVERSATION = keys.conversation_pk("c-1")


@pytest.fixture
def memory(tables, monkeypatch):
    for module in ("concierge.memory.store", "concierge.memory.storage"):
        monkeypatch.setattr(f"{module}.now", lambda: NOW)
    return tables[0]


def stored(**changes) -> ConversationRecord:
    return ConversationRecord(
        conversation_id="c-1",
        customer_id="alex",
        channel=Channel.WEB,
        started_at=STARTED,
        updated_at=STARTED,
        message_seq=1,
        customer_turns=1,
        **changes,
    )


def test_a_closing_reply_is_written_with_its_turn_memory_lookups_and_deletions(memory):
    before = stored()
    meta = {
        "pk": CONVERSATION,
        "sk": keys.META,
        "expires_at": EXPIRES,
        **before.model_dump(mode="json", exclude_none=True),
    }
    open_entry = {"pk": ALEX, "sk": keys.open_sk("c-1"), "conversation_id": "c-1", "expires_at": EXPIRES}
    old_fact = {"pk": ALEX, "sk": keys.fact_sk("open_issue:NW1"), "key": "open_issue:NW1", "expires_at": EXPIRES}
    proposal = {"pk": CONVERSATION, "sk": keys.action_sk("a-1"), "tool": "cancel_order", "expires_at": EXPIRES}
    put(meta, open_entry, old_fact, proposal)
    record = before.model_copy(
        update={"message_seq": 2, "updated_at": NOW, "status": ConversationStatus.CLOSED, "resolved": True}
    )
    fact = Fact(key="size:tops", kind="size", text="you exchanged for the M", conversation_id="c-1", updated_at=NOW)
    summary = Summary(conversation_id="c-1", closed_at=NOW, channel=Channel.WEB, text="we exchanged your shirt.")
    profile = Profile(customer_id="alex", conversations=1, last_summary=summary.text, last_conversation_id="c-1")
    signals = Signals(intent="thanks", intent_confidence=0.75, sentiment=0.5)
    usage = Usage(input_tokens=10, output_tokens=5, model_calls=1, cost_usd=0.25)
    lookup = ActionResult(
        action_id="a-2", call_id="k", tool="track_shipment", status=ActionStatus.EXECUTED, result={"order_id": "NW2"}
    )
    call = ToolCall(id="k", tool="track_shipment", arguments={"order_id": "NW2"})

    memory.record_reply(
        record,
        "Glad to help!",
        NOW,
        TurnEntry(
            signals=signals, engine="deterministic", tools=["track_shipment"], latency_ms=120, usage=usage, at=NOW
        ),
        [memory.fact_put("alex", fact), memory.profile_put(profile), memory.summary_put("alex", summary)],
        [memory.close_open_entry("alex", "c-1"), memory.forget_fact("alex", "open_issue:NW1")],
        expected_seq=1,
        expected_at=meta["updated_at"],
        turn_number=1,
        shown=["a-1"],
        actions=[memory.action_put("c-1", "alex", call, lookup, None)],
    )

    assert contents() == ordered(
        [
            {
                "pk": CONVERSATION,
                "sk": keys.META,
                "expires_at": EXPIRES,
                **record.model_dump(mode="json", exclude_none=True),
            },
            {
                "pk": CONVERSATION,
                "sk": keys.message_sk(2),
                "role": "assistant",
                "text": "Glad to help!",
                "channel": "web",
                "at": NOW.isoformat(),
                "turn": 1,
                "expires_at": EXPIRES,
            },
            {
                "pk": CONVERSATION,
                "sk": keys.turn_sk(1),
                "signals": {
                    "intent": "thanks",
                    "intent_confidence": 0.75,
                    "sentiment": 0.5,
                    "frustrated": False,
                    "wants_human": False,
                    "asks": False,
                },
                "engine": "deterministic",
                "tools": ["track_shipment"],
                "latency_ms": 120,
                "errors": {},
                "usage": {
                    "input_tokens": 10,
                    "output_tokens": 5,
                    "cache_read_tokens": 0,
                    "cache_write_tokens": 0,
                    "model_calls": 1,
                    "cost_usd": 0.25,
                },
                "at": NOW.isoformat(),
                "expires_at": EXPIRES,
            },
            {**proposal, "shown_at": NOW.isoformat()},
            {
                "pk": CONVERSATION,
                "sk": keys.action_sk("a-2"),
                "customer_id": "alex",
                "tool": "track_shipment",
                "arguments": {"order_id": "NW2"},
                "status": "executed",
                "result": {"order_id": "NW2"},
                "updated_at": NOW.isoformat(),
                "expires_at": EXPIRES,
            },
            {
                "pk": ALEX,
                "sk": keys.customer_conversation_sk("c-1"),
                "conversation_id": "c-1",
                "started_at": STARTED.isoformat(),
                "channel": "web",
                "expires_at": EXPIRES,
            },
            {
                "pk": ALEX,
                "sk": keys.fact_sk("size:tops"),
                "expires_at": EXPIRES,
                **fact.model_dump(mode="json", exclude_none=True),
            },
            {
                "pk": ALEX,
                "sk": keys.PROFILE,
                "customer_id": "alex",
                "conversations": 1,
                "last_summary": "we exchanged your shirt.",
                "last_conversation_id": "c-1",
                "personalization": True,
                "surveys": True,
                "merged_from": [],
                "expires_at": EXPIRES,
            },
            {
                "pk": ALEX,
                "sk": keys.summary_sk(NOW, "c-1"),
                "expires_at": EXPIRES,
                **summary.model_dump(mode="json", exclude_none=True),
            },
        ]
    )


def test_a_reply_built_on_a_conversation_that_changed_since_writes_nothing(memory):
    before = stored()
    put({"pk": CONVERSATION, "sk": keys.META, **before.model_dump(mode="json", exclude_none=True), "message_seq": 2})
    unchanged = contents()
    with pytest.raises(Conflict):
        memory.record_reply(
            before.model_copy(update={"message_seq": 2, "updated_at": NOW}),
            "Hello",
            NOW,
            TurnEntry(signals=Signals(intent="greeting", intent_confidence=1, sentiment=0), engine="fallback", at=NOW),
            expected_seq=1,
            expected_at=before.model_dump(mode="json")["updated_at"],
        )
    assert contents() == unchanged
