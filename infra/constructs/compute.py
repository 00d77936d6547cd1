"""The five functions: the layers each one's calls import (infra/bundling.py), one least-privilege role each,
permissions read from topology.ACCESS."""

from __future__ import annotations

from dataclasses import dataclass
from typing import get_args, get_type_hints

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from concierge.platform import topology
from concierge.platform.settings import (
    FUNCTION_SETTINGS,
    MAX_APPROVAL_TIMEOUT_HOURS,
    MERCHANT_DEFAULTS,
    KnowledgeSettings,
    declared_env,
    fields,
    function_environment,
)
from concierge.reasoning import models
from infra.bundling import FUNCTION_LAYERS, PYTHON_VERSION, Layer, functions_code, layer_code
from infra.constructs.data import Data
from infra.constructs.messaging import Messaging

RUNTIME = lambda_.Runtime.PYTHON_3_12
# The embedders the functions' settings accept (CDK context `embedder`)
EMBEDDERS: tuple[str, ...] = get_args(get_type_hints(KnowledgeSettings)["embedder"])
assert RUNTIME.name == f"python{PYTHON_VERSION}", "the layer's wheels are built for bundling.PYTHON_VERSION"


@dataclass(frozen=True)
class Merchant:
    """Merchant configuration, from CDK context (see docs/deploy.md)."""

    name: str
    sender_email: str
    return_window_days: int
    memory_ttl_days: int
    max_auto_refund: str
    # a refund above max_auto_refund waits this long for a person's decision
    approval_timeout_hours: float = MERCHANT_DEFAULTS.approval_timeout_hours
    notify_email: str = ""  # subscribed to the team notifications (handoffs, approvals)
    support_hours: str = ""  # JSON, see MerchantSettings.support_hours; empty: always staffed
    inbound_email_recipient: str = ""  # e.g. support@mail.example.com: enables SES receiving
    whatsapp_phone_number_id: str = ""
    # "hashing" (local, free) | "minilm" (the sentence model all-MiniLM-L6-v2 in the functions: retrieval and ingest
    # get its layer) | "titan" (Bedrock Titan Text Embeddings v2)
    embedder: str = "hashing"
    embedding_dimensions: int = 256
    knowledge_index: str = "embedded"  # "embedded" | "serverless" | "managed" (OpenSearch)
    model_provider: str = "none"  # "none" (deterministic engine) | "anthropic" | "bedrock"
    model: str = ""  # model id (Anthropic API) or Bedrock model / inference profile id; empty: the default
    judge_model: str = ""  # the Auto-CSAT judge's model, same forms; empty: the default judge (Haiku class)
    allowed_origins: tuple[str, ...] = ()  # storefront origins whose pages embed the chat widget (CORS)
    sign_in_domain_prefix: str = ""  # the operators' hosted UI, <prefix>.auth.<region>.amazoncognito.com

    def __post_init__(self) -> None:
        if self.embedder not in EMBEDDERS:
            raise ValueError(f"embedder must be one of {', '.join(EMBEDDERS)}, not {self.embedder!r}")
        if not 0 < self.approval_timeout_hours <= MAX_APPROVAL_TIMEOUT_HOURS:
            raise ValueError(
                f"approvalTimeoutHours must be more than 0 and at most {MAX_APPROVAL_TIMEOUT_HOURS} (29 days), "
                f"not {self.approval_timeout_hours:g}: the approval workflow stops a day later."
            )


def turn_state_machine_name(stack: cdk.Stack) -> str:
    """A fixed name, so ingest can be given the workflow's ARN without a reference cycle (the workflow invokes
    ingest, and ingest starts the workflow for email and WhatsApp turns)."""
    return f"{stack.stack_name}-turn"


def turn_state_machine_arn(stack: cdk.Stack) -> str:
    return stack.format_arn(
        service="states",
        resource="stateMachine",
        resource_name=turn_state_machine_name(stack),
        arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
    )


