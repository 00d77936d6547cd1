"""A sample storefront that embeds the Concierge chat widget: one page with the widget's script tag, a demo sign-in,
and the token endpoint a storefront's backend provides (docs/widget.md).

    CONCIERGE_ALLOWED_ORIGINS=http://127.0.0.1:8000 make dev    # the local stack, letting this page's origin call it
    .venv/bin/python examples/storefront/server.py                # then open http://127.0.0.1:8000/

The signing key stays in this backend: the browser only ever holds a short-lived token for whoever is signed in here.
Locally the key is the local stack's (CONCIERGE_SIGNING_SECRET, else its development key); deployed, the storefront
reads the stack's signing secret from Secrets Manager (docs/authentication.md).
"""

from __future__ import annotations

import argparse
import html
import json
import os
import secrets
import string
import time
from pathlib import Path
from typing import Any

import jwt
from werkzeug.serving import run_simple
from werkzeug.wrappers import Request, Response

PAGE = string.Template((Path(__file__).with_name("index.html")).read_text())
# The storefront's own customers (here: the demo store's); a real shop has its accounts and its sign-in.
CUSTOMERS = {"alex": "Alex Morgan", "sam": "Sam Rivera", "jordan": "Jordan Lee"}
TOKEN_SECONDS = 900  # short-lived: the widget asks for another one before it expires
SESSION_COOKIE = "shop_session"


def local_stack_settings() -> tuple[str, str]:
    """The API key and signing secret of `concierge dev`, read as the local stack reads them."""
    from concierge.local.stack import DEV_API_KEY, DEV_SIGNING_SECRET

    return (
        os.environ.get("CONCIERGE_API_KEY", DEV_API_KEY),
        os.environ.get("CONCIERGE_SIGNING_SECRET", DEV_SIGNING_SECRET),
    )


def signing_key(secret_text: str) -> tuple[str, str]:
    """(kid, key): the secret is {"kid", "key", ...} as Secrets Manager holds it, or a bare key (kid "default")."""
    text = secret_text.strip()
    if text.startswith("{"):
        value = json.loads(text)
        return value["kid"], value["key"]
    return "default", text


def customer_token(customer_id: str, kid: str, key: str) -> dict[str, Any]:
    """The contract of docs/authentication.md: HS256, sub, aud concierge-storefront, iat, exp; jti for our logs."""
    now = int(time.time())
    claims = {
        "sub": customer_id,
        "aud": "concierge-storefront",
        "iat": now,
        "exp": now + TOKEN_SECONDS,
        "jti": secrets.token_hex(8),
    }
    return {"token": jwt.encode(claims, key, algorithm="HS256", headers={"kid": kid}), "expires_at": claims["exp"]}


class Storefront:
    def __init__(self, api_url: str, api_key: str, signing_secret: str, widget_src: str, shop: str) -> None:
        self.api_url = api_url.rstrip("/")
        self.api_key = api_key
        self.kid, self.key = signing_key(signing_secret)
        self.widget_src = widget_src
        self.shop = shop
        self.sessions: dict[str, str] = {}  # session cookie -> customer id (a real shop has its session store)

    def __call__(self, environ: Any, start_response: Any) -> Any:
        request = Request(environ)
        return self.respond(request)(environ, start_response)

    def signed_in(self, request: Request) -> str | None:
        return self.sessions.get(request.cookies.get(SESSION_COOKIE, ""))

    def respond(self, request: Request) -> Response:
        route = (request.method, request.path)
        if request.method == "POST" and not self.same_origin(request):
            return Response(json.dumps({"message": "Cross-site request refused."}), 403, mimetype="application/json")
        if route == ("GET", "/"):
            return Response(self.page(self.signed_in(request)), mimetype="text/html")
        if route == ("POST", "/concierge/token"):  # the widget's call, with this site's cookies
            customer_id = self.signed_in(request)
            if customer_id is None:
                body, status = {"message": "Nobody is signed in."}, 401
            else:
                body, status = customer_token(customer_id, self.kid, self.key), 200
            return Response(
                json.dumps(body), status, mimetype="application/json", headers={"Cache-Control": "no-store"}
            )
        if route == ("POST", "/sign-in"):
            customer_id = request.form.get("customer", "")
            response = Response(status=303, headers={"Location": "/"})
            if customer_id in CUSTOMERS:
                session = secrets.token_urlsafe(24)
                self.sessions[session] = customer_id
                response.set_cookie(SESSION_COOKIE, session, httponly=True, samesite="Lax", path="/")
            return response
        if route == ("POST", "/sign-out"):
            self.sessions.pop(request.cookies.get(SESSION_COOKIE, ""), None)
            response = Response(status=303, headers={"Location": "/"})
            response.delete_cookie(SESSION_COOKIE, path="/")
            return response
        return Response("Not found", 404, mimetype="text/plain")

    @staticmethod
    def same_origin(request: Request) -> bool:
        """A POST from another site's page is refused (the session cookie is SameSite=Lax too)."""
        origin = request.headers.get("Origin")
        return origin is None or origin == request.host_url.rstrip("/")

    def page(self, customer_id: str | None) -> str:
        if customer_id:
            account = (
                f"<span>Signed in as <strong>{html.escape(CUSTOMERS[customer_id])}</strong></span>"
                '<form method="post" action="/sign-out"><button type="submit">Sign out</button></form>'
            )
        else:
            options = "".join(
                f'<option value="{html.escape(cid)}"{" selected" if cid == "sam" else ""}>{html.escape(name)}</option>'
                for cid, name in CUSTOMERS.items()
            )
            account = (
                '<form method="post" action="/sign-in"><label for="customer">Demo account</label>'
                f'<select id="customer" name="customer">{options}</select>'
                '<button type="submit">Sign in</button></form>'
            )
        return PAGE.substitute(
            shop=html.escape(self.shop),
            account=account,
            widget_src=html.escape(self.widget_src),
            api_url=html.escape(self.api_url),
            api_key=html.escape(self.api_key),
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--api", default="http://127.0.0.1:8787", help="the Concierge API (default: `make dev`)")
    parser.add_argument("--widget", help="the widget's script (default: the API's /widget.js)")
    parser.add_argument("--shop", default="Northwind Outfitters", help="the shop's name in the page's header")
    args = parser.parse_args()
    api_key, signing_secret = local_stack_settings()
    app = Storefront(args.api, api_key, signing_secret, args.widget or args.api.rstrip("/") + "/widget.js", args.shop)
    print(f"Sample storefront at http://{args.host}:{args.port}/ (chat widget from {app.widget_src})", flush=True)
    run_simple(args.host, args.port, app, threaded=True, use_reloader=False)


if __name__ == "__main__":
    main()
