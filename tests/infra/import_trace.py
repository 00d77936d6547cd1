"""What each Lambda function imports and reads while it runs, recorded from the tests that run the real handlers.

A pytest plugin:

    CONCIERGE_IMPORT_TRACE=/tmp/trace.json .venv/bin/python -m pytest -p tests.infra.import_trace tests/integration

While the local stack imports or invokes a function's handler, every module an import statement asks for is recorded
(cached or not: the lazy imports of its calls), with the installed packages whose files it opens (the sentence
model's weights, tzdata's zones) or locates (importlib.util.find_spec). A module already loaded by another function
does not run its imports again; so at the end, in a fresh interpreter per function, the handler's module and every
project module its calls imported are imported again, and what that loads is added. The result, per function:
`distributions`, the installed distributions all of that comes from. infra/bundling.py's FUNCTION_LAYERS was
checked against it (tests/infra/test_packaging.py holds the result; `check(trace)` below compares).
"""

from __future__ import annotations

import builtins
import importlib
import importlib.util
import json
import os
import subprocess
import sys
import sysconfig
import threading
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
FIRST_PARTY = ("concierge", "functions")
SITE = str(Path(sysconfig.get_paths()["purelib"])) + os.sep

_current = threading.local()
asked: dict[str, set[str]] = defaultdict(set)  # function -> modules an import statement of the project asked for
opened: dict[str, set[str]] = defaultdict(set)  # function -> installed top-level entries whose files were opened
located: dict[str, set[str]] = defaultdict(set)  # function -> modules located without importing them

_original_import = builtins.__import__
_original_find_spec = importlib.util.find_spec


def _function() -> str | None:
    return getattr(_current, "function", None)


def _absolute(name: str, globals_: dict[str, Any] | None, level: int) -> str:
    if level == 0:
        return name
    package = (globals_ or {}).get("__package__") or ""
    base = package.rsplit(".", level - 1)[0] if level > 1 else package
    return f"{base}.{name}" if name else base


def _import(
    name: str,
    globals_: dict[str, Any] | None = None,
    locals_: Any = None,
    fromlist: Any = (),
    level: int = 0,
) -> Any:
    module = _original_import(name, globals_, locals_, fromlist, level)
    function = _function()
    if function is not None and str((globals_ or {}).get("__name__", "")).split(".")[0] in FIRST_PARTY:
        absolute = _absolute(name, globals_, level)
        asked[function].add(absolute)
        for item in fromlist or ():
            if f"{absolute}.{item}" in sys.modules:
                asked[function].add(f"{absolute}.{item}")
    return module


def _find_spec(name: str, package: str | None = None) -> Any:
    function = _function()
    if function is not None:
        located[function].add(name)
    return _original_find_spec(name, package)


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event == "open" and isinstance(args[0], str) and args[0].startswith(SITE):
        function = _function()
        if function is not None:
            opened[function].add(args[0][len(SITE) :].split(os.sep)[0])


def _cold() -> None:
    """Forget the adapters built so far (wiring's per-process factories): each is built again inside the call that
    needs it, so the imports inside the factory are seen there, not only in whichever caller built it first."""
    from concierge.platform import wiring

    for value in vars(wiring).values():
        if callable(getattr(value, "cache_clear", None)):
            value.cache_clear()


def _traced(function: str, handler: Callable[..., Any]) -> Callable[..., Any]:
    def run(*args: Any, **kwargs: Any) -> Any:
        outer = _function()
        if outer is None:
            _cold()
        _current.function = function
        try:
            return handler(*args, **kwargs)
        finally:
            _current.function = outer

    return run


def pytest_configure(config: Any) -> None:
    from concierge.local.stack import LocalStack

    builtins.__import__ = _import
    importlib.util.find_spec = _find_spec
    sys.addaudithook(_audit)
    original = LocalStack.handler

    def handler(self: LocalStack, function: str) -> Callable[..., Any]:
        return _traced(function, _traced(function, lambda: original(self, function))())

    LocalStack.handler = handler  # type: ignore[method-assign]  # the local stack invokes every handler through it


