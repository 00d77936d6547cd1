"""The edges of a turn: receiving the customer's message (ingest) and recording the reply (reply step)."""

from __future__ import annotations

import hashlib
import logging
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from concierge.actions import proposal
from concierge.actions.proposal import money
from concierge.catalogue.cart import Cart
from concierge.channels.inbound import InboundMessage
from concierge.conversation import replyguard, threads
from concierge.conversation.api import (
    ActionOut,
    ApiRequest,
    Channel,
    HandoffOut,
    HttpResponse,
    ReplyOut,
    TurnRequestBody,
    TurnResponse,
)
from concierge.conversation.tasks import Resume, TurnInput
from concierge.conversation.turn import (
    ActionResult,
    ActionStatus,
    ConversationSnapshot,
    ConversationStatus,
    CustomerRef,
    Decision,
    IncomingMessage,
    ReadyTurn,
    RejectedTurn,
    Turn,
)
from concierge.leads.reply import with_lead_outcome
from concierge.memory import identity, longterm
from concierge.memory.storage import Delete, Put
from concierge.memory.store import ConversationRecord, Loaded, MemoryStore, Profile, TurnEntry
from concierge.platform.errors import BadRequest, ConciergeError, Conflict, NotFound
from concierge.platform.events import ConversationClosed, DomainEvent, EventPublisher, Resolution, TurnCompleted
from concierge.reasoning import signals
from concierge.store.commerce import CommerceBackend
from concierge.store.merchant import MerchantProfile
from concierge.web.auth import SigningKeys, verify_customer

CONVERSATION_ID = re.compile(r"^[A-Za-z0-9_-]{1,100}$")
logger = logging.getLogger(__name__)
FALLBACK_REPLY = (
    "I'm sorry — I couldn't finish that just now. Would you like me to connect you with a member of our team?"
)

# The customer's message was kept, its answer could not be: sending it again would store it twice.
REPLY_NOT_RECORDED = "The conversation is too busy to record the reply; please send your message again."


@dataclass
class EdgeServices:
    memory: MemoryStore
    store: CommerceBackend
    events: EventPublisher
    signing_keys: SigningKeys
    # The merchant's profile (merchant.json) for this turn: its wording and policy reach the agent with the turn.
    merchant: Callable[[], MerchantProfile] | None = None
    turn_budget_seconds: float = 10.0  # settings.turn_budget_seconds: the turn's deadline is this after its message


def fingerprint(text: str) -> str:
    return hashlib.sha256(signals.normalize(text).encode()).hexdigest()[:16]


def receive(request: TurnInput, services: EdgeServices, now: datetime) -> ReadyTurn | RejectedTurn:
    """Validate, authenticate, append the message to memory and score it. Errors become an HTTP rejection."""
    try:
        if request.inbound is not None:
            return _receive_inbound(request.inbound, services, now)
        if request.resume is not None:
            return _resume(request.resume, services, now)
        return _receive_web(request, services, now)
    except ConciergeError as error:
        return Turn.rejected(HttpResponse.from_error(error))


def _receive_web(request: ApiRequest, services: EdgeServices, now: datetime) -> ReadyTurn:
    customer_id = verify_customer(request.header_value("authorization"), services.signing_keys)
    conversation_id = request.path.get("conversation_id", "")
    if not CONVERSATION_ID.match(conversation_id):
        raise BadRequest("conversation_id must be 1–100 letters, digits, '-' or '_'.")
    if not isinstance(request.body, dict):
        raise BadRequest('The request body must be a JSON object like {"text": "...", "channel": "web"}.')
    try:
        body = TurnRequestBody.model_validate(request.body)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors())
        raise BadRequest(f"Invalid request body: {problems}") from exc
    loaded = services.memory.load_conversation(conversation_id, customer_id)
    who = _who(customer_id, loaded.record, services)
    return _append(conversation_id, who, body.channel, body.text, now, services, loaded=loaded)


def _who(
    customer_id: str, record: ConversationRecord | None, services: EdgeServices, verified: bool = True
) -> CustomerRef:
    """Who the customer is: as the conversation's first message recorded it (no lookup per message), else from the
    store. `verified=False` (a sender the channel could not verify) never reads the store."""
    if record is not None and record.customer_id == customer_id and (record.first_name is not None or not verified):
        return CustomerRef(
            id=customer_id, first_name=record.first_name or "there", locale=record.locale or "en", verified=verified
        )
    customer = services.store.get_customer(customer_id)
    return CustomerRef(
        id=customer_id,
        first_name=customer.first_name if customer else "there",
        locale=customer.locale if customer else "en",
    )


