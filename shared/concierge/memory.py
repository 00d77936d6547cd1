"""Conversation memory in DynamoDB (single table).

Access patterns first, then keys:
- a conversation and its state, by id ............ pk=CONV#<id>  sk=META
- its messages in order ........................... pk=CONV#<id>  sk=MSG#<seq:06d>
- its turns (signals, engine, latency) ............ pk=CONV#<id>  sk=TURN#<seq:06d>
- its actions (pending, executed, denied…) ........ pk=CONV#<id>  sk=ACTION#<action id>
- its handoffs (with the transcript) .............. pk=CONV#<id>  sk=HANDOFF#<iso time>
- its satisfaction scores ......................... pk=CONV#<id>  sk=SCORE#<kind>
- a customer's profile and last-conversation recall pk=CUST#<id>  sk=PROFILE
Every item carries `expires_at` (TTL, epoch seconds) from the merchant's retention setting.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from boto3.dynamodb.conditions import Key
from pydantic import BaseModel, Field

from concierge.api import Channel
from concierge.clock import now
from concierge.errors import Conflict
from concierge.turn import ActionResult, ConversationSnapshot, ConversationStatus, ToolCall


def _conv(conversation_id: str) -> str:
    return f"CONV#{conversation_id}"


def _cust(customer_id: str) -> str:
    return f"CUST#{customer_id}"


def to_dynamo(value: Any) -> Any:
    """DynamoDB wants Decimal, not float; datetimes are stored as ISO strings."""
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: to_dynamo(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [to_dynamo(v) for v in value]
    return value


def from_dynamo(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: from_dynamo(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_dynamo(v) for v in value]
    return value


class ConversationRecord(BaseModel):
    """The META item: the conversation's state and the running figures Auto-CSAT needs at close."""

    conversation_id: str
    customer_id: str
    channel: Channel
    status: ConversationStatus = ConversationStatus.OPEN
    started_at: datetime
    updated_at: datetime
    message_seq: int = 0
    customer_turns: int = 0
    flow: dict[str, Any] = Field(default_factory=dict)
    intents: list[str] = Field(default_factory=list)
    sentiments: list[float] = Field(default_factory=list)
    message_fingerprints: list[str] = Field(default_factory=list)
    repeated_messages: int = 0
    actions_executed: list[str] = Field(default_factory=list)
    actions_failed: int = 0
    handoff_reason: str | None = None
    first_response_ms: int | None = None
    resolved: bool = False
    facts: list[str] = Field(default_factory=list, description="what was done, for the summary at close")

    def snapshot(self) -> ConversationSnapshot:
        return ConversationSnapshot(
            status=self.status, started_at=self.started_at, customer_turns=self.customer_turns, flow=self.flow
        )


class Profile(BaseModel):
    customer_id: str
    conversations: int = 0
    last_summary: str | None = None
    last_conversation_id: str | None = None
    last_closed_at: datetime | None = None


