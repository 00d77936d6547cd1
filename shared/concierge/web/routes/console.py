"""The agent console (docs/handoff.md): the handoff queue, a conversation's handoff package, claim, reply on the
customer's channel, hand back to the AI, close; and the customer's side of a conversation with people, the
messages their chat page polls."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from pydantic import BeforeValidator, Field

from concierge.handoff import console
from concierge.handoff import queue as handoff
from concierge.handoff.console import (
    AgentMessage,
    CloseRequest,
    ConsoleReceipt,
    ConversationMessages,
    HandBack,
    HandoffPackage,
    HandoffQueue,
)
from concierge.platform.clock import now
from concierge.platform.errors import CONVERSATION_NOT_FOUND, NotFound
from concierge.web.limits import QUERY_NUMBER_DIGITS, whole_number
from concierge.web.routes.common import (
    API_KEY,
    CUSTOMER_TOKEN,
    INVALID_BODY,
    OPERATOR_TOKEN,
    TOO_LARGE,
    HttpServices,
    PathId,
    area_router,
    customer,
    errors,
    ok,
    operator,
    quote,
    services,
)

router = area_router()


def _agent() -> tuple[HttpServices, str]:
    return services(), operator("The agent console").id


NO_HANDOFF = quote(handoff.NO_HANDOFF, handoff.NOT_WITH_TEAM)
ASSIGNEE_ERRORS = {
    "e400": INVALID_BODY,
    "e401": OPERATOR_TOKEN,
    "e403": quote(handoff.ASSIGNED_TO_ANOTHER),
    "e404": NO_HANDOFF,
    "e409": quote(handoff.CLAIM_FIRST, handoff.NO_LONGER_ASSIGNED),
    "e413": TOO_LARGE,
}


@router.get(
    "/v1/handoffs",
    operation_id="listHandoffs",
    summary="Operator: the handoff queue, highest priority first.",
    responses=errors(ok("The conversations with our team, highest priority first."), e401=OPERATOR_TOKEN),
)
def queue(
    queue: Annotated[
        str | None, Query(description="Only this topic queue (returns, orders, billing, account, general).")
    ] = None,
) -> HandoffQueue:
    context, _ = _agent()
    return console.queue(context.console_services(), queue or None)


@router.get(
    "/v1/handoffs/<conversation_id>",
    operation_id="getHandoffPackage",
    summary="Operator: the handoff package of a conversation.",
    responses=errors(ok("The handoff package."), e401=OPERATOR_TOKEN, e404=NO_HANDOFF),
)
def package(conversation_id: PathId) -> HandoffPackage:
    context, _ = _agent()
    return console.package(conversation_id, context.console_services())


@router.post(
    "/v1/handoffs/<conversation_id>/claim",
    operation_id="claimHandoff",
    summary="Operator: take the conversation (one agent wins).",
    responses=errors(
        ok("The conversation is now assigned to the caller."),
        e401=OPERATOR_TOKEN,
        e404=NO_HANDOFF,
        e409=quote(handoff.ALREADY_CLAIMED),
    ),
)
def claim(conversation_id: PathId) -> ConsoleReceipt:
    context, agent = _agent()
    return console.claim(conversation_id, agent, context.console_services(), now())


@router.post(
    "/v1/handoffs/<conversation_id>/messages",
    operation_id="replyToCustomer",
    summary="Operator: reply to the customer, delivered on their channel.",
    responses=errors(
        ok(
            "Written into the conversation and delivered on the customer's channel "
            "(reason already_sent: a resent message_id)."
        ),
        **ASSIGNEE_ERRORS,
    ),
)
def reply(conversation_id: PathId, message: AgentMessage) -> ConsoleReceipt:
    context, agent = _agent()
    return console.reply(conversation_id, agent, message, context.console_services(), now())


# The body is optional: no body is HandBack() (no note).
@router.post(
    "/v1/handoffs/<conversation_id>/release",
    operation_id="handBackToAi",
    summary="Operator: hand the conversation back to the AI.",
    responses=errors(
        ok("The AI answers the conversation again, starting with what the customer wrote meanwhile (`answered`)."),
        **ASSIGNEE_ERRORS,
    ),
)
def release(conversation_id: PathId, request: Annotated[HandBack, Body(default_factory=HandBack)]) -> ConsoleReceipt:
    context, agent = _agent()
    return console.hand_back(conversation_id, agent, request, context.console_services(), now())


@router.post(
    "/v1/handoffs/<conversation_id>/close",
    operation_id="closeHandoff",
    summary="Operator: close with a resolution.",
    responses=errors(
        ok("Closed with a resolution; if the customer writes again, the conversation returns to the caller."),
        **ASSIGNEE_ERRORS,
    ),
)
def close(conversation_id: PathId, request: CloseRequest) -> ConsoleReceipt:
    context, agent = _agent()
    return console.close(conversation_id, agent, request, context.console_services(), now())


# A message number: read by concierge.web.limits (its own refusals: not a whole number, too many digits).
SequenceNumber = Annotated[int, Field(ge=0), BeforeValidator(lambda raw: whole_number(raw, "after", default=0))]


@router.get(
    "/v1/conversations/<conversation_id>/messages",
    operation_id="listConversationMessages",
    summary="The customer's conversation after a message number (the chat page polls it while a person answers).",
    responses=errors(
        ok("The messages after `after`, oldest first, and who answers now."),
        e400=f"after is not a whole number of at most {QUERY_NUMBER_DIGITS} digits (the message says what is wrong).",
        e401=CUSTOMER_TOKEN,
        e403=API_KEY,
        e404=f"{quote(CONVERSATION_NOT_FOUND)} (unknown, or another customer's)",
    ),
)
def messages(
    conversation_id: PathId,
    after: Annotated[SequenceNumber, Query(description="Only messages with a higher sequence number.")] = 0,
) -> ConversationMessages:
    context = services()
    customer_id = customer(context)
    memory = context.privacy.memory
    record = memory.get_conversation(conversation_id)
    if record is None or record.customer_id != customer_id:
        raise NotFound(CONVERSATION_NOT_FOUND)
    owner = handoff.HandoffStore(memory).get(conversation_id)
    with_people = owner is not None and owner.with_people
    return ConversationMessages(
        conversation_id=conversation_id,
        conversation_status=record.status.value,
        owner="human" if with_people else "ai",
        messages=memory.messages_after(conversation_id, after),
    )
