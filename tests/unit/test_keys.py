"""The memory table's keys are spelled in one module (concierge/memory/keys.py), and every kind of item is declared there;
only the storage layer and the repositories build keys and items with it."""

from __future__ import annotations

import ast
import inspect
import re
from datetime import UTC, date, datetime
from pathlib import Path

from concierge.memory import keys
from concierge.metrics import keys as metric_keys

ROOT = Path(__file__).parents[2]
SCANNED = ("shared", "functions", "scripts", "benchmarks")
# The modules that own keys: the memory table's schema, the KPI roll-up's, and the store table's (orders, customers,
# the merchant's settings), which is another table.
OWNERS = {"shared/concierge/memory/keys.py", "shared/concierge/metrics/keys.py", "shared/concierge/store/commerce.py"}
STORE_TABLE = {
    "shared/concierge/store/merchant.py",
    "shared/concierge/churn/deployed.py",
    "shared/concierge/catalogue/related.py",
}
# A string literal that starts like a key: CONV#…, f"ACTION#{…}", or a fixed sort key.
KEY_LITERAL = re.compile(
    r"""[fr]?["'](?:[A-Z][A-Z_]*#|(?:META|PROFILE|OWNER|IDENTITY|THREAD|RECEIVED|MERGED_INTO|APPROVALS|HANDOFFS|CLAIMED|SEEN)["'])"""
)


def test_no_module_but_the_key_modules_spells_a_key():
    offenders = []
    for path in sorted(p for folder in SCANNED for p in (ROOT / folder).rglob("*.py")):
        name = path.relative_to(ROOT).as_posix()
        if name in OWNERS:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("  #", 1)[0]
            if KEY_LITERAL.search(code) and not (name in STORE_TABLE and '"pk": "MERCHANT"' in code):
                offenders.append(f"{name}:{number}: {line.strip()}")
    assert offenders == [], "build keys with concierge.memory.keys (or metrics.keys):\n" + "\n".join(offenders)


def test_the_check_would_catch_a_key_spelled_elsewhere():
    assert KEY_LITERAL.search('Key={"pk": f"CONV#{conversation_id}", "sk": "META"}')
    assert KEY_LITERAL.search("item['sk'].startswith('FACT#')")
    assert not KEY_LITERAL.search('raise NotFound("No data is held about this customer.")')


# The key builders of concierge.memory.keys: its functions but those that read a key or find a declared record.
READERS = {"message_seq", "action_id_of", "record_of"}
BUILDERS = {
    name
    for name, function in vars(keys).items()
    if inspect.isfunction(function) and function.__module__ == keys.__name__ and not name.startswith("_")
} - READERS
# Who builds keys and items of the memory table (CONTRIBUTING.md, "Storage"): the schema, the access layer and the
# repositories. Any other module asks a repository for a typed method.
ITEM_OWNERS = {
    "shared/concierge/memory/keys.py",  # the schema
    "shared/concierge/memory/storage.py",  # the access layer (to_dynamo)
    "shared/concierge/memory/store.py",  # MemoryStore
    "shared/concierge/actions/approvals.py",  # ApprovalStore
    "shared/concierge/handoff/queue.py",  # HandoffStore
    "shared/concierge/surveys/store.py",  # SurveyStore
    "shared/concierge/metrics/store.py",  # MetricsStore
    "shared/concierge/journeys/store.py",  # JourneyStore
    "shared/concierge/churn/activity.py",  # ActivityStore
    "shared/concierge/journeys/subscriptions.py",  # SubscriptionStore
    "shared/concierge/leads/store.py",  # LeadStore
    "shared/concierge/churn/scheduled.py",  # ScoringRuns
    "shared/concierge/catalogue/views.py",  # ViewStore
}


