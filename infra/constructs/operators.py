"""The operators' sign-in: a Cognito user pool for the merchant's support team.

Operators are people with identities of their own, never the storefront's signing key. The merchant adds each
agent to the pool (no self sign-up) and to a group: `agent` (the console, the queue, the dashboard) or also
`supervisor` (approving or denying actions above the automatic limit). API Gateway's Cognito authorizer checks
the operator's ID token on every operator route (`topology.Route.caller == "operator"`) and hands the function the
token's claims; `concierge.auth.operator_from_claims` reads the operator and their groups from them.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cognito as cognito
from constructs import Construct

from concierge.auth import OPERATOR_GROUPS

TOKEN_HOURS = 8  # an ID token lasts a working shift; the refresh token (30 days) renews it


class Operators(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
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
        self.client = self.user_pool.add_client(
            "ConsoleClient",
            auth_flows=cognito.AuthFlow(user_srp=True),  # the password never leaves the browser
            generate_secret=False,  # a browser page cannot keep a secret
            id_token_validity=cdk.Duration.hours(TOKEN_HOURS),
            access_token_validity=cdk.Duration.hours(TOKEN_HOURS),
            refresh_token_validity=cdk.Duration.days(30),
            prevent_user_existence_errors=True,
        )
