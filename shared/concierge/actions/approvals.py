"""Approvals: an action above the merchant's limit (a refund over `max_refund_without_approval`) waits for a
person before it executes.

1. The customer confirms the pending action; the action layer records it as `awaiting_approval` and starts the
   approval workflow (workflows/approval.asl.json, Step Functions Standard), named after the action id so a
   repeated start is the same execution.
2. The workflow's first task waits with a task token: the actions function stores the token on the approval
   record and lists the approval as pending (`GET /v1/approvals`), then the execution waits.
3. An operator approves or denies (`POST /v1/approvals/{action_id}/approve|deny`). The decision is claimed with a
   conditional write (two people cannot both decide) and sent to the workflow with SendTaskSuccess.
4. Approved: the action executes exactly once (the same idempotency as a confirmation). Denied, or not decided
   within the timeout: the action is settled as denied with its reason. Every outcome is audited
   (`action.executed`) and the customer is told in the conversation, on their channel.

Records, in the memory table:
- the approval ......................... pk=CONV#<conversation>  sk=APPROVAL#<action id>  (erased with the conversation)
- the pending list (no task token) ..... pk=APPROVALS            sk=PENDING#<action id>   (deleted once decided)
"""

from __future__ import annotations

import contextlib
import json
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Literal, Protocol, cast

from concierge.actions.approval_models import (
    ApprovalList,
    ApprovalRequest,
    Decision,
    DecisionOutput,
    DecisionReceipt,
    Notice,
    PendingApproval,
)
from concierge.memory import keys
from concierge.memory.storage import ConditionFailed
from concierge.memory.store import MemoryStore
from concierge.platform.errors import Busy, Conflict, NotFound

__all__ = [  # re-exported: the approval contracts
    "ApprovalList",
    "ApprovalRequest",
    "Decision",
    "DecisionOutput",
    "DecisionReceipt",
    "Notice",
    "PendingApproval",
]

PENDING_PK = keys.APPROVALS

# What a decision is refused with (the HTTP routes document them from here).
NOT_WAITING = "No approval is waiting for action {action_id}: it was decided already, has expired, or never existed."
NO_APPROVAL = "There is no approval for action {action_id}."
SETTING_UP = "This approval is being set up; try again in a few seconds."
ALREADY_DECIDED = "This approval was already {outcome}."  # "approved", or "denied by <operator>"
EXPIRED = "This approval has expired: the customer was told it was not reviewed in time."


class ApprovalStatus(StrEnum):
    REQUESTED = "requested"  # the workflow was started; its task has not stored the token yet
    WAITING = "waiting"  # a person can decide
    APPROVED = "approved"
    DENIED = "denied"
    EXPIRED = "expired"


class ApprovalExpired(Exception):
    """The workflow no longer waits for this decision (it timed out, or was decided already)."""


class ApprovalWorkflow(Protocol):
    """The port to the approval state machine: Step Functions when deployed, the local interpreter locally."""

    def start(self, request: ApprovalRequest) -> None: ...

    def send_decision(self, task_token: str, output: DecisionOutput) -> None:
        """Raises ApprovalExpired when the task is no longer waiting for this token."""


class StepFunctionsApprovals:
    def __init__(self, client: Any, state_machine_arn: str) -> None:
        self._client = client  # a boto3 Step Functions client
        self._arn = state_machine_arn

    def start(self, request: ApprovalRequest) -> None:
        # The execution is named after the action: a second start of the same approval is refused, not doubled.
        with contextlib.suppress(self._client.exceptions.ExecutionAlreadyExists):
            self._client.start_execution(
                stateMachineArn=self._arn, name=request.action_id, input=request.model_dump_json()
            )

    def send_decision(self, task_token: str, output: DecisionOutput) -> None:
        try:
            self._client.send_task_success(taskToken=task_token, output=output.model_dump_json())
        except (self._client.exceptions.TaskTimedOut, self._client.exceptions.InvalidToken) as exc:
            raise ApprovalExpired(str(exc)) from exc


class ApprovalStore:
    """The repository of approval records: the approval (in its conversation's partition) and the pending list.
    It alone reads and writes them, through the memory table's access layer (memory/storage.py)."""

    def __init__(self, memory: MemoryStore) -> None:
        self._db = memory.storage

    @staticmethod
    def _key(conversation_id: str, action_id: str) -> dict[str, str]:
        return {"pk": keys.conversation_pk(conversation_id), "sk": keys.approval_sk(action_id)}

    @staticmethod
    def _listed_key(action_id: str) -> dict[str, str]:
        return {"pk": PENDING_PK, "sk": keys.pending_sk(action_id)}

    def create(self, request: ApprovalRequest) -> bool:
        """False when the approval already exists (a repeated confirmation)."""
        item = {
            **self._key(request.conversation_id, request.action_id),
            **json.loads(request.model_dump_json()),
            "status": ApprovalStatus.REQUESTED.value,
            "expires_at": self._db.expiry(),
        }
        return self._db.put(item, condition="attribute_not_exists(pk)")

    def get(self, conversation_id: str, action_id: str) -> dict[str, Any] | None:
        return self._db.get(self._key(conversation_id, action_id), consistent=True)

    def await_decision(self, request: ApprovalRequest, task_token: str, now: datetime) -> None:
        """The workflow waits: keep its token, and list the approval for the people who decide."""
        self._db.update(
            self._key(request.conversation_id, request.action_id),
            "SET task_token = :t, #s = :waiting, deadline = :d",
            condition="#s IN (:requested, :waiting)",
            names={"#s": "status"},
            values={
                ":t": task_token,
                ":waiting": ApprovalStatus.WAITING.value,
                ":requested": ApprovalStatus.REQUESTED.value,
                ":d": (now + timedelta(seconds=request.timeout_seconds)).isoformat(),
            },
        )
        listed = {
            **json.loads(request.model_dump_json()),
            "status": ApprovalStatus.WAITING.value,
            "deadline": (now + timedelta(seconds=request.timeout_seconds)).isoformat(),
        }
        self._db.put({**self._listed_key(request.action_id), **listed, "expires_at": self._db.expiry()})

    def pending(self, limit: int = 100) -> list[dict[str, Any]]:
        """Waiting approvals, oldest first (one small partition: decided ones are removed from it)."""
        return sorted(self._db.listing(PENDING_PK), key=lambda a: a["requested_at"])[:limit]

    def listed(self, action_id: str) -> dict[str, Any] | None:
        return self._db.get(self._listed_key(action_id), consistent=True)

    def claim(
        self, conversation_id: str, action_id: str, status: ApprovalStatus, by: str, note: str, now: datetime
    ) -> dict[str, Any]:
        """Record a decision exactly once: only a waiting approval can be decided. Returns the record (with its
        token); raises Conflict when someone else decided first, or the workflow is not waiting yet."""
        try:
            item = self._db.update(
                self._key(conversation_id, action_id),
                "SET #s = :s, decided_by = :by, decided_at = :at, note = :note",
                condition="#s = :waiting",
                names={"#s": "status"},
                values={
                    ":s": status.value,
                    ":by": by,
                    ":at": now.isoformat(),
                    ":note": note,
                    ":waiting": ApprovalStatus.WAITING.value,
                },
                returns=True,
            )
        except ConditionFailed:
            current = self.get(conversation_id, action_id)
            if current is None:
                raise NotFound(NO_APPROVAL.format(action_id=action_id)) from None
            if current["status"] == ApprovalStatus.REQUESTED.value:
                raise Busy(SETTING_UP, retry_after=3) from None
            who = f" by {current['decided_by']}" if current.get("decided_by") else ""
            raise Conflict(ALREADY_DECIDED.format(outcome=f"{current['status']}{who}")) from None
        assert item is not None  # returns=True
        return item

    def settle(self, conversation_id: str, action_id: str, status: ApprovalStatus) -> None:
        """Close an approval: its final status, the token dropped, the pending entry removed."""
        with contextlib.suppress(ConditionFailed):
            self._db.update(
                self._key(conversation_id, action_id),
                "SET #s = :s REMOVE task_token",
                condition="attribute_exists(pk)",  # an erased conversation is not recreated
                names={"#s": "status"},
                values={":s": status.value},
            )
        self._db.delete(self._listed_key(action_id))

    def reopen(self, conversation_id: str, action_id: str) -> None:
        """Undo a claim whose decision could not be delivered (the workflow was unreachable): decide again later."""
        self._db.update(
            self._key(conversation_id, action_id),
            "SET #s = :waiting REMOVE decided_by, decided_at, note",
            names={"#s": "status"},
            values={":waiting": ApprovalStatus.WAITING.value},
        )


def decide(
    action_id: str,
    approve: bool,
    decision: Decision,
    operator: str,
    store: ApprovalStore,
    workflow: ApprovalWorkflow,
    now: datetime,
) -> DecisionReceipt:
    """An operator's decision, from the approvals API."""
    listed = store.listed(action_id)
    if listed is None:
        raise NotFound(NOT_WAITING.format(action_id=action_id))
    status = ApprovalStatus.APPROVED if approve else ApprovalStatus.DENIED
    record = store.claim(listed["conversation_id"], action_id, status, operator, decision.note, now)
    try:
        workflow.send_decision(
            record["task_token"],
            DecisionOutput(
                decision=cast(Literal["approved", "denied"], status.value),  # approved or denied, by construction
                decided_by=operator,
                note=decision.note,
            ),
        )
    except ApprovalExpired as exc:
        store.settle(listed["conversation_id"], action_id, ApprovalStatus.EXPIRED)
        raise Conflict(EXPIRED) from exc
    except Exception:
        store.reopen(listed["conversation_id"], action_id)
        raise
    return DecisionReceipt(
        action_id=action_id, status=cast(Literal["approved", "denied"], status.value), decided_by=operator
    )
