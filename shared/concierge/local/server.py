"""The local HTTP API: the same routes, authentication and request validation as API Gateway, in front of
the same turn workflow; plus the chat page and a few local-only helpers under /_local/."""
from __future__ import annotations

import json
import re
from pathlib import Path

from pydantic import ValidationError
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from concierge import topology
from concierge.api import TurnRequestBody
from concierge.auth import sign_customer_id
from concierge.local.stack import LocalStack

STATIC = Path(__file__).with_name("static")


def json_response(payload, status: int = 200) -> Response:
    return Response(json.dumps(payload), status=status, mimetype="application/json")


def _werkzeug_path(path: str) -> str:
    return re.sub(r"\{(\w+)\}", r"<\1>", path)


class LocalApi:
    def __init__(self, stack: LocalStack, api_key: str, signing_secret: str, customers: list[dict]) -> None:
        self.stack = stack
        self.api_key = api_key
        self.signing_secret = signing_secret
        self.customers = customers
        rules = [Rule(_werkzeug_path(r.path), methods=[r.method], endpoint=("api", r)) for r in topology.ROUTES]
        rules += [
            Rule("/", methods=["GET"], endpoint=("local", "chat")),
            Rule("/_local/health", methods=["GET"], endpoint=("local", "health")),
            Rule("/_local/customers", methods=["GET"], endpoint=("local", "customers")),
            Rule("/_local/session", methods=["GET"], endpoint=("local", "session")),
            Rule("/_local/outbox", methods=["GET"], endpoint=("local", "outbox")),
            Rule("/_local/whatsapp-sent", methods=["GET"], endpoint=("local", "whatsapp-sent")),
            Rule("/_local/inbound-email", methods=["POST"], endpoint=("local", "inbound-email")),
        ]
        self.url_map = Map(rules)

    def __call__(self, environ, start_response):
        request = Request(environ)
        try:
            (kind, target), arguments = self.url_map.bind_to_environ(environ).match()
        except MethodNotAllowed:
            response = json_response({"message": f"Method {request.method} is not allowed on {request.path}."}, 405)
        except NotFound:
            routes = ", ".join(f"{r.method} {r.path}" for r in topology.ROUTES)
            response = json_response({"message": f"No route for {request.method} {request.path}. Routes: {routes}."}, 404)
        except HTTPException as exc:
            response = json_response({"message": exc.description}, exc.code or 400)
        else:
            response = self.api(request, target, arguments) if kind == "api" else self.local(request, target)
        return response(environ, start_response)

    # API Gateway's part ------------------------------------------------------------------
    def api(self, request: Request, route: topology.Route, path: dict[str, str]) -> Response:
        if route.api_key and request.headers.get("x-api-key") != self.api_key:
            return json_response({"message": "Forbidden"}, 403)
        if route.target == "ingest":  # Lambda proxy integration
            status, headers, text = self.stack.proxy(
                request.method, request.path, path, dict(request.headers.items()), dict(request.args.items()), request.get_data()
            )
            return Response(text, status=status, headers=headers)
        try:
            body = json.loads(request.get_data(as_text=True) or "null")
        except json.JSONDecodeError as exc:
            return json_response({"message": f"Invalid request body: malformed JSON ({exc.msg} at position {exc.pos})."}, 400)
        try:
            TurnRequestBody.model_validate(body)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors())
            return json_response({"message": f"Invalid request body: {problems}"}, 400)
        execution_input = {"body": body, "header": dict(request.headers.items()), "path": path}
        status, text = self.stack.run_turn(execution_input)
        return Response(text, status=status, mimetype="application/json")

    # local-only helpers ------------------------------------------------------------------
    def local(self, request: Request, target: str) -> Response:
        if target == "chat":
            return Response((STATIC / "chat.html").read_text(), mimetype="text/html")
        if target == "health":
            return json_response({"status": "ok", "dead_letters": self.stack.dead_letters()})
        if target == "customers":
            return json_response(self.customers)
        if target == "session":
            customer_id = request.args.get("customer_id", "")
            if customer_id not in {c["id"] for c in self.customers}:
                return json_response({"message": f"Unknown demo customer {customer_id!r}."}, 404)
            return json_response(
                {"api_key": self.api_key, "customer_id": customer_id, "signature": sign_customer_id(customer_id, self.signing_secret)}
            )
        if target == "whatsapp-sent":
            return json_response(self.stack.graph.sent)
        if target == "inbound-email":  # simulate SES receiving: ?spf=FAIL to try an unverified sender
            message_id = self.stack.receive_email(
                request.get_data(), spf=request.args.get("spf", "PASS"), dkim=request.args.get("dkim", "PASS")
            )
            return json_response({"message_id": message_id}, 202)
        emails = self.stack.outbox()
        wanted = request.args.get("to")
        if wanted:
            emails = [e for e in emails if wanted in e["to"]]
        return json_response(emails)
