"""Typed errors. Each carries the HTTP status it maps to; `http_status` is the one place that mapping is read."""

from __future__ import annotations


class ConciergeError(Exception):
    status = 500
    code = "internal_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(ConciergeError):
    status = 400
    code = "bad_request"


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


class Gone(ConciergeError):
    """Something that existed and no longer can be used, e.g. a survey answered after its window closed."""

    status = 410
    code = "gone"


def http_status(error: Exception) -> int:
    return error.status if isinstance(error, ConciergeError) else 500
