"""Offer decisions on DynamoDB (moto), and taking an offer through the actions function.

- every decision of a moment is an `offer.decided` entry of the customer's audit trail, and their exposures since a
  time come back in ONE Query (the entries' sort key starts with their time);
- `accept_offer` issues a code only for an offer the guardrails decided and the next best action presented in THIS
  conversation to THIS customer; the code is attributed to the conversation and the offer, issued once, and the
  offer's cap (not the ad-hoc one-code rule) governs it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from concierge.conversation.api import Channel
from concierge.conversation.turn import (
    ConversationSnapshot,
    CustomerRef,
    DecidedTurn,
    Decision,
    IncomingMessage,
    Signals,
    ToolCall,
)
from concierge.offers import issuing, nba
from concierge.offers.catalogue import OfferMoment
from concierge.offers.guardrails import OfferContext, Outcome, Reason, decide
from concierge.offers.holdout import Group, assign
from concierge.platform import wiring
from concierge.platform.settings import ActionsSettings, IngestSettings, current_settings
from concierge.store.commerce import DiscountRefused

OFFER = "sold-out-alternative"


def memory():
    return wiring.memory_store(current_settings(IngestSettings))


def treated(*candidates: str) -> str:
    salt = current_settings(ActionsSettings).holdout_salt()
    return next(c for c in candidates if assign(salt, OFFER, c, 0.10) is Group.TREATMENT)


def act(stack, customer_id: str, conversation_id: str, started_at: datetime, *calls: ToolCall) -> list[dict]:
    now = datetime.now(UTC)
    turn = DecidedTurn(
        conversation_id=conversation_id,
        customer=CustomerRef(id=customer_id, first_name=customer_id.title()),
        message=IncomingMessage(message_id=f"{conversation_id}:2", text="yes", channel=Channel.WEB, received_at=now),
        signals=Signals(intent="affirm", intent_confidence=0.9, sentiment=0.0),
        conversation=ConversationSnapshot(started_at=started_at, customer_turns=2),
        decision=Decision(next="actions", tool_calls=list(calls)),
        started_at=now,
    )
    return stack.invoke("actions", {"kind": "turn.act", "turn": turn.model_dump(mode="json")})["results"]


def accept(stack, customer_id: str, conversation_id: str, started_at: datetime, offer_id: str = OFFER) -> dict:
    [result] = act(
        stack,
        customer_id,
        conversation_id,
        started_at,
        ToolCall(id=f"take-{datetime.now(UTC).timestamp()}", tool="accept_offer", arguments={"offer_id": offer_id}),
    )
    return result


def sold_out(customer_id: str, conversation_id: str, now: datetime) -> OfferContext:
    return nba.offer_context(
        customer_id=customer_id,
        conversation_id=conversation_id,
        moment=OfferMoment.VARIANT_OUT_OF_STOCK,
        channel=Channel.WEB,
        now=now,
        item_value=Decimal("59.00"),
    )


class CountingTable:
    """The memory table, counting the requests made through it."""

    def __init__(self, table) -> None:
        self._table, self.calls = table, []

    def __getattr__(self, name):
        attribute = getattr(self._table, name)
        if not callable(attribute):
            return attribute

        def counted(*args, **kwargs):
            self.calls.append(name)
            return attribute(*args, **kwargs)

        return counted


def test_decisions_are_stored_in_the_customers_audit_trail_and_exposures_read_in_one_query(stack):
    store = memory()
    merchant = wiring.merchant_profiles(current_settings(IngestSettings)).get()
    offer = next(o for o in merchant.offers if o.id == OFFER)
    salt = current_settings(ActionsSettings).holdout_salt()
    now = datetime.now(UTC).replace(microsecond=0)
    customer = "c0011"

    def context(conversation: str, at: datetime, **changes) -> OfferContext:
        return sold_out(customer, conversation, at).model_copy(update=changes)

    made = decide(offer, context("old-conv", now - timedelta(days=45)), salt=salt)  # before the window
    recent = decide(offer, context("conv-a", now - timedelta(days=2)), salt=salt)
    refused = decide(offer, context("conv-b", now - timedelta(days=1), frustrated=True), salt=salt)
    store.put_offer_decisions([made, recent, refused])
    store.audit(customer, "preferences.updated", {"surveys": False})  # another audit entry
    assert recent.outcome is Outcome.OFFER and refused.reason is Reason.CUSTOMER_FRUSTRATED

    counting = CountingTable(store._table)
    store._table = counting
    try:
        exposures = store.offer_exposures(customer, now - timedelta(days=30))
        decisions = store.offer_decisions(customer, now - timedelta(days=30))
    finally:
        store._table = counting._table
    assert counting.calls == ["query", "query"], "one Query each"
    assert [(e.offer_id, e.conversation_id) for e in exposures] == [(OFFER, "conv-a")]
    assert [d.reason for d in decisions] == [Reason.ELIGIBLE, Reason.CUSTOMER_FRUSTRATED], "refusals are stored too"
    assert decisions[0] == recent

    # in the customer's partition: their export shows the decisions, their erasure deletes them
    items = [i for i in store.customer_partition(customer) if i.get("action") == "offer.decided"]
    assert len(items) == 3 and all(str(i["detail"]["customer_id"]) == customer for i in items)


def test_an_offer_is_taken_only_when_decided_and_presented_in_this_conversation(stack):
    customer = treated("c0005", "c0006", "c0007")
    started = datetime.now(UTC) - timedelta(minutes=2)
    services = wiring.action_services(current_settings(ActionsSettings))

    refused = accept(stack, customer, "offer-conv-1", started)
    assert (refused["status"], refused["reason"]) == ("denied", "offer_not_made"), "nothing decided yet"

    result = nba.consider(services, sold_out(customer, "offer-conv-1", datetime.now(UTC)))
    assert result.chosen.id == OFFER and result.offer_decision is not None

    stranger = accept(stack, "c0012", "offer-conv-1", started)
    assert (stranger["status"], stranger["reason"]) == ("denied", "offer_not_made"), "another customer: refused"
    elsewhere = accept(stack, customer, "offer-conv-other", started)
    assert (elsewhere["status"], elsewhere["reason"]) == ("denied", "offer_not_made"), "another conversation"

    taken = accept(stack, customer, "offer-conv-1", started)
    assert taken["status"] == "executed", taken
    code = taken["result"]["code"]
    assert code.startswith("NO-ALT-") and taken["result"]["percent"] == 10 and taken["result"]["single_use"]
    assert taken["result"]["values"] == {
        "first_name": customer.title(),
        "shop": "Northwind Outfitters",
        "value": "10% off",
        "code": code,
    }
    assert taken["result"]["accepted"].startswith("Great choice. Code {code}")

    again = accept(stack, customer, "offer-conv-1", started)
    assert again["status"] == "executed" and again["result"]["code"] == code, "taken twice: the same code"

    # the code is the customer's, attributed to the conversation and the offer
    store = wiring.reference_store(current_settings(IngestSettings))
    with pytest.raises(DiscountRefused, match="not_yours"):
        store.redeem_discount(code, "c0012", "NW99970", datetime.now(UTC))
    redeemed = store.redeem_discount(code, customer, "NW99971", datetime.now(UTC))
    assert (redeemed.conversation_id, issuing.offer_of(redeemed.reason)) == ("offer-conv-1", OFFER)

    # the offer's cap (one in 30 days): the next conversation's moment is refused, and so is taking it there
    later = nba.consider(services, sold_out(customer, "offer-conv-2", datetime.now(UTC)))
    assert [d.reason for d in later.decisions] == [Reason.CAP_REACHED] and later.chosen.kind == "nothing"
    capped = accept(stack, customer, "offer-conv-2", started)
    assert (capped["status"], capped["reason"]) == ("denied", "offer_not_made")


def test_an_offer_decided_but_not_presented_cannot_be_taken(stack):
    customer = treated("c0008", "c0009")
    services = wiring.action_services(current_settings(ActionsSettings))
    started = datetime.now(UTC) - timedelta(minutes=1)
    help_ = nba.HelpCandidate(id="restock-alert", value=Decimal("500"))
    result = nba.consider(services, sold_out(customer, "offer-conv-3", datetime.now(UTC)), help=[help_])
    assert result.chosen.kind == "help" and result.decisions[0].outcome is Outcome.OFFER
    taken = accept(stack, customer, "offer-conv-3", started)
    assert (taken["status"], taken["reason"]) == ("denied", "offer_not_made")


def test_the_ad_hoc_one_code_rule_does_not_block_an_offer_and_the_percent_limit_holds(stack):
    customer = treated("c0013", "c0014", "c0015")
    started = datetime.now(UTC) - timedelta(minutes=1)
    [adhoc] = act(
        stack,
        customer,
        "offer-conv-4",
        started,
        ToolCall(id="d1", tool="issue_discount_code", arguments={"percent": 10, "reason": "apology"}),
    )
    assert adhoc["status"] == "executed"
    services = wiring.action_services(current_settings(ActionsSettings))
    assert nba.consider(services, sold_out(customer, "offer-conv-5", datetime.now(UTC))).chosen.id == OFFER
    taken = accept(stack, customer, "offer-conv-5", started)
    assert taken["status"] == "executed", "an earlier ad-hoc code does not block the offer's code"

    # a decision stored for an offer above CONCIERGE_DISCOUNT_MAX_PERCENT (say, merchant.json edited since) is not
    # honoured: the limit holds for every percentage code
    from tests.integration.conftest import merchant

    profile = wiring.merchant_profiles(current_settings(IngestSettings)).get()
    generous = next(o for o in profile.offers if o.id == OFFER).model_copy(
        update={"id": "generous", "value": profile.offers[0].value.model_copy(update={"percent": 40})}
    )
    with merchant(offers=[*profile.offers, generous]):
        decision = decide(generous, sold_out(customer, "offer-conv-6", datetime.now(UTC)), salt="x")
        memory().put_offer_decisions([decision.model_copy(update={"outcome": Outcome.OFFER, "presented": True})])
        over = accept(stack, customer, "offer-conv-6", started, "generous")
    assert (over["status"], over["reason"]) == ("denied", "above_discount_limit")
