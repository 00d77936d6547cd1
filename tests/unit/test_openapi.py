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
