"""CDK assertions for the channel edge: customer-data and WhatsApp routes, the message-received queue, the mail
bucket, SES receiving, and ingest's extra permissions."""
from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from concierge import topology
from infra.app import build
from tests.infra.test_stack import actions_of, function_ids, of_type, role_statements

pytestmark = pytest.mark.infra


def synth(**context) -> dict:
    app = cdk.App(context={"aws:cdk:bundling-stacks": [], **context})
    return Template.from_stack(build(app)).to_json()["Resources"]


@pytest.fixture(scope="module")
def resources() -> dict:
    return synth()


@pytest.fixture(scope="module")
def with_email() -> dict:
    return synth(inboundEmailRecipient="support@mail.northwind.example", whatsappPhoneNumberId="106540352242922")


def path_of(resources: dict, method: dict) -> str:
    parts, ref = [], method["Properties"]["ResourceId"]["Ref"]
    while ref in resources and resources[ref]["Type"] == "AWS::ApiGateway::Resource":
        parts.append(resources[ref]["Properties"]["PathPart"])
        parent = resources[ref]["Properties"]["ParentId"]
        ref = parent.get("Ref") if isinstance(parent, dict) else None
    return "/" + "/".join(reversed(parts))


def test_every_route_is_deployed_and_only_webhooks_skip_the_api_key(resources):
    deployed = {(m["Properties"]["HttpMethod"], path_of(resources, m)): m for m in of_type(resources, "AWS::ApiGateway::Method").values()}
    ingest = function_ids(resources)[topology.FunctionName.INGEST]
    for route in topology.ROUTES:
        path = route.path.replace("{", "{").replace("}", "}")
        method = deployed[(route.method, path)]["Properties"]
        assert method["ApiKeyRequired"] is route.api_key, route.path
        if route.target == "ingest":
            assert method["Integration"]["Type"] == "AWS_PROXY"
            assert ingest in json.dumps(method["Integration"]["Uri"])
    assert not [r for r in topology.ROUTES if not r.api_key and not r.path.startswith("/v1/channels/")]


def test_channel_messages_reach_ingest_through_a_queue_with_a_dead_letter_queue(resources):
    ingest = function_ids(resources)[topology.FunctionName.INGEST]
    mappings = [m["Properties"] for m in of_type(resources, "AWS::Lambda::EventSourceMapping").values()
                if m["Properties"]["FunctionName"] == {"Ref": ingest}]
    assert len(mappings) == 1
    assert mappings[0]["FunctionResponseTypes"] == ["ReportBatchItemFailures"] and mappings[0]["BatchSize"] == 5
    queue_id = mappings[0]["EventSourceArn"]["Fn::GetAtt"][0]
    queue = resources[queue_id]["Properties"]
    assert "RedrivePolicy" in queue
    assert queue["VisibilityTimeout"] >= 6 * resources[ingest]["Properties"]["Timeout"]
    rules = [r["Properties"] for r in of_type(resources, "AWS::Events::Rule").values()]
    assert any(r["EventPattern"]["detail-type"] == ["message.received"] and queue_id in json.dumps(r["Targets"]) for r in rules)


def test_only_ingest_may_start_turns_and_only_on_the_turn_workflow(resources):
    [machine] = of_type(resources, "AWS::StepFunctions::StateMachine").values()
    name = machine["Properties"]["StateMachineName"]
    for function in topology.FunctionName:
        statements = [s for s in role_statements(resources, function) if "states:StartSyncExecution" in actions_of([s])]
        if function is topology.FunctionName.INGEST:
            assert len(statements) == 1 and f"stateMachine:{name}" in json.dumps(statements[0]["Resource"])
        else:
            assert statements == []
    environment = resources[function_ids(resources)[topology.FunctionName.INGEST]]["Properties"]["Environment"]["Variables"]
    assert f"stateMachine:{name}" in json.dumps(environment[topology.TURN_STATE_MACHINE_ENV])


