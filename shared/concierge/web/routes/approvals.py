"""Approvals (docs/actions.md): the actions waiting for a person, listed for operators and decided by a supervisor
(the decision and its author are audited)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body

from concierge.actions.approvals import (
    ALREADY_DECIDED,
    EXPIRED,
    NO_APPROVAL,
    NOT_WAITING,
    SETTING_UP,
    ApprovalList,
    ApprovalStore,
    Decision,
    DecisionReceipt,
    decide,
)
from concierge.platform.clock import now
from concierge.platform.errors import NotFound
from concierge.web.auth import NEEDS_SUPERVISOR
from concierge.web.routes.common import (
    INVALID_BODY,
    OPERATOR_TOKEN,
    TOO_LARGE,
    HttpServices,
    PathId,
    area_router,
    errors,
    ok,
    operator,
    quote,
    services,
)

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

router = area_router()

NO_WORKFLOW = "No approval workflow is deployed: refunds above the limit are refused instead of waiting."


def _store(context: HttpServices) -> ApprovalStore:
    if context.approvals is None:
        raise NotFound(NO_WORKFLOW)
    return ApprovalStore(context.privacy.memory)


@router.get(
    "/v1/approvals",
    operation_id="listApprovals",
    summary="Operator: the actions waiting for a person's approval, oldest first.",
    responses=errors(
        ok("The actions waiting for a person's decision, oldest first."), e401=OPERATOR_TOKEN, e404=quote(NO_WORKFLOW)
    ),
)
def list_approvals() -> ApprovalList:
    operator("Reading approvals")
    return ApprovalList.model_validate({"approvals": _store(services()).pending()})


def _decision_errors(outcome: str) -> dict[int, OpenAPIResponse]:
    return errors(
        ok(outcome),
        e400=INVALID_BODY,
        e401=OPERATOR_TOKEN,
        e403=f"An operator who is not a supervisor: {quote(NEEDS_SUPERVISOR)}",
        e404=f"{quote(NOT_WAITING, NO_APPROVAL)}, or {quote(NO_WORKFLOW)}",
        e409=f"{quote(ALREADY_DECIDED, SETTING_UP, EXPIRED)}",
        e413=TOO_LARGE,
    )


def _decide(action_id: str, approve: bool, decision: Decision) -> DecisionReceipt:
    signed_in = operator("Deciding an approval", supervisor=True)
    context = services()
    store = _store(context)
    assert context.approvals is not None  # _store() refused a deployment without one
    return decide(action_id, approve, decision, signed_in.id, store, context.approvals, now())


# The body is optional: no body is Decision() (no note).
@router.post(
    "/v1/approvals/<action_id>/approve",
    operation_id="approveAction",
    summary="Operator: approve a waiting action; it executes once and the customer is told.",
    responses=_decision_errors(
        "Approved: the action executes once and the customer is told, in the conversation and on their channel."
    ),
)
def approve(action_id: PathId, decision: Annotated[Decision, Body(default_factory=Decision)]) -> DecisionReceipt:
    return _decide(action_id, True, decision)


@router.post(
    "/v1/approvals/<action_id>/deny",
    operation_id="denyAction",
    summary="Operator: deny a waiting action (optional note for the customer); the customer is told.",
    responses=_decision_errors("Denied: nothing is executed; the customer is told, with the note if one was given."),
)
def deny(action_id: PathId, decision: Annotated[Decision, Body(default_factory=Decision)]) -> DecisionReceipt:
    return _decide(action_id, False, decision)
