"""A conflict that clears by itself says when to send the request again (Retry-After); one that does not, doesn't."""

from __future__ import annotations

from concierge.conversation.api import HttpResponse
from concierge.platform.errors import Busy, Conflict, http_status, retry_after


def test_a_busy_conflict_is_a_409_with_retry_after_and_a_plain_one_has_none():
    busy = HttpResponse.from_error(Busy("Another message in this conversation is being processed; please retry."))
    assert (busy.statusCode, busy.headers) == (409, {"Retry-After": "1"})
    assert HttpResponse.from_error(Busy("setting up", retry_after=3)).headers == {"Retry-After": "3"}
    plain = HttpResponse.from_error(Conflict("This discount code was already used."))
    assert (plain.statusCode, plain.headers) == (409, {})
    assert http_status(Busy("x")) == 409 and retry_after(Conflict("x")) is None


def test_an_http_route_answers_a_busy_conflict_with_retry_after_and_a_plain_one_without():
    from concierge.web.http_api import _concierge_error

    busy = _concierge_error(Busy("This approval is being set up; try again in a few seconds.", retry_after=3))
    assert (busy.status_code, busy.headers["Retry-After"]) == (409, "3")
    assert "Retry-After" not in _concierge_error(Conflict("This discount code was already used.")).headers
