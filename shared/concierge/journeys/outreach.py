"""The journey's message, as a conversation the customer can answer (the ingest function: the channel edge).

The last step of the journey workflow opens a conversation for the customer, records the proposals the message makes
(a reship or a refund of a late parcel; a refund of the second of two charges) as pending actions exactly as a turn
records a proposal, stores the message with those proposals marked shown (one transaction, `record_reply`), and sends
it on the channel `check` chose, to the verified address it chose:

- email: a reply to it threads into this conversation (the Reply-To carries the conversation: support+<id>@…);
- WhatsApp: the customer's next message continues their open conversation.

Every message ends with its opt-out: "reply STOP" on both channels (`opted_out` reads such a reply and records it on
the customer's profile, so no journey messages them again). Nothing executes without the customer's confirmation:
the proposals wait as any proposal does, and the executor refuses to run one no stored reply showed.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from concierge.actions.proposal import money, summary
from concierge.channels.outbound import tagged_address
from concierge.conversation.api import Channel
from concierge.conversation.turn import ActionResult, ActionStatus, ConversationRecord, Profile, Signals, ToolCall
from concierge.journeys.definitions import JourneyDefinition, definitions
from concierge.journeys.runner import parse
from concierge.memory.store import TurnEntry
from concierge.platform.events import ChargePosted, ShipmentDelayed, Signal

if TYPE_CHECKING:
    from concierge.channels.inbound import InboundMessage
    from concierge.channels.inbound_email import EmailReplySender
    from concierge.channels.whatsapp import WhatsAppSender
    from concierge.journeys.plans import Outreach
    from concierge.memory.store import MemoryStore
    from concierge.store.commerce import CommerceBackend
    from concierge.store.merchant import MerchantProfile
    from concierge.store.models import Order

OPT_OUT_WORDS = frozenset({"stop", "unsubscribe", "opt out", "optout", "stop messages", "stop messaging me"})
OPT_OUT_LINE = "Reply STOP to get no more messages like this one."
OPTED_OUT = (
    "Done: {merchant} won't write to you first again about orders or payments. You can still write to us at any time."
)
ENGINE = "journey"  # the turn record's engine: the message came from a journey, not from a reply to the customer


@dataclass
class OutreachServices:
    memory: MemoryStore
    store: CommerceBackend
    email: EmailReplySender
    whatsapp: WhatsAppSender | None  # None when WhatsApp is not configured
    merchant: Callable[[], MerchantProfile]
    support_address: str


@dataclass(frozen=True)
class Proposal:
    tool: str
    arguments: dict[str, Any]
    effect: dict[str, Any]


def action_id(conversation_id: str, tool: str) -> str:
    """As actions/executor.py's `action_id_for`: deterministic, so a retried step addresses the same action."""
    return "A" + hashlib.sha256(f"{conversation_id}:journey-{tool}".encode()).hexdigest()[:12].upper()


def _items(order: Order) -> list[str]:
    return [f"{line.title}" + (f" ×{line.quantity}" if line.quantity > 1 else "") for line in order.lines]


def proposals(definition: JourneyDefinition, signal: Signal, store: CommerceBackend) -> list[Proposal] | None:
    """What the message proposes, computed from the order or the charge (never from words); None when the order it
    is about cannot be found for this customer."""
    if definition.action == "propose_reship_or_refund":
        assert isinstance(signal, ShipmentDelayed)  # the journey's trigger is shipment.delayed
        order = store.get_order(signal.order_id)
        if order is None or order.customer_id != signal.customer_id:
            return None
        items = _items(order)
        return [
            Proposal("reship_order", {"order_id": order.id}, {"order_id": order.id, "items": items}),
            Proposal(
                "refund_order",
                {"order_id": order.id},
                {
                    "order_id": order.id,
                    "items": items,
                    "total": str(order.total),
                    "currency": order.currency,
                    "refund_to": order.payment.describe(),
                },
            ),
        ]
    assert isinstance(signal, ChargePosted)  # propose_charge_refund: the trigger is charge.posted
    effect = {
        "charge_id": signal.charge_id,
        "amount": str(signal.amount),
        "currency": signal.currency,
        "refund_to": "your original payment method",
        **({"order_id": signal.order_id} if signal.order_id else {}),
    }
    return [Proposal("refund_charge", {"charge_id": signal.charge_id}, effect)]


def compose(definition: JourneyDefinition, merchant: MerchantProfile, signal: Signal, made: list[Proposal]) -> str:
    """The message: the merchant's opening (merchant.json) or a neutral one, then the proposals in code's words."""
    values = {"merchant": merchant.name, **{k: str(v) for k, v in signal.model_dump(mode="json").items()}}
    if isinstance(signal, ChargePosted):
        values["amount"] = money(signal.amount, signal.currency)
    opening = _fill(definition.message, values) if definition.message else _neutral_opening(signal, merchant)
    lines = [summary(p.tool, p.effect) for p in made]
    if len(lines) == 2:
        offer = f'I can {lines[0]}, or {lines[1]}. Reply "{_verb(made[0])}" or "{_verb(made[1])}" to go ahead.'
    else:
        offer = f'I can {lines[0]}. Reply "{_verb(made[0])}" to go ahead, or tell me if all is as it should be.'
    return f"{opening}\n\n{offer} You can also ask me anything about it, or ask for a person."


def _verb(proposal: Proposal) -> str:
    return "reship" if proposal.tool == "reship_order" else "refund"


def _fill(template: str, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), m.group(0)), template)


