"""The local HTTP API, a thin stand-in for API Gateway: its part (the API key, the operator authorizer, the turn
route's request validation against TurnRequestBody, CORS) in front of the same code it fronts deployed. The turn route
runs the same turn workflow; every other route goes to the ingest function as the Lambda proxy event API Gateway
builds (`LocalStack.proxy`), and the function's resolver (concierge.web.http_api, the contract) answers it. Also: the
chat page, the embeddable chat widget (/widget.js, docs/widget.md), the operators' pages (the console and the KPI
dashboard, served as the static site serves them: concierge/web/sites.py), and a few local-only helpers under
/_local/."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, cast

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from concierge.conversation.api import TurnRequestBody
from concierge.local import operators
from concierge.local.stack import LocalStack
from concierge.platform import topology
from concierge.platform.errors import ConciergeError, http_status, invalid
from concierge.web.auth import OPERATOR_GROUPS, SigningKeys, mint_customer_token
from concierge.web.limits import LOCAL_IMPORT, read_json, whole_number
from concierge.web.sites import (
    OPERATOR_PAGES,
    SITE_CONFIG,
    SITE_FILES,
    LocalSignIn,
    SiteConfig,
    content_security_policy,
)

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

    from concierge.knowledge.documents import Document

STATIC = Path(__file__).with_name("static")


def json_response(payload: Any, status: int = 200) -> Response:
    return Response(json.dumps(payload), status=status, mimetype="application/json")


def _werkzeug_path(path: str) -> str:
    return re.sub(r"\{(\w+)\}", r"<\1>", path)


class LocalApi:
    CUSTOMER_TOKEN_SECONDS: ClassVar[int] = 3600  # as a storefront would: short-lived, minted again when needed

    def __init__(
        self,
        stack: LocalStack,
        api_key: str,
        signing_secret: str,
        customers: list[dict[str, Any]],
        allowed_origins: Iterable[str] | None = None,
    ) -> None:
        self.stack = stack
        self.api_key = api_key
        self.signing_keys = SigningKeys.parse(signing_secret)
        self.customers = customers
        if allowed_origins is None:  # CONCIERGE_ALLOWED_ORIGINS
            from concierge.platform.settings import IngestSettings, current_settings

            allowed_origins = current_settings(IngestSettings).allowed_origins
        self.allowed_origins = frozenset(allowed_origins)
        # The paths a page of an allowed origin may call, and with which methods (`Route.cors`: the customer's routes
        # and the widget's configuration). Operator routes, webhooks and the local helpers stay same-origin.
        self.cors_map = Map(
            [Rule(_werkzeug_path(r.path), methods=[r.method], endpoint=r.path) for r in topology.ROUTES if r.cors]
        )
        rules = [Rule(_werkzeug_path(r.path), methods=[r.method], endpoint=("api", r)) for r in topology.ROUTES]
        rules += [
            Rule("/", methods=["GET"], endpoint=("local", "chat")),
            Rule("/widget.js", methods=["GET"], endpoint=("local", "widget")),
            Rule("/_local/health", methods=["GET"], endpoint=("local", "health")),
            Rule("/_local/customers", methods=["GET"], endpoint=("local", "customers")),
            Rule("/_local/store", methods=["GET"], endpoint=("local", "store")),
            Rule("/_local/import", methods=["POST"], endpoint=("local", "import")),
            Rule("/_local/knowledge-sync", methods=["POST"], endpoint=("local", "knowledge-sync")),
            Rule("/_local/churn-export", methods=["POST"], endpoint=("local", "churn-export")),
            Rule("/_local/churn-model", methods=["POST"], endpoint=("local", "churn-model")),
            Rule("/_local/churn-run", methods=["POST"], endpoint=("local", "churn-run")),
            Rule("/_local/session", methods=["GET"], endpoint=("local", "session")),
            Rule("/console", methods=["GET"], endpoint=("local", "console")),
            Rule(f"/{SITE_CONFIG}", methods=["GET"], endpoint=("local", "site-config")),
            Rule("/_local/operator-session", methods=["GET"], endpoint=("local", "operator-session")),
            Rule("/dashboard", methods=["GET"], endpoint=("local", "dashboard-redirect")),
            Rule("/dashboard/", methods=["GET"], endpoint=("local", "dashboard")),
            Rule("/_local/demo-month", methods=["GET", "POST"], endpoint=("local", "demo-month")),
            Rule("/_local/outbox", methods=["GET"], endpoint=("local", "outbox")),
            Rule("/_local/whatsapp-sent", methods=["GET"], endpoint=("local", "whatsapp-sent")),
            Rule("/_local/inbound-email", methods=["POST"], endpoint=("local", "inbound-email")),
        ]
        # The static site's files at its root, as deployed (/console.html, /signin.js, ...); widget.js has its own.
        rules += [
            Rule(f"/{name}", methods=["GET"], endpoint=("site", name)) for name in SITE_FILES if name != "widget.js"
        ]
        self.url_map = Map(rules)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        cors_methods = self.cors_methods(request.path)
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            response = self.preflight(request, cors_methods)
        else:
            response = self.route(request, environ)
            origin = request.headers.get("Origin")
            if cors_methods and origin in self.allowed_origins:
                response.headers["Access-Control-Allow-Origin"] = origin
                response.headers["Access-Control-Expose-Headers"] = ", ".join(topology.CORS_EXPOSED_HEADERS)
        if cors_methods:  # the answer depends on the Origin: a cache must not give one origin's to another
            response.vary.add("Origin")
        return response(environ, start_response)

    def route(self, request: Request, environ: WSGIEnvironment) -> Response:
        try:
            (kind, target), arguments = self.url_map.bind_to_environ(environ).match()
        except MethodNotAllowed:
            return json_response({"message": f"Method {request.method} is not allowed on {request.path}."}, 405)
        except NotFound:
            routes = ", ".join(f"{r.method} {r.path}" for r in topology.ROUTES)
            return json_response({"message": f"No route for {request.method} {request.path}. Routes: {routes}."}, 404)
        except HTTPException as exc:
            return json_response({"message": exc.description}, exc.code or 400)
        # the routes' default converter: every path argument is a string
        path = cast(dict[str, str], arguments)
        if kind == "api":
            return self.api(request, target, path)
        return self.site_file(target) if kind == "site" else self.local(request, target)

    # CORS: the chat widget on a storefront's page calls this API from the storefront's origin --------------------
    def cors_methods(self, path: str) -> list[str]:
        """The methods a page of an allowed origin may use on `path`; empty where no other origin may call."""
        methods = self.cors_map.bind("cors").allowed_methods(path)
        return sorted(m for m in methods if m not in ("HEAD", "OPTIONS"))

    def preflight(self, request: Request, cors_methods: list[str]) -> Response:
        """The browser asks before a cross-origin call with our headers: yes, with exactly what is allowed, or 403
        without any Access-Control-Allow-* header (the browser then refuses the call)."""
        origin = request.headers.get("Origin", "")
        method = request.headers.get("Access-Control-Request-Method", "").upper()
        asked = {h.strip().lower() for h in request.headers.get("Access-Control-Request-Headers", "").split(",")}
        refused = sorted(asked - set(topology.CORS_REQUEST_HEADERS) - {""})
        if not cors_methods:
            message = f"{request.path} cannot be called from another origin: only the customer routes can."
        elif origin not in self.allowed_origins:
            message = (
                f"The origin {origin or '(none)'} may not call this API from a browser: add it to "
                "CONCIERGE_ALLOWED_ORIGINS (docs/widget.md)."
            )
        elif method not in cors_methods:
            message = f"{method or '(no method)'} is not allowed on {request.path} from another origin."
        elif refused:
            message = f"The request header {refused[0]} is not allowed from another origin."
        else:
            response = Response(
                status=204,
                headers={
                    "Access-Control-Allow-Origin": origin,
                    "Access-Control-Allow-Methods": ", ".join(cors_methods),
                    "Access-Control-Allow-Headers": ", ".join(topology.CORS_REQUEST_HEADERS),
                    "Access-Control-Max-Age": str(topology.CORS_MAX_AGE_SECONDS),
                },
            )
            del response.headers["Content-Type"]  # no body
            response.vary.update(("Access-Control-Request-Method", "Access-Control-Request-Headers"))
            return response
        return json_response({"message": message}, 403)

    # API Gateway's part ------------------------------------------------------------------
    def api(self, request: Request, route: topology.Route, path: dict[str, str]) -> Response:
        if route.api_key and request.headers.get("x-api-key") != self.api_key:
            return json_response({"message": "Forbidden"}, 403)
        if route.target == "ingest":  # Lambda proxy integration
            status, headers, text = self.stack.proxy(
                request.method,
                request.path,
                path,
                dict(request.headers.items()),
                dict(request.args.items()),
                request.get_data(),
            )
            return Response(text, status=status, headers=headers)
        try:
            body = read_json(request.get_data())  # API Gateway refuses these before the workflow starts
        except ConciergeError as error:
            return json_response({"message": error.message}, http_status(error))
        try:
            TurnRequestBody.model_validate(body)
        except ValidationError as exc:
            refused = invalid("request body", exc.errors(), "body")
            return json_response({"message": refused.message}, http_status(refused))
        execution_input = {"body": body, "header": dict(request.headers.items()), "path": path}
        status, text, headers = self.stack.turn_response(execution_input)
        return Response(text, status=status, headers=headers, mimetype="application/json")

    # the operators' pages: the static site's files, and its site-config.json saying how an operator signs in -------
    @staticmethod
    def site_file(name: str) -> Response:
        """A file of the static site, as deployed; the pages under the policy they run under deployed (no inline
        script, no eval: what is tested here is what runs there). Never cached: an edit shows on the next load."""
        headers = {"Cache-Control": "no-cache"}
        if name in OPERATOR_PAGES:
            headers["Content-Security-Policy"] = content_security_policy()
        return Response((STATIC / name).read_bytes(), headers=headers, content_type=SITE_FILES[name])

    @staticmethod
    def site_config() -> Response:
        """Locally the pages sign in through the dev server's operator session (deployed: the Cognito hosted UI)."""
        config = SiteConfig(sign_in=LocalSignIn())
        return Response(
            config.model_dump_json(by_alias=True), mimetype="application/json", headers={"Cache-Control": "no-store"}
        )

    def dashboard(self, request: Request, target: str) -> Response:
        if target == "dashboard-redirect":
            return Response(status=308, headers={"Location": "/dashboard/"})
        if target == "dashboard":
            return self.site_file("dashboard.html")
        if request.method == "POST":  # the demo month (target "demo-month"): load one, or say how far it is
            try:
                seed = whole_number(request.args.get("seed"), "seed", default=7)
            except ConciergeError as error:
                return json_response({"message": error.message}, http_status(error))
            return json_response(self.stack.load_demo_month(seed), 202)
        return json_response(self.stack.demo_month_status())

    # local-only helpers ------------------------------------------------------------------
    def customer_session(self, customer_id: str) -> dict[str, Any]:
        """What a storefront's backend does for its signed-in customer: mint a short-lived customer token."""
        token = mint_customer_token(customer_id, self.signing_keys, self.CUSTOMER_TOKEN_SECONDS)
        return {
            "api_key": self.api_key,
            "customer_id": customer_id,
            "token": token,
            "expires_in": self.CUSTOMER_TOKEN_SECONDS,
            "headers": {"x-api-key": self.api_key, "Authorization": f"Bearer {token}"},
        }

    def operator_session(self, operator_id: str, groups: tuple[str, ...]) -> dict[str, Any]:
        """What the merchant's sign-in (Cognito, deployed) gives a support agent: a token from the dev issuer."""
        token = operators.mint(operator_id, groups, self.stack.operator_secret)
        return {
            "api_key": self.api_key,
            "operator_id": operator_id,
            "groups": list(groups),
            "token": token,
            "expires_in": operators.LIFETIME_SECONDS,
            "headers": {"x-api-key": self.api_key, "Authorization": token},
        }

    def local(self, request: Request, target: str) -> Response:
        if target == "chat":
            return Response((STATIC / "chat.html").read_text(), mimetype="text/html")
        if target == "console":
            return self.site_file("console.html")
        if target == "site-config":
            return self.site_config()
        if target == "widget":  # deployed, the static site serves it beside the operators' pages
            return Response(
                (STATIC / "widget.js").read_bytes(), mimetype="text/javascript", headers={"Cache-Control": "no-cache"}
            )
        if target == "operator-session":  # local only: signs in any agent id (deployed, Cognito does)
            operator_id = request.args.get("operator_id", "").strip()
            if not re.fullmatch(r"[A-Za-z0-9._-]{1,40}", operator_id):
                return json_response({"message": "operator_id must be 1–40 letters, digits, '.', '_' or '-'."}, 400)
            groups = tuple(g for g in request.args.get("groups", "agent").replace(" ", "").split(",") if g)
            if not groups or set(groups) - set(OPERATOR_GROUPS):
                return json_response({"message": f"groups must be among {', '.join(OPERATOR_GROUPS)}."}, 400)
            return json_response(self.operator_session(operator_id, groups))
        if target in ("dashboard", "dashboard-redirect", "demo-month"):
            return self.dashboard(request, target)
        if target == "health":
            return json_response({"status": "ok", "dead_letters": self.stack.dead_letters()})
        if target == "customers":
            return json_response(self.customers)
        if target == "store":
            return json_response(self.stack.page_info)
        if target in ("import", "knowledge-sync", "churn-export", "churn-model", "churn-run"):
            if request.headers.get("x-api-key") != self.api_key:
                return json_response({"message": "Forbidden: send the local API key in x-api-key."}, 403)
            try:
                payload = read_json(request.get_data(), LOCAL_IMPORT)
            except ConciergeError as error:
                return json_response({"message": error.message}, http_status(error))
            if not isinstance(payload, dict):
                return json_response({"message": "The request body must be a JSON object."}, 400)
            if target == "churn-export":
                return self.churn_export(payload)
            if target == "churn-model":
                return self.churn_deploy(payload)
            if target == "churn-run":
                return self.churn_run(payload)
            return self.import_store(payload) if target == "import" else self.sync_knowledge(payload)
        if target == "session":
            customer_id = request.args.get("customer_id", "")
            if customer_id not in {c["id"] for c in self.customers}:
                return json_response({"message": f"Unknown demo customer {customer_id!r}."}, 404)
            return json_response(self.customer_session(customer_id))
        if target == "whatsapp-sent":
            assert self.stack.graph is not None  # the stack is started before it serves
            return json_response(self.stack.graph.sent)
        if target == "inbound-email":  # simulate SES receiving: ?spf=FAIL&dkim=FAIL, or a spoofed From, is unverified
            message_id = self.stack.receive_email(
                request.get_data(),
                spf=request.args.get("spf", "PASS"),
                dkim=request.args.get("dkim", "PASS"),
                envelope_from=request.args.get("envelope_from"),
                dkim_domain=request.args.get("dkim_domain"),
            )
            return json_response({"message_id": message_id}, 202)
        emails = self.stack.outbox()
        wanted = request.args.get("to")
        if wanted:
            emails = [e for e in emails if wanted in e["to"]]
        return json_response(emails)

    # `concierge import --local` and `concierge knowledge sync --local`: the same import code, inside this stack ------
    def import_store(self, payload: dict[str, Any]) -> Response:
        from concierge.local.storepage import page_info, picker_customers
        from concierge.platform import wiring
        from concierge.platform.settings import IngestSettings, current_settings
        from concierge.store.importer import import_store
        from concierge.store.merchant import MerchantProfile
        from concierge.store.models import StoreData

        try:
            data = StoreData.model_validate(
                {k: payload.get(k) for k in ("products", "customers", "orders", "articles")}
                | {"gift_cards": payload.get("gift_cards") or []}
            )
            merchant = MerchantProfile.model_validate(payload["merchant"]) if payload.get("merchant") else None
            help_documents = (
                self._documents(payload.get("help"), "/help", "en") if payload.get("help") is not None else None
            )
        except (ValidationError, ValueError) as exc:
            return json_response({"message": f"Invalid store: {_problems(exc)}"}, 400)
        settings = current_settings(IngestSettings)
        counts = import_store(data, wiring.reference_store(settings), settings, merchant, help_documents)
        profile = merchant or wiring.merchant_profile(settings)
        self.customers = picker_customers(data, profile)
        self.stack.page_info = page_info(data, profile)
        return json_response({"imported": counts})

    def sync_knowledge(self, payload: dict[str, Any]) -> Response:
        from concierge.knowledge.documents import check_source
        from concierge.knowledge.service import sync_knowledge
        from concierge.platform.settings import IngestSettings, current_settings

        try:
            source = check_source(str(payload.get("source", "help")))
            documents = self._documents(
                payload.get("files"), str(payload.get("base_url", "/help")), str(payload.get("locale", "en")), source
            )
        except (ValidationError, ValueError) as exc:
            return json_response({"message": f"Invalid documents: {_problems(exc)}"}, 400)
        report = sync_knowledge(current_settings(IngestSettings), documents, source=source)
        return json_response(
            {
                "source": source,
                "documents": len(documents),
                **{
                    k: getattr(report, k)
                    for k in ("added", "updated", "unchanged", "removed", "passages_indexed", "passages_removed")
                },
            }
        )

    # `concierge churn export --local`: the features built inside this stack, from its stores -----------------------
    @staticmethod
    def churn_export(payload: dict[str, Any]) -> Response:
        from concierge.churn.features import FeatureSources, build_rows
        from concierge.platform import wiring
        from concierge.platform.settings import ActionsSettings, current_settings

        try:
            request = ChurnExportRequest.model_validate(payload)
        except ValidationError as exc:
            return json_response({"message": f"Invalid export: {_problems(exc)}"}, 400)
        settings = current_settings(ActionsSettings)
        store = wiring.reference_store(settings)
        sources = FeatureSources(store=store, memory=wiring.memory_store(settings))
        rows = build_rows(store.customers(), request.as_of, sources, request.label_days)
        return json_response({"rows": [row.model_dump(mode="json") for row in rows]})

    # `concierge churn deploy --local` and `concierge churn run-now --local` -------------------------------------------
    @staticmethod
    def churn_deploy(payload: dict[str, Any]) -> Response:
        """The model in the stack's store table, as the deployed command puts it there."""
        from concierge.churn.scorer import ChurnModelError, parse_model
        from concierge.platform import wiring
        from concierge.platform.clock import now
        from concierge.platform.settings import ActionsSettings, current_settings

        try:
            model = parse_model(json.dumps(payload.get("model")), "the model sent")
            version = wiring.churn_models(current_settings(ActionsSettings)).deploy(model, now())
        except ChurnModelError as error:
            return json_response({"message": str(error)}, 400)
        return json_response({"version": version, "kind": model.model.kind})

    def churn_run(self, payload: dict[str, Any]) -> Response:
        """A scoring pass now: the daily schedule's message on the churn-scoring queue (the poller delivers it)."""
        try:
            request = ChurnRunRequest.model_validate(payload)
        except ValidationError as exc:
            return json_response({"message": f"Invalid scoring request: {_problems(exc)}"}, 400)
        self.stack.run_schedule("churn-scoring-daily", **request.model_dump(mode="json", exclude_none=True))
        return json_response({"queued": True, **request.model_dump(mode="json", exclude_none=True)}, 202)

    @staticmethod
    def _documents(files: Any, base_url: str, locale: str, source: str | None = None) -> list[Document]:
        from concierge.knowledge.documents import parse_source

        if not isinstance(files, list) or not all(isinstance(f, dict) and {"path", "text"} <= f.keys() for f in files):
            raise ValueError('documents must be a list of {"path": "...", "text": "..."}')
        return [parse_source(str(f["path"]), str(f["text"]), base_url, locale, source=source) for f in files]


class ChurnExportRequest(BaseModel):
    """What `concierge churn export --local` asks for (the command checked the days against today)."""

    model_config = ConfigDict(extra="forbid")

    as_of: date
    label_days: int | None = Field(None, ge=1)


class ChurnRunRequest(BaseModel):
    """What `concierge churn run-now --local` asks for: the day to score (absent: yesterday) and the page size."""

    model_config = ConfigDict(extra="forbid")

    as_of: date | None = None
    page_size: int | None = Field(None, ge=1, le=1000)


def _problems(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors()[:10])
    return str(exc)
