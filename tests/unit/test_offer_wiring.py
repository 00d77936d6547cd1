"""The offering wrapper (engine/offering.py) with a fake inner engine: a reply at an offer moment becomes one
`next_best_action` round, and the drafted reply comes back with the offer only when one was presented."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from concierge.conversation.api import Channel
from concierge.conversation.turn import (
    ActionResult,
    ActionStatus,
    ConversationSnapshot,
    CustomerRef,
    Decision,
    IncomingMessage,
    LoopState,
    ReadyTurn,
    Signals,
)
from concierge.engine.offering import TOOL, OfferingEngine
from concierge.offers import moments
from concierge.offers.catalogue import OfferMoment
from concierge.reasoning.costs import Usage
from concierge.store.merchant import MerchantProfile
from concierge.workflows import MAX_ACTION_ROUNDS, WORKFLOW_ROUNDS

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
HINT = moments.OfferMomentHint(
    moment=OfferMoment.VARIANT_OUT_OF_STOCK,
    product_id="oxford-shirt",
    wanted="Classic Oxford Shirt (Pink)",
    alternative="Classic Oxford Shirt (White)",
    alternative_sku="OX-WHT-L",
    item_value=Decimal("49.00"),
    order_id="NW10002",
)
DRAFT = "The Pink is out of stock right now. I can refund $49.00, or exchange it for the White. Which would you prefer?"
OFFER_TEXT = (
    "Sorry, Alex, the Pink is sold out. The White is in stock. If you'd like it, here's 10% off with code NO-ALT-1."
)


def profile(with_offers: bool = True) -> MerchantProfile:
    from concierge.store.demo import DEMO_MERCHANT

    return DEMO_MERCHANT if with_offers else DEMO_MERCHANT.model_copy(update={"offers": []})


class FakeEngine:
    """Replies with the draft (and the hint); counts its calls."""

    def __init__(self, hint: moments.OfferMomentHint | None = HINT) -> None:
        self.hint, self.calls = hint, 0

    def decide(self, turn: ReadyTurn) -> Decision:
        self.calls += 1
        return Decision(
            next="reply",
            reply=DRAFT,
            flow={"name": "return", "stage": "offer"},
            moment=self.hint,
            usage=Usage(input_tokens=10, output_tokens=5),
        )


def turn(steps: int = 0) -> ReadyTurn:
    return ReadyTurn(
        conversation_id="conv-1",
        customer=CustomerRef(id="alex", first_name="Alex"),
        message=IncomingMessage(message_id="m1", text="a pink one please", channel=Channel.WEB, received_at=NOW),
        signals=Signals(intent="return", intent_confidence=0.9, sentiment=0.2),
        conversation=ConversationSnapshot(started_at=NOW, customer_turns=1),
        loop=LoopState(steps=steps),
        tool_rounds=[[] for _ in range(steps)],
    )


def after_round(
    first: ReadyTurn, decision: Decision, result: dict | None, status: ActionStatus = ActionStatus.EXECUTED
) -> ReadyTurn:
    """The turn as the actions function hands it back: the round counted, the tool's result added."""
    decided = first.decided(decision)
    call = decision.tool_calls[0]
    results = (
        [ActionResult(call_id=call.id, action_id="A1", tool=TOOL, status=status, result=result, recorded=False)]
        if result is not None
        else []
    )
    return decided.model_copy(
        update={"results": [*decided.results, *results], "tool_rounds": [*decided.tool_rounds, [call]]}
    )


def wrapped(inner: FakeEngine, with_offers: bool = True, salt: bool = True) -> OfferingEngine:
    return OfferingEngine(inner, profile(with_offers), salt)


def test_a_moment_becomes_one_next_best_action_round_and_the_presented_offer_is_appended():
    inner = FakeEngine()
    engine = wrapped(inner)
    first = engine.decide(turn())
    assert first.next == "actions" and [c.tool for c in first.tool_calls] == [TOOL]
    assert first.tool_calls[0].arguments["moment"] == "variant_out_of_stock"
    assert first.tool_calls[0].arguments["order_id"] == "NW10002"
    assert first.flow == {"name": "return", "stage": "offer"}, "the inner decision's flow, unchanged"
    second = engine.decide(after_round(turn(), first, {"presented": True, "message": OFFER_TEXT}))
    assert second.next == "reply" and not second.tool_calls
    assert second.reply == f"{DRAFT}\n\n{OFFER_TEXT}"
    assert second.flow == {"name": "return", "stage": "offer"}
    assert second.usage == Usage(), "the draft's usage was counted once, when it was drafted"
    assert inner.calls == 1, "the inner engine (a model) decides once"


