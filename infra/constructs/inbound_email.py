"""SES receiving (only when the merchant names a recipient): store the raw mail in the mail bucket under
inbound/, then invoke ingest asynchronously (failures retried, then parked in ingest's on-failure queue).

The rule set must be activated once (`aws ses set-active-receipt-rule-set`) and the domain's MX record pointed at
SES receiving; see docs/deploy.md."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_ses as ses
from aws_cdk import aws_ses_actions as actions
from constructs import Construct


class InboundEmail(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, recipient: str, mail: s3.IBucket, ingest: lambda_.IFunction
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.rule_set = ses.ReceiptRuleSet(self, "RuleSet", receipt_rule_set_name=f"{stack.stack_name}-inbound")
        # The S3 action needs SES allowed to write under inbound/ (CDK adds this policy; scoped to this account).
        self.rule = self.rule_set.add_rule(
            "Support",
            recipients=[recipient],
            scan_enabled=True,
            tls_policy=ses.TlsPolicy.REQUIRE,
            actions=[
                actions.S3(bucket=mail, object_key_prefix="inbound/"),
                actions.Lambda(function=ingest, invocation_type=actions.LambdaInvocationType.EVENT),
            ],
        )
        mail.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("ses.amazonaws.com")],
                actions=["s3:PutObject"],
                resources=[mail.arn_for_objects("inbound/*")],
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            )
        )
