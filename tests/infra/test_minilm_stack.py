"""`-c embedder=minilm`: retrieval and ingest, which embed questions and passages, get the sentence model's layer;
nothing else changes (no function gains a permission, the agent keeps its own copy of the layer)."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from concierge.platform.topology import FunctionName
from infra.app import build
from infra.bundling import FUNCTION_LAYERS, SENTENCE_MODEL
from tests.infra.test_packaging import function_layers

pytestmark = pytest.mark.infra


def resources(**context: str) -> dict:
    app = cdk.App(context={"aws:cdk:bundling-stacks": [], **context})
    return Template.from_stack(build(app)).to_json()["Resources"]


def test_with_minilm_retrieval_and_ingest_get_the_sentence_model_layer():
    assert function_layers((("embedder", "minilm"),)) == {
        FunctionName.INGEST: ["core", "numpy", "sentence-model"],
        FunctionName.RETRIEVAL: ["core", "numpy", "sentence-model"],
        FunctionName.AGENT: ["core", "numpy", "sentence-model"],
        FunctionName.ACTIONS: ["core", "numpy"],
        FunctionName.SURVEYS: ["core"],
    }
    widest = function_layers((("embedder", "minilm"), ("modelProvider", "anthropic"), ("knowledgeIndex", "managed")))
    assert widest[FunctionName.INGEST] == ["core", "numpy", "sentence-model", "opensearch"]
    assert all(len(names) <= 5 for names in widest.values())  # Lambda's limit of layers per function


def test_the_layer_is_asked_for_only_with_minilm():
    for function in (FunctionName.INGEST, FunctionName.RETRIEVAL):
        assert SENTENCE_MODEL not in FUNCTION_LAYERS[function].layers(model=True, opensearch=True)
        assert SENTENCE_MODEL in FUNCTION_LAYERS[function].layers(model=False, opensearch=False, sentence_embedder=True)


def _policies(template: dict) -> list:
    return sorted(
        (str(value["Properties"]["Roles"]), str(value["Properties"]["PolicyDocument"]))
        for value in template.values()
        if value["Type"] == "AWS::IAM::Policy"
    )


def test_minilm_changes_no_permission_and_the_functions_are_told_which_embedder():
    hashing, minilm = resources(), resources(embedder="minilm")
    assert _policies(minilm) == _policies(hashing)
    assert "bedrock:InvokeModel" not in str(_policies(minilm))
    environments = [
        value["Properties"]["Environment"]["Variables"]
        for value in minilm.values()
        if value["Type"] == "AWS::Lambda::Function" and "CONCIERGE_EMBEDDER" in str(value["Properties"])
    ]
    assert environments and all(env["CONCIERGE_EMBEDDER"] == "minilm" for env in environments)


def test_an_unknown_embedder_is_refused_at_synth():
    with pytest.raises(ValueError, match="embedder must be one of hashing, minilm, titan, not 'bert'"):
        resources(embedder="bert")
