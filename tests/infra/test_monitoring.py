"""Alarms on what can fail, sent to one topic, and a dashboard (infra/constructs/monitoring.py)."""

from __future__ import annotations

from concierge.platform import topology
from tests.infra.test_stack import of_type, resources, template  # noqa: F401  (module fixtures)


def alarms(resources: dict) -> dict[str, dict]:
    return {k: v["Properties"] for k, v in of_type(resources, "AWS::CloudWatch::Alarm").items()}


def test_every_function_has_an_errors_and_a_throttles_alarm(resources):
    by_metric: dict[str, int] = {}
    for props in alarms(resources).values():
        if props.get("Namespace") == "AWS/Lambda":
            by_metric[props["MetricName"]] = by_metric.get(props["MetricName"], 0) + 1
    assert by_metric == {"Errors": len(topology.FunctionName), "Throttles": len(topology.FunctionName)}


def test_workflows_and_the_api_have_alarms(resources):
    found = {(p.get("Namespace"), p.get("MetricName")) for p in alarms(resources).values()}
    assert {("AWS/States", "ExecutionsFailed"), ("AWS/States", "ExecutionsTimedOut")} <= found
    assert ("AWS/ApiGateway", "5XXError") in found
    states = [p for p in alarms(resources).values() if p.get("Namespace") == "AWS/States"]
    assert len(states) == 6  # failed and timed out, for the turn, the approval and the journey workflows


def test_every_alarm_notifies_the_alarm_topic(resources):
    [topic] = [k for k, v in of_type(resources, "AWS::SNS::Topic").items() if "Alarms" in k]
    for name, props in alarms(resources).items():
        assert props.get("AlarmActions") == [{"Ref": topic}], name
    dead_letters = [n for n, p in alarms(resources).items() if p.get("Namespace") == "AWS/SQS"]
    assert len(dead_letters) == len(topology.RULES) + 1  # each rule's, and SES's asynchronous invocations of ingest


def test_a_dashboard_is_deployed(resources):
    [dashboard] = of_type(resources, "AWS::CloudWatch::Dashboard").values()
    assert dashboard["Properties"]["DashboardBody"]


def test_each_function_alarm_watches_its_own_function(resources):
    watched: dict[str, set[str]] = {"Errors": set(), "Throttles": set()}
    for props in alarms(resources).values():
        if props.get("Namespace") == "AWS/Lambda":
            [dimension] = props["Dimensions"]
            watched[props["MetricName"]].add(dimension["Value"]["Ref"])
    functions = set(of_type(resources, "AWS::Lambda::Function"))
    for metric, refs in watched.items():
        assert len(refs) == len(topology.FunctionName) and refs <= functions, metric


def test_the_model_errors_alarm_notifies_the_alarm_topic_too():
    import aws_cdk as cdk
    from aws_cdk.assertions import Template

    from infra.app import build

    app = cdk.App(context={"aws:cdk:bundling-stacks": [], "modelProvider": "anthropic"})
    found = Template.from_stack(build(app)).to_json()["Resources"]
    [topic] = [k for k, v in of_type(found, "AWS::SNS::Topic").items() if "Alarms" in k]
    [model] = [p for p in alarms(found).values() if p.get("MetricName") == "ModelRequestErrors"]
    assert model["AlarmActions"] == [{"Ref": topic}]


def test_docs_deploy_states_the_number_of_alarms(resources):
    """docs/deploy.md prices the alarms by their number: it stays the number the template declares."""
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "deploy.md").read_text()
    stated = re.search(r"\$0\.10 a month each, (\d+) of them", text)
    assert stated, "docs/deploy.md no longer says how many alarms the stack has"
    assert int(stated.group(1)) == len(alarms(resources))
