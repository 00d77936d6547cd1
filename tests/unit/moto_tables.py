"""The deployed stack's DynamoDB tables on moto, for the unit tests that need a real table (`tables`, `memory`):
import both fixtures into a test module to use them."""

from __future__ import annotations

import boto3
import pytest

from concierge.memory.store import MemoryStore
from concierge.platform import topology


@pytest.fixture
def tables(monkeypatch):
    """Every table of `topology.TABLES`, created as CDK declares it, by logical id."""
    from moto import mock_aws

    for name, value in {
        "AWS_ACCESS_KEY_ID": "t",
        "AWS_SECRET_ACCESS_KEY": "t",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        dynamodb = boto3.resource("dynamodb", region_name="us-east-1")
        yield {t.logical_id: dynamodb.create_table(**t.create_request(t.logical_id)) for t in topology.TABLES}


@pytest.fixture
def memory(tables) -> MemoryStore:
    return MemoryStore(tables[topology.MEMORY_TABLE.logical_id], ttl_days=365)
