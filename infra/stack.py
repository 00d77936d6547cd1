"""The Concierge stack: a thin composition of one construct per capability."""
from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from concierge import topology
from infra.constructs.api import PublicApi
from infra.constructs.compute import Functions, Merchant
from infra.constructs.data import Data
from infra.constructs.messaging import Messaging
from infra.constructs.workflow import TurnWorkflow


class ConciergeStack(cdk.Stack):
    def __init__(self, scope: Construct, construct_id: str, merchant: Merchant, **kwargs) -> None:
        super().__init__(scope, construct_id, **kwargs)
        data = Data(self, "Data")
        messaging = Messaging(self, "Messaging")
        functions = Functions(self, "Functions", data, messaging, merchant)
        for rule in topology.RULES:
            function = functions.functions[rule.function]
            messaging.subscribe(rule, function, function.timeout)
        workflow = TurnWorkflow(self, "TurnWorkflow", functions)
        api = PublicApi(self, "PublicApi", workflow.state_machine)

        cdk.CfnOutput(self, "ApiUrl", value=api.rest_api.url)
        cdk.CfnOutput(self, "ApiKeyId", value=api.api_key.key_id,
                      description="aws apigateway get-api-key --api-key <id> --include-value")
        cdk.CfnOutput(self, "SigningSecretArn", value=data.signing_secret.secret_arn,
                      description="aws secretsmanager get-secret-value --secret-id <arn>")
        cdk.CfnOutput(self, "EventBusName", value=messaging.bus.event_bus_name)
        cdk.CfnOutput(self, "KnowledgeBucketName", value=data.knowledge.bucket_name)
        for spec in topology.TABLES:
            cdk.CfnOutput(self, f"{spec.logical_id}Name", value=data.table(spec).table_name)
        cdk.CfnOutput(self, "TurnStateMachineArn", value=workflow.state_machine.state_machine_arn)
