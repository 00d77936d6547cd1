"""The custom event bus, and for each topology rule: rule -> SQS queue (with a dead-letter queue) -> function; and
each topology schedule: an EventBridge Scheduler schedule -> its rule's queue."""

from __future__ import annotations

from typing import cast

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as scheduler_targets
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from concierge.platform import topology


class Messaging(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.bus = events.EventBus(self, "Bus", event_bus_name=f"{cdk.Stack.of(self).stack_name}-events")
        self.queues: dict[str, sqs.Queue] = {}
        self.dead_letter_queues: dict[str, sqs.Queue] = {}
        self.alarms: dict[str, cloudwatch.Alarm] = {}  # one per dead-letter queue (monitoring.py sends them on)

    def subscribe(self, rule: topology.Rule, function: lambda_.Function, function_timeout: cdk.Duration) -> None:
        """Deliver the rule's events to `function` through a queue, so nothing accepted is lost."""
        construct_id = "".join(part.capitalize() for part in rule.name.split("-"))
        dead_letters = sqs.Queue(
            self,
            f"{construct_id}Dlq",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=cdk.Duration.days(14),
        )
        queue = sqs.Queue(
            self,
            f"{construct_id}Queue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            visibility_timeout=cdk.Duration.seconds(
                function_timeout.to_seconds() * 6
            ),  # AWS's advice for Lambda sources
            dead_letter_queue=sqs.DeadLetterQueue(queue=dead_letters, max_receive_count=rule.max_receive_count),
        )
        event_rule = events.Rule(
            self,
            f"{construct_id}Rule",
            event_bus=self.bus,
            event_pattern=events.EventPattern(source=[topology.EVENT_SOURCE]),
            targets=[targets.SqsQueue(queue)],
        )
        # the topology's pattern as it is (content filters and `$or` included), which EventPattern cannot spell
        cast(events.CfnRule, event_rule.node.default_child).add_property_override("EventPattern", rule.pattern)
        function.add_event_source(
            sources.SqsEventSource(queue, batch_size=rule.batch_size, report_batch_item_failures=True)
        )
        if rule.queue_arn_env:
            function.add_environment(rule.queue_arn_env, queue.queue_arn)
        self.alarms[rule.name] = cloudwatch.Alarm(
            self,
            f"{construct_id}DeadLetters",
            metric=dead_letters.metric_approximate_number_of_messages_visible(),
            threshold=1,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,  # an idle, empty queue publishes nothing
            alarm_description=f"Events of rule {rule.name} failed {rule.max_receive_count} times and are parked.",
        )
        self.queues[rule.name] = queue
        self.dead_letter_queues[rule.name] = dead_letters

    def schedule(self, schedule: topology.Schedule) -> scheduler.Schedule:
        """Put the schedule's message on its rule's queue at its times (EventBridge Scheduler, with a role that may
        send to that queue alone), shaped as the rule's own events are: the function reads `detail-type` and
        `detail`, whose `occurred_at` is the time the schedule fired."""
        construct_id = "".join(part.capitalize() for part in schedule.name.split("-"))
        return scheduler.Schedule(
            self,
            f"{construct_id}Schedule",
            description=schedule.says,
            schedule=scheduler.ScheduleExpression.cron(**schedule.cron, time_zone=cdk.TimeZone.ETC_UTC),
            target=scheduler_targets.SqsSendMessage(
                self.queues[schedule.rule],
                input=scheduler.ScheduleTargetInput.from_object(
                    {
                        "version": "0",
                        "source": topology.EVENT_SOURCE,
                        "detail-type": schedule.detail_type,
                        "detail": {**schedule.detail, "occurred_at": scheduler.ContextAttribute.scheduled_time},
                    }
                ),
            ),
        )
