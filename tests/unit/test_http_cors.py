"""The ingest function's side of CORS and the widget's configuration route: a storefront's page of an allowed origin
may read the answers of the routes the chat widget calls, and nothing else; the widget learns the shop's name and
colours without anyone signing in."""

from __future__ import annotations

import json
from typing import Any, cast

from concierge.platform import topology
from concierge.store.merchant import Brand, MerchantProfile
from concierge.web import http_api
from concierge.web.http_api import HttpServices

SHOP = "https://shop.example"


def event(method: str, path: str, origin: str | None = None) -> dict[str, Any]:
    headers = {"Accept": "application/json", **({"Origin": origin} if origin else {})}
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {"stage": "prod", "httpMethod": method, "path": f"/prod{path}", "requestId": "r1"},
        "body": None,
        "isBase64Encoded": False,
    }


def services(profile: MerchantProfile) -> HttpServices:
    # the widget's route reads the merchant's profile and nothing else
    return HttpServices(privacy=cast(Any, None), signing_keys=cast(Any, None), whatsapp=None, merchant=lambda: profile)


PROFILE = MerchantProfile.model_validate(
    {
        "name": "Bean & Burr Coffee",
        "return_window_days": 14,
        "max_auto_refund": "80.00",
        "brand": {"primary_colour": "#7a1f3d"},
    }
)


def widget_config(origin: str | None, allowed: tuple[str, ...]) -> dict[str, Any]:
    response = http_api.resolve(
        event("GET", "/v1/widget-config", origin), cast(Any, None), lambda: services(PROFILE), allowed
    )
    return response


def test_the_widget_gets_the_shops_name_and_readable_colours_without_signing_in():
    response = widget_config(None, ())
    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == {
        "name": "Bean & Burr Coffee",
        "brand": {"primary_colour": "#7a1f3d", "text_on_primary": "#ffffff"},  # white reads better on burgundy
    }
    assert response["multiValueHeaders"]["Cache-Control"] == ["public, max-age=300"]
    plain = MerchantProfile.model_validate({"name": "Volt", "return_window_days": 30, "max_auto_refund": "100"})
    assert plain.widget_config().brand.model_dump() == Brand().colours()  # neutral colours without a brand


def test_a_page_of_an_allowed_origin_may_read_the_answer_and_another_origins_may_not():
    allowed = widget_config(SHOP, (SHOP,))["multiValueHeaders"]
    assert allowed["Access-Control-Allow-Origin"] == [SHOP]
    assert allowed["Access-Control-Expose-Headers"] == ["Retry-After"]
    assert allowed["Vary"] == ["Origin"]  # a cache must not hand one origin's answer to another
    other = widget_config("https://evil.example", (SHOP,))["multiValueHeaders"]
    assert "Access-Control-Allow-Origin" not in other and other["Vary"] == ["Origin"]
    assert "Access-Control-Allow-Origin" not in widget_config(SHOP, ())["multiValueHeaders"]  # none configured


def test_operator_routes_and_webhooks_never_answer_another_origin():
    for route in topology.ROUTES:
        response: dict[str, Any] = {"statusCode": 200, "multiValueHeaders": {}}
        http_api.cors(event(route.method, route.path, SHOP), response, (SHOP,))
        given = "Access-Control-Allow-Origin" in response["multiValueHeaders"]
        assert given is bool(route.cors), route.path
        assert not (given and route.caller == "operator"), route.path
    assert {r.path for r in topology.ROUTES if r.cors} >= {topology.TURN_ROUTE.path, "/v1/widget-config"}