def _resume(resume: Resume, services: EdgeServices, now: datetime) -> ReadyTurn:
    """A conversation handed back to the AI: its turn answers the customer's messages no one has answered yet
    (written while a person had it), already stored, so nothing is appended."""
    loaded = services.memory.load_conversation(resume.conversation_id, resume.customer_id)
    record = loaded.record
    if record is None or record.customer_id != resume.customer_id:
        raise NotFound("Conversation not found.")
    waiting = services.memory.unanswered(resume.conversation_id)
    if not waiting:
        raise Conflict("Nothing in this conversation is waiting for an answer.")
    who = _who(record.customer_id, record, services, verified=record.verified)
    text = "\n".join(message["text"] for message in waiting)
    return ReadyTurn(
        conversation_id=resume.conversation_id,
        customer=who,
        message=IncomingMessage(
            message_id=f"{resume.conversation_id}:{waiting[-1]['seq']}",
            text=text,
            channel=record.channel,
            received_at=now,
        ),
        signals=signals.score(text),
        conversation=record.snapshot(),
        record=record,
        profile=loaded.profile,
        started_at=now,
        deadline=now + timedelta(seconds=services.turn_budget_seconds),
        merchant=services.merchant() if services.merchant else None,
    )


def _receive_inbound(message: InboundMessage, services: EdgeServices, now: datetime) -> ReadyTurn:
    """An email or WhatsApp message: resolve who sent it (verified senders only), thread it, append it."""
    resolution = identity.resolve(message, services.memory, services.store, now)
    thread = threads.choose(message, resolution.customer_id, services.memory, now)
    who = CustomerRef(id=resolution.customer_id, first_name=resolution.first_name, verified=resolution.verified)
    return _append(thread.conversation_id, who, message.channel, message.text, now, services, message, thread)


def _append(
    conversation_id: str,
    who: CustomerRef,
    channel: Channel,
    text: str,
    now: datetime,
    services: EdgeServices,
    inbound: InboundMessage | None = None,
    thread: threads.Thread | None = None,
    loaded: Loaded | None = None,
) -> ReadyTurn:
    loaded = loaded or services.memory.load_conversation(conversation_id, who.id)
    record = loaded.record
    if record is not None and record.customer_id != who.id:
        raise NotFound("Conversation not found.")  # never confirm that someone else's conversation exists
    expected_seq = record.message_seq if record else None
    if record is None:
        linked = (
            thread.linked_conversation_id
            if thread
            else threads.link_for_web(conversation_id, text, who.id, services.memory, now)
        )
        record = ConversationRecord(
            conversation_id=conversation_id,
            customer_id=who.id,
            channel=channel,
            started_at=now,
            updated_at=now,
            verified=who.verified,
            linked_conversation_id=linked,
            subject=inbound.subject if inbound else None,
            first_name=who.first_name if who.verified else None,
            locale=who.locale,
        )
    elif record.status is ConversationStatus.CLOSED:
        record = record.model_copy(update={"status": ConversationStatus.OPEN, "flow": {}})

    scored = signals.score(text)
    print_ = fingerprint(text)
    repeated = print_ in record.message_fingerprints and scored.intent not in (
        "affirm",
        "greeting",
        "thanks",
        "unknown",
    )
    switched = bool(record.channels) and channel not in record.channels
    update = {
        "message_seq": record.message_seq + 1,
        "customer_turns": record.customer_turns + 1,
        "updated_at": now,
        "channel": channel,
        "channels": list(dict.fromkeys([*record.channels, channel])),
        "keywords": threads.merge_keywords(record.keywords, f"{inbound.subject or ''} {text}" if inbound else text),
        "intents": [*record.intents, scored.intent],
        "sentiments": [*record.sentiments, round(scored.sentiment, 3)],
        "message_fingerprints": [*record.message_fingerprints[-19:], print_],
        "repeated_messages": record.repeated_messages + int(repeated and len(text) > 12),
        "verified": record.verified and who.verified,
    }
    message_fields: dict[str, Any] = {}
    if inbound is not None:
        update["reply_to"] = {**record.reply_to, channel.value: inbound.sender}
        update["last_inbound"] = {**record.last_inbound, channel.value: inbound.message_id}
        message_fields = {
            "provider_message_id": inbound.message_id,
            "attachments": [a.model_dump() for a in inbound.attachments],
            "raw_s3_key": inbound.raw_s3_key,
            "subject": inbound.subject,
        }
    with_people = _people_own(conversation_id, loaded.owner, print_, services, now)
    if with_people:
        update["status"] = ConversationStatus.HANDED_OFF
    elif record.status is ConversationStatus.HANDED_OFF:
        update["status"] = ConversationStatus.OPEN  # handed back to the AI
    record = record.model_copy(update=update)
    services.memory.append_customer_message(record, text, now, expected_seq, message_fields)

    snapshot = record.snapshot().model_copy(update={"channel_switched": switched})
    return ReadyTurn(
        conversation_id=conversation_id,
        customer=who,
        message=IncomingMessage(
            message_id=f"{conversation_id}:{record.message_seq}", text=text, channel=channel, received_at=now
        ),
        signals=scored,
        conversation=snapshot,
        record=record,
        profile=loaded.profile,
        started_at=now,
        deadline=now + timedelta(seconds=services.turn_budget_seconds),
        merchant=services.merchant() if services.merchant else None,
    )


