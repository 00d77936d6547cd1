"""The deterministic engine's lead flow (docs/leads.md), for a shop whose merchant.json has `leads`:

1. a message asking for the business line in the merchant's words ("can we get a quote?"; a question about it, such
   as "is there a minimum for a quote?", is the help center's) is answered at once with
   the merchant's intro and the first question not answered yet: a number said with a word of its unit, or an
   option named by one of its phrases, counts before it is asked ("we need 40 headsets, can we get a quote?" is not
   asked how many);
2. each answer is read as its question's kind (leads/answers.py); an answer that cannot be read is asked again
   once, saying what is wanted; a second one ends the questions, with a person offered;
3. once every question is answered, `qualify_lead` runs in the actions function, which checks the answers, applies
   the merchant's rule, records the lead and publishes `lead.qualified`; the reply is its result's message (the
   merchant's sentence and link), whatever the outcome.

The customer can leave at any time: "never mind" ends the flow, a request about an order (or for a person) is made
as if no question were waiting, and a question is answered with the waiting question asked again after the answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from concierge.conversation.turn import ActionStatus, Decision, ReadyTurn, ToolCall
from concierge.leads import answers
from concierge.leads.config import Answer, LeadQuestion, LeadSettings
from concierge.reasoning import signals
from concierge.reasoning.orderref import order_reference

TOOL = "qualify_lead"
FLOW = "lead"
# The flow a question asked in the middle of the questions is answered with: none of its own, and no new lead.
ASIDE = {"aside": FLOW}
# What the rules read as a request of another kind: it is made, and the questions are left.
OTHER_REQUESTS = frozenset(
    {"return", "exchange", "cancel", "address", "remove_item", "track", "password", "appointment", "human"}
)
LEAVE = re.compile(
    r"\b(?:never ?mind|forget (?:it|that|about it)|not interested|no thanks|no thank you|stop asking|skip (?:it|this)"
    r"|leave it)\b",
    re.IGNORECASE,
)

# The question that ends an answer gives way to the question waiting.
ANYTHING_ELSE = re.compile(r"\s*(?:Is there a|A)nything else(?: I can help with)?\?\s*$")


# What makes a message naming the business line a request for it ("can we get a quote?", "we'd like a demo", "do you
# do bulk orders?", "how do I open a business account?"), not a question about it ("is there a minimum for a
# quote?", "what is Kestrel for Business?"), which the help center answers. A message of a few words is a request.
REQUEST_CUE = re.compile(
    r"\b(?:can|could|may|would|will)\s+(?:we|i|you|u)\b|\b(?:i|we)(?:'d|’d|\s+would)\s+(?:like|love)\b"
    r"|\b(?:want|wants|need|needs|looking for|interested in|please|pls)\b"
    r"|\bdo you (?:do|offer|have|sell|provide|take|run)\b"
    r"|\bhow (?:do|can|would) (?:i|we) (?:get|open|request|book|arrange|apply|sign up|set up|start)\b"
    r"|^\s*(?:request|book|arrange|open|set up|sign (?:me|us) up|apply)\b",
    re.IGNORECASE,
)
SHORT_REQUEST_WORDS = 4


def _asks_for_it(text: str) -> bool:
    return bool(REQUEST_CUE.search(text)) or len(re.findall(r"[\w'’-]+", text)) <= SHORT_REQUEST_WORDS


def _other_request(text: str) -> bool:
    return order_reference(text) is not None or signals.classify(text)[0] in OTHER_REQUESTS


def _noted(settings: LeadSettings, given: dict[str, Answer]) -> str:
    """ "Noted: 40 devices, within a month." for answers given before their question was asked."""
    said = []
    for question in settings.questions:
        if question.id in given:
            value = given[question.id]
            said.append(f"{value} {question.unit}" if question.kind == "number" else str(value))
    return f"Noted: {', '.join(said)}." if said else ""


def _again(question: LeadQuestion) -> str:
    """The question asked a second time, saying what kind of answer it takes."""
    if question.kind == "number":
        return f"Sorry, I need a number of {question.unit} for this one. {question.ask}"
    if question.kind == "choice":
        labels = [o.label for o in question.choices]
        listing = ", ".join(labels[:-1]) + f" or {labels[-1]}"
        return f"Sorry, I didn't catch which one. {question.ask} ({listing})"
    return f"Sorry, I didn't catch that. {question.ask} A yes or no is fine."


def _ask_next(settings: LeadSettings, flow: dict[str, Any], preface: str = "") -> Decision:
    """The next question not answered, or `qualify_lead` once every one is."""
    given: dict[str, Answer] = flow.get("answers") or {}
    waiting = [q for q in settings.questions if q.id not in given]
    if not waiting:
        arguments: dict[str, Any] = {"answers": given}
        if flow.get("request"):
            arguments["request"] = flow["request"]
        return Decision(
            next="actions", tool_calls=[ToolCall(id=f"{TOOL}-1", tool=TOOL, arguments=arguments)], flow=flow
        )
    question = waiting[0]
    return Decision(
        next="reply",
        reply=f"{preface} {question.ask}".strip(),
        flow={**flow, "asking": question.id, "missed": 0},
    )


def _outcome(turn: ReadyTurn) -> Decision:
    done = turn.results_for(TOOL)[-1]
    if done.status is ActionStatus.EXECUTED and done.result.get("message"):
        return Decision(next="reply", reply=str(done.result["message"]), flow={}, resolved=True)
    if done.reason in ("no_lead_flow", "identity_unverified"):
        return Decision(next="reply", reply=str(done.result.get("explanation", "")), flow={})
    return Decision(
        next="reply",
        reply="I'm sorry, I couldn't complete that just now. If you'd like, I can pass this to a member of our team.",
        flow={"name": "offer_handoff", "reason": "a lead could not be recorded"},
    )


def start(settings: LeadSettings, turn: ReadyTurn) -> Decision | None:
    """A new request for the business line, answered at once; None when the message makes none."""
    text = turn.message.text
    phrase = answers.requested(settings, text)
    if phrase is None or not _asks_for_it(text) or _other_request(text):
        return None
    given = answers.early_answers(settings, text)
    preface = " ".join(part for part in (settings.intro, _noted(settings, given)) if part)
    return _ask_next(settings, {"name": FLOW, "request": phrase, "answers": given}, preface)


def go_on(
    settings: LeadSettings, turn: ReadyTurn, flow: dict[str, Any], elsewhere: Callable[[ReadyTurn], Decision]
) -> Decision | None:
    """The customer's answer to the question waiting in `flow`; None when they leave for another request (the
    engine then decides as if no question were waiting)."""
    text = turn.message.text
    question = settings.question(str(flow.get("asking")))
    if question is None:  # merchant.json changed since the question was asked
        return None
    if LEAVE.search(text):
        return Decision(next="reply", reply="No problem, I'll leave it there. Anything else I can help with?", flow={})
    if _other_request(text):
        return None
    value = answers.parse(question, text)
    if value is not None:
        given = {**(flow.get("answers") or {}), **answers.early_answers(settings, text, skip=question.id)}
        return _ask_next(settings, {**flow, "answers": {**given, question.id: value}})
    if "?" in text or signals.classify(text)[0] == "question":
        # answered as if nothing were waiting; the question waits, asked again after the answer (unless the answer
        # starts something of its own, or hands over)
        aside = elsewhere(
            turn.model_copy(update={"conversation": turn.conversation.model_copy(update={"flow": ASIDE})})
        )
        if aside.next != "reply" or aside.handoff is not None or (aside.flow and aside.flow != ASIDE):
            return aside
        body = ANYTHING_ELSE.sub("", aside.reply).rstrip()
        back = f"Back to your {flow['request']}: " if flow.get("request") else ""
        return aside.model_copy(update={"flow": flow, "reply": f"{body}\n\n{back}{question.ask}".strip()})
    if not flow.get("missed"):
        return Decision(next="reply", reply=_again(question), flow={**flow, "missed": 1})
    return Decision(
        next="reply",
        reply="I couldn't work that out, so I'll stop the questions here. If you'd like, I can pass this to a member "
        'of our team: just say "connect me".',
        flow={"name": "offer_handoff", "reason": "the lead questions could not be answered"},
    )


def decide(
    settings: LeadSettings | None,
    turn: ReadyTurn,
    flow: dict[str, Any],
    elsewhere: Callable[[ReadyTurn], Decision],
) -> Decision | None:
    """The lead flow's decision for this turn, or None when it has none (no lead flow in merchant.json, no request
    for it, or the customer left it)."""
    if settings is None:
        return None
    if turn.results_for(TOOL):
        return _outcome(turn)
    if flow.get("name") == FLOW:
        return go_on(settings, turn, flow, elsewhere)
    if flow.get("aside") == FLOW:
        return None
    return start(settings, turn)
