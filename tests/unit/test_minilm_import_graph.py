"""With the MiniLM knowledge embedder configured, no handler loads the sentence model's code at import (the cold
start): the weights, `tokenizers` and `safetensors` load on the first text embedded, and the vector cache with the
first sync. Each handler is imported in a fresh interpreter with the environment of a deployed function."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from concierge.platform.topology import HANDLERS, FunctionName

ROOT = Path(__file__).parents[2]
LAZY = ("tokenizers", "safetensors", "concierge.reasoning.sentences", "concierge.knowledge.vectorcache")


@pytest.mark.parametrize("function", list(FunctionName), ids=str)
def test_no_handler_loads_the_sentence_model_at_import_with_minilm_configured(function):
    module = HANDLERS[function].rpartition(".")[0]
    code = f"import json, sys; import {module}; print(json.dumps(sorted(sys.modules)))"
    environment = {k: v for k, v in os.environ.items() if k != "POWERTOOLS_TRACE_DISABLED"} | {
        "CONCIERGE_EMBEDDER": "minilm",
        "LAMBDA_TASK_ROOT": tempfile.gettempdir(),
        "AWS_LAMBDA_FUNCTION_NAME": "concierge-test",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=environment, cwd=ROOT, check=True
    )
    modules = set(json.loads(result.stdout.strip().splitlines()[-1]))
    assert module in modules
    assert not {name for name in LAZY if name in modules or any(m.startswith(name + ".") for m in modules)}
