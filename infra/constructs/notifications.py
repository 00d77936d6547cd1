"""People are told when they are needed: handoffs and approvals go from the bus to an SNS topic. Subscribe an
email address (`-c notifyEmail=`), or connect the topic to Slack or Microsoft Teams with AWS Chatbot
(docs/handoff.md): no webhook secret ever sits in the template."""

from __future__ import annotations

from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from concierge.platform.topology import EVENT_SOURCE

NOTIFIED = ("handoff.requested", "approval.requested")


class TeamNotifications(Construct):
    def __init__(self, scope: Construct, construct_id: str, bus: events.IEventBus, email: str = "") -> None:
        super().__init__(scope, construct_id)
        self.topic = sns.Topic(self, "Topic", display_name="Concierge: a person is needed", enforce_ssl=True)
        rule = events.Rule(
            self,
            "Rule",
            event_bus=bus,
            event_pattern=events.EventPattern(source=[EVENT_SOURCE], detail_type=list(NOTIFIED)),
            description="Handoffs and approvals: tell the team",
        )
        # Ids, the queue and the reason only: the customer's words stay in the console.
        message = events.RuleTargetInput.from_text(
            f"{events.EventField.from_path('$.detail-type')}: conversation "
            f"{events.EventField.from_path('$.detail.conversation_id')} — "
            f"{events.EventField.from_path('$.detail.reason')} "
            f"(queue {events.EventField.from_path('$.detail.queue')}, "
            f"priority {events.EventField.from_path('$.detail.priority')})"
        )
        rule.add_target(targets.SnsTopic(self.topic, message=message))
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                actions=["sns:Publish"],
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                resources=[self.topic.topic_arn],
                conditions={"ArnEquals": {"aws:SourceArn": rule.rule_arn}},
            )
        )
        if email:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))
