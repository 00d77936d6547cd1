"""Where moto (the local runtime's AWS) differs from AWS in a way the product would notice, and what the local runtime
does about it. Each is a patch of moto's internals, so each is pinned to the moto version it was written against
(`MOTO_VERSION`, and the exact pin in pyproject.toml), and `tests/integration/test_moto_workarounds.py` shows the
behaviour it works around on moto itself: when a moto release no longer behaves so, that test fails and says which
workaround can go.

1. DynamoDB transactions cost O(items in the table). moto deep-copies the whole table for every item of a
   TransactWriteItems, to roll back on failure: the KPI roll-up (one transaction per event) slowed down
   quadratically over a month of events. DynamoDB's cost does not grow with the table; here the snapshot is of the
   items the transaction touches, restored the same way when it is cancelled.
2. DynamoDB conditional writes are not atomic across threads. moto checks a write's condition and then writes,
   with nothing in between held: two threads of the local stack could both pass `message_seq = :seq` and both
   write. DynamoDB serializes conditional writes and transactions on an item; here one lock around every write
   does (the local stack is one process).
3. S3 writes to one key are not atomic across threads. moto checks `If-Match`/`If-None-Match` and then writes,
   with nothing held in between, so two conditional writers of the knowledge index could both succeed and one
   lose the other's documents; and overwriting a key closes the replaced object's buffer, so a request still
   answering from it (a concurrent read, or the writer's own ETag) fails with "I/O operation on closed file".
   S3 is strongly consistent and its conditional writes are atomic; here one lock around the object requests
   (get, put, copy, delete) does.
4. DynamoDB queries cost O(items in the table). moto's Query on the table's own key reads and sorts every item of
   the table to find one partition's: the demo month's offers population (a query per simulated order) slowed down
   quadratically, past ten minutes. DynamoDB reads the partition only; here a query on the table's key (no index)
   is given that partition's items, in the same order, and the rest of moto's query runs unchanged.
"""

from __future__ import annotations

import copy
import functools
import threading
import types
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import moto
from moto.dynamodb import models as dynamodb_models
from moto.dynamodb.models.table import Table
from moto.s3.responses import S3Response

if TYPE_CHECKING:
    from moto.dynamodb.models.dynamo_type import Item

_P = ParamSpec("_P")
_R = TypeVar("_R")

# The moto release these patches were written against and checked on; pyproject.toml pins it.
MOTO_VERSION = "5.2.5"
# The S3 requests that read or replace an object (S3Response's methods, one per API operation).
S3_OBJECT_REQUESTS = ("get_object", "put_object", "copy_object", "delete_object")

_installed = False
_partition = threading.local()  # (table, hash key) of the query running on this thread, or None
_writes = threading.RLock()
_s3_objects = threading.RLock()


def _snapshot_free_copy(value: Any, memo: dict[int, Any] | None = None) -> Any:
    return value if isinstance(value, Table) else copy.deepcopy(value, memo)


class MotoVersionChanged(RuntimeError):
    pass


def install() -> None:
    global _installed
    if _installed:
        return
    if moto.__version__ != MOTO_VERSION:
        raise MotoVersionChanged(
            f"moto {moto.__version__} is installed; the local runtime's workarounds were written for {MOTO_VERSION}. "
            "Run tests/integration/test_moto_workarounds.py on it: it says which workarounds are still needed."
        )
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

    original_query, original_all_items = Table.query, Table.all_items

    @functools.wraps(original_query)
    def query(self: Table, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = kwargs.get("index_name", args[6] if len(args) > 6 else None)
        if index_name or hash_key is None or not self.range_key_attr:
            return original_query(self, hash_key, *args, **kwargs)
        _partition.key = (self, hash_key)
        try:
            return original_query(self, hash_key, *args, **kwargs)
        finally:
            _partition.key = None

    def all_items(self: Table) -> list[Item]:
        key = getattr(_partition, "key", None)
        if key is None or key[0] is not self:
            return original_all_items(self)
        partition = self.items.get(key[1], {})
        return sorted(partition.values(), key=lambda x: (x.hash_key, x.range_key) if x.range_key else x.hash_key)

    Table.query = query  # type: ignore[method-assign]  # patching moto
    Table.all_items = all_items  # type: ignore[method-assign]  # patching moto
    backend.transact_write_items = _serialized(transact_write_items)  # type: ignore[method-assign]  # patching moto
    for name in ("put_item", "update_item", "delete_item"):
        setattr(backend, name, _serialized(getattr(backend, name)))
    for name in S3_OBJECT_REQUESTS:
        setattr(S3Response, name, _serialized(getattr(S3Response, name), _s3_objects))
    _installed = True


def _serialized(method: Callable[_P, _R], lock: threading.RLock = _writes) -> Callable[_P, _R]:
    @functools.wraps(method)
    def serialized(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with lock:
            return method(*args, **kwargs)

    return serialized
