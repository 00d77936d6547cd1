"""Surveys a customer answers (CSAT, NPS, CES): their scales and questions, offers, answers, and the HTTP bodies."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from concierge.platform.events import SurveyKind

AnsweredVia = Literal["api", "chat", "email", "whatsapp"]


@dataclass(frozen=True)
class Scale:
    low: int
    high: int
    question: str  # {merchant} is the merchant's name
    low_label: str
    high_label: str

    def check(self, kind: str, score: int) -> None:
        if not self.low <= score <= self.high:
            raise ValueError(f"{kind} takes a score from {self.low} to {self.high}, got {score}")

    @property
    def scores(self) -> range:
        return range(self.low, self.high + 1)


SCALES: dict[str, Scale] = {
    "csat": Scale(
        1, 5, "How satisfied are you with the help you got from {merchant}?", "Very unsatisfied", "Very satisfied"
    ),
    "nps": Scale(
        0, 10, "How likely are you to recommend {merchant} to a friend?", "Not at all likely", "Extremely likely"
    ),
    "ces": Scale(1, 7, "How easy was it to get what you needed?", "Very difficult", "Very easy"),
}
# When a conversation qualifies for several, the first ones here are offered first (see planning).
PRIORITY: tuple[SurveyKind, ...] = ("csat", "ces", "nps")
# A promoter's answer, by survey: the least score that counts (CSAT 5, the top of its scale; NPS 9–10, the usual
# definition). CES measures effort, not advocacy: no CES answer is a promoter's. The survey_promoter journey starts
# from these (docs/journeys.md), and the `signals-to-journeys` rule filters survey.answered on the same scores.
PROMOTER_FROM: dict[str, int] = {"csat": 5, "nps": 9}


def promoter(survey: str, score: int | None) -> bool:
    """Whether this answer is a promoter's: a CSAT 5 or an NPS 9–10."""
    least = PROMOTER_FROM.get(survey)
    return least is not None and score is not None and score >= least


class SurveyOffer(BaseModel):
    """A survey offered about a closed conversation; an answer is taken until `answer_by`."""

    conversation_id: str
    customer_id: str
    survey: SurveyKind
    channel: str = Field(description="where the conversation took place: web | email | whatsapp")
    reason: str = Field(description="why it was offered, e.g. 'resolved conversation' or 'after return_items'")
    offered_at: datetime
    answer_by: datetime
    sent_via: str | None = Field(None, description="email | whatsapp once sent; web offers are fetched by the page")
    sent_at: datetime | None = None
    score: int | None = None
    answered_at: datetime | None = None
    answered_via: AnsweredVia | None = None


class SurveyAnswerBody(BaseModel):
    """POST /v1/conversations/{conversation_id}/surveys"""

    model_config = ConfigDict(extra="forbid", title="SurveyAnswerBody")

    survey: SurveyKind = Field(description="csat (1–5), nps (0–10) or ces (1–7)")
    score: int = Field(strict=True, description="within the survey's scale (a JSON integer: true is not 1)")
    answered_via: Literal["api", "chat"] = Field("api", description="chat when the storefront's chat widget asked")

    @model_validator(mode="after")
    def _on_scale(self) -> SurveyAnswerBody:
        SCALES[self.survey].check(self.survey, self.score)
        return self


class SurveyAnswerOut(BaseModel):
    conversation_id: str
    survey: SurveyKind
    score: int
    outcome: Literal["recorded", "replaced", "unchanged"] = Field(
        description=(
            "recorded: first answer; replaced: a changed answer within the window; unchanged: the same answer again"
        )
    )
    answered_at: datetime


class ScaleOut(BaseModel):
    min: int
    max: int
    min_label: str
    max_label: str


class OfferedSurvey(BaseModel):
    survey: SurveyKind
    question: str
    scale: ScaleOut
    offered_at: datetime
    answer_by: datetime
    score: int | None = Field(None, description="the customer's answer, once given")
    answered_at: datetime | None = None


class ConversationSurveys(BaseModel):
    """GET /v1/conversations/{conversation_id}/surveys"""

    conversation_id: str
    surveys: list[OfferedSurvey]


def offered(offer: SurveyOffer, merchant: str) -> OfferedSurvey:
    scale = SCALES[offer.survey]
    return OfferedSurvey(
        survey=offer.survey,
        question=scale.question.format(merchant=merchant),
        scale=ScaleOut(min=scale.low, max=scale.high, min_label=scale.low_label, max_label=scale.high_label),
        offered_at=offer.offered_at,
        answer_by=offer.answer_by,
        score=offer.score,
        answered_at=offer.answered_at,
    )
