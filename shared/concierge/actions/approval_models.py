"""The approval workflow's contracts: pure models, so the task payloads (concierge.conversation.tasks) can name them
without pulling the memory table's code onto every function's import path."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ApprovalRequest(BaseModel):
    """The approval workflow's input; also what an approver sees."""

    model_config = ConfigDict(extra="ignore", defer_build=True)

    action_id: str
    conversation_id: str
    customer_id: str
    tool: str
    summary: str = Field(description="what executing the action does, in words, e.g. 'Refund 378.00 USD to Visa …'")
    amount: Decimal | None = None
    currency: str | None = None
    reason: str = Field(description="why it needs a person, e.g. 'refund above 200.00'")
    requested_at: datetime
    timeout_seconds: int = Field(gt=0)


class Decision(BaseModel):
    """What an approver sends (the body of approve/deny) and what the workflow receives with the token."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    note: str = Field("", max_length=500, description="shown to the customer with a denial; kept in the audit trail")


class DecisionOutput(BaseModel):
    model_config = ConfigDict(defer_build=True)

    decision: Literal["approved", "denied"]
    decided_by: str
    note: str = ""


class Notice(BaseModel):
    """A message for the customer in their conversation, delivered on their channel by ingest."""

    model_config = ConfigDict(defer_build=True)

    conversation_id: str
    customer_id: str
    key: str = Field(description="written into the conversation once per key, e.g. <action id>:approved")
    text: str
    subject: str = "An update on your request"


class PendingApproval(ApprovalRequest):
    """A waiting approval, as the people who decide see it."""

    deadline: str = Field(description="undecided by then, the customer is told and a person follows up")
    status: Literal["waiting"]


class ApprovalList(BaseModel):
    approvals: list[PendingApproval] = Field(description="oldest first")


class DecisionReceipt(BaseModel):
    action_id: str
    status: Literal["approved", "denied"]
    decided_by: str
