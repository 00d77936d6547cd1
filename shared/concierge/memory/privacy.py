"""Customer data rights and identity administration: export, erasure, consent, merge and unmerge.

Erasure removes everything Concierge holds about a customer: their partition (profile, facts, summaries,
identities, audit, conversation index), every conversation's items (messages, turns, actions, handoffs,
scores), the channel lookups pointing at them (identity, thread and inbox entries), copies a merge made
elsewhere, and the mail objects (raw emails, attachments). Orders stay in the merchant's commerce system,
which keeps them under its own legal obligations. So do the gift cards they held, which are the merchant's financial
records and stay spendable by whoever has the code: each is kept with its balance, no longer linked to the customer
(docs/account.md).

Merges are explicit operator actions: the source's verified identities are re-pointed to the target and its
summaries, facts and conversation index are copied with `origin_customer_id`, so that an unmerge removes
exactly what the merge added and gives the identities back. Both sides get an audit entry.

This module holds the rules, the errors and the receipts; the memory store reads the partitions, builds every item
and writes them (`MemoryStore.erasure`, `merge_customers`, `unmerge_customers`, `audit`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from concierge.memory import keys
from concierge.memory.store import AlreadyMerged, MemoryStore, NotMerged, Profile, records_owner
from concierge.platform.errors import BadRequest, Conflict, NotFound
from concierge.platform.events import CustomerErased, EventPublisher
from concierge.store.commerce import CommerceBackend

if TYPE_CHECKING:
    from concierge.store.merchant import MerchantProfile

# What the data-rights operations refuse with (the HTTP routes document them from here).
NO_DATA = "No data is held about this customer."
MERGE_INTO_ITSELF = "A customer cannot be merged into itself."
BOTH_MUST_EXIST = "Both customers must exist."
ALREADY_MERGED = "Customer {source_customer_id} is already merged; unmerge it first."
NOT_MERGED = "Customer {source_customer_id} is not merged into {customer_id}."


class Preferences(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # JSON booleans only: "yes", 1 or "false" are refused rather than guessed at, for a consent.
    personalization: bool = Field(
        strict=True,
        description="recall personal details (sizes, past conversations) in later conversations, and recommend "
        "products from what they viewed and bought",
    )
    surveys: bool | None = Field(
        None, strict=True, description="be asked satisfaction surveys after a conversation (omitted: unchanged)"
    )


class MergeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source_customer_id: str = Field(min_length=1, max_length=200)
    reason: str = Field(min_length=3, max_length=500, description="why the operator believes these are one person")


# --- what the data-rights operations answer (the HTTP routes' response bodies) --------------------------------


class ErasureReceipt(BaseModel):
    """Counts only: an erasure receipt holds no personal data."""

    erased: Literal[True]
    items_deleted: int = Field(description="records deleted from the tables")
    objects_deleted: int = Field(description="mail objects (raw emails, attachments) deleted")


class PreferencesOut(BaseModel):
    """The consent in force after `Preferences` was applied."""

    customer_id: str
    personalization: bool = Field(description="the consent now in force")
    surveys: bool = Field(description="whether satisfaction surveys are offered after a conversation")


class MergeReceipt(BaseModel):
    target_customer_id: str
    source_customer_id: str
    identities_moved: int = Field(description="verified channel addresses re-pointed to the target")
    items_copied: int = Field(description="facts, summaries and conversation entries copied to the target")


class UnmergeReceipt(BaseModel):
    target_customer_id: str
    source_customer_id: str
    identities_restored: int = Field(description="verified channel addresses given back to the source")


class ConversationExport(BaseModel):
    conversation_id: str
    state: dict[str, Any] | None
    messages: list[dict[str, Any]]
    actions: list[dict[str, Any]]
    handoffs: list[dict[str, Any]]
    scores: list[dict[str, Any]]


class CommerceExport(BaseModel):
    """What the merchant's commerce system holds (it keeps orders under its own obligations; erasure leaves them)."""

    customer: dict[str, Any] | None
    orders: list[dict[str, Any]]
    gift_cards: list[dict[str, Any]] = Field(
        default_factory=list,
        description="the gift cards they hold: the last 4 characters of each code (never the whole code), the "
        "balance, currency and dates; erasure keeps each card with its balance, unlinked from them",
    )


