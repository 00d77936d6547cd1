"""CDK assertions for the knowledge index choice — embedded (nothing provisioned), an OpenSearch Serverless vector
collection, or a managed domain — first on a stack holding only the construct and two roles, then in the app:
reachable by the ingest and retrieval roles only, and configured in their environment."""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Template

from concierge.platform import topology
from infra.constructs.search import KnowledgeSearch, derived_name
from tests.infra.test_channels import synth
from tests.infra.test_stack import actions_of, function_ids, of_type, role_statements

pytestmark = pytest.mark.infra
USERS = {topology.FunctionName.INGEST, topology.FunctionName.RETRIEVAL}
OPENSEARCH = ("AWS::OpenSearchServerless::", "AWS::OpenSearchService::")


def small_stack(mode: str, **options) -> tuple[dict, KnowledgeSearch, cdk.Stack]:
    """A stack with the construct, a reader role and a writer role, nothing else."""
    stack = cdk.Stack(cdk.App(), "ConciergeSearchTest", env=cdk.Environment(account="111122223333", region="eu-west-1"))
    lambdas = iam.ServicePrincipal("lambda.amazonaws.com")
    reader, writer = iam.Role(stack, "Reader", assumed_by=lambdas), iam.Role(stack, "Writer", assumed_by=lambdas)
    search = KnowledgeSearch(stack, "KnowledgeSearch", mode, reader_roles=[reader], writer_roles=[writer], **options)
    return Template.from_stack(stack).to_json()["Resources"], search, stack


def role_id(resources: dict, name: str) -> str:
    [key] = [k for k, v in of_type(resources, "AWS::IAM::Role").items() if k.startswith(name)]
    return key


