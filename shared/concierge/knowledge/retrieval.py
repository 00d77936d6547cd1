"""Retrieval for a turn: knowledge passages for the message, and what memory recalls about the customer.

Every read is bounded, whatever the customer's history: at most five index searches (the message's question, the whole
message when that question points back at it, and one per request, at most three, when a message makes several:
"where is my order? and do you ship to Canada"); at a conversation's first turn the profile (read with the
conversation at receive), the last summaries and the durable facts (two queries with a Limit); later, where a model
decides, one page of recent messages and one of the conversation's actions; and, for a conversation linked to an
open one elsewhere, that conversation's state (one read).
"""

from __future__ import annotations

import re
from typing import Any

from concierge.conversation import threads
from concierge.conversation.turn import ActionNote, ActionStatus, MemoryContext, PassageHit, ReadyTurn
from concierge.knowledge.embeddings import Embedder, embed_queries
from concierge.knowledge.port import Hit, KnowledgeIndex, SearchFilters
from concierge.knowledge.text import query_terms, terms
from concierge.memory import keys, longterm
from concierge.memory.store import MemoryStore
from concierge.reasoning import signals

RECENT_MESSAGES = 10
PASSAGES = 5


SENTENCES = re.compile(r"[^.!?\n]+[.!?]*")
# A clause that asks, with or without a question mark ("do you ship to Canada, my sister lives in Toronto").
ASKS = re.compile(
    r"(how|what|when|where|why|which|who|can|could|do|does|did|is|are|will|would|should)\b(?!['’])", re.IGNORECASE
)  # not "can't find it", "don't"
# ...and, in a sentence that ends with one, a clause that asks a conditional
# ("if he doesn't like it, can it come back?").
ASKS_IF = re.compile(r"(if|any)\b", re.IGNORECASE)
CLAUSES = re.compile(r"[,;:]\s+|\s+(?:but|because|since)\s+")
LEAD = re.compile(r"^((and|also|so|oh|ok|okay|plus|then|hi|hello|hey|thanks)\b[\s,]*)+", re.IGNORECASE)


def search_query(text: str) -> str:
    """What the message asks: its questions and the clauses that ask, when it has any. An email's greeting, sign-off
    and small talk around a question only dilute the search ("…made of? Thanks, Alex"), and so does a side story in
    the same sentence ("we need 40 mugs for the office, is there a discount for that many?")."""
    query = " ".join(asked_questions(text))
    return query if len(query_terms(query)) >= 2 else text


def asked_questions(text: str) -> list[str]:
    """Each question of a message, as the clauses of its sentence that ask."""
    asked = []
    for sentence in (s.strip() for s in SENTENCES.findall(text)):
        if len(sentence.split()) < 2:
            continue
        question = sentence.endswith("?")
        clauses = [
            c
            for c in (LEAD.sub("", c) for c in CLAUSES.split(sentence))
            if ASKS.match(c) or (question and ASKS_IF.match(c))
        ]
        if clauses or question:
            asked.append(" ".join(clauses) or sentence)
    return asked


MAX_REQUESTS = 3
# A request that points back at what the message named before it ("what temperature can the Dutch oven take, and can
# it go in the dishwasher?"), or a question that points at the sentence before it ("I bought the mouse in August. Is
# that covered?").
POINTS_BACK = re.compile(r"\b(it|its|they|them|this|that|these|those)\b", re.IGNORECASE)


def search_queries(text: str) -> list[tuple[int, str]]:
    """What to search for, each with the request it serves: 0 for the message as a whole (its questions, and the
    whole message too when a question points back at the words around it), then each of its requests on its own
    when it makes more than one, so the second request is not drowned by the first."""
    first = search_query(text)
    queries = [(0, first)]
    # A question that says little by itself ("What's the process?") or points back needs the message around it too.
    if first != text and (POINTS_BACK.search(first) or len(query_terms(first)) < 3):
        queries.append((0, text))
    parts = [part for part in signals.requests(text) if terms(part)]
    if len(parts) < 2:  # two questions in two sentences: "will you deliver there? And while I'm here, how long…?"
        parts = [q for q in asked_questions(text) if query_terms(q)]
    if len(parts) < 2:
        return queries
    seen = {first}
    for number, part in enumerate(parts[:MAX_REQUESTS], start=1):
        part = search_query(part)
        if number > 1 and POINTS_BACK.search(part):
            named = [word for word in threads.topic_terms(parts[number - 2]) if word not in threads.topic_terms(part)]
            part = f"{part} {' '.join(named)}".strip()
        if part not in seen:
            seen.add(part)
            queries.append((number, part))
    return queries


