"""Conversation and customer memory in DynamoDB (one table). See docs/memory.md for the full model.

Access patterns first, then keys (built only in keys.py, which also declares each kind of item for erasure):
- a conversation and its state, by id ............ pk=CONV#<id>  sk=META
- its messages in order (any channel) ............. pk=CONV#<id>  sk=MSG#<seq:06d>
- its turns (signals, engine, latency) ............ pk=CONV#<id>  sk=TURN#<seq:06d>
- its actions (pending, executed, denied…) ........ pk=CONV#<id>  sk=ACTION#<action id>
- its handoffs (with the transcript) .............. pk=CONV#<id>  sk=HANDOFF#<iso time>
- its satisfaction scores and survey offers ....... pk=CONV#<id>  sk=SCORE#<auto|csat|nps|ces>  (surveys/store.py)
- a customer's profile (counters, consent) ........ pk=CUST#<id>  sk=PROFILE
- their durable facts (sizes, open issues…) ....... pk=CUST#<id>  sk=FACT#<key>           (upserted by key)
- their conversation summaries, newest first ...... pk=CUST#<id>  sk=SUMMARY#<closed iso>#<conversation id>
- their conversations (export, erasure) ........... pk=CUST#<id>  sk=CONV#<conversation id>
- their open conversations (threading) ............ pk=CUST#<id>  sk=OPEN#<conversation id>  (deleted at close)
- their verified channel identities ............... pk=CUST#<id>  sk=IDENT#<channel>#<address>
- their audit trail (links, merges, unmerges) ..... pk=CUST#<id>  sk=AUDIT#<iso time>#<n>
- when they were last offered NPS ................. pk=CUST#<id>  sk=SURVEYED#nps
- who a channel address belongs to ................ pk=IDENT#<channel>#<address>  sk=IDENTITY
- Auto-CSAT beside real CSAT, per day (calibration)  pk=CSATPAIR#<yyyy-mm-dd>  sk=<hash of conversation id>
- which conversation an email we sent belongs to .. pk=MSGID#<Message-ID>  sk=THREAD
- a provider message already taken in (dedupe) .... pk=INBOX#<channel>#<message id>  sk=RECEIVED
A turn reads a bounded amount whatever the history: the conversation's state, its owner and the customer's profile
in one batch (`load_conversation`), then queries with a Limit (summaries and facts at a conversation's first message;
recent messages and actions where a model decides), so 500 past conversations cost what 5 do.
Every item carries `expires_at` (TTL, epoch seconds) from the merchant's retention setting.

This store holds the table; storage.py is its access layer (paging, TTL, conversion, conditional writes,
transactions), which `storage` hands to the repositories of other records: approvals (actions/approvals.py),
handoff ownership and the queue (handoff/queue.py), surveys (surveys/store.py) and KPIs (metrics/store.py). No other
module reaches the table (tests/unit/test_storage.py; CONTRIBUTING.md, "Storage").

Callers get typed methods, and the items this store builds are typed `Put`s with their TTL (`fact_put`,
`summary_put`, `profile_put`, `action_put`, `audit_put`…) that only its own writes take (`record_reply`, `load`). A
write that spans aggregates is composed here: a reply with its turn and memory, a link with its audit entry
(`save_identity`), a merge and an unmerge (`merge_customers`, `unmerge_customers`), what an erasure deletes
(`erasure`). No other module calls a key builder or `to_dynamo` (tests/unit/test_keys.py).
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Attr, Key
from pydantic import BaseModel, ConfigDict, Field
from pydantic_core import to_jsonable_python

from concierge.conversation.api import Channel
from concierge.conversation.turn import ActionResult, ConversationStatus, ProfileRead, Signals, ToolCall
from concierge.conversation.turn import (
    ConversationRecord as ConversationRecord,  # declared beside the turn that carries it
)
from concierge.conversation.turn import Profile as Profile  # the same
from concierge.memory import keys
from concierge.memory.storage import Cancelled, Delete, Operation, Put, Storage, Update, from_dynamo, to_dynamo
from concierge.platform.clock import now
from concierge.platform.errors import Busy, Conflict
from concierge.reasoning.costs import Usage

if TYPE_CHECKING:
    from concierge.offers.guardrails import Exposure, OfferDecision

# Bounds of a context build: the same number of reads and items whatever the customer's history.
RECALL_SUMMARIES = 3
RECALL_FACTS = 20
OPEN_CONVERSATIONS = 5
# The audit action of an offer decision (offers/guardrails.audit_item).
OFFER_DECIDED = "offer.decided"
# Another message of the conversation holds it: nothing of this one was kept, the same message may be sent again.
TURN_IN_PROGRESS = "Another message in this conversation is being processed; please retry."
OFFER_WRITE_ATTEMPTS = 3  # a moment's decisions, tried again when a concurrent moment held a shared counter
# The upper bound of an audit-trail time range.
_END_OF_TIME = datetime.max.replace(tzinfo=UTC)
# What a merge copies from the source into the target (identities are moved, not copied).
COPIED_ON_MERGE = (keys.FACT, keys.SUMMARY, keys.CONVERSATION)
# The audit actions of merges (on both customers).
CUSTOMER_MERGED = "customer.merged"
CUSTOMER_UNMERGED = "customer.unmerged"
MERGE_AUDITS = frozenset({CUSTOMER_MERGED, CUSTOMER_UNMERGED})


class Identity(BaseModel):
    """A channel address proven to belong to a customer. Only verified addresses are ever stored here."""

    model_config = ConfigDict(defer_build=True)

    channel: Channel
    address: str
    customer_id: str
    verified_by: str
    linked_at: datetime


class Fact(BaseModel):
    """Something durable about a customer, upserted by key: a size, a preference, an open issue, an interest."""

    model_config = ConfigDict(defer_build=True)

    key: str = Field(description="e.g. 'size:tops', 'open_issue:NW10005', 'interest:trail-jacket'")
    kind: str = Field(description="size | preference | open_issue | interest")
    text: str = Field(description="how it reads in a greeting or a prompt")
    conversation_id: str
    updated_at: datetime
    origin_customer_id: str | None = Field(None, description="set on copies made by a merge, so unmerge removes them")


class Summary(BaseModel):
    model_config = ConfigDict(defer_build=True)

    conversation_id: str
    closed_at: datetime
    channel: Channel
    text: str
    intents: list[str] = Field(default_factory=list)
    origin_customer_id: str | None = None


class TurnEntry(BaseModel):
    """A turn's record (`TURN#`, written with its reply by `record_reply`): what was read and decided, and its cost."""

    model_config = ConfigDict(defer_build=True)

    signals: Signals
    engine: str
    tools: list[str] = Field(default_factory=list)
    latency_ms: int = 0
    errors: dict[str, Any] = Field(default_factory=dict)
    usage: Usage = Field(default_factory=Usage)
    at: datetime


