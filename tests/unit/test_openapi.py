"""The checked-in OpenAPI description is the one the code generates (regenerate with `concierge openapi`)."""
from __future__ import annotations

from pathlib import Path

from concierge.api import TurnRequestBody
from concierge.openapi import openapi_document, openapi_text

CHECKED_IN = Path(__file__).parents[2] / "docs" / "openapi.json"


def test_checked_in_openapi_is_current():
    assert CHECKED_IN.read_text() == openapi_text(), "docs/openapi.json is stale: run `concierge openapi`"


def test_the_turn_route_documents_its_contract():
    operation = openapi_document()["paths"]["/v1/conversations/{conversation_id}/messages"]["post"]
    assert {"200", "400", "401", "403", "404"} <= set(operation["responses"])
    headers = {p["name"] for p in operation["parameters"] if p["in"] == "header"}
    assert headers == {"x-customer-id", "x-customer-signature"}
    schema = openapi_document()["components"]["schemas"]["TurnRequestBody"]
    assert schema["required"] == ["text"] and schema["additionalProperties"] is False
    assert set(schema["properties"]) == set(TurnRequestBody.model_fields)


def test_every_route_is_documented_once_with_its_own_operation_id():
    from concierge import topology

    paths = openapi_document()["paths"]
    operations = [paths[r.path][r.method.lower()] for r in topology.ROUTES]
    ids = [o["operationId"] for o in operations]
    assert len(set(ids)) == len(ids) == len(topology.ROUTES)


def test_webhooks_need_no_api_key_and_merges_need_an_operator():
    paths = openapi_document()["paths"]
    assert paths["/v1/channels/whatsapp"]["post"]["security"] == []
    headers = {p["name"] for p in paths["/v1/channels/whatsapp"]["post"]["parameters"]}
    assert "X-Hub-Signature-256" in headers
    merge = paths["/v1/customers/{customer_id}/merges"]["post"]
    required = {p["name"] for p in merge["parameters"] if p["required"] and p["in"] == "header"}
    assert required == {"x-operator-id", "x-operator-signature"} and merge["security"] == [{"apiKey": []}]