def search(
    index: KnowledgeIndex,
    embedder: Embedder,
    text: str,
    filters: SearchFilters | None = None,
    k: int = PASSAGES,
    topic: str | None = None,
) -> list[tuple[int, Hit]]:
    """The passages for a message, most confident first, each with the request it answers best (0: the message as
    a whole; the engine prefers those). A passage found by several searches keeps the best confidence any of them
    gave it, and the request of that search. `topic`: what the conversation was just about, for a question that does
    not say ("And what is it made of?")."""
    queries = search_queries(text)
    if topic:
        queries = [(number, query if threads.topic_terms(query) else f"{query} {topic}") for number, query in queries]
    found: dict[str, tuple[int, Hit]] = {}
    vectors = embed_queries(embedder, [query for _, query in queries])  # together: one forward pass for MiniLM
    for (number, query), vector in zip(queries, vectors, strict=True):
        for hit in index.search(query, vector, k=k, filters=filters):
            known = found.get(hit.passage.id)
            if known is None or hit.confidence > known[1].confidence:
                found[hit.passage.id] = (number, hit)
    return sorted(found.values(), key=lambda entry: -entry[1].confidence)


def retrieve(
    turn: ReadyTurn, memory: MemoryStore, index: KnowledgeIndex | None, embedder: Embedder, recall_actions: bool = False
) -> ReadyTurn:
    """`index` is a KnowledgeIndex (None before anything is imported); `embedder` embeds the question.
    `recall_actions` (when a model decides): the conversation's recent messages, which the model is sent, and its
    actions, so that the customer's "yes" on a later turn can be confirmed by the model with the pending action's id
    (two bounded queries the deterministic engine does not need: it keeps its dialogue state in the conversation's
    `flow`). At a conversation's first message, the customer's profile comes with the turn when receive read it."""
    hits: list[tuple[int, Hit]] = []
    if index is not None:
        notes = turn.conversation.notes
        hits = search(
            index,
            embedder,
            turn.message.text,
            SearchFilters(locale=turn.customer.locale),
            topic=notes[-1].topic if notes else None,
        )
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
        profile = turn.profile.profile if turn.profile is not None else memory.get_profile(turn.customer.id)
        context = longterm.recall(memory, turn.customer.id, turn.conversation_id, profile)
    else:
        context = MemoryContext()
    # the messages before this one: earlier turns, or the message the shop opened the conversation with (a journey's,
    # whose proposals the customer is answering)
    earlier = conversation.customer_turns > 1 or conversation.opened_by_us
    if recall_actions and earlier:
        context = context.model_copy(
            update={"recent_messages": memory.recent_messages(turn.conversation_id, RECENT_MESSAGES)}
        )
    if recall_actions and earlier:
        actions = [action_note(item) for item in memory.conversation_actions(turn.conversation_id)]
        context = context.model_copy(update={"actions": [a for a in actions if a is not None]})
    notes = longterm.linked_notes(memory, conversation.linked_conversation_id)
    if notes:
        context = context.model_copy(update={"linked_notes": notes})
    return turn.model_copy(update={"passages": passages, "memory": context})


def action_note(item: dict[str, Any]) -> ActionNote | None:
    """A stored action as the model is told of it (reads and confirmations are not worth its attention)."""
    try:
        status = ActionStatus(item["status"])
    except ValueError:  # "cancelled" by the customer
        return ActionNote(
            action_id=keys.action_id_of(item["sk"]),
            tool=item["tool"],
            status=ActionStatus.DENIED,
            effect=item.get("effect") or {},
            reason="customer_declined",
        )
    if status is ActionStatus.EXECUTED and not item.get("effect"):
        return None
    return ActionNote(
        action_id=keys.action_id_of(item["sk"]),
        tool=item["tool"],
        status=status,
        effect=item.get("effect") or {},
        reason=item.get("reason"),
    )
