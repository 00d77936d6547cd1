"""The offers' holdout key reaches exactly the functions that decide offers and issue their codes."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from concierge.platform import topology
from infra.app import build
from infra.constructs.compute import OFFER_FUNCTIONS
from tests.infra.test_stack import function_ids

pytestmark = pytest.mark.infra


@pytest.fixture(scope="module")
def resources() -> dict:
    app = cdk.App(context={"aws:cdk:bundling-stacks": []})
    return Template.from_stack(build(app)).to_json()["Resources"]


def test_the_agent_and_actions_functions_get_the_stack_id_as_the_holdout_salt(resources):
    assert {topology.FunctionName.AGENT, topology.FunctionName.ACTIONS} == OFFER_FUNCTIONS
    for function in topology.FunctionName:
        variables = resources[function_ids(resources)[function]]["Properties"]["Environment"]["Variables"]
        if function in OFFER_FUNCTIONS:
            # the stack's unique id (an ARN ending in a UUID): stable per deployment, not derivable from a customer
            assert variables["CONCIERGE_OFFER_SALT"] == {"Ref": "AWS::StackId"}, function
        else:
            assert "CONCIERGE_OFFER_SALT" not in variables, function
