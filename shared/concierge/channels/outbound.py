"""Replies on the channel the customer used: the senders the inbox delivers through (see concierge.channels.inbox)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from concierge.channels.inbound import InboundMessage
from concierge.conversation.api import TurnResponse

if TYPE_CHECKING:
    from concierge.channels.inbound_email import EmailReplySender
    from concierge.channels.whatsapp import WhatsAppSender


def tagged_address(address: str, conversation_id: str) -> str:
    """support@shop.example -> support+<conversation id>@shop.example: replies to it thread by address."""
    local, _, domain = address.partition("@")
    return f"{local}+{conversation_id}@{domain}"


class EmailChannel:
    """An email reply in the customer's thread, with a Reply-To that leads their next mail to this conversation."""

    def __init__(self, replier: EmailReplySender, merchant_name: str, support_address: str) -> None:
        self._replier = replier
        self._merchant = merchant_name
        self._support = support_address

    def body(self, reply: TurnResponse, first_name: str | None) -> str:
        greeting = f"Hi {first_name}," if first_name else "Hello,"
        assert reply.reply is not None  # the inbox delivers only replies the AI wrote
        links = "".join(f"\n- {c.title}: {c.url}" for c in reply.reply.citations)
        sources = f"\n\nSources:{links}" if links else ""
        return (
            f"{greeting}\n\n{reply.reply.text}{sources}\n\n"
            f"— The {self._merchant} AI assistant. Reply to this email to continue; ask for a person at any time."
        )

    def deliver(self, message: InboundMessage, reply: TurnResponse, first_name: str | None) -> str:
        references = [*message.references, *([message.header_message_id] if message.header_message_id else [])]
        return self._replier.send(
            to=message.sender,
            subject=message.subject or f"Your question to {self._merchant}",
            text=self.body(reply, first_name),
            in_reply_to=message.header_message_id,
            references=references,
            reply_to=tagged_address(self._support, reply.conversation_id),
        )


class WhatsAppChannel:
    def __init__(self, sender: WhatsAppSender) -> None:
        self._sender = sender

    def deliver(self, message: InboundMessage, reply: TurnResponse, first_name: str | None) -> str:
        assert reply.reply is not None  # the inbox delivers only replies the AI wrote
        links = "".join(f"\n{c.title}: {c.url}" for c in reply.reply.citations)
        return self._sender.send_text(message.sender, reply.reply.text + links, reply_to_message_id=message.message_id)
