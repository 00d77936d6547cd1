"""What each Lambda handler loads when its module is imported (the cold start), checked in a fresh interpreter with
the environment of a deployed function with active tracing. A test of structure, not of timing: the figures come
from benchmarks/cold_imports.py (docs/performance.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from functools import cache
from pathlib import Path

import pytest

from concierge.platform.topology import HANDLERS, FunctionName

ROOT = Path(__file__).parents[2]
# What Lambda sets in a function with tracing=ACTIVE: powertools' tracer is on.
TRACED = {
    "LAMBDA_TASK_ROOT": tempfile.gettempdir(),
    "AWS_LAMBDA_FUNCTION_NAME": "concierge-test",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
    "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
    "POWERTOOLS_SERVICE_NAME": "concierge",
}
# Never at import, in any function: the tracer's SDK (built at the first call), the model SDK (only with a model
# configured), the OpenSearch client (only when configured), what X-Ray's patch_all() used to import whether used
# or not (requests, sqlite3), and powertools' parser (the tasks are validated by their own models).
NEVER = {
    "aws_xray_sdk",
    "anthropic",
    "opensearchpy",
    "requests",
    "sqlite3",
    "aws_lambda_powertools.utilities.parser",
    "concierge.reasoning.claude",
    "sklearn",  # a development dependency: training runs on a developer's machine (churn/train.py)
    # the deployed topology's declarations (rules, queues, routes, access): CDK, the local runtime and the HTTP API's
    # routing read them; the settings and the events need only concierge.platform.names
    "concierge.platform.topology",
}
# Per function, what only some of its calls need, or none.
NOT_AT_IMPORT = {
    FunctionName.INGEST: {
        "numpy",  # the knowledge index: only the S3 notifications of uploaded help files
        "concierge.knowledge.service",
        "concierge.web.http_api",  # API Gateway requests only
        "concierge.conversation.notices",  # the approval workflow's last step only
        "aws_lambda_powertools.utilities.batch",  # channel messages from SQS only
    },
    FunctionName.RETRIEVAL: {
        "concierge.actions.executor",
        "concierge.conversation.tasks",  # the other functions' tasks (it validates a turn_tasks one)
        "concierge.actions.approval_models",
    },
    FunctionName.AGENT: {
        "boto3",
        "numpy",
        "concierge.actions.executor",
        "concierge.memory.store",
        "concierge.knowledge.injection",  # splitting documents only (a sync, an import)
        "concierge.knowledge.documents",  # the engine cites the policy digest by its URL only (knowledge.port)
        # the engine words the cart retrieval built and keeps its request under cart.FLOW_KEY: it never reads a request
        "concierge.catalogue.prefetch",
        "concierge.catalogue.requests",
        "concierge.catalogue.search",
        "concierge.store.models",
        "concierge.conversation.tasks",  # the other functions' tasks (it validates a turn_tasks one)
        "concierge.actions.approval_models",
    },
    FunctionName.ACTIONS: {
        "numpy",
        "concierge.knowledge.embeddings",
        "concierge.engine.deterministic",
        "email.mime",  # the MIME classes: only the calls that send an email (channels/email.py)
    },
    FunctionName.SURVEYS: {
        "numpy",
        "concierge.surveys.scoring",  # closed conversations only: most records are KPI events (the roll-up)
        "concierge.surveys.judge",
        "concierge.actions.executor",
    },
}


def _environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("POWERTOOLS_TRACE_DISABLED", "PYTHONPATH")}
    return env | TRACED | extra


@cache
def loaded_at_import() -> dict[FunctionName, set[str]]:
    """The modules each handler's import loads, all five imported at once (each in its own interpreter)."""
    code = "import json, sys; import {module}; print(json.dumps(sorted(sys.modules)))"
    running = {
        name: subprocess.Popen(
            [sys.executable, "-c", code.format(module=entry.rpartition(".")[0])],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_environment(),
            cwd=ROOT,
        )
        for name, entry in HANDLERS.items()
    }
    loaded = {}
    for name, process in running.items():
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        loaded[name] = set(json.loads(out.strip().splitlines()[-1]))
    return loaded


def _loaded(modules: set[str], wanted: set[str]) -> set[str]:
    return {name for name in wanted if name in modules or any(m.startswith(name + ".") for m in modules)}


