"""The edges of a turn: receiving the customer's message (ingest) and recording the reply (reply step)."""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime

from pydantic import ValidationError

from concierge import signals
from concierge.api import ActionOut, ApiRequest, HandoffOut, HttpResponse, ReplyOut, TurnRequestBody, TurnResponse
from concierge.auth import verify_customer
from concierge.commerce import CommerceBackend
from concierge.engine.deterministic import money
from concierge.errors import BadRequest, ConciergeError, NotFound, http_status
from concierge.events import ConversationClosed, EventPublisher, TurnCompleted
from concierge.memory import ConversationRecord, MemoryStore, Profile
from concierge.turn import ActionResult, ActionStatus, ConversationStatus, CustomerRef, Decision, IncomingMessage, Turn

CONVERSATION_ID = re.compile(r"^[A-Za-z0-9_-]{1,100}$")
FALLBACK_REPLY = (
    "I'm sorry — I couldn't finish that just now. Would you like me to connect you with a member of our team?"
)


@dataclass
class EdgeServices:
    memory: MemoryStore
    store: CommerceBackend
    events: EventPublisher
    signing_secret: str


def fingerprint(text: str) -> str:
    return hashlib.sha256(signals.normalize(text).encode()).hexdigest()[:16]


def receive(request: ApiRequest, services: EdgeServices, now: datetime) -> Turn:
    """Validate, authenticate, append the message to memory and score it. Errors become an HTTP rejection."""
    try:
        return _receive(request, services, now)
    except ConciergeError as error:
        return Turn.rejected(HttpResponse.error(http_status(error), error.message))


def _receive(request: ApiRequest, services: EdgeServices, now: datetime) -> Turn:
    customer_id = verify_customer(
        request.header_value("x-customer-id"), request.header_value("x-customer-signature"), services.signing_secret
    )
    conversation_id = request.path.get("conversation_id", "")
    if not CONVERSATION_ID.match(conversation_id):
        raise BadRequest("conversation_id must be 1–100 letters, digits, '-' or '_'.")
    if not isinstance(request.body, dict):
        raise BadRequest("The request body must be a JSON object like {\"text\": \"...\", \"channel\": \"web\"}.")
    try:
        body = TurnRequestBody.model_validate(request.body)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors())
        raise BadRequest(f"Invalid request body: {problems}") from exc

    record = services.memory.get_conversation(conversation_id)
    if record is not None and record.customer_id != customer_id:
        raise NotFound("Conversation not found.")  # never confirm that someone else's conversation exists
    expected_seq = record.message_seq if record else None
    if record is None:
        record = ConversationRecord(
            conversation_id=conversation_id, customer_id=customer_id, channel=body.channel, started_at=now, updated_at=now
        )
    elif record.status is ConversationStatus.CLOSED:
        record = record.model_copy(update={"status": ConversationStatus.OPEN, "flow": {}})

    scored = signals.score(body.text)
    print_ = fingerprint(body.text)
    repeated = print_ in record.message_fingerprints and scored.intent not in ("affirm", "greeting", "thanks", "unknown")
    record = record.model_copy(
        update={
            "message_seq": record.message_seq + 1,
            "customer_turns": record.customer_turns + 1,
            "updated_at": now,
            "channel": body.channel,
            "intents": [*record.intents, scored.intent],
            "sentiments": [*record.sentiments, round(scored.sentiment, 3)],
            "message_fingerprints": [*record.message_fingerprints[-19:], print_],
            "repeated_messages": record.repeated_messages + int(repeated and len(body.text) > 12),
        }
    )
    services.memory.append_customer_message(record, body.text, now, expected_seq)

    customer = services.store.get_customer(customer_id)
    return Turn(
        conversation_id=conversation_id,
        customer=CustomerRef(id=customer_id, first_name=customer.first_name if customer else "there"),
        message=IncomingMessage(message_id=f"{conversation_id}:{record.message_seq}", text=body.text, channel=body.channel, received_at=now),
        signals=scored,
        conversation=record.snapshot(),
        started_at=now,
    )


