"""Which surveys a closed conversation gets, decided once at `conversation.closed` (docs/surveys.md, Timing).

- CSAT after a resolved conversation (`survey_csat_after`: resolved | closed | never);
- CES after a goal flow: one of `survey_ces_actions` (returns and exchanges, cancellations) was executed;
- NPS at most once per `survey_nps_cadence_days` per customer (the cadence is claimed when NPS makes the plan);
- at most `survey_max_per_conversation`, in the order csat, ces, nps.
"""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel

from concierge.platform.events import ConversationClosed, SurveyKind
from concierge.platform.settings import SurveyPlanSettings
from concierge.surveys.models import PRIORITY


class PlannedSurvey(BaseModel):
    survey: SurveyKind
    reason: str


class SurveyPlan(BaseModel):
    conversation_id: str
    surveys: list[PlannedSurvey]


def plan(event: ConversationClosed, settings: SurveyPlanSettings, claim_nps: Callable[[], bool]) -> SurveyPlan:
    """`claim_nps` records an NPS offer for the customer if the cadence allows one; it is only called when NPS
    would fit in the plan, so a conversation that is full does not use up the customer's NPS."""
    candidates: dict[str, str] = {}
    if settings.survey_csat_after == "closed" or (
        settings.survey_csat_after == "resolved" and event.resolution == "resolved"
    ):
        candidates["csat"] = f"{event.resolution.replace('_', ' ')} conversation"
    goals = [tool for tool in event.actions_executed if tool in settings.survey_ces_actions]
    if goals:
        candidates["ces"] = f"after {goals[0]}"
    if settings.survey_nps_cadence_days:
        candidates["nps"] = f"not asked in the last {settings.survey_nps_cadence_days} days"
    chosen: list[PlannedSurvey] = []
    for survey in PRIORITY:
        if survey not in candidates or len(chosen) >= settings.survey_max_per_conversation:
            continue
        if survey == "nps" and not claim_nps():
            continue
        chosen.append(PlannedSurvey(survey=survey, reason=candidates[survey]))
    return SurveyPlan(conversation_id=event.conversation_id, surveys=chosen)
