"""The operators' pages as deployed, in this process: a CloudFront stand-in and a Cognito hosted-UI stand-in.

- `SiteApp` (CloudFront in front of the S3 bucket): exactly `sites.SITE_FILES` from the static folder, the pages under
  `content_security_policy(<the hosted UI's origin>)`, a `site-config.json` of kind "cognito", and `/v1/*` passed on
  to the API (a `concierge dev` here), so the pages call the API on their own origin.
- `HostedUIApp` (the user pool's hosted UI, one public app client): `/oauth2/authorize` shows a small sign-in form and
  redirects back with a code and the page's state; `/oauth2/token` takes the code once, for the client, the
  redirect_uri and the PKCE verifier (S256) it was issued to, and a refresh token, with CORS for the site's origin
  only; `/oauth2/revoke` revokes a refresh token; `/logout` redirects to `logout_uri` only if it is registered. Its ID tokens are the dev issuer's
  (`concierge.local.operators.mint` under the stack's `DEV_OPERATOR_SECRET`, which `concierge dev` checks them with).
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import jwt
from werkzeug.wrappers import Request, Response

from concierge.local import operators
from concierge.local.served import ServedApp
from concierge.local.server import STATIC
from concierge.local.stack import DEV_OPERATOR_SECRET
from concierge.web.sites import (
    OPERATOR_PAGES,
    SITE_CONFIG,
    SITE_FILES,
    CognitoSignIn,
    SiteConfig,
    content_security_policy,
)

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

CLIENT_ID = "concierge-operators-standin"
# Hop-by-hop and per-connection headers: CloudFront sets its own on each leg.
NOT_PASSED_ON = {"host", "connection", "keep-alive", "transfer-encoding", "content-length", "accept-encoding"}
NOT_RETURNED = {"connection", "keep-alive", "transfer-encoding", "content-length", "server", "date"}

OTHER_ISSUER = "another-issuer-whose-key-the-api-does-not-know"  # its tokens look valid and are refused
TokenKind = Literal["valid", "expired", "refused"]


def s256(verifier: str) -> str:
    """The PKCE code challenge of a verifier (RFC 7636, S256)."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


# ---- CloudFront ---------------------------------------------------------------------------------------------------


class SiteApp:
    def __init__(self, api_url: str, sign_in_origin: str, client_id: str = CLIENT_ID) -> None:
        self.api_url = api_url.rstrip("/")
        self.policy = content_security_policy(sign_in_origin)
        self.config = SiteConfig(sign_in=CognitoSignIn(domain=sign_in_origin, client_id=client_id))
        self._lock = threading.Lock()
        self._proxied: list[tuple[str, str, int]] = []

    @property
    def proxied(self) -> list[tuple[str, str, int]]:
        """The API calls passed on, oldest first: (method, path, the API's status)."""
        with self._lock:
            return list(self._proxied)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        response = self.proxy(request) if request.path.startswith("/v1/") else self.static(request)
        return response(environ, start_response)

    def static(self, request: Request) -> Response:
        name = request.path.removeprefix("/")
        if request.method not in ("GET", "HEAD"):
            return Response("Method not allowed", status=405, mimetype="text/plain")
        if name == SITE_CONFIG:
            return Response(self.config.model_dump_json(by_alias=True), mimetype="application/json")
        if name not in SITE_FILES:  # what the bucket does not hold (chat.html stays local)
            return Response("Not found", status=404, mimetype="text/plain")
        headers = {"Content-Security-Policy": self.policy} if name in OPERATOR_PAGES else {}
        return Response((STATIC / name).read_bytes(), headers=headers, content_type=SITE_FILES[name])

    def proxy(self, request: Request) -> Response:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in NOT_PASSED_ON}
        url = self.api_url + request.full_path.rstrip("?")
        outgoing = urllib.request.Request(url, data=request.get_data() or None, headers=headers, method=request.method)
        try:
            with urllib.request.urlopen(outgoing, timeout=60) as answer:
                status, body, returned = answer.status, answer.read(), answer.headers.items()
        except urllib.error.HTTPError as error:
            status, body, returned = error.code, error.read(), error.headers.items()
        with self._lock:
            self._proxied.append((request.method, request.path, status))
        kept = [(k, v) for k, v in returned if k.lower() not in NOT_RETURNED]
        return Response(body, status=status, headers=kept)


# ---- Cognito's hosted UI ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Grant:
    username: str
    groups: tuple[str, ...]
    client_id: str = ""
    redirect_uri: str = ""
    challenge: str = ""


