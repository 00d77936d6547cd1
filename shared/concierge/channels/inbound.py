"""A customer message that arrived on an asynchronous channel (email, WhatsApp), normalized.

The channel adapters (inbound_email, whatsapp) produce it after checking what the channel can prove about
the sender; ingest resolves the customer from it (only verified senders are linked to a customer) and
runs the same turn workflow as web chat; the reply goes back on the same channel.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from concierge.conversation.api import Channel


class Attachment(BaseModel):
    model_config = ConfigDict(defer_build=True)

    filename: str
    content_type: str
    size: int = Field(ge=0)
    s3_key: str = Field(description="where the attachment is kept (the attachments bucket)")


class InboundMessage(BaseModel):
    model_config = ConfigDict(defer_build=True)

    channel: Channel
    message_id: str = Field(
        min_length=1, description="the provider's id (SES message id, WhatsApp wamid): the dedupe key"
    )
    sender: str = Field(
        min_length=1, description="normalized address: lower-case email, or the WhatsApp number as digits"
    )
    sender_name: str | None = None
    verified: bool = Field(
        description="the channel proved the sender owns this address (aligned SPF or DKIM; signed webhook)"
    )
    verified_by: str | None = Field(
        None, description="how, e.g. 'ses:spf+dkim', 'ses:dkim-aligned' or 'whatsapp:signed-webhook'"
    )
    text: str = Field(description="what the customer wrote, without quoted replies or signature")
    subject: str | None = None
    recipient: str | None = Field(None, description="the address the customer wrote to (may carry a +tag)")
    references: list[str] = Field(default_factory=list, description="email Message-IDs this one replies to")
    attachments: list[Attachment] = Field(default_factory=list)
    header_message_id: str | None = Field(
        None, description="the email's own Message-ID header (our reply's In-Reply-To)"
    )
    raw_s3_key: str | None = Field(None, description="the raw message as received (email), for erasure")
    reply_id: str | None = Field(
        None, description="the id of the tapped WhatsApp button or list row (e.g. a survey answer)"
    )
    received_at: datetime