def approval_state_machine_name(stack: cdk.Stack) -> str:
    """Fixed for the same reason: the approval workflow invokes actions and ingest, which start it and decide it."""
    return f"{stack.stack_name}-approval"


def approval_state_machine_arn(stack: cdk.Stack) -> str:
    return stack.format_arn(
        service="states",
        resource="stateMachine",
        resource_name=approval_state_machine_name(stack),
        arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
    )


def journey_state_machine_name(stack: cdk.Stack) -> str:
    """Fixed for the same reason: the journey workflow invokes actions, which starts it."""
    return f"{stack.stack_name}-journey"


def journey_state_machine_arn(stack: cdk.Stack) -> str:
    return stack.format_arn(
        service="states",
        resource="stateMachine",
        resource_name=journey_state_machine_name(stack),
        arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
    )


INVOKE_ACTIONS = ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"]


def bedrock_statements(stack: cdk.Stack, model_ids: tuple[str, ...]) -> list[iam.PolicyStatement]:
    """Exactly what calling these Bedrock ids needs, per their endpoint in the capability table (reasoning/models.py).

    - Messages API endpoint (bedrock-mantle): `bedrock-mantle:CreateInference` on the account's Mantle projects in
      the stack's region, the resource of the managed policy AmazonBedrockMantleInferenceAccess (which grants
      `arn:aws:bedrock-mantle:*:*:project/*`), narrowed to these models with the condition key
      `bedrock-mantle:Model`. That key is listed for CreateInference in the Service Authorization Reference
      (Actions, resources, and condition keys for Amazon Bedrock Powered by AWS Mantle) and used in AWS's own SCP
      example (aws-samples/service-control-policy-examples, Deny-Bedrock-model-invocation-except-approved-models.json);
      the value is the Mantle model id as sent in the request. The SDK signs with SigV4, so no
      `bedrock-mantle:CallWithBearerToken`.
    - A geographic inference profile (us., eu., jp., au.) on bedrock-runtime: InvokeModel on the profile in the stack's
      region, and on the foundation model in the stack's (source) region and in every destination region of the
      geography, only through that profile (`bedrock:InferenceProfileArn`)
      (https://docs.aws.amazon.com/bedrock/latest/userguide/geographic-cross-region-inference.html,
      .../inference-profiles-prereq.html).
    - A global profile: the profile; the foundation model in the stack's region through the profile; and the
      region-less foundation model ARN with `aws:RequestedRegion` "unspecified" through the profile
      (https://docs.aws.amazon.com/bedrock/latest/userguide/global-cross-region-inference.html).
    """
    statements: list[iam.PolicyStatement] = []
    mantle: list[str] = []
    seen: set[str] = set()
    for model_id in model_ids:
        target = models.bedrock_id(model_id)
        if target.id in seen:
            continue
        seen.add(target.id)
        if target.endpoint is models.Endpoint.BEDROCK_MANTLE:
            mantle.append(target.id)
            continue
        profile = target.profile
        if profile is None:  # a plain model id on InvokeModel: the table has none today
            statements.append(
                iam.PolicyStatement(
                    actions=INVOKE_ACTIONS,
                    resources=[
                        stack.format_arn(
                            service="bedrock", account="", resource="foundation-model", resource_name=target.id
                        )
                    ],
                )
            )
            continue
        profile_arn = stack.format_arn(service="bedrock", resource="inference-profile", resource_name=target.id)
        through_profile = {"bedrock:InferenceProfileArn": profile_arn}

        def model_arn(region: str, foundation_model: str = target.foundation_model) -> str:
            return stack.format_arn(
                service="bedrock",
                region=region,
                account="",
                resource="foundation-model",
                resource_name=foundation_model,
            )

        statements.append(iam.PolicyStatement(actions=INVOKE_ACTIONS, resources=[profile_arn]))
        if profile == "global":
            statements.append(
                iam.PolicyStatement(
                    actions=INVOKE_ACTIONS,
                    resources=[model_arn(stack.region)],
                    conditions={"StringEquals": through_profile},
                )
            )
            statements.append(
                iam.PolicyStatement(
                    actions=INVOKE_ACTIONS,
                    resources=[model_arn("")],
                    conditions={"StringEquals": {"aws:RequestedRegion": "unspecified", **through_profile}},
                )
            )
        else:
            regions = models.PROFILE_REGIONS[profile]
            if not cdk.Token.is_unresolved(stack.region) and stack.region not in regions:
                cdk.Annotations.of(stack).add_warning_v2(
                    "concierge:profileOutsideRegion",
                    f"{target.id} routes to {', '.join(regions)}; this stack deploys to {stack.region}, from which the "
                    "profile may not be callable (docs/deploy.md, Claude).",
                )
            statements.append(
                iam.PolicyStatement(
                    actions=INVOKE_ACTIONS,
                    resources=[model_arn(stack.region), *(model_arn(r) for r in regions)],
                    conditions={"StringEquals": through_profile},
                )
            )
    if mantle:
        statements.append(
            iam.PolicyStatement(
                actions=["bedrock-mantle:CreateInference"],
                resources=[stack.format_arn(service="bedrock-mantle", resource="project", resource_name="*")],
                conditions={"StringEquals": {"bedrock-mantle:Model": mantle}},
            )
        )
    return statements