SIGN_IN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in (hosted UI stand-in)</title></head>
<body><main><h1>Sign in</h1>
<form method="post" action="/login">{hidden}
<p><label>Username <input id="username" name="username" required autocomplete="username"></label></p>
<p><label><input id="supervisor" name="supervisor" type="checkbox" value="yes"> In the supervisor group</label></p>
<p><button type="submit">Sign in</button></p>
</form></main></body></html>"""


class HostedUIApp:
    def __init__(self, client_id: str = CLIENT_ID, secret: str = DEV_OPERATOR_SECRET) -> None:
        self.client_id = client_id
        self.secret = secret
        self.site_origin = ""
        self.callback_urls: set[str] = set()
        self.logout_urls: set[str] = set()
        # How the next ID tokens are minted: "expired" (its exp already past), "refused" (looks valid, but the API
        # does not accept it: another issuer's key). Then valid ones.
        self.next_id_tokens: deque[TokenKind] = deque()
        self.refuse_refresh = False  # every refresh token refused (revoked, or past its 30 days)
        self._lock = threading.Lock()
        self._codes: dict[str, _Grant] = {}
        self._refresh_tokens: dict[str, _Grant] = {}
        self.authorizations: list[dict[str, str]] = []  # each /oauth2/authorize asked, its query
        self.token_calls: list[tuple[str, int]] = []  # (grant_type, status)
        self.logouts: list[str] = []  # each logout_uri redirected to
        self.revoked: list[str] = []  # the refresh tokens revoked

    def register(self, site_url: str) -> None:
        """The app client's callback and sign-out URLs: the operator pages of the site."""
        self.site_origin = site_url.rstrip("/")
        pages = {f"{self.site_origin}/{page}" for page in OPERATOR_PAGES}
        self.callback_urls, self.logout_urls = pages, pages

    def issue_code(self, username: str, groups: tuple[str, ...], redirect_uri: str, challenge: str) -> str:
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = _Grant(username, groups, self.client_id, redirect_uri, challenge)
        return code

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        if request.path in ("/oauth2/token", "/oauth2/revoke"):
            if request.method == "OPTIONS":
                response = self.preflight(request)
            else:
                response = self.token(request) if request.path == "/oauth2/token" else self.revoke(request)
            if request.headers.get("Origin") == self.site_origin:
                response.headers["Access-Control-Allow-Origin"] = self.site_origin
            response.vary.add("Origin")
        elif request.path == "/oauth2/authorize" and request.method == "GET":
            response = self.authorize(request)
        elif request.path == "/login" and request.method == "POST":
            response = self.login(request)
        elif request.path == "/logout" and request.method == "GET":
            response = self.logout(request)
        else:
            response = self.page("Not found", f"No {request.method} {request.path} here.", 404)
        return response(environ, start_response)

    @staticmethod
    def page(title: str, text: str, status: int = 200) -> Response:
        body = f'<!doctype html><html lang="en"><title>{html.escape(title)}</title><h1>{html.escape(title)}</h1>'
        return Response(body + f"<p id='error'>{html.escape(text)}</p></html>", status=status, mimetype="text/html")

    def authorize(self, request: Request) -> Response:
        query = dict(request.args.items())
        with self._lock:
            self.authorizations.append(query)
        problems = [
            (query.get("client_id") != self.client_id, "client_id is not this user pool's app client"),
            (query.get("redirect_uri") not in self.callback_urls, "redirect_mismatch: not a callback URL"),
            (query.get("response_type") != "code", "response_type must be code"),
            (query.get("code_challenge_method") != "S256", "a public client needs PKCE: code_challenge_method=S256"),
            (not query.get("code_challenge"), "code_challenge is missing"),
            (not query.get("state"), "state is missing"),
            (query.get("scope", "").split() != ["openid", "email", "profile"], "scope must be openid email profile"),
        ]
        problem = next((text for wrong, text in problems if wrong), None)
        if problem:
            return self.page("Sign-in error", problem, 400)
        hidden = "".join(
            f'<input type="hidden" name="{name}" value="{html.escape(query[name])}">'
            for name in ("redirect_uri", "state", "code_challenge")
        )
        return Response(SIGN_IN_PAGE.format(hidden=hidden), mimetype="text/html")

    def login(self, request: Request) -> Response:
        form = request.form
        groups = ("agent", "supervisor") if form.get("supervisor") == "yes" else ("agent",)
        redirect_uri = form.get("redirect_uri", "")
        if redirect_uri not in self.callback_urls:
            return self.page("Sign-in error", "redirect_mismatch", 400)
        code = self.issue_code(form.get("username", ""), groups, redirect_uri, form.get("code_challenge", ""))
        query = urllib.parse.urlencode({"code": code, "state": form.get("state", "")})
        return Response(status=302, headers={"Location": f"{redirect_uri}?{query}"})

    @staticmethod
    def preflight(request: Request) -> Response:
        response = Response(status=204)
        response.headers["Access-Control-Allow-Methods"] = "POST"
        response.headers["Access-Control-Allow-Headers"] = "content-type"
        return response

    def token(self, request: Request) -> Response:
        form = request.form
        grant_type = form.get("grant_type", "")
        if request.method != "POST":
            answer: tuple[int, dict[str, Any]] = (405, {"error": "invalid_request"})
        elif form.get("client_id") != self.client_id:
            answer = (400, {"error": "invalid_client", "error_description": "unknown client_id"})
        elif grant_type == "authorization_code":
            answer = self.exchange(form.get("code", ""), form.get("redirect_uri", ""), form.get("code_verifier", ""))
        elif grant_type == "refresh_token":
            with self._lock:
                grant = self._refresh_tokens.get(form.get("refresh_token", ""))
            if grant is None or self.refuse_refresh:
                answer = (400, {"error": "invalid_grant", "error_description": "Refresh Token has been revoked"})
            else:
                answer = (200, self.tokens(grant, refresh=False))
        else:
            answer = (400, {"error": "unsupported_grant_type"})
        with self._lock:
            self.token_calls.append((grant_type, answer[0]))
        status, payload = answer
        response = Response(json.dumps(payload), status=status, mimetype="application/json")
        response.headers["Cache-Control"] = "no-store"
        return response

    def exchange(self, code: str, redirect_uri: str, verifier: str) -> tuple[int, dict[str, Any]]:
        with self._lock:
            grant = self._codes.pop(code, None)  # a code is good once
        if grant is None:
            problem = "the code is unknown or was used"
        elif redirect_uri != grant.redirect_uri:
            problem = "redirect_uri is not the one the code was issued to"
        elif not verifier or s256(verifier) != grant.challenge:
            problem = "the code_verifier does not match the code_challenge"
        else:
            return 200, self.tokens(grant, refresh=True)
        return 400, {"error": "invalid_grant", "error_description": problem}

    def tokens(self, grant: _Grant, refresh: bool) -> dict[str, Any]:
        with self._lock:
            kind = self.next_id_tokens.popleft() if self.next_id_tokens else "valid"
        id_token = operators.mint(grant.username, grant.groups, self.secret if kind != "refused" else OTHER_ISSUER)
        if kind == "expired":
            claims = jwt.decode(id_token, options={"verify_signature": False})
            now = int(time.time())
            id_token = jwt.encode({**claims, "iat": now - 3600, "exp": now - 60}, self.secret, algorithm="HS256")
        answer: dict[str, Any] = {
            "id_token": id_token,
            "access_token": secrets.token_urlsafe(24),
            "token_type": "Bearer",
            "expires_in": operators.LIFETIME_SECONDS,
        }
        if refresh:  # as Cognito: a refresh grant gives new ID and access tokens, not a new refresh token
            answer["refresh_token"] = secrets.token_urlsafe(32)
            with self._lock:
                self._refresh_tokens[answer["refresh_token"]] = grant
        return answer

    def revoke(self, request: Request) -> Response:
        """POST /oauth2/revoke: the refresh token (and what it gave) no longer renews anything."""
        form = request.form
        if request.method != "POST" or form.get("client_id") != self.client_id:
            return Response(json.dumps({"error": "invalid_request"}), status=400, mimetype="application/json")
        with self._lock:
            if self._refresh_tokens.pop(form.get("token", ""), None) is not None:
                self.revoked.append(form.get("token", ""))
        return Response(status=200)

    def logout(self, request: Request) -> Response:
        logout_uri = request.args.get("logout_uri", "")
        if request.args.get("client_id") != self.client_id:
            return self.page("Sign-out error", "client_id is not this user pool's app client", 400)
        if logout_uri not in self.logout_urls:
            return self.page("Sign-out error", "logout_uri is not a sign-out URL of the app client", 400)
        with self._lock:
            self.logouts.append(logout_uri)
        return Response(status=302, headers={"Location": logout_uri})


class SiteStandIn(ServedApp):
    name = "CloudFront stand-in"
    app: SiteApp


class HostedUIStandIn(ServedApp):
    name = "Cognito hosted UI stand-in"
    app: HostedUIApp


@contextmanager
def deployed_site(api_url: str) -> Iterator[tuple[SiteStandIn, HostedUIStandIn]]:
    """The site in front of `api_url` and its hosted UI, each on a port of its own (two origins, as deployed)."""
    hosted = HostedUIStandIn(HostedUIApp()).start()
    site = SiteStandIn(SiteApp(api_url, hosted.url)).start()
    hosted.app.register(site.url)
    try:
        yield site, hosted
    finally:
        site.stop()
        hosted.stop()
