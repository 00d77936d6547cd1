"""Threading across channels: which conversation a message continues.

The rule, in order (docs/memory.md):
1. An email that replies to one we sent (In-Reply-To / References) continues that conversation.
2. An email to our +tagged reply address (support+<conversation id>@…) continues that conversation.
3. Otherwise the customer's most recently active open conversation (on any channel, active within
   THREAD_WINDOW) is continued when the message is on the same topic: it shares a topic term with that
   conversation, it names no topic of its own ("and what is it made of?"), or the conversation has none yet.
   Before topics are compared, an open conversation our team owns (handed off) is continued whatever the
   message is about: the person answering sees everything the customer writes, and the AI stays out of it;
   and so is the latest conversation on the same channel active within SAME_SITTING (a follow-up message).
4. An open conversation on another topic is not continued; the new conversation is linked to it, so the
   agent still sees what was said there.
Rules 1 and 2 apply only when the conversation belongs to the same customer; anything else starts afresh.
A web conversation's id is chosen by the storefront, so for web only rule 4 (linking) applies.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from concierge.channels.inbound import InboundMessage
from concierge.knowledge import STOPWORDS
from concierge.memory.store import MemoryStore

THREAD_WINDOW = timedelta(days=7)
# Messages on the same channel this close together are one sitting: the follow-up continues, whatever its words.
SAME_SITTING = timedelta(minutes=30)
MAX_KEYWORDS = 30
# An order id, a model number or a size with digits says which thing a message is about, whatever its shape.
ID_LIKE = re.compile(r"(?=[a-z]*\d)[a-z0-9]{3,}")
TAG = re.compile(r"^[^+@]+\+([A-Za-z0-9_-]{1,100})@")
# Words every support message shares: they say nothing about the topic.
GENERIC = frozenset(
    [
        "hello",
        "hi",
        "hey",
        "thanks",
        "thank",
        "order",
        "orders",
        "help",
        "question",
        "questions",
        "item",
        "items",
        "still",
        "again",
        "also",
        "really",
        "would",
        "could",
        "could",
        "please",
        "made",
        "make",
        "wear",
        "wearing",
        "size",
        "sizes",
        "sizing",
        "fit",
        "fits",
        "small",
        "large",
        "big",
        "material",
        "return",
        "returns",
        "refund",
        "exchange",
        "email",
        "chat",
        "whatsapp",
        "message",
        "wrote",
        "earlier",
        "today",
        "yesterday",
    ]
)


def topic_terms(text: str) -> list[str]:
    """Content words that say what a message is about (product words, order ids), in order, unique."""
    # Plain lower-casing, not signals.normalize: its typo correction serves intent phrases and would turn
    # product words into common ones ("shell" -> "hello").
    words = re.findall(r"[a-z0-9]+", text.lower())
    seen: dict[str, None] = {}
    for word in words:
        if ID_LIKE.fullmatch(word) or (len(word) >= 4 and word not in STOPWORDS and word not in GENERIC):
            seen.setdefault(word.rstrip("s") if len(word) > 4 else word, None)
    return list(seen)


def merge_keywords(existing: list[str], text: str) -> list[str]:
    merged = dict.fromkeys([*existing, *topic_terms(text)])
    return list(merged)[-MAX_KEYWORDS:]


@dataclass(frozen=True)
class Thread:
    conversation_id: str
    continued: bool
    linked_conversation_id: str | None
    rule: str


def _recent_open(
    memory: MemoryStore, customer_id: str, now: datetime, exclude: str | None = None
) -> list[dict[str, Any]]:
    cutoff = now - THREAD_WINDOW
    entries = [
        e
        for e in memory.open_conversations(customer_id)
        if e["conversation_id"] != exclude and datetime.fromisoformat(e["updated_at"]) >= cutoff
    ]
    return sorted(entries, key=lambda e: e["updated_at"], reverse=True)


def _same_topic(terms: list[str], entry: dict[str, Any]) -> bool:
    return not terms or bool(set(terms) & set(entry.get("keywords", [])))


def choose(message: InboundMessage, customer_id: str, memory: MemoryStore, now: datetime) -> Thread:
    """The conversation an email or WhatsApp message belongs to."""
    for reference in message.references[:5]:
        thread = memory.get_thread(reference)
        if thread and thread["customer_id"] == customer_id:
            return Thread(thread["conversation_id"], True, None, "reply-to-our-email")
    tag = TAG.match(message.recipient or "")
    if tag:
        record = memory.get_conversation(tag.group(1))
        if record and record.customer_id == customer_id:
            return Thread(record.conversation_id, True, None, "tagged-address")
    terms = topic_terms(f"{message.subject or ''} {message.text}")
    open_entries = _recent_open(memory, customer_id, now)
    with_people = next((e for e in open_entries if e.get("status") == "handed_off"), None)
    if with_people is not None:
        return Thread(with_people["conversation_id"], True, None, "with-our-team")
    latest = open_entries[0] if open_entries else None
    if (
        latest
        and latest.get("channel") == message.channel.value
        and now - datetime.fromisoformat(latest["updated_at"]) <= SAME_SITTING
    ):
        return Thread(latest["conversation_id"], True, None, "same-sitting")
    for entry in open_entries:
        if _same_topic(terms, entry):
            return Thread(entry["conversation_id"], True, None, "open-topic")
    new_id = f"{message.channel.value}-{uuid.uuid4().hex[:16]}"
    if open_entries:
        return Thread(new_id, False, open_entries[0]["conversation_id"], "linked-other-topic")
    return Thread(new_id, False, None, "new")


def link_for_web(conversation_id: str, text: str, customer_id: str, memory: MemoryStore, now: datetime) -> str | None:
    """A new web conversation on the topic of an open one elsewhere is linked to it (rule 4 for web)."""
    terms = topic_terms(text)
    if not terms:
        return None
    for entry in _recent_open(memory, customer_id, now, exclude=conversation_id):
        if _same_topic(terms, entry):
            linked: str = entry["conversation_id"]
            return linked
    return None
