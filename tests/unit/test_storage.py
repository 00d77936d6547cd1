"""The memory table is reached through memory/store.py and the repositories only (CONTRIBUTING.md, "Storage").

`MemoryStore` holds the table; `storage.Storage` is the one access layer (paging, TTL, conversion, conditional
writes, transactions); each repository keeps its own records through `MemoryStore.storage`. Any other module that
wants a record asks the repository that owns it.
"""

from __future__ import annotations

import ast
from decimal import Decimal
from pathlib import Path

import pytest

from concierge.memory.storage import Delete, Put, Storage, Update

ROOT = Path(__file__).parents[2]
SCANNED = ("shared", "functions", "scripts", "benchmarks")
# Who holds the raw memory table: the store itself and its access layer.
TABLE_OWNERS = {"shared/concierge/memory/store.py", "shared/concierge/memory/storage.py"}
# The repositories: each owns some records in the memory table and reaches it through `MemoryStore.storage`.
REPOSITORIES = {
    "shared/concierge/actions/approvals.py",  # approvals and the pending list
    "shared/concierge/handoff/queue.py",  # ownership (OWNER) and the handoff queue
    "shared/concierge/surveys/store.py",  # survey offers and answers, the NPS cadence, calibration pairs
    "shared/concierge/metrics/store.py",  # the KPI records (counters, low scores, attribution, markers)
    "shared/concierge/journeys/store.py",  # signals remembered, the journeys' cap slots
    "shared/concierge/churn/activity.py",  # sign-ins and feature use per customer and day
    "shared/concierge/journeys/subscriptions.py",  # the plans a customer has and has tried
    "shared/concierge/leads/store.py",  # the leads qualified in a customer's conversations
    "shared/concierge/churn/scheduled.py",  # the churn scoring's passes and pages, the days a risk was published
    "shared/concierge/catalogue/views.py",  # a customer's last product views (recommendations)
}
# Modules whose `_table` is another table: the store table (orders, customers, the merchant's settings), and the
# per-thread handle factory every table is made by.
OTHER_TABLES = {
    "shared/concierge/store/commerce.py",
    "shared/concierge/store/merchant.py",
    "shared/concierge/churn/deployed.py",  # the churn model, beside merchant.json
    "shared/concierge/catalogue/related.py",  # the products' related snapshot (recommendations), beside merchant.json
    "shared/concierge/platform/aws.py",
}
RAW = {"table", "_table"}
LAYER = {"storage", "_storage"}


def offences(name: str, source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Attribute):
            continue
        if isinstance(node.value, ast.Name) and node.value.id == "aws":
            continue  # aws.table(name): making a handle, which platform/wiring.py hands to MemoryStore
        if node.attr in RAW and name not in TABLE_OWNERS | OTHER_TABLES:
            found.append(f"{name}:{node.lineno}: .{node.attr}")
        if node.attr in LAYER and name not in TABLE_OWNERS | REPOSITORIES:
            found.append(f"{name}:{node.lineno}: .{node.attr}")
    return found


def test_only_memory_py_and_the_repositories_reach_the_memory_table():
    found = []
    for path in sorted(p for folder in SCANNED for p in (ROOT / folder).rglob("*.py")):
        name = path.relative_to(ROOT).as_posix()
        found += offences(name, path.read_text())
    assert found == [], "ask the repository that owns the record (CONTRIBUTING.md, Storage):\n" + "\n".join(found)


def test_the_check_would_catch_a_module_reaching_the_table():
    assert offences("shared/concierge/x.py", "memory.table.put_item(Item={})")
    assert offences("shared/concierge/x.py", "self._table = memory.table")
    assert offences("shared/concierge/x.py", "store = memory._table")
    assert offences("shared/concierge/x.py", "memory.storage.put({})")
    assert offences("shared/concierge/handoff/queue.py", "self.memory.table.get_item(Key={})")
    assert not offences("shared/concierge/handoff/queue.py", "self._db = self.memory.storage")
    assert not offences("shared/concierge/platform/wiring.py", "MemoryStore(aws.table(name), 30)")


class _Client:
    class exceptions:
        class TransactionCanceledException(Exception):
            pass

    def __init__(self) -> None:
        self.sent: list[dict] = []

    def transact_write_items(self, TransactItems):
        self.sent = TransactItems


class _Table:
    name = "memory"

    def __init__(self) -> None:
        self.meta = type("Meta", (), {"client": _Client()})()


def test_typed_operations_become_transaction_entries_with_their_conditions():
    table = _Table()
    Storage(table, 30).transact(
        [
            Put({"pk": "a", "sk": "b", "score": 0.5, "gone": None}, condition="attribute_not_exists(pk)"),
            Update({"pk": "a", "sk": "c"}, "ADD #n :v", names={"#n": "n"}, values={":v": 1}),
            Delete({"pk": "a", "sk": "d"}),
        ]
    )
    put, update, delete = table.meta.client.sent
    assert put == {
        "Put": {
            "TableName": "memory",
            "Item": {"pk": "a", "sk": "b", "score": Decimal("0.5")},
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    }
    assert update["Update"]["ExpressionAttributeNames"] == {"#n": "n"}
    assert update["Update"]["ExpressionAttributeValues"] == {":v": 1}
    assert delete == {"Delete": {"TableName": "memory", "Key": {"pk": "a", "sk": "d"}}}


def test_a_bulk_load_refuses_a_conditional_put():
    with pytest.raises(ValueError, match="cannot check a condition"):
        Storage(_Table(), 30).put_many([Put({"pk": "a", "sk": "b"}, condition="attribute_not_exists(pk)")])
