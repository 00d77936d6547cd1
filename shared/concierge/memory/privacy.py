"""Customer data rights and identity administration: export, erasure, consent, merge and unmerge.

Erasure removes everything Concierge holds about a customer: their partition (profile, facts, summaries,
identities, audit, conversation index), every conversation's items (messages, turns, actions, handoffs,
scores), the channel lookups pointing at them (identity, thread and inbox entries), copies a merge made
elsewhere, and the mail objects (raw emails, attachments). Orders stay in the merchant's commerce system,
which keeps them under its own legal obligations.

Merges are explicit operator actions: the source's verified identities are re-pointed to the target and its
summaries, facts and conversation index are copied with `origin_customer_id`, so that an unmerge removes
exactly what the merge added and gives the identities back. Both sides get an audit entry.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from concierge.memory import keys
from concierge.memory.storage import Delete, Operation, Put
from concierge.memory.store import MemoryStore, Profile
from concierge.platform.errors import BadRequest, Conflict, NotFound
from concierge.platform.events import CustomerErased, EventPublisher
from concierge.store.commerce import CommerceBackend

COPIED_ON_MERGE = (keys.FACT, keys.SUMMARY, keys.CONVERSATION)

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
        strict=True, description="recall personal details (sizes, past conversations) in later conversations"
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


class CustomerExport(BaseModel):
    """Everything held about the customer (see docs/memory.md, Privacy rights). Records are as stored."""

    customer_id: str
    exported_at: str = Field(description="ISO 8601 timestamp")
    profile: dict[str, Any] | None
    identities: list[dict[str, Any]]
    facts: list[dict[str, Any]]
    summaries: list[dict[str, Any]]
    audit: list[dict[str, Any]]
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


def export(customer_id: str, services: PrivacyServices, now: datetime) -> CustomerExport:
    """Everything held about a customer."""
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
    return CustomerExport(
        customer_id=customer_id,
        exported_at=now.isoformat(),
        profile=next(iter(of(keys.PROFILE)), None),
        identities=of(keys.IDENT),
        facts=of(keys.FACT),
        summaries=of(keys.SUMMARY),
        audit=of(keys.AUDIT),
        conversations=conversations,
        commerce=CommerceExport(
            customer=customer.model_dump(mode="json") if customer else None,
            orders=[o.model_dump(mode="json") for o in orders],
        ),
    )


def records_owner(records: list[dict[str, Any]]) -> str | None:
    return next((r.get("customer_id") for r in records if r["sk"] == keys.META), None)


def erase(customer_id: str, services: PrivacyServices, now: datetime, requested_by: str = "customer") -> ErasureReceipt:
    """Delete everything held about a customer; returns counts (no personal data). `customer.erased` records who
    asked, since the customer's own audit trail goes with the rest."""
    memory = services.memory
    items = memory.customer_partition(customer_id)
    if not items and services.store.get_customer(customer_id) is None:
        raise NotFound(NO_DATA)
    doomed: set[tuple[str, str]] = {(i["pk"], i["sk"]) for i in items}
    objects: set[str] = set()
    for item in items:
        doomed |= {(pk, sk) for pk, sk in item.get("erase_also") or []}  # e.g. an offer's lift unit (offers/ledger.py)
        if item["sk"].startswith(keys.IDENT):
            doomed.add((keys.identity_pk(item["channel"], item["address"]), keys.IDENTITY))
        if item["sk"] == keys.MERGED_INTO:  # copies this customer's data made in the customer it was merged into
            doomed |= {
                (c["pk"], c["sk"])
                for c in memory.customer_partition(item["target_customer_id"])
                if c.get("origin_customer_id") == customer_id
            }
    for entry in (i for i in items if i["sk"].startswith(keys.CONVERSATION)):
        records = memory.conversation_partition(entry["conversation_id"])
        if records_owner(records) != customer_id:
            continue  # a merged copy's conversation still belongs to its origin customer
        for record in records:
            doomed.add((record["pk"], record["sk"]))
            if record.get("provider_message_id"):
                inbox_key = (keys.inbox_pk(record["channel"], record["provider_message_id"]), keys.RECEIVED)
                marker = memory.partition(inbox_key[0])
                doomed |= {(m["pk"], m["sk"]) for m in marker}
                doomed |= {(keys.thread_pk(m["provider_id"]), keys.THREAD) for m in marker if m.get("provider_id")}
            doomed |= {(pk, sk) for pk, sk in record.get("erase_also") or []}  # e.g. a KPI low-score entry
            objects |= {a["s3_key"] for a in record.get("attachments") or []}
            if record.get("raw_s3_key"):
                objects.add(record["raw_s3_key"])
    for listing in (keys.APPROVALS, keys.HANDOFFS):  # queues listed outside the customer's partitions
        doomed |= {(a["pk"], a["sk"]) for a in memory.partition(listing) if a.get("customer_id") == customer_id}
    deleted = memory.delete_keys(sorted(doomed))
    if objects and services.s3 is not None and services.mail_bucket:
        for start in range(0, len(objects), 1000):
            batch = sorted(objects)[start : start + 1000]
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
    """Consent. Opting out of personalization also forgets the durable facts and summaries already held."""
    memory = services.memory
    profile = memory.get_profile(customer_id) or Profile(customer_id=customer_id)
    profile = profile.model_copy(update={"personalization": preferences.personalization})
    if preferences.surveys is not None:
        profile = profile.model_copy(update={"surveys": preferences.surveys})
    if not preferences.personalization:
        profile = profile.model_copy(update={"last_summary": None})
        memory.delete_keys(
            [
                (i["pk"], i["sk"])
                for i in memory.customer_partition(customer_id)
                if i["sk"].startswith((keys.FACT, keys.SUMMARY))
            ]
        )
    memory.put_profile(profile)
    memory.audit(customer_id, "preferences.updated", preferences.model_dump())
    return PreferencesOut(customer_id=customer_id, personalization=profile.personalization, surveys=profile.surveys)


