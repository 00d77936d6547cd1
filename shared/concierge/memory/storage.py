"""The one way into the memory table for the repositories built on it (see CONTRIBUTING.md, "Storage").

`MemoryStore` (store.py) owns the table handle and hands a `Storage` to each repository; no other module reads or
writes the table (`tests/unit/test_storage.py`). `Storage` is written once for everyone: paging of queries, the TTL
attribute's value (`expiry`), conversion to and from DynamoDB's types (`to_dynamo`/`from_dynamo`), conditional
writes (a failed condition is `ConditionFailed`, or False from `put`), and transactions of typed operations
(`Put`, `Update`, `Delete`; a cancelled one is `Cancelled`, with DynamoDB's reason per operation).

Keys are built in keys.py (or metrics/keys.py), never here.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, cast

from boto3.dynamodb.conditions import Key

from concierge.platform import aws
from concierge.platform.clock import now

Item = dict[str, Any]
ItemKey = Mapping[str, str]


def to_dynamo(value: Any) -> Any:
    """DynamoDB wants Decimal, not float; datetimes are stored as ISO strings; None attributes are left out."""
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: to_dynamo(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [to_dynamo(v) for v in value]
    return value


def from_dynamo(value: Any) -> Any:
    """DynamoDB's Decimals back to int or float."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: from_dynamo(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_dynamo(v) for v in value]
    return value


class ConditionFailed(Exception):
    """A conditional write found the item not as its condition required; nothing was written."""


class Cancelled(Exception):
    """A transaction was cancelled (a condition failed, or a conflicting write): none of it was applied."""

    def __init__(self, reasons: list[str | None]) -> None:
        super().__init__(f"transaction cancelled: {reasons}")
        self.reasons = reasons


@dataclass(frozen=True)
class Put:
    """A transaction operation: write `item` (converted with to_dynamo), if `condition` holds."""

    item: Mapping[str, Any]
    condition: str | None = None
    names: Mapping[str, str] = field(default_factory=dict)
    values: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Update:
    """A transaction operation: `expression` (SET, ADD, REMOVE…) on the item at `key`, if `condition` holds."""

    key: ItemKey
    expression: str
    condition: str | None = None
    names: Mapping[str, str] = field(default_factory=dict)
    values: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Delete:
    """A transaction operation: delete the item at `key`."""

    key: ItemKey


Operation = Put | Update | Delete


def _expression(
    body: dict[str, Any], condition: str | None, names: Mapping[str, str], values: Mapping[str, Any]
) -> dict[str, Any]:
    if condition is not None:
        body["ConditionExpression"] = condition
    if names:
        body["ExpressionAttributeNames"] = dict(names)
    if values:
        body["ExpressionAttributeValues"] = to_dynamo(dict(values))
    return body


