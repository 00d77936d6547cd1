"""Limits on what a request may carry, checked before anything trusts it: one reader for JSON request bodies and one
for whole numbers in query strings and paths. Each refusal is a typed error with a message that says what is wrong
(a 400, or a 413 for a body over the size limit), never a 500.

| limit | API bodies | WhatsApp webhook | local import routes |
| --- | --- | --- | --- |
| body size | 64 KiB | 3 MiB (Meta's largest webhook delivery) | 64 MiB |
| nesting depth (objects and arrays) | 32 | 32 | 32 |
| digits of a JSON integer | 20 | 20 | 20 |
| digits of a number in a query string or path | 18 | | |

Why these are needed at all: Python's `json` recurses once per nesting level (a document 10,000 levels deep raises
RecursionError), refuses to turn more than 4,300 digits into an int (ValueError), and reads NaN and Infinity,
which are not JSON. The depth is measured without recursion, by scanning the brackets outside strings, before the
parser sees the text; integers and non-finite numbers are refused by the parser's hooks. No request body Concierge
documents comes near 8 levels or 20 digits (the largest, an import, holds money as decimals and counts as small
integers).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from concierge.platform.errors import BadRequest, PayloadTooLarge

KIB = 1024
MIB = 1024 * KIB


@dataclass(frozen=True)
class JsonLimits:
    max_bytes: int = 64 * KIB
    max_depth: int = 32
    max_integer_digits: int = 20


API = JsonLimits()  # every JSON body of the public API (the largest documented one, a turn, is at most ~16 KiB)
# Meta's webhook deliveries are at most 3 MB (a batch of messages and statuses); the HMAC is checked first.
WEBHOOK = JsonLimits(max_bytes=3 * MIB)
LOCAL_IMPORT = JsonLimits(max_bytes=64 * MIB)  # `concierge import --local` sends a whole store and its help pages

QUERY_NUMBER_DIGITS = 18  # fits a signed 64-bit integer; no query or path number Concierge takes needs more

# A JSON string (complete), a lone quote (an unterminated string: the parser will refuse the text there), a
# bracket, or a number. Strings are consumed whole, so brackets and digits inside them are never counted.
_TOKENS = re.compile(r'"(?:[^"\\]++|\\.)*+"|"|[\[\]{}]|-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?', re.DOTALL)


class _Refused(Exception):
    """Raised inside the parser's hooks; turned into BadRequest with the reader's wording."""


def read_json(raw: bytes | str | None, limits: JsonLimits = API, *, what: str = "request body") -> Any:
    """The parsed JSON of a request body (None for an empty one), or BadRequest / PayloadTooLarge saying why not."""
    if raw is None:
        return None
    size = len(raw) if isinstance(raw, bytes) else len(raw.encode("utf-8", "surrogatepass"))
    if size > limits.max_bytes:
        raise PayloadTooLarge(
            f"The {what} is {size:,} bytes; at most {limits.max_bytes:,} bytes ({_human(limits.max_bytes)}) "
            "are accepted."
        )
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadRequest(f"The {what} is not UTF-8 text (byte {exc.start}).") from exc
    else:
        text = raw
    if not text.strip():
        return None
    _check_tokens(text, limits, what)
    try:
        return json.loads(
            text,
            parse_int=lambda digits: _integer(digits, limits),
            parse_float=_finite,
            parse_constant=_constant,
        )
    except _Refused as exc:
        raise BadRequest(f"The {what} {exc}.") from exc
    except json.JSONDecodeError as exc:
        raise BadRequest(f"Invalid {what}: malformed JSON ({exc.msg} at position {exc.pos}).") from exc
    except (RecursionError, ValueError) as exc:  # not reachable after the scan; a refusal rather than a 500 if it were
        raise BadRequest(f"Invalid {what}: {type(exc).__name__}.") from exc


def _check_tokens(text: str, limits: JsonLimits, what: str) -> None:
    """Depth and integer length, iteratively: the parser would recurse (or fail) on what this refuses."""
    depth = 0
    for token in _TOKENS.finditer(text):
        first = token.group()[0]
        if first == '"':
            if len(token.group()) == 1:
                return  # unterminated string: nothing after it is parsed, json.loads reports where
        elif first in "[{":
            depth += 1
            if depth > limits.max_depth:
                raise BadRequest(
                    f"The {what} is nested deeper than {limits.max_depth} levels (position {token.start()})."
                )
        elif first in "]}":
            depth = max(0, depth - 1)
        else:
            digits = len(token.group().lstrip("-").split(".")[0].split("e")[0].split("E")[0])
            if digits > limits.max_integer_digits:
                raise BadRequest(
                    f"The {what} has a number with more than {limits.max_integer_digits} digits before the "
                    f"decimal point at position {token.start()}."
                    if any(c in token.group() for c in ".eE")
                    else f"The {what} has an integer longer than {limits.max_integer_digits} digits at position "
                    f"{token.start()}."
                )


def _integer(digits: str, limits: JsonLimits) -> int:
    if len(digits.lstrip("-")) > limits.max_integer_digits:  # the scan refuses these first; kept as the guarantee
        raise _Refused(f"has an integer longer than {limits.max_integer_digits} digits")
    return int(digits)


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused(f"has a number too large to represent ({text[:24]}…)")
    return value


def _constant(name: str) -> Any:
    raise _Refused(f"has {name}, which is not a JSON number")


def _human(size: int) -> str:
    return f"{size // MIB} MiB" if size % MIB == 0 else f"{size // KIB} KiB"


def whole_number(
    raw: str | None,
    name: str,
    *,
    default: int | None = None,
    minimum: int = 0,
    maximum: int | None = None,
) -> int:
    """A whole number from a query string or a path: ASCII digits only (not '+1', ' 1', '١' or '1e3'), at most
    QUERY_NUMBER_DIGITS of them, within [minimum, maximum]. BadRequest names the parameter otherwise."""
    if raw is None or raw == "":
        if default is None:
            raise BadRequest(f"{name} is required: a whole number.")
        return default
    if not (raw.isascii() and raw.isdigit()):
        shown = raw if len(raw) <= 24 else raw[:24] + "…"
        raise BadRequest(f"{name} must be a whole number (digits 0-9 only), got {shown!r}.")
    if len(raw) > QUERY_NUMBER_DIGITS:
        raise BadRequest(f"{name} is longer than {QUERY_NUMBER_DIGITS} digits.")
    value = int(raw)
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"{minimum} or more" if maximum is None else f"from {minimum} to {maximum}"
        raise BadRequest(f"{name} must be {bound}, got {value}.")
    return value
