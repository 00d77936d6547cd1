"""Long-term memory: what is written when things happen and a conversation closes, and what is recalled later.

Written (deterministic extraction; the same `Fact` and `Summary` shapes a model-written memory would use):
- facts as they arise: a parcel running late is an open issue (cleared when it is delivered), an exchange
  records the size that fits, a product question records an interest, a handoff records an open matter;
- at close, a one-paragraph summary of the conversation.
Recalled at the first turn of a later conversation, within a token budget, and only with consent: a customer
who opted out of personalization gets nothing personal recalled (the current conversation still works).
"""

from __future__ import annotations

from datetime import datetime

from concierge.conversation.turn import ActionResult, ActionStatus, MemoryContext, Note, Profile
from concierge.memory.store import ConversationRecord, Fact, MemoryStore, Summary

# About 4 characters per token in English: a budget that keeps recalled memory a small part of any prompt.
MEMORY_TOKEN_BUDGET = 400
CHARS_PER_TOKEN = 4


def _day(iso: str) -> str:
    moment = datetime.fromisoformat(iso)
    return f"{moment.strftime('%A')} {moment.day} {moment.strftime('%B')}"


def facts_from(
    results: list[ActionResult], notes: list[Note], record: ConversationRecord, now: datetime
) -> tuple[list[Fact], list[str]]:
    """Facts to upsert and fact keys to remove, from what this turn did and answered: one entry per key, the turn's
    last word on it (they are written in one transaction, which refuses two operations on one item)."""
    latest: dict[str, Fact | None] = {}  # key -> the fact to write, or None to remove it

    def fact(key: str, kind: str, text: str) -> None:
        latest.pop(key, None)  # keeps the order of the last word
        latest[key] = Fact(key=key, kind=kind, text=text, conversation_id=record.conversation_id, updated_at=now)

    def remove(key: str) -> None:
        latest.pop(key, None)
        latest[key] = None

    for result in results:
        r = result.result
        if result.status is not ActionStatus.EXECUTED:
            continue
        if result.tool == "track_shipment" and "order_id" in r:
            key = f"open_issue:{r['order_id']}"
            due = r.get("estimated_delivery")
            if r.get("status") == "shipped" and due and datetime.fromisoformat(due) < now:
                items = ", ".join(r.get("items", [])[:2])
                what = f" ({items})" if items else ""
                fact(
                    key, "open_issue", f"your order {r['order_id']}{what} was running late — it was due on {_day(due)}"
                )
            elif r.get("status") in ("delivered", "cancelled"):
                remove(key)
        elif result.tool == "return_items" and r.get("resolution") == "exchange" and r.get("exchange_item"):
            fact(
                f"size:{r.get('product_id', r['exchange_item'])}", "size", f"you exchanged for the {r['exchange_item']}"
            )
        elif result.tool == "create_handoff":
            fact(
                f"open_issue:handoff:{record.conversation_id}",
                "open_issue",
                "a member of our team was looking into your question",
            )
    for note in notes:
        fact(
            f"interest:{note.topic.lower()}",
            "interest",
            f"you asked about the {note.topic}" + (f" ({note.aspect.lower()})" if note.aspect else ""),
        )
    upserts = [f for f in latest.values() if f is not None]
    return upserts, [key for key, f in latest.items() if f is None]


def summary_of(record: ConversationRecord, now: datetime) -> Summary:
    if record.facts:
        text = " ".join(record.facts[-2:])
    elif record.notes:
        text = f"you asked about the {record.notes[-1].topic}."
    else:
        text = "we chatted about " + (record.intents[0] if record.intents else "your question") + "."
    return Summary(
        conversation_id=record.conversation_id,
        closed_at=now,
        channel=record.channel,
        text=text,
        intents=record.intents[:10],
    )


def estimate_tokens(*texts: str) -> int:
    return sum(len(t) for t in texts) // CHARS_PER_TOKEN + 1


def recall(
    memory: MemoryStore,
    customer_id: str,
    conversation_id: str,
    profile: Profile | None,
    budget: int = MEMORY_TOKEN_BUDGET,
) -> MemoryContext:
    """The returning customer's context from their `profile` (as read), last summaries and durable facts: two
    queries, bounded size; none for a customer with no profile, of whom nothing was remembered."""
    if profile is None:  # nothing was ever remembered: summaries and facts are written with a profile
        return MemoryContext()
    if not profile.personalization:
        return MemoryContext(personalization=False)
    summaries = [s for s in memory.summaries(customer_id) if s.conversation_id != conversation_id]
    facts = memory.facts(customer_id)
    open_issues = [
        f.text
        for f in sorted(facts, key=lambda f: f.updated_at, reverse=True)
        if f.kind == "open_issue" and f.conversation_id != conversation_id
    ]
    other = [f.text for f in sorted(facts, key=lambda f: f.updated_at, reverse=True) if f.kind != "open_issue"]
    kept: dict[str, list[str]] = {"open_issues": [], "summaries": [], "facts": []}
    used = 0
    # Priority inside the budget: open issues first (what matters from last time), then summaries, then facts.
    for field, texts in (("open_issues", open_issues), ("summaries", [s.text for s in summaries]), ("facts", other)):
        for text in texts:
            cost = estimate_tokens(text)
            if used + cost > budget:
                break
            kept[field].append(text)
            used += cost
    last = summaries[0] if summaries else None
    return MemoryContext(
        returning=bool(last or kept["open_issues"]),
        last_summary=last.text if last else None,
        last_conversation_at=last.closed_at if last else None,
        summaries=kept["summaries"],
        open_issues=kept["open_issues"],
        facts=kept["facts"],
        tokens=used,
    )


def linked_notes(memory: MemoryStore, linked_conversation_id: str | None) -> list[Note]:
    if not linked_conversation_id:
        return []
    linked = memory.get_conversation(linked_conversation_id)
    return list(linked.notes[-3:]) if linked else []
