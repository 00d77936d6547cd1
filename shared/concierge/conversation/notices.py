"""Messages to a customer outside a turn — what became of a request a person had to approve — written into their
conversation and delivered on the channel they last used: an email reply in their thread, a WhatsApp message, or,
for web chat (the page may be long closed), an email to the address on their account.

A notice is written once per key (a retried task does not repeat it in the thread); delivery is at least once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from concierge.actions.approvals import Notice
from concierge.channels.outbound import tagged_address
from concierge.conversation.api import Channel
from concierge.memory.store import ConversationRecord, MemoryStore

if TYPE_CHECKING:
    from concierge.channels.inbound_email import EmailReplySender
    from concierge.channels.whatsapp import WhatsAppSender
    from concierge.store.commerce import CommerceBackend


@dataclass
class NoticeServices:
    memory: MemoryStore
    store: CommerceBackend  # the customer's email address on file
    email: EmailReplySender
    whatsapp: WhatsAppSender | None  # None when WhatsApp is not configured
    merchant_name: str
    support_address: str


def deliver_notice(
    notice: Notice,
    services: NoticeServices,
    now: datetime,
    *,
    role: str = "assistant",
    author: str | None = None,
    email_web: bool = True,
) -> dict[str, Any]:
    """`email_web`: a web-chat customer gets an email too (an approval's outcome may come days later); an agent's
    live reply to a web chat is read in the chat page instead."""
    record = services.memory.get_conversation(notice.conversation_id)
    if record is None:
        return {"delivered": False, "reason": "conversation_not_found"}  # erased since: nobody to tell
    if record.customer_id != notice.customer_id:
        raise ValueError("the notice's customer does not own the conversation")
    written = services.memory.append_notice(
        notice.conversation_id, notice.key, notice.text, now, role=role, author=author
    )
    if written is None:
        return {"delivered": False, "reason": "already_sent"}
    return send_on_channel(record, notice.text, notice.subject, services, email_web=email_web)


def send_on_channel(
    record: ConversationRecord, text: str, subject: str, services: NoticeServices, *, email_web: bool = True
) -> dict[str, Any]:
    """Send a message already written in the conversation on the channel the customer last used (`email_web`: a
    web-chat customer gets it by email too)."""
    channel = record.channel
    if channel is Channel.WHATSAPP and services.whatsapp is not None and record.reply_to.get(channel.value):
        provider_id = services.whatsapp.send_text(record.reply_to[channel.value], text)
        return {"delivered": True, "channel": channel.value, "provider_id": provider_id}
    if channel is Channel.WEB and not email_web:
        return {"delivered": True, "channel": channel.value, "provider_id": None}
    customer = services.store.get_customer(record.customer_id)
    address = record.reply_to.get(Channel.EMAIL.value) if channel is Channel.EMAIL else None
    address = address or (customer.email if customer else None)
    if not address:
        return {"delivered": False, "reason": "no_address", "channel": channel.value}
    greeting = f"Hi {customer.first_name}," if customer else "Hello,"
    provider_id = services.email.send(
        to=address,
        subject=record.subject or subject,
        text=f"{greeting}\n\n{text}\n\n— The {services.merchant_name} team. Reply to this email to continue.",
        in_reply_to=None,
        references=[],
        reply_to=tagged_address(services.support_address, record.conversation_id),
    )
    return {"delivered": True, "channel": Channel.EMAIL.value, "provider_id": provider_id}
