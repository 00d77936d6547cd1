"""A journey's refund above the merchant's approval limit: the customer's yes hands it to a person (the approval
workflow, as a return's refund), the customer is told so, and the approval runs it once and tells them."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from concierge.journeys.outreach import action_id
from concierge.journeys.runner import conversation_id_for
from tests.integration.conftest import local_stack, merchant
from tests.integration.test_approvals import decide
from tests.integration.test_journeys import (
    MANY,
    answer_by_email,
    clock,  # noqa: F401 (the fixture)
    delayed,
    finish,
    late_order,
    memory,
    post_signal,
    store,
    verify_email,
)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    for local in local_stack(tmp_path_factory):
        with merchant(max_auto_refund=Decimal("10.00")):  # every late order's refund is above the limit here
            yield local


def test_a_late_order_s_refund_above_the_limit_waits_for_a_person_then_runs_once(stack, clock):
    verify_email("jordan")
    order_id = late_order("jordan")
    with merchant(max_auto_refund=Decimal("10.00"), journeys=MANY):
        post_signal(stack, delayed("jordan", order_id, "late-approval"))
        finish(stack, "delayed_shipment", "jordan", "late-approval", timedelta(minutes=61))
    conversation_id = conversation_id_for("delayed_shipment", "jordan", "late-approval")
    refund, reship = action_id(conversation_id, "refund_order"), action_id(conversation_id, "reship_order")

    with merchant(max_auto_refund=Decimal("10.00")):
        reply = answer_by_email(stack, "jordan", conversation_id, "Refund it please")
    assert "to a teammate for approval" in reply and refund in reply, reply
    assert memory().get_action(conversation_id, refund)["status"] == "awaiting_approval"
    assert memory().get_action(conversation_id, reship)["status"] == "pending_confirmation"  # until it runs
    assert store().refunds(order_id) == [] or all(r.return_id != refund for r in store().refunds(order_id))

    status, _ = decide(stack, refund, "approve")
    assert status == 200
    assert stack.approvals.wait(refund)["status"] == "SUCCEEDED"
    assert memory().get_action(conversation_id, refund)["status"] == "executed"
    assert memory().get_action(conversation_id, reship)["status"] == "cancelled"  # one remedy per late order
    [ledger] = [r for r in store().refunds(order_id) if r.return_id == refund]
    assert ledger.refund_amount == store().get_order(order_id).total
    told = [m for m in memory().transcript(conversation_id) if m["role"] == "assistant"][-1]
    assert "approved your refund" in told["text"] and str(ledger.refund_amount) in told["text"], told