class Storage:
    """The memory table with its TTL: what repositories build on. `table` is a boto3 DynamoDB Table (or
    aws.PerThreadTable); boto3 publishes no types."""

    def __init__(self, table: Any, ttl_days: int) -> None:
        self._table = table
        self._ttl = timedelta(days=ttl_days)

    @property
    def _failed(self) -> type[Exception]:
        return cast("type[Exception]", self._table.meta.client.exceptions.ConditionalCheckFailedException)

    def expiry(self) -> int:
        """The TTL attribute's value (epoch seconds) for an item written now."""
        return int((now() + self._ttl).timestamp())

    # single items ----------------------------------------------------------------------------------------------
    def get(self, key: ItemKey, *, consistent: bool = False, plain: bool = True) -> Item | None:
        """The item at `key`, or None. `plain`: numbers as int/float (from_dynamo), else DynamoDB's Decimals."""
        item = self._table.get_item(Key=dict(key), ConsistentRead=consistent).get("Item")
        if item is None:
            return None
        return cast(Item, from_dynamo(item)) if plain else cast(Item, item)

    def get_many(self, keys: Sequence[ItemKey], *, consistent: bool = False) -> list[Item | None]:
        """The items at `keys` (plain numbers), in the order asked, None where there is none: one BatchGetItem
        for up to 100 keys."""
        found = {
            (item["pk"], item["sk"]): cast(Item, from_dynamo(item))
            for item in aws.batch_get(self._table, [dict(key) for key in keys], consistent)
        }
        return [found.get((key["pk"], key["sk"])) for key in keys]

    def put(
        self,
        item: Mapping[str, Any],
        *,
        condition: str | None = None,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> bool:
        """Write `item`; False (and nothing written) when `condition` does not hold."""
        request = _expression({"Item": to_dynamo(dict(item))}, condition, names or {}, values or {})
        try:
            self._table.put_item(**request)
        except self._failed:
            return False
        return True

    def update(
        self,
        key: ItemKey,
        expression: str,
        *,
        condition: str | None = None,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
        returns: bool = False,
    ) -> Item | None:
        """Apply `expression` to the item at `key`; the item as it now is when `returns`. Raises ConditionFailed."""
        request = _expression({"Key": dict(key), "UpdateExpression": expression}, condition, names or {}, values or {})
        if returns:
            request["ReturnValues"] = "ALL_NEW"
        try:
            response = self._table.update_item(**request)
        except self._failed as exc:
            raise ConditionFailed(str(exc)) from None
        return cast(Item, from_dynamo(response["Attributes"])) if returns else None

    def delete(self, key: ItemKey) -> None:
        self._table.delete_item(Key=dict(key))

    # several items ---------------------------------------------------------------------------------------------
    def query(
        self,
        pk: str,
        prefix: str | None = None,
        *,
        between: tuple[str, str] | None = None,
        limit: int | None = None,
        newest_first: bool = False,
        consistent: bool = False,
        projection: str | None = None,
        names: Mapping[str, str] | None = None,
        plain: bool = True,
    ) -> list[Item]:
        """The items of partition `pk` (whose sort key starts with `prefix`, or lies `between` two keys), in sort-key
        order. With a `limit`, one page of at most that many; without, every page."""
        return list(
            self.iterate(
                pk,
                prefix,
                between=between,
                limit=limit,
                newest_first=newest_first,
                consistent=consistent,
                projection=projection,
                names=names,
                plain=plain,
            )
        )

    def iterate(
        self,
        pk: str,
        prefix: str | None = None,
        *,
        between: tuple[str, str] | None = None,
        limit: int | None = None,
        newest_first: bool = False,
        consistent: bool = False,
        projection: str | None = None,
        names: Mapping[str, str] | None = None,
        plain: bool = True,
    ) -> Iterator[Item]:
        """`query`, one page at a time."""
        condition = Key("pk").eq(pk)
        if prefix is not None:
            condition = condition & Key("sk").begins_with(prefix)
        elif between is not None:
            condition = condition & Key("sk").between(*between)
        kwargs: dict[str, Any] = {"KeyConditionExpression": condition}
        if limit is not None:
            kwargs["Limit"] = limit
        if newest_first:
            kwargs["ScanIndexForward"] = False
        if consistent:
            kwargs["ConsistentRead"] = True
        if projection is not None:
            kwargs["ProjectionExpression"] = projection
        if names:
            kwargs["ExpressionAttributeNames"] = dict(names)
        while True:
            response = self._table.query(**kwargs)
            for item in response.get("Items", []):
                yield cast(Item, from_dynamo(item)) if plain else item
            if "LastEvaluatedKey" not in response or limit is not None:
                return
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def listing(self, pk: str) -> list[Item]:
        """A partition used as a list (pending approvals, the handoff queue): its items without keys and TTL."""
        return [{k: v for k, v in item.items() if k not in ("pk", "sk", "expires_at")} for item in self.query(pk)]

    def batch_get(self, wanted: Sequence[ItemKey], *, plain: bool = True) -> list[Item] | None:
        """The items at `wanted` (at most 100 keys, read consistently) that exist; None when DynamoDB left some
        unread (throttled): the caller retries rather than act on part of them."""
        name = self._table.name
        response = self._table.meta.client.batch_get_item(
            RequestItems={name: {"Keys": [dict(k) for k in wanted], "ConsistentRead": True}}
        )
        if response.get("UnprocessedKeys"):
            return None
        items = response["Responses"].get(name, [])
        return [cast(Item, from_dynamo(i)) for i in items] if plain else list(items)

    def put_many(self, puts: Sequence[Put]) -> int:
        """A bulk load (sample data, benchmarks, tests): `puts` in batches, without a transaction; a put with a
        condition is refused, since a batch cannot check one."""
        if any(put.condition is not None for put in puts):
            raise ValueError("a batch write cannot check a condition; write conditional puts with transact")
        with self._table.batch_writer(overwrite_by_pkeys=["pk", "sk"]) as batch:
            for put in puts:
                batch.put_item(Item=to_dynamo(dict(put.item)))
        return len(puts)

    def delete_many(self, wanted: Sequence[tuple[str, str]]) -> int:
        with self._table.batch_writer(overwrite_by_pkeys=["pk", "sk"]) as batch:
            for pk, sk in wanted:
                batch.delete_item(Key={"pk": pk, "sk": sk})
        return len(wanted)

    # transactions ----------------------------------------------------------------------------------------------
    def operation(self, operation: Operation) -> dict[str, Any]:
        """One TransactWriteItems entry."""
        name = self._table.name
        match operation:
            case Put(item, condition, names, values):
                body = {"TableName": name, "Item": to_dynamo(dict(item))}
                return {"Put": _expression(body, condition, names, values)}
            case Update(key, expression, condition, names, values):
                body = {"TableName": name, "Key": dict(key), "UpdateExpression": expression}
                return {"Update": _expression(body, condition, names, values)}
            case Delete(key):
                return {"Delete": {"TableName": name, "Key": dict(key)}}
        raise TypeError(f"not a transaction operation: {operation!r}")

    def transact(self, operations: Sequence[Operation]) -> None:
        """All of `operations` or none (at most 100; DynamoDB's limit). Raises Cancelled with a reason per operation
        ("ConditionalCheckFailed", "None"…)."""
        entries = [self.operation(op) for op in operations]
        client = self._table.meta.client  # the resource's client: it takes and gives Python values, as the table does
        try:
            # The resource's client serializes plain Python values itself (boto3's DynamoDB transformation).
            client.transact_write_items(TransactItems=entries)
        except client.exceptions.TransactionCanceledException as exc:
            reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
            raise Cancelled(reasons) from exc

    def write(self, operations: Sequence[Operation]) -> None:
        """Operations in transactions of at most 100 (each chunk all or nothing)."""
        for start in range(0, len(operations), 100):
            self.transact(operations[start : start + 100])
