"""Survey scoring on the event path: a `conversation.closed` event in, an Auto-CSAT record in memory out."""
from __future__ import annotations

from concierge.events import ConversationClosed
from concierge.memory import MemoryStore
from concierge.surveys.autocsat import AutoCsat, score_conversation


def record_auto_csat(envelope: dict, memory: MemoryStore) -> AutoCsat:
    """`envelope` is the EventBridge event as delivered to SQS. Scoring is a pure function of the event, so a
    redelivered event overwrites the same record with the same score."""
    if envelope.get("detail-type") != ConversationClosed.detail_type:
        raise ValueError(f"unexpected event type {envelope.get('detail-type')!r}")
    event = ConversationClosed.model_validate(envelope["detail"])
    score = score_conversation(event)
    memory.put_score(event.conversation_id, "auto", score.model_dump(mode="json"))
    return score
