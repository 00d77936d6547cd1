"""State-machine definitions shared by CDK (deployed) and the local runtime (executed in-process)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

from concierge.platform.names import FunctionName

TURN_DEFINITION_PATH = Path(__file__).with_name("turn.asl.json")
APPROVAL_DEFINITION_PATH = Path(__file__).with_name("approval.asl.json")
JOURNEY_DEFINITION_PATH = Path(__file__).with_name("journey.asl.json")
MAX_ACTION_ROUNDS = 3  # the action rounds an engine may ask for in one turn
# One round more is kept for the offering wrapper (engine/offering.py): the next best action at a reply an engine
# drafted after its own rounds (a refund proposed after looking the order and the product up takes all three).
WORKFLOW_ROUNDS = MAX_ACTION_ROUNDS + 1  # the turn workflow's bound: turn.asl.json's "Next step?" choice


def function_arn_placeholder(name: FunctionName) -> str:
    """The `${...}` substitution variable a definition uses for a function's ARN."""
    return f"{name.value.capitalize()}FunctionArn"


def turn_definition_text() -> str:
    return TURN_DEFINITION_PATH.read_text()


def turn_definition() -> dict[str, Any]:
    return cast(dict[str, Any], json.loads(turn_definition_text()))


def approval_definition_text() -> str:
    return APPROVAL_DEFINITION_PATH.read_text()


def approval_definition() -> dict[str, Any]:
    return cast(dict[str, Any], json.loads(approval_definition_text()))


def journey_definition_text() -> str:
    return JOURNEY_DEFINITION_PATH.read_text()


def journey_definition() -> dict[str, Any]:
    return cast(dict[str, Any], json.loads(journey_definition_text()))
