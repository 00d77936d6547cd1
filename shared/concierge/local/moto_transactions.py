"""Cheaper DynamoDB transactions on moto, with the same all-or-nothing outcome — and writes that are atomic across
threads, as DynamoDB's are.

moto takes a deep copy of the whole table for every item of a TransactWriteItems, to roll back on failure, so a
transaction costs O(items in the table): the KPI roll-up (one transaction per event) slowed down quadratically over
a month of events. DynamoDB's cost does not grow with the table; here the snapshot is of the items the transaction
touches, restored the same way when it is cancelled.

moto checks a write's condition and then writes, with nothing in between held: two threads of the local stack could
both pass `message_seq = :seq` and both write. DynamoDB serializes conditional writes and transactions on an item;
here one lock around every write does (the local stack is one process).
"""

from __future__ import annotations

import copy
import functools
import threading
import types
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from moto.dynamodb import models as dynamodb_models
from moto.dynamodb.models.table import Table

if TYPE_CHECKING:
    from moto.dynamodb.models.dynamo_type import Item

_P = ParamSpec("_P")
_R = TypeVar("_R")

_installed = False
_writes = threading.RLock()


def _snapshot_free_copy(value: Any, memo: dict[int, Any] | None = None) -> Any:
    return value if isinstance(value, Table) else copy.deepcopy(value, memo)


def install() -> None:
    global _installed
    if _installed:
        return
    backend = dynamodb_models.DynamoDBBackend
    original = backend.transact_write_items
    # The module-level `copy` moto uses: tables are no longer deep-copied, everything else is.
    dynamodb_models.copy = types.SimpleNamespace(  # type: ignore[attr-defined,assignment]  # patching moto's module
        deepcopy=_snapshot_free_copy, copy=copy.copy
    )

    def transact_write_items(self: dynamodb_models.DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
        before: list[tuple[str, dict[str, Any], Item | None]] = []
        for entry in transact_items:
            op_type, op = next(iter(entry.items()))
            name = op.get("TableName")
            if name not in self.tables:
                continue
            table = self.tables[name]
            if op_type == "Put":
                key = {a: op["Item"][a] for a in (table.hash_key_attr, table.range_key_attr) if a and a in op["Item"]}
            else:
                key = op.get("Key")
            if not key:
                continue
            try:
                current = self.get_item(name, key)
            except Exception:  # an invalid key: moto's own validation reports it below
                continue
            before.append((name, key, copy.deepcopy(current)))
        try:
            return original(self, transact_items)
        except Exception:
            for name, key, item in reversed(before):
                if item is None:
                    self.delete_item(name, key)
                else:
                    self.put_item(name, item.to_json()["Attributes"])
            raise

    backend.transact_write_items = _serialized(transact_write_items)  # type: ignore[method-assign]  # patching moto
    for name in ("put_item", "update_item", "delete_item"):
        setattr(backend, name, _serialized(getattr(backend, name)))
    _installed = True


def _serialized(method: Callable[_P, _R]) -> Callable[_P, _R]:
    @functools.wraps(method)
    def serialized(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with _writes:
            return method(*args, **kwargs)

    return serialized
