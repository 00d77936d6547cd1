"""cdk-nag's AwsSolutions rules on the whole stack: no finding is left unexplained.

Every suppression lives in infra/nag.py with its reason, so a new finding fails here until it is fixed or justified."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Annotations, Match
from cdk_nag import AwsSolutionsChecks

from infra.app import build

CONTEXTS = {
    "default": {},
    # the widest deployment: a model, OpenSearch Serverless, inbound email, a team address
    "everything on": {
        "modelProvider": "bedrock",
        "knowledgeIndex": "serverless",
        "embedder": "titan",
        "inboundEmailRecipient": "support@shop.example",
        "senderEmail": "support@shop.example",
        "notifyEmail": "team@shop.example",
    },
    "managed OpenSearch": {"knowledgeIndex": "managed", "modelProvider": "anthropic"},
}


@pytest.fixture(scope="module", params=list(CONTEXTS))
def annotations(request) -> Annotations:
    app = cdk.App(context={"aws:cdk:bundling-stacks": [], **CONTEXTS[request.param]})
    stack = build(app)
    cdk.Aspects.of(app).add(AwsSolutionsChecks(verbose=True))
    app.synth()
    return Annotations.from_stack(stack)


def _findings(found) -> list[str]:
    return sorted({f"{a.id}: {a.entry.data}"[:300] for a in found})


def test_no_aws_solutions_error(annotations):
    assert _findings(annotations.find_error("*", Match.string_like_regexp("AwsSolutions-.*"))) == []


def test_no_aws_solutions_warning(annotations):
    assert _findings(annotations.find_warning("*", Match.string_like_regexp("AwsSolutions-.*"))) == []
