"""The checked-in OpenAPI description is the one the code generates (regenerate with `concierge openapi`)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from concierge.conversation.api import TurnRequestBody
from concierge.platform import topology
from concierge.web.openapi import openapi_document, openapi_text

CHECKED_IN = Path(__file__).parents[2] / "docs" / "openapi.json"


def test_checked_in_openapi_is_current():
    assert CHECKED_IN.read_text() == openapi_text(), "docs/openapi.json is stale: run `concierge openapi`"


def test_the_turn_route_documents_its_contract():
    operation = openapi_document()["paths"]["/v1/conversations/{conversation_id}/messages"]["post"]
    assert {"200", "400", "401", "403", "404"} <= set(operation["responses"])
    assert operation["security"] == [{"apiKey": [], "customerToken": []}]
    assert not [p for p in operation["parameters"] if p["in"] == "header"]  # credentials are security schemes
    schema = openapi_document()["components"]["schemas"]["TurnRequestBody"]
    assert schema["required"] == ["text"] and schema["additionalProperties"] is False
    assert set(schema["properties"]) == set(TurnRequestBody.model_fields)


def test_every_route_is_documented_once_with_its_own_operation_id():
    paths = openapi_document()["paths"]
    operations = [paths[r.path][r.method.lower()] for r in topology.ROUTES]
    ids = [o["operationId"] for o in operations]
    assert len(set(ids)) == len(ids) == len(topology.ROUTES)


def test_webhooks_need_no_api_key_and_merges_need_an_operator():
    paths = openapi_document()["paths"]
    assert paths["/v1/channels/whatsapp"]["post"]["security"] == []
    headers = {p["name"].lower() for p in paths["/v1/channels/whatsapp"]["post"]["parameters"]}
    assert "x-hub-signature-256" in headers  # header names are case-insensitive (powertools lists them lower-case)
    merge = paths["/v1/customers/{customer_id}/merges"]["post"]
    assert merge["security"] == [{"operatorToken": []}]  # the sign-in, not the storefront's key
    schemes = openapi_document()["components"]["securitySchemes"]
    assert schemes["customerToken"]["scheme"] == "bearer" and schemes["customerToken"]["bearerFormat"] == "JWT"
    assert schemes["operatorToken"] == {**schemes["operatorToken"], "in": "header", "name": "Authorization"}


def _operations() -> dict[tuple[str, str], dict]:
    return {
        (method.upper(), path): op for path, ops in openapi_document()["paths"].items() for method, op in ops.items()
    }


def test_the_document_holds_exactly_the_topology_routes_with_their_methods():
    assert set(_operations()) == {(r.method, r.path) for r in topology.ROUTES}
    for route in topology.ROUTES:  # each says what it does (not powertools' "GET /path" placeholder)
        summary = _operations()[(route.method, route.path)]["summary"]
        assert summary.endswith(".") and not summary.startswith(route.method), (route.path, summary)


def test_the_resolver_serves_exactly_the_topology_routes_of_the_ingest_function():
    from concierge.web.http_api import routes

    served = {(r.method, r.openapi_path) for r in routes()}
    assert served == {(r.method, r.path) for r in topology.ROUTES if r.target == "ingest"}
    assert topology.TURN_ROUTE.target == "turn-workflow"  # API Gateway starts the workflow: no resolver route


def test_operation_ids_are_unique_and_named_for_what_they_do():
    ids = {key: op["operationId"] for key, op in _operations().items()}
    assert len(set(ids.values())) == len(ids)
    assert ids == {
        ("POST", "/v1/conversations/{conversation_id}/messages"): "postMessage",
        ("GET", "/v1/customers/{customer_id}/data"): "exportCustomerData",
        ("DELETE", "/v1/customers/{customer_id}/product-views"): "clearProductViews",
        ("DELETE", "/v1/customers/{customer_id}"): "eraseCustomer",
        ("GET", "/v1/operator/customers/{customer_id}/data"): "exportCustomerDataForOperator",
        ("DELETE", "/v1/operator/customers/{customer_id}"): "eraseCustomerForOperator",
        ("PUT", "/v1/customers/{customer_id}/preferences"): "setCustomerPreferences",
        ("POST", "/v1/customers/{customer_id}/merges"): "mergeCustomers",
        ("DELETE", "/v1/customers/{customer_id}/merges/{source_customer_id}"): "unmergeCustomers",
        ("GET", "/v1/channels/whatsapp"): "verifyWhatsAppWebhook",
        ("POST", "/v1/channels/whatsapp"): "receiveWhatsAppWebhook",
        ("GET", "/v1/approvals"): "listApprovals",
        ("POST", "/v1/approvals/{action_id}/approve"): "approveAction",
        ("POST", "/v1/approvals/{action_id}/deny"): "denyAction",
        ("GET", "/v1/handoffs"): "listHandoffs",
        ("GET", "/v1/handoffs/{conversation_id}"): "getHandoffPackage",
        ("POST", "/v1/handoffs/{conversation_id}/claim"): "claimHandoff",
        ("POST", "/v1/handoffs/{conversation_id}/messages"): "replyToCustomer",
        ("POST", "/v1/handoffs/{conversation_id}/release"): "handBackToAi",
        ("POST", "/v1/handoffs/{conversation_id}/close"): "closeHandoff",
        ("GET", "/v1/conversations/{conversation_id}/messages"): "listConversationMessages",
        ("GET", "/v1/metrics"): "getMetrics",
        ("GET", "/v1/conversations/{conversation_id}/transcript"): "getTranscript",
        ("POST", "/v1/discounts/{code}/redemptions"): "redeemDiscount",
        ("POST", "/v1/orders"): "recordOrder",
        ("GET", "/v1/offers/report"): "getOffersReport",
        ("GET", "/v1/journeys/report"): "getJourneysReport",
        ("POST", "/v1/signals"): "sendSignal",
        ("GET", "/v1/widget-config"): "getWidgetConfig",
    } | {key: ids[key] for key in ids if "/surveys" in key[1]}


def test_the_api_key_is_required_exactly_where_the_route_says():
    for route in topology.ROUTES:
        security = _operations()[(route.method, route.path)]["security"]
        assert route.api_key == any("apiKey" in requirement for requirement in security), f"{route.method} {route.path}"
    for method in ("GET", "POST"):
        assert _operations()[(method, "/v1/channels/whatsapp")]["security"] == []


def test_request_bodies_only_where_a_route_takes_one():
    bodies = {
        key: op["requestBody"]["content"]["application/json"]["schema"]
        for key, op in _operations().items()
        if "requestBody" in op
    }
    assert bodies.keys() == {
        ("POST", "/v1/conversations/{conversation_id}/messages"),
        ("PUT", "/v1/customers/{customer_id}/preferences"),
        ("POST", "/v1/customers/{customer_id}/merges"),
        ("POST", "/v1/channels/whatsapp"),
        ("POST", "/v1/approvals/{action_id}/approve"),
        ("POST", "/v1/approvals/{action_id}/deny"),
        ("POST", "/v1/handoffs/{conversation_id}/messages"),
        ("POST", "/v1/handoffs/{conversation_id}/release"),
        ("POST", "/v1/handoffs/{conversation_id}/close"),
        ("POST", "/v1/discounts/{code}/redemptions"),
        ("POST", "/v1/orders"),
        ("POST", "/v1/signals"),
    } | {key for key in bodies if "/surveys" in key[1]}
    assert bodies[("POST", "/v1/approvals/{action_id}/deny")] == {"$ref": "#/components/schemas/Decision"}
    assert bodies[("PUT", "/v1/customers/{customer_id}/preferences")] == {"$ref": "#/components/schemas/Preferences"}
    assert bodies[("POST", "/v1/customers/{customer_id}/merges")] == {"$ref": "#/components/schemas/MergeRequest"}
    schemas = openapi_document()["components"]["schemas"]
    assert (
        schemas["Preferences"]["required"] == ["personalization"]
        and schemas["Preferences"]["additionalProperties"] is False
    )
    assert set(schemas["MergeRequest"]["required"]) == {"source_customer_id", "reason"}


def _headers(operation: dict) -> dict[str, bool]:
    return {p["name"]: p["required"] for p in operation["parameters"] if p["in"] == "header"}


def test_each_route_takes_the_credential_of_its_caller():
    operations = _operations()
    expected = {
        "customer": [{"apiKey": [], "customerToken": []}],
        "operator": [{"operatorToken": []}],
    }
    for route in topology.ROUTES:
        security = operations[(route.method, route.path)]["security"]
        if route.caller == "public":  # Meta's signature, or the signed survey link
            assert security == [], route.path
        else:
            assert security == expected[route.caller], route.path
    for key in [
        ("GET", "/v1/customers/{customer_id}/data"),
        ("DELETE", "/v1/customers/{customer_id}"),
        ("PUT", "/v1/customers/{customer_id}/preferences"),
    ]:  # the customer themselves; an operator acting for them uses /v1/operator/...
        assert operations[key]["security"] == expected["customer"], key
    for key in [
        ("GET", "/v1/operator/customers/{customer_id}/data"),
        ("DELETE", "/v1/operator/customers/{customer_id}"),
        ("POST", "/v1/customers/{customer_id}/merges"),
        ("DELETE", "/v1/customers/{customer_id}/merges/{source_customer_id}"),
        ("POST", "/v1/approvals/{action_id}/approve"),
    ]:
        assert operations[key]["security"] == expected["operator"], key
    unmerge = operations[("DELETE", "/v1/customers/{customer_id}/merges/{source_customer_id}")]
    assert [p["name"] for p in unmerge["parameters"] if p["in"] == "path"] == ["customer_id", "source_customer_id"]


def test_the_whatsapp_webhook_is_described_as_meta_calls_it():
    verify = _operations()[("GET", "/v1/channels/whatsapp")]
    query = {p["name"]: p for p in verify["parameters"] if p["in"] == "query"}
    assert set(query) == {"hub.mode", "hub.verify_token", "hub.challenge"} and all(
        p["required"] for p in query.values()
    )
    assert query["hub.mode"]["schema"]["const"] == "subscribe"
    assert _headers(verify) == {}
    assert verify["responses"]["200"]["content"] == {"text/plain": {"schema": {"type": "string"}}}
    receive = _operations()[("POST", "/v1/channels/whatsapp")]
    # optional to the validator: without it the signature check answers 401 (documented), not a 400
    assert _headers(receive) == {"x-hub-signature-256": False}
    assert "401" in receive["responses"]
    assert receive["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/WebhookAck"
    }


def test_each_route_lists_the_errors_its_handler_can_send():
    errors = {key: set(op["responses"]) - {"200"} for key, op in _operations().items()}
    assert errors[("GET", "/v1/customers/{customer_id}/data")] == {"401", "403", "404"}
    assert errors[("DELETE", "/v1/customers/{customer_id}")] == {"401", "403", "404"}
    assert errors[("PUT", "/v1/customers/{customer_id}/preferences")] == {
        "400",
        "401",
        "403",
        "404",  # only for a path no route takes: consent needs no prior data
        "413",
    }
    assert errors[("POST", "/v1/customers/{customer_id}/merges")] == {"400", "401", "404", "409", "413"}
    assert errors[("DELETE", "/v1/customers/{customer_id}/merges/{source_customer_id}")] == {"401", "404"}
    assert errors[("GET", "/v1/channels/whatsapp")] == {"400", "403"}
    assert errors[("POST", "/v1/channels/whatsapp")] == {"400", "401", "403", "413"}
    # every body is read through concierge.web.limits: over its size limit it is a 413
    assert all("413" in op["responses"] for op in _operations().values() if "requestBody" in op)
    merge = _operations()[("POST", "/v1/customers/{customer_id}/merges")]["responses"]
    assert "already merged; unmerge it first." in merge["409"]["description"]
    assert '"Unauthorized"' in merge["401"]["description"]  # the operator authorizer's answer


def test_response_schemas_match_what_the_handlers_return():
    schemas = openapi_document()["components"]["schemas"]
    assert set(schemas["ErasureReceipt"]["required"]) == {"erased", "items_deleted", "objects_deleted"}
    assert set(schemas["PreferencesOut"]["required"]) == {"customer_id", "personalization", "surveys"}
    assert set(schemas["MergeReceipt"]["required"]) == {
        "target_customer_id",
        "source_customer_id",
        "identities_moved",
        "items_copied",
    }
    assert set(schemas["UnmergeReceipt"]["required"]) == {
        "target_customer_id",
        "source_customer_id",
        "identities_restored",
    }
    assert set(schemas["CustomerExport"]["required"]) == {
        "customer_id",
        "exported_at",
        "profile",
        "identities",
        "facts",
        "summaries",
        "audit",
        "conversations",
        "commerce",
    }


def test_every_reference_resolves():
    document = openapi_document()
    refs = set(re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', json.dumps(document)))
    assert refs and refs <= set(document["components"]["schemas"])


def test_a_topology_route_the_resolver_does_not_serve_fails_loudly(monkeypatch):
    extra = topology.Route("GET", "/v1/somewhere-new", "ingest")
    monkeypatch.setattr(topology, "ROUTES", (*topology.ROUTES, extra))
    with pytest.raises(KeyError, match=r"only in topology.*/v1/somewhere-new"):
        openapi_document()


def test_a_resolver_route_missing_from_topology_fails_loudly(monkeypatch):
    kept = tuple(r for r in topology.ROUTES if r.path != "/v1/widget-config")
    monkeypatch.setattr(topology, "ROUTES", kept)
    with pytest.raises(KeyError, match=r"only in the resolver.*/v1/widget-config"):
        openapi_document()


def test_citations_are_plain_text_with_web_links_only():
    from concierge.conversation.api import Citation

    hostile = Citation(
        title="<img src=x onerror=alert(1)>Returns &amp; refunds", url="javascript:alert(document.cookie)"
    )
    assert (hostile.title, hostile.url) == ("Returns & refunds", "")
    assert (
        Citation(title="Shipping", url="https://shop.example/help/shipping").url == "https://shop.example/help/shipping"
    )
    assert Citation(title="Policies", url="/help/policies").url == "/help/policies"
    assert (
        Citation(title="x", url="//evil.example/x").url == "" and Citation(title="x", url="data:text/html,x").url == ""
    )
    # an encoded tag is not decoded into a real one, and "/\\host" is another site to a browser
    assert Citation(title="&lt;img src=x onerror=alert(1)&gt;Returns", url="/help").title == "Returns"
    assert Citation(title="x", url="/\\evil.example/x").url == ""