@dataclass(frozen=True)
class Merged:
    """What `merge_customers` did."""

    identities: list[str]  # "channel:address" of each identity re-pointed to the target
    copied: int  # facts, summaries and conversation entries copied into the target


@dataclass(frozen=True)
class Unmerged:
    """What `unmerge_customers` did."""

    identities: list[str]  # "channel:address" of each identity given back to the source


@dataclass(frozen=True)
class Erasure:
    """What erasing a customer deletes (`MemoryStore.erasure`)."""

    held: bool  # the customer's partition held anything
    keys: list[tuple[str, str]]  # (pk, sk) of every item, in order
    objects: list[str]  # the mail objects (raw emails, attachments) of their messages, in order


class AlreadyMerged(Exception):
    """The source customer was merged before (it carries a MERGED_INTO marker)."""

    def __init__(self, source_id: str) -> None:
        super().__init__(f"{source_id} is already merged")
        self.source_id = source_id


class NotMerged(Exception):
    """The source customer is not merged into the target."""

    def __init__(self, source_id: str, target_id: str) -> None:
        super().__init__(f"{source_id} is not merged into {target_id}")
        self.source_id, self.target_id = source_id, target_id


@dataclass(frozen=True)
class Loaded:
    """A conversation as a message finds it (`MemoryStore.load_conversation`)."""

    record: ConversationRecord | None
    owner: dict[str, Any] | None  # the OWNER item, which handoff/queue.py reads
    profile: ProfileRead


