"""CDK assertions on the synthesized template: what is deployed is the topology the local stack runs."""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Match, Template

from concierge.conversation.api import TurnRequestBody
from concierge.platform import topology
from concierge.workflows import (
    approval_definition,
    approval_definition_text,
    function_arn_placeholder,
    journey_definition,
    journey_definition_text,
    turn_definition,
    turn_definition_text,
)
from infra.app import build

pytestmark = pytest.mark.infra


@pytest.fixture(scope="module")
def template() -> Template:
    app = cdk.App(context={"aws:cdk:bundling-stacks": []})  # assets are not built in tests (make synth builds them)
    return Template.from_stack(build(app))


@pytest.fixture(scope="module")
def resources(template) -> dict:
    return template.to_json()["Resources"]


def of_type(resources: dict, kind: str) -> dict[str, dict]:
    return {key: value for key, value in resources.items() if value["Type"] == kind}


def our_functions(resources: dict) -> dict[str, dict]:
    """The five Concierge functions (CDK adds a helper of its own for S3 bucket notifications)."""
    handlers = set(topology.HANDLERS.values())
    return {
        k: v
        for k, v in of_type(resources, "AWS::Lambda::Function").items()
        if v["Properties"].get("Handler") in handlers
    }


def function_ids(resources: dict) -> dict[topology.FunctionName, str]:
    by_handler = {
        value["Properties"]["Handler"]: key for key, value in of_type(resources, "AWS::Lambda::Function").items()
    }
    return {name: by_handler[handler] for name, handler in topology.HANDLERS.items()}