class CustomerExport(BaseModel):
    """Everything held about the customer (see docs/memory.md, Privacy rights). Records are as stored."""

    customer_id: str
    exported_at: str = Field(description="ISO 8601 timestamp")
    profile: dict[str, Any] | None
    identities: list[dict[str, Any]]
    facts: list[dict[str, Any]]
    summaries: list[dict[str, Any]]
    audit: list[dict[str, Any]]
    signals: list[dict[str, Any]] = Field(
        default_factory=list, description="what the storefront reported that a journey reads later"
    )
    activity: list[dict[str, Any]] = Field(default_factory=list, description="sign-ins and feature use per day")
    subscriptions: list[dict[str, Any]] = Field(
        default_factory=list, description="the plans they have or had, as the storefront's signals said"
    )
    leads: list[dict[str, Any]] = Field(
        default_factory=list,
        description="business, demo or quote requests qualified in their conversations: the answers to the shop's "
        "questions, the outcome and the link given",
    )
    product_views: list[dict[str, Any]] = Field(
        default_factory=list, description="the product pages they viewed that are kept, newest first (recommendations)"
    )
    recommendation_signals: list[dict[str, Any]] = Field(
        default_factory=list,
        description="what drives their recommendations: each view, purchase and return read, and what it does",
    )
    conversations: list[ConversationExport]
    commerce: CommerceExport


class ObjectStore(Protocol):
    """What erasure needs of the S3 client (boto3's): deleting the mail objects in batches."""

    def delete_objects(self, *, Bucket: str, Delete: dict[str, Any]) -> object: ...


@dataclass
class PrivacyServices:
    memory: MemoryStore
    store: CommerceBackend
    events: EventPublisher
    s3: ObjectStore | None = None
    mail_bucket: str | None = None


def _known(customer_id: str, services: PrivacyServices) -> bool:
    return bool(services.store.get_customer(customer_id) or services.memory.customer_partition(customer_id))


def _strip(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in ("pk", "expires_at")}


def export(
    customer_id: str, services: PrivacyServices, now: datetime, merchant: MerchantProfile | None = None
) -> CustomerExport:
    """Everything held about a customer (`merchant`: what its recommendations leave out, to say which signals drive
    them)."""
    from concierge.catalogue.recommend import signal_uses

    memory = services.memory
    items = memory.customer_partition(customer_id)
    if not items and services.store.get_customer(customer_id) is None:
        raise NotFound(NO_DATA)

    def of(prefix: str) -> list[dict[str, Any]]:
        return [_strip(i) for i in items if i["sk"].startswith(prefix)]

    conversations = []
    for entry in of(keys.CONVERSATION):
        records = memory.conversation_partition(entry["conversation_id"])
        if not records or records_owner(records) not in (customer_id, entry.get("origin_customer_id")):
            continue
        conversations.append(
            ConversationExport(
                conversation_id=entry["conversation_id"],
                state=next((_strip(r) for r in records if r["sk"] == keys.META), None),
                messages=[_strip(r) for r in records if r["sk"].startswith(keys.MESSAGE)],
                actions=[_strip(r) for r in records if r["sk"].startswith(keys.ACTION)],
                handoffs=[_strip(r) for r in records if r["sk"].startswith(keys.HANDOFF)],
                scores=[_strip(r) for r in records if r["sk"].startswith(keys.SCORE)],
            )
        )
    customer = services.store.get_customer(customer_id)
    orders = services.store.recent_orders(customer_id, 100)
    cards = services.store.gift_cards(customer_id)
    return CustomerExport(
        customer_id=customer_id,
        exported_at=now.isoformat(),
        profile=next(iter(of(keys.PROFILE)), None),
        identities=of(keys.IDENT),
        facts=of(keys.FACT),
        summaries=of(keys.SUMMARY),
        audit=of(keys.AUDIT),
        signals=of(keys.SIGNAL),
        activity=of(keys.ACTIVITY),
        subscriptions=of(keys.PLAN),
        leads=of(keys.LEAD),
        product_views=[view for item in of(keys.VIEWS) for view in item.get("views") or []],
        recommendation_signals=[
            use.model_dump(mode="json") for use in signal_uses(customer_id, memory, services.store, merchant, now)
        ],
        conversations=conversations,
        commerce=CommerceExport(
            customer=customer.model_dump(mode="json") if customer else None,
            orders=[o.model_dump(mode="json") for o in orders],
            gift_cards=[
                {"card": c.masked, **c.model_dump(mode="json", exclude={"code", "customer_id"})} for c in cards
            ],
        ),
    )


