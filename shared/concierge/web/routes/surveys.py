"""Surveys (docs/surveys.md): the surveys offered about a customer's closed conversation, their answers, and the
one-click link of a survey email or WhatsApp message (a signed token: no customer token, no API key)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query

from concierge.platform.clock import now
from concierge.platform.errors import CONVERSATION_NOT_FOUND
from concierge.surveys.answers import CLOSED, NOT_OFFERED, offered_surveys, record_answer
from concierge.surveys.models import ConversationSurveys, SurveyAnswerBody, SurveyAnswerOut
from concierge.surveys.store import ANSWERED_ELSEWHERE
from concierge.web.routes.common import (
    API_KEY,
    CUSTOMER_TOKEN,
    HTML,
    INVALID_BODY,
    TOO_LARGE,
    PathId,
    area_router,
    customer,
    errors,
    ok,
    quote,
    services,
)

router = area_router()

NOT_YOURS = f"{quote(CONVERSATION_NOT_FOUND)} (unknown, or another customer's)"


@router.get(
    "/v1/conversations/<conversation_id>/surveys",
    operation_id="listConversationSurveys",
    summary="The surveys offered about a closed conversation, with the customer's answers.",
    responses=errors(
        ok(
            "The surveys offered after the conversation closed (none yet: not closed, or the offer is still on its "
            "way)."
        ),
        e401=CUSTOMER_TOKEN,
        e403=API_KEY,
        e404=NOT_YOURS,
    ),
)
def list_surveys(conversation_id: PathId) -> ConversationSurveys:
    context = services()
    return offered_surveys(conversation_id, customer(context), context.survey_services())


@router.post(
    "/v1/conversations/<conversation_id>/surveys",
    operation_id="answerSurvey",
    summary="Answer a survey (CSAT 1–5, NPS 0–10, CES 1–7) offered about the customer's conversation.",
    responses=errors(
        ok("The answer is recorded (or replaced within the answer window; the same answer again is unchanged)."),
        e400=f'{INVALID_BODY} A score outside the survey\'s scale says so, e.g. "csat takes a score from 1 to 5".',
        e401=CUSTOMER_TOKEN,
        e403=API_KEY,
        e404=f"{NOT_YOURS}, or {quote(NOT_OFFERED)}",
        e409=quote(ANSWERED_ELSEWHERE),
        e410=f"The answer window closed (CONCIERGE_SURVEY_ANSWER_WINDOW_DAYS after the offer): {quote(CLOSED)}",
        e413=TOO_LARGE,
    ),
)
def answer_survey(conversation_id: PathId, body: SurveyAnswerBody) -> SurveyAnswerOut:
    context = services()
    customer_id = customer(context)
    return record_answer(
        conversation_id, customer_id, body.survey, body.score, body.answered_via, context.survey_services(), now()
    )


# Every answer of this route is a small HTML page, its errors included: the link is opened in a browser. Its query
# is read by the page (a missing token, a score that is not a whole number are pages too), not refused as JSON.
@router.get(
    "/v1/surveys/answer",
    operation_id="answerSurveyFromLink",
    summary="One-click survey answer from a signed link; returns a small HTML page.",
    responses=errors(
        ok(
            "A thank-you page (with a score) or the scale to choose from (without one). Errors are HTML pages too.",
            HTML,
        ),
        content_type=HTML,
        e400="A missing token, or a score that is not a whole number or outside the survey's scale.",
        e401="The token was altered or cut short.",
        e404=f"{NOT_YOURS}, or {quote(NOT_OFFERED)}",
        e410="The link expired: the answer window closed.",
    ),
)
def answer_from_link(
    token: Annotated[
        str | None,
        Query(description="The signed token from the survey message (conversation, customer, survey, expiry)."),
    ] = None,
    score: Annotated[
        str | None,
        Query(
            description="The score chosen, a whole number on the survey's scale; without it the page shows the scale."
        ),
    ] = None,
) -> Response[str]:
    from concierge.surveys.pages import answer_from_link

    query = {name: value for name, value in (("token", token), ("score", score)) if value is not None}
    status, page = answer_from_link(query, services().survey_services(), now())
    return Response(
        status_code=status,
        content_type="text/html; charset=utf-8",
        body=page,
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )
