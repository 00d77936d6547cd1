"""One cached boto3 client or resource per service per process (created on first use, reused while warm)."""
from __future__ import annotations

from functools import lru_cache

import boto3


@lru_cache(maxsize=None)
def client(service: str):
    return boto3.client(service)


@lru_cache(maxsize=None)
def table(name: str):
    return boto3.resource("dynamodb").Table(name)


def reset() -> None:
    """Forget cached clients (tests and the local runtime switch AWS endpoints)."""
    client.cache_clear()
    table.cache_clear()