def items_built(name: str, source: str) -> list[str]:
    """Where `source` uses a key builder of concierge.memory.keys or `to_dynamo` (called, or passed on)."""
    tree = ast.parse(source)
    modules = {"concierge.memory.keys"}  # how the module is named here: `keys`, an alias, or in full
    builders = set()  # builders imported by name
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "concierge.memory":
            modules |= {alias.asname or alias.name for alias in node.names if alias.name == "keys"}
        elif isinstance(node, ast.ImportFrom) and node.module == "concierge.memory.keys":
            builders |= {alias.asname or alias.name for alias in node.names if alias.name in BUILDERS}
        elif isinstance(node, ast.Import):
            modules |= {alias.asname for alias in node.names if alias.name == "concierge.memory.keys" and alias.asname}
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("concierge."):
            builders |= {alias.asname or alias.name for alias in node.names if alias.name == "to_dynamo"}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and (
            node.attr == "to_dynamo" or (node.attr in BUILDERS and ast.unparse(node.value) in modules)
        ):
            found.append(f"{name}:{node.lineno}: {ast.unparse(node)}")
        elif isinstance(node, ast.Name) and node.id in builders and isinstance(node.ctx, ast.Load):
            found.append(f"{name}:{node.lineno}: {node.id}")
    return found


def test_only_the_storage_layer_and_the_repositories_build_keys_and_items():
    found = []
    for path in sorted(p for folder in SCANNED for p in (ROOT / folder).rglob("*.py")):
        name = path.relative_to(ROOT).as_posix()
        if name not in ITEM_OWNERS:
            found += items_built(name, path.read_text())
    assert found == [], "ask the repository that owns the record for a typed method:\n" + "\n".join(found)


def test_the_check_would_catch_a_key_or_an_item_built_elsewhere():
    assert {"customer_pk", "identity_pk", "fact_sk", "audit_sk", "window_pk"} <= BUILDERS
    assert set(vars(keys)) >= READERS  # a reader renamed would otherwise count as a builder
    assert items_built("x.py", "from concierge.memory import keys\nkeys.customer_pk(customer_id)")
    assert items_built("x.py", "from concierge.memory import keys as k\nids = map(k.customer_pk, customers)")
    assert items_built("x.py", "import concierge.memory.keys as schema\nschema.identity_pk('email', a)")
    assert items_built("x.py", "import concierge.memory.keys\nconcierge.memory.keys.fact_sk('size')")
    assert items_built("x.py", "from concierge.memory.keys import audit_sk as sk\nsk(at, 'n')")
    assert items_built("x.py", "from concierge.memory.store import to_dynamo\nitem = to_dynamo({'a': 1.5})")
    assert items_built("x.py", "from concierge.memory import storage\nstorage.to_dynamo({})")
    # reading a key, a fixed part of one, and the KPI roll-up's own keys (metrics/keys.py) are not building one
    assert not items_built("x.py", "from concierge.memory import keys\nkeys.action_id_of(item['sk'])")
    assert not items_built("x.py", "from concierge.memory import keys\nitem['sk'].startswith(keys.FACT)")
    assert not items_built("x.py", "from concierge.metrics import keys\nkeys.conversation_pk('c-1')")


