"""Survey scoring on the event path: a `conversation.closed` event in; out, the Auto-CSAT stored and published
(`autocsat.scored`) and the surveys planned, recorded and sent on the customer's channel."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from concierge.channels.email import EmailSender
from concierge.memory.store import MemoryStore
from concierge.platform.events import AutoCsatScored, ConversationClosed, EventPublisher
from concierge.platform.settings import SurveysSettings
from concierge.surveys import delivery, links
from concierge.surveys.autocsat import AutoCsat, ExplainableScorer
from concierge.surveys.models import SurveyOffer
from concierge.surveys.planning import plan
from concierge.surveys.store import SurveyStore

if TYPE_CHECKING:
    from concierge.channels.whatsapp import WhatsAppSender
    from concierge.web.auth import SigningKeys

logger = logging.getLogger(__name__)


class Scorer(Protocol):
    """(event, transcript) -> AutoCsat, saying whether it reads the transcript: ExplainableScorer, ModelJudge."""

    @property
    def needs_transcript(self) -> bool: ...

    def __call__(self, event: ConversationClosed, transcript: list[dict[str, str]]) -> AutoCsat: ...


_EXPLAINABLE = ExplainableScorer()
TRANSCRIPT_FOR_JUDGE = 30  # messages: a bounded read whatever the conversation's length


def closed_event(envelope: dict[str, Any]) -> ConversationClosed:
    if envelope.get("detail-type") != ConversationClosed.detail_type:
        raise ValueError(f"unexpected event type {envelope.get('detail-type')!r}")
    return ConversationClosed.model_validate(envelope["detail"])


def record_auto_csat(envelope: dict[str, Any], memory: MemoryStore, scorer: Scorer = _EXPLAINABLE) -> AutoCsat:
    """`envelope` is the EventBridge event as delivered to SQS. The explainable scorer is a pure function of the
    event, so a redelivered event overwrites the same record with the same score."""
    return _score(closed_event(envelope), memory, scorer)


def _score(event: ConversationClosed, memory: MemoryStore, scorer: Scorer) -> AutoCsat:
    transcript = memory.recent_messages(event.conversation_id, TRANSCRIPT_FOR_JUDGE) if scorer.needs_transcript else []
    score = scorer(event, transcript)
    memory.put_score(event.conversation_id, "auto", score.model_dump(mode="json"))
    return score


@dataclass
class ClosedServices:
    settings: SurveysSettings
    memory: MemoryStore
    surveys: SurveyStore
    events: EventPublisher
    scorer: Scorer
    signing_keys: SigningKeys
    email: EmailSender
    whatsapp: WhatsAppSender | None  # None when WhatsApp is not configured


def on_conversation_closed(
    envelope: dict[str, Any], services: ClosedServices, now: datetime
) -> tuple[AutoCsat, list[SurveyOffer]]:
    event = closed_event(envelope)
    score = _score(event, services.memory, services.scorer)
    services.events.publish(
        AutoCsatScored(
            occurred_at=now,
            conversation_id=event.conversation_id,
            customer_id=event.customer_id,
            channel=event.channel,
            score=score.score,
            scorer=score.scorer_version,
            reasons=[r.detail for r in score.reasons],
        )
    )
    existing: dict[str, SurveyOffer] = {o.survey: o for o in services.surveys.offers(event.conversation_id)}
    if existing.get("csat") and existing["csat"].score is not None:  # re-scored after the customer answered
        services.surveys.put_pair(
            existing["csat"].offered_at.date(),
            event.conversation_id,
            score.score,
            existing["csat"].score,
            score.scorer_version,
        )
    return score, offer_surveys(event, services, now, existing)


def offer_surveys(
    event: ConversationClosed, services: ClosedServices, now: datetime, existing: dict[str, SurveyOffer]
) -> list[SurveyOffer]:
    """Plan, record (once per conversation and survey) and send what was not sent yet; a redelivered event
    re-sends only what an earlier attempt failed to send."""
    settings = services.settings
    conversation = services.memory.get_conversation(event.conversation_id)
    if conversation is not None and not conversation.verified:
        return []  # an unverified sender (e.g. a spoofed email address) is never sent anything unprompted
    profile = services.memory.get_profile(event.customer_id)
    if profile is not None and not profile.surveys:
        return []  # the customer opted out of surveys (PUT /v1/customers/{id}/preferences)
    survey_plan = plan(
        event,
        settings,
        lambda: services.surveys.claim_nps(
            event.customer_id, event.conversation_id, now, settings.survey_nps_cadence_days
        ),
    )
    offers = []
    for planned in survey_plan.surveys:
        offer = existing.get(planned.survey)
        if offer is None:
            offer = SurveyOffer(
                conversation_id=event.conversation_id,
                customer_id=event.customer_id,
                survey=planned.survey,
                channel=event.channel,
                reason=planned.reason,
                offered_at=now,
                answer_by=now + timedelta(days=settings.survey_answer_window_days),
            )
            if not services.surveys.offer(offer):
                offer = services.surveys.get(event.conversation_id, planned.survey)
                assert offer is not None  # the offer was refused because it is there
        offers.append(offer)
    unsent = [o for o in offers if o.sent_at is None and o.score is None]
    if unsent and conversation is not None:
        _send(unsent, conversation.reply_to, services, now)
    return offers


def _send(offers: list[SurveyOffer], reply_to: dict[str, str], services: ClosedServices, now: datetime) -> None:
    settings = services.settings
    channel = offers[0].channel
    address = reply_to.get(channel)
    if channel == "web" or not address:
        return  # the chat page (or the storefront) fetches web offers
    tokens: dict[str, str] = {
        o.survey: links.sign(o.conversation_id, o.customer_id, o.survey, o.answer_by, services.signing_keys)
        for o in offers
    }
    if channel == "email":
        if not settings.public_api_url:
            logger.warning("survey email not sent: CONCIERGE_PUBLIC_API_URL is not set")
            return
        services.email.send(
            delivery.SurveyEmail(
                to=address,
                merchant_name=settings.merchant_name,
                offers=offers,
                tokens=tokens,
                base_url=settings.public_api_url,
            )
        )
        for offer in offers:
            services.surveys.mark_sent(offer, "email", now)
    elif channel == "whatsapp" and services.whatsapp is not None:
        for offer in offers:
            page = links.link(settings.public_api_url, tokens[offer.survey]) if settings.public_api_url else None
            if delivery.send_whatsapp(services.whatsapp, address, offer, settings.merchant_name, page):
                services.surveys.mark_sent(offer, "whatsapp", now)