def _neutral_opening(signal: Signal, merchant: MerchantProfile) -> str:
    if isinstance(signal, ShipmentDelayed):
        expected = f"; the carrier now expects it by {signal.expected_by:%d %B}" if signal.expected_by else ""
        return (
            f"Your order {signal.order_id} is running late: it was due by {signal.promised_by:%d %B}{expected}. "
            "I'm sorry about that."
        )
    assert isinstance(signal, ChargePosted)
    return (
        f"We see two charges of {money(signal.amount, signal.currency)} from {merchant.name} a few minutes apart. "
        "If you meant to pay only once, the second one should not be there."
    )


def subject(definition: JourneyDefinition, signal: Signal, merchant: MerchantProfile) -> str:
    if definition.subject:
        return _fill(definition.subject, {"merchant": merchant.name, "order_id": str(getattr(signal, "order_id", ""))})
    if isinstance(signal, ShipmentDelayed):
        return f"Your order {signal.order_id} is running late"
    return f"A possible double charge from {merchant.name}"


def send(outreach: Outreach, services: OutreachServices, at: datetime) -> dict[str, Any]:
    """Open the conversation, record the proposals and the message, and send it; once per run (a retried step finds
    the conversation and sends nothing again)."""
    if not outreach.go or outreach.channel is None or not outreach.address or not outreach.conversation_id:
        return {"sent": False, "reason": outreach.reason}
    conversation_id = outreach.conversation_id
    if services.memory.get_conversation(conversation_id) is not None:
        return {"sent": False, "reason": "already_sent", "conversation_id": conversation_id}
    channel = Channel(outreach.channel)
    if channel is Channel.WHATSAPP and services.whatsapp is None:
        return {"sent": False, "reason": "channel_unavailable"}
    merchant = services.merchant()
    definition = next(d for d in definitions(merchant.journeys) if d.id == outreach.journey)
    signal = parse(outreach.signal)
    made = proposals(definition, signal, services.store)
    if made is None:
        return {"sent": False, "reason": "order_not_found"}
    text = compose(definition, merchant, signal, made)
    ids = [action_id(conversation_id, p.tool) for p in made]
    if len(made) == 2:  # reship or refund: confirming one withdraws the other (executor._confirm_remedy)
        made = [
            Proposal(p.tool, {**p.arguments, "instead_of": other}, p.effect)
            for p, other in zip(made, reversed(ids), strict=True)
        ]
    record = ConversationRecord(
        conversation_id=conversation_id,
        customer_id=outreach.customer_id,
        channel=channel,
        started_at=at,
        updated_at=at,
        message_seq=1,
        verified=True,
        channels=[channel],
        reply_to={channel.value: outreach.address},
        facts=[f"journey {definition.id}: proposed {', '.join(p.tool for p in made)}"],
        # the customer's answer ("refund it please", "yes, reship") is read against these (engine/deterministic.py)
        flow={
            "name": "journey",
            "journey": definition.id,
            "proposals": dict(zip(map(_verb, made), ids, strict=True)),
            # each proposal as the message said it: a question about it ("where would the refund go?") is answered so
            "said": {_verb(p): summary(p.tool, p.effect) for p in made},
        },
    )
    for proposal, pending in zip(made, ids, strict=True):
        call = ToolCall(id=f"journey-{proposal.tool}", tool=proposal.tool, arguments=proposal.arguments)
        result = ActionResult(
            call_id=call.id,
            action_id=pending,
            tool=proposal.tool,
            status=ActionStatus.PENDING_CONFIRMATION,
            result={"action_id": pending, **proposal.effect},
        )
        services.memory.put_action(conversation_id, outreach.customer_id, call, result, proposal.effect)
    entry = TurnEntry(
        signals=Signals(intent=f"journey.{definition.id}", intent_confidence=1.0, sentiment=0.0),
        engine=ENGINE,
        tools=[p.tool for p in made],
        at=at,
    )
    services.memory.record_reply(record, text, at, entry, turn_number=0, shown=ids)
    customer = services.store.get_customer(outreach.customer_id)
    if channel is Channel.WHATSAPP:
        assert services.whatsapp is not None  # checked above
        provider_id = services.whatsapp.send_text(outreach.address, f"{text}\n\n{OPT_OUT_LINE}")
    else:
        greeting = f"Hi {customer.first_name}," if customer else "Hello,"
        provider_id = services.email.send(
            to=outreach.address,
            subject=subject(definition, signal, merchant),
            text=(
                f"{greeting}\n\n{text}\n\n— The {merchant.name} AI assistant. Reply to this email to answer; ask for "
                f"a person at any time.\n{OPT_OUT_LINE}"
            ),
            in_reply_to=None,
            references=[],
            reply_to=tagged_address(services.support_address, conversation_id),
            opens_thread=True,
        )
        services.memory.put_thread(provider_id, conversation_id, outreach.customer_id)
    return {"sent": True, "channel": channel.value, "conversation_id": conversation_id, "proposals": ids}


# opting out ----------------------------------------------------------------------------------------------------------
def asks_to_opt_out(text: str) -> bool:
    """The whole message is an opt-out word ("STOP", "unsubscribe"): a sentence that mentions stopping is not."""
    return re.sub(r"[^a-z ]", "", text.lower()).strip() in OPT_OUT_WORDS


def opt_out(message: InboundMessage, memory: MemoryStore, merchant_name: str) -> str | None:
    """A verified customer's "STOP" on a channel: no journey messages them again (their profile records it). The
    reply to send, or None when the message is not an opt-out (or comes from no verified customer)."""
    if not message.verified or not asks_to_opt_out(message.text):
        return None
    identity = memory.get_identity(message.channel, message.sender)
    if identity is None:
        return None
    profile = memory.get_profile(identity.customer_id) or Profile(customer_id=identity.customer_id)
    memory.put_profile(profile.model_copy(update={"journeys": False}))
    memory.audit(identity.customer_id, "journeys.opted_out", {"channel": message.channel.value})
    return OPTED_OUT.format(merchant=merchant_name)