def _people_own(
    conversation_id: str, item: dict[str, Any] | None, fingerprint_: str, services: EdgeServices, now: datetime
) -> bool:
    """Whether people own the conversation now (`item`: its OWNER item as loaded with it). A conversation a person
    closed goes back to that person when the customer writes again; each message written while people own it is
    counted (and whether it repeats one written before the handoff)."""
    from concierge.handoff import queue as handoff

    store = handoff.HandoffStore(services.memory)
    owner = handoff.Owner.model_validate(item) if item else None
    if owner is not None and owner.owner == "human" and owner.state == "closed":
        owner = handoff.reopen(store, owner, now)
    if owner is None or not owner.with_people:
        return False
    handoff.note_customer_message(store, owner, fingerprint_)
    return True


def fact_of(result: ActionResult) -> str | None:
    """One line of what was done, for the summary a returning customer is greeted with."""
    r = result.result
    if result.status is not ActionStatus.EXECUTED:
        return None
    if result.tool == "return_items" and "return_id" in r:
        if r["resolution"] == "refund":
            return (
                f"we processed your return of the {r['items'][0]} and refunded "
                f"{money(r['refund_amount'], r['currency'])}."
            )
        return f"we exchanged your {r['items'][0]} for the {r['exchange_item']}."
    if result.tool == "track_shipment":
        return f"we checked on your order {r['order_id']}, which was {r['status']}."
    if result.tool == "create_handoff":
        return "a member of our team took over your question."
    return None


REPLY_ATTEMPTS = 8