class MemoryStore:
    def __init__(self, table: Any, ttl_days: int) -> None:
        # `table`: a boto3 DynamoDB Table (or aws.PerThreadTable); boto3 publishes no types.
        self._table = table
        self._storage = Storage(table, ttl_days)

    def _expires(self) -> int:
        return self._storage.expiry()

    @property
    def storage(self) -> Storage:
        """The table's access layer, for the repositories that keep their own records in it (approvals.py,
        handoff/queue.py, surveys/store.py, metrics/store.py). No other module may use it
        (tests/unit/test_storage.py)."""
        return self._storage

    def expiry(self) -> int:
        """The TTL attribute's value for an item written now."""
        return self._expires()

    def load(self, puts: Sequence[Put]) -> int:
        """Write items this store built (`conversation_put`, `message_put`, `fact_put`…) as they are, in batches and
        without a transaction: a bulk load of sample data or a benchmark's history, never a product write."""
        return self._storage.put_many(puts)

    # conversations -------------------------------------------------------------------------
    def get_conversation(self, conversation_id: str) -> ConversationRecord | None:
        key = {"pk": keys.conversation_pk(conversation_id), "sk": keys.META}
        item = self._table.get_item(Key=key, ConsistentRead=True).get("Item")
        return ConversationRecord.model_validate(from_dynamo(item)) if item else None

    def load_conversation(self, conversation_id: str, customer_id: str) -> Loaded:
        """What receiving a message needs, in one BatchGetItem: the conversation's state, who owns it
        (handoff/queue.py's OWNER item) and the customer's profile (for the long-term recall at a conversation's first
        message)."""
        record, owner, profile = self._storage.get_many(
            [
                {"pk": keys.conversation_pk(conversation_id), "sk": keys.META},
                {"pk": keys.conversation_pk(conversation_id), "sk": keys.OWNER},
                {"pk": keys.customer_pk(customer_id), "sk": keys.PROFILE},
            ],
            consistent=True,
        )
        return Loaded(
            record=ConversationRecord.model_validate(record) if record else None,
            owner=owner,
            profile=ProfileRead(profile=Profile.model_validate(profile) if profile else None),
        )

    def conversation_put(self, record: ConversationRecord) -> Put:
        """The conversation's state (META), unconditioned: the writes below add the condition that keeps a
        concurrent writer out; `load` writes it as it is."""
        return Put(
            to_dynamo(
                {
                    "pk": keys.conversation_pk(record.conversation_id),
                    "sk": keys.META,
                    "expires_at": self._expires(),
                    **record.model_dump(mode="json"),
                }
            )
        )

    def message_put(
        self,
        record: ConversationRecord,
        role: str,
        text: str,
        at: datetime,
        channel: str,
        fields: dict[str, Any] | None = None,
    ) -> Put:
        """Message number `record.message_seq` of the conversation, unconditioned (as `conversation_put`)."""
        return Put(
            to_dynamo(
                {
                    **(fields or {}),
                    "pk": keys.conversation_pk(record.conversation_id),
                    "sk": keys.message_sk(record.message_seq),
                    "role": role,
                    "text": text,
                    "channel": channel,
                    "at": at,
                    "turn": record.customer_turns,
                    "expires_at": self._expires(),
                }
            )
        )

    def append_customer_message(
        self,
        record: ConversationRecord,
        text: str,
        at: datetime,
        expected_seq: int | None,
        fields: dict[str, Any] | None = None,
    ) -> None:
        """Write the message, the updated META and the customer's index entries in one transaction; a concurrent
        writer makes it fail, not interleave. `fields` carries channel details (provider id, attachments)."""
        meta = self.conversation_put(record)
        if expected_seq is None:
            meta = replace(meta, condition="attribute_not_exists(pk)")
        else:
            meta = replace(meta, condition="message_seq = :seq", values={":seq": expected_seq})
        message = self.message_put(record, "customer", text, at, record.channel, fields)
        try:
            self._storage.transact([message, meta, *self.conversation_index_puts(record)])
        except Cancelled as exc:
            raise Busy(TURN_IN_PROGRESS) from exc

    def record_reply(
        self,
        record: ConversationRecord,
        text: str,
        at: datetime,
        turn: TurnEntry,
        extra: Sequence[Put] = (),
        deletes: Sequence[Delete] = (),
        expected_seq: int | None = None,
        expected_at: str | None = None,
        turn_number: int | None = None,
        shown: Sequence[str] = (),
        actions: Sequence[Put] = (),
    ) -> None:
        """Assistant message, turn record, META and the customer's index entries (plus e.g. a handoff, profile,
        summary or fact item; and deletions such as the open-topic entry at close) in one transaction.

        With `expected_seq` (the sequence number the record was built from), nothing is overwritten: the message
        takes a new sequence number and META changes only if no other message came in since and nothing else
        changed it (its `updated_at` is still the record's: a person closing it, say); otherwise Conflict, and the
        caller rebuilds from the conversation as it now is. `actions` are action records the turn did not write
        (`action_put`: lookups, which change nothing), written with the reply. `turn_number` keys the turn record
        by the customer message it answers (default: the record's count). `shown` are the proposals (action ids) the
        reply states: they are marked shown in the same transaction, so none can be confirmed before the reply is
        stored.

        The composition stays here, in one transaction: `extra` are puts this store built (`fact_put`,
        `profile_put`, `summary_put`) and `deletes` deletions it made (`close_open_entry`, `forget_fact`), so a
        caller never spells a key or an item, and a reply cannot be stored without them."""
        message = self.message_put(record, "assistant", text, at, record.channel)
        meta = self.conversation_put(record)
        if expected_seq is not None:
            message = replace(message, condition="attribute_not_exists(sk)")
            meta = replace(
                meta,
                condition="message_seq = :seq AND updated_at = :at",
                values={":seq": expected_seq, ":at": expected_at},
            )
        number = turn_number if turn_number is not None else record.customer_turns
        entry = Put(
            to_dynamo(
                {
                    "pk": keys.conversation_pk(record.conversation_id),
                    "sk": keys.turn_sk(number),
                    "expires_at": self._expires(),
                    **turn.model_dump(),
                }
            )
        )
        marks = [
            Update(
                self._action_key(record.conversation_id, action_id),
                "SET shown_at = :at",
                condition="attribute_exists(sk)",
                values={":at": at},
            )
            for action_id in shown
        ]
        try:
            self._storage.transact(
                [message, meta, entry, *self.conversation_index_puts(record), *extra, *actions, *deletes, *marks]
            )
        except Cancelled as exc:
            raise Conflict(
                f"Another message came in while the reply was written; it is written again. {exc.reasons}"
            ) from exc

    def append_notice(
        self,
        conversation_id: str,
        key: str,
        text: str,
        at: datetime,
        attempts: int = 5,
        role: str = "assistant",
        author: str | None = None,
    ) -> ConversationRecord | None:
        """A message outside a turn (the outcome of an approval; an agent's reply), once per `key`: the message, the
        next sequence number and a marker in one transaction. None if the notice was already written; the
        conversation record otherwise (None too when the conversation no longer exists, e.g. erased)."""
        for _ in range(attempts):
            record = self.get_conversation(conversation_id)
            if record is None:
                return None
            updated = record.model_copy(update={"message_seq": record.message_seq + 1, "updated_at": at})
            message = self.message_put(updated, role, text, at, record.channel, {"author": author} if author else None)
            meta = replace(
                self.conversation_put(updated), condition="message_seq = :seq", values={":seq": record.message_seq}
            )
            marker = Put(
                to_dynamo(
                    {
                        "pk": keys.conversation_pk(conversation_id),
                        "sk": keys.notice_sk(key),
                        "at": at,
                        "expires_at": self._expires(),
                    }
                ),
                condition="attribute_not_exists(pk)",
            )
            try:
                self._storage.transact([message, meta, marker])
                return updated
            except Cancelled as exc:
                reasons = exc.reasons
                if len(reasons) == 3 and reasons[2] == "ConditionalCheckFailed":
                    return None  # written before: a retried delivery of the same notice
        raise Conflict("The conversation is busy; the notice will be retried.")

    def messages_after(self, conversation_id: str, after: int, limit: int = 50) -> list[dict[str, Any]]:
        """The messages with a sequence number above `after`, oldest first (what a chat page polls for)."""
        response = self._table.query(
            KeyConditionExpression=Key("pk").eq(keys.conversation_pk(conversation_id))
            & Key("sk").between(keys.message_sk(after + 1), keys.message_sk(keys.MAX_SEQ)),
            Limit=limit,
        )
        return [
            {
                "seq": keys.message_seq(item["sk"]),
                "role": item["role"],
                "text": item["text"],
                "channel": item.get("channel", "web"),
                "at": item.get("at"),
                **({"author": item["author"]} if item.get("author") else {}),
            }
            for item in response.get("Items", [])
        ]

    def set_status(self, conversation_id: str, status: str, at: datetime) -> None:
        """The conversation's status only (a person closed it, or handed it back to the AI)."""
        self._table.update_item(
            Key={"pk": keys.conversation_pk(conversation_id), "sk": keys.META},
            UpdateExpression="SET #s = :s, updated_at = :at, flow = :empty",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeNames={"#s": "status"},
            # `updated_at` as the record writes it: a reply built before this change then sees that it happened
            ExpressionAttributeValues={":s": status, ":at": to_jsonable_python(at), ":empty": {}},
        )

    def recent_messages(self, conversation_id: str, limit: int = 10) -> list[dict[str, str]]:
        response = self._table.query(
            KeyConditionExpression=Key("pk").eq(keys.conversation_pk(conversation_id))
            & Key("sk").begins_with(keys.MESSAGE),
            ScanIndexForward=False,
            Limit=limit,
        )
        return [
            {
                "role": item["role"],
                "text": item["text"],
                "channel": item.get("channel", "web"),
                **({"author": item["author"]} if item.get("author") else {}),
            }
            for item in reversed(response.get("Items", []))
        ]

    def unanswered(self, conversation_id: str, limit: int = 10) -> list[dict[str, Any]]:
        """The customer's last messages with nothing after them (no reply from the assistant or a person), oldest
        first, each with its sequence number: one Query of the newest `limit` messages."""
        response = self._table.query(
            KeyConditionExpression=Key("pk").eq(keys.conversation_pk(conversation_id))
            & Key("sk").begins_with(keys.MESSAGE),
            ScanIndexForward=False,
            Limit=limit,
        )
        waiting: list[dict[str, Any]] = []
        for item in response.get("Items", []):
            if item["role"] != "customer":
                break
            waiting.insert(0, {"seq": keys.message_seq(item["sk"]), "text": item["text"]})
        return waiting

    def transcript(self, conversation_id: str) -> list[dict[str, Any]]:
        items = self._storage.query(keys.conversation_pk(conversation_id), keys.MESSAGE, plain=False)
        return [{"role": i["role"], "text": i["text"], "channel": i["channel"], "at": i["at"]} for i in items]

    def record_handoff(self, conversation_id: str, reason: str, summary: str, transcript: list[dict[str, Any]]) -> None:
        at = now()
        self._table.put_item(
            Item=to_dynamo(
                {
                    "pk": keys.conversation_pk(conversation_id),
                    "sk": keys.handoff_sk(at),
                    "reason": reason,
                    "summary": summary,
                    "transcript": transcript,
                    "created_at": at,
                    "expires_at": self._expires(),
                }
            )
        )

    # actions -----------------------------------------------------------------------------
    def put_action(
        self,
        conversation_id: str,
        customer_id: str,
        call: ToolCall,
        result: ActionResult,
        effect: dict[str, Any] | None,
    ) -> None:
        self._storage.put(self.action_put(conversation_id, customer_id, call, result, effect).item)

    def action_put(
        self,
        conversation_id: str,
        customer_id: str,
        call: ToolCall,
        result: ActionResult,
        effect: dict[str, Any] | None,
    ) -> Put:
        """An action's record: what was asked, its outcome and, for a write, its effect."""
        return Put(
            to_dynamo(
                {
                    **self._action_key(conversation_id, result.action_id),
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

    @staticmethod
    def _action_key(conversation_id: str, action_id: str) -> dict[str, str]:
        return {"pk": keys.conversation_pk(conversation_id), "sk": keys.action_sk(action_id)}

    def conversation_actions(self, conversation_id: str, limit: int = 10, scan: int = 200) -> list[dict[str, Any]]:
        """The conversation's actions the model is told of, oldest first: every one still pending, and the latest
        `limit` others that changed something (lookups leave no effect). One query of at most `scan` items,
        projected to what is shown (action ids are hashes: their order is not time's)."""
        response = self._table.query(
            KeyConditionExpression=Key("pk").eq(keys.conversation_pk(conversation_id))
            & Key("sk").begins_with(keys.ACTION),
            ProjectionExpression="sk, tool, #s, effect, #r, updated_at",
            ExpressionAttributeNames={"#s": "status", "#r": "reason"},
            Limit=scan,
        )
        items = sorted((from_dynamo(i) for i in response.get("Items", [])), key=lambda i: str(i.get("updated_at", "")))
        pending = [i for i in items if i.get("status") == "pending_confirmation"]
        others = [i for i in items if i.get("status") != "pending_confirmation" and i.get("effect")][-limit:]
        return sorted([*pending, *others], key=lambda i: str(i.get("updated_at", "")))

    def orders_named(self, conversation_id: str, scan: int = 200) -> list[str]:
        """The order ids the conversation's actions named (a lookup's arguments, a return's effect…), the latest action
        first, each once. One query of at most `scan` items, projected to what is read."""
        response = self._table.query(
            KeyConditionExpression=Key("pk").eq(keys.conversation_pk(conversation_id))
            & Key("sk").begins_with(keys.ACTION),
            ProjectionExpression="arguments, effect, updated_at",
            Limit=scan,
        )
        items = sorted((from_dynamo(i) for i in response.get("Items", [])), key=lambda i: str(i.get("updated_at", "")))
        named: list[str] = []
        for item in reversed(items):
            for part in ("arguments", "effect"):
                order_id = (item.get(part) or {}).get("order_id")
                if order_id and str(order_id) not in named:
                    named.append(str(order_id))
        return named

    def get_action(self, conversation_id: str, action_id: str) -> dict[str, Any] | None:
        item = self._table.get_item(
            Key={"pk": keys.conversation_pk(conversation_id), "sk": keys.action_sk(action_id)}, ConsistentRead=True
        ).get("Item")
        return from_dynamo(item) if item else None

    def settle_action(
        self,
        conversation_id: str,
        action_id: str,
        status: str,
        result: dict[str, Any],
        reason: str | None,
        expected: str = "pending_confirmation",
    ) -> bool:
        """Move an action from `expected` (pending confirmation, or awaiting approval) to its next status exactly
        once; False if it was no longer in `expected`."""
        try:
            self._table.update_item(
                Key={"pk": keys.conversation_pk(conversation_id), "sk": keys.action_sk(action_id)},
                UpdateExpression="SET #s = :s, #r = :r, reason = :why, updated_at = :at",
                ConditionExpression="#s = :pending",
                ExpressionAttributeNames={"#s": "status", "#r": "result"},
                ExpressionAttributeValues=to_dynamo(
                    {":s": status, ":r": result, ":why": reason or "", ":at": now(), ":pending": expected}
                ),
            )
        except self._table.meta.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    # profiles ----------------------------------------------------------------------------
    def get_profile(self, customer_id: str) -> Profile | None:
        item = self._table.get_item(Key={"pk": keys.customer_pk(customer_id), "sk": keys.PROFILE}).get("Item")
        return Profile.model_validate(from_dynamo(item)) if item else None

    def profile_put(self, profile: Profile) -> Put:
        return Put(
            to_dynamo(
                {
                    "pk": keys.customer_pk(profile.customer_id),
                    "sk": keys.PROFILE,
                    **profile.model_dump(mode="json"),
                    "expires_at": self._expires(),
                }
            )
        )

    # scores ------------------------------------------------------------------------------
    def put_score(self, conversation_id: str, kind: str, score: dict[str, Any]) -> None:
        self._table.put_item(
            Item=to_dynamo(
                {
                    "pk": keys.conversation_pk(conversation_id),
                    "sk": keys.score_sk(kind),
                    **score,
                    "expires_at": self._expires(),
                }
            )
        )

    def get_score(self, conversation_id: str, kind: str) -> dict[str, Any] | None:
        item = self._table.get_item(Key={"pk": keys.conversation_pk(conversation_id), "sk": keys.score_sk(kind)}).get(
            "Item"
        )
        return from_dynamo(item) if item else None

    # long-term memory --------------------------------------------------------------------
    def fact_put(self, customer_id: str, fact: Fact) -> Put:
        return Put(
            to_dynamo(
                {
                    "pk": keys.customer_pk(customer_id),
                    "sk": keys.fact_sk(fact.key),
                    "expires_at": self._expires(),
                    **fact.model_dump(mode="json"),
                }
            )
        )

    def summary_put(self, customer_id: str, summary: Summary) -> Put:
        return Put(
            to_dynamo(
                {
                    "pk": keys.customer_pk(customer_id),
                    "sk": keys.summary_sk(summary.closed_at, summary.conversation_id),
                    "expires_at": self._expires(),
                    **summary.model_dump(mode="json"),
                }
            )
        )

    def facts(self, customer_id: str, limit: int = RECALL_FACTS) -> list[Fact]:
        response = self._table.query(
            KeyConditionExpression=Key("pk").eq(keys.customer_pk(customer_id)) & Key("sk").begins_with(keys.FACT),
            Limit=limit,
        )
        return [Fact.model_validate(from_dynamo(item)) for item in response.get("Items", [])]

    def summaries(self, customer_id: str, limit: int = RECALL_SUMMARIES) -> list[Summary]:
        response = self._table.query(
            KeyConditionExpression=Key("pk").eq(keys.customer_pk(customer_id)) & Key("sk").begins_with(keys.SUMMARY),
            ScanIndexForward=False,
            Limit=limit,
        )
        return [Summary.model_validate(from_dynamo(item)) for item in response.get("Items", [])]

    def put_profile(self, profile: Profile) -> None:
        self._storage.put(self.profile_put(profile).item)

    # threading ---------------------------------------------------------------------------
    def conversation_index_puts(self, record: ConversationRecord) -> list[Put]:
        """The customer's list entry for this conversation and, while it is open, its open-topic entry."""
        base = {
            "pk": keys.customer_pk(record.customer_id),
            "conversation_id": record.conversation_id,
            "expires_at": self._expires(),
        }
        puts = [
            Put(
                to_dynamo(
                    {
                        **base,
                        "sk": keys.customer_conversation_sk(record.conversation_id),
                        "started_at": record.started_at,
                        "channel": record.channel.value,
                    }
                )
            )
        ]
        if record.status is not ConversationStatus.CLOSED:
            puts.append(
                Put(
                    to_dynamo(
                        {
                            **base,
                            "sk": keys.open_sk(record.conversation_id),
                            "updated_at": record.updated_at,
                            "channel": record.channel.value,
                            "keywords": record.keywords,
                            "status": record.status.value,
                        }
                    )
                )
            )
        return puts

    def close_open_entry(self, customer_id: str, conversation_id: str) -> Delete:
        """A transaction operation (for `record_reply`) deleting the open-topic entry of a conversation that just
        closed."""
        return Delete({"pk": keys.customer_pk(customer_id), "sk": keys.open_sk(conversation_id)})

    def forget_fact(self, customer_id: str, key: str) -> Delete:
        """A transaction operation (for `record_reply`) deleting one of the customer's facts."""
        return Delete({"pk": keys.customer_pk(customer_id), "sk": keys.fact_sk(key)})

    def open_conversations(self, customer_id: str, limit: int = OPEN_CONVERSATIONS) -> list[dict[str, Any]]:
        response = self._table.query(
            KeyConditionExpression=Key("pk").eq(keys.customer_pk(customer_id)) & Key("sk").begins_with(keys.OPEN),
            Limit=limit,
        )
        return [from_dynamo(item) for item in response.get("Items", [])]

    def conversations_started(self, customer_id: str, since: datetime, until: datetime) -> list[ConversationRecord]:
        """The state of each of the customer's conversations started at `since` or later and before `until`, oldest
        first: their index entries, then the states in batches of 100 (churn/features.py)."""
        entries = self._storage.query(keys.customer_pk(customer_id), keys.CONVERSATION)
        started = sorted(
            (datetime.fromisoformat(e["started_at"]), e["conversation_id"]) for e in entries if e.get("started_at")
        )
        wanted = [conversation_id for at, conversation_id in started if since <= at < until]
        records: list[ConversationRecord] = []
        for first in range(0, len(wanted), 100):
            batch = [{"pk": keys.conversation_pk(c), "sk": keys.META} for c in wanted[first : first + 100]]
            records += [ConversationRecord.model_validate(i) for i in self._storage.get_many(batch) if i is not None]
        return records

    def put_thread(self, message_id: str, conversation_id: str, customer_id: str) -> None:
        self._table.put_item(
            Item={
                "pk": keys.thread_pk(message_id),
                "sk": keys.THREAD,
                "conversation_id": conversation_id,
                "customer_id": customer_id,
                "expires_at": self._expires(),
            }
        )

    def get_thread(self, message_id: str) -> dict[str, Any] | None:
        item = self._table.get_item(Key={"pk": keys.thread_pk(message_id), "sk": keys.THREAD}).get("Item")
        return from_dynamo(item) if item else None

    # identities --------------------------------------------------------------------------
    def get_identity(self, channel: Channel, address: str) -> Identity | None:
        key = {"pk": keys.identity_pk(channel.value, address), "sk": keys.IDENTITY}
        item = self._table.get_item(Key=key).get("Item")
        return Identity.model_validate(from_dynamo(item)) if item else None

    def save_identity(self, identity: Identity, audit: str, detail: Mapping[str, Any]) -> None:
        """Link a verified address: who it belongs to, the customer's copy, and the `audit` entry on the customer,
        in one transaction."""
        self._storage.transact([*self._identity_puts(identity), self.audit_put(identity.customer_id, audit, detail)])

    def _identity_puts(self, identity: Identity) -> list[Put]:
        body = {**identity.model_dump(mode="json"), "expires_at": self._expires()}
        return [
            Put(
                to_dynamo(
                    {"pk": keys.identity_pk(identity.channel.value, identity.address), "sk": keys.IDENTITY, **body}
                )
            ),
            Put(
                to_dynamo(
                    {
                        "pk": keys.customer_pk(identity.customer_id),
                        "sk": keys.identity_pk(identity.channel.value, identity.address),
                        **body,
                    }
                )
            ),
        ]

    def audit(self, customer_id: str, action: str, detail: Mapping[str, Any]) -> None:
        """Add an entry to the customer's audit trail (a consent change, an export), now."""
        self._storage.put(self.audit_put(customer_id, action, detail).item)

    def audit_put(
        self,
        customer_id: str,
        action: str,
        detail: Mapping[str, Any],
        at: datetime | None = None,
        erase_also: Sequence[Sequence[str]] = (),
    ) -> Put:
        """An entry of the customer's audit trail, keyed by `at` (default now) in UTC, so that entries sort by time
        and a time range is one key condition (`offer_decisions`). `erase_also`: the keys of records kept elsewhere
        that erasing the customer deletes with it (an offer's lift unit)."""
        at = (at or now()).astimezone(UTC)
        item = {
            "pk": keys.customer_pk(customer_id),
            "sk": keys.audit_sk(at, uuid.uuid4().hex[:8]),
            "action": action,
            "detail": dict(detail),
            "at": at,
            "expires_at": self._expires(),
        }
        if erase_also:
            item["erase_also"] = [list(key) for key in erase_also]
        return Put(to_dynamo(item))

    # offers (offers/guardrails.py, offers/nba.py) ---------------------------------------------
    def put_offer_decisions(self, decisions: Sequence[OfferDecision], *, locale: str | None = None) -> None:
        """Every decision of a moment (offered, held out, refused), as `offer.decided` entries of each customer's
        audit trail keyed by the decision's time: in their partition, so their export shows them and erasure deletes
        them; with what they add to the offers' report (offers/ledger.py: the decision counters by channel and
        `locale`, and each exposure's unit, which its audit entry names in `erase_also`). One transaction (a moment
        decides a handful of offers)."""
        from concierge.offers import ledger
        from concierge.offers.guardrails import audit_item

        if not decisions:
            return
        updates, units = ledger.decision_updates(decisions, locale=locale, expires_at=self._expires())
        entries: list[Operation] = [
            audit_item(
                self,
                decision,
                erase_also=[units[decision.offer_id]]
                if decision.exposure is not None and decision.offer_id in units
                else (),
            )
            for decision in decisions
        ]
        # The day's counters are shared by every customer deciding the same offer on the same channel and locale: two
        # such moments at once conflict (TransactionConflict cancels one, which then wrote nothing): tried again.
        for attempt in range(OFFER_WRITE_ATTEMPTS):
            try:
                self._storage.write([*entries, *updates])
                return
            except Cancelled as cancelled:
                if "TransactionConflict" not in cancelled.reasons or attempt == OFFER_WRITE_ATTEMPTS - 1:
                    raise
                time.sleep(random.uniform(0.02, 0.1) * (attempt + 1))

    def record_offer_accepted(self, offer_id: str, customer_id: str) -> None:
        """The customer took an offer: its unit in the offers' report counts it (offers/ledger.py). A unit erased
        since is not brought back."""
        from contextlib import suppress

        from concierge.memory.storage import ConditionFailed
        from concierge.offers import ledger

        update = ledger.accepted_update(offer_id, customer_id)
        with suppress(ConditionFailed):
            self._storage.update(update.key, update.expression, condition=update.condition, values=update.values)

    def offer_decisions(
        self, customer_id: str, since: datetime, *, exposures_only: bool = False
    ) -> list[OfferDecision]:
        """The customer's offer decisions at or after `since`, oldest first; `exposures_only`: those offered or held
        out (what caps and "never twice in a conversation" count). ONE Query: the audit entries' sort key starts
        with their time, so the key condition reads only the entries since then (the customer's other audit
        entries, links and merges, are few and filtered out by DynamoDB); it pages only past 1 MB."""
        from concierge.offers.guardrails import OfferDecision

        condition = Attr("action").eq(OFFER_DECIDED)
        if exposures_only:
            condition = condition & Attr("detail.outcome").is_in(["offer", "hold_out"])
        query: dict[str, Any] = {
            "KeyConditionExpression": Key("pk").eq(keys.customer_pk(customer_id))
            & Key("sk").between(keys.audit_sk(since.astimezone(UTC), ""), keys.audit_sk(_END_OF_TIME, "")),
            "FilterExpression": condition,
            "ProjectionExpression": "detail",
        }
        decisions: list[OfferDecision] = []
        while True:
            response = self._table.query(**query)
            decisions += [OfferDecision.model_validate(from_dynamo(i)["detail"]) for i in response.get("Items", [])]
            if "LastEvaluatedKey" not in response:
                return decisions
            query["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def offer_exposures(self, customer_id: str, since: datetime) -> list[Exposure]:
        """The customer's exposures since `since` (`OfferContext.exposures`), in one Query."""
        return [d.exposure for d in self.offer_decisions(customer_id, since, exposures_only=True) if d.exposure]

    # inbox (dedupe of channel messages) -----------------------------------------------------
    def claim_window(self, kind: str, subject: str, hours: float) -> bool:
        """True once per `hours` for (kind, subject), e.g. one neutral reply a day to an unverified address. The
        subject is stored hashed: nothing personal is kept, so erasure has nothing to find."""
        at = now()
        try:
            self._table.put_item(
                Item={
                    "pk": keys.window_pk(kind, subject),
                    "sk": keys.WINDOW_SK,
                    "at": at.isoformat(),
                    "expires_at": int((at + timedelta(hours=hours)).timestamp()),
                },
                ConditionExpression="attribute_not_exists(pk) OR expires_at < :now",
                ExpressionAttributeValues={":now": int(at.timestamp())},
            )
        except self._table.meta.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def claim_inbox(self, channel: Channel, message_id: str) -> dict[str, Any] | None:
        """Mark a provider message as being processed; returns the existing marker if it was already taken."""
        key = {"pk": keys.inbox_pk(channel.value, message_id), "sk": keys.RECEIVED}
        try:
            self._table.put_item(
                Item={
                    **key,
                    "status": "processing",
                    "at": now().isoformat(),
                    "expires_at": int((now() + timedelta(days=7)).timestamp()),
                },
                ConditionExpression="attribute_not_exists(pk)",
            )
        except self._table.meta.client.exceptions.ConditionalCheckFailedException:
            item = self._table.get_item(Key=key, ConsistentRead=True).get("Item")
            return from_dynamo(item) if item else {"status": "processing"}
        return None

    def update_inbox(self, channel: Channel, message_id: str, **fields: Any) -> None:
        names = {f"#{k}": k for k in fields}
        self._table.update_item(
            Key={"pk": keys.inbox_pk(channel.value, message_id), "sk": keys.RECEIVED},
            UpdateExpression="SET " + ", ".join(f"#{k} = :{k}" for k in fields),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=to_dynamo({f":{k}": v for k, v in fields.items()}),
        )

    def release_inbox(self, channel: Channel, message_id: str) -> None:
        self._table.delete_item(Key={"pk": keys.inbox_pk(channel.value, message_id), "sk": keys.RECEIVED})

    # whole partitions (export, erasure, merges, consent) -----------------------------------
    def _partition(self, pk: str) -> list[dict[str, Any]]:
        return self._storage.query(pk)

    def customer_partition(self, customer_id: str) -> list[dict[str, Any]]:
        return self._partition(keys.customer_pk(customer_id))

    def conversation_partition(self, conversation_id: str) -> list[dict[str, Any]]:
        return self._partition(keys.conversation_pk(conversation_id))

    def delete_keys(self, keys: Sequence[tuple[str, str]]) -> int:
        return self._storage.delete_many(keys)

    def forget_facts_and_summaries(self, customer_id: str) -> int:
        """Delete what is recalled about the customer in later conversations (their consent was withdrawn)."""
        items = self.customer_partition(customer_id)
        return self.delete_keys([(i["pk"], i["sk"]) for i in items if i["sk"].startswith((keys.FACT, keys.SUMMARY))])

    def erasure(self, customer_id: str) -> Erasure:
        """Everything erasing the customer deletes (see keys.RECORDS, `erasure`): their partition; each of their
        conversations' partitions (not the origin customer's, which a merge's copy of its index entry names) with the
        inbox and thread entries of its messages and the records their `erase_also` name; the identity lookups of
        their identities; the copies a merge made in the customer they were merged into, with the lookups of the
        addresses they brought, and that customer's audit entries of the merge and unmerge (which list those
        addresses); their entries in the approval and handoff queues. The other customer's profile keeps the bare id
        in `merged_from`. Also the mail objects (raw emails, attachments) their messages name. Reads
        only: `erase` deletes."""
        items = self.customer_partition(customer_id)
        doomed: set[tuple[str, str]] = {(i["pk"], i["sk"]) for i in items}
        objects: set[str] = set()
        for item in items:
            doomed |= {(pk, sk) for pk, sk in item.get("erase_also") or []}  # e.g. an offer's lift unit
            if item["sk"].startswith(keys.IDENT):
                doomed.add((keys.identity_pk(item["channel"], item["address"]), keys.IDENTITY))
            if item["sk"] == keys.MERGED_INTO:  # copies of this customer's data made in the customer merged into
                copies = [
                    c
                    for c in self.customer_partition(item["target_customer_id"])
                    if c.get("origin_customer_id") == customer_id
                ]
                doomed |= {(c["pk"], c["sk"]) for c in copies}
                # an address they brought is theirs: its lookup goes with its copy
                doomed |= {
                    (keys.identity_pk(c["channel"], c["address"]), keys.IDENTITY)
                    for c in copies
                    if c["sk"].startswith(keys.IDENT)
                }
        # the other side's audit entries of a merge or unmerge with them name them and list their addresses
        others = {
            i["detail"].get("target")
            for i in items
            if i["sk"].startswith(keys.AUDIT) and i.get("action") in MERGE_AUDITS and isinstance(i.get("detail"), dict)
        }
        for other in sorted(o for o in others if o and o != customer_id):
            doomed |= {
                (a["pk"], a["sk"])
                for a in self.customer_partition(other)
                if a["sk"].startswith(keys.AUDIT)
                and a.get("action") in MERGE_AUDITS
                and (a.get("detail") or {}).get("source") == customer_id
            }
        for entry in (i for i in items if i["sk"].startswith(keys.CONVERSATION)):
            records = self.conversation_partition(entry["conversation_id"])
            if records_owner(records) != customer_id:
                continue  # a merged copy's conversation still belongs to its origin customer
            for record in records:
                doomed.add((record["pk"], record["sk"]))
                if record.get("provider_message_id"):
                    marker = self._partition(keys.inbox_pk(record["channel"], record["provider_message_id"]))
                    doomed |= {(m["pk"], m["sk"]) for m in marker}
                    doomed |= {(keys.thread_pk(m["provider_id"]), keys.THREAD) for m in marker if m.get("provider_id")}
                doomed |= {(pk, sk) for pk, sk in record.get("erase_also") or []}  # e.g. a KPI low-score entry
                objects |= {a["s3_key"] for a in record.get("attachments") or []}
                if record.get("raw_s3_key"):
                    objects.add(record["raw_s3_key"])
        for listing in (keys.APPROVALS, keys.HANDOFFS):  # queues listed outside the customer's partitions
            doomed |= {(a["pk"], a["sk"]) for a in self._partition(listing) if a.get("customer_id") == customer_id}
        return Erasure(held=bool(items), keys=sorted(doomed), objects=sorted(objects))

    def erase(self, erasure: Erasure) -> int:
        """Delete the items `erasure` found; how many."""
        return self.delete_keys(erasure.keys)

    def merge_customers(self, source_id: str, target_id: str, operator: str, reason: str) -> Merged:
        """Merge `source_id` into `target_id`: the source's verified identities are re-pointed to the target (its
        copies moved), its facts, summaries and conversation index copied into the target with
        `origin_customer_id` (what `unmerge_customers` removes), a MERGED_INTO marker left on the source, the
        target's profile told where it was merged from, and a `customer.merged` audit entry on both; in
        transactions of at most 100 operations. AlreadyMerged when the source was merged before (nothing is
        written)."""
        source_items = self.customer_partition(source_id)
        if any(i["sk"] == keys.MERGED_INTO for i in source_items):
            raise AlreadyMerged(source_id)
        puts: list[Put] = []
        deletes: list[Delete] = []
        moved: list[str] = []
        copied = 0
        for item in source_items:
            if item["sk"].startswith(keys.IDENT):
                identity = {**item, "customer_id": target_id, "origin_customer_id": source_id}
                puts += self._identity_copies(identity, target_id)
                deletes.append(Delete({"pk": item["pk"], "sk": item["sk"]}))
                moved.append(f"{item['channel']}:{item['address']}")
            elif item["sk"].startswith(COPIED_ON_MERGE):
                puts.append(Put({**item, "pk": keys.customer_pk(target_id), "origin_customer_id": source_id}))
                copied += 1
        puts.append(
            Put(
                {
                    "pk": keys.customer_pk(source_id),
                    "sk": keys.MERGED_INTO,
                    "target_customer_id": target_id,
                    "operator": operator,
                }
            )
        )
        profile = self.get_profile(target_id) or Profile(customer_id=target_id)
        merged_from = list(dict.fromkeys([*profile.merged_from, source_id]))
        puts.append(self.profile_put(profile.model_copy(update={"merged_from": merged_from})))
        detail = {"source": source_id, "target": target_id, "operator": operator, "reason": reason, "identities": moved}
        puts += [self.audit_put(target_id, CUSTOMER_MERGED, detail), self.audit_put(source_id, CUSTOMER_MERGED, detail)]
        self._storage.write([*puts, *deletes])
        return Merged(identities=moved, copied=copied)

    def unmerge_customers(self, source_id: str, target_id: str, operator: str) -> Unmerged:
        """Undo `merge_customers`: delete exactly the copies the merge made in the target and the source's marker,
        give the identities back to the source, take the source off the target's profile, and write a
        `customer.unmerged` audit entry on both. NotMerged when the source is not merged into the target (nothing is
        written)."""
        marker = next((i for i in self.customer_partition(source_id) if i["sk"] == keys.MERGED_INTO), None)
        if marker is None or marker["target_customer_id"] != target_id:
            raise NotMerged(source_id, target_id)
        puts: list[Put] = []
        deletes = [Delete({"pk": keys.customer_pk(source_id), "sk": keys.MERGED_INTO})]
        restored: list[str] = []
        for item in self.customer_partition(target_id):
            if item.get("origin_customer_id") != source_id:
                continue
            deletes.append(Delete({"pk": item["pk"], "sk": item["sk"]}))
            if item["sk"].startswith(keys.IDENT):
                identity = {k: v for k, v in item.items() if k != "origin_customer_id"} | {"customer_id": source_id}
                puts += self._identity_copies(identity, source_id)
                restored.append(f"{item['channel']}:{item['address']}")
        profile = self.get_profile(target_id) or Profile(customer_id=target_id)
        merged_from = [c for c in profile.merged_from if c != source_id]
        puts.append(self.profile_put(profile.model_copy(update={"merged_from": merged_from})))
        detail = {"source": source_id, "target": target_id, "operator": operator, "identities": restored}
        puts += [
            self.audit_put(target_id, CUSTOMER_UNMERGED, detail),
            self.audit_put(source_id, CUSTOMER_UNMERGED, detail),
        ]
        self._storage.write([*puts, *deletes])
        return Unmerged(identities=restored)

    @staticmethod
    def _identity_copies(identity: dict[str, Any], customer_id: str) -> list[Put]:
        """An identity item as read (with its TTL) written for `customer_id`: the address's lookup and the
        customer's copy (under the same sort key it was read with)."""
        return [
            Put({**identity, "pk": keys.identity_pk(identity["channel"], identity["address"]), "sk": keys.IDENTITY}),
            Put({**identity, "pk": keys.customer_pk(customer_id)}),
        ]


def records_owner(records: Sequence[Mapping[str, Any]]) -> str | None:
    """Whose conversation a conversation partition's items are (its META names the customer)."""
    return next((r.get("customer_id") for r in records if r["sk"] == keys.META), None)
