"""One cached boto3 client or resource per service per process (created on first use, reused while warm).

boto3 clients are thread-safe; its resources are not. A DynamoDB Table rewrites `Key(...)`/`Attr(...)` conditions
with one placeholder builder per resource, reset at the start of every call: two threads querying through the same
Table can swap each other's `#n0`, and DynamoDB then answers "Query condition missed key schema element". A Lambda
environment runs one request at a time, but the local stack and its threaded server run many, so `table()` hands out
a handle that builds one Table per thread."""

from __future__ import annotations

import itertools
import threading
import time
from functools import cache
from typing import Any

import boto3

_creating = threading.Lock()  # boto3's default session is not safe to build clients from concurrently


@cache
def client(service: str) -> Any:  # boto3 clients are untyped
    with _creating:
        return boto3.client(service)


class PerThreadTable:
    """A DynamoDB Table handle usable from several threads: each thread gets its own boto3 Table."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._local = threading.local()

    def _table(self) -> Any:
        table = getattr(self._local, "table", None)
        if table is None:
            with _creating:
                table = self._local.table = boto3.resource("dynamodb").Table(self.name)
        return table

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self._table(), attribute)

    def __repr__(self) -> str:
        return f"PerThreadTable({self.name!r})"


@cache
def table(name: str) -> PerThreadTable:
    return PerThreadTable(name)


def reset() -> None:
    """Forget cached clients (tests and the local runtime switch AWS endpoints)."""
    client.cache_clear()
    table.cache_clear()


def batch_get(table: Any, keys: list[dict[str, Any]], consistent: bool = False) -> list[dict[str, Any]]:
    """The items of `table` (a boto3 Table) at `keys`, in no particular order: BatchGetItem by 100 keys, the keys
    DynamoDB leaves unprocessed asked again with a growing pause. The Table's client takes and gives Python values."""
    found: list[dict[str, Any]] = []
    for start in range(0, len(keys), 100):
        request: dict[str, Any] = {table.name: {"Keys": keys[start : start + 100], "ConsistentRead": consistent}}
        for attempt in itertools.count():
            if not request:
                break
            time.sleep(min(0.05 * (2**attempt - 1), 1.0))
            response = table.meta.client.batch_get_item(RequestItems=request)
            found += response.get("Responses", {}).get(table.name, [])
            request = response.get("UnprocessedKeys") or {}
    return found
