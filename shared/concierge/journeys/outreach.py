"""The journey's message, as a conversation the customer can answer (the ingest function: the channel edge).

The last step of the journey workflow opens a conversation for the customer, records the proposals the message makes
(a reship or a refund of a late parcel; a refund of the second of two charges) as pending actions exactly as a turn
records a proposal, stores the message with those proposals marked shown (one transaction, `record_reply`), and sends
it on the channel `check` chose, to the verified address it chose. The journeys that only tell (a cart left, a
trial about to convert, a first step not taken, a promoter thanked with an offer) propose nothing: their message is
worded by code from what `check` read (`Outreach.context`), which the conversation keeps for the answers
(`flow["context"]`):

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
from zoneinfo import ZoneInfo

from concierge.actions.proposal import money, summary
from concierge.channels.outbound import tagged_address
from concierge.conversation.api import Channel
from concierge.conversation.turn import ActionResult, ActionStatus, ConversationRecord, Profile, Signals, ToolCall
from concierge.journeys.definitions import JourneyDefinition, definitions
from concierge.journeys.runner import customer_zone, parse, run_name
from concierge.journeys.store import JourneyStore
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
OPTED_OUT = "Done: {merchant} won't write to you first again. You can still write to us at any time."
ENGINE = "journey"  # the turn record's engine: the message came from a journey, not from a reply to the customer
PROPOSING = frozenset({"propose_reship_or_refund", "propose_charge_refund"})  # the others propose nothing
CLOSING = "You can also ask me anything about it, or ask for a person."
PER = {"week": "a week", "month": "a month", "quarter": "a quarter", "year": "a year"}


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
    is about cannot be found for this customer; nothing for a journey that only tells."""
    if definition.action not in PROPOSING:
        return []
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


def compose(
    definition: JourneyDefinition,
    merchant: MerchantProfile,
    signal: Signal,
    made: list[Proposal],
    context: dict[str, Any] | None = None,
    zone: ZoneInfo | None = None,
) -> str:
    """The message: the merchant's opening (merchant.json) or a neutral one, then the proposals in code's words; for
    a journey that only tells, what `check` read (`context`) in code's words."""
    if definition.action not in PROPOSING:
        return tell(definition, merchant, signal, context or {}, zone or ZoneInfo("UTC"))
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


