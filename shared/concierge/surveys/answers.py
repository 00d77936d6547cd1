"""Taking a survey answer, whichever way it came (the API, the chat page, an email link, a WhatsApp tap).

Rules (docs/surveys.md, Answers):
- only an offered survey is answered, only by the customer whose conversation it is (someone else's conversation
  reads as not found, never confirming that it exists);
- the same answer again changes nothing and publishes nothing (idempotent);
- a different answer within the window replaces the earlier one and is published again (consumers keep the latest
  `survey.answered` per conversation and survey);
- after the window (`survey_answer_window_days` from the offer) the answer is refused with 410 Gone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import cast

from concierge.memory.store import ConversationRecord, MemoryStore
from concierge.platform.errors import CONVERSATION_NOT_FOUND, BadRequest, Gone, NotFound
from concierge.platform.events import EventPublisher, SurveyAnswered, SurveyKind
from concierge.surveys.models import SCALES, AnsweredVia, ConversationSurveys, SurveyAnswerOut, SurveyOffer, offered
from concierge.surveys.store import SurveyStore
from concierge.web.auth import SigningKeys

# What an answer is refused with (the HTTP routes document them from here).
NOT_OFFERED = "No {survey} survey was offered for this conversation."
CLOSED = "This {survey} survey closed on {answer_by:%Y-%m-%d %H:%M} UTC; answers are no longer taken."


@dataclass
class SurveyServices:
    memory: MemoryStore
    surveys: SurveyStore
    events: EventPublisher
    signing_keys: SigningKeys
    merchant_name: str


def _own_conversation(conversation_id: str, customer_id: str, services: SurveyServices) -> ConversationRecord:
    conversation = services.memory.get_conversation(conversation_id)
    if conversation is None or conversation.customer_id != customer_id:
        raise NotFound(CONVERSATION_NOT_FOUND)
    return conversation


def offer_for(
    conversation_id: str, customer_id: str, survey: str, services: SurveyServices, *, checked_owner: bool = False
) -> SurveyOffer:
    """The survey offered about the customer's conversation. `checked_owner`: the caller already read the
    conversation and knows it is the customer's."""
    if not checked_owner:
        _own_conversation(conversation_id, customer_id, services)
    offer = services.surveys.get(conversation_id, survey)
    if offer is None or offer.customer_id != customer_id:
        raise NotFound(NOT_OFFERED.format(survey=survey))
    return offer


def record_answer(
    conversation_id: str,
    customer_id: str,
    survey: str,
    score: int,
    via: AnsweredVia,
    services: SurveyServices,
    at: datetime,
    *,
    offer: SurveyOffer | None = None,
    checked_owner: bool = False,
) -> SurveyAnswerOut:
    """`offer`: the offer the caller already read for this customer (no second read)."""
    try:
        SCALES[survey].check(survey, score)
    except ValueError as exc:
        raise BadRequest(f"Invalid score: {exc}.") from exc
    kind = cast(SurveyKind, survey)  # SCALES has a scale for it: one of the survey kinds
    offer = offer or offer_for(conversation_id, customer_id, survey, services, checked_owner=checked_owner)
    if offer.score == score:
        assert offer.answered_at is not None  # an answered offer records when
        return SurveyAnswerOut(
            conversation_id=conversation_id,
            survey=kind,
            score=score,
            outcome="unchanged",
            answered_at=offer.answered_at,
        )
    if at > offer.answer_by:
        raise Gone(CLOSED.format(survey=survey, answer_by=offer.answer_by))
    services.surveys.answer(offer, score, via, at)
    services.events.publish(
        SurveyAnswered(
            occurred_at=at,
            conversation_id=conversation_id,
            customer_id=customer_id,
            survey=kind,
            score=score,
            channel=offer.channel,
            answered_via=via,
        )
    )
    if survey == "csat":
        auto = services.memory.get_score(conversation_id, "auto")
        if auto is not None:
            services.surveys.put_pair(
                offer.offered_at.date(), conversation_id, auto["score"], score, auto["scorer_version"]
            )
    return SurveyAnswerOut(
        conversation_id=conversation_id,
        survey=kind,
        score=score,
        outcome="replaced" if offer.score is not None else "recorded",
        answered_at=at,
    )


def offered_surveys(conversation_id: str, customer_id: str, services: SurveyServices) -> ConversationSurveys:
    """The surveys offered about the customer's conversation, with any answers (the chat page asks this after a
    close; the offer appears once the surveys function has handled `conversation.closed`)."""
    _own_conversation(conversation_id, customer_id, services)
    return ConversationSurveys(
        conversation_id=conversation_id,
        surveys=[
            offered(o, services.merchant_name)
            for o in services.surveys.offers(conversation_id)
            if o.customer_id == customer_id
        ],
    )


def answer_from_whatsapp(
    survey: str, score: int, conversation_id: str, sender: str, services: SurveyServices, at: datetime
) -> str:
    """A tapped survey row (its id names the survey, score and conversation): recorded if the tap came from the
    number the survey was sent to. Returns the short reply for the customer."""
    conversation = services.memory.get_conversation(conversation_id)
    if conversation is None or conversation.reply_to.get("whatsapp") != sender:
        return "Sorry, we could not match that answer to one of your conversations."
    try:
        record_answer(
            conversation_id, conversation.customer_id, survey, score, "whatsapp", services, at, checked_owner=True
        )
    except Gone:
        return "Thank you — this survey has closed, so we could not record your answer."
    except NotFound:
        return "Sorry, we could not find that survey."
    return "Thank you for your answer! It helps us improve."
