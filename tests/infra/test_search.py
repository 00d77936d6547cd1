"""CDK assertions for the knowledge index choice: embedded (nothing provisioned), OpenSearch Serverless, or a
managed domain — reachable by the ingest and retrieval roles only, and configured in their environment."""
from __future__ import annotations

import json

import pytest

from concierge import topology
from tests.infra.test_channels import synth
from tests.infra.test_stack import function_ids, of_type, role_statements

pytestmark = pytest.mark.infra
USERS = {topology.FunctionName.INGEST, topology.FunctionName.RETRIEVAL}


def environment(resources, name):
    return resources[function_ids(resources)[name]]["Properties"]["Environment"]["Variables"]


def test_the_embedded_default_provisions_no_opensearch():
    resources = synth()
    assert not [r for r in resources.values() if r["Type"].startswith(("AWS::OpenSearchServerless", "AWS::OpenSearchService"))]
    assert environment(resources, topology.FunctionName.RETRIEVAL)["CONCIERGE_KNOWLEDGE_INDEX"] == "embedded"


def test_serverless_is_a_vector_collection_only_ingest_and_retrieval_reach():
    resources = synth(knowledgeIndex="serverless")
    [collection] = of_type(resources, "AWS::OpenSearchServerless::Collection").values()
    assert collection["Properties"]["Type"] == "VECTORSEARCH"
    policies = {p["Properties"]["Type"]: p["Properties"] for p in of_type(resources, "AWS::OpenSearchServerless::SecurityPolicy").values()}
    assert set(policies) == {"encryption", "network"}
    [access] = of_type(resources, "AWS::OpenSearchServerless::AccessPolicy").values()
    principals = json.dumps(access["Properties"]["Policy"])
    ids = function_ids(resources)
    roles = {name: resources[ids[name]]["Properties"]["Role"]["Fn::GetAtt"][0] for name in topology.FunctionName}
    assert all((roles[name] in principals) == (name in USERS) for name in topology.FunctionName)
    for name in topology.FunctionName:
        allowed = any("aoss:APIAccessAll" in json.dumps(s["Action"]) for s in role_statements(resources, name))
        assert allowed == (name in USERS), name
        variables = environment(resources, name)
        if name in USERS:
            assert variables["CONCIERGE_KNOWLEDGE_INDEX"] == "opensearch" and variables["CONCIERGE_OPENSEARCH_SERVICE"] == "aoss"


def test_managed_is_an_encrypted_https_domain_for_the_two_roles():
    resources = synth(knowledgeIndex="managed")
    [domain] = of_type(resources, "AWS::OpenSearchService::Domain").values()
    properties = domain["Properties"]
    assert properties["ClusterConfig"]["InstanceType"] == "t3.small.search" and properties["ClusterConfig"]["InstanceCount"] == 1
    assert properties["EncryptionAtRestOptions"]["Enabled"] is True
    assert properties["NodeToNodeEncryptionOptions"]["Enabled"] is True
    assert properties["DomainEndpointOptions"]["EnforceHTTPS"] is True
    for name in topology.FunctionName:
        allowed = any("es:ESHttpPost" in json.dumps(s["Action"]) for s in role_statements(resources, name))
        assert allowed == (name in USERS), name
    assert environment(resources, topology.FunctionName.INGEST)["CONCIERGE_OPENSEARCH_SERVICE"] == "es"


def test_an_unknown_choice_is_refused():
    with pytest.raises(Exception, match="knowledgeIndex must be one of"):
        synth(knowledgeIndex="elastic")


def test_the_model_is_reachable_by_the_agent_alone():
    anthropic = synth(modelProvider="anthropic", model="claude-haiku-5-5")
    secret = next(k for k in of_type(anthropic, "AWS::SecretsManager::Secret") if "AnthropicApiKey" in k)
    for name in topology.FunctionName:
        assert (secret in json.dumps(role_statements(anthropic, name))) == (name is topology.FunctionName.AGENT), name
    variables = environment(anthropic, topology.FunctionName.AGENT)
    assert (variables["CONCIERGE_MODEL_PROVIDER"], variables["CONCIERGE_MODEL"]) == ("anthropic", "claude-haiku-5-5")
    assert "CONCIERGE_MODEL_PROVIDER" not in environment(anthropic, topology.FunctionName.ACTIONS)

    bedrock = synth(modelProvider="bedrock")
    for name in topology.FunctionName:
        invokes = any("bedrock:InvokeModel" in json.dumps(s["Action"]) for s in role_statements(bedrock, name))
        assert invokes == (name is topology.FunctionName.AGENT), name
    assert not of_type(synth(), "AWS::SecretsManager::Secret").keys() & {secret}
