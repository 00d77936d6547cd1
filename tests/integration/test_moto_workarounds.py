"""The local runtime's moto workarounds (concierge/local/moto_workarounds.py): each is still needed, and each works.

The "still needed" tests run moto as released, in a fresh interpreter (the workarounds patch moto for the whole
process). When one of them fails after a moto upgrade, moto has fixed what that workaround works around: remove
the workaround, and its test here, rather than loosen the test.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
import time

import boto3
import moto
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.dynamodb.models import table as table_module
from moto.s3.models import S3Backend

from concierge.local import moto_workarounds

REGION = "us-east-1"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": REGION}

_PRELUDE = textwrap.dedent(
    """
    import json, os, threading
    os.environ.update({"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": "us-east-1"})
    import boto3
    from moto import mock_aws
    """
)


def _unpatched_moto(script: str) -> dict[str, object]:
    """Run `script` on moto as released (a fresh interpreter: no workaround installed); it prints one JSON line."""
    done = subprocess.run(
        [sys.executable, "-c", _PRELUDE + textwrap.dedent(script)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def _table(dynamodb: object, name: str = "t") -> object:
    return dynamodb.create_table(  # type: ignore[attr-defined]
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
    )


def test_the_pinned_moto_is_the_installed_one():
    # pyproject.toml pins moto exactly: the workarounds patch its internals.
    assert moto.__version__ == moto_workarounds.MOTO_VERSION


def test_still_needed_moto_copies_the_whole_table_for_a_transaction():
    result = _unpatched_moto(
        """
        from moto.dynamodb import models
        from moto.dynamodb.models.table import Table
        copies = []
        original = models.copy.deepcopy
        def counting(value, memo=None):
            if isinstance(value, Table):
                copies.append(value.name)
            return original(value, memo)
        with mock_aws():
            client = boto3.client("dynamodb")
            client.create_table(TableName="t", BillingMode="PAY_PER_REQUEST",
                AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
            for n in range(20):
                client.put_item(TableName="t", Item={"pk": {"S": f"k{n}"}})
            models.copy.deepcopy = counting
            client.transact_write_items(TransactItems=[{"Put": {"TableName": "t", "Item": {"pk": {"S": "new"}}}}])
        print(json.dumps({"table_copies": len(copies)}))
        """
    )
    assert result["table_copies"] >= 1, "moto no longer copies the table per transaction: workaround 1 can go"


def test_still_needed_moto_lets_two_conditional_writes_both_pass():
    result = _unpatched_moto(
        """
        from moto.dynamodb.models import table as table_module
        barrier = threading.Barrier(2, timeout=10)
        original = table_module.get_filter_expression
        def both_checked(*args, **kwargs):  # each write has read the item and holds its condition here
            expression = original(*args, **kwargs)
            barrier.wait()
            return expression
        with mock_aws():
            client = boto3.client("dynamodb")
            client.create_table(TableName="t", BillingMode="PAY_PER_REQUEST",
                AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
            table_module.get_filter_expression = both_checked
            outcomes = []
            def write(n):
                try:
                    client.put_item(TableName="t", Item={"pk": {"S": "one"}, "writer": {"N": str(n)}},
                                    ConditionExpression="attribute_not_exists(pk)")
                    outcomes.append("written")
                except Exception as error:
                    outcomes.append(type(error).__name__)
            threads = [threading.Thread(target=write, args=(n,)) for n in range(2)]
            for thread in threads: thread.start()
            for thread in threads: thread.join()
        print(json.dumps({"outcomes": sorted(outcomes)}))
        """
    )
    assert result["outcomes"] == ["written", "written"], (
        f"moto now serializes conditional writes ({result['outcomes']}): workaround 2 can go"
    )


def test_still_needed_moto_closes_an_overwritten_objects_buffer():
    result = _unpatched_moto(
        """
        from moto.s3.models import s3_backends
        with mock_aws():
            boto3.client("s3").create_bucket(Bucket="workaround-bucket")
            backend = s3_backends["123456789012"]["aws"]
            first = backend.put_object("workaround-bucket", "index", b"one")
            backend.put_object("workaround-bucket", "index", b"two")  # a second writer replaces the key
            try:
                first.etag  # what the first writer's response reads
                outcome = "readable"
            except ValueError as error:
                outcome = str(error)
        print(json.dumps({"outcome": outcome}))
        """
    )
    assert "closed file" in str(result["outcome"]), (
        f"moto keeps a replaced object readable ({result['outcome']}): workaround 3's reason is gone"
    )


@pytest.fixture
def patched_aws(monkeypatch):
    for key, value in CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        moto_workarounds.install()  # as the local runtime runs
        yield


def _concurrently(count: int, work) -> list[str]:
    outcomes: list[str] = []
    start = threading.Barrier(count)

    def run(n: int) -> None:
        start.wait()
        try:
            work(n)
            outcomes.append("written")
        except ClientError as error:
            outcomes.append(error.response["Error"]["Code"])

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(outcomes)


def test_with_the_workarounds_one_conditional_item_write_wins(patched_aws, monkeypatch):
    condition = table_module.get_filter_expression

    def slow_condition(*args, **kwargs):  # widens the window between the item's read and the write
        expression = condition(*args, **kwargs)
        time.sleep(0.02)
        return expression

    monkeypatch.setattr(table_module, "get_filter_expression", slow_condition)
    client = boto3.client("dynamodb", region_name=REGION)
    _table(boto3.resource("dynamodb", region_name=REGION))

    def write(n: int) -> None:
        client.put_item(
            TableName="t",
            Item={"pk": {"S": "one"}, "writer": {"N": str(n)}},
            ConditionExpression="attribute_not_exists(pk)",
        )

    outcomes = _concurrently(8, write)
    assert outcomes.count("written") == 1
    assert set(outcomes) == {"written", "ConditionalCheckFailedException"}


def test_with_the_workarounds_one_conditional_object_write_wins_and_every_writer_is_answered(patched_aws, monkeypatch):
    checked = S3Backend.get_object

    def slow_check(self, *args, **kwargs):  # widens the window between the condition's read and the write
        found = checked(self, *args, **kwargs)
        time.sleep(0.02)
        return found

    monkeypatch.setattr(S3Backend, "get_object", slow_check)
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="workaround-bucket")

    def write(n: int) -> None:
        s3.put_object(Bucket="workaround-bucket", Key="index", Body=f"writer {n}".encode(), IfNoneMatch="*")

    outcomes = _concurrently(8, write)
    assert outcomes.count("written") == 1
    assert set(outcomes) == {"written", "PreconditionFailed"}
    head = s3.head_object(Bucket="workaround-bucket", Key="index")
    assert (
        s3.get_object(Bucket="workaround-bucket", Key="index", IfMatch=head["ETag"])["Body"]
        .read()
        .startswith(b"writer ")
    )


def test_with_the_workarounds_a_transaction_still_changes_nothing_when_cancelled(patched_aws):
    client = boto3.client("dynamodb", region_name=REGION)
    _table(boto3.resource("dynamodb", region_name=REGION))
    client.put_item(TableName="t", Item={"pk": {"S": "kept"}, "n": {"N": "1"}})
    with pytest.raises(ClientError) as cancelled:
        client.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": "t", "Item": {"pk": {"S": "new"}}}},
                {
                    "Update": {
                        "TableName": "t",
                        "Key": {"pk": {"S": "kept"}},
                        "UpdateExpression": "SET n = :two",
                        "ExpressionAttributeValues": {":two": {"N": "2"}, ":one": {"N": "9"}},
                        "ConditionExpression": "n = :one",
                    }
                },
            ]
        )
    assert cancelled.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert "Item" not in client.get_item(TableName="t", Key={"pk": {"S": "new"}})
    assert client.get_item(TableName="t", Key={"pk": {"S": "kept"}})["Item"]["n"] == {"N": "1"}


def test_a_moto_other_than_the_pinned_one_is_refused(monkeypatch):
    monkeypatch.setattr(moto_workarounds, "_installed", False)
    monkeypatch.setattr(moto, "__version__", "9.9.9")
    with pytest.raises(moto_workarounds.MotoVersionChanged, match="test_moto_workarounds"):
        moto_workarounds.install()


def test_still_needed_moto_reads_the_whole_table_for_a_query_on_one_partition():
    result = _unpatched_moto(
        """
        from moto.dynamodb.models.table import Table
        read = []
        original = Table.all_items
        def counting(self):
            items = original(self)
            read.append(len(items))
            return items
        with mock_aws():
            client = boto3.client("dynamodb")
            client.create_table(TableName="t", BillingMode="PAY_PER_REQUEST",
                AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                      {"AttributeName": "sk", "AttributeType": "S"}],
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}])
            for n in range(30):
                client.put_item(TableName="t", Item={"pk": {"S": f"p{n % 10}"}, "sk": {"S": f"s{n}"}})
            Table.all_items = counting
            client.query(TableName="t", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "p1"}})
        print(json.dumps({"read": max(read)}))
        """
    )
    assert result["read"] == 30, "moto no longer reads the whole table per query: workaround 4 can go"


def test_with_the_workarounds_a_query_gives_its_partitions_items_as_moto_does(patched_aws):
    client = boto3.client("dynamodb", region_name=REGION)
    client.create_table(
        TableName="q",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    )
    for n in range(40):
        client.put_item(TableName="q", Item={"pk": {"S": f"p{n % 4}"}, "sk": {"S": f"s{n:03d}"}, "n": {"N": str(n)}})

    def query(**extra):
        pages, start = [], None
        while True:
            response = client.query(
                TableName="q",
                KeyConditionExpression="pk = :p AND sk BETWEEN :a AND :b",
                ExpressionAttributeValues={":p": {"S": "p1"}, ":a": {"S": "s005"}, ":b": {"S": "s030"}},
                Limit=3,
                **extra,
                **({"ExclusiveStartKey": start} if start else {}),
            )
            pages += [int(i["n"]["N"]) for i in response["Items"]]
            start = response.get("LastEvaluatedKey")
            if not start:
                return pages

    assert query() == [5, 9, 13, 17, 21, 25, 29]
    assert query(ScanIndexForward=False) == [29, 25, 21, 17, 13, 9, 5]
    missing = client.query(
        TableName="q", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "nobody"}}
    )
    assert missing["Items"] == []