def fact_of(result: ActionResult) -> str | None:
    """One line of what was done, for the summary a returning customer is greeted with."""
    r = result.result
    if result.status is not ActionStatus.EXECUTED:
        return None
    if result.tool == "return_items" and "return_id" in r:
        if r["resolution"] == "refund":
            return f"we processed your return of the {r['items'][0]} and refunded {money(r['refund_amount'], r['currency'])}."
        return f"we exchanged your {r['items'][0]} for the {r['exchange_item']}."
    if result.tool == "track_shipment":
        return f"we checked on your order {r['order_id']}, which was {r['status']}."
    if result.tool == "create_handoff":
        return "a member of our team took over your question."
    return None


def reply(turn: Turn, services: EdgeServices, now: datetime) -> Turn:
    """Record the reply and the turn in memory, publish the domain events, and shape the HTTP response."""
    decision = turn.decision
    if decision is None or decision.next != "reply" or not decision.reply:
        decision = Decision(next="reply", reply=FALLBACK_REPLY, flow={"name": "offer_handoff"}, engine="fallback")
    record = services.memory.get_conversation(turn.conversation_id)
    executed = [r for r in turn.results if r.status is ActionStatus.EXECUTED]
    facts = [f for f in (fact_of(r) for r in executed) if f]
    status = ConversationStatus.HANDED_OFF if decision.handoff else record.status
    if decision.close:
        status = ConversationStatus.CLOSED
    latency_ms = int((now - turn.started_at).total_seconds() * 1000) if turn.started_at else 0
    record = record.model_copy(
        update={
            "message_seq": record.message_seq + 1,
            "updated_at": now,
            "status": status,
            "flow": decision.flow,
            "resolved": record.resolved or decision.resolved,
            "actions_executed": [*record.actions_executed, *[r.tool for r in executed]],
            "actions_failed": record.actions_failed + sum(r.status is ActionStatus.FAILED for r in turn.results),
            "handoff_reason": decision.handoff.reason if decision.handoff else record.handoff_reason,
            "first_response_ms": record.first_response_ms if record.first_response_ms is not None else latency_ms,
            "facts": [*record.facts, *facts][-10:],
        }
    )
    turn_item = {
        "signals": turn.signals.model_dump() if turn.signals else {},
        "engine": decision.engine,
        "tools": [r.tool for r in turn.results],
        "latency_ms": latency_ms,
        "errors": turn.errors,
        "at": now,
    }
    extra: list[dict] = []
    closed_event = None
    if status is ConversationStatus.CLOSED:
        summary = " ".join(record.facts[-2:]) or "we chatted about " + (record.intents[0] if record.intents else "your question") + "."
        profile = services.memory.get_profile(record.customer_id) or Profile(customer_id=record.customer_id)
        profile = profile.model_copy(
            update={
                "conversations": profile.conversations + 1,
                "last_summary": summary,
                "last_conversation_id": record.conversation_id,
                "last_closed_at": now,
            }
        )
        extra.append(services.memory.profile_item(profile))
        closed_event = closed_event_of(record, turn, summary, now)
    services.memory.record_reply(record, decision.reply, now, turn_item, extra)

    events = [
        TurnCompleted(
            occurred_at=now,
            conversation_id=record.conversation_id,
            customer_id=record.customer_id,
            turn=record.customer_turns,
            channel=record.channel.value,
            intent=turn.signals.intent if turn.signals else "unknown",
            sentiment=turn.signals.sentiment if turn.signals else 0.0,
            engine=decision.engine,
            actions=[r.tool for r in executed],
            handoff=decision.handoff is not None,
            latency_ms=latency_ms,
        )
    ]
    if closed_event:
        events.append(closed_event)
    services.events.publish(*events)

    response = TurnResponse(
        conversation_id=record.conversation_id,
        reply=ReplyOut(text=decision.reply, citations=decision.citations),
        actions=[ActionOut(tool=r.tool, status=r.status.value, result=r.result) for r in turn.results],
        handoff=HandoffOut(reason=decision.handoff.reason, status=decision.handoff.status, message=decision.handoff.message)
        if decision.handoff
        else None,
        conversation_status=status.value,
    )
    return turn.model_copy(update={"decision": decision, "http": HttpResponse.of(200, response)})


def closed_event_of(record: ConversationRecord, turn: Turn, summary: str, now: datetime) -> ConversationClosed:
    text = turn.message.text if turn.message else ""
    normalized = signals.normalize(text)
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
