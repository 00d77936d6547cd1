"""CDK assertions for the channel edge: customer-data and WhatsApp routes, the message-received queue, the mail
bucket, SES receiving, and ingest's extra permissions."""

from __future__ import annotations

import json
import re

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Annotations, Match, Template

from concierge.platform import topology
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


def test_every_route_is_deployed_and_only_signed_in_operators_webhooks_and_public_pages_skip_the_api_key(resources):
    methods = of_type(resources, "AWS::ApiGateway::Method").values()
    deployed = {(m["Properties"]["HttpMethod"], path_of(resources, m)): m["Properties"] for m in methods}
    assert set(deployed) == {(route.method, route.path) for route in topology.ROUTES}, "no method the topology lacks"
    ingest = function_ids(resources)[topology.FunctionName.INGEST]
    for route in topology.ROUTES:
        method = deployed[(route.method, route.path)]
        assert method["ApiKeyRequired"] is route.api_key, route.path
        if route.target == "ingest":
            assert (
                method["Integration"]["Type"] == "AWS_PROXY"
                and method["Integration"]["IntegrationHttpMethod"] == "POST"
            )
            assert ingest in json.dumps(method["Integration"]["Uri"])
    keyless = {(m, p) for (m, p), method in deployed.items() if method["ApiKeyRequired"] is False}
    # Meta signs its webhook; a one-click survey link carries its own signed token; the widget's name and colours are
    # public; an operator proves themselves to the Cognito authorizer (their pages hold no storefront key)
    operator_routes = {(r.method, r.path) for r in topology.ROUTES if r.caller == "operator"}
    assert operator_routes and all(
        deployed[route]["AuthorizationType"] == "COGNITO_USER_POOLS" for route in operator_routes
    )
    assert keyless == {
        ("GET", "/v1/channels/whatsapp"),
        ("POST", "/v1/channels/whatsapp"),
        ("GET", "/v1/surveys/answer"),
        ("GET", "/v1/widget-config"),
        *operator_routes,
    }
    assert {(r.method, r.path) for r in topology.ROUTES if not r.api_key} == keyless


def test_each_customer_route_is_a_lambda_proxy_to_ingest(resources):
    deployed = {
        (m["Properties"]["HttpMethod"], path_of(resources, m)): m["Properties"]
        for m in of_type(resources, "AWS::ApiGateway::Method").values()
    }
    ingest = function_ids(resources)[topology.FunctionName.INGEST]
    assert topology.CUSTOMER_ROUTES
    for route in topology.CUSTOMER_ROUTES:
        method = deployed[(route.method, route.path)]
        # the storefront's key on its routes; an operator acting for a customer proves themselves to Cognito instead
        assert method["ApiKeyRequired"] is (route.caller == "customer")
        assert method["Integration"]["Type"] == "AWS_PROXY"
        assert {"Fn::GetAtt": [ingest, "Arn"]} in method["Integration"]["Uri"]["Fn::Join"][1]
    # API Gateway may invoke ingest for each of its routes (and nothing else is granted to apigateway)
    permissions = [
        p["Properties"]
        for p in of_type(resources, "AWS::Lambda::Permission").values()
        if p["Properties"]["Principal"] == "apigateway.amazonaws.com"
    ]
    assert permissions and all(p["FunctionName"] == {"Fn::GetAtt": [ingest, "Arn"]} for p in permissions)


def test_channel_messages_reach_ingest_through_a_queue_with_a_dead_letter_queue(resources):
    ingest = function_ids(resources)[topology.FunctionName.INGEST]
    mappings = [
        m["Properties"]
        for m in of_type(resources, "AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"] == {"Ref": ingest}
    ]
    assert len(mappings) == 1
    assert mappings[0]["FunctionResponseTypes"] == ["ReportBatchItemFailures"] and mappings[0]["BatchSize"] == 5
    queue_id = mappings[0]["EventSourceArn"]["Fn::GetAtt"][0]
    queue = resources[queue_id]["Properties"]
    assert "RedrivePolicy" in queue
    assert queue["VisibilityTimeout"] >= 6 * resources[ingest]["Properties"]["Timeout"]
    rules = [r["Properties"] for r in of_type(resources, "AWS::Events::Rule").values()]
    assert any(
        r["EventPattern"]["detail-type"] == ["message.received"] and queue_id in json.dumps(r["Targets"]) for r in rules
    )


