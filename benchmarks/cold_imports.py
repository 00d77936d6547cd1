"""Cold-start import cost of each Lambda handler module, as a ratio of `import boto3` (measured in one run).

Usage: python benchmarks/cold_imports.py [--repeat 5] [--env lambda|bare] [--bytecode cached|none] [--first-call]
                                         [--baseline CHECKOUT] [--json FILE]
Each import runs in a fresh interpreter; the figure is the median of the import statement itself, as wall time and
as the process's CPU time (user + system: steadier than wall time on a busy machine). The modules are measured in
rounds (boto3, then every handler, `--repeat` times), so that a burst of load on the machine touches them all alike.
A second reference row, `floor`, loads what any handler that validates its input with pydantic and calls AWS needs
at the least (`FLOOR`: boto3, powertools' logger and metrics, one pydantic model built and used).

`--env lambda` (the default) imports with the variables the Lambda runtime sets in a deployed function with active
tracing (infra/constructs/compute.py): `LAMBDA_TASK_ROOT` among them, which turns powertools' tracer on and makes the
X-Ray SDK pick its Lambda context. `--env bare` imports with the caller's environment as it is (outside Lambda:
tracing off, and the X-Ray SDK, when imported, builds its centralized sampler and its two botocore clients — a cost
Lambda never pays).

`--bytecode cached` (the default) first compiles every module once into a private bytecode cache
(`PYTHONPYCACHEPREFIX`), so that each figure is the import itself, whatever the checkout's own `__pycache__` holds;
`--bytecode none` imports with an empty cache that nothing is written to: every module is compiled from source on
every import, as in a Lambda layer shipped without `.pyc` files (its directory is read-only).

`--first-call` also times, in the same interpreter right after the import, the part of the handler's first call that
needs no AWS (`FIRST_CALLS`): what an import deferred to the first call costs there shows up in it. The agent's is
its whole call (the deterministic engine); the others parse their task or event samples (events/), dump the turn,
build the events they publish and read the settings; all of them build the tracer where it is deferred. The actions
function's also builds its services (`wiring.action_services`: its AWS clients made, nothing sent).

`--baseline CHECKOUT` also measures the handlers of another checkout of the repository (e.g. one made with
`git worktree add ../before <commit>`) in the same rounds: a before/after comparison that the machine's load drifting
between two runs cannot skew.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from concierge.platform.topology import HANDLERS, FunctionName

ROOT = Path(__file__).resolve().parents[1]
PROBE = """\
import json, time
w, c = time.perf_counter(), time.process_time()
{load}
w1, c1 = time.perf_counter(), time.process_time()
{first_call}
print("@@", w1 - w, c1 - c, time.process_time() - c1)
"""
# What no handler that validates its input with pydantic and calls AWS can load less than: boto3, powertools' logger
# and metrics, pydantic with one model built and used. The handlers are compared with it as well as with boto3.
FLOOR = """\
import boto3
from aws_lambda_powertools import Logger, Metrics
from pydantic import BaseModel
class Task(BaseModel):
    kind: str
Task(kind="floor").model_dump()"""
_SAMPLE = 'json.load(open("events/{}.json"))'
# The tracer a first call builds where the handlers defer it (concierge.platform.tracing); a tree from before that built
# it at import has nothing to do here.
_TRACER = """\
try:
    from concierge.platform.tracing import traced
except ImportError:
    pass
else:
    traced(lambda event, context: None)({}, None)"""
# Where the handler finds its task model: the turn's tasks have a module of their own since the agent and retrieval
# stopped importing the others; a tree from before has them all in concierge.conversation.tasks.
_TASKS = """\
try:
    from concierge.conversation.turn_tasks import {0}