# What reading and writing a table grant (CDK's grant_read_data and grant_write_data, without Scan: a function that
# scans says so, topology.FunctionAccess.scan_store).
TABLE_READS = ("dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:GetItem", "dynamodb:ConditionCheckItem")
TABLE_WRITES = ("dynamodb:BatchWriteItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem")

# The mail bucket, for functions with `read_write_mail`: (actions, key pattern).
MAIL_ACCESS = (
    (("s3:GetObject", "s3:DeleteObject"), "inbound/*"),
    (("s3:GetObject", "s3:PutObject", "s3:DeleteObject"), "attachments/*"),
)


# Memory and timeout per function: the agent and the actions do the most work per call; survey scoring is batch.
SIZING = {
    # Ingest also runs email and WhatsApp turns from the message-received queue (a batch of 5 turns of at most
    # 29 s each), so its timeout covers a batch; turn tasks are bounded by the workflow's own 29 s.
    topology.FunctionName.INGEST: (512, 150),
    topology.FunctionName.RETRIEVAL: (512, 10),
    topology.FunctionName.AGENT: (1024, 25),
    topology.FunctionName.ACTIONS: (512, 20),
    # A batch of 10 closed conversations, each possibly judged by the model (8 s timeout) and sent a survey.
    topology.FunctionName.SURVEYS: (256, 120),
}


# The functions that decide offers (the agent, through the engines) and issue their codes (the actions function):
# those whose settings have the offers' holdout key.
OFFER_FUNCTIONS = frozenset(name for name, settings in FUNCTION_SETTINGS.items() if "offer_salt" in fields(settings))
# What the functions' runtime reads (powertools), not their settings: every function has it.
RUNTIME_ENVIRONMENT = {
    "POWERTOOLS_SERVICE_NAME": "concierge",
    "POWERTOOLS_METRICS_NAMESPACE": "Concierge",
    "POWERTOOLS_LOG_LEVEL": "INFO",
}