def reply(turn: ReadyTurn, services: EdgeServices, now: datetime) -> ReadyTurn:
    """Record the reply and the turn in memory, publish the domain events, and shape the HTTP response."""
    decision = turn.decision
    if decision is None and turn.conversation.status is ConversationStatus.HANDED_OFF:
        return _with_people(turn, services)
    if decision is None or decision.next != "reply" or not decision.reply:
        decision = Decision(next="reply", reply=FALLBACK_REPLY, flow={"name": "offer_handoff"}, engine="fallback")
    # Every proposal of the turn is stated in the reply by code (order, items, amount), whatever the engine wrote;
    # the reply is stored with the proposals it showed, and only those can be confirmed in a later message.
    # No reply asks for a card number, a code or a password, whatever wrote it or whatever it read (replyguard).
    guarded = replyguard.guard(decision.reply, [p.text for p in turn.passages])
    if guarded.withheld:
        logger.warning("reply withheld sentences asking for a secret", extra={"sentences": guarded.withheld})
    text, shown = proposal.with_proposals(guarded.text, turn.results)
    # A lead's outcome carries the merchant's link, and the calendar link goes only with a qualified lead (leads/).
    text = with_lead_outcome(text, turn.results, turn.merchant, turn.memory.actions)
    decision = decision.model_copy(update={"reply": text})
    executed = [r for r in turn.results if r.status is ActionStatus.EXECUTED]
    facts = [f for f in (fact_of(r) for r in executed) if f]
    presented = [
        str(r.result["offer_id"])
        for r in executed
        if r.tool == "next_best_action" and r.result.get("presented") and r.result.get("offer_id")
    ]
    latency_ms = int((now - turn.started_at).total_seconds() * 1000) if turn.started_at else 0
    turn_number = turn.conversation.customer_turns
    entry = TurnEntry(
        signals=turn.signals,
        engine=decision.engine,
        tools=[r.tool for r in turn.results],
        latency_ms=latency_ms,
        errors=turn.errors,
        usage=turn.usage,
        at=now,
    )
    # Written on the conversation as it is at that moment: when another message came in meanwhile (a burst, a
    # person's reply, a notice), the reply is rebuilt on top of it and takes the next sequence number — nothing
    # already stored is overwritten, nothing answered goes missing.
    calls = {call.id: call for round_ in turn.tool_rounds for call in round_}
    lookups = [
        services.memory.action_put(turn.conversation_id, turn.customer.id, calls[r.call_id], r, None)
        for r in turn.results
        if not r.recorded and r.call_id in calls
    ]
    stored = turn.record  # as receive wrote it; read again only when something changed it since
    for attempt in range(REPLY_ATTEMPTS):
        stored = stored or services.memory.get_conversation(turn.conversation_id)
        assert stored is not None  # written at receive; without it the reply cannot be recorded
        status = ConversationStatus.HANDED_OFF if decision.handoff else stored.status
        if decision.close:
            status = ConversationStatus.CLOSED
        record = stored.model_copy(
            update={
                "message_seq": stored.message_seq + 1,
                "updated_at": now,
                "status": status,
                "flow": decision.flow,
                "resolved": stored.resolved or decision.resolved,
                "actions_executed": [*stored.actions_executed, *[r.tool for r in executed]],
                "actions_failed": stored.actions_failed + sum(r.status is ActionStatus.FAILED for r in turn.results),
                "handoff_reason": decision.handoff.reason if decision.handoff else stored.handoff_reason,
                "first_response_ms": stored.first_response_ms if stored.first_response_ms is not None else latency_ms,
                "facts": [*stored.facts, *facts][-10:],
                "notes": [*stored.notes, *decision.notes][-10:],
                "offers_presented": list(dict.fromkeys([*stored.offers_presented, *presented])),
            }
        )
        extra, deletes, closed_event = _long_term_memory(record, turn, decision, executed, services, now)
        try:
            services.memory.record_reply(
                record,
                decision.reply,
                now,
                entry,
                extra,
                deletes,
                expected_seq=stored.message_seq,
                expected_at=stored.model_dump(mode="json")["updated_at"],
                turn_number=turn_number,
                shown=shown,
                actions=lookups,
            )
            break
        except Conflict:
            stored = None
            time.sleep(random.uniform(0, 0.05 * (attempt + 1)))  # jittered: concurrent replies do not collide again
    else:  # the customer's message is stored, its answer could not be: 409 with no Retry-After, since sending the
        # same message again would store it twice; the customer decides
        busy = Conflict(REPLY_NOT_RECORDED)
        return turn.model_copy(update={"http": HttpResponse.from_error(busy)})

    events: list[DomainEvent] = [
        TurnCompleted(
            occurred_at=now,
            conversation_id=record.conversation_id,
            customer_id=record.customer_id,
            turn=turn_number,
            channel=record.channel.value,
            intent=decision.intent or turn.signals.intent,
            confidence=decision.confidence,
            sentiment=turn.signals.sentiment,
            engine=decision.engine,
            actions=[r.tool for r in executed],
            handoff=decision.handoff is not None,
            latency_ms=latency_ms,
            input_tokens=turn.usage.input_tokens,
            output_tokens=turn.usage.output_tokens,
            cache_read_tokens=turn.usage.cache_read_tokens,
            cache_write_tokens=turn.usage.cache_write_tokens,
            cost_usd=turn.usage.cost_usd,
            journey=_answered_journey(turn.conversation),
        )
    ]
    if closed_event:
        events.append(closed_event)
    services.events.publish(*events)

    asked = {call.id: call.arguments for round_ in turn.tool_rounds for call in round_}
    carts = [r.result["cart"] for r in executed if r.tool == "build_cart" and "cart" in r.result]
    response = TurnResponse(
        conversation_id=record.conversation_id,
        reply=ReplyOut(text=decision.reply, citations=decision.citations),
        actions=[
            ActionOut(tool=r.tool, status=r.status.value, arguments=asked.get(r.call_id, {}), result=r.result)
            for r in turn.results
        ],
        handoff=HandoffOut(
            reason=decision.handoff.reason, status=decision.handoff.status, message=decision.handoff.message
        )
        if decision.handoff
        else None,
        cart=Cart.model_validate(carts[-1]) if carts and not decision.handoff else None,
        conversation_status=status.value,
    )
    return turn.model_copy(update={"decision": decision, "http": HttpResponse.of(200, response)})


