"""The shared DynamoDB handle is safe to use from several threads at once (the local stack serves turns in
threads): a query never loses its key condition to another thread's query (DynamoDB on moto)."""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
from boto3.dynamodb.conditions import Key

from concierge.platform import aws

THREADS = 8
QUERIES = 25


@pytest.fixture
def memory_table(monkeypatch):
    from moto import mock_aws

    for name, value in {
        "AWS_ACCESS_KEY_ID": "t",
        "AWS_SECRET_ACCESS_KEY": "t",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        aws.reset()
        boto3.client("dynamodb").create_table(
            TableName="threads",
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in ("pk", "sk")],
        )
        for customer in range(THREADS):
            aws.table("threads").put_item(Item={"pk": f"CUST#{customer}", "sk": "OPEN#c1"})
        yield aws.table("threads")
        aws.reset()


@pytest.fixture
def eager_thread_switches():
    """Let threads take turns far more often than every 5 ms, so that interleavings a loaded machine produces
    now and then happen in every run."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(interval)


def test_concurrent_queries_through_one_handle_each_get_their_own_answer(memory_table, eager_thread_switches):
    def ask(customer: int) -> list[str]:
        answers = []
        for _ in range(QUERIES):
            items = memory_table.query(
                KeyConditionExpression=Key("pk").eq(f"CUST#{customer}") & Key("sk").begins_with("OPEN#")
            )["Items"]
            answers.extend(item["pk"] for item in items)
        return answers

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        results = list(pool.map(ask, range(THREADS)))
    assert results == [[f"CUST#{customer}"] * QUERIES for customer in range(THREADS)]


def test_the_handle_is_the_same_table_everywhere(memory_table):
    assert memory_table is aws.table("threads")
    assert memory_table.name == "threads"
    assert memory_table.meta.client.exceptions.ConditionalCheckFailedException
