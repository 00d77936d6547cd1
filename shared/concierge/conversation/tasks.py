"""The payload each function receives from a workflow's state (workflows/turn.asl.json, approval.asl.json and
journey.asl.json)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from concierge.actions.approval_models import ApprovalRequest, DecisionOutput, Notice
from concierge.channels.inbound import InboundMessage
from concierge.conversation.api import ApiRequest
from concierge.conversation.turn_tasks import ActTask, DecideTask, ReplyTask, RetrieveTask
from concierge.journeys.definitions import JourneyId
from concierge.journeys.plans import Outreach, Plan

# The tasks that carry only a turn are in turn_tasks.py (retrieval and the agent import that module alone).
__all__ = [
    "ActTask",
    "ActionsTask",
    "ApprovalState",
    "ApprovalStepTask",
    "ApprovalWaitTask",
    "DecideTask",
    "IngestTask",
    "JourneyCheckTask",
    "JourneyEnterTask",
    "JourneySendTask",
    "NotifyTask",
    "ReceiveTask",
    "ReplyTask",
    "Resume",
    "RetrieveTask",
    "TurnInput",
]


# Each function validates one or two of these: each is built on first use (`defer_build`). Its errors show no input
# where a task carries a turn: a turn quotes the customer.
class Resume(BaseModel):
    """Answer what the customer wrote while people had the conversation, now that it is handed back to the AI."""

    conversation_id: str
    customer_id: str


class TurnInput(ApiRequest):
    """The turn workflow's input: API Gateway's request (web), a channel message that ingest took in, or a
    conversation handed back to the AI with the customer's messages still unanswered (the console's hand-back).

    API Gateway's request template builds only body, header and path, so a web caller cannot supply `inbound` or
    `resume`.
    """

    inbound: InboundMessage | None = None
    resume: Resume | None = None


class ReceiveTask(BaseModel):
    model_config = ConfigDict(defer_build=True)

    kind: Literal["turn.receive"]
    request: TurnInput


class ApprovalState(ApprovalRequest):
    """The approval workflow's state as it reaches a task: the request, and the decision once there is one."""

    decision: DecisionOutput | None = None


class ApprovalWaitTask(BaseModel):
    """The approval workflow's waitForTaskToken task: keep the token, list the approval for people to decide."""

    model_config = ConfigDict(defer_build=True)

    kind: Literal["approval.request"]
    approval: ApprovalRequest
    task_token: str = Field(min_length=1, repr=False)


class ApprovalStepTask(BaseModel):
    model_config = ConfigDict(defer_build=True)

    kind: Literal["approval.execute", "approval.decline", "approval.expire"]
    approval: ApprovalState


class NotifyTask(BaseModel):
    """Tell the customer, in their conversation and on their channel, what became of their request."""

    model_config = ConfigDict(defer_build=True)

    kind: Literal["approval.notify"]
    notice: Notice


class JourneyEnterTask(BaseModel):
    """The journey workflow's first step (journeys/runner.py `enter`): does the journey apply, and when may it send?"""

    model_config = ConfigDict(defer_build=True, hide_input_in_errors=True)

    kind: Literal["journey.enter"]
    journey: JourneyId
    signal: dict[str, Any]


class JourneyCheckTask(BaseModel):
    """After the wait (journeys/runner.py `check`): does it still apply, to which verified address, within the cap?"""

    model_config = ConfigDict(defer_build=True, hide_input_in_errors=True)

    kind: Literal["journey.check"]
    plan: Plan


class JourneySendTask(BaseModel):
    """The last step, on the channel edge (journeys/outreach.py): open the conversation and send the message."""

    model_config = ConfigDict(defer_build=True, hide_input_in_errors=True)

    kind: Literal["journey.send"]
    outreach: Outreach


class IngestTask(BaseModel):
    model_config = ConfigDict(defer_build=True, hide_input_in_errors=True)

    task: Annotated[ReceiveTask | ReplyTask | NotifyTask | JourneySendTask, Field(discriminator="kind")]


class ActionsTask(BaseModel):
    model_config = ConfigDict(defer_build=True, hide_input_in_errors=True)

    task: Annotated[
        ActTask | ApprovalWaitTask | ApprovalStepTask | JourneyEnterTask | JourneyCheckTask,
        Field(discriminator="kind"),
    ]