# the journeys that only tell -----------------------------------------------------------------------------------------
def listing(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _day(value: str, zone: ZoneInfo) -> str:
    """'Saturday 21 November', in the customer's time zone."""
    return datetime.fromisoformat(value).astimezone(zone).strftime("%A %-d %B")


def price_phrase(context: dict[str, Any]) -> str:
    """'€12.00 a month': the plan's price as `check` read it (the signal's amount, else merchant.json's)."""
    return f"{money(context['price'], context['currency'])} {PER.get(context.get('interval', ''), '')}".strip()


def tell_values(merchant: MerchantProfile, signal: Signal, context: dict[str, Any], zone: ZoneInfo) -> dict[str, str]:
    """The placeholders a merchant's `message` or `subject` of these journeys may use, besides the signal's fields."""
    values = {"merchant": merchant.name, **{k: str(v) for k, v in signal.model_dump(mode="json").items()}}
    if context.get("items"):
        values["items"] = listing(context["items"])
    if context.get("total") and context.get("currency"):
        values["total"] = money(context["total"], context["currency"])
    if context.get("price"):
        values |= {"plan": context["plan"], "price": price_phrase(context), "ends_on": _day(context["ends_at"], zone)}
    if context.get("step"):
        values |= {"step": context["step"]["name"], "help": context["step"].get("help", "")}
    if context.get("product"):
        values["product"] = str(context["product"])
    return values


def thank_you(merchant: MerchantProfile, context: dict[str, Any]) -> str:
    """A promoter's thank-you, true of any shop: for the help rated (CSAT), or for recommending the shop (NPS)."""
    if context.get("survey") == "nps":
        return f"Thank you for your feedback, and for saying you'd recommend {merchant.name}: it means a lot to us."
    return f"Thank you for your feedback on the help you got from {merchant.name}: we're so glad it went well."


def tell(
    definition: JourneyDefinition, merchant: MerchantProfile, signal: Signal, context: dict[str, Any], zone: ZoneInfo
) -> str:
    """A cart left, a trial about to convert, a first step not taken: the merchant's opening or a neutral one that is
    true for any shop, then the facts in code's words (the items by their catalogue titles, the price and the day,
    the step and its help), and how to answer."""
    values = tell_values(merchant, signal, context, zone)
    opening = _fill(definition.message, values) if definition.message else None

    def says(name: str) -> bool:  # the merchant's opening states this fact itself
        return definition.message is not None and f"{{{name}}}" in definition.message

    if definition.action == "remind_cart":
        offer = context.get("offer") or {}
        items = values.get("items", "")
        left = f"You left {items} in your cart at {merchant.name}."
        lead = opening if opening is not None and says("items") else " ".join(filter(None, [opening, left]))
        if offer.get("presented") and offer.get("message"):
            # the offer's own words (the merchant's, validated: no urgency), with the items named if they do not
            first = [] if offer.get("names_items") else [lead]
            return "\n\n".join(
                [*first, offer["message"], "If you have a question about them, just reply, or ask for a person."]
            )
        return (
            f"{lead} They're still there if you want them.\n\nIf something held you up, reply with your question "
            "and I'll help, or ask for a person."
        )
    if definition.action == "thank_with_offer":
        # sent only with its offer presented (runner.check): the thanks, then the offer in the merchant's words
        offer = context.get("offer") or {}
        said = [offer["message"]] if offer.get("presented") and offer.get("message") else []
        closing = "If you have a question about it, just reply, or ask for a person."
        return "\n\n".join([opening or thank_you(merchant, context), *said, closing])
    if definition.action == "tell_trial_ending":
        plan, price, day = values["plan"], values["price"], values["ends_on"]
        lead = opening or f"Your free trial of {plan} with {merchant.name} ends on {day}."
        when = "After that" if opening is None or says("ends_on") else f"On {day}"
        return (
            f"{lead} {when} it becomes a paid {plan} subscription at {price} unless you cancel before then.\n\n"
            f"To keep it, you don't need to do anything. To cancel or change it, go to {context['manage_url']}. "
            f"{CLOSING}"
        )
    if definition.action == "nudge_churn_risk":  # the help the next best action chose (journeys/churn.py)
        from concierge.journeys import churn

        return churn.message(merchant, context, opening, zone)
    step = context["step"]
    how = f" Here's how: {step['help']}" if step.get("help") else ""
    pointer = f"A pointer for getting started with {merchant.name}: {step['name']}."
    lead = opening if opening is not None and says("step") else " ".join(filter(None, [opening, pointer]))
    return f"{lead}{how}\n\nIf something is in the way, reply and tell me what, and I'll help. {CLOSING}"


def tell_subject(
    definition: JourneyDefinition, merchant: MerchantProfile, signal: Signal, context: dict[str, Any], zone: ZoneInfo
) -> str:
    values = tell_values(merchant, signal, context, zone)
    if definition.subject:
        return _fill(definition.subject, values)
    if definition.action == "remind_cart":
        offer = context.get("offer") or {}
        return str(offer.get("subject") or f"Your cart at {merchant.name}")
    if definition.action == "tell_trial_ending":
        return f"Your {values['plan']} trial ends on {values['ends_on']}"
    if definition.action == "thank_with_offer":
        offer = context.get("offer") or {}
        return str(offer.get("subject") or f"Thank you from {merchant.name}")
    if definition.action == "nudge_churn_risk":
        from concierge.journeys import churn

        return churn.subject(merchant, context)
    return f"Getting started with {merchant.name}"


def tell_facts(definition: JourneyDefinition, context: dict[str, Any]) -> list[str]:
    """What was done, for the conversation's summary: ids and codes, never the customer's words."""
    if definition.action == "remind_cart":
        offer = context.get("offer") or {}
        said = f"journey {definition.id}: reminded of {len(context.get('items', []))} item(s)"
        if offer.get("presented"):
            return [
                f"{said}; offer {offer.get('offer_id')} presented"
                + (f", code {offer['code']}" if offer.get("code") else "")
            ]
        if offer.get("offer_id"):
            return [f"{said}; offer {offer['offer_id']} {offer.get('outcome')} ({offer.get('reason')})"]
        return [said]
    if definition.action == "tell_trial_ending":
        return [f"journey {definition.id}: told the {context.get('plan')} trial ends {context.get('ends_at')}"]
    if definition.action == "thank_with_offer":
        offer = context.get("offer") or {}
        code = f", code {offer['code']}" if offer.get("code") else ""
        return [
            f"journey {definition.id}: thanked for a {context.get('survey')} answer about conversation "
            f"{context.get('conversation_id')}; offer {offer.get('offer_id')} presented{code}"
        ]
    if definition.action == "nudge_churn_risk":
        from concierge.journeys import churn

        return churn.facts(context)
    return [f"journey {definition.id}: nudged about {context.get('step', {}).get('feature')}"]


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
    context = outreach.context
    zone = customer_zone(services.store, outreach.customer_id, merchant)
    text = compose(definition, merchant, signal, made, context, zone)
    ids = [action_id(conversation_id, p.tool) for p in made]
    if len(made) == 2:  # reship or refund: confirming one withdraws the other (executor._confirm_remedy)
        made = [
            Proposal(p.tool, {**p.arguments, "instead_of": other}, p.effect)
            for p, other in zip(made, reversed(ids), strict=True)
        ]
    offer = context.get("offer") or {}
    presented = [str(offer["offer_id"])] if offer.get("presented") and offer.get("offer_id") else []
    flow: dict[str, Any] = {
        "name": "journey",
        "journey": definition.id,
        # the customer's answer ("refund it please", "yes, reship") is read against these (engine/deterministic.py)
        "proposals": dict(zip(map(_verb, made), ids, strict=True)),
        # each proposal as the message said it: a question about it ("where would the refund go?") is answered so
        "said": {_verb(p): summary(p.tool, p.effect) for p in made},
    }
    if definition.action not in PROPOSING:  # what the answers need: the items and the code, the plan, the step
        flow["context"] = {
            **{k: v for k, v in context.items() if k != "offer"},
            **({"offer": {k: v for k, v in offer.items() if k not in ("message", "subject")}} if offer else {}),
        }
    record = ConversationRecord(
        conversation_id=conversation_id,
        customer_id=outreach.customer_id,
        channel=channel,
        # from the check that decided it (and any offer, whose acceptance is read from the conversation's start)
        started_at=min(at, outreach.checked_at) if outreach.checked_at else at,
        updated_at=at,
        message_seq=1,
        verified=True,
        channels=[channel],
        reply_to={channel.value: outreach.address},
        facts=(
            [f"journey {definition.id}: proposed {', '.join(p.tool for p in made)}"]
            if made
            else tell_facts(definition, context)
        ),
        flow=flow,
        offers_presented=presented,
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
    # measured first (a set: a retried step adds nothing), so a retry that finds the conversation has counted it
    run = run_name(definition.id, outreach.customer_id, signal.signal_id)
    JourneyStore(services.memory).record_run(outreach.customer_id, definition.id, "messaged", run)
    services.memory.record_reply(record, text, at, entry, turn_number=0, shown=ids)
    customer = services.store.get_customer(outreach.customer_id)
    if channel is Channel.WHATSAPP:
        assert services.whatsapp is not None  # checked above
        # signed as the email is: the customer's answer is not greeted again, so this is where they learn who writes
        signed = f"{text}\n\n— The {merchant.name} AI assistant. {OPT_OUT_LINE}"
        provider_id = services.whatsapp.send_text(outreach.address, signed)
    else:
        greeting = f"Hi {customer.first_name},\n\n" if customer else "Hello,\n\n"
        if offer.get("presented") and offer.get("greets") and offer.get("names_items"):
            greeting = ""  # the merchant's offer wording opens the message, with the customer's name
        provider_id = services.email.send(
            to=outreach.address,
            subject=(
                subject(definition, signal, merchant)
                if made
                else tell_subject(definition, merchant, signal, context, zone)
            ),
            text=(
                f"{greeting}{text}\n\n— The {merchant.name} AI assistant. Reply to this email to answer; ask for "
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
