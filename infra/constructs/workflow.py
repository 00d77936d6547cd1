"""The turn workflow: the Step Functions Express state machine from the same ASL file the local runtime executes."""
from __future__ import annotations

from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
import aws_cdk as cdk
from constructs import Construct

from concierge import topology
from concierge.workflows import function_arn_placeholder, turn_definition_text
from infra.constructs.compute import Functions, turn_state_machine_name

# The functions a turn invokes; survey scoring runs on the event path, never inside a turn.
TURN_FUNCTIONS = (
    topology.FunctionName.INGEST,
    topology.FunctionName.RETRIEVAL,
    topology.FunctionName.AGENT,
    topology.FunctionName.ACTIONS,
)


class TurnWorkflow(Construct):
    def __init__(self, scope: Construct, construct_id: str, functions: Functions) -> None:
        super().__init__(scope, construct_id)
        log_group = logs.LogGroup(
            self, "Logs", retention=logs.RetentionDays.ONE_MONTH, removal_policy=cdk.RemovalPolicy.DESTROY
        )
        self.state_machine = sfn.StateMachine(
            self,
            "TurnStateMachine",
            state_machine_type=sfn.StateMachineType.EXPRESS,
            state_machine_name=turn_state_machine_name(cdk.Stack.of(self)),
            definition_body=sfn.DefinitionBody.from_string(turn_definition_text()),
            definition_substitutions={
                function_arn_placeholder(name): functions.functions[name].function_arn for name in TURN_FUNCTIONS
            },
            timeout=cdk.Duration.seconds(29),  # API Gateway's integration limit
            tracing_enabled=True,
            # Errors only, and without execution data: turns carry customer messages.
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ERROR, include_execution_data=False),
        )
        for name in TURN_FUNCTIONS:
            functions.functions[name].grant_invoke(self.state_machine)