def test_only_ingest_reads_the_whatsapp_secret_and_the_mail(resources):
    secret = next(k for k in of_type(resources, "AWS::SecretsManager::Secret") if "WhatsApp" in k)
    bucket = next(k for k in of_type(resources, "AWS::S3::Bucket") if "Mail" in k)
    for function in topology.FunctionName:
        text = json.dumps(role_statements(resources, function))
        assert (secret in text) == (function is topology.FunctionName.INGEST), function
        assert (bucket in text) == (function is topology.FunctionName.INGEST), function


def test_the_mail_bucket_is_private_and_expires_with_memory(resources):
    [bucket] = [v["Properties"] for k, v in of_type(resources, "AWS::S3::Bucket").items() if "Mail" in k]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert bucket["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == 365


def test_ses_receiving_exists_only_when_a_recipient_is_configured(resources, with_email):
    assert not of_type(resources, "AWS::SES::ReceiptRule")
    [rule] = of_type(with_email, "AWS::SES::ReceiptRule").values()
    properties = rule["Properties"]["Rule"]
    assert properties["Recipients"] == ["support@mail.northwind.example"] and properties["ScanEnabled"] is True
    assert [next(iter(a)) for a in properties["Actions"]] == ["S3Action", "LambdaAction"]
    assert properties["Actions"][0]["S3Action"]["ObjectKeyPrefix"] == "inbound/"
    assert properties["Actions"][1]["LambdaAction"]["InvocationType"] == "Event"
    ingest = with_email[function_ids(with_email)[topology.FunctionName.INGEST]]["Properties"]
    assert ingest["Environment"]["Variables"]["CONCIERGE_WHATSAPP_PHONE_NUMBER_ID"] == "106540352242922"


def test_failed_inbound_email_invocations_are_parked(resources):
    ingest = function_ids(resources)[topology.FunctionName.INGEST]
    [config] = [c["Properties"] for c in of_type(resources, "AWS::Lambda::EventInvokeConfig").values()
                if c["Properties"]["FunctionName"] == {"Ref": ingest}]
    assert config["MaximumRetryAttempts"] == 2
    assert "IngestAsyncDlq" in json.dumps(config["DestinationConfig"]["OnFailure"])


def test_uploaded_documents_notify_ingest_which_alone_writes_the_index(resources):
    ingest = function_ids(resources)[topology.FunctionName.INGEST]
    [notification] = of_type(resources, "Custom::S3BucketNotifications").values()
    configurations = notification["Properties"]["NotificationConfiguration"]["LambdaFunctionConfigurations"]
    assert {c["Events"][0] for c in configurations} == {"s3:ObjectCreated:*", "s3:ObjectRemoved:*"}
    assert all(c["Filter"]["Key"]["FilterRules"] == [{"Name": "prefix", "Value": "documents/"}] for c in configurations)
    assert all(ingest in json.dumps(c["LambdaFunctionArn"]) for c in configurations)
    knowledge = next(k for k in of_type(resources, "AWS::S3::Bucket") if "Knowledge" in k)
    for function in topology.FunctionName:
        writes = [s for s in role_statements(resources, function)
                  if knowledge in json.dumps(s.get("Resource")) and "s3:PutObject" in actions_of([s])]
        assert bool(writes) == (function is topology.FunctionName.INGEST), function


def test_titan_embeddings_are_granted_only_when_configured(resources):
    assert not any("bedrock:InvokeModel" in actions_of(role_statements(resources, f)) for f in topology.FunctionName)
    titan = synth(embedder="titan", embeddingDimensions=512)
    allowed = {f for f in topology.FunctionName if "bedrock:InvokeModel" in actions_of(role_statements(titan, f))}
    assert allowed == {topology.FunctionName.INGEST, topology.FunctionName.RETRIEVAL}
    ingest = titan[function_ids(titan)[topology.FunctionName.INGEST]]["Properties"]["Environment"]["Variables"]
    assert (ingest["CONCIERGE_EMBEDDER"], ingest["CONCIERGE_EMBEDDING_DIMENSIONS"]) == ("titan", "512")
