"""A local stand-in of the Anthropic Messages API (`POST /v1/messages`) for tests and offline runs: the real
`anthropic` SDK talks to it over HTTP (base_url). Responses are scripted: each queued entry is a message to
return, an HTTP error (429, 500, 529 overloaded…) or a delay longer than the client's timeout. Every request
body is recorded, so tests can assert the tools, the cache markers and the conversation the SDK sent."""
from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Any

from werkzeug.wrappers import Request, Response

from concierge.local.served import ServedApp


def tool_use(name: str, arguments: dict[str, Any], tool_id: str | None = None) -> dict[str, Any]:
    return {"type": "tool_use", "id": tool_id or f"toolu_{uuid.uuid4().hex[:20]}", "name": name, "input": arguments}


def message(*content: dict[str, Any], stop_reason: str = "tool_use", usage: dict[str, int] | None = None) -> dict[str, Any]:
    return {
        "id": f"msg_{uuid.uuid4().hex[:20]}", "type": "message", "role": "assistant", "model": "stand-in",
        "content": list(content), "stop_reason": stop_reason, "stop_sequence": None,
        "usage": usage or {"input_tokens": 100, "output_tokens": 20, "cache_read_input_tokens": 0, "cache_creation_input_tokens": 0},
    }


def error(status: int, kind: str, text: str) -> dict[str, Any]:
    return {"_status": status, "body": {"type": "error", "error": {"type": kind, "message": text}}}


def delay(seconds: float, then: dict[str, Any]) -> dict[str, Any]:
    return {"_delay": seconds, "then": then}


class MessagesStandIn(ServedApp):
    name = "Messages API stand-in"

    def __init__(self) -> None:
        super().__init__(self._app)
        self.script: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def queue(self, *entries: dict[str, Any]) -> None:
        with self._lock:
            self.script.extend(entries)

    def _app(self, environ, start_response):
        request = Request(environ)
        if request.method != "POST" or not request.path.endswith("/v1/messages"):
            response = Response(json.dumps({"type": "error", "error": {"type": "not_found_error", "message": request.path}}),
                                status=404, mimetype="application/json")
            return response(environ, start_response)
        body = json.loads(request.get_data(as_text=True))
        with self._lock:
            self.requests.append({"headers": dict(request.headers), "body": body})
            entry = self.script.pop(0) if self.script else error(500, "api_error", "the stand-in has no scripted answer")
        if "_delay" in entry:
            time.sleep(entry["_delay"])
            entry = entry["then"]
        if "_status" in entry:
            response = Response(json.dumps(entry["body"]), status=entry["_status"], mimetype="application/json",
                                headers={"retry-after": "0"})
        else:
            response = Response(json.dumps(entry), status=200, mimetype="application/json")
        return response(environ, start_response)
