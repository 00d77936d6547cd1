"""Signals in: the storefront's backend reports what happened to one of its signed-in customers (POST /v1/signals,
with the customer's token and the API key), and the signal is published on the bus, where the journeys it starts
pick it up (topology rule `signals-to-journeys`).

Two journeys start from an event of the platform's own instead: a promoter's survey answer (`survey.answered`, which
surveys/answers.py publishes) reaches the journeys as a `SurveyAnswer` signal, built from the event off the bus
(`survey_answer`); a customer the scheduled churn scoring found at risk is a `ChurnRisk` signal as published
(churn/scheduled.py). A storefront can post neither (`SignalRequest` does not take them)."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, Field, RootModel, model_validator

from concierge.platform.events import (
    CartUpdated,
    ChargePosted,
    ChurnRisk,
    CustomerSignedIn,
    EventPublisher,
    FeatureUsed,
    OrderUpdated,
    ProductViewed,
    ShipmentDelayed,
    Signal,
    SubscriptionChanged,
    SurveyAnswered,
    SurveyKind,
    TrialUpdated,
)
from concierge.surveys.models import promoter

StorefrontSignal = (
    OrderUpdated
    | ShipmentDelayed
    | ChargePosted
    | TrialUpdated
    | CustomerSignedIn
    | FeatureUsed
    | CartUpdated
    | SubscriptionChanged
    | ProductViewed
)
AnySignal = Annotated[StorefrontSignal, Field(discriminator="kind")]


class SignalRequest(RootModel[AnySignal]):
    """One signal; `kind` says which (its detail-type on the bus), and its fields are that signal's."""


class SurveyAnswer(Signal):
    """A customer's survey answer as a journey starts from it (the survey_promoter journey): the `survey.answered`
    event off the bus, never a storefront's signal. Its id is the answer's own (the conversation, the survey and the
    time it was given), so the same event delivered twice starts one run and a changed answer starts its own."""

    detail_type: ClassVar[str] = "survey.answered"
    kind: Literal["survey.answered"] = "survey.answered"

    conversation_id: str = Field(min_length=1, description="the conversation the survey is about")
    survey: SurveyKind
    score: int = Field(ge=0, le=10)
    promoter: bool = Field(
        False, description="a CSAT 5 or an NPS 9–10 (surveys.models.promoter): worked out from survey and score"
    )

    @model_validator(mode="before")
    @classmethod
    def _promoter(cls, data: Any) -> Any:
        """Always from the answer itself, whatever a caller sent."""
        if isinstance(data, dict):
            score = data.get("score")
            return {**data, "promoter": promoter(str(data.get("survey")), score if isinstance(score, int) else None)}
        return data


def survey_answer(event: SurveyAnswered) -> SurveyAnswer:
    """The signal a journey starts from, from a survey answer published on the bus."""
    answered = event.occurred_at.isoformat()
    digest = hashlib.sha256(f"{event.conversation_id}\n{event.survey}\n{answered}".encode()).hexdigest()[:40]
    return SurveyAnswer(
        occurred_at=event.occurred_at,
        customer_id=event.customer_id,
        signal_id=f"survey:{digest}",
        conversation_id=event.conversation_id,
        survey=event.survey,
        score=event.score,
    )


class JourneySignalRequest(
    RootModel[Annotated[StorefrontSignal | SurveyAnswer | ChurnRisk, Field(discriminator="kind")]]
):
    """Any signal a journey runs on, as a run's state carries it: a storefront's, a survey answer, or a churn risk."""


class SignalAccepted(BaseModel):
    signal_id: str
    kind: str
    accepted_at: datetime


def accept(signal: Signal, events: EventPublisher, at: datetime) -> SignalAccepted:
    """Publish the signal as it came (the caller checked that the token names its customer)."""
    events.publish(signal)
    return SignalAccepted(signal_id=signal.signal_id, kind=signal.detail_type, accepted_at=at)