@pytest.mark.parametrize("function", list(FunctionName), ids=str)
def test_a_handler_loads_only_what_its_calls_need(function):
    modules = loaded_at_import()[function]
    assert HANDLERS[function].rpartition(".")[0] in modules
    assert not _loaded(modules, NEVER | NOT_AT_IMPORT[function])


def test_every_function_is_checked():
    assert set(NOT_AT_IMPORT) == set(FunctionName)


def _run(code: str, **env: str) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=_environment(**env), cwd=ROOT, check=True
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


TRACED_CALL = """
import json, sys
import boto3
from concierge.platform import tracing

@tracing.traced
def handler(event, context):
    return {"answer": event["question"] * 2}

loaded_before = "aws_xray_sdk" in sys.modules
answer = handler({"question": 21}, None)
requests_loaded = "requests" in sys.modules
import botocore.client, requests
print(json.dumps({
    "answer": answer,
    "name": handler.__name__,
    "loaded_before": loaded_before,
    "loaded_after": "aws_xray_sdk" in sys.modules,
    "botocore_patched": bool(getattr(botocore.client, "_xray_enabled", False)),
    "requests_loaded": requests_loaded,
    "requests_patched": type(requests.Session.__dict__["request"]).__name__ == "FunctionWrapper",
}))
"""


def test_with_tracing_on_the_first_call_builds_the_tracer_and_instruments_the_libraries_in_use():
    result = _run(TRACED_CALL)
    assert result["answer"] == {"answer": 42}
    assert result["name"] == "handler"
    assert result["loaded_before"] is False
    assert result["loaded_after"] is True
    assert result["botocore_patched"] is True  # loaded before the first call: instrumented then
    assert result["requests_loaded"] is False  # not imported to be patched, as patch_all() did
    assert result["requests_patched"] is True  # imported after the first call: instrumented on import


def test_with_tracing_off_the_x_ray_sdk_is_never_imported():
    result = _run(TRACED_CALL, POWERTOOLS_TRACE_DISABLED="true")
    assert result["answer"] == {"answer": 42}
    assert result["loaded_after"] is False
    assert result["botocore_patched"] is False
    assert result["requests_patched"] is False


COLLECTOR = """
import gc, json
import functions.{name}.handler
print(json.dumps({{"enabled": gc.isenabled(), "frozen": gc.get_freeze_count()}}))
"""


@pytest.mark.parametrize("function", list(FunctionName), ids=str)
def test_in_lambda_a_handler_resumes_the_collector_once_loaded_with_what_it_loaded_frozen(function):
    module = HANDLERS[function].rpartition(".")[0]
    result = _run(COLLECTOR.format(name=module.split(".")[1]))
    assert result == {"enabled": True, "frozen": result["frozen"]}
    assert result["frozen"] > 10_000  # in the permanent generation (startup.loaded): the handler's last statement ran


def test_outside_lambda_the_collector_is_left_as_it_is():
    code = "import gc, json; import functions.agent.handler; print(json.dumps([gc.isenabled(), gc.get_freeze_count()]))"
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={k: v for k, v in _environment().items() if k != "AWS_LAMBDA_FUNCTION_NAME"},
        cwd=ROOT,
        check=True,
    )
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [True, 0]


ACTION_SERVICES = """
import json, sys
from concierge.platform import wiring
from concierge.platform.settings import ActionsSettings, current_settings
services = wiring.action_services(current_settings(ActionsSettings))
built_with_the_services = "aws_lambda_powertools.utilities.idempotency" in sys.modules
table = services.idempotency.table_name
print(json.dumps({
    "built_with_the_services": built_with_the_services,
    "built_when_used": "aws_lambda_powertools.utilities.idempotency" in sys.modules,
    "table": table,
    "one_per_table": services.idempotency.client is wiring.action_services(current_settings(ActionsSettings)).idempotency.client,
}))
"""


def test_the_actions_function_builds_the_idempotency_layer_when_a_confirmation_first_uses_it():
    """Powertools' idempotency layer makes a boto3 session and client of its own: only confirmations and approvals
    use it, so a lookup's or a proposal's first call does not build it (docs/performance.md)."""
    from concierge.platform.settings import required_env

    result = _run(ACTION_SERVICES, **dict.fromkeys(required_env(FunctionName.ACTIONS), "concierge-test"))
    assert result == {
        "built_with_the_services": False,
        "built_when_used": True,
        "table": "concierge-test",
        "one_per_table": True,
    }