def erase(customer_id: str, services: PrivacyServices, now: datetime, requested_by: str = "customer") -> ErasureReceipt:
    """Delete everything held about a customer; returns counts (no personal data). `customer.erased` records who
    asked, since the customer's own audit trail goes with the rest."""
    memory = services.memory
    erasure = memory.erasure(customer_id)
    if not erasure.held and services.store.get_customer(customer_id) is None:
        raise NotFound(NO_DATA)
    deleted = memory.erase(erasure)
    services.store.unlink_gift_cards(customer_id)  # kept with their balances, the merchant's records: no longer theirs
    objects = erasure.objects
    if objects and services.s3 is not None and services.mail_bucket:
        for start in range(0, len(objects), 1000):
            batch = objects[start : start + 1000]
            services.s3.delete_objects(
                Bucket=services.mail_bucket, Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True}
            )
    customer_hash = hashlib.sha256(customer_id.encode()).hexdigest()
    services.events.publish(
        CustomerErased(
            occurred_at=now,
            customer_hash=customer_hash,
            items_deleted=deleted,
            objects_deleted=len(objects),
            requested_by=requested_by,
        )
    )
    return ErasureReceipt(erased=True, items_deleted=deleted, objects_deleted=len(objects))


def set_preferences(customer_id: str, preferences: Preferences, services: PrivacyServices) -> PreferencesOut:
    """Consent. Opting out of personalization also forgets the durable facts, summaries and product views held."""
    memory = services.memory
    profile = memory.get_profile(customer_id) or Profile(customer_id=customer_id)
    profile = profile.model_copy(update={"personalization": preferences.personalization})
    if preferences.surveys is not None:
        profile = profile.model_copy(update={"surveys": preferences.surveys})
    if not preferences.personalization:
        profile = profile.model_copy(update={"last_summary": None})
        memory.forget_facts_and_summaries(customer_id)
        from concierge.catalogue.views import ViewStore

        ViewStore(memory).clear(customer_id)  # the product views recommendations read (catalogue/views.py)
    memory.put_profile(profile)
    memory.audit(customer_id, "preferences.updated", preferences.model_dump())
    return PreferencesOut(customer_id=customer_id, personalization=profile.personalization, surveys=profile.surveys)


def merge(target_id: str, request: MergeRequest, operator: str, services: PrivacyServices) -> MergeReceipt:
    source_id = request.source_customer_id
    if source_id == target_id:
        raise BadRequest(MERGE_INTO_ITSELF)
    if not _known(target_id, services) or not _known(source_id, services):
        raise NotFound(BOTH_MUST_EXIST)
    try:
        merged = services.memory.merge_customers(source_id, target_id, operator, request.reason)
    except AlreadyMerged:
        raise Conflict(ALREADY_MERGED.format(source_customer_id=source_id)) from None
    return MergeReceipt(
        target_customer_id=target_id,
        source_customer_id=source_id,
        identities_moved=len(merged.identities),
        items_copied=merged.copied,
    )


def unmerge(target_id: str, source_id: str, operator: str, services: PrivacyServices) -> UnmergeReceipt:
    try:
        unmerged = services.memory.unmerge_customers(source_id, target_id, operator)
    except NotMerged:
        raise NotFound(NOT_MERGED.format(source_customer_id=source_id, customer_id=target_id)) from None
    return UnmergeReceipt(
        target_customer_id=target_id, source_customer_id=source_id, identities_restored=len(unmerged.identities)
    )