def statements_of(resources: dict, role: str) -> list[dict]:
    return [
        s
        for p in of_type(resources, "AWS::IAM::Policy").values()
        if {"Ref": role} in p["Properties"]["Roles"]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


# the construct alone -----------------------------------------------------------------------
def test_embedded_creates_nothing():
    resources, search, _ = small_stack("embedded")
    assert not [k for k, v in resources.items() if v["Type"].startswith(OPENSEARCH)]
    assert set(of_type(resources, "AWS::IAM::Policy")) == set()
    assert (search.endpoint, search.service) == (None, None)
    assert search.environment() == {"CONCIERGE_KNOWLEDGE_INDEX": "embedded"}


def test_serverless_is_a_vector_collection_with_its_three_policies():
    resources, search, stack = small_stack("serverless")
    [(collection_id, collection)] = of_type(resources, "AWS::OpenSearchServerless::Collection").items()
    name = collection["Properties"]["Name"]
    assert name == "conciergesearchtest-kb"
    assert (
        collection["Properties"]["Type"] == "VECTORSEARCH" and collection["Properties"]["StandbyReplicas"] == "DISABLED"
    )
    policies = {
        p["Properties"]["Type"]: p for p in of_type(resources, "AWS::OpenSearchServerless::SecurityPolicy").values()
    }
    assert set(policies) == {"encryption", "network"}
    encryption = json.loads(policies["encryption"]["Properties"]["Policy"])
    assert encryption == {
        "Rules": [{"ResourceType": "collection", "Resource": [f"collection/{name}"]}],
        "AWSOwnedKey": True,
    }
    [network] = json.loads(policies["network"]["Properties"]["Policy"])
    assert network["AllowFromPublic"] is True and network["Rules"][0]["Resource"] == [f"collection/{name}"]
    depends = set(as_list(collection.get("DependsOn", [])))
    assert {k for k, v in resources.items() if v["Type"] == "AWS::OpenSearchServerless::SecurityPolicy"} <= depends

    [access] = of_type(resources, "AWS::OpenSearchServerless::AccessPolicy").values()
    assert access["Properties"]["Type"] == "data"
    # The policy is JSON with the roles' ARNs resolved at deploy time: render it with placeholders.
    rendered = json.loads(
        stack.resolve(access["Properties"]["Policy"])
        if isinstance(access["Properties"]["Policy"], str)
        else _render(access["Properties"]["Policy"])
    )
    readers, writers = rendered
    assert readers["Principal"] == [f"<{role_id(resources, 'Reader')}.Arn>"]
    assert writers["Principal"] == [f"<{role_id(resources, 'Writer')}.Arn>"]
    index_rule = {r["ResourceType"]: r for r in readers["Rules"]}["index"]
    assert index_rule["Resource"] == [f"index/{name}/concierge-knowledge", f"index/{name}/concierge-catalogue"]
    assert set(index_rule["Permission"]) == {"aoss:DescribeIndex", "aoss:ReadDocument"}
    writer_rules = {r["ResourceType"]: r for r in writers["Rules"]}
    assert {"aoss:CreateIndex", "aoss:WriteDocument"} <= set(writer_rules["index"]["Permission"])
    assert "aoss:UpdateCollectionItems" in writer_rules["collection"]["Permission"]  # the index template

    for role in ("Reader", "Writer"):
        [statement] = statements_of(resources, role_id(resources, role))
        assert statement["Action"] == "aoss:APIAccessAll"
        assert statement["Resource"] == {"Fn::GetAtt": [collection_id, "Arn"]}
    environment = search.environment()
    assert (environment["CONCIERGE_KNOWLEDGE_INDEX"], environment["CONCIERGE_OPENSEARCH_SERVICE"]) == (
        "opensearch",
        "aoss",
    )
    assert stack.resolve(environment["CONCIERGE_OPENSEARCH_ENDPOINT"]) == {
        "Fn::Select": [1, {"Fn::Split": ["://", {"Fn::GetAtt": [collection_id, "CollectionEndpoint"]}]}]
    }


def _render(value) -> str:
    """An Fn::Join of strings and Fn::GetAtt references, as text with <LogicalId.Attribute> placeholders."""
    if isinstance(value, str):
        return value
    if "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(_render(part) for part in parts)
    if "Fn::GetAtt" in value:
        return "<{}.{}>".format(*value["Fn::GetAtt"])
    raise AssertionError(f"unexpected intrinsic {value}")


def test_serverless_names_fit_the_limits():
    assert derived_name("Concierge", "kb", 27) == "concierge-kb"
    long = derived_name("Concierge-Production-EU-West-Storefront", "kb", 27)
    assert (
        len(long) <= 27
        and long.endswith("-kb")
        and long != derived_name("Concierge-Production-EU-West-Other", "kb", 27)
    )
    with pytest.raises(ValueError, match="not a valid OpenSearch Serverless name"):
        small_stack("serverless", name="Knowledge_Base")
    resources, _, _ = small_stack("serverless", name="kb-test", standby_replicas=True)
    [collection] = of_type(resources, "AWS::OpenSearchServerless::Collection").values()
    assert collection["Properties"]["StandbyReplicas"] == "ENABLED"


def test_managed_is_an_encrypted_https_domain_whose_policy_names_the_roles():
    resources, search, stack = small_stack("managed")
    [(domain_id, domain)] = of_type(resources, "AWS::OpenSearchService::Domain").items()
    properties = domain["Properties"]
    assert properties["EngineVersion"] == "OpenSearch_2.19"
    assert (
        properties["ClusterConfig"]["InstanceType"] == "t3.small.search"
        and properties["ClusterConfig"]["InstanceCount"] == 1
    )
    assert properties["EBSOptions"] == {"EBSEnabled": True, "VolumeSize": 10, "VolumeType": "gp3"}
    assert properties["EncryptionAtRestOptions"]["Enabled"] is True
    assert properties["NodeToNodeEncryptionOptions"]["Enabled"] is True
    assert properties["DomainEndpointOptions"]["EnforceHTTPS"] is True
    assert properties["DomainEndpointOptions"]["TLSSecurityPolicy"] == "Policy-Min-TLS-1-2-2019-07"
    assert properties["AdvancedOptions"]["rest.action.multi.allow_explicit_index"] == "false"
    assert domain["DeletionPolicy"] == "Delete"  # derived data: rebuilt by a sync, not left billing

    statements = properties["AccessPolicies"]["Statement"]
    reader_arn = {"Fn::GetAtt": [role_id(resources, "Reader"), "Arn"]}
    writer_arn = {"Fn::GetAtt": [role_id(resources, "Writer"), "Arn"]}
    by_principal = {json.dumps(s["Principal"]["AWS"]): s for s in statements}
    reader, writer = by_principal[json.dumps(reader_arn)], by_principal[json.dumps(writer_arn)]
    assert set(reader["Action"]) == {"es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost"}
    assert set(writer["Action"]) == {
        "es:ESHttpGet",
        "es:ESHttpHead",
        "es:ESHttpPost",
        "es:ESHttpPut",
        "es:ESHttpDelete",
    }
    assert all(
        "concierge-knowledge" in json.dumps(r) or "concierge-catalogue" in json.dumps(r) for r in reader["Resource"]
    )
    assert not of_type(resources, "Custom::OpenSearchAccessPolicy")  # set on the domain, no custom resource

    for role, verbs in (
        ("Reader", {"es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost"}),
        ("Writer", {"es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost", "es:ESHttpPut", "es:ESHttpDelete"}),
    ):
        [statement] = statements_of(resources, role_id(resources, role))
        assert set(statement["Action"]) == verbs
        assert all(domain_id in json.dumps(r) for r in statement["Resource"])
    assert search.service == "es"
    assert stack.resolve(search.environment()["CONCIERGE_OPENSEARCH_ENDPOINT"]) == {
        "Fn::GetAtt": [domain_id, "DomainEndpoint"]
    }


def test_an_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="knowledgeIndex must be one of"):
        small_stack("elastic")


