"""Asynchronous channels (email, WhatsApp): take messages in, run their turns, deliver the replies.

1. Intake (the SES receipt action, the WhatsApp webhook): the adapter has checked what the channel proves
   about the sender; the message is published as `message.received` and the provider gets its answer at once.
2. The message-received queue (rule -> SQS -> ingest, with a dead-letter queue) runs each message's turn
   through the same turn workflow as web chat, then sends the reply on the channel the customer used.

Exactly once per provider message, at-least-once delivery underneath: an inbox marker (memory, conditional
put) records `processing` -> `answered` (with the reply) -> `delivered`. A redelivered message that was
answered but not delivered is only re-sent; one already delivered is dropped; a turn that failed releases the
marker so that the queue's retry runs it again, and after the retries it rests in the dead-letter queue.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from concierge.channels.inbound import InboundMessage
from concierge.conversation.api import Channel, ReplyOut, TurnResponse
from concierge.memory.store import MemoryStore
from concierge.platform.events import EventPublisher, MessageReceived
from concierge.surveys.delivery import parse_reply_id
from concierge.web.limits import WEBHOOK, read_json

if TYPE_CHECKING:
    from concierge.channels.inbound_email import SesInbound

logger = logging.getLogger(__name__)

TurnRunner = Callable[[dict[str, Any]], tuple[int, str]]  # execution input -> (HTTP status, body): the turn workflow


class ChannelSender(Protocol):
    def deliver(self, message: InboundMessage, reply: TurnResponse, first_name: str | None) -> str | None:
        """Send the reply to the customer; returns the provider's id of what was sent."""


NEUTRAL_REPLY_HOURS = 24
NEUTRAL_REPLY = (
    "We received an email from this address. For your security we couldn't verify that it was sent from it, so we "
    "can't look up or change anything from it. Please write to us from the email address on your account, or use "
    "the chat on our website."
)


class TurnFailed(RuntimeError):
    pass


