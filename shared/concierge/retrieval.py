"""Retrieval for a turn: knowledge passages for the message, and what memory recalls about the customer.

Both reads are bounded: one index search, one profile read and one page of recent messages.
"""
from __future__ import annotations

from concierge.memory import MemoryStore
from concierge.turn import MemoryContext, PassageHit, Turn

RECENT_MESSAGES = 10
PASSAGES = 5


def retrieve(turn: Turn, memory: MemoryStore, index) -> Turn:
    assert turn.customer and turn.message and turn.conversation
    hits = index.search(turn.message.text, k=PASSAGES) if index is not None else []
    passages = [
        PassageHit(
            passage_id=hit.passage.id,
            title=hit.passage.title,
            section=hit.passage.section,
            url=hit.passage.url,
            text=hit.passage.text,
            confidence=round(hit.confidence, 4),
        )
        for hit in hits
    ]
    context = MemoryContext()
    if turn.conversation.customer_turns == 1:
        profile = memory.get_profile(turn.customer.id)
        if profile and profile.last_summary and profile.last_conversation_id != turn.conversation_id:
            context = MemoryContext(
                returning=True, last_summary=profile.last_summary, last_conversation_at=profile.last_closed_at
            )
    else:
        context = MemoryContext(recent_messages=memory.recent_messages(turn.conversation_id, RECENT_MESSAGES))
    return turn.model_copy(update={"passages": passages, "memory": context})
