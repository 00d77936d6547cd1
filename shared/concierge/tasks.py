"""The payload each function of the turn workflow receives from the state machine (see workflows/turn.asl.json)."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from concierge.api import ApiRequest
from concierge.turn import Turn


class ReceiveTask(BaseModel):
    kind: Literal["turn.receive"]
    request: ApiRequest


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
