"""DynamoDB tables from the topology, the knowledge and mail buckets, the storefront signing secret and the
WhatsApp credentials secret."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from concierge.platform import topology


def _attribute(name: str) -> dynamodb.Attribute:
    return dynamodb.Attribute(name=name, type=dynamodb.AttributeType.STRING)


class Data(Construct):
    def __init__(self, scope: Construct, construct_id: str, retention_days: int = 365) -> None:
        super().__init__(scope, construct_id)
        self.tables: dict[str, dynamodb.TableV2] = {}
        for spec in topology.TABLES:
            table = dynamodb.TableV2(
                self,
                spec.logical_id,
                partition_key=_attribute(spec.partition_key),
                sort_key=_attribute(spec.sort_key),
                billing=dynamodb.Billing.on_demand(),
                point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                    point_in_time_recovery_enabled=True
                ),
                time_to_live_attribute=spec.ttl_attribute,
                global_secondary_indexes=[
                    dynamodb.GlobalSecondaryIndexPropsV2(
                        index_name=index.name,
                        partition_key=_attribute(index.partition_key),
                        sort_key=_attribute(index.sort_key),
                    )
                    for index in spec.indexes
                ]
                or None,
                deletion_protection=True,
                removal_policy=cdk.RemovalPolicy.RETAIN,  # customer data outlives the stack
            )
            self.tables[spec.env_var] = table

        # Who read or changed which object of the knowledge bucket (S3 server access logs), kept 90 days. Not the mail
        # bucket: its object keys carry customers' attachment names, which the logs would keep beyond erasure.
        self.access_logs = self._private_bucket(
            "AccessLogBucket",
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
            lifecycle_rules=[s3.LifecycleRule(expiration=cdk.Duration.days(90))],
        )
        self.knowledge = self._private_bucket(
            "KnowledgeBucket",
            versioned=True,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="knowledge/",
        )
        # Raw inbound email (SES receipt S3 action, inbound/) and attachments (attachments/): kept as long as memory.
        self.mail = self._private_bucket(
            "MailBucket",
            lifecycle_rules=[s3.LifecycleRule(expiration=cdk.Duration.days(retention_days))],
        )
        # Filled in by the merchant after deploy (docs/deploy.md): the Meta app secret, the webhook verify token,
        # and the Cloud API access token.
        self.whatsapp_secret = secretsmanager.Secret(
            self,
            "WhatsAppSecret",
            description="WhatsApp Cloud API: app_secret, verify_token, access_token (JSON).",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                secret_string_template='{"app_secret": "", "access_token": ""}',
                generate_string_key="verify_token",
                password_length=32,
                exclude_punctuation=True,
            ),
        )
        self.signing_secret = secretsmanager.Secret(
            self,
            "StorefrontSigningSecret",
            description=(
                "The key the storefront mints customer tokens with (HS256): "
                '{"kid", "key", "previous_kid"?, "previous_key"?} (docs/deploy.md, rotating the signing key).'
            ),
            generate_secret_string=secretsmanager.SecretStringGenerator(
                secret_string_template='{"kid": "k1"}',
                generate_string_key="key",
                password_length=48,
                exclude_punctuation=True,
            ),
        )

    def _private_bucket(self, construct_id: str, **options: Any) -> s3.Bucket:
        """No public access, encrypted, TLS only, kept when the stack is deleted (it holds the merchant's data)."""
        return s3.Bucket(
            self,
            construct_id,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            removal_policy=cdk.RemovalPolicy.RETAIN,
            **options,
        )

    def table(self, spec: topology.Table) -> dynamodb.TableV2:
        return self.tables[spec.env_var]
