"""The cdk-nag AwsSolutions findings this stack accepts, each with its reason (tests/infra/test_nag.py runs the
checks on every deployment shape and fails on any finding not listed here).

A suppression names its rule and, for wildcards, exactly what it applies to. Stack-wide suppressions are only those
whose reason holds for every resource of the stack (a regex names the exact wildcard); the others are attached to
the resources they are about."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from cdk_nag import NagPackSuppression, NagSuppressions, RegexAppliesTo
from constructs import IConstruct


def _rule(rule: str, reason: str, *applies_to: str | RegexAppliesTo) -> NagPackSuppression:
    return NagPackSuppression(id=f"AwsSolutions-{rule}", reason=reason, applies_to=list(applies_to) or None)


def _regex(pattern: str) -> RegexAppliesTo:
    return RegexAppliesTo(regex=f"/{pattern}/g")


STACK = [
    _rule(
        "IAM5",
        "CDK's grant helpers give these action families (read, write, delete, abort multipart upload) on objects "
        "under one prefix each (documents/, knowledge/, inbound/, attachments/); List* and GetBucket* act on the "
        "bucket itself, which has no prefix to scope them to.",
        "Action::s3:GetObject*",
        "Action::s3:GetBucket*",
        "Action::s3:List*",
        "Action::s3:DeleteObject*",
        "Action::s3:Abort*",
    ),
    _rule(
        "IAM5",
        "Objects under one prefix of one bucket: the keys are the documents, index files and mail the function "
        "handles, not known in advance.",
        _regex(r"^Resource::<Data(Knowledge|Mail)Bucket[0-9A-F]+\.Arn>\/[a-z-]+\/\*$"),
    ),
    _rule(
        "IAM5",
        "Queries on the store table's customer index (by-customer): an index ARN ends in /index/*.",
        _regex(r"^Resource::<DataStoreTable[0-9A-F]+\.Arn>\/index\/\*$"),
    ),
    _rule(
        "IAM5",
        "The workflows invoke each function by its ARN; CDK also grants its versions and aliases (ARN:*).",
        _regex(r"^Resource::<Functions[A-Za-z]+Function[0-9A-F]+\.Arn>:\*$"),
    ),
    _rule(
        "IAM5",
        "Claude on Bedrock's Messages API (Mantle) authorizes per project; the statement is narrowed to the chosen "
        "models by the condition bedrock-mantle:Model (infra/constructs/compute.py).",
        _regex(r"^Resource::arn:<AWS::Partition>:bedrock-mantle:<AWS::Region>:<AWS::AccountId>:project\/\*$"),
    ),
    _rule(
        "IAM5",
        "The documents of the knowledge and catalogue indexes on the managed OpenSearch domain: two named indexes, "
        "their document paths.",
        _regex(r"^Resource::<KnowledgeSearchDomain[0-9A-F]+\.Arn>\/concierge-(?:knowledge|catalogue)\/\*$"),
    ),
    _rule(
        "IAM4",
        "AWS-managed service-role policies on roles CDK creates for its own plumbing: the bucket-notification "
        "custom resource (AWSLambdaBasicExecutionRole) and API Gateway's account logging role "
        "(AmazonAPIGatewayPushToCloudWatchLogs). Each grants only that service's logging.",
        _regex(
            r"^Policy::arn:<AWS::Partition>:iam::aws:policy\/service-role\/(AWSLambdaBasicExecutionRole|"
            r"AmazonAPIGatewayPushToCloudWatchLogs)$"
        ),
    ),
    _rule(
        "APIG4",
        "Customer routes have no API Gateway authorizer: the customer token (a short-lived JWT the storefront "
        "mints) is checked in the ingest function and the turn workflow's first step (concierge/web/auth.py), after "
        "the API key; the WhatsApp webhook and survey pages check their own signatures. Operator routes do pass "
        "the Cognito authorizer of the operators' user pool.",
    ),
    _rule(
        "COG4",
        "Only the customer routes and the provider webhooks lack the Cognito authorizer: customers are the "
        "storefront's, not ours, and prove themselves with its customer token (see APIG4).",
    ),
    _rule(
        "COG3",
        "Cognito's threat protection (advanced security) is a paid feature plan per active user; the operators' "
        "pool has no self sign-up, a strict password policy and required TOTP MFA.",
    ),
    _rule("COG8", "The Plus feature plan is the threat protection of COG3, priced per active user: see COG3."),
    _rule(
        "APIG2",
        "The turn route's body is validated by API Gateway against its model; every other route is a Lambda proxy "
        "that validates its body, path and query with pydantic (powertools' resolver with validation on: "
        "concierge/web/http_api.py, concierge/web/routes/) and answers 400.",
    ),
    _rule(
        "APIG3",
        "A WAF web ACL costs a fixed monthly fee the idle stack does not otherwise have; the stage throttles "
        "(50 requests/s, burst 100) and the merchant can associate their own web ACL.",
    ),
]


# The managed OpenSearch domain is the small option of docs/deploy.md (one t3.small node, about $30 a month).
MANAGED_SEARCH = [
    _rule(
        "OS1",
        "No VPC in this stack: the domain's access policy admits only the ingest and retrieval roles, and every "
        "request is SigV4-signed; a VPC would add NAT or endpoints to an otherwise VPC-free stack.",
    ),
    _rule("OS3", "Access is by IAM role (the domain's access policy), not by IP address: Lambda has no fixed IP."),
    _rule("OS4", "One data node, no dedicated master: the small option; the 'serverless' option scales instead."),
    _rule("OS7", "One data node in one zone: the small option; the index is rebuilt from the help center."),
    _rule(
        "OS9",
        "Slow logs need a CloudWatch Logs resource policy the domain writes through; the index is small and "
        "search latency is in the retrieval function's own metrics.",
    ),
]


def suppress(
    stack: cdk.Stack,
    *,
    signing_secret: cdk.Resource,
    whatsapp_secret: cdk.Resource,
    dlq: cdk.Resource,
    access_logs: cdk.Resource,
    mail: cdk.Resource,
    functions: Sequence[lambda_.Function],
    workflow_roles: Sequence[IConstruct],
    model_secret: cdk.Resource | None,
    search_domain: cdk.Resource | None,
    distribution: cdk.Resource,
) -> None:
    NagSuppressions.add_stack_suppressions(stack, STACK)
    children = {"apply_to_children": True}  # the finding is on the L1 resource inside each construct
    star = _rule(
        "IAM5",
        "X-Ray's PutTraceSegments/PutTelemetryRecords/GetSampling* and CloudWatch Logs' log-delivery actions "
        "(Step Functions logging) support no resource-level permissions: AWS documents Resource '*' for them.",
        "Resource::*",
    )
    for function in functions:
        assert function.role is not None
        NagSuppressions.add_resource_suppressions(
            function,
            [
                _rule(
                    "L1",
                    "The functions run Python 3.12, the version the layers' compiled wheels are built for "
                    "(infra/bundling.py PYTHON_VERSION); a newer runtime is one change of both, tested together.",
                )
            ],
        )
        NagSuppressions.add_resource_suppressions(function.role, [star], **children)
    for role in workflow_roles:
        NagSuppressions.add_resource_suppressions(role, [star], **children)
    for child in stack.node.children:
        if child.node.id.startswith("BucketNotificationsHandler"):  # CDK's own custom resource
            NagSuppressions.add_resource_suppressions(
                child,
                [
                    _rule(
                        "IAM5",
                        "CDK's bucket-notification handler needs s3:PutBucketNotification, which it is granted "
                        "on '*' by CDK itself; it configures the knowledge bucket's documents/ notification.",
                        "Resource::*",
                    )
                ],
                **children,
            )
        if child.node.id.startswith("Custom::CDKBucketDeployment"):  # CDK's own custom resource (the site's files)
            NagSuppressions.add_resource_suppressions(
                child,
                [
                    _rule(
                        "L1",
                        "CDK's BucketDeployment handler: CDK chooses and updates its runtime with aws-cdk-lib; it runs "
                        "only during a deploy, to copy the site's files.",
                    ),
                    _rule(
                        "IAM5",
                        "CDK's BucketDeployment handler reads the site's file archives from the CDK assets bucket, "
                        "writes and prunes the site bucket's objects (keys are the site's files), and creates the "
                        "CloudFront invalidation after a deploy (cloudfront:CreateInvalidation has no resource-level "
                        "permission in CDK's grant).",
                        _regex(
                            r"^Resource::arn:<AWS::Partition>:s3:::cdk-[a-z0-9]+-assets-<AWS::AccountId>-<AWS::Region>\/\*$"
                        ),
                        _regex(r"^Resource::<SitesBucket[0-9A-F]+\.Arn>\/\*$"),
                        "Resource::*",
                        "Action::s3:GetObject*",
                        "Action::s3:GetBucket*",
                        "Action::s3:List*",
                        "Action::s3:DeleteObject*",
                        "Action::s3:Abort*",
                    ),
                ],
                **children,
            )
    NagSuppressions.add_resource_suppressions(
        distribution,
        [
            _rule(
                "CFR1",
                "The operators' pages and the widget's script are for the merchant's team and customers wherever they "
                "are; a geographic restriction is the merchant's choice, not a default.",
            ),
            _rule(
                "CFR2",
                "A WAF web ACL costs a fixed monthly fee the idle stack does not otherwise have (see APIG3); the pages "
                "are static and the API behind /v1/* is throttled by its stage. The merchant can attach their own.",
            ),
            _rule(
                "CFR4",
                "The distribution answers on its default *.cloudfront.net name, whose certificate is CloudFront's own "
                "and cannot be given a minimum TLS version; a custom domain with its certificate would.",
            ),
        ],
        **children,
    )
    NagSuppressions.add_resource_suppressions(
        mail,
        [
            _rule(
                "S1",
                "No server access logs on the mail bucket: its object keys carry customers' attachment names, "
                "which access logs would keep beyond a customer's erasure.",
            )
        ],
        **children,
    )
    NagSuppressions.add_resource_suppressions(
        signing_secret,
        [
            _rule(
                "SMG4",
                "The storefront signing key is rotated by the merchant with the storefront (a new kid, the old key "
                "kept as previous until tokens minted with it have expired: docs/deploy.md), not on a schedule.",
            )
        ],
        **children,
    )
    NagSuppressions.add_resource_suppressions(
        whatsapp_secret,
        [_rule("SMG4", "Meta issues the app secret and access token; AWS cannot rotate them.")],
        **children,
    )
    NagSuppressions.add_resource_suppressions(
        dlq,
        [
            _rule(
                "SQS3",
                "This queue is itself a dead-letter queue: the failure destination of SES's asynchronous "
                "invocations of ingest.",
            )
        ],
        **children,
    )
    NagSuppressions.add_resource_suppressions(
        access_logs,
        [_rule("S1", "This is the server-access-log bucket of the other buckets; logging it would loop.")],
        **children,
    )
    if model_secret is not None:
        NagSuppressions.add_resource_suppressions(
            model_secret,
            [_rule("SMG4", "Anthropic issues the API key; the merchant rotates it in the Anthropic console.")],
            **children,
        )
    if search_domain is not None:
        NagSuppressions.add_resource_suppressions(search_domain, MANAGED_SEARCH, **children)
