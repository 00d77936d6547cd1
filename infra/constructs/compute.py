"""The five functions: one shared layer, one least-privilege role each, permissions read from topology.ACCESS."""
from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from concierge import topology
from infra.bundling import functions_code, layer_code
from infra.constructs.data import Data
from infra.constructs.messaging import Messaging


@dataclass(frozen=True)
class Merchant:
    """Merchant configuration, from CDK context (see docs/deploy.md)."""

    name: str
    sender_email: str
    return_window_days: int
    memory_ttl_days: int
    max_auto_refund: str


# Memory and timeout per function: the agent and the actions do the most work per call; survey scoring is batch.
SIZING = {
    topology.FunctionName.INGEST: (512, 10),
    topology.FunctionName.RETRIEVAL: (512, 10),
    topology.FunctionName.AGENT: (1024, 25),
    topology.FunctionName.ACTIONS: (512, 20),
    topology.FunctionName.SURVEYS: (256, 30),
}


class Functions(Construct):
    def __init__(self, scope: Construct, construct_id: str, data: Data, messaging: Messaging, merchant: Merchant) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        layer = lambda_.LayerVersion(
            self,
            "SharedLayer",
            code=layer_code(),
            compatible_runtimes=[lambda_.Runtime.PYTHON_3_12, lambda_.Runtime.PYTHON_3_13],
            compatible_architectures=[lambda_.Architecture.ARM_64],
            description="The concierge domain library and its runtime dependencies.",
        )
        code = functions_code()
        environment = {
            topology.MEMORY_TABLE.env_var: data.table(topology.MEMORY_TABLE).table_name,
            topology.STORE_TABLE.env_var: data.table(topology.STORE_TABLE).table_name,
            topology.EVENT_BUS_ENV: messaging.bus.event_bus_name,
            topology.KNOWLEDGE_BUCKET_ENV: data.knowledge.bucket_name,
            "CONCIERGE_SIGNING_SECRET_ARN": data.signing_secret.secret_arn,
            "CONCIERGE_MERCHANT_NAME": merchant.name,
            "CONCIERGE_SENDER_EMAIL": merchant.sender_email,
            "CONCIERGE_RETURN_WINDOW_DAYS": str(merchant.return_window_days),
            "CONCIERGE_MEMORY_TTL_DAYS": str(merchant.memory_ttl_days),
            "CONCIERGE_MAX_AUTO_REFUND": merchant.max_auto_refund,
            "POWERTOOLS_SERVICE_NAME": "concierge",
            "POWERTOOLS_METRICS_NAMESPACE": "Concierge",
            "POWERTOOLS_LOG_LEVEL": "INFO",
        }
        self.functions: dict[topology.FunctionName, lambda_.Function] = {}
        for name in topology.FunctionName:
            memory, timeout = SIZING[name]
            role = iam.Role(
                self,
                f"{name.value.capitalize()}Role",
                assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
                description=f"Least privilege for the {name.value} function.",
            )
            log_group = logs.LogGroup(
                self, f"{name.value.capitalize()}Logs", retention=logs.RetentionDays.ONE_MONTH,
                removal_policy=cdk.RemovalPolicy.DESTROY,
            )
            function = lambda_.Function(
                self,
                f"{name.value.capitalize()}Function",
                runtime=lambda_.Runtime.PYTHON_3_12,
                architecture=lambda_.Architecture.ARM_64,
                handler=topology.HANDLERS[name],
                code=code,
                layers=[layer],
                role=role,
                memory_size=memory,
                timeout=cdk.Duration.seconds(timeout),
                tracing=lambda_.Tracing.ACTIVE,
                log_group=log_group,
                environment=environment,
                description=f"Concierge {name.value}",
            )
            log_group.grant_write(role)
            self._grant(name, function, data, messaging, merchant, stack)
            self.functions[name] = function

    @staticmethod
    def _grant(name, function: lambda_.Function, data: Data, messaging: Messaging, merchant: Merchant, stack) -> None:
        access = topology.ACCESS[name]
        writes = {table.env_var for table in access.write_tables}
        for table in access.read_tables:
            if table.env_var in writes:
                data.table(table).grant_read_write_data(function)
            else:
                data.table(table).grant_read_data(function)
        for table in access.write_tables:
            if table not in access.read_tables:
                data.table(table).grant_write_data(function)
        if access.put_events:
            messaging.bus.grant_put_events_to(function)
        if access.read_knowledge:
            data.knowledge.grant_read(function)
        if access.read_signing_secret:
            data.signing_secret.grant_read(function)
        if access.send_email:
            domain = merchant.sender_email.partition("@")[2]
            function.add_to_role_policy(
                iam.PolicyStatement(
                    actions=["ses:SendRawEmail", "ses:SendEmail"],
                    resources=[
                        stack.format_arn(service="ses", resource="identity", resource_name=identity)
                        for identity in (merchant.sender_email, domain)
                    ],
                )
            )