class MemoryStore:
    def __init__(self, table, ttl_days: int) -> None:
        self._table = table
        self._ttl = timedelta(days=ttl_days)

    def _expires(self) -> int:
        return int((now() + self._ttl).timestamp())

    # conversations -------------------------------------------------------------------------
    def get_conversation(self, conversation_id: str) -> ConversationRecord | None:
        item = self._table.get_item(Key={"pk": _conv(conversation_id), "sk": "META"}, ConsistentRead=True).get("Item")
        return ConversationRecord.model_validate(from_dynamo(item)) if item else None

    def _meta_item(self, record: ConversationRecord) -> dict:
        return to_dynamo(
            {"pk": _conv(record.conversation_id), "sk": "META", "expires_at": self._expires(), **record.model_dump(mode="json")}
        )

    def _message_item(self, record: ConversationRecord, role: str, text: str, at: datetime, channel: str) -> dict:
        return to_dynamo(
            {
                "pk": _conv(record.conversation_id),
                "sk": f"MSG#{record.message_seq:06d}",
                "role": role,
                "text": text,
                "channel": channel,
                "at": at,
                "turn": record.customer_turns,
                "expires_at": self._expires(),
            }
        )

    def append_customer_message(self, record: ConversationRecord, text: str, at: datetime, expected_seq: int | None) -> None:
        """Write the message and the updated META in one transaction; a concurrent writer makes it fail, not interleave."""
        meta_put: dict[str, Any] = {"TableName": self._table.name, "Item": self._meta_item(record)}
        if expected_seq is None:
            meta_put["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            meta_put["ConditionExpression"] = "message_seq = :seq"
            meta_put["ExpressionAttributeValues"] = {":seq": expected_seq}
        client = self._table.meta.client
        try:
            self._transact(
                [
                    {"Put": {"TableName": self._table.name, "Item": self._message_item(record, "customer", text, at, record.channel)}},
                    {"Put": meta_put},
                ]
            )
        except client.exceptions.TransactionCanceledException as exc:
            raise Conflict("Another message in this conversation is being processed; please retry.") from exc

    def record_reply(self, record: ConversationRecord, text: str, at: datetime, turn_item: dict, extra: list[dict] = ()) -> None:
        """Assistant message, turn record and META (plus e.g. a handoff or profile item) in one transaction."""
        items = [
            self._message_item(record, "assistant", text, at, record.channel),
            to_dynamo({"pk": _conv(record.conversation_id), "sk": f"TURN#{record.customer_turns:06d}", "expires_at": self._expires(), **turn_item}),
            self._meta_item(record),
            *[to_dynamo({**item, "expires_at": self._expires()}) for item in extra],
        ]
        self._transact([{"Put": {"TableName": self._table.name, "Item": item}} for item in items])

    def _transact(self, operations: list[dict]) -> None:
        # The resource's client serializes plain Python values itself (boto3's DynamoDB transformation).
        self._table.meta.client.transact_write_items(TransactItems=operations)

    def recent_messages(self, conversation_id: str, limit: int = 10) -> list[dict[str, str]]:
        response = self._table.query(
            KeyConditionExpression=Key("pk").eq(_conv(conversation_id)) & Key("sk").begins_with("MSG#"),
            ScanIndexForward=False,
            Limit=limit,
        )
        return [{"role": item["role"], "text": item["text"]} for item in reversed(response.get("Items", []))]

    def transcript(self, conversation_id: str) -> list[dict[str, Any]]:
        items, kwargs = [], {
            "KeyConditionExpression": Key("pk").eq(_conv(conversation_id)) & Key("sk").begins_with("MSG#")
        }
        while True:
            response = self._table.query(**kwargs)
            items.extend(response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                break
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return [{"role": i["role"], "text": i["text"], "channel": i["channel"], "at": i["at"]} for i in items]

    def record_handoff(self, conversation_id: str, reason: str, summary: str, transcript: list[dict]) -> None:
        at = now()
        self._table.put_item(
            Item=to_dynamo(
                {
                    "pk": _conv(conversation_id),
                    "sk": f"HANDOFF#{at.isoformat()}",
                    "reason": reason,
                    "summary": summary,
                    "transcript": transcript,
                    "created_at": at,
                    "expires_at": self._expires(),
                }
            )
        )

    # actions -----------------------------------------------------------------------------
    def put_action(self, conversation_id: str, customer_id: str, call: ToolCall, result: ActionResult, effect: dict | None) -> None:
        self._table.put_item(
            Item=to_dynamo(
                {
                    "pk": _conv(conversation_id),
                    "sk": f"ACTION#{result.action_id}",
                    "customer_id": customer_id,
                    "tool": call.tool,
                    "arguments": call.arguments,
                    "status": result.status.value,
                    "reason": result.reason,
                    "result": result.result,
                    "effect": effect,
                    "updated_at": now(),
                    "expires_at": self._expires(),
                }
            )
        )

    def get_action(self, conversation_id: str, action_id: str) -> dict | None:
        item = self._table.get_item(Key={"pk": _conv(conversation_id), "sk": f"ACTION#{action_id}"}, ConsistentRead=True).get("Item")
        return from_dynamo(item) if item else None

    def settle_action(self, conversation_id: str, action_id: str, status: str, result: dict, reason: str | None) -> bool:
        """Move a pending action to its final status exactly once; False if it was not pending any more."""
        try:
            self._table.update_item(
                Key={"pk": _conv(conversation_id), "sk": f"ACTION#{action_id}"},
                UpdateExpression="SET #s = :s, #r = :r, reason = :why, updated_at = :at",
                ConditionExpression="#s = :pending",
                ExpressionAttributeNames={"#s": "status", "#r": "result"},
                ExpressionAttributeValues=to_dynamo(
                    {":s": status, ":r": result, ":why": reason or "", ":at": now(), ":pending": "pending_confirmation"}
                ),
            )
        except self._table.meta.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    # profiles ----------------------------------------------------------------------------
    def get_profile(self, customer_id: str) -> Profile | None:
        item = self._table.get_item(Key={"pk": _cust(customer_id), "sk": "PROFILE"}).get("Item")
        return Profile.model_validate(from_dynamo(item)) if item else None

    def profile_item(self, profile: Profile) -> dict:
        return {"pk": _cust(profile.customer_id), "sk": "PROFILE", **profile.model_dump(mode="json")}

    # scores ------------------------------------------------------------------------------
    def put_score(self, conversation_id: str, kind: str, score: dict) -> None:
        self._table.put_item(
            Item=to_dynamo({"pk": _conv(conversation_id), "sk": f"SCORE#{kind}", **score, "expires_at": self._expires()})
        )

    def get_score(self, conversation_id: str, kind: str) -> dict | None:
        item = self._table.get_item(Key={"pk": _conv(conversation_id), "sk": f"SCORE#{kind}"}).get("Item")
        return from_dynamo(item) if item else None
