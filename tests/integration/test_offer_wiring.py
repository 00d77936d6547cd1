"""The `next_best_action` tool on moto (the demo store): the actions function decides an offer moment in code.

- the decision is stored in the customer's audit trail and a presented offer's code is issued once, through the
  code path of `accept_offer` (taking the offer afterwards returns the same code);
- refused for a frustrated customer, without consent, twice in a conversation, past the cap; held out for a customer
  of the holdout group: nothing rendered, no code.
"""

from __future__ import annotations

from datetime import UTC, datetime

from concierge.conversation.api import Channel
from concierge.conversation.turn import (
    ConversationSnapshot,
    CustomerRef,
    Decision,
    IncomingMessage,
    Profile,
    ProfileRead,
    Signals,
    ToolCall,
    Turn,
)
from concierge.offers.guardrails import Outcome, Reason
from concierge.offers.holdout import Group, assign
from concierge.platform import wiring
from concierge.platform.settings import ActionsSettings, IngestSettings, current_settings

OFFER = "sold-out-alternative"
SOLD_OUT = {
    "moment": "variant_out_of_stock",
    "product_id": "oxford-shirt",
    "wanted": "Classic Oxford Shirt (Pink)",
    "alternative": "Classic Oxford Shirt (White)",
    "alternative_sku": "oxford-shirt-white-m",  # the engine read both variants from the catalogue
    "item_value": "49.00",
    "order_id": "NW10002",
}


def act(
    stack,
    customer_id: str,
    conversation_id: str,
    *calls: ToolCall,
    text: str = "a pink one please",
    frustrated: bool = False,
    consent: bool = True,
) -> list[dict]:
    now = datetime.now(UTC)
    turn = Turn(
        conversation_id=conversation_id,
        customer=CustomerRef(id=customer_id, first_name=customer_id.title()),
        message=IncomingMessage(message_id=f"m-{now.timestamp()}", text=text, channel=Channel.WEB, received_at=now),
        signals=Signals(intent="return", intent_confidence=0.9, sentiment=0.3, frustrated=frustrated),
        conversation=ConversationSnapshot(started_at=now, customer_turns=1),
        profile=ProfileRead(profile=Profile(customer_id=customer_id, personalization=consent)),
        decision=Decision(next="actions", tool_calls=list(calls)),
        started_at=now,
    )
    return stack.invoke("actions", {"kind": "turn.act", "turn": turn.model_dump(mode="json")})["results"]


def nba_call(arguments: dict, n: int = 1) -> ToolCall:
    return ToolCall(
        id=f"next_best_action-{n}-{datetime.now(UTC).timestamp()}", tool="next_best_action", arguments=arguments
    )


def decided(customer_id: str, conversation_id: str) -> list:
    store = wiring.memory_store(current_settings(IngestSettings))
    return [
        d
        for d in store.offer_decisions(customer_id, datetime(2000, 1, 1, tzinfo=UTC))
        if d.conversation_id == conversation_id
    ]


def test_a_presented_offer_is_stored_and_its_code_issued_once(stack):
    salt = current_settings(ActionsSettings).holdout_salt()
    assert assign(salt, OFFER, "alex", 0.10) is Group.TREATMENT
    [result] = act(stack, "alex", "wire-1", nba_call(SOLD_OUT))
    assert result["status"] == "executed", result
    found = result["result"]
    assert found["presented"] is True and found["offer_id"] == OFFER and found["chosen"] == f"offer:{OFFER}"
    assert found["code"].startswith("NO-ALT-") and found["code"] in found["message"]
    assert "Classic Oxford Shirt (White)" in found["message"]
    assert found["decisions"] == [
        {"offer_id": OFFER, "outcome": "offer", "reason": "eligible", "group": "treatment", "presented": True}
    ]
    [stored] = decided("alex", "wire-1")
    assert stored.outcome is Outcome.OFFER and stored.presented

    # taking it afterwards returns the same code: one code path, one code
    [taken] = act(stack, "alex", "wire-1", ToolCall(id="take-1", tool="accept_offer", arguments={"offer_id": OFFER}))
    assert taken["status"] == "executed" and taken["result"]["code"] == found["code"]
    [again_taken] = act(
        stack, "alex", "wire-1", ToolCall(id="take-2", tool="accept_offer", arguments={"offer_id": OFFER})
    )
    assert again_taken["result"]["code"] == found["code"], "taken twice: still the one code"

    # never twice in a conversation: decided and refused, nothing rendered
    [again] = act(stack, "alex", "wire-1", nba_call(SOLD_OUT, 2))
    assert again["result"]["presented"] is False and again["result"]["reason"] == Reason.ALREADY_IN_CONVERSATION.value
    assert "message" not in again["result"] and "code" not in again["result"]

    # another conversation within the offer's cap (1 in 30 days): refused
    [capped] = act(stack, "alex", "wire-2", nba_call(SOLD_OUT))
    assert capped["result"]["presented"] is False and capped["result"]["reason"] == Reason.CAP_REACHED.value


def test_refused_for_a_frustrated_customer(stack):
    [result] = act(stack, "jordan", "wire-3", nba_call(SOLD_OUT | {"order_id": None}), frustrated=True)
    found = result["result"]
    assert found["presented"] is False and found["reason"] == Reason.CUSTOMER_FRUSTRATED.value
    assert "message" not in found and "code" not in found
    [stored] = decided("jordan", "wire-3")
    assert stored.outcome is Outcome.NO_OFFER and stored.reason is Reason.CUSTOMER_FRUSTRATED


def test_refused_without_consent_and_held_out_in_the_holdout_group(stack):
    praise = {"moment": "positive_feedback"}
    [result] = act(stack, "alex", "wire-4", nba_call(praise), text="I love the crew tee, it's fantastic", consent=False)
    assert result["result"]["presented"] is False
    assert result["result"]["reason"] == Reason.NO_PERSONALIZATION_CONSENT.value

    salt = current_settings(ActionsSettings).holdout_salt()
    assert assign(salt, OFFER, "c0001", 0.10) is Group.HOLDOUT
    hint = SOLD_OUT | {"product_id": "pocket-tee", "order_id": "NW10106"}
    [held] = act(stack, "c0001", "wire-5", nba_call(hint))
    assert held["result"]["presented"] is False and held["result"]["outcome"] == Outcome.HOLD_OUT.value
    assert "code" not in held["result"]


def test_a_moment_without_offers_or_a_foreign_order_decides_nothing(stack):
    [none] = act(stack, "alex", "wire-6", nba_call({"moment": "paid_feature_interest"}))
    assert none["status"] == "executed" and none["result"] == {
        "moment": "paid_feature_interest",
        "presented": False,
        "chosen": "nothing",
        "decisions": [],
        "reason": "no_offers",
    }
    [foreign] = act(stack, "jordan", "wire-7", nba_call(SOLD_OUT))  # alex's order: not jordan's
    assert foreign["status"] == "denied" and foreign["reason"] == "order_not_found"
    assert decided("jordan", "wire-7") == []