except ImportError:
    from concierge.conversation.tasks import {0}"""
# The function's settings, validated as at its first call; a tree from before settings per function has one Settings.
_SETTINGS = 'settings.current_settings(*[getattr(settings, name) for name in ["{}"] if hasattr(settings, name)])'
_EVENT = 'EVENT_TYPES["{0}"].model_validate(json.load(open("events/bus/{0}.json"))["detail"]).model_dump_json()'
FIRST_CALLS = {
    FunctionName.INGEST: "\n".join(
        [
            _TRACER,
            "from concierge.platform.events import EVENT_TYPES",
            "from concierge.platform import settings",
            "from concierge.conversation.tasks import IngestTask",
            _SETTINGS.format("IngestSettings"),
            f"IngestTask.model_validate({{'task': {_SAMPLE.format('tasks/turn.receive')}}})",
            f"IngestTask.model_validate({{'task': {_SAMPLE.format('tasks/turn.reply')}}}).task.turn.model_dump()",
            _EVENT.format("turn.completed"),
        ]
    ),
    FunctionName.RETRIEVAL: "\n".join(
        [
            _TRACER,
            "from concierge.platform import settings",
            _TASKS.format("RetrieveTask"),
            _SETTINGS.format("RetrievalSettings"),
            f"RetrieveTask.model_validate({_SAMPLE.format('tasks/turn.retrieve')}).turn.model_dump(mode='json')",
        ]
    ),
    FunctionName.AGENT: "\n".join(
        [
            f"from {HANDLERS[FunctionName.AGENT].rpartition('.')[0]} import handler",
            "class Context:",
            "    function_name, memory_limit_in_mb, aws_request_id = 'agent', 1024, 'bench'",
            "    invoked_function_arn = 'arn:aws:lambda:us-east-1:123456789012:function:agent'",
            f"handler({_SAMPLE.format('tasks/turn.decide')}, Context())",
        ]
    ),
    FunctionName.ACTIONS: "\n".join(
        [
            _TRACER,
            "from concierge.actions.tools import TOOLS",
            "from concierge.platform.events import EVENT_TYPES",
            "from concierge.platform import settings",
            "from concierge.conversation.tasks import ActionsTask",
            _SETTINGS.format("ActionsSettings"),
            "from concierge.platform import wiring",
            "wiring.action_services(settings.current_settings(settings.ActionsSettings))",
            f"task = ActionsTask.model_validate({{'task': {_SAMPLE.format('tasks/turn.act')}}}).task",
            "[TOOLS[call.tool].model_validate(call.arguments) for call in task.turn.decision.tool_calls]",
            "task.turn.model_dump(mode='json')",
            _EVENT.format("action.executed"),
        ]
    ),
    FunctionName.SURVEYS: "\n".join(
        [
            _TRACER,
            "from concierge.platform.events import EVENT_TYPES, ConversationClosed",
            "from concierge.platform import settings",
            "from concierge.surveys.scoring import on_conversation_closed",
            _SETTINGS.format("SurveysSettings"),
            f"for record in {_SAMPLE.format('sqs/conversation-closed-batch')}['Records']:",
            "    ConversationClosed.model_validate(json.loads(record['body'])['detail'])",
            _EVENT.format("autocsat.scored"),
        ]
    ),
}

# What the Lambda runtime sets in a function with `tracing=ACTIVE`, and what the stack adds for powertools. The
# X-Ray daemon's address is the local one (a first call sends its segment there; nothing listens).
LAMBDA_ENV = {
    "AWS_LAMBDA_FUNCTION_NAME": "concierge-bench",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
    "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
    "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
    "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
    "POWERTOOLS_SERVICE_NAME": "concierge",
    "POWERTOOLS_METRICS_NAMESPACE": "Concierge",
    "POWERTOOLS_LOG_LEVEL": "INFO",
}
# The settings the functions are deployed with (names only matter: nothing is called); each reads its own.
SETTINGS_ENV = {
    "CONCIERGE_MEMORY_TABLE": "concierge-memory",
    "CONCIERGE_STORE_TABLE": "concierge-store",
    "CONCIERGE_EVENT_BUS": "concierge",
    "CONCIERGE_KNOWLEDGE_BUCKET": "concierge-knowledge",
}


def environment(kind: str, pycache: str) -> dict[str, str]:
    env = dict(os.environ, PYTHONPYCACHEPREFIX=pycache, **SETTINGS_ENV)
    if kind == "lambda":
        env.update(LAMBDA_ENV)
        env["LAMBDA_TASK_ROOT"] = tempfile.gettempdir()  # any directory: the SDKs only test that it is set
        for name in ("POWERTOOLS_TRACE_DISABLED", "AWS_SAM_LOCAL", "AWS_CHALICE_CLI_MODE"):
            env.pop(name, None)
    return env


def run_once(load: str, first_call: str, env: dict[str, str], tree: Path) -> tuple[float, float, float]:
    """(import wall, import CPU, first call CPU) in seconds, in a fresh interpreter, from the checkout `tree`; `load`
    is a module to import or, for the floor, code."""
    code = PROBE.format(load=load if "\n" in load else f"import {load}", first_call=first_call)
    if tree != ROOT:  # its own concierge and functions, ahead of the installed (editable) package
        env = env | {"PYTHONPATH": os.pathsep.join([str(tree / "shared"), str(tree)])}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tree)
    if out.returncode != 0:
        raise SystemExit(f"{load.splitlines()[0]}: the probe failed in {tree}:\n{out.stderr[-3000:]}")
    wall, cpu, first = next(line for line in out.stdout.splitlines() if line.startswith("@@ ")).split()[1:]
    return float(wall), float(cpu), float(first)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--env", choices=("lambda", "bare"), default="lambda", help="see the module's docstring")
    parser.add_argument("--bytecode", choices=("cached", "none"), default="cached", help="see the module's docstring")
    parser.add_argument("--first-call", action="store_true", help="also time the first call's offline part")
    parser.add_argument("--baseline", type=Path, help="another checkout whose handlers are measured in the same rounds")
    parser.add_argument("--json", help="also write the figures to this file (with a `summary` for make bench)")
    args = parser.parse_args()
    trees = {"": ROOT} | ({"baseline ": args.baseline.resolve()} if args.baseline else {})
    # label: what is loaded, the first call, the checkout
    probes: dict[str, tuple[str, str, Path]] = {"boto3": ("boto3", "pass", ROOT), "floor": (FLOOR, "pass", ROOT)}
    for label, tree in trees.items():
        for name, entry in HANDLERS.items():
            module = entry.rpartition(".")[0]
            probes[label + module] = (module, FIRST_CALLS[name] if args.first_call else "pass", tree)
    pycache = tempfile.mkdtemp(prefix="cold-imports-pycache-")
    env = environment(args.env, pycache)
    if args.bytecode == "cached":
        for module, first_call, tree in probes.values():  # compiles into the private cache: not measured
            run_once(module, first_call, env | {"PYTHONDONTWRITEBYTECODE": ""}, tree)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    samples: dict[str, list[tuple[float, float, float]]] = {label: [] for label in probes}
    for _ in range(args.repeat):
        for label, (module, first_call, tree) in probes.items():
            samples[label].append(run_once(module, first_call, env, tree))
    shutil.rmtree(pycache, ignore_errors=True)

    def median(label: str, figure: Callable[[tuple[float, float, float]], float]) -> float:
        return statistics.median(figure(sample) for sample in samples[label])

    wall = {label: median(label, lambda s: s[0]) for label in probes}
    cpu = {label: median(label, lambda s: s[1]) for label in probes}
    total = {label: median(label, lambda s: s[1] + s[2]) for label in probes}
    options = f"--env {args.env} --bytecode {args.bytecode}{' --first-call' if args.first_call else ''}"
    print(f"{options}, median of {args.repeat}" + (f"; baseline: {args.baseline}" if args.baseline else ""))
    width = max(map(len, probes))
    header = f"{'module':{width}} {'wall ms':>8} {'x boto3':>8} {'cpu ms':>8} {'x boto3':>8}"
    print(header + (f" {'+1st call':>10} {'x boto3':>8}" if args.first_call else ""))
    for label in probes:
        line = f"{label:{width}} {wall[label] * 1000:8.0f} {wall[label] / wall['boto3']:8.2f}"
        line += f" {cpu[label] * 1000:8.0f} {cpu[label] / cpu['boto3']:8.2f}"
        if args.first_call:
            line += f" {total[label] * 1000:10.0f} {total[label] / cpu['boto3']:8.2f}"
        print(line)
    if args.json:
        summary = []
        for label in probes:
            figure = f"{cpu[label] * 1000:.0f} ms CPU ({cpu[label] / cpu['boto3']:.2f}x boto3)"
            if args.first_call:
                figure += f"; with the first call {total[label] * 1000:.0f} ms ({total[label] / cpu['boto3']:.2f}x)"
            summary.append([f"{label} import", figure])
        figures = {
            "env": args.env,
            "bytecode": args.bytecode,
            "first_call": args.first_call,
            "baseline": str(args.baseline) if args.baseline else None,
            "repeat": args.repeat,
            "summary": summary,
            "modules": {
                label: {
                    "import_wall_ms": [round(s[0] * 1000, 1) for s in samples[label]],
                    "import_cpu_ms": [round(s[1] * 1000, 1) for s in samples[label]],
                    "first_call_cpu_ms": [round(s[2] * 1000, 1) for s in samples[label]],
                }
                for label in probes
            },
        }
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