@dataclass
class Inbox:
    memory: MemoryStore
    run_turn: TurnRunner
    senders: dict[Channel, ChannelSender]
    # A tapped survey row is an answer, not a question: (survey, score, conversation id, sender) -> the reply text.
    answer_survey: Callable[[str, int, str, str], str] | None = None
    # A verified customer's "STOP": no journey messages them again (journeys/outreach.py) -> the reply text, or None
    # when the message is no opt-out.
    opt_out: Callable[[InboundMessage], str | None] | None = None

    def process(self, message: InboundMessage) -> str:
        """Run one channel message's turn and deliver its reply; returns what happened (for logs and tests)."""
        marker = self.memory.claim_inbox(message.channel, message.message_id)
        if marker is not None:
            if marker.get("status") == "answered":
                self._deliver(message, TurnResponse.model_validate_json(marker["reply"]))
                return "redelivered"
            if marker.get("status") == "processing":
                raise TurnFailed("this message is being processed by another delivery; retry later")
            return "duplicate"
        survey = parse_reply_id(message.reply_id) if self.answer_survey else None
        if survey is not None:
            return self._answer_survey(message, *survey)
        if self.opt_out is not None and (said := self._opted_out(message)) is not None:
            return said
        try:
            status, body = self.run_turn({"inbound": json.loads(message.model_dump_json())})
        except Exception:
            self.memory.release_inbox(message.channel, message.message_id)
            raise
        if status != 200:
            self.memory.release_inbox(message.channel, message.message_id)
            # Nothing a retry would change (e.g. a conversation conflict is 409 and is retried below).
            if 400 <= status < 500 and status != 409:
                logger.warning("channel message refused by the turn workflow", extra={"status": status})
                return f"refused:{status}"
            raise TurnFailed(f"the turn workflow answered {status}")
        self.memory.update_inbox(message.channel, message.message_id, status="answered", reply=body)
        self._deliver(message, TurnResponse.model_validate_json(body))
        return "delivered"

    def _answer_survey(self, message: InboundMessage, survey: str, score: int, conversation_id: str) -> str:
        try:
            assert self.answer_survey is not None  # process() only comes here when it is set
            text = self.answer_survey(survey, score, conversation_id, message.sender)
        except Exception:
            self.memory.release_inbox(message.channel, message.message_id)
            raise
        reply = TurnResponse(conversation_id=conversation_id, reply=ReplyOut(text=text), conversation_status="closed")
        self.memory.update_inbox(message.channel, message.message_id, status="answered", reply=reply.model_dump_json())
        self._deliver(message, reply)
        return "survey-answered"

    def _opted_out(self, message: InboundMessage) -> str | None:
        assert self.opt_out is not None  # process() only comes here when it is set
        try:
            text = self.opt_out(message)
        except Exception:
            self.memory.release_inbox(message.channel, message.message_id)
            raise
        if text is None:
            return None
        # Not a turn of any conversation: the answer goes to the address the STOP came from, and nowhere else.
        reply = TurnResponse(conversation_id="opt-out", reply=ReplyOut(text=text), conversation_status="closed")
        self.memory.update_inbox(message.channel, message.message_id, status="answered", reply=reply.model_dump_json())
        self._deliver(message, reply)
        return "opted-out"

    def _deliver(self, message: InboundMessage, reply: TurnResponse) -> None:
        if reply.reply is None:  # a person owns the conversation: the AI sends nothing
            self.memory.update_inbox(message.channel, message.message_id, status="delivered", provider_id="")
            return
        sender = self.senders.get(message.channel)
        if sender is None:
            raise TurnFailed(f"no sender for the {message.channel.value} channel")
        first_name = message.sender_name.split()[0] if message.sender_name else None
        if message.channel is Channel.EMAIL and not message.verified:
            # Anyone can write any address in From: the reply may reach someone who never wrote. At most one a day
            # to an address, and neutral: nothing of theirs (subject, display name, words) is echoed back.
            if not self.memory.claim_window("neutral-reply", message.sender, NEUTRAL_REPLY_HOURS):
                self.memory.update_inbox(message.channel, message.message_id, status="delivered", provider_id="")
                return
            message = message.model_copy(update={"subject": None, "sender_name": None})
            reply = reply.model_copy(update={"reply": ReplyOut(text=NEUTRAL_REPLY)})
            first_name = None
        provider_id = sender.deliver(message, reply, first_name)
        if provider_id and message.channel is Channel.EMAIL:
            # A reply to our email continues this conversation (threads rule 1).
            record = self.memory.get_conversation(reply.conversation_id)
            if record is not None:
                self.memory.put_thread(provider_id, reply.conversation_id, record.customer_id)
        self.memory.update_inbox(message.channel, message.message_id, status="delivered", provider_id=provider_id or "")


def publish_received(events: EventPublisher, messages: list[InboundMessage], now: datetime) -> int:
    if messages:
        events.publish(*(MessageReceived(occurred_at=now, message=m) for m in messages))
    return len(messages)


@dataclass
class WhatsAppIntake:
    """The webhook: Meta proves itself by the verify token (GET) and by signing each body (POST)."""

    events: EventPublisher
    app_secret: str
    verify_token: str

    def verify(self, params: Mapping[str, str]) -> str:
        from concierge.channels import whatsapp

        return whatsapp.verify_subscription(params, self.verify_token)

    def receive(self, raw_body: bytes, signature: str | None, now: datetime) -> int:
        from concierge.channels import whatsapp

        whatsapp.verify_signature(raw_body, signature, self.app_secret)  # before anything reads the body
        payload = read_json(raw_body, WEBHOOK, what="webhook body")  # size, depth and integer limits
        return publish_received(self.events, whatsapp.parse_webhook(payload, now), now)


@dataclass
class EmailIntake:
    """The SES receipt rule's Lambda action: the raw mail is already in S3 (the rule's S3 action)."""

    events: EventPublisher
    ses_inbound: SesInbound

    def receive(self, event: dict[str, Any], now: datetime) -> int:
        messages = [self.ses_inbound.from_record(record) for record in event.get("Records", [])]
        return publish_received(self.events, messages, now)