def test_a_held_out_or_refused_decision_leaves_the_reply_exactly_as_drafted():
    for result, status in (
        ({"presented": False, "outcome": "hold_out", "reason": "holdout_group"}, ActionStatus.EXECUTED),
        ({"presented": False, "outcome": "no_offer", "reason": "customer_frustrated"}, ActionStatus.EXECUTED),
        ({"explanation": "No offer was considered."}, ActionStatus.DENIED),
        (None, ActionStatus.EXECUTED),  # the actions step failed: no result at all
    ):
        engine = wrapped(FakeEngine())
        first = engine.decide(turn())
        second = engine.decide(after_round(turn(), first, result, status))
        assert second.next == "reply" and second.reply == DRAFT, result


def test_no_action_round_left_no_offers_no_salt_or_no_hint_change_nothing():
    inner = FakeEngine()
    for engine, state in (
        (wrapped(inner), turn(steps=WORKFLOW_ROUNDS)),
        (wrapped(inner, with_offers=False), turn()),
        (wrapped(inner, salt=False), turn()),
        (wrapped(FakeEngine(hint=None)), turn()),
    ):
        decision = engine.decide(state)
        assert decision.next == "reply" and decision.reply == DRAFT and not decision.tool_calls


def test_a_reply_drafted_after_the_engines_last_round_still_gets_its_offer_round():
    """A refund proposed after looking up the order and the product takes an engine's three rounds: the workflow keeps
    one more for the next best action, so the customer at that moment is not silently skipped."""
    decision = wrapped(FakeEngine()).decide(turn(steps=MAX_ACTION_ROUNDS))
    assert decision.next == "actions" and [c.tool for c in decision.tool_calls] == ["next_best_action"]


def test_a_moment_without_an_offer_of_that_moment_changes_nothing():
    hint = HINT.model_copy(update={"moment": OfferMoment.PAID_FEATURE_INTEREST})  # the demo shop has no feature trial
    decision = wrapped(FakeEngine(hint)).decide(turn())
    assert decision.next == "reply" and decision.reply == DRAFT


def test_an_unverified_sender_or_a_handoff_is_never_asked_about():
    unverified = turn().model_copy(update={"customer": CustomerRef(id="alex", first_name="Alex", verified=False)})
    assert wrapped(FakeEngine()).decide(unverified).next == "reply"

    class HandingOff(FakeEngine):
        def decide(self, turn: ReadyTurn) -> Decision:
            from concierge.conversation.turn import Handoff

            return super().decide(turn).model_copy(update={"handoff": Handoff(reason="asked", message="x")})

    assert wrapped(HandingOff()).decide(turn()).next == "reply"


def test_the_deterministic_engine_unwrapped_behaviour_is_unchanged_while_it_sets_no_hint():
    from concierge.engine.deterministic import DeterministicEngine

    merchant = profile()
    plain = DeterministicEngine(merchant)
    for text, intent in (("hi", "greeting"), ("where is my order?", "track"), ("thanks, bye", "thanks")):
        state = turn().model_copy(
            update={
                "merchant": merchant,
                "message": turn().message.model_copy(update={"text": text}),
                "signals": Signals(intent=intent, intent_confidence=0.9, sentiment=0.0),
            }
        )
        assert wrapped(plain).decide(state) == plain.decide(state), text


def test_the_positive_feedback_detector_and_the_praised_product():
    assert moments.positive_feedback("I love the gooseneck kettle, it's brilliant!", 0.86) is not None
    assert moments.positive_feedback("great, thanks for tracking it", 0.8) is None, "sentiment alone is not praise"
    assert moments.positive_feedback("I love it", 0.9, frustrated=True) is None
    assert moments.positive_feedback("I'd love a refund", 0.1) is None
    products = [("gooseneck-kettle", "Gooseneck Electric Kettle"), ("burr-grinder", "Hand Burr Coffee Grinder")]
    assert moments.praised_product("the kettle is brilliant", products) == "gooseneck-kettle"
    assert moments.praised_product("it is brilliant", products) is None


def test_the_sold_out_hint_names_the_closest_alternative_and_the_fault():
    product = {"id": "stoneware-mug", "title": "Speckled Stoneware Mug"}
    flow = {"item": "Speckled Stoneware Mug", "price": "18.00", "order_id": "#1018", "reason": "other"}
    offered = [
        {"sku": "M-OAT-450", "options": {"glaze": "Oat", "capacity": "450 ml"}, "label": "450 ml"},
        {"sku": "M-SLT-450", "options": {"glaze": "Slate", "capacity": "450 ml"}, "label": "Slate, 450 ml"},
    ]
    hint = moments.variant_out_of_stock(product, flow, "Slate", offered, {"glaze": "Slate", "capacity": "350 ml"})
    assert hint is not None and hint.alternative == "Speckled Stoneware Mug (Slate, 450 ml)"
    assert hint.alternative_sku == "M-SLT-450" and hint.item_value == Decimal("18.00") and not hint.shop_at_fault
    damaged = moments.variant_out_of_stock(product, {**flow, "reason": "damaged"}, "Slate", offered)
    assert damaged is not None and damaged.shop_at_fault
    assert moments.variant_out_of_stock(product, flow, "Slate", []) is None
