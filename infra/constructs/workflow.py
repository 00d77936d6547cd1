"""The three workflows, each deployed from the same ASL file the local runtime executes:

- the turn (Express, synchronous, at most 29 s: API Gateway's integration limit);
- the approval of a risky action (Standard: it waits for a person for hours or days, with a task token);
- a journey (Standard: its Wait state keeps the time until the message may go, for minutes or days; no polling).
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from concierge.platform import topology
from concierge.workflows import (
    approval_definition_text,
    function_arn_placeholder,
    journey_definition_text,
    turn_definition_text,
)
from infra.constructs.compute import (
    Functions,
    approval_state_machine_name,
    journey_state_machine_name,
    turn_state_machine_name,
)

# The functions a turn invokes; survey scoring runs on the event path, never inside a turn.
TURN_FUNCTIONS = (
    topology.FunctionName.INGEST,
    topology.FunctionName.RETRIEVAL,
    topology.FunctionName.AGENT,
    topology.FunctionName.ACTIONS,
)
# The functions the approval workflow invokes: actions (wait, execute, decline, expire) and ingest (tell the customer).
APPROVAL_FUNCTIONS = (topology.FunctionName.ACTIONS, topology.FunctionName.INGEST)
# The functions a journey invokes: actions (enter, check) and ingest (open the conversation, send the message).
JOURNEY_FUNCTIONS = (topology.FunctionName.ACTIONS, topology.FunctionName.INGEST)


class Workflow(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        functions: Functions,
        *,
        machine_id: str,
        kind: sfn.StateMachineType,
        name: str,
        definition: str,
        invokes: tuple[topology.FunctionName, ...],
    ) -> None:
        super().__init__(scope, construct_id)
        log_group = logs.LogGroup(
            self, "Logs", retention=logs.RetentionDays.ONE_MONTH, removal_policy=cdk.RemovalPolicy.DESTROY
        )
        self.state_machine = sfn.StateMachine(
            self,
            machine_id,
            state_machine_type=kind,
            # A fixed name, so the functions that start or decide it know its ARN without a reference cycle.
            state_machine_name=name,
            definition_body=sfn.DefinitionBody.from_string(definition),
            definition_substitutions={
                function_arn_placeholder(n): functions.functions[n].function_arn for n in invokes
            },
            # No `timeout=` here: CDK drops it for a definition given as text. Each definition carries its own
            # TimeoutSeconds, which the local interpreter enforces too.
            tracing_enabled=True,
            # Every transition, without execution data: turns carry customer messages, approvals a task token.
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=False),
        )
        for n in invokes:
            functions.functions[n].grant_invoke(self.state_machine)


def turn_workflow(scope: Construct, functions: Functions) -> Workflow:
    return Workflow(
        scope,
        "TurnWorkflow",
        functions,
        machine_id="TurnStateMachine",
        kind=sfn.StateMachineType.EXPRESS,
        name=turn_state_machine_name(cdk.Stack.of(scope)),
        definition=turn_definition_text(),
        invokes=TURN_FUNCTIONS,
    )


def approval_workflow(scope: Construct, functions: Functions) -> Workflow:
    # The definition's TimeoutSeconds is a backstop a day after the longest approval timeout allowed: the wait itself
    # ends at the merchant's approval timeout (TimeoutSecondsPath), and then the customer is told.
    return Workflow(
        scope,
        "ApprovalWorkflow",
        functions,
        machine_id="ApprovalStateMachine",
        kind=sfn.StateMachineType.STANDARD,
        name=approval_state_machine_name(cdk.Stack.of(scope)),
        definition=approval_definition_text(),
        invokes=APPROVAL_FUNCTIONS,
    )


def journey_workflow(scope: Construct, functions: Functions) -> Workflow:
    # Started by the actions function from the signals-to-journeys queue (StartExecution with a name made of the
    # journey and the signal, so a signal delivered twice starts one run), not by an EventBridge rule targeting the
    # state machine: a rule cannot name the execution.
    return Workflow(
        scope,
        "JourneyWorkflow",
        functions,
        machine_id="JourneyStateMachine",
        kind=sfn.StateMachineType.STANDARD,
        name=journey_state_machine_name(cdk.Stack.of(scope)),
        definition=journey_definition_text(),
        invokes=JOURNEY_FUNCTIONS,
    )