def role_statements(resources: dict, function: topology.FunctionName) -> list[dict]:
    function_resource = resources[function_ids(resources)[function]]
    role_id = function_resource["Properties"]["Role"]["Fn::GetAtt"][0]
    statements = []
    for policy in of_type(resources, "AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            statements += policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def actions_of(statements: list[dict]) -> set[str]:
    found = set()
    for statement in statements:
        actions = statement["Action"]
        found |= {actions} if isinstance(actions, str) else set(actions)
    return found


def test_retrieval_reads_the_knowledge_index_and_not_the_merchants_documents(resources):
    objects = [
        resource
        for statement in role_statements(resources, topology.FunctionName.RETRIEVAL)
        if any(action.startswith("s3:GetObject") for action in actions_of([statement]))
        for resource in statement["Resource"]
    ]
    paths = [json.dumps(r) for r in objects if "Fn::Join" in r]
    assert paths and all("/knowledge/*" in p for p in paths), paths


# functions --------------------------------------------------------------------------------------
def test_five_arm64_python_functions_with_the_topology_handlers(resources):
    functions = our_functions(resources)
    assert len(functions) == 5
    others = set(of_type(resources, "AWS::Lambda::Function")) - set(functions)
    # CDK's own handlers, run by CloudFormation during a deploy: bucket notifications, the site's files, emptying
    # the site bucket when the stack is deleted
    cdk_handlers = ("BucketNotificationsHandler", "CustomCDKBucketDeployment", "CustomS3AutoDeleteObjects")
    assert all(k.startswith(cdk_handlers) for k in others), others
    assert {f["Properties"]["Handler"] for f in functions.values()} == set(topology.HANDLERS.values())
    for function in functions.values():
        assert function["Properties"]["Architectures"] == ["arm64"]
        assert function["Properties"]["Runtime"] in ("python3.12", "python3.13")
        assert function["Properties"]["TracingConfig"] == {"Mode": "Active"}


def test_every_function_has_its_own_role_and_the_core_layer_first(resources):
    functions = our_functions(resources).values()
    roles = [f["Properties"]["Role"]["Fn::GetAtt"][0] for f in functions]
    assert len(set(roles)) == 5
    [core] = [k for k, v in of_type(resources, "AWS::Lambda::LayerVersion").items() if "Core" in k]
    # the other layers each function gets: tests/infra/test_packaging.py
    assert all(f["Properties"]["Layers"][0] == {"Ref": core} for f in functions)


# Every optional value a merchant can give: each adds variables (the model's, WhatsApp's, the widget's, the hours).
EVERYTHING = {
    "modelProvider": "anthropic",
    "whatsappPhoneNumberId": "106540352242922",
    "allowedOrigins": "https://shop.example",
    "supportHours": '{"timezone": "Europe/Paris", "weekdays": [0], "open": "09:00", "close": "18:00"}',
    "embedder": "titan",
}


@pytest.fixture(scope="module")
def configured() -> dict:
    app = cdk.App(context={"aws:cdk:bundling-stacks": [], **EVERYTHING})
    return Template.from_stack(build(app)).to_json()["Resources"]


def settings_variables(resources: dict) -> dict[topology.FunctionName, set[str]]:
    """Each function's variables but the runtime's own (powertools)."""
    from infra.constructs.compute import RUNTIME_ENVIRONMENT

    ids = function_ids(resources)
    return {
        name: set(resources[ids[name]]["Properties"]["Environment"]["Variables"]) - set(RUNTIME_ENVIRONMENT)
        for name in topology.FunctionName
    }


@pytest.mark.parametrize("stack", ["resources", "configured"])
def test_each_function_is_given_exactly_what_its_settings_declare(stack, request):
    from concierge.platform.settings import declared_env, required_env

    given = settings_variables(request.getfixturevalue(stack))
    stack_sets = set().union(*given.values())
    for name, variables in given.items():
        assert variables <= declared_env(name), (name, variables - declared_env(name))
        assert required_env(name) <= variables, (name, required_env(name) - variables)
        # a value the stack has reaches every function that declares it, and no other
        assert variables == declared_env(name) & stack_sets, (name, (declared_env(name) & stack_sets) ^ variables)
        assert "CONCIERGE_SIGNING_SECRET" not in variables, "the secret itself never goes into configuration"


def test_every_function_has_the_runtimes_variables(resources):
    from infra.constructs.compute import RUNTIME_ENVIRONMENT

    for function in our_functions(resources).values():
        assert RUNTIME_ENVIRONMENT.items() <= function["Properties"]["Environment"]["Variables"].items()


def test_a_function_is_given_the_names_of_only_the_tables_buckets_and_bus_it_touches(configured):
    given = settings_variables(configured)
    for name, variables in given.items():
        access = topology.ACCESS[name]
        for table in topology.TABLES:
            assert (table.env_var in variables) == (table in access.read_tables + access.write_tables), (name, table)
        assert (topology.EVENT_BUS_ENV in variables) == access.put_events, name
        assert (topology.KNOWLEDGE_BUCKET_ENV in variables) == (access.read_knowledge or access.write_knowledge), name
        assert (topology.MAIL_BUCKET_ENV in variables) == access.read_write_mail, name
        assert ("CONCIERGE_SIGNING_SECRET_ARN" in variables) == access.read_signing_secret, name
        assert ("CONCIERGE_WHATSAPP_SECRET_ARN" in variables) == access.read_whatsapp_secret, name
        assert ("CONCIERGE_ANTHROPIC_SECRET_ARN" in variables) == access.call_model, name
    # the agent decides from the turn it is given: no table, bucket, bus or secret but the model's
    assert given[topology.FunctionName.AGENT] == {
        "CONCIERGE_MODEL_PROVIDER",
        "CONCIERGE_MODEL",
        "CONCIERGE_JUDGE_MODEL",
        "CONCIERGE_ANTHROPIC_SECRET_ARN",
        "CONCIERGE_MERCHANT_NAME",
        "CONCIERGE_SENDER_EMAIL",
        "CONCIERGE_RETURN_WINDOW_DAYS",
        "CONCIERGE_MAX_AUTO_REFUND",
        "CONCIERGE_SUPPORT_HOURS",
        "CONCIERGE_OFFER_SALT",
    }


def test_a_variable_no_function_declares_is_refused_at_synth():
    from infra.constructs.compute import Functions

    app = cdk.App(context={"aws:cdk:bundling-stacks": []})
    stack = build(app)
    [functions] = [c for c in stack.node.children if isinstance(c, Functions)]
    with pytest.raises(ValueError, match="the agent function's settings do not declare CONCIERGE_MEMORY_TABLE"):
        functions.add_environment(topology.FunctionName.AGENT, {topology.MEMORY_TABLE.env_var: "memory"})


# least privilege --------------------------------------------------------------------------------
def test_the_agent_can_touch_no_data(resources):
    actions = actions_of(role_statements(resources, topology.FunctionName.AGENT))
    assert not any(a.startswith(("dynamodb:", "events:", "s3:", "secretsmanager:", "ses:")) for a in actions), actions


def test_only_actions_writes_the_store_and_only_actions_ingest_and_surveys_send_email(resources):
    store_id = next(k for k, v in of_type(resources, "AWS::DynamoDB::GlobalTable").items() if "StoreTable" in k)
    for name in topology.FunctionName:
        statements = role_statements(resources, name)
        sends = any(a.startswith("ses:") for a in actions_of(statements))
        writes_store = any(
            store_id in json.dumps(s.get("Resource"))
            and any(a in actions_of([s]) for a in ("dynamodb:PutItem", "dynamodb:UpdateItem"))
            and "dynamodb:LeadingKeys" not in json.dumps(s.get("Condition", {}))
            for s in statements
        )
        # actions sends the return email; ingest replies to customers who wrote by email; surveys sends survey emails
        assert sends == (
            name in (topology.FunctionName.ACTIONS, topology.FunctionName.INGEST, topology.FunctionName.SURVEYS)
        ), name
        assert writes_store == (name is topology.FunctionName.ACTIONS), name


def test_retrieval_reads_the_store_for_its_prefetched_lookups_and_writes_nothing(resources):
    """Retrieval runs the read-only lookups a message plainly needs (actions/prefetch.py): it may read the store
    table, and it can change, publish or send nothing anywhere."""
    store_id = next(k for k in of_type(resources, "AWS::DynamoDB::GlobalTable") if "StoreTable" in k)
    statements = role_statements(resources, topology.FunctionName.RETRIEVAL)
    on_store = actions_of([s for s in statements if store_id in json.dumps(s.get("Resource"))])
    assert {"dynamodb:GetItem", "dynamodb:Query"} <= on_store
    reads = ("dynamodb:BatchGetItem", "dynamodb:Get", "dynamodb:Query", "dynamodb:Scan", "dynamodb:ConditionCheck")
    reads += ("dynamodb:Describe",)
    dynamodb = {a for a in actions_of(statements) if a.startswith("dynamodb:")}
    assert dynamodb and all(a.startswith(reads) for a in dynamodb), dynamodb  # every table: read only
    writes = ("events:", "ses:", "states:", "sqs:SendMessage", "s3:Put", "s3:Delete")
    assert not any(a.startswith(writes) for a in actions_of(statements))


def test_ingest_may_only_mark_discount_codes_used_and_unlink_gift_cards_in_the_store(resources):
    store_id = next(k for k in of_type(resources, "AWS::DynamoDB::GlobalTable") if "StoreTable" in k)
    for name in topology.FunctionName:
        on_store = [
            s
            for s in role_statements(resources, name)
            if store_id in json.dumps(s.get("Resource"))
            and "dynamodb:LeadingKeys" in json.dumps(s.get("Condition", {}))
        ]
        if name is topology.FunctionName.INGEST:
            [statement] = on_store
            assert actions_of([statement]) == {"dynamodb:UpdateItem"}
            assert statement["Condition"] == {
                "ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["DISCOUNT#*", "GIFTCARD#*"]}
            }
        else:
            assert on_store == [], name


def test_the_kpi_rule_feeds_survey_scoring_which_knows_its_queue(resources):
    rule = next(r for r in topology.RULES if r.queue_arn_env)
    from concierge.metrics.rollup import DETAIL_TYPES

    assert set(rule.detail_types) == set(DETAIL_TYPES) and rule.function is topology.FunctionName.SURVEYS
    [event_rule] = [
        r["Properties"]
        for r in of_type(resources, "AWS::Events::Rule").values()
        if r["Properties"]["EventPattern"] == rule.pattern
    ]
    queue_id = event_rule["Targets"][0]["Arn"]["Fn::GetAtt"][0]
    variables = resources[function_ids(resources)[topology.FunctionName.SURVEYS]]["Properties"]["Environment"][
        "Variables"
    ]
    assert variables[rule.queue_arn_env] == {"Fn::GetAtt": [queue_id, "Arn"]}
    # the roll-up reads and writes the memory table (counters, markers); it never touches the store
    memory_id = next(k for k in of_type(resources, "AWS::DynamoDB::GlobalTable") if "MemoryTable" in k)
    memory_actions = actions_of(
        [
            s
            for s in role_statements(resources, topology.FunctionName.SURVEYS)
            if memory_id in json.dumps(s.get("Resource"))
        ]
    )
    assert {
        "dynamodb:GetItem",
        "dynamodb:BatchGetItem",
        "dynamodb:UpdateItem",
        "dynamodb:PutItem",
        "dynamodb:DeleteItem",
    } <= memory_actions


def test_survey_scoring_cannot_read_the_store_and_only_publishes_to_the_bus(resources):
    statements = role_statements(resources, topology.FunctionName.SURVEYS)
    store_id = next(k for k in of_type(resources, "AWS::DynamoDB::GlobalTable") if "StoreTable" in k)
    assert store_id not in json.dumps(statements)
    assert {a for a in actions_of(statements) if a.startswith("events:")} == {"events:PutEvents"}  # autocsat.scored
    assert {"sqs:ReceiveMessage", "sqs:DeleteMessage"} <= actions_of(statements)
    # no model by default (the explainable scorer): no Bedrock, and no model settings in its environment
    assert not any(a.startswith("bedrock:") for a in actions_of(statements))
    variables = resources[function_ids(resources)[topology.FunctionName.SURVEYS]]["Properties"]["Environment"][
        "Variables"
    ]
    assert "CONCIERGE_MODEL_PROVIDER" not in variables
    assert "CONCIERGE_PUBLIC_API_URL" in variables  # survey links lead to the API


def test_survey_scoring_may_call_the_model_only_when_one_is_configured():
    app = cdk.App(context={"aws:cdk:bundling-stacks": [], "modelProvider": "bedrock"})
    resources = Template.from_stack(build(app)).to_json()["Resources"]
    statements = role_statements(resources, topology.FunctionName.SURVEYS)
    # the default models are on Bedrock's Messages API endpoint (tests/infra/test_models_iam.py has the shapes)
    assert "bedrock-mantle:CreateInference" in actions_of(statements)
    variables = resources[function_ids(resources)[topology.FunctionName.SURVEYS]]["Properties"]["Environment"][
        "Variables"
    ]
    assert variables["CONCIERGE_MODEL_PROVIDER"] == "bedrock"
    assert variables["CONCIERGE_JUDGE_MODEL"] == "anthropic.claude-haiku-5-5"


def test_only_ingest_and_surveys_read_secrets(resources):
    # ingest verifies signatures and survey links; surveys signs survey links and sends WhatsApp survey messages
    for name in topology.FunctionName:
        reads = "secretsmanager:GetSecretValue" in actions_of(role_statements(resources, name))
        assert reads == (name in (topology.FunctionName.INGEST, topology.FunctionName.SURVEYS)), name


# data -------------------------------------------------------------------------------------------
def test_tables_match_the_topology_with_recovery_and_retention(resources):
    tables = of_type(resources, "AWS::DynamoDB::GlobalTable")
    assert len(tables) == len(topology.TABLES)
    for spec in topology.TABLES:
        [table] = [t for key, t in tables.items() if spec.logical_id in key]
        properties = table["Properties"]
        assert [k["AttributeName"] for k in properties["KeySchema"]] == [spec.partition_key, spec.sort_key]
        assert properties["Replicas"][0]["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert table["DeletionPolicy"] == "Retain"
        if spec.ttl_attribute:
            assert properties["TimeToLiveSpecification"] == {"AttributeName": spec.ttl_attribute, "Enabled": True}
        indexes = {
            i["IndexName"]: [k["AttributeName"] for k in i["KeySchema"]]
            for i in properties.get("GlobalSecondaryIndexes", [])
        }
        assert indexes == {i.name: [i.partition_key, i.sort_key] for i in spec.indexes}


# events -----------------------------------------------------------------------------------------
def test_one_custom_bus_and_each_rule_feeds_a_queue_with_a_dead_letter_queue(template, resources):
    template.resource_count_is("AWS::Events::EventBus", 1)
    for rule in topology.RULES:
        [event_rule] = [
            r
            for r in of_type(resources, "AWS::Events::Rule").values()
            if r["Properties"]["EventPattern"] == rule.pattern
        ]
        queue_id = event_rule["Properties"]["Targets"][0]["Arn"]["Fn::GetAtt"][0]
        redrive = resources[queue_id]["Properties"]["RedrivePolicy"]
        assert redrive["maxReceiveCount"] == rule.max_receive_count
        [mapping] = [
            m
            for m in of_type(resources, "AWS::Lambda::EventSourceMapping").values()
            if m["Properties"]["EventSourceArn"] == {"Fn::GetAtt": [queue_id, "Arn"]}
        ]
        assert mapping["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert mapping["Properties"]["FunctionName"] == {"Ref": function_ids(resources)[rule.function]}


def test_the_journeys_rule_takes_a_survey_answer_only_from_a_promoter(resources):
    """The deployed pattern of `signals-to-journeys`: the storefront's signals as they come, and survey.answered
    only with a CSAT 5 or an NPS of 9 or more (EventBridge content filtering: no other answer reaches the queue)."""
    [pattern] = [
        r["Properties"]["EventPattern"]
        for r in of_type(resources, "AWS::Events::Rule").values()
        if "survey.answered" in json.dumps(r["Properties"]["EventPattern"].get("$or", []))
    ]
    plain, *answers = pattern["$or"]
    assert pattern["source"] == [topology.EVENT_SOURCE] and "survey.answered" not in plain["detail-type"]
    assert {"shipment.delayed", "cart.updated", "trial.updated"} <= set(plain["detail-type"])
    assert answers == [
        {"detail-type": ["survey.answered"], "detail": {"survey": ["csat"], "score": [{"numeric": ["=", 5]}]}},
        {"detail-type": ["survey.answered"], "detail": {"survey": ["nps"], "score": [{"numeric": [">=", 9]}]}},
    ]


# the turn workflow ------------------------------------------------------------------------------
def machine_of(resources: dict, kind: str, name: str | None = None) -> dict:
    """The state machine of that type (and whose name ends with `-name`: two are Standard)."""
    [machine] = [
        m
        for m in of_type(resources, "AWS::StepFunctions::StateMachine").values()
        if m["Properties"]["StateMachineType"] == kind
        and (name is None or f'-{name}"' in json.dumps(m["Properties"]["StateMachineName"]))
    ]
    return machine


def machine_statements(resources: dict, machine: dict) -> list[dict]:
    role_id = machine["Properties"]["RoleArn"]["Fn::GetAtt"][0]
    return [
        s
        for p in of_type(resources, "AWS::IAM::Policy").values()
        if {"Ref": role_id} in p["Properties"]["Roles"]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]


def test_the_deployed_workflow_is_the_definition_the_local_stack_runs(resources):
    machine = machine_of(resources, "EXPRESS")
    properties = machine["Properties"]
    assert properties["StateMachineType"] == "EXPRESS"
    assert properties["DefinitionString"] == turn_definition_text()
    assert json.loads(properties["DefinitionString"]) == turn_definition()
    ids = function_ids(resources)
    substitutions = properties["DefinitionSubstitutions"]
    for placeholder, value in substitutions.items():
        [name] = [n for n in topology.FunctionName if function_arn_placeholder(n) == placeholder]
        assert value == {"Fn::GetAtt": [ids[name], "Arn"]}
    used = {p for p in substitutions if "${" + p + "}" in properties["DefinitionString"]}
    assert used == set(substitutions), "every function the definition names is substituted"
    assert properties["LoggingConfiguration"]["IncludeExecutionData"] is False  # turns carry customer messages


def test_the_workflow_may_invoke_the_turn_functions_but_not_survey_scoring(resources):
    machine = machine_of(resources, "EXPRESS")
    role_id = machine["Properties"]["RoleArn"]["Fn::GetAtt"][0]
    statements = [
        s
        for p in of_type(resources, "AWS::IAM::Policy").values()
        if {"Ref": role_id} in p["Properties"]["Roles"]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    text = json.dumps(statements)
    ids = function_ids(resources)
    assert ids[topology.FunctionName.SURVEYS] not in text
    assert all(ids[n] in text for n in topology.FunctionName if n is not topology.FunctionName.SURVEYS)


# the approval workflow --------------------------------------------------------------------------
def test_the_approval_workflow_is_the_standard_definition_the_local_stack_runs(resources):
    machine = machine_of(resources, "STANDARD", "approval")
    properties = machine["Properties"]
    assert properties["DefinitionString"] == approval_definition_text()
    definition = approval_definition()
    assert definition["States"]["WaitForDecision"]["Resource"] == "arn:aws:states:::lambda:invoke.waitForTaskToken"
    assert definition["States"]["WaitForDecision"]["TimeoutSecondsPath"] == "$.timeout_seconds"
    ids = function_ids(resources)
    assert properties["DefinitionSubstitutions"] == {
        function_arn_placeholder(name): {"Fn::GetAtt": [ids[name], "Arn"]}
        for name in (topology.FunctionName.ACTIONS, topology.FunctionName.INGEST)
    }
    assert properties["StateMachineName"] == {"Fn::Join": ["", [{"Ref": "AWS::StackName"}, "-approval"]]} or str(
        properties["StateMachineName"]
    ).endswith("-approval")
    assert properties["LoggingConfiguration"]["IncludeExecutionData"] is False  # tokens and requests stay out of logs
    role_id = properties["RoleArn"]["Fn::GetAtt"][0]
    text = json.dumps(
        [
            s
            for p in of_type(resources, "AWS::IAM::Policy").values()
            if {"Ref": role_id} in p["Properties"]["Roles"]
            for s in p["Properties"]["PolicyDocument"]["Statement"]
        ]
    )
    invoked = {n for n in topology.FunctionName if ids[n] in text}
    assert invoked == {topology.FunctionName.ACTIONS, topology.FunctionName.INGEST}


def test_only_actions_starts_approvals_and_only_ingest_decides_them(resources):
    def approval_actions(function):
        return {
            a
            for a in actions_of(role_statements(resources, function))
            if a.startswith("states:") and a != "states:StartSyncExecution"
        }

    assert approval_actions(topology.FunctionName.ACTIONS) == {"states:StartExecution"}
    assert approval_actions(topology.FunctionName.INGEST) == {"states:SendTaskSuccess", "states:SendTaskFailure"}
    for name in (topology.FunctionName.AGENT, topology.FunctionName.RETRIEVAL, topology.FunctionName.SURVEYS):
        assert approval_actions(name) == set()
    for name in (topology.FunctionName.ACTIONS, topology.FunctionName.INGEST):
        statements = [
            s
            for s in role_statements(resources, name)
            if "states:StartExecution" in json.dumps(s) or "states:SendTaskSuccess" in json.dumps(s)
        ]
        assert statements and all(
            "-approval" in json.dumps(s["Resource"]) or "-journey" in json.dumps(s["Resource"]) for s in statements
        )
        decides = [s for s in statements if "states:SendTaskSuccess" in json.dumps(s)]
        assert all("-approval" in json.dumps(s["Resource"]) for s in decides)


# the journey workflow ---------------------------------------------------------------------------
def test_the_journey_workflow_is_the_standard_definition_the_local_stack_runs(resources):
    machine = machine_of(resources, "STANDARD", "journey")
    properties = machine["Properties"]
    assert properties["DefinitionString"] == journey_definition_text()
    definition = journey_definition()
    assert definition["States"]["Wait"] == {
        "Type": "Wait",
        "TimestampPath": "$.entered.Payload.send_at",
        "Next": "Check",
    }
    ids = function_ids(resources)
    assert properties["DefinitionSubstitutions"] == {
        function_arn_placeholder(name): {"Fn::GetAtt": [ids[name], "Arn"]}
        for name in (topology.FunctionName.ACTIONS, topology.FunctionName.INGEST)
    }
    assert properties["LoggingConfiguration"]["IncludeExecutionData"] is False  # signals name customers
    text = json.dumps(machine_statements(resources, machine))
    assert {n for n in topology.FunctionName if ids[n] in text} == {
        topology.FunctionName.ACTIONS,
        topology.FunctionName.INGEST,
    }


def test_only_actions_starts_journeys_and_only_the_journey_workflow(resources):
    for name in topology.FunctionName:
        starts = [
            s
            for s in role_statements(resources, name)
            if "states:StartExecution" in actions_of([s]) and "-journey" in json.dumps(s["Resource"])
        ]
        assert bool(starts) == (name is topology.FunctionName.ACTIONS), name
        for statement in starts:
            assert actions_of([statement]) == {"states:StartExecution"}
            assert "-journey" in json.dumps(statement["Resource"]) and "*" not in json.dumps(statement["Resource"])


# the API ----------------------------------------------------------------------------------------
def test_the_turn_route_is_a_validated_keyed_synchronous_workflow_call(template, resources):
    methods = of_type(resources, "AWS::ApiGateway::Method")
    [post] = [
        m
        for m in methods.values()
        if "StartSyncExecution" in json.dumps(m["Properties"].get("Integration", {}).get("Uri"))
    ]
    properties = post["Properties"]
    assert properties["ApiKeyRequired"] is True
    assert "RequestValidatorId" in properties
    integration = properties["Integration"]
    assert json.dumps(integration["Uri"]).find("states:action/StartSyncExecution") >= 0
    request_template = json.dumps(integration["RequestTemplates"])
    assert "@@header@@" in request_template and "@@path@@" in request_template  # the ApiRequest shape
    assert "responseOverride.status" in integration["IntegrationResponses"][0]["ResponseTemplates"]["application/json"]
    # the route's path is the topology's
    paths = {r["Properties"]["PathPart"] for r in of_type(resources, "AWS::ApiGateway::Resource").values()}
    assert paths == {part for route in topology.ROUTES for part in route.path.split("/") if part}
    template.has_resource_properties("AWS::ApiGateway::UsagePlanKey", Match.any_value())


def test_the_api_model_is_the_pydantic_request_schema(resources):
    [model] = of_type(resources, "AWS::ApiGateway::Model").values()
    schema = model["Properties"]["Schema"]
    pydantic_schema = TurnRequestBody.model_json_schema()
    assert schema["required"] == pydantic_schema["required"]
    assert set(schema["properties"]) == set(pydantic_schema["properties"])
    assert schema["additionalProperties"] is False
    assert schema["properties"]["text"]["maxLength"] == 4000
    assert schema["properties"]["channel"]["enum"] == ["web", "email", "whatsapp", "sms"]


def test_gateway_errors_answer_json_with_a_reason(resources):
    responses = {
        r["Properties"]["ResponseType"]: r["Properties"]
        for r in of_type(resources, "AWS::ApiGateway::GatewayResponse").values()
    }
    assert responses["BAD_REQUEST_BODY"]["StatusCode"] == "400"
    assert "validationErrorString" in responses["BAD_REQUEST_BODY"]["ResponseTemplates"]["application/json"]
    assert responses["MISSING_AUTHENTICATION_TOKEN"]["StatusCode"] == "404"
    assert responses["INVALID_API_KEY"]["StatusCode"] == "403"


# people are told when they are needed ---------------------------------------------------------------------------
def test_handoffs_and_approvals_reach_the_team_topic_without_the_customers_words(resources):
    [rule] = [
        r
        for r in of_type(resources, "AWS::Events::Rule").values()
        if sorted(r["Properties"]["EventPattern"].get("detail-type", [])) == ["approval.requested", "handoff.requested"]
    ]
    [target] = rule["Properties"]["Targets"]
    [topic_id] = [t for t in of_type(resources, "AWS::SNS::Topic") if t.startswith("TeamNotifications")]
    assert target["Arn"] == {"Ref": topic_id}
    text = target["InputTransformer"]["InputTemplate"]
    assert "conversation_id" in json.dumps(target["InputTransformer"]) and "reason" in text
    assert "text" not in target["InputTransformer"]["InputPathsMap"], "no customer message in a notification"
    policy = next(p for p in of_type(resources, "AWS::SNS::TopicPolicy").values())
    assert "events.amazonaws.com" in json.dumps(policy)


def test_support_hours_reach_the_function_that_opens_handoffs():
    app = cdk.App(
        context={
            "aws:cdk:bundling-stacks": [],
            "supportHours": {
                "timezone": "Europe/Paris",
                "weekdays": [0, 1, 2, 3, 4],
                "open": "09:00",
                "close": "18:00",
            },
        }
    )
    stack = build(app)
    resources = Template.from_stack(stack).to_json()["Resources"]
    env = resources[function_ids(resources)[topology.FunctionName.ACTIONS]]["Properties"]["Environment"]["Variables"]
    assert json.loads(env["CONCIERGE_SUPPORT_HOURS"])["timezone"] == "Europe/Paris"


def test_each_deployed_workflow_carries_its_timeout_and_an_approval_timeout_past_it_is_refused(resources):
    from concierge.platform.settings import MAX_APPROVAL_TIMEOUT_HOURS

    timeouts = {
        name: json.loads(
            machine_of(resources, kind, name if kind == "STANDARD" else None)["Properties"]["DefinitionString"]
        )
        for kind, name in (("EXPRESS", "turn"), ("STANDARD", "approval"), ("STANDARD", "journey"))
    }
    assert timeouts["turn"]["TimeoutSeconds"] == 29  # API Gateway's integration limit
    assert timeouts["approval"]["TimeoutSeconds"] == (MAX_APPROVAL_TIMEOUT_HOURS + 24) * 3600 == 30 * 86400
    # a journey waits at most the longest wait a merchant may set (30 days) and a night's quiet hours, plus a day
    assert timeouts["journey"]["TimeoutSeconds"] == 32 * 86400
    app = cdk.App(context={"aws:cdk:bundling-stacks": [], "approvalTimeoutHours": 720})
    with pytest.raises(ValueError, match="approvalTimeoutHours must be more than 0 and at most 696"):
        build(app)


def test_the_apps_merchant_defaults_are_the_settings_defaults():
    from concierge.platform.settings import MERCHANT_DEFAULTS
    from infra.app import merchant_from

    merchant = merchant_from(cdk.App())
    assert (merchant.name, merchant.sender_email, merchant.max_auto_refund) == (
        MERCHANT_DEFAULTS.name,
        MERCHANT_DEFAULTS.sender_email,
        MERCHANT_DEFAULTS.max_auto_refund,
    )
    assert (merchant.return_window_days, merchant.memory_ttl_days, merchant.approval_timeout_hours) == (
        MERCHANT_DEFAULTS.return_window_days,
        MERCHANT_DEFAULTS.memory_ttl_days,
        MERCHANT_DEFAULTS.approval_timeout_hours,
    )
