"""The memory store's writes across whole partitions, on their own: merges, unmerges, the erasure's plan, consent
(DynamoDB on moto). What they leave item by item, through the privacy rules, is in test_privacy_writes.py."""

from __future__ import annotations

from datetime import timedelta

import pytest

from concierge.conversation.api import Channel
from concierge.memory import keys
from concierge.memory.store import AlreadyMerged, Fact, Merged, NotMerged, Unmerged
from tests.unit.test_memory_rules import tables  # noqa: F401  # the moto tables fixture
from tests.unit.test_privacy_writes import (
    ADDRESS,
    GUEST,
    GUEST_IDENTITY,
    GUEST_INDEX,
    GUEST_SUMMARY,
    HISTORY,
    NOW,
    contents,
    put,
)


@pytest.fixture
def memory(tables, monkeypatch):
    for module in ("concierge.memory.store", "concierge.memory.storage"):
        monkeypatch.setattr(f"{module}.now", lambda: NOW)
    return tables[0]


def facts(count: int) -> list[dict]:
    return [
        {"pk": keys.customer_pk(GUEST), "sk": keys.fact_sk(f"interest:{n}"), "key": f"interest:{n}", "kind": "interest"}
        for n in range(count)
    ]


def test_a_merge_says_what_it_moved_and_copied_and_an_unmerge_what_it_gave_back(memory):
    put(*HISTORY)
    assert memory.merge_customers(GUEST, "alex", "dana", "same person") == Merged([f"email:{ADDRESS}"], 3)
    assert memory.get_identity(Channel.EMAIL, ADDRESS).customer_id == "alex"
    assert memory.get_profile("alex").merged_from == [GUEST]

    assert memory.unmerge_customers(GUEST, "alex", "dana") == Unmerged([f"email:{ADDRESS}"])
    assert memory.get_identity(Channel.EMAIL, ADDRESS).customer_id == GUEST
    assert memory.get_profile("alex").merged_from == []
    assert not [i for i in memory.customer_partition("alex") if i.get("origin_customer_id")]


def test_a_merge_refused_or_an_unmerge_of_no_merge_writes_nothing(memory):
    put(*HISTORY, {"pk": keys.customer_pk(GUEST), "sk": keys.MERGED_INTO, "target_customer_id": "sam"})
    before = contents()
    with pytest.raises(AlreadyMerged):
        memory.merge_customers(GUEST, "alex", "dana", "again")
    with pytest.raises(NotMerged):
        memory.unmerge_customers(GUEST, "alex", "dana")  # merged into sam, not alex
    with pytest.raises(NotMerged):
        memory.unmerge_customers("alex", GUEST, "dana")  # alex was never merged
    assert contents() == before


def test_a_merge_of_a_long_history_spans_several_transactions_and_an_unmerge_undoes_it_all(memory):
    put(
        *HISTORY, *facts(120)
    )  # 130 operations: 123 copies, the identity's 2 puts and 1 delete, marker, profile, 2 audits
    before = contents()

    assert memory.merge_customers(GUEST, "alex", "dana", "same person").copied == 123
    assert len([i for i in memory.customer_partition("alex") if i.get("origin_customer_id") == GUEST]) == 124
    memory.unmerge_customers(GUEST, "alex", "dana")

    after = [i for i in contents() if not i["sk"].startswith((keys.AUDIT, keys.PROFILE))]
    assert after == [i for i in before if not i["sk"].startswith(keys.PROFILE)]


def test_the_erasure_plan_reads_and_deletes_nothing_until_it_is_erased(memory):
    put(*HISTORY)
    before = contents()

    plan = memory.erasure(GUEST)

    assert plan.held and plan.objects == []
    assert plan.keys == sorted({(i["pk"], i["sk"]) for i in HISTORY})  # the partition and the address's lookup
    assert contents() == before
    assert memory.erase(plan) == len(HISTORY) and contents() == []
    assert not memory.erasure(GUEST).held and memory.erasure(GUEST).keys == []


def test_forgetting_deletes_facts_and_summaries_only(memory):
    put(*HISTORY)
    memory.load(
        [
            memory.fact_put(
                GUEST,
                Fact(key="size:shoes", kind="size", text="size 42", conversation_id="g-1", updated_at=NOW),
            )
        ]
    )
    assert memory.forget_facts_and_summaries(GUEST) == 3
    left = {i["sk"] for i in memory.customer_partition(GUEST)}
    assert not [sk for sk in left if sk.startswith((keys.FACT, keys.SUMMARY))]
    assert {GUEST_INDEX["sk"], GUEST_IDENTITY["sk"], keys.PROFILE} <= left
    assert GUEST_SUMMARY["sk"] not in left


def test_an_audit_entry_is_keyed_by_its_time_and_may_name_records_erased_with_it(memory):
    at = NOW - timedelta(days=2)
    put_ = memory.audit_put("alex", "offer.decided", {"offer_id": "o-1"}, at=at, erase_also=[("OFFER#o-1", "U#x")])
    assert put_.item["sk"].startswith(keys.audit_sk(at, ""))
    assert put_.item["erase_also"] == [["OFFER#o-1", "U#x"]]
    assert "erase_also" not in memory.audit_put("alex", "data.exported", {}).item
