"""The Concierge stack: a thin composition of one construct per capability."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from constructs import Construct

from concierge.platform import topology
from concierge.platform.settings import SurveysSettings, env_name
from infra import nag
from infra.constructs.api import PublicApi
from infra.constructs.compute import Functions, Merchant
from infra.constructs.data import Data
from infra.constructs.inbound_email import InboundEmail
from infra.constructs.messaging import Messaging
from infra.constructs.monitoring import Monitoring
from infra.constructs.notifications import TeamNotifications
from infra.constructs.operators import Operators, domain_prefix
from infra.constructs.search import KnowledgeSearch
from infra.constructs.sites import Sites
from infra.constructs.workflow import approval_workflow, journey_workflow, turn_workflow


class ConciergeStack(cdk.Stack):
    def __init__(self, scope: Construct, construct_id: str, merchant: Merchant, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        data = Data(self, "Data", retention_days=merchant.memory_ttl_days)
        messaging = Messaging(self, "Messaging")
        functions = Functions(self, "Functions", data, messaging, merchant)
        for rule in topology.RULES:
            function = functions.functions[rule.function]
            assert function.timeout is not None  # every function is given one (compute.SIZING)
            messaging.subscribe(rule, function, function.timeout)
        for schedule in topology.SCHEDULES:
            messaging.schedule(schedule)
        workflow = turn_workflow(self, functions)
        approvals = approval_workflow(self, functions)
        journeys = journey_workflow(self, functions)
        notifications = TeamNotifications(self, "TeamNotifications", messaging.bus, merchant.notify_email)
        ingest = functions.functions[topology.FunctionName.INGEST]
        retrieval = functions.functions[topology.FunctionName.RETRIEVAL]
        assert ingest.role is not None and retrieval.role is not None  # each function has its own role (compute)
        # Retrieval only reads the index; ingest (document sync) writes it.
        search = KnowledgeSearch(
            self, "KnowledgeSearch", merchant.knowledge_index, reader_roles=[retrieval.role], writer_roles=[ingest.role]
        )
        for name in (topology.FunctionName.INGEST, topology.FunctionName.RETRIEVAL):
            functions.add_environment(name, search.environment())
        # Help-center files put in (or deleted from) documents/ are indexed by ingest.
        for event in (s3.EventType.OBJECT_CREATED, s3.EventType.OBJECT_REMOVED):
            data.knowledge.add_event_notification(
                event, s3n.LambdaDestination(ingest), s3.NotificationKeyFilter(prefix="documents/")
            )
        operators = Operators(self, "Operators", domain_prefix(self, merchant.sign_in_domain_prefix))
        api = PublicApi(
            self, "PublicApi", workflow.state_machine, ingest, operators.user_pool, merchant.allowed_origins
        )
        # The console, the dashboard and the widget's script: a static site whose pages sign operators in through
        # the pool's hosted UI, which sends them back only to those pages.
        site = Sites(self, "Sites", api.rest_api, data.access_logs, operators.domain.base_url())
        site.deploy(operators.sign_in(site.page_urls()))
        # Survey links in emails and WhatsApp messages lead to the API's one-click survey page.
        functions.add_environment(
            topology.FunctionName.SURVEYS, {env_name(SurveysSettings, "public_api_url"): api.rest_api.url}
        )
        if merchant.inbound_email_recipient:
            InboundEmail(self, "InboundEmail", merchant.inbound_email_recipient, data.mail, ingest)
            if merchant.sender_email.lower() != merchant.inbound_email_recipient.lower():
                # Replies carry a Reply-To of senderEmail+<conversation>: only the recipient (with any +label)
                # reaches the receipt rule.
                cdk.Annotations.of(self).add_warning_v2(
                    "concierge:replyToNotReceived",
                    f"senderEmail {merchant.sender_email} differs from inboundEmailRecipient "
                    f"{merchant.inbound_email_recipient}: customers' answers to the Reply-To address will not reach "
                    "the receipt rule (docs/deploy.md, Email and WhatsApp).",
                )

        monitoring = Monitoring(
            self,
            "Monitoring",
            functions=functions.functions,
            workflows={
                "Turn": workflow.state_machine,
                "Approval": approvals.state_machine,
                "Journey": journeys.state_machine,
            },
            api=api.rest_api,
            dead_letter_queues={**messaging.dead_letter_queues, "IngestAsync": functions.ingest_async_dlq},
            existing_alarms=[
                *messaging.alarms.values(),
                *([functions.model_errors_alarm] if functions.model_errors_alarm else []),
            ],
            email=merchant.notify_email,
        )

        nag.suppress(
            self,
            signing_secret=data.signing_secret,
            whatsapp_secret=data.whatsapp_secret,
            dlq=functions.ingest_async_dlq,
            access_logs=data.access_logs,
            mail=data.mail,
            functions=list(functions.functions.values()),
            workflow_roles=[workflow.state_machine.role, approvals.state_machine.role, journeys.state_machine.role],
            model_secret=functions.model_secret,
            search_domain=search.domain,
            distribution=site.distribution,
        )

        cdk.CfnOutput(self, "ApiUrl", value=api.rest_api.url)
        cdk.CfnOutput(self, "OperatorUserPoolId", value=operators.user_pool.user_pool_id)
        cdk.CfnOutput(self, "OperatorClientId", value=operators.client.user_pool_client_id)
        cdk.CfnOutput(
            self,
            "ConsoleUrl",
            value=f"{site.origin}/console.html",
            description="the agent console (operators sign in through the hosted UI); the dashboard is dashboard.html",
        )
        cdk.CfnOutput(
            self, "WidgetScriptUrl", value=f"{site.origin}/widget.js", description="the chat widget (docs/widget.md)"
        )
        cdk.CfnOutput(self, "OperatorSignInUrl", value=operators.domain.base_url())
        cdk.CfnOutput(
            self,
            "AlarmTopic",
            value=monitoring.topic.topic_arn,
            description="every alarm (function errors and throttles, workflow failures, API 5xx, dead letters)",
        )
        cdk.CfnOutput(self, "Dashboard", value=monitoring.dashboard.dashboard_name)
        cdk.CfnOutput(
            self,
            "ApiKeyId",
            value=api.api_key.key_id,
            description="aws apigateway get-api-key --api-key <id> --include-value",
        )
        cdk.CfnOutput(
            self,
            "SigningSecretArn",
            value=data.signing_secret.secret_arn,
            description="aws secretsmanager get-secret-value --secret-id <arn>",
        )
        cdk.CfnOutput(self, "EventBusName", value=messaging.bus.event_bus_name)
        cdk.CfnOutput(
            self,
            "TeamNotificationsTopic",
            value=notifications.topic.topic_arn,
            description="handoffs and approvals; subscribe an email, or connect AWS Chatbot",
        )
        cdk.CfnOutput(self, "KnowledgeBucketName", value=data.knowledge.bucket_name)
        cdk.CfnOutput(self, "MailBucketName", value=data.mail.bucket_name)
        if search.endpoint:
            cdk.CfnOutput(self, "KnowledgeSearchEndpoint", value=search.endpoint)
        if functions.model_secret is not None:
            cdk.CfnOutput(
                self,
                "AnthropicApiKeySecretArn",
                value=functions.model_secret.secret_arn,
                description="put the Anthropic API key: aws secretsmanager put-secret-value --secret-id <arn> "
                "--secret-string sk-ant-... (it starts as a placeholder)",
            )
        cdk.CfnOutput(
            self,
            "WhatsAppSecretArn",
            value=data.whatsapp_secret.secret_arn,
            description="put app_secret and access_token (verify_token is generated) after deploy",
        )
        for spec in topology.TABLES:
            cdk.CfnOutput(self, f"{spec.logical_id}Name", value=data.table(spec).table_name)
        cdk.CfnOutput(self, "TurnStateMachineArn", value=workflow.state_machine.state_machine_arn)
