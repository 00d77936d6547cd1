"""The public API: API Gateway REST API -> the turn workflow, run synchronously (StartSyncExecution), and the
ingest function's routes (customer data, merges, the WhatsApp webhook) as Lambda proxy integrations.

On the turn route API Gateway checks the API key and validates the body against the schema of
`TurnRequestBody`; the workflow's last state is the HTTP response ({statusCode, body}), which the integration
response copies out. Every route requires the API key except the provider webhooks (`Route.api_key`), which
authenticate by signature in the function. Operator routes also pass the Cognito authorizer of the operators'
user pool; customer routes carry a customer token, checked in code (`concierge.web.auth`).
"""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from concierge.conversation.api import TURN_FAILED, TurnRequestBody
from concierge.platform import topology

JSON = "application/json"
# $input.path('$.output') is the workflow's output as a JSON string (an HttpResponse). A conflict that clears itself
# (another message of the conversation) carries a Retry-After header, copied out.
RESPONSE_TEMPLATE = (
    """#set($status = $input.path('$.status'))
#if($status == 'SUCCEEDED')
#set($out = $util.parseJson($input.path('$.output')))
#set($context.responseOverride.status = $out.statusCode)
#if($out.headers && $out.headers.get('Retry-After'))
#set($context.responseOverride.header.Retry-After = $out.headers.get('Retry-After'))
#end
$out.body
#else
#set($context.responseOverride.status = 500)
"""
    + json.dumps({"message": TURN_FAILED})
    + """
#end"""
)
GATEWAY_ERRORS = {
    apigateway.ResponseType.BAD_REQUEST_BODY: (
        "400",
        '{"message": "Invalid request body: $context.error.validationErrorString"}',
    ),
    apigateway.ResponseType.MISSING_AUTHENTICATION_TOKEN: (
        "404",
        '{"message": "No route for $context.httpMethod $context.path."}',
    ),
    apigateway.ResponseType.INVALID_API_KEY: ("403", '{"message": "Forbidden"}'),
    apigateway.ResponseType.ACCESS_DENIED: ("403", '{"message": "Forbidden"}'),
    apigateway.ResponseType.THROTTLED: ("429", '{"message": "Too many requests; retry shortly."}'),
    apigateway.ResponseType.DEFAULT_4_XX: (None, '{"message": "$context.error.messageString"}'),
    apigateway.ResponseType.DEFAULT_5_XX: (None, '{"message": "The service is unavailable; it is safe to retry."}'),
}


def cors_template(allowed_origins: tuple[str, ...]) -> str:
    """The turn route's answer to a page of an allowed origin (the chat widget): its origin echoed, and nothing for
    any other origin, whose browser then keeps the answer from it. $input.params() is the method request's."""
    if not allowed_origins:
        return ""
    condition = " || ".join(f'$origin == "{origin}"' for origin in allowed_origins)
    exposed = ", ".join(topology.CORS_EXPOSED_HEADERS)
    return (
        '#set($origin = $input.params().header.get("Origin"))\n'
        '#if("$!origin" == "")#set($origin = $input.params().header.get("origin"))#end\n'
        f"#if({condition})\n"
        "#set($context.responseOverride.header.Access-Control-Allow-Origin = $origin)\n"
        f'#set($context.responseOverride.header.Access-Control-Expose-Headers = "{exposed}")\n'
        "#end\n"
    )


def request_schema() -> apigateway.JsonSchema:
    """TurnRequestBody's JSON schema as an API Gateway model (draft-04; enums inlined, no $ref)."""
    schema = TurnRequestBody.model_json_schema()
    definitions = schema.pop("$defs", {})

    def convert(node: dict[str, Any]) -> apigateway.JsonSchema:
        if "$ref" in node:
            node = definitions[node["$ref"].rsplit("/", 1)[-1]]
        kinds = {"string": apigateway.JsonSchemaType.STRING, "object": apigateway.JsonSchemaType.OBJECT}
        return apigateway.JsonSchema(
            type=kinds[node["type"]] if "type" in node else None,
            enum=node.get("enum"),
            min_length=node.get("minLength"),
            max_length=node.get("maxLength"),
            description=node.get("description"),
            properties={key: convert(value) for key, value in node.get("properties", {}).items()} or None,
            required=node.get("required"),
            additional_properties=node.get("additionalProperties"),
        )

    converted = convert(schema)
    return apigateway.JsonSchema(
        schema=apigateway.JsonSchemaVersion.DRAFT4,
        title=schema["title"],
        type=converted.type,
        properties=converted.properties,
        required=converted.required,
        additional_properties=converted.additional_properties,
    )


