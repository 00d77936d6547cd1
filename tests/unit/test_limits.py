"""Request limits (concierge.web.limits): what is refused, with which status and which words, and that nothing here can
raise RecursionError or Python's int-string ValueError (each of those was a 500)."""

from __future__ import annotations

import json

import pytest

from concierge.platform.errors import BadRequest, PayloadTooLarge, http_status
from concierge.web import limits
from concierge.web.limits import API, LOCAL_IMPORT, WEBHOOK, JsonLimits, read_json, whole_number


def refusal(raw, lim: JsonLimits = API) -> BadRequest:
    with pytest.raises(BadRequest) as caught:
        read_json(raw, lim)
    return caught.value


def test_ordinary_bodies_are_read_as_json():
    body = {"text": "where is my order?", "channel": "web", "n": [1, -2, 3.5, 2e5], "ok": True, "none": None}
    assert read_json(json.dumps(body)) == body
    assert read_json(json.dumps(body).encode()) == body
    assert read_json(None) is None and read_json("") is None and read_json(b"  \n") is None


@pytest.mark.parametrize("opening", ["[", '{"a":'])
def test_ten_thousand_levels_are_refused_without_recursion(opening):
    error = refusal(opening * 10_000)
    assert http_status(error) == 400
    assert error.message.startswith("The request body is nested deeper than 32 levels")


def test_depth_is_counted_outside_strings_only():
    assert read_json(json.dumps({"text": "[" * 1000 + "{" * 1000})) == {"text": "[" * 1000 + "{" * 1000}
    assert read_json(json.dumps({"text": 'a "quoted" \\ [[[ ]'})) == {"text": 'a "quoted" \\ [[[ ]'}
    deepest = "[" * 32 + "]" * 32
    assert read_json(deepest) is not None
    assert "nested deeper than 32 levels" in refusal("[" * 33 + "]" * 33).message


def test_an_unterminated_string_is_malformed_json_even_with_brackets_after_it():
    error = refusal('{"a": "never closed ' + "[" * 5000)
    assert error.message.startswith("Invalid request body: malformed JSON")


def test_a_five_thousand_digit_integer_is_refused_with_where_it_is():
    error = refusal('{"score": ' + "9" * 5000 + "}")
    assert http_status(error) == 400
    assert error.message == "The request body has an integer longer than 20 digits at position 10."
    assert "longer than 20 digits" in refusal("[-" + "1" * 21 + "]").message
    assert read_json("[" + "9" * 20 + "]") == [int("9" * 20)]


def test_numbers_python_would_turn_into_infinity_or_nan_are_refused():
    assert "more than 20 digits before the decimal point" in refusal("[" + "1" * 400 + ".5]").message
    assert "too large to represent" in refusal("[1e999]").message
    for constant in ("NaN", "Infinity", "-Infinity"):
        assert f"has {constant}, which is not a JSON number" in refusal(f'{{"x": {constant}}}').message


def test_an_oversize_body_is_413_and_says_the_limit():
    error = refusal(b'{"text": "' + b"a" * (64 * 1024) + b'"}')
    assert isinstance(error, PayloadTooLarge) and http_status(error) == 413
    assert error.message == "The request body is 65,548 bytes; at most 65,536 bytes (64 KiB) are accepted."


def test_size_is_counted_in_utf8_bytes_not_characters():
    text = json.dumps({"text": "é" * 33_000}, ensure_ascii=False)  # 33,000 characters, 66,000+ bytes
    assert isinstance(refusal(text), PayloadTooLarge)


def test_webhook_and_import_limits_are_larger():
    body = json.dumps({"entry": ["x" * 1000] * 1000})  # about 1 MB: a large but real webhook batch
    assert read_json(body, WEBHOOK) is not None
    assert isinstance(refusal(body), PayloadTooLarge)
    assert WEBHOOK.max_bytes == 3 * 1024 * 1024 and LOCAL_IMPORT.max_bytes == 64 * 1024 * 1024
    assert WEBHOOK.max_depth == API.max_depth == 32


def test_malformed_and_non_utf8_bodies_are_400_with_the_reason():
    assert refusal('{"text": "hi"').message.startswith("Invalid request body: malformed JSON")
    assert refusal(b"\xff\xfe{}").message == "The request body is not UTF-8 text (byte 0)."
    with pytest.raises(BadRequest, match="The webhook body is nested deeper"):
        read_json("[" * 100, WEBHOOK, what="webhook body")


@pytest.mark.parametrize(
    ("raw", "expected"), [(None, 7), ("", 7), ("0", 0), ("42", 42), ("9" * limits.QUERY_NUMBER_DIGITS, 10**18 - 1)]
)
def test_whole_numbers_from_a_query(raw, expected):
    assert whole_number(raw, "after", default=7) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("9" * 5000, "after is longer than 18 digits."),
        ("-1", "after must be a whole number (digits 0-9 only), got '-1'."),
        ("+1", "after must be a whole number (digits 0-9 only), got '+1'."),
        ("١٢", "after must be a whole number (digits 0-9 only), got '١٢'."),  # int() would read Arabic-Indic digits
        ("²", "after must be a whole number (digits 0-9 only), got '²'."),  # isdigit() alone says yes, int() fails
        ("1e3", "after must be a whole number (digits 0-9 only), got '1e3'."),
        ("x" * 100, "after must be a whole number (digits 0-9 only), got '" + "x" * 24 + "…'."),
    ],
)
def test_bad_whole_numbers_are_400_naming_the_parameter(raw, message):
    with pytest.raises(BadRequest) as caught:
        whole_number(raw, "after", default=0)
    assert caught.value.message == message and http_status(caught.value) == 400


def test_whole_number_bounds_and_required():
    with pytest.raises(BadRequest, match="seed is required"):
        whole_number(None, "seed")
    with pytest.raises(BadRequest, match="score must be from 0 to 10, got 11"):
        whole_number("11", "score", maximum=10)
    assert whole_number("10", "score", maximum=10) == 10


@pytest.mark.parametrize(("text", "expected"), [("2", 1), ("٣", 2), ("²", None), ("9" * 5000, None), ("the second", 1)])
def test_a_choice_the_customer_types_never_raises(text, expected):
    from concierge.engine.deterministic import pick_choice

    assert pick_choice(text, 3) == expected