AT = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
BUILT = {
    "conversation": (keys.conversation_pk("c-1"), keys.META),
    "message": (keys.conversation_pk("c-1"), keys.message_sk(7)),
    "turn": (keys.conversation_pk("c-1"), keys.turn_sk(3)),
    "action": (keys.conversation_pk("c-1"), keys.action_sk("a-1")),
    "approval": (keys.conversation_pk("c-1"), keys.approval_sk("a-1")),
    "handoff": (keys.conversation_pk("c-1"), keys.handoff_sk(AT)),
    "owner": (keys.conversation_pk("c-1"), keys.OWNER),
    "notice": (keys.conversation_pk("c-1"), keys.notice_sk("approval-a-1")),
    "score": (keys.conversation_pk("c-1"), keys.score_sk("csat")),
    "profile": (keys.customer_pk("cu-1"), keys.PROFILE),
    "fact": (keys.customer_pk("cu-1"), keys.fact_sk("size")),
    "summary": (keys.customer_pk("cu-1"), keys.summary_sk(AT, "c-1")),
    "conversation index": (keys.customer_pk("cu-1"), keys.customer_conversation_sk("c-1")),
    "open conversation": (keys.customer_pk("cu-1"), keys.open_sk("c-1")),
    "identity (customer's copy)": (keys.customer_pk("cu-1"), keys.identity_pk("email", "a@b.example")),
    "audit entry": (keys.customer_pk("cu-1"), keys.audit_sk(AT, "1a2b")),
    "survey offered": (keys.customer_pk("cu-1"), keys.surveyed_sk("nps")),
    "merged into": (keys.customer_pk("cu-1"), keys.MERGED_INTO),
    "identity": (keys.identity_pk("whatsapp", "13125550123"), keys.IDENTITY),
    "email thread": (keys.thread_pk("<x@mail.example>"), keys.THREAD),
    "inbox entry": (keys.inbox_pk("email", "m-1"), keys.RECEIVED),
    "approval queue entry": (keys.APPROVALS, keys.pending_sk("a-1")),
    "handoff queue entry": (keys.HANDOFFS, keys.queued_sk("c-1")),
    "Auto-CSAT and CSAT pair": (keys.csat_pair_pk(date(2026, 11, 2)), keys.csat_pair_sk("c-1")),
    "rate window": (keys.window_pk("unverified-reply", "x@y.example"), keys.WINDOW_SK),
    "KPI attribution": (metric_keys.conversation_pk("c-1"), metric_keys.META_SK),
    "KPI score counted": (metric_keys.conversation_pk("c-1"), metric_keys.score_sk("csat")),
    "KPI counters": tuple(metric_keys.counter_key(date(2026, 11, 2), "chat", "return").values()),
    "KPI low score": tuple(metric_keys.low_key(date(2026, 11, 2), 1, "c-1", "csat").values()),
    "KPI event counted": (metric_keys.event_pk("e-1"), metric_keys.SEEN_SK),
    "confirmation run once": ("idempotency#concierge-actions", "3f2a"),
    "signal remembered": (keys.customer_pk("u-1"), keys.signal_sk("charge.posted", datetime(2026, 11, 2), "s-1")),
    "journey cap slot": (keys.customer_pk("u-1"), keys.journey_slot_sk("double_charge", 0)),
    "activity day": (keys.customer_pk("u-1"), keys.activity_sk(date(2026, 11, 2))),
    "subscription": (keys.customer_pk("u-1"), keys.subscription_sk("sub-1")),
    "journey entered": (keys.customer_pk("u-1"), keys.journey_unit_marker_sk("abandoned_cart")),
    "journey unit": tuple(metric_keys.journey_unit_key("abandoned_cart", "u-1").values()),
    "lead": (keys.customer_pk("u-1"), keys.lead_sk("c-1")),
    "churn risk published": (keys.customer_pk("u-1"), keys.churn_told_sk(date(2026, 11, 2))),
    "product views": (keys.customer_pk("u-1"), keys.VIEWS),
    "churn scoring pass": (keys.churn_run_pk(date(2026, 11, 2)), keys.PASS),
    "churn scoring page": (keys.churn_run_pk(date(2026, 11, 2)), keys.churn_page_sk(3)),
}


def test_every_key_a_builder_makes_is_the_record_it_means():
    assert sorted(BUILT) == sorted(r.name for r in keys.RECORDS if r.name != "repeat-contact marker")
    for name, (pk, sk) in BUILT.items():
        record = keys.record_of(pk, sk)
        assert record is not None and record.name == name, (name, pk, sk, record)


def test_personal_records_say_how_erasure_reaches_them():
    assert len({r.name for r in keys.RECORDS}) == len(keys.RECORDS)
    for record in keys.RECORDS:
        assert bool(record.erasure) == record.personal, record.name
    assert keys.record_of("SOMETHING#new", "X") is None


def test_messages_sort_in_order_and_read_back():
    assert keys.message_sk(9) < keys.message_sk(10) < keys.message_sk(keys.MAX_SEQ)
    assert keys.message_seq(keys.message_sk(42)) == 42
    assert keys.action_id_of(keys.action_sk("a-9")) == "a-9"
    assert keys.window_pk("k", " X@Y.example ") == keys.window_pk("k", "x@y.example")
