"""The identity, threading and recall rules of docs/memory.md, one by one (DynamoDB on moto)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest

from concierge.channels.inbound import InboundMessage
from concierge.conversation import threads
from concierge.conversation.api import Channel
from concierge.conversation.turn import ConversationStatus
from concierge.memory import identity, longterm
from concierge.memory.store import ConversationRecord, Fact, MemoryStore, Profile, Summary
from concierge.store.commerce import ReferenceStore
from concierge.store.models import Customer

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


@pytest.fixture
def tables(monkeypatch):
    from moto import mock_aws

    for name, value in {
        "AWS_ACCESS_KEY_ID": "t",
        "AWS_SECRET_ACCESS_KEY": "t",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        dynamodb = boto3.resource("dynamodb", region_name="us-east-1")

        def table(name, gsi=False):
            spec = {
                "TableName": name,
                "BillingMode": "PAY_PER_REQUEST",
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                "AttributeDefinitions": [
                    {"AttributeName": a, "AttributeType": "S"}
                    for a in ("pk", "sk", *(("gsi1pk", "gsi1sk") if gsi else ()))
                ],
            }
            if gsi:
                spec["GlobalSecondaryIndexes"] = [
                    {
                        "IndexName": "by-customer",
                        "Projection": {"ProjectionType": "ALL"},
                        "KeySchema": [
                            {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                            {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
                        ],
                    }
                ]
            return dynamodb.create_table(**spec)

        memory = MemoryStore(table("memory"), ttl_days=30)
        store = ReferenceStore(table("store", gsi=True))
        store.put_customers(
            [Customer(id="alex", email="Alex@Example.com", name="Alex Morgan", phone="+1 503 555 0142", created_at=NOW)]
        )
        yield memory, store


def message(sender="alex@example.com", verified=True, channel=Channel.EMAIL, text="hello", **extra) -> InboundMessage:
    return InboundMessage(
        channel=channel,
        message_id=extra.pop("message_id", "m1"),
        sender=sender,
        verified=verified,
        verified_by="test" if verified else None,
        text=text,
        received_at=NOW,
        **extra,
    )


def open_conversation(memory, conversation_id, customer_id="alex", text="", updated=NOW, channel=Channel.WEB):
    record = ConversationRecord(
        conversation_id=conversation_id,
        customer_id=customer_id,
        channel=channel,
        started_at=updated,
        updated_at=updated,
        keywords=threads.topic_terms(text),
    )
    memory.load([*memory.conversation_index_puts(record), memory.conversation_put(record)])
    return record


def test_a_verified_address_on_file_is_linked_and_audited(tables):
    memory, store = tables
    resolved = identity.resolve(message(), memory, store, NOW)
    assert (resolved.customer_id, resolved.verified, resolved.how, resolved.first_name) == (
        "alex",
        True,
        "linked-now",
        "Alex",
    )
    assert memory.get_identity(Channel.EMAIL, "alex@example.com").customer_id == "alex"
    assert [i["action"] for i in memory.customer_partition("alex") if i["sk"].startswith("AUDIT#")] == [
        "identity.linked"
    ]
    assert identity.resolve(message(), memory, store, NOW).how == "linked"


def test_whatsapp_numbers_match_the_phone_on_file_in_any_format(tables):
    memory, store = tables
    resolved = identity.resolve(message(sender="15035550142", channel=Channel.WHATSAPP), memory, store, NOW)
    assert resolved.customer_id == "alex"


def test_an_unverified_sender_is_never_linked_even_when_the_address_matches(tables):
    memory, store = tables
    resolved = identity.resolve(message(verified=False), memory, store, NOW)
    assert resolved.customer_id.startswith("unverified-") and not resolved.verified
    assert memory.get_identity(Channel.EMAIL, "alex@example.com") is None
    # Even after alex's address is linked, an unverified message from it does not resolve to alex.
    identity.resolve(message(), memory, store, NOW)
    assert identity.resolve(message(verified=False), memory, store, NOW).customer_id != "alex"


def test_a_verified_stranger_becomes_a_guest_of_their_own(tables):
    memory, store = tables
    first = identity.resolve(message(sender="new@example.org"), memory, store, NOW)
    again = identity.resolve(message(sender="new@example.org"), memory, store, NOW)
    other = identity.resolve(message(sender="other@example.org"), memory, store, NOW)
    assert first.customer_id.startswith("guest-") and first.customer_id == again.customer_id != other.customer_id


def test_topic_terms_keep_product_words_and_order_ids_only():
    assert threads.topic_terms("Hi! What is the Trail Shell Jacket made of?") == ["trail", "shell", "jacket"]
    assert threads.topic_terms("Where is order NW10005 please?") == ["nw10005"]
    assert threads.topic_terms("and is it waterproof?") == ["waterproof"]
    assert threads.topic_terms("thanks, that's all") == []


def test_threading_rules_in_order(tables):
    memory, _ = tables
    jacket = open_conversation(memory, "web-jacket", text="Does the Trail Shell Jacket run small?")
    # Rule 3: same topic -> continue; no topic -> continue the most recent.
    assert (
        threads.choose(message(text="What is the trail jacket made of?"), "alex", memory, NOW).conversation_id
        == "web-jacket"
    )
    assert threads.choose(message(text="and what about returns?"), "alex", memory, NOW).rule == "open-topic"
    # Rule 4: another topic -> a new conversation, linked.
    other = threads.choose(message(text="My Cloudstep running shoe squeaks"), "alex", memory, NOW)
    assert not other.continued and other.linked_conversation_id == "web-jacket"
    # Rule 2 beats rule 3; someone else's tagged conversation is ignored.
    open_conversation(memory, "c-sam", customer_id="sam", text="puffer")
    tagged = message(text="shoes", recipient="support+web-jacket@northwind.example")
    assert threads.choose(tagged, "alex", memory, NOW).rule == "tagged-address"
    assert (
        threads.choose(message(text="shoes", recipient="support+c-sam@northwind.example"), "alex", memory, NOW).rule
        != "tagged-address"
    )
    # Rule 1 beats everything.
    memory.put_thread("our-reply@northwind.example", "web-jacket", "alex")
    replied = threads.choose(message(text="shoes", references=["our-reply@northwind.example"]), "alex", memory, NOW)
    assert (replied.conversation_id, replied.rule) == ("web-jacket", "reply-to-our-email")
    assert jacket


def test_a_follow_up_in_the_same_sitting_continues_whatever_its_words(tables):
    memory, _ = tables
    open_conversation(
        memory, "wa-1", text="Where is my order?", channel=Channel.WHATSAPP, updated=NOW - timedelta(minutes=5)
    )
    follow_up = message(text="This is ridiculous, where is my jacket??", channel=Channel.WHATSAPP, sender="15035550142")
    assert (
        threads.choose(follow_up, "alex", memory, NOW).conversation_id,
        threads.choose(follow_up, "alex", memory, NOW).rule,
    ) == ("wa-1", "same-sitting")
    # An hour later, or on another channel, the topic decides again.
    later = NOW + threads.SAME_SITTING + timedelta(minutes=10)
    assert threads.choose(follow_up, "alex", memory, later).rule == "linked-other-topic"
    assert (
        threads.choose(message(text="my Cloudstep running shoe squeaks"), "alex", memory, NOW).rule
        == "linked-other-topic"
    )


def test_a_conversation_our_team_owns_takes_every_message(tables):
    memory, _ = tables
    record = open_conversation(memory, "web-owned", text="Trail Shell Jacket", updated=NOW - timedelta(hours=3))
    memory.load(memory.conversation_index_puts(record.model_copy(update={"status": ConversationStatus.HANDED_OFF})))
    chosen = threads.choose(message(text="my Cloudstep running shoe squeaks"), "alex", memory, NOW)
    assert (chosen.conversation_id, chosen.rule) == ("web-owned", "with-our-team")


def test_stale_open_conversations_are_not_continued(tables):
    memory, _ = tables
    open_conversation(
        memory, "old", text="Trail Shell Jacket", updated=NOW - threads.THREAD_WINDOW - timedelta(hours=1)
    )
    assert threads.choose(message(text="Trail Shell Jacket"), "alex", memory, NOW).rule == "new"


def test_web_conversations_link_to_an_open_one_on_the_same_topic(tables):
    memory, _ = tables
    open_conversation(memory, "email-1", text="Selvedge Denim Jacket sizing", channel=Channel.EMAIL)
    assert threads.link_for_web("web-2", "What is the denim jacket made of?", "alex", memory, NOW) == "email-1"
    assert threads.link_for_web("web-2", "hello", "alex", memory, NOW) is None


def test_recall_puts_open_issues_first_and_stays_within_the_budget(tables):
    memory, _ = tables
    puts = [
        memory.summary_put(
            "alex",
            Summary(
                conversation_id=f"c{n}",
                closed_at=NOW - timedelta(days=n),
                channel=Channel.WEB,
                text=f"summary {n} " + "words " * 40,
            ),
        )
        for n in range(10)
    ]
    puts.append(
        memory.fact_put(
            "alex",
            Fact(
                key="open_issue:NW1",
                kind="open_issue",
                text="your order NW1 was running late",
                conversation_id="c3",
                updated_at=NOW,
            ),
        )
    )
    memory.load(puts)
    memory.put_profile(Profile(customer_id="alex", conversations=5))  # written with the first summary or fact
    context = longterm.recall(memory, "alex", "new", memory.get_profile("alex"), budget=120)
    assert context.open_issues == ["your order NW1 was running late"]
    assert context.summaries and context.summaries[0].startswith("summary 0")
    assert context.tokens <= 120 and len(context.summaries) < 3
    assert context.returning


def test_recall_gives_nothing_personal_without_consent(tables):
    memory, _ = tables
    memory.load(
        [
            memory.summary_put(
                "alex", Summary(conversation_id="c1", closed_at=NOW, channel=Channel.WEB, text="we talked")
            )
        ]
    )
    memory.put_profile(Profile(customer_id="alex", personalization=False))
    context = longterm.recall(memory, "alex", "new", memory.get_profile("alex"))
    assert not context.personalization and not context.returning and context.summaries == [] and context.facts == []


def test_a_customer_without_a_profile_is_recalled_nothing_and_costs_no_query():
    class Unread:  # a memory store that must not be read
        def __getattr__(self, name):
            raise AssertionError(f"recall read {name} for a customer with no profile")

    context = longterm.recall(Unread(), "newcomer", "first", None)
    assert not context.returning and context.summaries == [] and context.facts == []


def test_a_late_parcel_is_an_open_issue_until_it_is_delivered():
    from concierge.conversation.turn import ActionResult, ActionStatus

    record = ConversationRecord(
        conversation_id="c1",
        customer_id="jordan",
        channel=Channel.WEB,
        started_at=NOW,
        updated_at=NOW,
        status=ConversationStatus.OPEN,
    )

    def tracked(status, due):
        return ActionResult(
            call_id="t",
            action_id="a",
            tool="track_shipment",
            status=ActionStatus.EXECUTED,
            result={
                "order_id": "NW10005",
                "status": status,
                "estimated_delivery": due.isoformat(),
                "items": ["Selvedge Denim Jacket"],
            },
        )

    upserts, removals = longterm.facts_from([tracked("shipped", NOW - timedelta(days=2))], [], record, NOW)
    assert [f.key for f in upserts] == ["open_issue:NW10005"] and "running late" in upserts[0].text and not removals
    upserts, removals = longterm.facts_from([tracked("shipped", NOW + timedelta(days=2))], [], record, NOW)
    assert upserts == [] and removals == []
    upserts, removals = longterm.facts_from([tracked("delivered", NOW - timedelta(days=2))], [], record, NOW)
    assert upserts == [] and removals == ["open_issue:NW10005"]
    # one turn that says two things of one order (tracked twice, two handoffs) writes one item per key: the write is
    # one transaction, and DynamoDB refuses two operations on one item (the turn failed with a 500)
    late, delivered = tracked("shipped", NOW - timedelta(days=2)), tracked("delivered", NOW - timedelta(days=2))
    upserts, removals = longterm.facts_from([late, late], [], record, NOW)
    assert [f.key for f in upserts] == ["open_issue:NW10005"] and removals == []
    upserts, removals = longterm.facts_from([late, delivered], [], record, NOW)
    assert upserts == [] and removals == ["open_issue:NW10005"], "the turn's last word on a key wins"
    upserts, removals = longterm.facts_from([delivered, late], [], record, NOW)
    assert [f.key for f in upserts] == ["open_issue:NW10005"] and removals == []
