"""The turn workflow's tasks that carry only a turn (retrieve, decide, act, reply): the payload each step receives
from the state machine (see workflows/turn.asl.json). Their own module, so that retrieval and the agent, which
validate nothing else, do not load the approval, channel and request models of the other tasks
(concierge.conversation.tasks, which re-exports them; docs/performance.md)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from concierge.conversation.turn import DecidedTurn, ReadyTurn


# Each function validates one or two of these: each is built on first use (`defer_build`), the turn stage they carry
# once, at import (docs/performance.md). A turn task carries the stage its step needs (turn.py): a turn without what
# that step needs is refused here, at the function's boundary (error type `turn_incomplete`). Its errors show no
# input: a turn quotes the customer.
class ReplyTask(BaseModel):
    model_config = ConfigDict(defer_build=True, hide_input_in_errors=True)

    kind: Literal["turn.reply"]
    turn: ReadyTurn


class RetrieveTask(BaseModel):
    model_config = ConfigDict(defer_build=True, hide_input_in_errors=True)

    kind: Literal["turn.retrieve"]
    turn: ReadyTurn


class DecideTask(BaseModel):
    model_config = ConfigDict(defer_build=True, hide_input_in_errors=True)

    kind: Literal["turn.decide"]
    turn: ReadyTurn


class ActTask(BaseModel):
    model_config = ConfigDict(defer_build=True, hide_input_in_errors=True)

    kind: Literal["turn.act"]
    turn: DecidedTurn
