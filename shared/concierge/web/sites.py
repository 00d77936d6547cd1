"""The operators' pages and the chat widget as a static site: which files it serves, the configuration the pages
read, and the content security policy they run under.

One contract for three servers: CDK deploys these files to S3 behind CloudFront (`infra/constructs/sites.py`), the
local dev server serves them from `concierge/local/static`, and the end-to-end tests serve them as CloudFront would.
Deployed, CloudFront sends `/v1/*` to the API, so the console and the dashboard call it on their own origin (no CORS),
and operators sign in through the Cognito hosted UI (authorization code with PKCE, a public client).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# What the static site serves, with its content type. chat.html stays local: storefronts embed widget.js instead.
SITE_FILES: dict[str, str] = {
    "console.html": "text/html; charset=utf-8",
    "console.js": "text/javascript; charset=utf-8",
    "dashboard.html": "text/html; charset=utf-8",
    "dashboard.js": "text/javascript; charset=utf-8",
    "signin.js": "text/javascript; charset=utf-8",
    "chart-4.6.1.umd.min.js": "text/javascript; charset=utf-8",
    "chart-4.6.1.LICENSE.md": "text/plain; charset=utf-8",
    "widget.js": "text/javascript; charset=utf-8",
}
SITE_CONFIG = "site-config.json"  # at the site's root, beside the pages
# The operator pages, each a redirect target of the hosted UI (the app client's callback and sign-out URLs).
OPERATOR_PAGES = ("console.html", "dashboard.html")
SCOPES = ("openid", "email", "profile")


class LocalSignIn(BaseModel):
    """The local stack: the dev server signs any agent id in (deployed, Cognito does)."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["local"] = "local"
    session_url: str = Field("/_local/operator-session", alias="sessionUrl")


class CognitoSignIn(BaseModel):
    """The Cognito hosted UI of the operators' user pool."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    kind: Literal["cognito"] = "cognito"
    domain: str = Field(description="https://<prefix>.auth.<region>.amazoncognito.com, no trailing slash")
    client_id: str = Field(alias="clientId")
    scopes: str = " ".join(SCOPES)


class SiteConfig(BaseModel):
    """site-config.json: where the API is (empty: this origin) and how an operator signs in."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    api_base: str = Field("", alias="apiBase")
    sign_in: LocalSignIn | CognitoSignIn = Field(alias="signIn", discriminator="kind")


def content_security_policy(sign_in_origin: str = "") -> str:
    """The policy of the operator pages: their own scripts only (no inline script, no eval), API calls to their own
    origin and to the sign-in's token endpoint, never framed (an operator's clicks cannot be hijacked)."""
    connect = " ".join(filter(None, ("'self'", sign_in_origin)))
    return "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            f"connect-src {connect}",
            f"form-action 'self' {sign_in_origin}".rstrip(),
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "object-src 'none'",
        )
    )
