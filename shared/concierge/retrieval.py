"""Retrieval for a turn: knowledge passages for the message, and what memory recalls about the customer.

Every read is bounded, whatever the customer's history: one index search (one per request, at most four, when a
message makes several: "where is my order? and do you ship to Canada"); at a conversation's first turn the
profile, the last summaries and the durable facts (three reads with a Limit); later, one page of recent
messages; and, for a conversation linked to an open one elsewhere, that conversation's state (one read).
"""
from __future__ import annotations

import re

from concierge import longterm, signals, threads
from concierge.knowledge.embeddings import embed_query
from concierge.knowledge.port import SearchFilters
from concierge.knowledge.text import terms
from concierge.memory import MemoryStore
from concierge.turn import ActionNote, ActionStatus, MemoryContext, PassageHit, Turn

RECENT_MESSAGES = 10
PASSAGES = 5


QUESTION = re.compile(r"[^.!?\n]*\?")


def search_query(text: str) -> str:
    """The questions of a message, when it asks any: an email's greeting, sign-off and small talk around the
    question only dilute the search ("…made of? Thanks, Alex")."""
    questions = " ".join(q.strip() for q in QUESTION.findall(text) if len(q.split()) >= 2)
    # A question that says little by itself ("What's the process?") needs the message around it.
    return questions if len(terms(questions)) >= 3 else text


MAX_REQUESTS = 3


def search_queries(text: str) -> list[str]:
    """The message's search query, then each of its requests on its own when it makes more than one, so the second
    request is not drowned by the first."""
    first = search_query(text)
    parts = [part for part in signals.requests(text) if terms(part)]
    if len(parts) < 2:
        return [first]
    return list(dict.fromkeys([first, *parts[:MAX_REQUESTS]]))


def retrieve(turn: Turn, memory: MemoryStore, index, embedder, recall_actions: bool = False) -> Turn:
    """`index` is a KnowledgeIndex (None before anything is imported); `embedder` embeds the question.
    `recall_actions` (when a model decides): the conversation's actions, so that the customer's "yes" on a later turn
    can be confirmed by the model with the pending action's id (one more bounded query)."""
    assert turn.customer and turn.message and turn.conversation
    hits: list = []
    if index is not None:
        queries = search_queries(turn.message.text)
        notes = turn.conversation.notes
        if notes:  # "And what is it made of?": the question is about what the conversation was just about.
            queries = [query if threads.topic_terms(query) else f"{query} {notes[-1].topic}" for query in queries]
        filters = SearchFilters(locale=turn.customer.locale)
        found: dict[str, tuple[int, object]] = {}
        for number, query in enumerate(queries):
            for hit in index.search(query, embed_query(embedder, query), k=PASSAGES, filters=filters):
                if hit.passage.id not in found:  # the whole message's own hits keep their rank and come first
                    found[hit.passage.id] = (number, hit)
        hits = list(found.values())
    passages = [
        PassageHit(
            passage_id=hit.passage.id,
            title=hit.passage.title,
            section=hit.passage.section,
            url=hit.passage.url,
            text=hit.passage.text,
            confidence=round(hit.confidence, 4),
            suspicious=hit.passage.suspicious,
            request=number,
        )
        for number, hit in hits
    ]
    conversation = turn.conversation
    if turn.customer.verified and conversation.customer_turns == 1:
        context = longterm.recall(memory, turn.customer.id, turn.conversation_id)
    else:
        context = MemoryContext()
    if conversation.customer_turns > 1:
        context = context.model_copy(update={"recent_messages": memory.recent_messages(turn.conversation_id, RECENT_MESSAGES)})
    if recall_actions and conversation.customer_turns > 1:
        actions = [action_note(item) for item in memory.conversation_actions(turn.conversation_id)]
        context = context.model_copy(update={"actions": [a for a in actions if a is not None]})
    notes = longterm.linked_notes(memory, conversation.linked_conversation_id)
    if notes:
        context = context.model_copy(update={"linked_notes": notes})
    return turn.model_copy(update={"passages": passages, "memory": context})


def action_note(item: dict) -> ActionNote | None:
    """A stored action as the model is told of it (reads and confirmations are not worth its attention)."""
    try:
        status = ActionStatus(item["status"])
    except ValueError:  # "cancelled" by the customer
        return ActionNote(action_id=item["sk"].removeprefix("ACTION#"), tool=item["tool"], status=ActionStatus.DENIED,
                          effect=item.get("effect") or {}, reason="customer_declined")
    if status is ActionStatus.EXECUTED and not item.get("effect"):
        return None
    return ActionNote(action_id=item["sk"].removeprefix("ACTION#"), tool=item["tool"], status=status,
                      effect=item.get("effect") or {}, reason=item.get("reason"))
