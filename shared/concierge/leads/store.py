"""The lead record: a business, demo or quote request qualified in a conversation, one per conversation, in the
customer's partition of the memory table (personal data: exported with the customer's data and erased with them).

    pk=CUST#<customer id>  sk=LEAD#<conversation id>   request, answers, qualified, link, channel, verified, at

Written once, with a condition: a second qualification in the same conversation (a retried call, a model asking
again) finds the first and gets its outcome. The answers are what the merchant's questions asked (numbers, option
labels, yes/no), never the customer's words.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from pydantic import BaseModel, ConfigDict, Field

from concierge.memory import keys

if TYPE_CHECKING:
    from concierge.memory.store import MemoryStore


class Lead(BaseModel):
    model_config = ConfigDict(frozen=True)

    customer_id: str
    conversation_id: str
    channel: str
    request: str | None = None
    answers: dict[str, bool | int | float | str] = Field(default_factory=dict)
    qualified: bool
    link: str = Field(description="where the customer was sent: the calendar link or the alternative")
    verified: bool = True
    at: datetime


class LeadRecords(Protocol):
    """What the action layer needs of the lead records (LeadStore; a fake in unit tests)."""

    def get(self, customer_id: str, conversation_id: str) -> Lead | None: ...

    def create(self, lead: Lead) -> tuple[bool, Lead]: ...


class LeadStore:
    """The repository of leads: it alone reads and writes them, through the memory table's access layer."""

    def __init__(self, memory: MemoryStore) -> None:
        self._db = memory.storage

    @staticmethod
    def _key(customer_id: str, conversation_id: str) -> dict[str, str]:
        return {"pk": keys.customer_pk(customer_id), "sk": keys.lead_sk(conversation_id)}

    def get(self, customer_id: str, conversation_id: str) -> Lead | None:
        item = self._db.get(self._key(customer_id, conversation_id), consistent=True)
        return _lead(item) if item else None

    def create(self, lead: Lead) -> tuple[bool, Lead]:
        """(True, lead) when this call recorded it; (False, the lead kept) when the conversation has one already."""
        item = {
            **self._key(lead.customer_id, lead.conversation_id),
            **lead.model_dump(mode="json", exclude={"customer_id"}),
            "expires_at": self._db.expiry(),
        }
        if self._db.put(item, condition="attribute_not_exists(sk)"):
            return True, lead
        kept = self.get(lead.customer_id, lead.conversation_id)
        return False, kept or lead

    def leads(self, customer_id: str) -> list[Lead]:
        return [_lead(item) for item in self._db.query(keys.customer_pk(customer_id), keys.LEAD)]


def _lead(item: dict[str, object]) -> Lead:
    customer_id = str(item["pk"]).removeprefix(keys.CUSTOMER)
    fields = {k: v for k, v in item.items() if k not in ("pk", "sk", "expires_at")}
    return Lead.model_validate({**fields, "customer_id": customer_id})
