"""A local stand-in for the Graph API messages endpoint, so WhatsApp replies can be sent and read back offline.

It answers `POST /<version>/<phone_number_id>/messages` the way Graph does (the same success and error shapes, a
bearer token checked), keeps what it accepted for tests (`sent`, or `GET /_sent` over HTTP) and can be told to fail
the next requests with 429/5xx to exercise the sender's retries.
"""

from __future__ import annotations

import itertools
import json
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from concierge.local.served import ServedApp

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

# Graph's own codes: 190 invalid token, 100 invalid parameter, 130429 throughput limit, 2 service unavailable.
_INJECTED_ERRORS = {429: (130429, "(#130429) Rate limit hit"), 503: (2, "Service temporarily unavailable")}
_UNKNOWN_ERROR = (1, "An unknown error occurred")


@dataclass(frozen=True)
class _Failure:
    status: int
    retry_after: int | None


class GraphApp:
    """The WSGI app: thread-safe, since the server thread writes what the test thread reads."""

    def __init__(self, access_token: str) -> None:
        self._token = access_token
        self._lock = threading.Lock()
        self._sent: list[dict[str, Any]] = []
        self._failures: list[_Failure] = []
        self._counter = itertools.count(1)
        self._prefix = uuid.uuid4().hex[:12].upper()
        self._routes = Map(
            [
                Rule("/<version>/<phone_number_id>/messages", methods=["POST"], endpoint="messages"),
                Rule("/_sent", methods=["GET"], endpoint="sent"),
            ]
        )

    @property
    def sent(self) -> list[dict[str, Any]]:
        """What was accepted, oldest first: {"phone_number_id", "message_id" (the wamid returned), "body"}."""
        with self._lock:
            return list(self._sent)

    def fail_next(self, status: int, times: int = 1, retry_after: int | None = None) -> None:
        """Answer the next `times` message requests with `status` (and a Retry-After header when given)."""
        if not 400 <= status <= 599:
            raise ValueError(f"fail_next takes an error status (4xx or 5xx), got {status}.")
        with self._lock:
            self._failures.extend([_Failure(status, retry_after)] * times)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        return self._dispatch(Request(environ))(environ, start_response)

    def _dispatch(self, request: Request) -> Response:
        try:
            endpoint, args = self._routes.bind_to_environ(request.environ).match()
        except HTTPException as error:
            return _graph_error(error.code or 404, 803, f"Unknown path components: {request.path}")
        if endpoint == "sent":
            return _json(200, self.sent)
        return self._messages(request, args["phone_number_id"])

    def _messages(self, request: Request, phone_number_id: str) -> Response:
        if request.headers.get("Authorization") != f"Bearer {self._token}":
            return _graph_error(401, 190, "Invalid OAuth access token - Cannot parse access token")
        failure = self._take_failure()
        if failure is not None:
            code, message = _INJECTED_ERRORS.get(failure.status, _UNKNOWN_ERROR)
            headers = {} if failure.retry_after is None else {"Retry-After": str(failure.retry_after)}
            return _graph_error(failure.status, code, message, headers)
        body = request.get_json(silent=True)
        problem = _invalid(body)
        if problem:
            return _graph_error(400, 100, f"(#100) {problem}")
        # _invalid found nothing wrong, so the body is a JSON object
        return _json(200, self._accept(phone_number_id, cast(dict[str, Any], body)))

    def _take_failure(self) -> _Failure | None:
        with self._lock:
            return self._failures.pop(0) if self._failures else None

    def _accept(self, phone_number_id: str, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            message_id = f"wamid.{self._prefix}{next(self._counter):08d}"
            self._sent.append({"phone_number_id": phone_number_id, "message_id": message_id, "body": body})
        digits = "".join(ch for ch in str(body["to"]) if ch.isdigit())
        return {
            "messaging_product": "whatsapp",
            "contacts": [{"input": body["to"], "wa_id": digits}],
            "messages": [{"id": message_id}],
        }


def _invalid(body: Any) -> str | None:
    """Why Graph would refuse this body, for the message types the platform sends; None when it is fine."""
    if not isinstance(body, dict):
        return "The request body must be a JSON object."
    if body.get("messaging_product") != "whatsapp":
        return "The parameter messaging_product is required."
    if not body.get("to"):
        return "The parameter to is required."
    if body.get("type") == "text":
        text = body.get("text")
        return None if isinstance(text, dict) and text.get("body") else "The parameter text['body'] is required."
    if body.get("type") == "interactive":
        return _invalid_interactive(body.get("interactive"))
    return f"Unsupported message type {body.get('type')!r}."


def _invalid_interactive(interactive: Any) -> str | None:
    if not isinstance(interactive, dict) or interactive.get("type") not in ("button", "list"):
        return "Only interactive messages of type 'button' or 'list' are supported here."
    if not (interactive.get("body") or {}).get("text"):
        return "The parameter interactive['body']['text'] is required."
    if interactive["type"] == "list":
        action = interactive.get("action") or {}
        rows = [row for section in action.get("sections") or [] for row in section.get("rows") or []]
        if not action.get("button") or not 1 <= len(rows) <= 10:
            return "interactive['action'] needs a button and 1 to 10 rows over its sections."
        return None
    buttons = (interactive.get("action") or {}).get("buttons")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
        return "interactive['action']['buttons'] must hold 1 to 3 buttons."
    return None


def _json(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(payload), status=status, headers=headers, mimetype="application/json")


def _graph_error(status: int, code: int, message: str, headers: dict[str, str] | None = None) -> Response:
    error = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": uuid.uuid4().hex[:22]}
    return _json(status, {"error": error}, headers)


class GraphStandIn(ServedApp):
    """Serves a `GraphApp` on 127.0.0.1 from a daemon thread; point `WhatsAppSender(base_url=...)` at `url`."""

    name = "Graph stand-in"
    app: GraphApp

    def __init__(self, access_token: str, port: int = 0) -> None:
        super().__init__(GraphApp(access_token), port)

    @property
    def sent(self) -> list[dict[str, Any]]:
        return self.app.sent

    def fail_next(self, status: int, times: int = 1, retry_after: int | None = None) -> None:
        self.app.fail_next(status, times, retry_after)
