"""Who wrote a channel message: identity resolution that never merges two people by accident.

Rules (docs/memory.md):
- A channel address is linked to a customer only when the channel proved the sender owns it: inbound email
  with SPF or DKIM passing for the From domain (SES receipt verdicts, DMARC-aligned), a WhatsApp number from a
  signed webhook. The storefront's signed customer id is the web equivalent.
- A verified address already linked resolves to its customer. A verified address that matches the email or
  phone a customer has on file is linked to that customer (audited). A verified address nobody has on file
  becomes a guest customer of its own.
- An unverified sender is never linked and never resolved to a customer, even when the address matches one
  on file: it gets a pseudonymous id of its own, which owns no orders, so it can see nothing of anyone's.
- Merges and unmerges are explicit operator actions with an audit trail (concierge.memory.privacy).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from concierge.channels.inbound import InboundMessage
from concierge.memory.store import Identity, MemoryStore
from concierge.store.commerce import CommerceBackend

GUEST_PREFIX = "guest-"
UNVERIFIED_PREFIX = "unverified-"


def _pseudonym(prefix: str, message: InboundMessage) -> str:
    digest = hashlib.sha256(f"{message.channel.value}:{message.sender}".encode()).hexdigest()[:20]
    return f"{prefix}{digest}"


@dataclass(frozen=True)
class Resolution:
    customer_id: str
    verified: bool
    first_name: str
    how: str  # "linked" | "linked-now" | "guest" | "unverified"


def resolve(message: InboundMessage, memory: MemoryStore, store: CommerceBackend, now: datetime) -> Resolution:
    fallback_name = (message.sender_name or "").split()[0] if message.sender_name else "there"
    if not message.verified:
        return Resolution(_pseudonym(UNVERIFIED_PREFIX, message), False, fallback_name, "unverified")
    identity = memory.get_identity(message.channel, message.sender)
    if identity is not None:
        customer = store.get_customer(identity.customer_id)
        return Resolution(identity.customer_id, True, customer.first_name if customer else fallback_name, "linked")
    customer = store.find_customer_by_contact(message.channel.value, message.sender)
    customer_id = customer.id if customer else _pseudonym(GUEST_PREFIX, message)
    identity = Identity(
        channel=message.channel,
        address=message.sender,
        customer_id=customer_id,
        verified_by=message.verified_by or "unknown",
        linked_at=now,
    )
    memory.save_identity(
        identity,
        "identity.linked",
        {
            "channel": message.channel.value,
            "address": message.sender,
            "verified_by": identity.verified_by,
            "matched": "contact on file" if customer else "new guest",
        },
    )
    return Resolution(
        customer_id, True, customer.first_name if customer else fallback_name, "linked-now" if customer else "guest"
    )
