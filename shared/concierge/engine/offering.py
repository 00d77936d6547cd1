"""The offering wrapper: puts the next best action into any engine's reply at an offer moment (docs/offers.md).

The agent function reads and writes no data (topology.ACCESS), so the decision runs in the actions function, as a
tool call. An engine names the moment on its reply (`Decision.moment`, offers/moments.py); this wrapper then

1. turns that reply into one action round: `next_best_action` with the hint as its arguments, keeping the whole
   drafted reply on the decision (text, flow, citations, close…), so that no engine decides twice and no model is
   asked again;
2. on the next agent step, finds the tool's result and returns the drafted reply, with the rendered offer appended
   only when the result says an offer was presented. Held out, refused, denied or failed: the reply exactly as
   drafted.

With no action round left, no offer configured for the moment, no holdout salt, a handoff or an unverified sender,
the inner decision goes out unchanged. While no engine sets a hint, the wrapper changes nothing, with one exception
it names itself for both engines alike: a help-center answer to a question about a feature of one of the shop's paid
plans (merchant.json `subscriptions.plans[].features`) is the `paid_feature_interest` moment (`_paid_feature`).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Protocol

from concierge.conversation.turn import ActionStatus, Decision, ReadyTurn, ToolCall
from concierge.reasoning.costs import Usage
from concierge.workflows import WORKFLOW_ROUNDS

if TYPE_CHECKING:
    from concierge.store.merchant import MerchantProfile

TOOL = "next_best_action"


class Engine(Protocol):
    def decide(self, turn: ReadyTurn) -> Decision: ...


class OfferingEngine:
    """Wraps `inner` (the deterministic engine, or Claude with its fallback). `profile` is the deployed merchant.json
    (a turn carrying the imported profile uses that one); `salt_set` whether CONCIERGE_OFFER_SALT is set here."""

    def __init__(self, inner: Engine, profile: MerchantProfile, salt_set: bool) -> None:
        self.inner = inner
        self.profile = profile
        self.salt_set = salt_set

    def __getattr__(self, name: str) -> object:  # the inner engine's own API (fallback, handoff, …) stays reachable
        return getattr(self.inner, name)

    def decide(self, turn: ReadyTurn) -> Decision:
        drafted = self._drafted(turn)
        if drafted is not None:
            return drafted
        decision = self.inner.decide(turn)
        if decision.moment is None:
            decision = self._paid_feature(turn, decision)
        if not self._at_moment(turn, decision):
            return decision
        assert decision.moment is not None  # _at_moment checked it
        call = ToolCall(
            id=f"{TOOL}-{turn.conversation.customer_turns}.{turn.agent_rounds}",
            tool=TOOL,
            arguments=decision.moment.model_dump(mode="json", exclude_none=True, exclude_defaults=False),
        )
        # the drafted reply travels on the decision (the reply step only sends a decision whose next is "reply")
        return decision.model_copy(update={"next": "actions", "tool_calls": [call], "assistant_content": []})

    def _paid_feature(self, turn: ReadyTurn, decision: Decision) -> Decision:
        """The decision with the paid-feature moment when it is one: a reply grounded in the help center (it cites
        it), with nothing done or proposed this turn, to a message naming a paid plan's feature
        (`moments.paid_feature_interest`). Whether a trial is offered is the guardrails' call (the customer may
        have the plan already, or have tried it)."""
        profile = turn.merchant or self.profile
        if decision.next != "reply" or decision.handoff is not None or not decision.citations:
            return decision
        if profile.subscriptions is None or not any(
            o.enabled and o.trigger.moment.value == "paid_feature_interest" for o in profile.offers
        ):
            return decision
        from concierge.actions.tools import WRITE_TOOLS
        from concierge.offers import moments

        if any(r.tool in WRITE_TOOLS or r.status is ActionStatus.PENDING_CONFIRMATION for r in turn.results):
            return decision
        hint = moments.paid_feature_interest(turn.message.text, profile.subscriptions)
        return decision if hint is None else decision.model_copy(update={"moment": hint})

    def _at_moment(self, turn: ReadyTurn, decision: Decision) -> bool:
        if decision.next != "reply" or decision.moment is None or decision.handoff is not None:
            return False
        if not turn.customer.verified:
            return False
        if turn.results_for(TOOL) or not self.salt_set:
            return False
        if max(turn.loop.steps, turn.agent_rounds) >= WORKFLOW_ROUNDS:
            # no action round left (an engine's own are done, and one is kept for this): as it is. A round retrieval
            # prefetched is not one of the workflow's (it counts the agent's, loop.steps).
            return False
        profile = turn.merchant or self.profile
        moment = decision.moment.moment
        return any(o.enabled and o.trigger.moment is moment for o in profile.offers)

    @staticmethod
    def _drafted(turn: ReadyTurn) -> Decision | None:
        """The reply drafted before the `next_best_action` round this step follows, with the offer when one was
        presented; None when this step follows no such round."""
        previous = turn.decision
        if previous is None or previous.next != "actions" or [c.tool for c in previous.tool_calls] != [TOOL]:
            return None
        call_id = previous.tool_calls[0].id
        result = next((r for r in turn.results if r.call_id == call_id and r.tool == TOOL), None)
        reply = previous.reply
        if (
            result is not None
            and result.status is ActionStatus.EXECUTED
            and result.result.get("presented") is True
            and isinstance(result.result.get("message"), str)
            and result.result["message"].strip()
        ):
            reply = with_offer(reply, result.result["message"].strip())
        # the draft's model usage was counted when it was drafted
        return previous.model_copy(update={"next": "reply", "tool_calls": [], "reply": reply, "usage": Usage()})


# A reply's closing question: the offer goes before it, so that the reply still ends by handing the turn back.
CLOSING = re.compile(r"\s*(?:Is there )?anything else I can help (?:you )?with(?: today)?\?\s*$", re.IGNORECASE)


def with_offer(reply: str, offer: str) -> str:
    """The drafted reply with the offer's message as its own paragraph, before a closing question if it ends with
    one ("… Is there anything else I can help with?")."""
    if not reply.strip():
        return offer
    closing = CLOSING.search(reply)
    if closing is None:
        return f"{reply.rstrip()}\n\n{offer}"
    return f"{reply[: closing.start()].rstrip()}\n\n{offer}\n\n{closing.group(0).strip()}"


def offering(inner: Engine, profile: MerchantProfile, salt: str | None) -> OfferingEngine:
    """`inner` wrapped: where the agent handler builds its engine."""
    return OfferingEngine(inner, profile, bool(salt and salt.strip()))