def _with_people(turn: ReadyTurn, services: EdgeServices) -> ReadyTurn:
    """People own the conversation: the AI stays silent. The message is already recorded for the agent; the
    answer says who has it, so a page or channel shows no reply from the assistant."""
    from concierge.handoff import queue as handoff

    owner = handoff.HandoffStore(services.memory).get(turn.conversation_id)
    assigned = owner is not None and owner.state == "assigned"
    response = TurnResponse(
        conversation_id=turn.conversation_id,
        reply=None,
        handoff=HandoffOut(
            reason=owner.reason if owner else "with our team",
            status="assigned" if assigned else "waiting",
            message="A member of our team has this conversation and will reply here."
            if assigned
            else "Your message is with our team; the next available person will reply here.",
        ),
        conversation_status=ConversationStatus.HANDED_OFF.value,
    )
    return turn.model_copy(update={"http": HttpResponse.of(200, response)})


def _long_term_memory(
    record: ConversationRecord,
    turn: ReadyTurn,
    decision: Decision,
    executed: list[ActionResult],
    services: EdgeServices,
    now: datetime,
) -> tuple[list[Put], list[Delete], ConversationClosed | None]:
    """Facts as they arise and, at close, the summary and the profile; nothing for an unverified sender, and
    nothing personal for a customer who opted out of personalization."""
    memory = services.memory
    closing = record.status is ConversationStatus.CLOSED
    upserts, removals = longterm.facts_from(executed, decision.notes, record, now)
    extra: list[Put] = []
    deletes: list[Delete] = []
    closed_event = None
    if closing:
        deletes.append(memory.close_open_entry(record.customer_id, record.conversation_id))
    if not record.verified or not (closing or upserts or removals):
        if closing:
            closed_event = closed_event_of(record, turn, "", now)
        return extra, deletes, closed_event
    read = turn.profile.profile if turn.profile is not None else memory.get_profile(record.customer_id)
    profile = read or Profile(customer_id=record.customer_id)
    if profile.personalization:
        extra += [memory.fact_put(record.customer_id, fact) for fact in upserts]
        deletes += [
            memory.forget_fact(record.customer_id, key) for key in removals if key not in {f.key for f in upserts}
        ]
        if upserts and read is None and not closing:
            # A customer with no profile has nothing to recall (longterm.recall reads no further): the first fact
            # remembered about them writes one.
            extra.append(memory.profile_put(profile))
    if closing:
        summary = longterm.summary_of(record, now)
        profile = profile.model_copy(
            update={
                "conversations": profile.conversations + 1,
                "last_summary": summary.text if profile.personalization else None,
                "last_conversation_id": record.conversation_id,
                "last_closed_at": now,
            }
        )
        extra.append(memory.profile_put(profile))
        if profile.personalization:
            extra.append(memory.summary_put(record.customer_id, summary))
        closed_event = closed_event_of(record, turn, summary.text, now)
    return extra, deletes, closed_event


def closed_event_of(
    record: ConversationRecord, turn: ReadyTurn | None, summary: str, now: datetime, last_text: str = ""
) -> ConversationClosed:
    text = turn.message.text if turn is not None else last_text
    normalized = signals.normalize(text)
    resolution: Resolution
    if record.handoff_reason:
        resolution = "handed_off"
    elif record.resolved:
        resolution = "resolved"
    else:
        resolution = "unresolved"
    return ConversationClosed(
        occurred_at=now,
        conversation_id=record.conversation_id,
        customer_id=record.customer_id,
        channel=record.channel.value,
        started_at=record.started_at,
        turns=record.customer_turns,
        resolution=resolution,
        intents=record.intents,
        sentiments=record.sentiments,
        actions_executed=record.actions_executed,
        actions_failed=record.actions_failed,
        handoff_reason=record.handoff_reason,
        repeated_messages=record.repeated_messages,
        thanked=signals.any_phrase(normalized, signals.INTENT_PHRASES["thanks"]),
        complained=any(i == "complaint" for i in record.intents) or any(s <= -0.5 for s in record.sentiments),
        first_response_ms=record.first_response_ms or 0,
        summary=summary,
    )


def _answered_journey(conversation: ConversationSnapshot) -> str | None:
    """The journey whose message the customer's first turn answers (a conversation a journey opened), else None."""
    flow = conversation.flow
    if conversation.opened_by_us and flow.get("name") == "journey" and isinstance(flow.get("journey"), str):
        return str(flow["journey"])
    return None