class Functions(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, data: Data, messaging: Messaging, merchant: Merchant
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        # Only the layers some function is given in this configuration are built (anthropic with a model provider,
        # opensearch-py with an OpenSearch index).
        self.layers: dict[Layer, lambda_.LayerVersion] = {}

        def layer_version(layer: Layer) -> lambda_.LayerVersion:
            if layer not in self.layers:
                self.layers[layer] = lambda_.LayerVersion(
                    self,
                    layer.construct_id,
                    code=layer_code(layer),
                    compatible_runtimes=[RUNTIME],  # its compiled wheels are for this version (bundling.PYTHON_VERSION)
                    compatible_architectures=[lambda_.Architecture.ARM_64],
                    description=layer.description,
                )
            return self.layers[layer]

        code = functions_code()
        # What this stack has for the functions' settings, by field (concierge.platform.settings): each function is
        # given exactly the ones its settings declare (settings.function_environment), nothing it never reads.
        values = {
            "memory_table": data.table(topology.MEMORY_TABLE).table_name,
            "store_table": data.table(topology.STORE_TABLE).table_name,
            "event_bus": messaging.bus.event_bus_name,
            "knowledge_bucket": data.knowledge.bucket_name,
            "mail_bucket": data.mail.bucket_name,
            "signing_secret_arn": data.signing_secret.secret_arn,
            "whatsapp_secret_arn": data.whatsapp_secret.secret_arn,
            "merchant_name": merchant.name,
            "sender_email": merchant.sender_email,
            "return_window_days": str(merchant.return_window_days),
            "memory_ttl_days": str(merchant.memory_ttl_days),
            "max_refund_without_approval": merchant.max_auto_refund,
            "embedder": merchant.embedder,
            "embedding_dimensions": str(merchant.embedding_dimensions),
            "turn_state_machine_arn": turn_state_machine_arn(stack),
            "approval_state_machine_arn": approval_state_machine_arn(stack),
            "journey_state_machine_arn": journey_state_machine_arn(stack),
            "approval_timeout_seconds": str(int(merchant.approval_timeout_hours * 3600)),
            # The offers' holdout key: the stack's unique id (its ARN ends in a UUID CloudFormation draws), stable for
            # the deployment's life and not derivable from a customer id (docs/offers.md, Holdouts).
            "offer_salt": cdk.Aws.STACK_ID,
        }
        if merchant.whatsapp_phone_number_id:
            values["whatsapp_phone_number_id"] = merchant.whatsapp_phone_number_id
        if merchant.allowed_origins:  # ingest answers the widget's routes
            values["allowed_origins"] = ",".join(merchant.allowed_origins)
        if merchant.support_hours:
            values["support_hours"] = merchant.support_hours
        if merchant.model_provider not in ("none", "anthropic", "bedrock"):
            raise ValueError(f"modelProvider must be none, anthropic or bedrock, not {merchant.model_provider!r}")
        # The agent's and the judge's model, resolved against the capability table (reasoning/models.py): an id
        # outside it fails synth with models.UnknownModel (a ValueError), naming the ids it knows.
        self.model_ids: tuple[str, ...] = ()
        if merchant.model_provider != "none":
            agent_model = models.resolve(merchant.model_provider, merchant.model or None)
            judge_model = models.resolve(merchant.model_provider, merchant.judge_model or None, judge=True)
            self.model_ids = (agent_model, judge_model)
            # Both on the functions that call the model: the agent answers with the first, surveys judge with the
            # second. The model confirms a proposal on a later turn by its id: retrieval recalls the actions.
            values |= {
                "model_provider": merchant.model_provider,
                "model": agent_model,
                "judge_model": judge_model,
                "recall_actions": "true",
            }
        self.model_secret = None
        if merchant.model_provider == "anthropic":
            # The Anthropic API key, read by the functions that call the model (agent, surveys). It starts as a
            # known placeholder, not a secret: the functions recognise it and answer with the deterministic engine
            # until the merchant puts the key in (docs/deploy.md, Claude).
            self.model_secret = secretsmanager.Secret(
                self,
                "AnthropicApiKey",
                description="Anthropic API key for the agent and survey scoring functions",
                secret_string_value=cdk.SecretValue.unsafe_plain_text(models.KEY_PLACEHOLDER),
            )
            values["anthropic_api_key_secret_arn"] = self.model_secret.secret_arn
        self.functions: dict[topology.FunctionName, lambda_.Function] = {}
        for name in topology.FunctionName:
            memory, timeout = SIZING[name]
            role = iam.Role(
                self,
                f"{name.value.capitalize()}Role",
                assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
                description=f"Least privilege for the {name.value} function.",
            )
            log_group = logs.LogGroup(
                self,
                f"{name.value.capitalize()}Logs",
                retention=logs.RetentionDays.ONE_MONTH,
                removal_policy=cdk.RemovalPolicy.DESTROY,
            )
            function = lambda_.Function(
                self,
                f"{name.value.capitalize()}Function",
                runtime=RUNTIME,
                architecture=lambda_.Architecture.ARM_64,
                handler=topology.HANDLERS[name],
                code=code,
                layers=[
                    layer_version(layer)
                    for layer in FUNCTION_LAYERS[name].layers(
                        model=merchant.model_provider != "none",
                        opensearch=merchant.knowledge_index != "embedded",
                        sentence_embedder=merchant.embedder == "minilm",
                    )
                ],
                role=role,
                memory_size=memory,
                timeout=cdk.Duration.seconds(timeout),
                tracing=lambda_.Tracing.ACTIVE,
                log_group=log_group,
                environment={**RUNTIME_ENVIRONMENT, **function_environment(name, values)},
                description=f"Concierge {name.value}",
            )
            if topology.ACCESS[name].call_model and merchant.model_provider != "none":
                if self.model_secret is not None:
                    self.model_secret.grant_read(function)
                else:
                    for statement in bedrock_statements(stack, self.model_ids):
                        function.add_to_role_policy(statement)
            log_group.grant_write(role)
            self._grant(name, function, data, messaging, merchant, stack)
            self.functions[name] = function
        # SES invokes ingest asynchronously for inbound email: Lambda retries twice, then parks the event here.
        ingest = self.functions[topology.FunctionName.INGEST]
        self.ingest_async_dlq = sqs.Queue(
            self,
            "IngestAsyncDlq",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=cdk.Duration.days(14),
        )
        ingest.configure_async_invoke(retry_attempts=2, on_failure=destinations.SqsDestination(self.ingest_async_dlq))
        self.model_errors_alarm = None
        if merchant.model_provider != "none":
            # The client counts a 400/401/403/404 from the model (a configuration error, not an outage: wrong model
            # id, no model access, missing permission, bad key) in ModelRequestErrors; the deterministic engine
            # answers meanwhile, so nothing else shows it. Powertools adds the `service` dimension.
            self.model_errors_alarm = cloudwatch.Alarm(
                self,
                "ModelRequestErrors",
                metric=cloudwatch.Metric(
                    namespace="Concierge",
                    metric_name="ModelRequestErrors",
                    dimensions_map={"service": "concierge"},
                    statistic=cloudwatch.Stats.SUM,
                    period=cdk.Duration.minutes(5),
                ),
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                alarm_description=(
                    "The model rejected requests as misconfigured (HTTP 400/401/403/404: model id, model access, IAM "
                    "or API key); customers get the deterministic engine meanwhile. Run `concierge doctor` with the "
                    "agent function's environment (docs/deploy.md, Check it works)."
                ),
            )

    def add_environment(self, name: topology.FunctionName, variables: dict[str, str]) -> None:
        """Give a function settings known only once other constructs exist (the API's URL, the knowledge index):
        only variables its settings declare."""
        undeclared = sorted(set(variables) - declared_env(name))
        if undeclared:
            raise ValueError(f"the {name.value} function's settings do not declare {', '.join(undeclared)}")
        for key, value in variables.items():
            self.functions[name].add_environment(key, value)

    @staticmethod
    def _grant(
        name: topology.FunctionName,
        function: lambda_.Function,
        data: Data,
        messaging: Messaging,
        merchant: Merchant,
        stack: cdk.Stack,
    ) -> None:
        access = topology.ACCESS[name]
        # CDK's read grants include Scan, which reads every item of a table: only `scan_store` grants it (below)
        for table in dict.fromkeys([*access.read_tables, *access.write_tables]):
            granted = [
                *(TABLE_READS if table in access.read_tables else ()),
                *(TABLE_WRITES if table in access.write_tables else ()),
                "dynamodb:DescribeTable",
            ]
            data.table(table).grant(function, *granted)
        if access.scan_store:
            # The scheduled churn scoring's pages (churn/scheduled.py): Scan on the store table itself, not its index
            function.add_to_role_policy(
                iam.PolicyStatement(actions=["dynamodb:Scan"], resources=[data.table(topology.STORE_TABLE).table_arn])
            )
        if access.put_events:
            messaging.bus.grant_put_events_to(function)
        updated = [
            *(["DISCOUNT#*"] if access.redeem_discounts else []),
            *(["GIFTCARD#*"] if access.unlink_gift_cards else []),
        ]
        if updated:
            # Marking a code used and unlinking an erased customer's gift cards are the only writes on the store:
            # UpdateItem, on DISCOUNT# and GIFTCARD# items only.
            function.add_to_role_policy(
                iam.PolicyStatement(
                    actions=["dynamodb:UpdateItem"],
                    resources=[data.table(topology.STORE_TABLE).table_arn],
                    conditions={"ForAllValues:StringLike": {"dynamodb:LeadingKeys": updated}},
                )
            )
        if access.read_knowledge:
            data.knowledge.grant_read(function, "knowledge/*")  # the index, not the merchant's documents
        if access.read_signing_secret:
            data.signing_secret.grant_read(function)
        if access.write_knowledge:
            data.knowledge.grant_read(function, "documents/*")
            data.knowledge.grant_read_write(function, "knowledge/*")
        if access.embed and merchant.embedder == "titan":
            function.add_to_role_policy(
                iam.PolicyStatement(
                    actions=["bedrock:InvokeModel"],
                    resources=[
                        stack.format_arn(
                            service="bedrock",
                            account="",
                            resource="foundation-model",
                            resource_name="amazon.titan-embed-text-v2:0",
                        )
                    ],
                )
            )
        if access.read_write_mail:
            # Exactly what the email intake and erasure do: read the raw mail SES stored under inbound/, store and
            # read attachments under attachments/, delete both on erasure (DeleteObjects checks s3:DeleteObject).
            for actions, prefix in MAIL_ACCESS:
                function.add_to_role_policy(
                    iam.PolicyStatement(actions=list(actions), resources=[data.mail.arn_for_objects(prefix)])
                )
            # Without ListBucket a missing key reads as AccessDenied instead of NoSuchKey, which the intake reports.
            function.add_to_role_policy(
                iam.PolicyStatement(actions=["s3:ListBucket"], resources=[data.mail.bucket_arn])
            )
        if access.start_turns:
            function.add_to_role_policy(
                iam.PolicyStatement(actions=["states:StartSyncExecution"], resources=[turn_state_machine_arn(stack)])
            )
        if access.start_approvals:
            function.add_to_role_policy(
                iam.PolicyStatement(actions=["states:StartExecution"], resources=[approval_state_machine_arn(stack)])
            )
        if access.start_journeys:
            function.add_to_role_policy(
                iam.PolicyStatement(actions=["states:StartExecution"], resources=[journey_state_machine_arn(stack)])
            )
        if access.decide_approvals:
            function.add_to_role_policy(
                iam.PolicyStatement(
                    actions=["states:SendTaskSuccess", "states:SendTaskFailure"],
                    resources=[approval_state_machine_arn(stack)],
                )
            )
        if access.read_whatsapp_secret:
            data.whatsapp_secret.grant_read(function)
        if access.send_email:
            domain = merchant.sender_email.partition("@")[2]
            function.add_to_role_policy(
                iam.PolicyStatement(
                    actions=["ses:SendRawEmail", "ses:SendEmail"],
                    resources=[
                        stack.format_arn(service="ses", resource="identity", resource_name=identity)
                        for identity in (merchant.sender_email, domain)
                    ],
                )
            )
