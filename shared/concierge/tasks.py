"""The payload each function of the turn workflow receives from the state machine (see workflows/turn.asl.json)."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from concierge.api import ApiRequest
from concierge.channels.inbound import InboundMessage
from concierge.turn import Turn


class TurnInput(ApiRequest):
    """The turn workflow's input: API Gateway's request (web), or a channel message that ingest took in.

    API Gateway's request template builds only body, header and path, so a web caller cannot supply `inbound`.
    """

    inbound: InboundMessage | None = None


class ReceiveTask(BaseModel):
    kind: Literal["turn.receive"]
    request: TurnInput


class ReplyTask(BaseModel):
    kind: Literal["turn.reply"]
    turn: Turn


class RetrieveTask(BaseModel):
    kind: Literal["turn.retrieve"]
    turn: Turn


class DecideTask(BaseModel):
    kind: Literal["turn.decide"]
    turn: Turn


class ActTask(BaseModel):
    kind: Literal["turn.act"]
    turn: Turn


class IngestTask(BaseModel):
    task: Annotated[ReceiveTask | ReplyTask, Field(discriminator="kind")]
