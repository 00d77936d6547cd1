"""CDK assertions for the model: ids validated at synth against the capability table (reasoning/models.py), the
Bedrock IAM that each endpoint needs and nothing more, the Anthropic key secret's placeholder, the error alarm."""

from __future__ import annotations

import functools
import json
import re

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from concierge.platform import topology
from concierge.reasoning import models
from infra.app import build
from tests.infra.test_stack import actions_of, function_ids, of_type, role_statements

pytestmark = pytest.mark.infra

CALLERS = (topology.FunctionName.AGENT, topology.FunctionName.SURVEYS)
INVOKE = {"bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"}


@functools.cache
def _synth(context: tuple[tuple[str, str], ...]) -> dict:
    app = cdk.App(context={"aws:cdk:bundling-stacks": [], **dict(context)})
    return Template.from_stack(build(app)).to_json()


def template(**context: str) -> dict:
    return _synth(tuple(sorted(context.items())))


def resources(**context: str) -> dict:
    return template(**context)["Resources"]


def text(value) -> str:
    """An ARN as a readable string: Fn::Join flattened, {"Ref": X} as ${X}."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(text(part) for part in parts)
    if isinstance(value, dict) and "Ref" in value:
        return "${" + value["Ref"] + "}"
    return json.dumps(value)


def resource_list(statement: dict) -> list[str]:
    found = statement["Resource"]
    return [text(r) for r in (found if isinstance(found, list) else [found])]


def conditions(statement: dict) -> dict:
    return {
        op: {
            key: text(value) if not isinstance(value, list) else [text(v) for v in value] for key, value in keys.items()
        }
        for op, keys in statement.get("Condition", {}).items()
    }


def model_statements(found: dict, name: topology.FunctionName) -> list[dict]:
    return [s for s in role_statements(found, name) if any(a.startswith("bedrock") for a in actions_of([s]))]


def variables(found: dict, name: topology.FunctionName) -> dict:
    return found[function_ids(found)[name]]["Properties"]["Environment"]["Variables"]


PROFILE = "arn:${AWS::Partition}:bedrock:${AWS::Region}:${AWS::AccountId}:inference-profile/"


def foundation_model(region: str, model: str) -> str:
    return f"arn:${{AWS::Partition}}:bedrock:{region}::foundation-model/{model}"


# validation at synth ----------------------------------------------------------------------------
def test_an_unknown_model_fails_synth_naming_the_known_ids():
    with pytest.raises(models.UnknownModel, match=r"Known: .*claude-sonnet-5-5.*anthropic\.claude-haiku-5-5"):
        resources(modelProvider="bedrock", model="claude-sonnet-9")
    with pytest.raises(models.UnknownModel, match="claude-haiku-9"):
        resources(modelProvider="anthropic", judgeModel="claude-haiku-9")


def test_a_bedrock_id_is_not_taken_by_the_anthropic_api():
    with pytest.raises(models.UnknownModel, match="claude-sonnet-5-5"):
        resources(modelProvider="anthropic", model="anthropic.claude-sonnet-5-5")


def test_a_claude_api_id_given_for_bedrock_resolves_to_its_mantle_id():
    found = resources(modelProvider="bedrock", model="claude-haiku-4-5")
    assert variables(found, topology.FunctionName.AGENT)["CONCIERGE_MODEL"] == "anthropic.claude-haiku-4-5"
    [mantle] = [
        s
        for s in model_statements(found, topology.FunctionName.AGENT)
        if actions_of([s]) == {"bedrock-mantle:CreateInference"}
    ]
    assert "anthropic.claude-haiku-4-5" in conditions(mantle)["StringEquals"]["bedrock-mantle:Model"]
    # Sonnet 4.6 has no Mantle id: its API id is ambiguous on Bedrock, and the error names the profiles
    with pytest.raises(models.UnknownModel, match=re.escape("us.anthropic.claude-sonnet-4-6")):
        resources(modelProvider="bedrock", model="claude-sonnet-4-6")


# Bedrock IAM per endpoint -----------------------------------------------------------------------
def test_default_bedrock_may_create_inference_on_its_mantle_projects_for_the_two_models_only():
    found = resources(modelProvider="bedrock")
    for name in CALLERS:
        assert variables(found, name)["CONCIERGE_MODEL"] == "anthropic.claude-sonnet-5-5"
        assert variables(found, name)["CONCIERGE_JUDGE_MODEL"] == "anthropic.claude-haiku-5-5"
        [statement] = model_statements(found, name)
        assert actions_of([statement]) == {"bedrock-mantle:CreateInference"}
        assert resource_list(statement) == [
            "arn:${AWS::Partition}:bedrock-mantle:${AWS::Region}:${AWS::AccountId}:project/*"
        ]
        assert conditions(statement) == {
            "StringEquals": {"bedrock-mantle:Model": ["anthropic.claude-sonnet-5-5", "anthropic.claude-haiku-5-5"]}
        }


def test_a_us_profile_may_invoke_the_profile_and_the_model_in_the_us_regions_only_through_it():
    profile_id = "us.anthropic.claude-sonnet-4-6"
    found = resources(modelProvider="bedrock", model=profile_id)
    assert models.PROFILE_REGIONS["us"] == ("us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1")
    for name in CALLERS:
        assert variables(found, name)["CONCIERGE_MODEL"] == profile_id
        statements = model_statements(found, name)
        invoke = [s for s in statements if actions_of([s]) == INVOKE]
        [on_profile] = [s for s in invoke if resource_list(s) == [PROFILE + profile_id]]
        assert "Condition" not in on_profile
        [on_models] = [s for s in invoke if s is not on_profile]
        assert set(resource_list(on_models)) == {
            foundation_model(region, "anthropic.claude-sonnet-4-6")
            for region in ("${AWS::Region}", *models.PROFILE_REGIONS["us"])
        }
        assert conditions(on_models) == {"StringEquals": {"bedrock:InferenceProfileArn": PROFILE + profile_id}}
        # the judge stays on its own endpoint
        [mantle] = [s for s in statements if s not in invoke]
        assert conditions(mantle)["StringEquals"]["bedrock-mantle:Model"] == ["anthropic.claude-haiku-5-5"]


def test_a_global_profile_needs_the_profile_the_regional_model_and_the_regionless_model():
    profile_id = "global.anthropic.claude-haiku-4-5-20251001-v1:0"
    fm = "anthropic.claude-haiku-4-5-20251001-v1:0"
    found = resources(modelProvider="bedrock", model=profile_id, judgeModel=profile_id)
    through = {"bedrock:InferenceProfileArn": PROFILE + profile_id}
    for name in CALLERS:
        assert variables(found, name)["CONCIERGE_JUDGE_MODEL"] == profile_id
        statements = model_statements(found, name)
        assert len(statements) == 3, "one model: no Mantle statement, nothing twice"
        by_resource = {tuple(resource_list(s)): s for s in statements}
        assert all(actions_of([s]) == INVOKE for s in statements)
        assert "Condition" not in by_resource[(PROFILE + profile_id,)]
        assert conditions(by_resource[(foundation_model("${AWS::Region}", fm),)]) == {"StringEquals": through}
        regionless = by_resource[(f"arn:${{AWS::Partition}}:bedrock:::foundation-model/{fm}",)]
        assert conditions(regionless) == {"StringEquals": {"aws:RequestedRegion": "unspecified", **through}}


def test_only_the_functions_that_call_the_model_get_bedrock_access():
    for context in (
        {"modelProvider": "bedrock"},
        {"modelProvider": "bedrock", "model": "eu.anthropic.claude-sonnet-4-6"},
    ):
        found = resources(**context)
        for name in topology.FunctionName:
            assert bool(model_statements(found, name)) == (name in CALLERS), (context, name)
            assert ("CONCIERGE_MODEL" in variables(found, name)) == (name in CALLERS), (context, name)


# the Anthropic API key --------------------------------------------------------------------------
def test_the_anthropic_key_secret_starts_as_the_placeholder_and_only_agent_and_surveys_read_it():
    stack = template(modelProvider="anthropic")
    found = stack["Resources"]
    [(secret_id, secret)] = [
        (k, v) for k, v in of_type(found, "AWS::SecretsManager::Secret").items() if "AnthropicApiKey" in k
    ]
    assert secret["Properties"]["SecretString"] == models.KEY_PLACEHOLDER
    assert "GenerateSecretString" not in secret["Properties"]
    for name in topology.FunctionName:
        reads = any(
            secret_id in json.dumps(s.get("Resource")) and "secretsmanager:GetSecretValue" in actions_of([s])
            for s in role_statements(found, name)
        )
        assert reads == (name in CALLERS), name
        assert not model_statements(found, name), "no Bedrock access with the Anthropic API"
    for name in CALLERS:
        env = variables(found, name)
        assert env["CONCIERGE_ANTHROPIC_SECRET_ARN"] == {"Ref": secret_id}
        assert env["CONCIERGE_MODEL_PROVIDER"] == "anthropic"
    assert stack["Outputs"]["AnthropicApiKeySecretArn"]["Value"] == {"Ref": secret_id}
    assert "AnthropicApiKeySecretArn" not in template(modelProvider="bedrock")["Outputs"]


def test_the_judge_is_the_haiku_class_default_in_the_providers_form_unless_chosen():
    assert models.DEFAULT_JUDGE_MODEL == "claude-haiku-5-5"
    for provider, expected in (("anthropic", "claude-haiku-5-5"), ("bedrock", "anthropic.claude-haiku-5-5")):
        found = resources(modelProvider=provider)
        for name in CALLERS:
            assert variables(found, name)["CONCIERGE_JUDGE_MODEL"] == expected, (provider, name)
    chosen = resources(modelProvider="anthropic", judgeModel="claude-haiku-4-5")
    assert variables(chosen, topology.FunctionName.SURVEYS)["CONCIERGE_JUDGE_MODEL"] == "claude-haiku-4-5"
    assert variables(chosen, topology.FunctionName.SURVEYS)["CONCIERGE_MODEL"] == "claude-sonnet-5-5"


# the alarm --------------------------------------------------------------------------------------
def model_alarms(found: dict) -> list[dict]:
    return [
        a["Properties"]
        for a in of_type(found, "AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("MetricName") == "ModelRequestErrors"
    ]


def test_model_request_errors_alarm_only_when_a_model_is_configured():
    assert model_alarms(resources()) == []
    for provider in ("anthropic", "bedrock"):
        [alarm] = model_alarms(resources(modelProvider=provider))
        assert alarm["Namespace"] == "Concierge"
        assert alarm["Dimensions"] == [{"Name": "service", "Value": "concierge"}]
        assert (alarm["Statistic"], alarm["Period"], alarm["EvaluationPeriods"]) == ("Sum", 300, 1)
        assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanOrEqualToThreshold", 1)
        assert alarm["TreatMissingData"] == "notBreaching"
        assert "concierge doctor" in alarm["AlarmDescription"]
    # the metric's dimension is the one Powertools adds from the functions' service name
    assert (
        variables(resources(modelProvider="bedrock"), topology.FunctionName.AGENT)["POWERTOOLS_SERVICE_NAME"]
        == "concierge"
    )