def merge(target_id: str, request: MergeRequest, operator: str, services: PrivacyServices) -> MergeReceipt:
    memory = services.memory
    source_id = request.source_customer_id
    if source_id == target_id:
        raise BadRequest(MERGE_INTO_ITSELF)
    if not _known(target_id, services) or not _known(source_id, services):
        raise NotFound(BOTH_MUST_EXIST)
    source_items = memory.customer_partition(source_id)
    if any(i["sk"] == keys.MERGED_INTO for i in source_items):
        raise Conflict(ALREADY_MERGED.format(source_customer_id=source_id))
    puts: list[Operation] = []
    deletes: list[Operation] = []
    moved_identities = []
    for item in source_items:
        if item["sk"].startswith(keys.IDENT):
            moved = {**item, "customer_id": target_id, "origin_customer_id": source_id}
            puts.append(Put({**moved, "pk": keys.identity_pk(item["channel"], item["address"]), "sk": keys.IDENTITY}))
            puts.append(Put({**moved, "pk": keys.customer_pk(target_id)}))
            deletes.append(Delete({"pk": item["pk"], "sk": item["sk"]}))
            moved_identities.append(f"{item['channel']}:{item['address']}")
        elif item["sk"].startswith(COPIED_ON_MERGE):
            puts.append(Put({**item, "pk": keys.customer_pk(target_id), "origin_customer_id": source_id}))
    puts.append(
        Put(
            {
                "pk": keys.customer_pk(source_id),
                "sk": keys.MERGED_INTO,
                "target_customer_id": target_id,
                "operator": operator,
            }
        )
    )
    profile = memory.get_profile(target_id) or Profile(customer_id=target_id)
    profile = profile.model_copy(update={"merged_from": list(dict.fromkeys([*profile.merged_from, source_id]))})
    puts.append(memory.profile_put(profile))
    detail = {
        "source": source_id,
        "target": target_id,
        "operator": operator,
        "reason": request.reason,
        "identities": moved_identities,
    }
    puts += [
        memory.audit_put(target_id, "customer.merged", detail),
        memory.audit_put(source_id, "customer.merged", detail),
    ]
    memory.write([*puts, *deletes])
    return MergeReceipt(
        target_customer_id=target_id,
        source_customer_id=source_id,
        identities_moved=len(moved_identities),
        items_copied=sum(1 for i in source_items if i["sk"].startswith(COPIED_ON_MERGE)),
    )


def unmerge(target_id: str, source_id: str, operator: str, services: PrivacyServices) -> UnmergeReceipt:
    memory = services.memory
    marker = next((i for i in memory.customer_partition(source_id) if i["sk"] == keys.MERGED_INTO), None)
    if marker is None or marker["target_customer_id"] != target_id:
        raise NotFound(NOT_MERGED.format(source_customer_id=source_id, customer_id=target_id))
    puts: list[Operation] = []
    deletes: list[Operation] = [Delete({"pk": keys.customer_pk(source_id), "sk": keys.MERGED_INTO})]
    restored = []
    for item in memory.customer_partition(target_id):
        if item.get("origin_customer_id") != source_id:
            continue
        deletes.append(Delete({"pk": item["pk"], "sk": item["sk"]}))
        if item["sk"].startswith(keys.IDENT):
            back = {k: v for k, v in item.items() if k != "origin_customer_id"} | {"customer_id": source_id}
            puts.append(Put({**back, "pk": keys.identity_pk(item["channel"], item["address"]), "sk": keys.IDENTITY}))
            puts.append(Put({**back, "pk": keys.customer_pk(source_id)}))
            restored.append(f"{item['channel']}:{item['address']}")
    profile = memory.get_profile(target_id) or Profile(customer_id=target_id)
    profile = profile.model_copy(update={"merged_from": [c for c in profile.merged_from if c != source_id]})
    puts.append(memory.profile_put(profile))
    detail = {"source": source_id, "target": target_id, "operator": operator, "identities": restored}
    puts += [
        memory.audit_put(target_id, "customer.unmerged", detail),
        memory.audit_put(source_id, "customer.unmerged", detail),
    ]
    memory.write([*puts, *deletes])
    return UnmergeReceipt(target_customer_id=target_id, source_customer_id=source_id, identities_restored=len(restored))