class PublicApi(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        turn_workflow: sfn.IStateMachine,
        ingest: lambda_.IFunction,
        operator_pool: cognito.IUserPool,
        allowed_origins: tuple[str, ...] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        access_logs = logs.LogGroup(
            self, "AccessLogs", retention=logs.RetentionDays.ONE_MONTH, removal_policy=cdk.RemovalPolicy.DESTROY
        )
        self.rest_api = apigateway.RestApi(
            self,
            "Api",
            rest_api_name=f"{cdk.Stack.of(self).stack_name}-api",
            description="Concierge: customer turns for storefronts.",
            deploy_options=apigateway.StageOptions(
                stage_name="prod",
                tracing_enabled=True,
                # execution logs of errors on every method, never request or response bodies (they carry messages)
                logging_level=apigateway.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,
                throttling_rate_limit=50,
                throttling_burst_limit=100,
                access_log_destination=apigateway.LogGroupLogDestination(access_logs),
                access_log_format=apigateway.AccessLogFormat.json_with_standard_fields(
                    caller=False,
                    http_method=True,
                    ip=False,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=False,
                ),
            ),
            cloud_watch_role=True,
        )
        for response_type, (status, template) in GATEWAY_ERRORS.items():
            self.rest_api.add_gateway_response(
                f"{response_type.response_type}Response",
                type=response_type,
                status_code=status,
                templates={JSON: template},
            )
        validator = apigateway.RequestValidator(
            self, "BodyValidator", rest_api=self.rest_api, validate_request_body=True
        )
        model = self.rest_api.add_model(
            "TurnRequestBody", content_type=JSON, model_name="TurnRequestBody", schema=request_schema()
        )

        integration = apigateway.StepFunctionsIntegration.start_execution(
            turn_workflow,
            headers=True,
            path=True,
            querystring=False,
            integration_responses=[
                apigateway.IntegrationResponse(
                    status_code="200",
                    response_templates={JSON: cors_template(allowed_origins) + RESPONSE_TEMPLATE},
                    response_parameters={"method.response.header.Vary": "'Origin'"} if allowed_origins else None,
                ),
            ],
        )
        proxy = apigateway.LambdaIntegration(ingest, proxy=True)
        # Operator routes: API Gateway checks the operator's ID token (Authorization) before the function runs.
        operators = apigateway.CognitoUserPoolsAuthorizer(
            self, "OperatorAuthorizer", cognito_user_pools=[operator_pool], results_cache_ttl=cdk.Duration.minutes(5)
        )
        for route in topology.ROUTES:
            resource = self.rest_api.root.resource_for_path(route.path)
            if route.target == "turn-workflow":
                resource.add_method(
                    route.method,
                    integration,
                    api_key_required=route.api_key,
                    request_validator=validator,
                    request_models={JSON: model},
                    method_responses=[
                        # the 200's CORS headers are set by the integration response (cors_template): declared here
                        apigateway.MethodResponse(
                            status_code="200",
                            response_parameters={
                                f"method.response.header.{header}": False
                                for header in ("Vary", "Access-Control-Allow-Origin", "Access-Control-Expose-Headers")
                            }
                            if allowed_origins
                            else None,
                        ),
                        *(
                            apigateway.MethodResponse(status_code=code)
                            for code in ("400", "401", "403", "404", "413", "500")
                        ),
                        apigateway.MethodResponse(
                            status_code="409", response_parameters={"method.response.header.Retry-After": False}
                        ),
                    ],
                )
            elif route.target == "ingest" and route.caller == "operator":
                resource.add_method(
                    route.method,
                    proxy,
                    api_key_required=route.api_key,
                    authorizer=operators,
                    authorization_type=apigateway.AuthorizationType.COGNITO,
                )
            elif route.target == "ingest":
                resource.add_method(route.method, proxy, api_key_required=route.api_key)
            else:
                raise ValueError(f"route {route.method} {route.path}: unknown target {route.target!r}")

        # CORS for the chat widget on the storefronts' pages: API Gateway answers the preflight of each route a page may
        # call (Route.cors) for the configured origins only; the answers themselves carry the origin (the ingest
        # function, concierge.web.http_api.cors; the turn route, cors_template). No origin configured: no preflight,
        # and browsers refuse every cross-origin call.
        if allowed_origins:
            methods: dict[str, list[str]] = {}
            for route in topology.ROUTES:
                if route.cors:
                    methods.setdefault(route.path, []).append(route.method)
            for path, allowed in methods.items():
                self.rest_api.root.resource_for_path(path).add_cors_preflight(
                    allow_origins=list(allowed_origins),
                    allow_methods=sorted(allowed),
                    allow_headers=list(topology.CORS_REQUEST_HEADERS),
                    allow_credentials=False,
                    max_age=cdk.Duration.seconds(topology.CORS_MAX_AGE_SECONDS),
                    status_code=204,
                )

        self.api_key = self.rest_api.add_api_key("StorefrontKey", description="x-api-key for the merchant's storefront")
        plan = self.rest_api.add_usage_plan(
            "StorefrontPlan",
            throttle=apigateway.ThrottleSettings(rate_limit=50, burst_limit=100),
            api_stages=[apigateway.UsagePlanPerApiStage(api=self.rest_api, stage=self.rest_api.deployment_stage)],
        )
        plan.add_api_key(self.api_key)