def turn_workflow_arn(name: str) -> dict:
    """The ARN CloudFormation gives an Express state machine of this name (what `Ref` on it returns)."""
    return {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":states:",
                {"Ref": "AWS::Region"},
                ":",
                {"Ref": "AWS::AccountId"},
                f":stateMachine:{name}",
            ],
        ]
    }


def test_every_rule_queue_outlasts_six_runs_of_its_function_and_batches_as_declared(resources):
    ids = function_ids(resources)
    mappings = [m["Properties"] for m in of_type(resources, "AWS::Lambda::EventSourceMapping").values()]
    for rule in topology.RULES:
        [event_rule] = [
            r["Properties"]
            for r in of_type(resources, "AWS::Events::Rule").values()
            if r["Properties"]["EventPattern"] == rule.pattern
        ]
        queue_id = event_rule["Targets"][0]["Arn"]["Fn::GetAtt"][0]
        [mapping] = [m for m in mappings if m["EventSourceArn"] == {"Fn::GetAtt": [queue_id, "Arn"]}]
        assert mapping["FunctionName"] == {"Ref": ids[rule.function]} and mapping["BatchSize"] == rule.batch_size
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        queue = resources[queue_id]["Properties"]
        assert queue["VisibilityTimeout"] >= 6 * resources[ids[rule.function]]["Properties"]["Timeout"], rule.name
        dead_letters = queue["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        assert queue["RedrivePolicy"]["maxReceiveCount"] == rule.max_receive_count
        assert resources[dead_letters]["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600


def test_only_ingest_may_start_turns_and_only_on_the_turn_workflow(resources):
    [machine] = [
        m
        for m in of_type(resources, "AWS::StepFunctions::StateMachine").values()
        if m["Properties"]["StateMachineType"] == "EXPRESS"
    ]
    name = machine["Properties"]["StateMachineName"]
    assert name == "Concierge-turn"  # fixed, so its ARN is known without a reference to the state machine
    for function in topology.FunctionName:
        statements = [s for s in role_statements(resources, function) if "states:StartSyncExecution" in actions_of([s])]
        if function is topology.FunctionName.INGEST:
            [statement] = statements
            assert statement["Action"] == "states:StartSyncExecution" and statement["Resource"] == turn_workflow_arn(
                name
            )
        else:
            assert statements == [], function
    environment = resources[function_ids(resources)[topology.FunctionName.INGEST]]["Properties"]["Environment"][
        "Variables"
    ]
    assert environment[topology.TURN_STATE_MACHINE_ENV] == turn_workflow_arn(name)
    for function in topology.FunctionName:
        if not topology.ACCESS[function].start_turns:
            variables = resources[function_ids(resources)[function]]["Properties"]["Environment"]["Variables"]
            assert topology.TURN_STATE_MACHINE_ENV not in variables, function


def test_only_ingest_and_surveys_read_the_whatsapp_secret_and_only_ingest_the_mail(resources):
    secret = next(k for k in of_type(resources, "AWS::SecretsManager::Secret") if "WhatsApp" in k)
    bucket = next(k for k in of_type(resources, "AWS::S3::Bucket") if "Mail" in k)
    senders = (topology.FunctionName.INGEST, topology.FunctionName.SURVEYS)  # surveys sends WhatsApp survey lists
    for function in topology.FunctionName:
        text = json.dumps(role_statements(resources, function))
        assert (secret in text) == (function in senders), function
        assert (bucket in text) == (function is topology.FunctionName.INGEST), function


def test_the_whatsapp_secret_is_a_template_the_merchant_fills_in(resources):
    [secret] = [
        v["Properties"] for k, v in of_type(resources, "AWS::SecretsManager::Secret").items() if "WhatsApp" in k
    ]
    generated = secret["GenerateSecretString"]
    keys = set(json.loads(generated["SecretStringTemplate"])) | {generated["GenerateStringKey"]}
    assert keys == {"app_secret", "verify_token", "access_token"}
    ingest = resources[function_ids(resources)[topology.FunctionName.INGEST]]["Properties"]["Environment"]["Variables"]
    secret_id = next(k for k in of_type(resources, "AWS::SecretsManager::Secret") if "WhatsApp" in k)
    assert ingest["CONCIERGE_WHATSAPP_SECRET_ARN"] == {"Ref": secret_id}
    assert "CONCIERGE_WHATSAPP_PHONE_NUMBER_ID" not in ingest  # no phone number id given: left out
    for function in topology.FunctionName:
        if function not in (topology.FunctionName.INGEST, topology.FunctionName.SURVEYS):
            variables = resources[function_ids(resources)[function]]["Properties"]["Environment"]["Variables"]
            assert "CONCIERGE_WHATSAPP_SECRET_ARN" not in variables, function


def test_the_mail_bucket_is_private_encrypted_and_expires_with_memory(resources):
    [(bucket_id, bucket)] = [
        (k, v["Properties"]) for k, v in of_type(resources, "AWS::S3::Bucket").items() if "Mail" in k
    ]
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert (
        bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"][
            "SSEAlgorithm"
        ]
        == "AES256"
    )
    [rule] = bucket["LifecycleConfiguration"]["Rules"]
    assert rule["ExpirationInDays"] == 365 and rule["Status"] == "Enabled"
    assert (
        synth(memoryTtlDays=30)[bucket_id]["Properties"]["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == 30
    )
    [policy] = [
        p["Properties"]["PolicyDocument"]
        for p in of_type(resources, "AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": bucket_id}
    ]
    [deny] = policy["Statement"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    ids = function_ids(resources)
    for name in topology.FunctionName:
        variables = resources[ids[name]]["Properties"]["Environment"]["Variables"]
        if name is topology.FunctionName.INGEST:  # the only function that reads or writes mail
            assert variables[topology.MAIL_BUCKET_ENV] == {"Ref": bucket_id}
        else:
            assert topology.MAIL_BUCKET_ENV not in variables, name


def test_ingest_reaches_the_mail_bucket_only_under_its_two_prefixes(resources):
    bucket = next(k for k in of_type(resources, "AWS::S3::Bucket") if "Mail" in k)
    granted: dict[str, set[str]] = {}
    for statement in role_statements(resources, topology.FunctionName.INGEST):
        if bucket not in json.dumps(statement["Resource"]):
            continue
        resource = statement["Resource"]
        key = "bucket" if resource == {"Fn::GetAtt": [bucket, "Arn"]} else resource["Fn::Join"][1][1]
        granted.setdefault(key, set()).update(actions_of([statement]))
    assert granted == {
        "/inbound/*": {"s3:GetObject", "s3:DeleteObject"},
        "/attachments/*": {"s3:GetObject", "s3:PutObject", "s3:DeleteObject"},
        "bucket": {"s3:ListBucket"},  # so that a missing key is NoSuchKey, not AccessDenied
    }


def test_ses_receiving_exists_only_when_a_recipient_is_configured(resources, with_email):
    assert not of_type(resources, "AWS::SES::ReceiptRule") and not of_type(resources, "AWS::SES::ReceiptRuleSet")
    assert not [
        p
        for p in of_type(resources, "AWS::Lambda::Permission").values()
        if p["Properties"]["Principal"] == "ses.amazonaws.com"
    ]
    assert "ses.amazonaws.com" not in json.dumps(of_type(resources, "AWS::S3::BucketPolicy"))
    [rule] = of_type(with_email, "AWS::SES::ReceiptRule").values()
    properties = rule["Properties"]["Rule"]
    assert properties["Recipients"] == ["support@mail.northwind.example"] and properties["ScanEnabled"] is True
    assert [next(iter(a)) for a in properties["Actions"]] == ["S3Action", "LambdaAction"]
    assert properties["Actions"][0]["S3Action"]["ObjectKeyPrefix"] == "inbound/"
    assert properties["Actions"][1]["LambdaAction"]["InvocationType"] == "Event"
    ingest = with_email[function_ids(with_email)[topology.FunctionName.INGEST]]["Properties"]
    assert ingest["Environment"]["Variables"]["CONCIERGE_WHATSAPP_PHONE_NUMBER_ID"] == "106540352242922"


def test_ses_may_store_mail_under_inbound_only_and_invoke_ingest_only_for_this_account(with_email):
    ingest = function_ids(with_email)[topology.FunctionName.INGEST]
    bucket = next(k for k in of_type(with_email, "AWS::S3::Bucket") if "Mail" in k)
    [rule] = of_type(with_email, "AWS::SES::ReceiptRule").values()
    assert rule["Properties"]["Rule"]["Actions"][0]["S3Action"]["BucketName"] == {"Ref": bucket}
    assert rule["Properties"]["Rule"]["Actions"][1]["LambdaAction"]["FunctionArn"] == {"Fn::GetAtt": [ingest, "Arn"]}
    [rule_set] = of_type(with_email, "AWS::SES::ReceiptRuleSet").values()
    assert rule_set["Properties"]["RuleSetName"] == "Concierge-inbound"  # the name docs/deploy.md activates
    [policy_id] = [
        k
        for k, p in of_type(with_email, "AWS::S3::BucketPolicy").items()
        if p["Properties"]["Bucket"] == {"Ref": bucket}
    ]
    ses = [
        s
        for s in with_email[policy_id]["Properties"]["PolicyDocument"]["Statement"]
        if s.get("Principal") == {"Service": "ses.amazonaws.com"}
    ]
    assert ses == [
        {
            "Action": "s3:PutObject",
            "Effect": "Allow",
            "Principal": {"Service": "ses.amazonaws.com"},
            "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}},
            "Resource": {"Fn::Join": ["", [{"Fn::GetAtt": [bucket, "Arn"]}, "/inbound/*"]]},
        }
    ]
    [permission_id] = [
        k
        for k, p in of_type(with_email, "AWS::Lambda::Permission").items()
        if p["Properties"]["Principal"] == "ses.amazonaws.com"
    ]
    permission = with_email[permission_id]["Properties"]
    assert (
        permission["FunctionName"] == {"Fn::GetAtt": [ingest, "Arn"]}
        and permission["Action"] == "lambda:InvokeFunction"
    )
    assert permission["SourceAccount"] == {"Ref": "AWS::AccountId"}
    # SES checks both when the rule is created, so the rule waits for them
    assert {policy_id, permission_id} <= set(rule["DependsOn"])


def test_synth_warns_when_replies_would_go_to_an_address_ses_does_not_receive():
    def warnings(**context) -> list:
        app = cdk.App(context={"aws:cdk:bundling-stacks": [], **context})
        return Annotations.from_stack(build(app)).find_warning(
            "*", Match.string_like_regexp("differs from inboundEmailRecipient")
        )

    assert warnings(inboundEmailRecipient="support@mail.northwind.example", senderEmail="support@northwind.example")
    assert not warnings(
        inboundEmailRecipient="Support@mail.northwind.example", senderEmail="support@mail.northwind.example"
    )
    assert not warnings()


def references(node) -> set[str]:
    """The logical ids a template fragment refers to (Ref, Fn::GetAtt, Fn::Sub)."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Fn::GetAtt":
                found.add(value[0] if isinstance(value, list) else value.split(".")[0])
            elif key == "Fn::Sub":
                text = value[0] if isinstance(value, list) else value
                found |= {name.split(".")[0] for name in re.findall(r"\$\{([^}!]+)\}", text)}
                if isinstance(value, list):
                    found |= references(value[1])
            else:
                found |= references(value)
    elif isinstance(node, list):
        for value in node:
            found |= references(value)
    return found


def dependency_cycle(resources: dict) -> list[str] | None:
    """A cycle in CloudFormation's resource graph (what it refuses with "Circular dependency"), or None."""
    edges = {}
    for key, resource in resources.items():
        depends_on = resource.get("DependsOn", [])
        targets = references({k: v for k, v in resource.items() if k != "DependsOn"})
        targets |= {depends_on} if isinstance(depends_on, str) else set(depends_on)
        edges[key] = sorted(t for t in targets if t in resources)
    state: dict[str, int] = {}  # 1 visiting, 2 done

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for target in edges[node]:
            if state.get(target) == 1:
                return [*path[path.index(target) :], target] if target in path else [node, target]
            if target not in state and (cycle := visit(target, [*path, target])):
                return cycle
        state[node] = 2
        return None

    for start in edges:
        if start not in state and (cycle := visit(start, [start])):
            return cycle
    return None


def test_the_cycle_check_finds_a_cycle():
    assert dependency_cycle(
        {"A": {"Properties": {"X": {"Ref": "B"}}}, "B": {"Properties": {"Y": {"Fn::GetAtt": ["A", "Arn"]}}}}
    )
    assert dependency_cycle({"A": {"DependsOn": ["B"]}, "B": {"Properties": {"Y": {"Fn::Sub": "${A.Arn}/x"}}}})
    assert (
        dependency_cycle({"A": {"Properties": {"X": {"Ref": "B"}}}, "B": {"Properties": {"Y": {"Ref": "AWS::Region"}}}})
        is None
    )


def test_no_circular_dependency_although_the_workflow_invokes_ingest_and_ingest_starts_it(resources, with_email):
    """The workflows invoke functions that start or decide them (turns: ingest; approvals: actions and ingest;
    journeys: actions, which starts them)."""
    machines = of_type(resources, "AWS::StepFunctions::StateMachine")
    assert len(machines) == 3
    ingest = function_ids(resources)[topology.FunctionName.INGEST]
    for machine in machines:
        assert ingest in references(resources[machine]["Properties"])  # each workflow refers to ingest...
        for name in (topology.FunctionName.INGEST, topology.FunctionName.ACTIONS):
            function = function_ids(resources)[name]
            assert machine not in references(resources[function]) | references(role_statements(resources, name))
    # ...and neither function nor its policy refers back to a workflow
    assert dependency_cycle(resources) is None
    assert dependency_cycle(with_email) is None


def test_failed_inbound_email_invocations_are_parked(resources):
    ingest = function_ids(resources)[topology.FunctionName.INGEST]
    [config] = [
        c["Properties"]
        for c in of_type(resources, "AWS::Lambda::EventInvokeConfig").values()
        if c["Properties"]["FunctionName"] == {"Ref": ingest}
    ]
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
        writes = [
            s
            for s in role_statements(resources, function)
            if knowledge in json.dumps(s.get("Resource")) and "s3:PutObject" in actions_of([s])
        ]
        assert bool(writes) == (function is topology.FunctionName.INGEST), function


def test_titan_embeddings_are_granted_only_when_configured(resources):
    assert not any("bedrock:InvokeModel" in actions_of(role_statements(resources, f)) for f in topology.FunctionName)
    titan = synth(embedder="titan", embeddingDimensions=512)
    allowed = {f for f in topology.FunctionName if "bedrock:InvokeModel" in actions_of(role_statements(titan, f))}
    assert allowed == {topology.FunctionName.INGEST, topology.FunctionName.RETRIEVAL}
    ingest = titan[function_ids(titan)[topology.FunctionName.INGEST]]["Properties"]["Environment"]["Variables"]
    assert (ingest["CONCIERGE_EMBEDDER"], ingest["CONCIERGE_EMBEDDING_DIMENSIONS"]) == ("titan", "512")


def test_the_turn_routes_409_copies_retry_after_out(resources):
    from infra.constructs.api import RESPONSE_TEMPLATE

    assert "#set($context.responseOverride.header.Retry-After = $out.headers.get('Retry-After'))" in RESPONSE_TEMPLATE
    turn = next(
        m["Properties"]
        for m in of_type(resources, "AWS::ApiGateway::Method").values()
        if m["Properties"]["HttpMethod"] == "POST" and path_of(resources, m) == topology.TURN_ROUTE.path
    )
    conflict = next(r for r in turn["MethodResponses"] if r["StatusCode"] == "409")
    assert conflict["ResponseParameters"] == {"method.response.header.Retry-After": False}
