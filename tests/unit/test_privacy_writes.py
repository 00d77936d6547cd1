"""What merges, unmerges, consent and erasure leave in the memory table, item by item (DynamoDB on moto).

tests/integration/test_privacy.py checks the HTTP answers on the local stack; these check every item written and
deleted, from a history seeded item by item.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from concierge.memory import keys
from concierge.memory.privacy import (
    ALREADY_MERGED,
    BOTH_MUST_EXIST,
    MERGE_INTO_ITSELF,
    NO_DATA,
    NOT_MERGED,
    MergeRequest,
    Preferences,
    PrivacyServices,
    erase,
    merge,
    set_preferences,
    unmerge,
)
from concierge.memory.storage import from_dynamo
from concierge.platform.errors import BadRequest, Conflict, NotFound
from tests.unit.fakes import FakeEvents
from tests.unit.test_memory_rules import tables  # noqa: F401  # the moto tables fixture (alex on file)

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
EXPIRES = int((NOW + timedelta(days=30)).timestamp())  # the fixture's retention
GUEST = "guest-7f3a"
ADDRESS = "alex.morgan@work.example"
LINKED = "2026-11-01T09:00:00+00:00"


class Bucket:
    def __init__(self) -> None:
        self.deleted: list[str] = []

    def delete_objects(self, *, Bucket: str, Delete: dict[str, Any]) -> object:
        self.deleted += [o["Key"] for o in Delete["Objects"]]
        return {}


@pytest.fixture
def services(tables, monkeypatch):
    memory, store = tables
    for module in ("concierge.memory.store", "concierge.memory.storage"):
        monkeypatch.setattr(f"{module}.now", lambda: NOW)
    return PrivacyServices(memory=memory, store=store, events=FakeEvents(), s3=Bucket(), mail_bucket="mail")


def table():
    return boto3.resource("dynamodb", region_name="us-east-1").Table("memory")


def put(*items: dict[str, Any]) -> None:
    for item in items:
        table().put_item(Item=item)


def contents() -> list[dict[str, Any]]:
    """Every item, audit entries with their random nonce left out of the key, in a stable order."""
    items = []
    for item in table().scan()["Items"]:
        if item["sk"].startswith(keys.AUDIT):
            item = {**item, "sk": item["sk"].rsplit("#", 1)[0]}
        items.append(from_dynamo(item))
    return sorted(items, key=lambda i: json.dumps(i, sort_keys=True))


def ordered(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(items, key=lambda i: json.dumps(i, sort_keys=True))


def identity(customer_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "channel": "email",
        "address": ADDRESS,
        "customer_id": customer_id,
        "verified_by": "dkim",
        "linked_at": LINKED,
        "expires_at": EXPIRES,
        **extra,
    }


def audit(customer_id: str, action: str, detail: dict[str, Any]) -> dict[str, Any]:
    return {
        "pk": keys.customer_pk(customer_id),
        "sk": keys.audit_sk(NOW, "").removesuffix("#"),
        "action": action,
        "detail": detail,
        "at": NOW.isoformat(),
        "expires_at": EXPIRES,
    }


GUEST_LOOKUP = {"pk": keys.identity_pk("email", ADDRESS), "sk": keys.IDENTITY, **identity(GUEST)}
GUEST_IDENTITY = {"pk": keys.customer_pk(GUEST), "sk": keys.identity_pk("email", ADDRESS), **identity(GUEST)}
GUEST_FACT = {
    "pk": keys.customer_pk(GUEST),
    "sk": keys.fact_sk("size:tops"),
    "key": "size:tops",
    "kind": "size",
    "text": "you exchanged for the M",
    "conversation_id": "g-1",
    "updated_at": LINKED,
    "expires_at": EXPIRES,
}
GUEST_SUMMARY = {
    "pk": keys.customer_pk(GUEST),
    "sk": keys.summary_sk(datetime(2026, 11, 2, tzinfo=UTC), "g-1"),
    "conversation_id": "g-1",
    "closed_at": "2026-11-02T00:00:00+00:00",
    "channel": "email",
    "text": "you asked about the Trail Shell Jacket.",
    "intents": ["question"],
    "expires_at": EXPIRES,
}
GUEST_INDEX = {
    "pk": keys.customer_pk(GUEST),
    "sk": keys.customer_conversation_sk("g-1"),
    "conversation_id": "g-1",
    "started_at": LINKED,
    "channel": "email",
    "expires_at": EXPIRES,
}
GUEST_OPEN = {  # an open-topic entry is not copied
    "pk": keys.customer_pk(GUEST),
    "sk": keys.open_sk("g-2"),
    "conversation_id": "g-2",
    "status": "open",
    "expires_at": EXPIRES,
}
GUEST_PROFILE = {"pk": keys.customer_pk(GUEST), "sk": keys.PROFILE, "customer_id": GUEST, "conversations": 1}
ALEX_PROFILE = {
    "pk": keys.customer_pk("alex"),
    "sk": keys.PROFILE,
    "customer_id": "alex",
    "conversations": 4,
    "last_summary": "we checked on your order.",
    "personalization": True,
    "surveys": True,
    "merged_from": ["sam"],
    "expires_at": EXPIRES - 3600,
}
ALEX_FACT = {**GUEST_FACT, "pk": keys.customer_pk("alex"), "sk": keys.fact_sk("interest:tea"), "key": "interest:tea"}
HISTORY = [GUEST_LOOKUP, GUEST_IDENTITY, GUEST_FACT, GUEST_SUMMARY, GUEST_INDEX, GUEST_OPEN, GUEST_PROFILE]


def copied(item: dict[str, Any]) -> dict[str, Any]:
    return {**item, "pk": keys.customer_pk("alex"), "origin_customer_id": GUEST}


def test_a_merge_moves_the_identities_copies_the_memory_and_audits_both(services):
    put(*HISTORY, ALEX_PROFILE, ALEX_FACT)
    request = MergeRequest(source_customer_id=GUEST, reason="confirmed both addresses by phone")

    receipt = merge("alex", request, "dana", services)

    assert (receipt.identities_moved, receipt.items_copied) == (1, 3)
    detail = {
        "source": GUEST,
        "target": "alex",
        "operator": "dana",
        "reason": "confirmed both addresses by phone",
        "identities": [f"email:{ADDRESS}"],
    }
    assert contents() == ordered(
        [
            {**GUEST_LOOKUP, "customer_id": "alex", "origin_customer_id": GUEST},
            copied({**GUEST_IDENTITY, "customer_id": "alex"}),
            GUEST_FACT,
            copied(GUEST_FACT),
            GUEST_SUMMARY,
            copied(GUEST_SUMMARY),
            GUEST_INDEX,
            copied(GUEST_INDEX),
            GUEST_OPEN,
            GUEST_PROFILE,
            {"pk": keys.customer_pk(GUEST), "sk": keys.MERGED_INTO, "target_customer_id": "alex", "operator": "dana"},
            {**ALEX_PROFILE, "merged_from": ["sam", GUEST], "expires_at": EXPIRES},
            ALEX_FACT,
            audit("alex", "customer.merged", detail),
            audit(GUEST, "customer.merged", detail),
        ]
    )


def test_an_unmerge_removes_exactly_the_copies_and_gives_the_identities_back(services):
    put(*HISTORY, ALEX_FACT)  # alex has no profile yet: the merge writes one
    merge("alex", MergeRequest(source_customer_id=GUEST, reason="same person"), "dana", services)

    receipt = unmerge("alex", GUEST, "lee", services)

    assert receipt.identities_restored == 1
    merged = {
        "source": GUEST,
        "target": "alex",
        "operator": "dana",
        "reason": "same person",
        "identities": [f"email:{ADDRESS}"],
    }
    unmerged = {"source": GUEST, "target": "alex", "operator": "lee", "identities": [f"email:{ADDRESS}"]}
    assert contents() == ordered(
        [
            *HISTORY,
            ALEX_FACT,
            {
                "pk": keys.customer_pk("alex"),
                "sk": keys.PROFILE,
                "customer_id": "alex",
                "conversations": 0,
                "personalization": True,
                "surveys": True,
                "merged_from": [],
                "expires_at": EXPIRES,
            },
            audit("alex", "customer.merged", merged),
            audit(GUEST, "customer.merged", merged),
            audit("alex", "customer.unmerged", unmerged),
            audit(GUEST, "customer.unmerged", unmerged),
        ]
    )


def test_merges_refused_write_nothing(services):
    put(*HISTORY)
    before = contents()
    with pytest.raises(BadRequest, match=MERGE_INTO_ITSELF):
        merge(GUEST, MergeRequest(source_customer_id=GUEST, reason="same id"), "dana", services)
    with pytest.raises(NotFound, match=BOTH_MUST_EXIST):
        merge("alex", MergeRequest(source_customer_id="nobody", reason="unknown"), "dana", services)
    with pytest.raises(NotFound, match=NOT_MERGED.format(source_customer_id=GUEST, customer_id="alex")):
        unmerge("alex", GUEST, "dana", services)
    assert contents() == before

    merge("alex", MergeRequest(source_customer_id=GUEST, reason="same person"), "dana", services)
    merged = contents()
    with pytest.raises(Conflict, match=ALREADY_MERGED.format(source_customer_id=GUEST)):
        merge("alex", MergeRequest(source_customer_id=GUEST, reason="again"), "dana", services)
    with pytest.raises(NotFound, match=NOT_MERGED.format(source_customer_id=GUEST, customer_id="sam")):
        unmerge("sam", GUEST, "dana", services)
    assert contents() == merged


def test_opting_out_forgets_facts_and_summaries_and_is_audited(services):
    put(*HISTORY)

    out = set_preferences(GUEST, Preferences(personalization=False, surveys=False), services)

    assert (out.personalization, out.surveys) == (False, False)
    profile = {
        **GUEST_PROFILE,
        "personalization": False,
        "surveys": False,
        "merged_from": [],
        "expires_at": EXPIRES,
    }
    consent = audit(GUEST, "preferences.updated", {"personalization": False, "surveys": False})
    assert contents() == ordered([GUEST_LOOKUP, GUEST_IDENTITY, GUEST_INDEX, GUEST_OPEN, profile, consent])


def test_erasure_deletes_every_record_that_reaches_the_customer_and_nothing_else(services):
    jo = keys.customer_pk("jo")
    low = {"pk": "METRIC#2026-11#L", "sk": "L#2026-11-19#1#c-jo#csat", "channel": "whatsapp"}
    erased = [
        {"pk": jo, "sk": keys.PROFILE, "customer_id": "jo"},
        {"pk": jo, "sk": keys.identity_pk("whatsapp", "13125550123"), "channel": "whatsapp", "address": "13125550123"},
        {"pk": keys.identity_pk("whatsapp", "13125550123"), "sk": keys.IDENTITY, "customer_id": "jo"},
        {"pk": jo, "sk": keys.customer_conversation_sk("c-jo"), "conversation_id": "c-jo"},
        {"pk": jo, "sk": keys.customer_conversation_sk("c-al"), "conversation_id": "c-al", "origin_customer_id": "al"},
        {"pk": jo, "sk": keys.MERGED_INTO, "target_customer_id": "alex"},
        {**ALEX_FACT, "sk": keys.fact_sk("size:shoes"), "origin_customer_id": "jo"},  # a merge's copy in alex
        {"pk": keys.conversation_pk("c-jo"), "sk": keys.META, "customer_id": "jo"},
        {
            "pk": keys.conversation_pk("c-jo"),
            "sk": keys.message_sk(1),
            "channel": "whatsapp",
            "provider_message_id": "wamid.1",
            "attachments": [{"s3_key": "mail/att-1"}],
            "raw_s3_key": "mail/raw-1",
        },
        {"pk": keys.conversation_pk("c-jo"), "sk": keys.score_sk("csat"), "erase_also": [[low["pk"], low["sk"]]]},
        low,
        {"pk": keys.inbox_pk("whatsapp", "wamid.1"), "sk": keys.RECEIVED, "provider_id": "<out@mail.example>"},
        {"pk": keys.thread_pk("<out@mail.example>"), "sk": keys.THREAD, "conversation_id": "c-jo"},
        {"pk": keys.APPROVALS, "sk": keys.pending_sk("a-1"), "customer_id": "jo"},
        {"pk": keys.HANDOFFS, "sk": keys.queued_sk("c-jo"), "customer_id": "jo"},
    ]
    kept = [
        ALEX_FACT,
        {"pk": keys.conversation_pk("c-al"), "sk": keys.META, "customer_id": "al"},  # the origin's conversation
        {"pk": keys.APPROVALS, "sk": keys.pending_sk("a-2"), "customer_id": "alex"},
    ]
    put(*erased, *kept)

    receipt = erase("jo", services, NOW, requested_by="operator:lee")

    assert (receipt.items_deleted, receipt.objects_deleted) == (len(erased), 2)
    assert contents() == ordered(kept)
    assert sorted(services.s3.deleted) == ["mail/att-1", "mail/raw-1"]
    [event] = services.events.published
    assert (event.customer_hash, event.requested_by) == (hashlib.sha256(b"jo").hexdigest(), "operator:lee")
    with pytest.raises(NotFound, match=NO_DATA):
        erase("jo", services, NOW)