LOAD = """
import importlib, json, sys
for name in {modules!r}:
    try:
        importlib.import_module(name)
    except ImportError:
        pass  # a name asked for in a `from package import name` that is not a module
print(json.dumps(sorted(sys.modules)))
"""


def loaded(modules: list[str]) -> set[str]:
    """The modules importing these loads, in a fresh interpreter."""
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"POWERTOOLS_TRACE_DISABLED": "true"}
    completed = subprocess.run(
        [sys.executable, "-c", LOAD.format(modules=modules)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env=environment,
    )
    return set(json.loads(completed.stdout.strip().splitlines()[-1]))


def owners() -> dict[str, str]:
    """Top-level module (or data folder) of this environment -> the distribution that installed it."""
    from infra.bundling import installed

    found: dict[str, str] = {}
    for distribution in installed(Path(SITE)).values():
        for file in distribution.files:
            top = file.split("/")[0]
            if not top.endswith(".dist-info"):
                found.setdefault(top.removesuffix(".py").split(".cpython")[0], distribution.name)
    return found


def summary() -> dict[str, dict[str, list[str]]]:
    from concierge.platform.topology import HANDLERS, FunctionName

    by_top = owners()
    trace = {}
    for function in sorted(set(asked) | set(opened)):
        handler = HANDLERS[FunctionName(function)].rpartition(".")[0]
        project = sorted(m for m in asked[function] if m.split(".")[0] in FIRST_PARTY)
        modules = loaded([handler, *project]) | asked[function]
        tops = {m.split(".")[0] for m in modules} | opened[function] | {m.split(".")[0] for m in located[function]}
        tops -= set(sys.stdlib_module_names) | set(FIRST_PARTY)
        trace[function] = {
            "distributions": sorted({by_top.get(top, f"? {top}") for top in tops if top in by_top}),
            "unowned": sorted(top for top in tops if top not in by_top),
            "opened": sorted(opened[function]),
            "located": sorted(located[function]),
            "lazy": sorted(m for m in project if m.split(".")[0] == "concierge"),
        }
    return trace


def pytest_unconfigure(config: Any) -> None:
    builtins.__import__ = _original_import
    importlib.util.find_spec = _original_find_spec
    out = os.environ.get("CONCIERGE_IMPORT_TRACE")
    if out and (asked or opened):
        Path(out).write_text(json.dumps(summary(), indent=1) + "\n", encoding="utf-8")


def check(trace: dict[str, dict[str, list[str]]]) -> dict[str, list[str]]:
    """Per function, the traced distributions that some layer ships but that neither the function's layers (with a
    model and OpenSearch, the widest configuration) nor the Lambda runtime (boto3 and what it needs) provide: what
    the function would fail to import when deployed."""
    from concierge.platform.topology import FunctionName
    from infra.bundling import FUNCTION_LAYERS, RUNTIME_PROVIDED, closure, installed, partition

    distributions = installed(Path(SITE))
    layers = partition(distributions)
    shipped = set().union(*layers.values())
    # botocore also imports certifi where it is installed (botocore.httpsession): the runtime's botocore, its business
    runtime = closure(distributions, RUNTIME_PROVIDED, skip=()) | {"certifi"}
    missing = {}
    for function, found in trace.items():
        chosen = FUNCTION_LAYERS[FunctionName(function)].layers(model=True, opensearch=True)
        given = set().union(runtime, *(layers[layer.name] for layer in chosen))
        missing[function] = sorted(set(found["distributions"]) & shipped - given)
    return missing


if __name__ == "__main__":  # python -m tests.infra.import_trace TRACE.json: what each function lacks (nothing, we hope)
    print(json.dumps(check(json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))), indent=1))
