"""What an operator watches: an alarm on every function's errors and throttles, on each workflow's failures and
timeouts and on the API's 5xx answers, all sent to one SNS topic; and a CloudWatch dashboard of the same.

Dead-letter queues have their own alarms (messaging.py), and so do misconfigured model requests (compute.py)."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from concierge.platform import topology

PERIOD = cdk.Duration.minutes(5)
_RULES = {rule.name for rule in topology.RULES}


class Monitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        functions: dict[topology.FunctionName, lambda_.Function],
        workflows: dict[str, sfn.StateMachine],
        api: apigateway.RestApi,
        dead_letter_queues: dict[str, sqs.Queue],
        existing_alarms: list[cloudwatch.Alarm],
        email: str = "",
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic = sns.Topic(self, "Alarms", display_name="Concierge: something is failing", enforce_ssl=True)
        if email:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))
        self.alarms: list[cloudwatch.Alarm] = []
        for alarm in existing_alarms:  # dead-letter queues of the rules, misconfigured model requests
            alarm.add_alarm_action(actions.SnsAction(self.topic))
            self.alarms.append(alarm)
        for label, queue in dead_letter_queues.items():
            if label in _RULES:
                continue  # messaging.py has its alarm
            self._alarm(
                f"{label}DeadLetters",
                queue.metric_approximate_number_of_messages_visible(period=PERIOD, statistic=cloudwatch.Stats.MAXIMUM),
                f"Events for the {label} dead-letter queue failed every retry and are parked there.",
            )

        for name, function in functions.items():
            label = name.value.capitalize()
            self._alarm(
                f"{label}Errors",
                function.metric_errors(period=PERIOD, statistic=cloudwatch.Stats.SUM),
                f"The {name.value} function raised errors (its log group says which; a failed event is retried, "
                "then parked in a dead-letter queue).",
            )
            self._alarm(
                f"{label}Throttles",
                function.metric_throttles(period=PERIOD, statistic=cloudwatch.Stats.SUM),
                f"The {name.value} function was throttled: the account's or the function's concurrency is exhausted.",
            )
        for label, machine in workflows.items():
            self._alarm(
                f"{label}WorkflowFailed",
                machine.metric_failed(period=PERIOD, statistic=cloudwatch.Stats.SUM),
                f"Executions of the {label.lower()} workflow failed (its log group has the failing state).",
            )
            self._alarm(
                f"{label}WorkflowTimedOut",
                machine.metric_timed_out(period=PERIOD, statistic=cloudwatch.Stats.SUM),
                f"Executions of the {label.lower()} workflow ran past their timeout.",
            )
        self._alarm(
            "Api5xx",
            api.metric_server_error(period=PERIOD, statistic=cloudwatch.Stats.SUM),
            "The API answered 5xx: a customer or an operator got an error instead of an answer.",
        )

        self.dashboard = cloudwatch.Dashboard(self, "Dashboard", dashboard_name=cdk.Stack.of(self).stack_name)
        every = list(functions.values())
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="API: requests, 4xx, 5xx",
                left=[
                    api.metric_count(period=PERIOD, statistic=cloudwatch.Stats.SUM),
                    api.metric_client_error(period=PERIOD, statistic=cloudwatch.Stats.SUM),
                    api.metric_server_error(period=PERIOD, statistic=cloudwatch.Stats.SUM),
                ],
            ),
            cloudwatch.GraphWidget(
                title="API latency (p50, p99)",
                left=[api.metric_latency(period=PERIOD, statistic=s) for s in ("p50", "p99")],
            ),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Function errors", left=[f.metric_errors(period=PERIOD, statistic="Sum") for f in every]
            ),
            cloudwatch.GraphWidget(
                title="Function duration (p99)", left=[f.metric_duration(period=PERIOD, statistic="p99") for f in every]
            ),
            cloudwatch.GraphWidget(
                title="Function throttles", left=[f.metric_throttles(period=PERIOD, statistic="Sum") for f in every]
            ),
        )
        self.dashboard.add_widgets(
            *(
                cloudwatch.GraphWidget(
                    title=f"{label} workflow: started, succeeded, failed, timed out",
                    left=[
                        machine.metric_started(period=PERIOD, statistic="Sum"),
                        machine.metric_succeeded(period=PERIOD, statistic="Sum"),
                        machine.metric_failed(period=PERIOD, statistic="Sum"),
                        machine.metric_timed_out(period=PERIOD, statistic="Sum"),
                    ],
                )
                for label, machine in workflows.items()
            ),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Dead-letter queues: messages parked",
                left=[
                    q.metric_approximate_number_of_messages_visible(period=PERIOD, statistic="Maximum")
                    for q in dead_letter_queues.values()
                ],
                width=24,
            ),
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=list(self.alarms), width=24),
        )

    def _alarm(self, construct_id: str, metric: cloudwatch.IMetric, description: str) -> None:
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            metric=metric,
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
        alarm.add_alarm_action(actions.SnsAction(self.topic))
        self.alarms.append(alarm)
