"""Property-based tests of the HTTP API from its own OpenAPI document (docs/openapi.json), with schemathesis, against
`concierge dev`: for every operation, generated requests (valid and invalid) must never get a 5xx, and every answer
must be a documented status with a documented content type and body.

Credentials come only from the local session routes' `headers` object (`/_local/session` for a customer,
`/_local/operator-session` for an operator): whatever the credential scheme, those are what a caller sends. The run
is bounded and deterministic (a fixed number of examples per operation, derandomized, no example database).
"""

from __future__ import annotations

import json
import threading
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

pytestmark = pytest.mark.e2e

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
EXAMPLES = 12  # per operation and generation mode; the whole module stays well under two minutes
GROUPS = "groups=agent,supervisor"  # an operator who may do everything an operation documents
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

schema = schemathesis.openapi.from_path(DOCUMENT)

_sent: dict[str, int] = {}
_customer_id: list[str] = []
_lock = threading.Lock()


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


@pytest.fixture(scope="module")
def sessions(base_url: str) -> dict[str, dict[str, str]]:
    """The headers a signed-in customer and a signed-in operator send, as the local stack hands them out."""
    customer_id = _get(f"{base_url}/_local/customers")[0]["id"]
    _customer_id.append(customer_id)
    return {
        "customer": _get(f"{base_url}/_local/session?customer_id={customer_id}")["headers"],
        "operator": _get(f"{base_url}/_local/operator-session?operator_id=schemathesis&{GROUPS}")["headers"],
    }


def _caller(operation: dict[str, Any]) -> str:
    """Who calls an operation: the one its security requirement names (an operator or a customer scheme); without
    one, an operator if the operation mentions operators at all, else the customer."""
    security = json.dumps(operation.get("security", [])).lower()
    for who in ("operator", "customer"):
        if who in security:
            return who
    return "operator" if "operator" in json.dumps(operation).lower() else "customer"


@pytest.fixture(scope="module", autouse=True)
def report():
    yield
    print(f"\nschemathesis: {sum(_sent.values())} requests over {len(_sent)} operations")


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_api_keeps_its_documented_contract(case, base_url, sessions):
    credentials = {name.lower() for headers in sessions.values() for name in headers}
    if case.headers:  # generated credential headers would stand in for the real ones: the session's are sent
        case.headers = {k: v for k, v in case.headers.items() if k.lower() not in credentials}
    caller = _caller(case.operation.definition.raw)
    headers = sessions[caller]
    path = case.path_parameters or {}
    if caller == "customer" and "customer_id" in path and len(str(path["customer_id"])) % 2:
        # half the time the customer's own id, or every call would stop at "only their own data" (403)
        case.path_parameters = {**path, "customer_id": _customer_id[0]}
    with _lock:
        _sent[case.operation.label] = _sent.get(case.operation.label, 0) + 1
    case.call_and_validate(base_url=base_url, headers=headers, checks=CHECKS, timeout=30)
