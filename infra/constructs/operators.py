"""The operators' sign-in: a Cognito user pool for the merchant's support team.

Operators are people with identities of their own, never the storefront's signing key. The merchant adds each
agent to the pool (no self sign-up) and to a group: `agent` (the console, the queue, the dashboard) or also
`supervisor` (approving or denying actions above the automatic limit). API Gateway's Cognito authorizer checks
the operator's ID token on every operator route (`topology.Route.caller == "operator"`) and hands the function the
token's claims; `concierge.web.auth.operator_from_claims` reads the operator and their groups from them.

Operators sign in through the pool's hosted UI (`sign_in`), which sends them back to the console or the dashboard
on the stack's static site (infra/constructs/sites.py) with an authorization code the page exchanges, with its PKCE
verifier, for the ID token.
"""

from __future__ import annotations

import re

import aws_cdk as cdk
from aws_cdk import aws_cognito as cognito
from constructs import Construct

from concierge.web.auth import OPERATOR_GROUPS
from concierge.web.sites import SCOPES, CognitoSignIn

TOKEN_HOURS = 1  # an ID token lasts an hour (a removed operator is out within it); the pages renew it silently
# with the refresh token (30 days), revoked when they sign out


class Operators(Construct):
    def __init__(self, scope: Construct, construct_id: str, domain_prefix: str) -> None:
        super().__init__(scope, construct_id)
        self.user_pool = cognito.UserPool(
            self,
            "UserPool",
            user_pool_name=f"{cdk.Stack.of(self).stack_name}-operators",
            self_sign_up_enabled=False,  # the merchant invites its own team
            sign_in_aliases=cognito.SignInAliases(username=True, email=True),
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            mfa=cognito.Mfa.REQUIRED,  # operators can refund and erase: a second factor, by authenticator app
            mfa_second_factor=cognito.MfaSecondFactor(sms=False, otp=True),
            password_policy=cognito.PasswordPolicy(
                min_length=12,
                require_digits=True,
                require_lowercase=True,
                require_uppercase=True,
                require_symbols=True,
                temp_password_validity=cdk.Duration.days(3),
            ),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            removal_policy=cdk.RemovalPolicy.RETAIN,  # the team's accounts outlive a redeploy
        )
        for group in OPERATOR_GROUPS:
            cognito.CfnUserPoolGroup(
                self,
                f"{group.title()}Group",
                user_pool_id=self.user_pool.user_pool_id,
                group_name=group,
                description={
                    "agent": "Support agents: the console, the handoff queue, customer data requests, the dashboard.",
                    "supervisor": "Supervisors: also approve or deny actions above the automatic limit.",
                }[group],
            )
        # The hosted UI (sign-in, MFA, a forgotten password) lives at this domain of the pool.
        self.domain = self.user_pool.add_domain(
            "SignIn", cognito_domain=cognito.CognitoDomainOptions(domain_prefix=domain_prefix)
        )

    def sign_in(self, page_urls: list[str]) -> CognitoSignIn:
        """The hosted UI for the operator pages at `page_urls`: a public app client with the authorization-code flow
        and PKCE (the pages hold no secret), which sends the operator back only to those pages after signing in or
        out."""
        self.client = self.user_pool.add_client(
            "ConsoleClient",
            auth_flows=cognito.AuthFlow(user_srp=True),  # the password never leaves the browser
            generate_secret=False,  # a browser page cannot keep a secret: PKCE stands in for it
            o_auth=cognito.OAuthSettings(
                flows=cognito.OAuthFlows(authorization_code_grant=True),  # never the implicit flow
                scopes=[getattr(cognito.OAuthScope, scope.upper()) for scope in SCOPES],
                callback_urls=page_urls,
                logout_urls=page_urls,
            ),
            supported_identity_providers=[cognito.UserPoolClientIdentityProvider.COGNITO],
            id_token_validity=cdk.Duration.hours(TOKEN_HOURS),
            access_token_validity=cdk.Duration.hours(TOKEN_HOURS),
            refresh_token_validity=cdk.Duration.days(30),
            prevent_user_existence_errors=True,
            enable_token_revocation=True,  # signing out revokes the refresh token
        )
        return CognitoSignIn(domain=self.domain.base_url(), client_id=self.client.user_pool_client_id)


def domain_prefix(stack: cdk.Stack, chosen: str = "") -> str:
    """The hosted UI's address, <prefix>.auth.<region>.amazoncognito.com: unique per region across AWS, so by default
    the stack's name and the account id; `-c signInDomainPrefix=` chooses another."""
    if chosen:
        if not re.fullmatch(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?", chosen) or re.search("aws|amazon|cognito", chosen):
            raise ValueError(
                f"signInDomainPrefix {chosen!r}: lower-case letters, digits and hyphens, at most 63, without "
                "'aws', 'amazon' or 'cognito' (Cognito's rules for a domain prefix)"
            )
        return chosen
    name = re.sub(r"[^a-z0-9-]+", "-", stack.stack_name.lower()).strip("-")
    name = re.sub("aws|amazon|cognito", "", name).strip("-") or "concierge"
    return cdk.Fn.join("-", [name[:40].strip("-") or "concierge", cdk.Aws.ACCOUNT_ID])