# in the app --------------------------------------------------------------------------------
def environment(resources, name):
    return resources[function_ids(resources)[name]]["Properties"]["Environment"]["Variables"]


def test_the_embedded_default_provisions_no_opensearch():
    resources = synth()
    assert not [r for r in resources.values() if r["Type"].startswith(OPENSEARCH)]
    assert environment(resources, topology.FunctionName.RETRIEVAL)["CONCIERGE_KNOWLEDGE_INDEX"] == "embedded"


def test_serverless_is_a_vector_collection_only_ingest_and_retrieval_reach():
    resources = synth(knowledgeIndex="serverless")
    [collection] = of_type(resources, "AWS::OpenSearchServerless::Collection").values()
    assert collection["Properties"]["Type"] == "VECTORSEARCH"
    policies = {
        p["Properties"]["Type"]: p["Properties"]
        for p in of_type(resources, "AWS::OpenSearchServerless::SecurityPolicy").values()
    }
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
            assert (
                variables["CONCIERGE_KNOWLEDGE_INDEX"] == "opensearch"
                and variables["CONCIERGE_OPENSEARCH_SERVICE"] == "aoss"
            )


def test_managed_is_an_encrypted_https_domain_for_the_two_roles():
    resources = synth(knowledgeIndex="managed")
    [domain] = of_type(resources, "AWS::OpenSearchService::Domain").values()
    properties = domain["Properties"]
    assert (
        properties["ClusterConfig"]["InstanceType"] == "t3.small.search"
        and properties["ClusterConfig"]["InstanceCount"] == 1
    )
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


def test_the_model_is_reachable_by_the_agent_and_the_auto_csat_judge_alone():
    anthropic = synth(modelProvider="anthropic", model="claude-haiku-5-5")
    secret = next(k for k in of_type(anthropic, "AWS::SecretsManager::Secret") if "AnthropicApiKey" in k)
    callers = (topology.FunctionName.AGENT, topology.FunctionName.SURVEYS)
    for name in topology.FunctionName:
        assert (secret in json.dumps(role_statements(anthropic, name))) == (name in callers), name
    variables = environment(anthropic, topology.FunctionName.AGENT)
    assert (variables["CONCIERGE_MODEL_PROVIDER"], variables["CONCIERGE_MODEL"]) == ("anthropic", "claude-haiku-5-5")
    assert "CONCIERGE_MODEL_PROVIDER" not in environment(anthropic, topology.FunctionName.ACTIONS)

    bedrock = synth(modelProvider="bedrock")
    for name in topology.FunctionName:
        invokes = any(a.startswith("bedrock") for a in actions_of(role_statements(bedrock, name)))
        assert invokes == (name in callers), name
    recalls = {name for name in topology.FunctionName if environment(bedrock, name).get("CONCIERGE_RECALL_ACTIONS")}
    assert recalls == {topology.FunctionName.RETRIEVAL}
    assert not of_type(synth(), "AWS::SecretsManager::Secret").keys() & {secret}
