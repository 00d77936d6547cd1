"""The deterministic engine: grounded, rule-driven dialogue over the same tools a model would call.

It is a small state machine per flow (return, tracking, knowledge answer, handoff), kept in the
conversation's `flow` between turns, and it asks the actions function for every fact it states.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from concierge import signals
from concierge.reasoning import escalation
from concierge.api import Citation
from concierge.knowledge import ANSWER_THRESHOLD

# Near misses above this, on two topics, get a clarifying question instead of "I don't know".
CLARIFY_THRESHOLD = 0.33
from concierge.turn import ActionResult, ActionStatus, ConversationStatus, Decision, Handoff, Note, PassageHit, ToolCall, Turn

ENGINE = "deterministic"
ORDER_ID = re.compile(r"\b(NW\d{5})\b", re.IGNORECASE)
SIZE_ORDER = ["XXS", "XS", "S", "M", "L", "XL", "XXL", "XXXL"]
# Checked in order: a fault outranks a size word ("it has a small hole" is damaged, not too small).
FIT_REASONS: list[tuple[str, tuple[str, ...]]] = [
    ("damaged", ("damaged", "broken", "torn", "ripped", "defective", "faulty", "stain", "stained", "hole", "holes")),
    ("not_as_described", ("not as described", "different colour", "different color", "looks different", "wrong item")),
    ("too_small", ("too small", "too tight", "tight", "small", "snug", "short", "size up", "bigger")),
    ("too_large", ("too big", "too large", "too loose", "loose", "baggy", "big", "large", "long", "size down", "smaller")),
    ("changed_mind", ("changed my mind", "don't like", "dont like", "don't need", "dont need", "no longer need")),
]


# What needs the customer's account: an unverified sender is told how to get it instead.
ACCOUNT_INTENTS = frozenset({"return", "exchange", "track", "cancel", "password", "appointment"})
UNVERIFIED_REPLY = (
    "For your security I can't look up or change orders from this address, because we couldn't verify that it's "
    "yours. Please write from the email address on your account, or sign in and chat with us on our website — "
    "I'm happy to help with anything else here."
)


CHANNEL_NAMES = {"web": "web chat", "email": "email", "whatsapp": "WhatsApp", "sms": "text message"}


def money(amount: str | Decimal, currency: str) -> str:
    value = Decimal(str(amount)).quantize(Decimal("0.01"))
    return f"${value}" if currency == "USD" else f"{value} {currency}"


def day(iso: str | None) -> str:
    if not iso:
        return "recently"
    moment = datetime.fromisoformat(iso)
    return f"{moment.strftime('%A')} {moment.day} {moment.strftime('%B')}"


def expected_by(iso: str) -> str:
    moment = datetime.fromisoformat(iso)
    zone = moment.strftime("%Z") or "UTC"
    return f"{moment.strftime('%A')} {moment.day} {moment.strftime('%B')}, {moment.strftime('%H:%M')} {zone}"


def slot_time(iso: str) -> str:
    moment = datetime.fromisoformat(iso)
    return f"{moment.strftime('%A')} {moment.day} {moment.strftime('%B')} at {moment.strftime('%H:%M')} UTC"


ORDINALS = {"first": 1, "1st": 1, "one": 1, "second": 2, "2nd": 2, "two": 2, "third": 3, "3rd": 3, "three": 3}


def pick_choice(text: str, count: int) -> int | None:
    """The index the customer picked from a numbered list ("2", "the second one"), or None."""
    for word in re.findall(r"[\w]+", text):
        number = int(word) if word.isdigit() else ORDINALS.get(word)
        if number is not None and 1 <= number <= count:
            return number - 1
    return None


def call(tool: str, arguments: dict[str, Any] | None = None, n: int = 1) -> ToolCall:
    return ToolCall(id=f"{tool}-{n}", tool=tool, arguments=arguments or {})


class DeterministicEngine:
    def __init__(self, merchant_name: str, return_window_days: int = 30) -> None:
        self.merchant = merchant_name
        self.return_window_days = return_window_days

    # entry point -------------------------------------------------------------------------
    def decide(self, turn: Turn) -> Decision:
        decision = self._decide(turn)
        # Call ids are unique per turn and round: an action id is derived from the call id, so a second return in
        # the same conversation is a new action, not a replay of the first.
        rounds = f"{turn.conversation.customer_turns}.{len(turn.tool_rounds)}"
        calls = [c.model_copy(update={"id": f"{c.tool}-{rounds}-{i}"}) for i, c in enumerate(decision.tool_calls, 1)]
        return decision.model_copy(
            update={"reply": self._with_greeting(turn, decision.reply), "engine": ENGINE, "tool_calls": calls}
        )

    def _decide(self, turn: Turn) -> Decision:
        assert turn.signals and turn.conversation and turn.message
        flow = dict(turn.conversation.flow)
        text = turn.message.text
        if turn.conversation.status is ConversationStatus.HANDED_OFF:
            return Decision(
                next="reply",
                reply="A member of our team has this conversation and will reply here shortly.",
                flow=flow,
            )
        if "actions" in turn.errors:
            return self.handoff(turn, "an action failed", "I'm sorry, something went wrong on our side while I was doing that.")
        trigger = self._handoff_trigger(turn, flow)
        if trigger:
            return self.handoff(turn, trigger)
        if flow.get("name") == "return":
            return self._return_flow(turn, flow)
        if flow.get("name") == "offer_handoff":
            if signals.is_affirmative(text):
                return self.handoff(turn, flow.get("reason", "no answer in the help center"))
            flow = {}
        if flow.get("name") == "cancel":
            return self._cancel_flow(turn, flow)
        if flow.get("name") == "appointment":
            return self._appointment_flow(turn, flow)
        if flow.get("name") == "offer_tracking":
            if signals.is_affirmative(text) and not signals.is_negative(text):
                return self._track(turn, flow["order_id"])
            flow = {}
        intent = turn.signals.intent
        if not turn.customer.verified and (intent in ACCOUNT_INTENTS or ORDER_ID.search(text)):
            return Decision(next="reply", reply=UNVERIFIED_REPLY, flow={})
        if intent == "cancel":
            return self._cancel_flow(turn, {"name": "cancel", "stage": "find"})
        if intent == "password":
            return self._password_reset(turn)
        if intent == "appointment":
            return self._appointment_flow(turn, {"name": "appointment", "stage": "find"})
        if intent in ("return", "exchange"):
            return self._return_flow(turn, {"name": "return", "stage": "find_item", "wants": intent})
        wants_tracking = signals.any_phrase(signals.normalize(text), signals.INTENT_PHRASES["track"])
        if intent == "track" or (intent in ("question", "unknown") and (wants_tracking or ORDER_ID.search(text))):
            return self._track(turn)
        if intent in ("goodbye", "thanks") and not self._has_question(text):
            return Decision(next="reply", reply="You're welcome — glad I could help. Have a lovely day!", close="resolved")
        if intent == "greeting":
            return Decision(next="reply", reply="How can I help you today?", flow=flow)
        return self._answer_from_knowledge(turn)

    # handoff -----------------------------------------------------------------------------
    def _handoff_trigger(self, turn: Turn, flow: dict) -> str | None:
        """The same code-enforced triggers as every engine (reasoning.escalation)."""
        return escalation.trigger(turn, turn.conversation.sentiments, flow.get("misses", 0))

    def handoff(self, turn: Turn, reason: str, preface: str = "") -> Decision:
        """Create the handoff ticket (first step), then tell the customer (once it exists)."""
        done = turn.results_for("create_handoff")
        if not done:
            summary = f"Customer {turn.customer.first_name}: '{turn.message.text[:200]}'. Reason: {reason}."
            return Decision(next="actions", tool_calls=[call("create_handoff", {"reason": reason, "summary": summary})])
        ticket = done[-1].result if done[-1].status is ActionStatus.EXECUTED else {}
        if ticket.get("within_hours") is False and ticket.get("reply_expected_by"):
            message = (
                f"{preface + ' ' if preface else ''}Our team is away right now, so I've passed this to them with this whole "
                f"conversation — you won't need to repeat anything. A teammate will reply here by "
                f"{expected_by(ticket['reply_expected_by'])}."
            ).strip()
        else:
            message = (
                f"{preface + ' ' if preface else ''}I'm passing you to a member of our team now. They'll see this whole "
                "conversation, so you won't need to repeat anything, and they'll reply right here."
            ).strip()
        return Decision(next="reply", reply=message, handoff=Handoff(reason=reason, message=message))

    # return ------------------------------------------------------------------------------
    def _return_flow(self, turn: Turn, flow: dict) -> Decision:
        stage = flow.get("stage")
        text = turn.message.text
        if stage == "find_item":
            return self._find_item(turn, flow)
        if stage == "confirm_item":
            if signals.is_affirmative(text) and not signals.is_negative(text):
                reason = self._fit_reason(text)
                if reason:
                    return self._offer(turn, {**flow, "reason": reason, "stage": "offer"})
                return Decision(
                    next="reply",
                    reply="Thanks. How did it fit — too small, too large, or is something else wrong with it?",
                    flow={**flow, "stage": "ask_fit", "misses": 0},
                )
            if signals.is_negative(text):
                return self._choose_other(flow)
            return self._miss(flow, f"Is the {flow['item']} the item you'd like to return? A yes or no is fine.")
        if stage == "choose_item":
            line = self._match_line(text, flow["candidates"])
            if line:
                return self._confirm_item(flow, flow["order"], line)
            return self._miss(flow, "Which of those items would you like to return?")
        if stage == "ask_fit":
            reason = self._fit_reason(text) or "other"
            return self._offer(turn, {**flow, "reason": reason, "stage": "offer"})
        if stage == "offer":
            return self._choose_resolution(turn, flow)
        if stage == "confirm_action":
            return self._confirm_action(turn, flow)
        return self._find_item(turn, {"name": "return", "stage": "find_item"})

    def _miss(self, flow: dict, question: str) -> Decision:
        misses = flow.get("misses", 0) + 1
        return Decision(next="reply", reply=question, flow={**flow, "misses": misses})

    def _find_item(self, turn: Turn, flow: dict) -> Decision:
        found = turn.results_for("find_orders")
        if not found:
            return Decision(next="actions", tool_calls=[call("find_orders", {"limit": 3})], flow=flow)
        orders = [o for o in found[-1].result.get("orders", []) if o["status"] != "cancelled"]
        if not orders:
            return Decision(next="reply", reply="I can't find any orders on your account that could be returned.", flow={})
        text = turn.message.text
        named = ORDER_ID.search(text)
        if named:
            orders = [o for o in orders if o["order_id"].upper() == named.group(1).upper()] or orders
        elif re.search(r"\b(last|latest|recent|most recent|newest)\b", text, re.IGNORECASE):
            orders = orders[:1]
        candidates = [(order, line) for order in orders for line in order["lines"]]
        scored = sorted(((self._line_score(text, line), i) for i, (_, line) in enumerate(candidates)), reverse=True)
        best = [i for score, i in scored if score == scored[0][0] and score > 0]
        if len(best) == 1:
            order, line = candidates[best[0]]
            blocked = self._not_returnable(turn, order, line)
            return blocked or self._confirm_item(flow, order, line)
        order = orders[0]
        options = [candidates[i][1] for i in best] or order["lines"]
        listing = "; ".join(self._label(line) for line in options)
        return Decision(
            next="reply",
            reply=f"I can help with that. Which item from order {order['order_id']} would you like to return: {listing}?",
            flow={**flow, "stage": "choose_item", "order": self._order_brief(order), "candidates": options},
        )

    def _not_returnable(self, turn: Turn, order: dict, line: dict) -> Decision | None:
        """Say at once why an item cannot be returned, rather than after three more questions. The action layer's
        policy still decides; this only spares the customer a dead-end conversation."""
        item = self._label(line)
        if order["status"] in ("pending", "shipped"):
            state = "hasn't shipped yet" if order["status"] == "pending" else "is still on its way"
            return Decision(
                next="reply",
                reply=(
                    f"Your order {order['order_id']} with the {item} {state}, so it can't be returned yet. Once it's "
                    f"delivered you'll have {self.return_window_days} days to return it. Would you like me to check "
                    "where it is?"
                ),
                flow={"name": "offer_tracking", "order_id": order["order_id"]},
            )
        if line.get("returned"):
            return Decision(
                next="reply",
                reply=(
                    f"Our records show the {item} from order {order['order_id']} has already been returned, so "
                    "there's nothing more to do for that one. Is there anything else I can help with?"
                ),
                flow={},
            )
        delivered = order.get("delivered_at")
        if delivered:
            age = turn.message.received_at - datetime.fromisoformat(delivered)
            if age > timedelta(days=self.return_window_days):
                return Decision(
                    next="reply",
                    reply=(
                        f"The {item} from order {order['order_id']} was delivered on {day(delivered)}, more than "
                        f"{self.return_window_days} days ago, so it's outside our return window. If something is wrong "
                        "with it, a member of our team can look at a warranty claim. Would you like me to connect you?"
                    ),
                    flow={"name": "offer_handoff", "reason": "return outside the window"},
                )
        return None

    @staticmethod
    def _order_brief(order: dict) -> dict:
        return {k: order[k] for k in ("order_id", "delivered_at", "currency", "refund_to", "status")}

    @staticmethod
    def _label(line: dict) -> str:
        options = ", ".join(f"{v}" for v in line["options"].values())
        return f"{line['title']} ({options})" if options else line["title"]

    @staticmethod
    def _line_score(text: str, line: dict) -> int:
        token = r"[a-z0-9]+(?:\.[a-z0-9]+)*"  # keeps sizes such as 8.5, drops a sentence's full stop
        words = set(re.findall(token, text.lower()))
        words |= {w[:-1] for w in words if w.endswith("s")}
        terms = set(re.findall(token, (line["title"] + " " + " ".join(line["options"].values())).lower()))
        return len(words & terms)

    def _match_line(self, text: str, lines: list[dict]) -> dict | None:
        scored = sorted(((self._line_score(text, line), i) for i, line in enumerate(lines)), reverse=True)
        if scored and scored[0][0] > 0 and (len(scored) == 1 or scored[1][0] < scored[0][0]):
            return lines[scored[0][1]]
        return None

    def _confirm_item(self, flow: dict, order: dict, line: dict) -> Decision:
        item = self._label(line)
        flow = {
            **flow,
            "stage": "confirm_item",
            "order_id": order["order_id"],
            "line_id": line["line_id"],
            "product_id": line["product_id"],
            "options": line["options"],
            "item": item,
            "price": line["unit_price"],
            "currency": order["currency"],
            "refund_to": order["refund_to"],
            "misses": 0,
        }
        flow.pop("candidates", None)
        flow.pop("order", None)
        delivered = f", delivered on {day(order['delivered_at'])}" if order.get("delivered_at") else ""
        return Decision(
            next="reply",
            reply=(
                f"I found it: the {item} from your order {order['order_id']}{delivered} "
                f"({money(line['unit_price'], order['currency'])}). Is that the one you'd like to return?"
            ),
            flow=flow,
        )

    def _choose_other(self, flow: dict) -> Decision:
        return Decision(
            next="reply",
            reply="No problem. Which item would you like to return? You can describe it or give the order number.",
            flow={"name": "return", "stage": "find_item", "misses": flow.get("misses", 0)},
        )

    @staticmethod
    def _fit_reason(text: str) -> str | None:
        lowered = text.lower()
        for reason, phrases in FIT_REASONS:
            if any(re.search(rf"\b{re.escape(p)}\b", lowered) for p in phrases):
                return reason
        return None

    def _offer(self, turn: Turn, flow: dict) -> Decision:
        product = turn.results_for("get_product")
        if not product:
            return Decision(next="actions", tool_calls=[call("get_product", {"product_id": flow["product_id"]})], flow=flow)
        alternative = self._alternative(product[-1].result, flow["options"], flow["reason"])
        refund = f"refund {money(flow['price'], flow['currency'])} to {flow['refund_to']}"
        sorry = {
            "too_small": "Sorry it's too small.",
            "too_large": "Sorry it's too big.",
            "damaged": "I'm sorry it arrived damaged.",
            "not_as_described": "I'm sorry it wasn't what you expected.",
        }.get(flow["reason"], "Thanks for letting me know.")
        if alternative:
            label = ", ".join(alternative["options"].values())
            flow = {**flow, "exchange_sku": alternative["sku"], "exchange_label": label, "misses": 0}
            reply = f"{sorry} I can {refund}, or exchange it for the {label}, which is in stock. Which would you prefer?"
        else:
            flow = {**flow, "exchange_sku": None, "misses": 0}
            reply = f"{sorry} Another size isn't in stock right now, but I can {refund}. Shall I do that?"
        return Decision(next="reply", reply=reply, flow=flow)

    @staticmethod
    def _alternative(product: dict, options: dict, reason: str) -> dict | None:
        size = options.get("size")
        in_stock = [v for v in product.get("variants", []) if v["stock"] > 0]
        same_colour = [v for v in in_stock if v["options"].get("colour") == options.get("colour")]

        def rank(variant: dict) -> float:
            other = variant["options"].get("size", "")
            if size in SIZE_ORDER and other in SIZE_ORDER:
                return SIZE_ORDER.index(other) - SIZE_ORDER.index(size)
            try:
                return float(other) - float(size)
            except (TypeError, ValueError):
                return 0.0

        if reason == "too_small":
            bigger = sorted((v for v in same_colour if rank(v) > 0), key=rank)
            return bigger[0] if bigger else None
        if reason == "too_large":
            smaller = sorted((v for v in same_colour if rank(v) < 0), key=rank, reverse=True)
            return smaller[0] if smaller else None
        if reason == "damaged":
            return next((v for v in same_colour if v["options"] == options), None)
        return None

    def _choose_resolution(self, turn: Turn, flow: dict) -> Decision:
        proposed = turn.results_for("return_items")
        if proposed:
            return self._after_proposal(proposed[-1], flow)
        normalized = signals.normalize(turn.message.text)
        wants_exchange = bool(flow.get("exchange_sku")) and (
            signals.any_phrase(normalized, ("exchange", "swap", "size", "bigger", "smaller", "replacement", "instead"))
            or any(signals.has_phrase(normalized, part.lower()) for part in flow.get("exchange_label", "").split(", ") if len(part) <= 4)
        )
        wants_refund = signals.any_phrase(normalized, ("refund", "money back", "return it", "give back")) or (
            not flow.get("exchange_sku") and signals.is_affirmative(turn.message.text)
        )
        if wants_exchange == wants_refund:
            if signals.is_negative(turn.message.text):
                return Decision(next="reply", reply="No problem, I won't change anything. Is there anything else I can help with?", flow={})
            return self._miss(flow, "Would you like the refund, or the exchange?")
        arguments = {
            "order_id": flow["order_id"],
            "line_ids": [flow["line_id"]],
            "resolution": "exchange" if wants_exchange else "refund",
            "reason": flow["reason"],
        }
        if wants_exchange:
            arguments["exchange_sku"] = flow["exchange_sku"]
        return Decision(next="actions", tool_calls=[call("return_items", arguments)], flow=flow)

    def _after_proposal(self, result: ActionResult, flow: dict) -> Decision:
        if result.status is not ActionStatus.PENDING_CONFIRMATION:
            explanation = result.result.get("explanation", "I can't process that return.")
            return Decision(
                next="reply",
                reply=f"I'm sorry — {explanation} Would you like me to connect you with a teammate?",
                flow={"name": "offer_handoff", "reason": f"action not possible: {result.reason or 'denied'}"},
            )
        effect = result.result
        if effect["resolution"] == "refund":
            what = f"refund {money(effect['refund_amount'], effect['currency'])} to {effect['refund_to']} for the {effect['items'][0]}"
        else:
            what = f"send you the {effect['exchange_item']} in exchange for the {effect['items'][0]}"
            difference = Decimal(effect["price_difference"])
            if difference > 0:
                what += f" (a difference of {money(difference, effect['currency'])})"
        if effect.get("requires_approval"):
            reply = (
                f"Refunds of this size need a teammate's approval. If you confirm, I'll send a request to "
                f"{what} for approval; you'll hear back here as soon as they decide. Shall I send it?"
            )
        else:
            reply = f"To confirm: I'll {what}, and email you a QR code for label-free drop-off. Shall I go ahead?"
        return Decision(
            next="reply",
            reply=reply,
            flow={**flow, "stage": "confirm_action", "action_id": result.action_id, "misses": 0},
        )

    def _confirm_action(self, turn: Turn, flow: dict) -> Decision:
        confirmed = turn.results_for("return_items") + turn.results_for("confirm_action") + turn.results_for("cancel_action")
        if confirmed:
            outcome = confirmed[-1]
            if outcome.status is ActionStatus.EXECUTED and "cancelled" in outcome.result:
                return Decision(next="reply", reply="No problem, I've cancelled that. Is there anything else I can help with?", flow={})
            if outcome.status is ActionStatus.AWAITING_APPROVAL:
                r = outcome.result
                return Decision(
                    next="reply",
                    reply=(
                        f"Thanks — I've sent your refund of {money(r['refund_amount'], r['currency'])} to a teammate for "
                        f"approval (reference {r['action_id']}). Nothing is charged or refunded until they decide, usually "
                        f"well within {r['decision_within_hours']:g} hours, and I'll tell you here as soon as they do. "
                        "Is there anything else I can help with?"
                    ),
                    flow={},
                )
            if outcome.status is ActionStatus.EXECUTED:
                r = outcome.result
                if r["resolution"] == "refund":
                    done = (
                        f"Done — your return {r['return_id']} is processed and your refund of "
                        f"{money(r['refund_amount'], r['currency'])} is on its way to {r['refund_to']} (5–10 business days)."
                    )
                else:
                    done = f"Done — your exchange is placed: the {r['exchange_item']} ships as soon as we scan your return."
                reply = (
                    f"{done} I've emailed a QR code to {r['email']['to']}: show it at any drop-off point, "
                    "no label or printer needed. Is there anything else I can help with?"
                )
                return Decision(next="reply", reply=reply, flow={}, resolved=True)
            explanation = outcome.result.get("explanation", "that didn't go through.")
            return Decision(
                next="reply",
                reply=f"I'm sorry — {explanation} Would you like me to connect you with a teammate?",
                flow={"name": "offer_handoff", "reason": f"action not possible: {outcome.reason or outcome.status.value}"},
            )
        return self._settle_pending(turn.message.text, flow) or self._miss(flow, "Shall I go ahead with that? A yes or no is fine.")

    @staticmethod
    def _settle_pending(text: str, flow: dict) -> Decision | None:
        """The customer's answer to "shall I go ahead?": confirm the pending action, withdraw it, or None if unclear."""
        if signals.is_affirmative(text) and not signals.is_negative(text):
            return Decision(next="actions", tool_calls=[call("confirm_action", {"action_id": flow["action_id"]})], flow=flow)
        if signals.is_negative(text):
            return Decision(next="actions", tool_calls=[call("cancel_action", {"action_id": flow["action_id"]})], flow=flow)
        return None

    # cancellation ------------------------------------------------------------------------
    def _cancel_flow(self, turn: Turn, flow: dict) -> Decision:
        """Find the order (named, or the most recent one not yet shipped), propose the cancellation, and carry it
        out only when the customer confirms it."""
        text = turn.message.text
        if flow.get("stage") == "confirm":
            done = [r for r in turn.results if r.tool in ("cancel_order", "confirm_action", "cancel_action")
                    and r.status is not ActionStatus.PENDING_CONFIRMATION]
            if done:
                outcome = done[-1]
                if outcome.status is ActionStatus.EXECUTED and outcome.result.get("cancelled") is True:
                    return Decision(next="reply", resolved=True, flow={},
                                    reply=f"Done — order {outcome.result['order_id']} is cancelled and your card won't be charged. Anything else?")
                if outcome.status is ActionStatus.EXECUTED:
                    return Decision(next="reply", reply="No problem, your order stays as it is. Anything else I can help with?", flow={})
                return Decision(next="reply", reply=outcome.result.get("explanation", "I couldn't cancel that order."), flow={})
            # Here "cancel" is what the customer asked for, not a refusal ("yes, cancel it").
            without_cancel = re.sub(r"(?i)\bcancel\w*", "", text)
            return self._settle_pending(without_cancel, flow) or Decision(
                next="reply", reply="Shall I cancel it? A yes or no is fine.", flow=flow)
        proposed = turn.results_for("cancel_order")
        if proposed:
            outcome = proposed[-1]
            if outcome.status is not ActionStatus.PENDING_CONFIRMATION:
                return Decision(next="reply", reply=outcome.result.get("explanation", "I couldn't cancel that order."), flow={})
            r = outcome.result
            return Decision(
                next="reply",
                reply=f"Order {r['order_id']} ({', '.join(r['items'])}) hasn't shipped yet, so I can cancel it and your card "
                      f"won't be charged. Shall I go ahead?",
                flow={"name": "cancel", "stage": "confirm", "action_id": r["action_id"]},
            )
        named = ORDER_ID.search(text)
        if named:
            return Decision(next="actions", tool_calls=[call("cancel_order", {"order_id": named.group(1).upper()})], flow=flow)
        found = turn.results_for("find_orders")
        if not found:
            return Decision(next="actions", tool_calls=[call("find_orders", {"limit": 5})], flow=flow)
        orders = found[-1].result.get("orders", [])
        pending = [o for o in orders if o["status"] == "pending"]
        if not pending:
            latest = orders[0] if orders else None
            done = {"shipped": "shipped", "delivered": "been delivered", "cancelled": "been cancelled"}.get(latest["status"], latest["status"]) if latest else ""
            reply = (f"Your most recent order {latest['order_id']} has already {done}, so it can't be cancelled"
                     + (" — you can return it once it arrives." if latest["status"] == "shipped" else ".")) if latest else \
                "I can't find an order on your account that could still be cancelled."
            return Decision(next="reply", reply=reply, flow={})
        return Decision(next="actions", tool_calls=[call("cancel_order", {"order_id": pending[0]["order_id"]})], flow=flow)

    # account and appointments --------------------------------------------------------------
    def _password_reset(self, turn: Turn) -> Decision:
        done = turn.results_for("send_password_reset")
        if not done:
            return Decision(next="actions", tool_calls=[call("send_password_reset")])
        outcome = done[-1]
        if outcome.status is not ActionStatus.EXECUTED:
            return Decision(next="reply", reply=outcome.result.get("explanation", "I couldn't send a reset link just now."))
        return Decision(
            next="reply", resolved=True,
            reply=(f"I've emailed a password-reset link to {outcome.result['sent_to']}. It works once, for "
                   f"{outcome.result['valid_minutes']} minutes — if it isn't in your inbox in a few minutes, check spam. "
                   "Anything else I can help with?"),
        )

    def _appointment_flow(self, turn: Turn, flow: dict) -> Decision:
        """Offer the three soonest free slots, book the one the customer picks once they confirm it."""
        text = signals.normalize(turn.message.text)
        stage = flow.get("stage")
        if stage == "confirm":
            done = [r for r in turn.results if r.tool in ("book_appointment", "confirm_action", "cancel_action")
                    and r.status is not ActionStatus.PENDING_CONFIRMATION]
            if done:
                outcome = done[-1]
                if outcome.status is ActionStatus.EXECUTED and outcome.result.get("booked"):
                    r = outcome.result
                    return Decision(next="reply", resolved=True, flow={},
                                    reply=f"You're booked: {r['label']}, {slot_time(r['starts_at'])} ({r['minutes']} minutes). Anything else?")
                if outcome.status is ActionStatus.EXECUTED:
                    return Decision(next="reply", reply="No problem, I haven't booked anything. Anything else?", flow={})
                return Decision(next="reply", reply=outcome.result.get("explanation", "I couldn't book that slot."),
                                flow={"name": "appointment", "stage": "find", "kind": flow.get("kind")})
            return self._settle_pending(turn.message.text, flow) or Decision(
                next="reply", reply="Shall I book it? A yes or no is fine.", flow=flow)
        if stage == "pick":
            proposed = turn.results_for("book_appointment")
            if proposed:
                outcome = proposed[-1]
                if outcome.status is not ActionStatus.PENDING_CONFIRMATION:
                    return Decision(next="reply", reply=outcome.result.get("explanation", "I couldn't book that slot."), flow={})
                r = outcome.result
                return Decision(next="reply", reply=f"To confirm: {r['label']}, {slot_time(r['starts_at'])}. Shall I book it?",
                                flow={"name": "appointment", "stage": "confirm", "action_id": r["action_id"]})
            choice = pick_choice(text, len(flow["slots"]))
            if choice is None:
                if signals.is_negative(turn.message.text):
                    return Decision(next="reply", reply="No problem. Anything else I can help with?", flow={})
                return self._miss(flow, f"Which one suits you — 1 to {len(flow['slots'])}?")
            return Decision(next="actions", tool_calls=[call("book_appointment", {"slot_id": flow["slots"][choice]})], flow=flow)
        found = turn.results_for("find_appointment_slots")
        kind = flow.get("kind") or ("styling" if re.search(r"\b(styling|stylist|video)\b", text) else "fitting")
        if not found:
            return Decision(next="actions", tool_calls=[call("find_appointment_slots", {"kind": kind, "limit": 3})],
                            flow={"name": "appointment", "stage": "find", "kind": kind})
        outcome = found[-1]
        if outcome.status is not ActionStatus.EXECUTED or not outcome.result.get("slots"):
            return Decision(next="reply", flow={},
                            reply=outcome.result.get("explanation", "There are no free slots in the next two weeks, I'm sorry."))
        slots = outcome.result["slots"]
        listing = "; ".join(f"{i}. {slot_time(s['starts_at'])}" for i, s in enumerate(slots, 1))
        return Decision(
            next="reply",
            reply=f"The next free slots for a {outcome.result['label'].lower()} ({outcome.result['minutes']} minutes) are: {listing}. Which one suits you?",
            flow={"name": "appointment", "stage": "pick", "kind": kind, "slots": [s["slot_id"] for s in slots]},
        )

    # tracking ----------------------------------------------------------------------------
    def _track(self, turn: Turn, order_id: str | None = None) -> Decision:
        tracked = turn.results_for("track_shipment")
        if not tracked:
            named = ORDER_ID.search(turn.message.text)
            order_id = named.group(1).upper() if named else order_id
            arguments = {"order_id": order_id} if order_id else {}
            flow = {"name": "offer_tracking", "order_id": order_id} if order_id else {}
            return Decision(next="actions", tool_calls=[call("track_shipment", arguments)], flow=flow)
        outcome = tracked[-1]
        if outcome.status is not ActionStatus.EXECUTED:
            return Decision(next="reply", reply=outcome.result.get("explanation", "I couldn't find that order."))
        r = outcome.result
        if r["status"] == "pending":
            reply = f"Your order {r['order_id']} is being prepared and hasn't shipped yet. I'll have tracking for you as soon as it leaves our warehouse."
        elif r["status"] == "delivered":
            reply = f"Your order {r['order_id']} was delivered on {day(r.get('delivered_at'))}. Did everything arrive safely?"
        elif r["status"] == "cancelled":
            reply = f"Your order {r['order_id']} was cancelled, so nothing is on its way."
        elif r.get("late"):
            last = r.get("last_event") or {}
            latest = f" The last scan was '{last['status']}' in {last['location']} on {day(last['at'])}." if last else ""
            reply = (
                f"I'm sorry — your order {r['order_id']} is running late. It's with {r['carrier']} (tracking number "
                f"{r['tracking_number']}) and was due on {day(r['estimated_delivery'])}.{latest} If it hasn't arrived "
                "within 2 days, we'll open a trace with the carrier and send a replacement at no cost."
            )
        else:
            last = r.get("last_event") or {}
            latest = f" Latest update: {last['status']} — {last['location']}, {day(last['at'])}." if last else ""
            reply = (
                f"Your order {r['order_id']} is on its way with {r['carrier']} (tracking number {r['tracking_number']})."
                f"{latest} Estimated delivery: {day(r['estimated_delivery'])}."
            )
        other = self._other_answer(turn)
        if other:
            passage, text = other
            source = f"{passage.title} — {passage.section}" if passage.section else passage.title
            return Decision(next="reply", reply=f"{reply}\n\nAs for your other question: {text}", resolved=True,
                            citations=[Citation(title=source, url=passage.url)])
        return Decision(next="reply", reply=reply, resolved=True)

    def _other_answer(self, turn: Turn) -> tuple[PassageHit, str] | None:
        """Several requests in one message ("where is my order, and how long do refunds take?"): the tracking
        answer comes first, then the help center's answer to the rest, when it has a grounded one."""
        if " and " not in turn.message.text.lower() and turn.message.text.count("?") < 2:
            return None
        passage = next((p for p in turn.passages if p.confidence >= ANSWER_THRESHOLD and not p.suspicious
                        and not p.url.startswith("/help/order-tracking")), None)
        return (passage, self._excerpt(passage.text, 300)) if passage else None

    # knowledge ---------------------------------------------------------------------------
    def _answer_from_knowledge(self, turn: Turn) -> Decision:
        # Retrieved text is data: a passage that addresses an AI ("ignore previous instructions…") is never used.
        grounded = [p for p in turn.passages if p.confidence >= ANSWER_THRESHOLD and not p.suspicious]
        if not grounded:
            clarify = self._clarifying_question(turn)
            if clarify:
                return clarify
            return Decision(
                next="reply",
                reply=(
                    "I'm not sure about that, and I'd rather not guess. Would you like me to connect you with a "
                    "member of our team who can help?"
                ),
                flow={"name": "offer_handoff"},
            )
        best = grounded[0]
        body = self._excerpt(best.text)
        source = f"{best.title} — {best.section}" if best.section else best.title
        note = Note(topic=best.title, aspect=best.section, text=self._excerpt(best.text, 240), channel=turn.message.channel)
        recap = self._recap(turn, note)
        return Decision(
            next="reply",
            reply=f"{recap}{body}\n\n(From our help center: {source}{'' if source.endswith('?') else '.'}) Is there anything else I can help with?",
            citations=[Citation(title=source, url=best.url)],
            resolved=True,
            notes=[note],
        )

    @staticmethod
    def _clarifying_question(turn: Turn) -> Decision | None:
        """Near misses on two different topics: ask which one the customer means rather than guess or give up."""
        if turn.conversation.flow.get("name") == "clarify":
            return None  # asked once already: offer a human instead
        topics: dict[str, PassageHit] = {}
        for passage in turn.passages:
            if CLARIFY_THRESHOLD <= passage.confidence < ANSWER_THRESHOLD and not passage.suspicious:
                section = passage.section.split(":")[0].rstrip("?")
                label = passage.title if section in ("", "Overview") else section
                topics.setdefault(label, passage)
        if len(topics) < 2:
            return None
        first, second = list(topics)[:2]
        return Decision(
            next="reply",
            reply=f"I want to get this right — is your question about {first.lower()} or {second.lower()}? Or tell me a bit more.",
            flow={"name": "clarify"},
        )

    @staticmethod
    def _recap(turn: Turn, answer: Note) -> str:
        """When the customer moves to another channel (or a linked conversation), build on what was already
        answered there, so that they never have to ask again or piece the two answers together."""
        conversation = turn.conversation
        earlier = [n for n in conversation.notes if n.channel != turn.message.channel] if conversation.channel_switched else []
        earlier += turn.memory.linked_notes
        earlier = [n for n in earlier if (n.topic, n.aspect) != (answer.topic, answer.aspect)]
        if not earlier:
            return ""
        note = earlier[-1]
        where = CHANNEL_NAMES.get(note.channel.value, note.channel.value)
        return f"Picking up from our {where}: {note.text}\n\n"

    @staticmethod
    def _excerpt(text: str, limit: int = 480) -> str:
        text = re.sub(r"\s+", " ", text).strip()
        if len(text) <= limit:
            return text
        cut = text[:limit]
        end = max(cut.rfind(". "), cut.rfind("! "), cut.rfind("? "))
        return cut[: end + 1] if end > 120 else cut.rsplit(" ", 1)[0] + "…"

    @staticmethod
    def _has_question(text: str) -> bool:
        return "?" in text

    # greeting ----------------------------------------------------------------------------
    def _with_greeting(self, turn: Turn, reply: str) -> str:
        if not reply or turn.conversation.customer_turns != 1:
            return reply
        if not turn.customer.verified:
            return f"Hi, I'm the {self.merchant} AI assistant. {reply}"
        name = turn.customer.first_name
        memory = turn.memory
        if memory.open_issues:
            issue = memory.open_issues[0]
            opening = (
                f"Welcome back, {name}! Last time we spoke, {issue}. If it still hasn't arrived, just say so and "
                f"I'll sort it out. I'm the {self.merchant} AI assistant."
            )
        elif memory.returning and memory.last_summary:
            opening = f"Welcome back, {name}! Last time, {memory.last_summary} I'm the {self.merchant} AI assistant."
        else:
            opening = f"Hi {name}, I'm the {self.merchant} AI assistant."
        return f"{opening} {reply}"
