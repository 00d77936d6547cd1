"""The scheduled churn scoring as deployed (docs/churn.md): a daily EventBridge Scheduler schedule puts the first
page's request on the churn-scoring queue, whose pages the actions function scores one per invocation, with a Scan
of the store table that no other function, and no other table, is granted. cdk-nag's checks of the whole stack
(tests/infra/test_nag.py) hold with these resources and no new suppression: the Scan names one table's ARN."""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from concierge.platform import topology
from concierge.platform.events import ChurnScoringRequested
from infra.app import build
from tests.infra.test_stack import actions_of, function_ids, of_type, role_statements

pytestmark = pytest.mark.infra


@pytest.fixture(scope="module")
def resources() -> dict:
    app = cdk.App(context={"aws:cdk:bundling-stacks": []})
    return Template.from_stack(build(app)).to_json()["Resources"]


def churn_queue(resources: dict) -> str:
    [rule] = [r for r in topology.RULES if r.name == "churn-scoring"]
    [event_rule] = [
        r["Properties"]
        for r in of_type(resources, "AWS::Events::Rule").values()
        if r["Properties"].get("EventPattern") == rule.pattern
    ]
    return str(event_rule["Targets"][0]["Arn"]["Fn::GetAtt"][0])


def test_a_daily_schedule_puts_the_first_page_s_request_on_the_churn_scoring_queue(resources):
    [schedule] = [s["Properties"] for s in of_type(resources, "AWS::Scheduler::Schedule").values()]
    assert schedule["ScheduleExpression"] == "cron(0 3 * * ? *)" and schedule["ScheduleExpressionTimezone"] == "Etc/UTC"
    assert schedule["FlexibleTimeWindow"] == {"Mode": "OFF"} and schedule["State"] == "ENABLED"
    queue = churn_queue(resources)
    assert schedule["Target"]["Arn"] == {"Fn::GetAtt": [queue, "Arn"]}
    # the message is the envelope the rule's own events have, its time the schedule's
    message = json.loads(schedule["Target"]["Input"].replace("<aws.scheduler.scheduled-time>", "2026-11-18T03:00:00Z"))
    assert message["source"] == topology.EVENT_SOURCE and message["detail-type"] == "churn.scoring.requested"
    request = ChurnScoringRequested.model_validate(message["detail"])
    assert request.page == 1 and request.pages is None and request.as_of is None  # the day before: the 17th
    # the schedule's role may send to that queue and nothing else
    role_id = schedule["Target"]["RoleArn"]["Fn::GetAtt"][0]
    statements = [
        s
        for p in of_type(resources, "AWS::IAM::Policy").values()
        if {"Ref": role_id} in p["Properties"]["Roles"]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    assert statements == [{"Action": "sqs:SendMessage", "Effect": "Allow", "Resource": {"Fn::GetAtt": [queue, "Arn"]}}]


def test_the_churn_scoring_queue_gives_the_actions_function_one_page_per_invocation(resources):
    queue = churn_queue(resources)
    [mapping] = [
        m["Properties"]
        for m in of_type(resources, "AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["EventSourceArn"] == {"Fn::GetAtt": [queue, "Arn"]}
    ]
    assert mapping["BatchSize"] == 1 and mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["FunctionName"] == {"Ref": function_ids(resources)[topology.FunctionName.ACTIONS]}


def test_only_the_actions_function_may_scan_and_only_the_store_table_itself(resources):
    store_id = next(k for k in of_type(resources, "AWS::DynamoDB::GlobalTable") if "StoreTable" in k)
    for name in topology.FunctionName:
        scans = [s for s in role_statements(resources, name) if "dynamodb:Scan" in actions_of([s])]
        if name is not topology.FunctionName.ACTIONS:
            assert scans == [], name  # CDK's read grants would include it: the roles are granted without it
            continue
        [statement] = scans
        assert statement["Action"] == "dynamodb:Scan"  # a statement of its own: nothing else rides on it
        assert statement["Resource"] == {"Fn::GetAtt": [store_id, "Arn"]}  # the table, not its index, not memory
    # what the functions read and write otherwise is as before: the memory table and the store, each by its ARN
    actions = actions_of(role_statements(resources, topology.FunctionName.ACTIONS))
    assert {"dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem"} <= actions
