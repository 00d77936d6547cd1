"""Typed errors. Each carries the HTTP status it maps to; `http_status` is the one place that mapping is read."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


class ConciergeError(Exception):
    status = 500
    code = "internal_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(ConciergeError):
    status = 400
    code = "bad_request"


class PayloadTooLarge(BadRequest):
    """A request body over the size limit of its route (concierge.web.limits): a bad request, answered 413."""

    status = 413
    code = "payload_too_large"


class Unauthorized(ConciergeError):
    status = 401
    code = "unauthorized"


class Forbidden(ConciergeError):
    status = 403
    code = "forbidden"


class NotFound(ConciergeError):
    status = 404
    code = "not_found"


class Conflict(ConciergeError):
    status = 409
    code = "conflict"


class Busy(Conflict):
    """A conflict that clears by itself (another message of the conversation, another answer, a setup under way),
    and nothing of the request was kept: the same request sent again after `retry_after` seconds goes through.
    Answered 409 with a Retry-After header."""

    code = "busy"

    def __init__(self, message: str, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Gone(ConciergeError):
    """Something that existed and no longer can be used, e.g. a survey answered after its window closed."""

    status = 410
    code = "gone"


# A refusal several modules send (a conversation unknown, or another customer's: the two are not told apart).
CONVERSATION_NOT_FOUND = "Conversation not found."


# A request that does not match its model (pydantic's errors, each `where: what is wrong`): a 400 saying which.
INVALID = "Invalid {what}: {problems}"


def invalid(what: str, problems: Iterable[Mapping[str, Any]], root: str) -> BadRequest:
    """The 400 for input that does not match its model: `problems` are pydantic's errors, each located from the
    field down (`root` names the whole input: "body", "query"), e.g. "Invalid request body: text: Field required"."""
    listed = "; ".join(f"{'.'.join(map(str, p['loc'])) or root}: {p['msg']}" for p in problems)
    return BadRequest(INVALID.format(what=what, problems=listed))


def http_status(error: Exception) -> int:
    return error.status if isinstance(error, ConciergeError) else 500


def retry_after(error: Exception) -> int | None:
    """Seconds after which the same request may succeed (the Retry-After header), None when retrying won't help."""
    return error.retry_after if isinstance(error, Busy) else None
