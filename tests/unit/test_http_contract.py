"""The HTTP resolver answers input that does not match a route's models as the API always has: a 400 whose message
names the field and what is wrong (never powertools' 422), read through concierge.web.limits, and a query declared as a
model that forbids unknown fields refuses unknown parameters."""

from __future__ import annotations

import json
from typing import Any

import pytest

from concierge.web import http_api


class Context:
    function_name, memory_limit_in_mb, aws_request_id = "ingest", 512, "test"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:ingest"


def _no_services() -> http_api.HttpServices:
    raise AssertionError("refused before any service is used")


def call(
    method: str,
    resource: str,
    path: str,
    body: str | None = None,
    query: dict[str, str] | None = None,
    content_type: str = "application/json",
) -> Any:
    parameters = dict(zip(resource.split("/"), path.split("/"), strict=True))
    event = {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": {"Content-Type": content_type},
        "multiValueHeaders": {"Content-Type": [content_type]},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": {k[1:-1]: v for k, v in parameters.items() if k.startswith("{")} or None,
        "requestContext": {},
        "body": body,
        "isBase64Encoded": False,
    }
    response = http_api.resolve(event, Context(), _no_services)  # type: ignore[arg-type]
    return response["statusCode"], json.loads(response["body"])["message"]


PREFERENCES = ("PUT", "/v1/customers/{customer_id}/preferences", "/v1/customers/c-1/preferences")


def test_a_body_of_the_wrong_type_is_a_400_naming_the_field():
    assert call(*PREFERENCES, body='{"personalization": "yes"}') == (
        400,
        "Invalid request body: personalization: Input should be a valid boolean",
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('{"personalization": true, "sizes": 1}', "Invalid request body: sizes: Extra inputs are not permitted"),
        ("[1]", "Invalid request body: body: Input should be a valid dictionary or object to extract fields from"),
        ("{}", "Invalid request body: personalization: Field required"),
        (None, "Invalid request body: body: Field required"),
    ],
)
def test_a_body_that_is_not_the_model_is_a_400_saying_what_is_wrong(body, message):
    assert call(*PREFERENCES, body=body) == (400, message)


def test_a_body_is_read_through_the_limits():
    status, message = call(*PREFERENCES, body='{"personalization": ' + "[" * 40 + "]" * 40 + "}")
    assert status == 400 and message.startswith("The request body is nested deeper than 32 levels")
    status, message = call(*PREFERENCES, body='{"a": "' + "x" * 70_000 + '"}')
    assert status == 413 and message.startswith("The request body is 70,009 bytes")


def test_a_query_model_refuses_unknown_parameters_and_names_missing_ones():
    metrics = ("GET", "/v1/metrics", "/v1/metrics")
    status, message = call(*metrics, query={"from": "2026-01-01", "to": "2026-01-31", "colour": "red"})
    assert (status, message) == (400, "Invalid query: colour: Extra inputs are not permitted")
    status, message = call(*metrics, query={"to": "2026-01-31"})
    assert (status, message) == (400, "Invalid query: from: Field required")
    status, message = call(*metrics, query={"from": "2026-02-01", "to": "2026-01-31"})
    assert status == 400 and message.startswith("Invalid query: query: Value error, 'to' is before 'from'")


def test_a_number_in_the_query_keeps_the_limits_own_words():
    route = ("GET", "/v1/conversations/{conversation_id}/messages", "/v1/conversations/c-1/messages")
    assert call(*route, query={"after": "9" * 30}) == (400, "after is longer than 18 digits.")
    status, message = call(*route, query={"after": "-1"})
    assert status == 400 and "after must be a whole number" in message


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "multipart/form-data", "text/plain"])
def test_a_body_is_json_whatever_its_content_type_says(content_type):
    """As the API always read it: a client sending JSON with another Content-Type (urllib's default form type, a
    multipart without a boundary) is answered on what it sent, never a 500 or a form's parse."""
    status, message = call(*PREFERENCES, body='{"personalization": "yes"}', content_type=content_type)
    assert (status, message) == (400, "Invalid request body: personalization: Input should be a valid boolean")
