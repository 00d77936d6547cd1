"""Every benchmark in one run (`make bench`): one Markdown table and one JSON file, outside the tracked tree.

Usage: python benchmarks/run_all.py [--out DIR] [--only NAME ...] [--quick]
Runs each benchmark below in its own interpreter with `--json`, one after the other (they would disturb each other's
timings), and collects the `summary` rows each writes: `DIR/bench.md` (a table per benchmark, with the command that
produced it) and `DIR/bench.json` (every benchmark's full figures). DIR defaults to `concierge-bench` in the system's
temporary directory. A benchmark that fails is reported as failed, with its last output lines, and the others still
run. `--quick` runs the smaller sizes only (a few minutes instead of most of an hour). Figures are one run on this
machine: compare ratios within a run, never absolute numbers across machines.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Benchmark:
    name: str
    script: str
    arguments: tuple[str, ...] = ()
    quick: tuple[str, ...] | None = None  # the arguments of a --quick run (None: the same)
    needs_network: bool = False  # downloads from the package index


BENCHMARKS = (
    Benchmark("cold imports", "cold_imports.py", ("--repeat", "5"), ("--repeat", "3")),
    Benchmark("turn", "turn.py", ("--turns", "22"), ("--turns", "11")),  # the script once (quick) or twice
    Benchmark("dashboard", "dashboard.py", ("--repeat", "7"), ("--repeat", "3")),
    Benchmark("knowledge index", "knowledge_index.py", ("--passages", "10000", "100000"), ("--passages", "10000")),
    Benchmark("KPI roll-up", "metrics_rollup.py", ("--events", "1000", "10000"), ("--events", "1000")),
    Benchmark("cost per conversation", "costs.py", ("--check", "8"), ("--check", "0")),
    Benchmark("package size", "layer_size.py", needs_network=True),
)


def run(benchmark: Benchmark, out: Path, quick: bool) -> dict:
    arguments = benchmark.quick if quick and benchmark.quick is not None else benchmark.arguments
    target = out / f"{Path(benchmark.script).stem}.json"
    target.unlink(missing_ok=True)
    command = [sys.executable, str(HERE / benchmark.script), *arguments, "--json", str(target)]
    started = time.perf_counter()
    finished = subprocess.run(command, capture_output=True, text=True, cwd=HERE.parent)
    seconds = round(time.perf_counter() - started, 1)
    shown = f"python benchmarks/{benchmark.script} {' '.join(arguments)}".strip()
    if finished.returncode != 0 or not target.exists():
        tail = (finished.stdout + finished.stderr).strip().splitlines()[-15:]
        return {"command": shown, "seconds": seconds, "failed": True, "output": tail}
    figures = json.loads(target.read_text(encoding="utf-8"))
    return {"command": shown, "seconds": seconds, "failed": False, **figures}


def markdown(results: dict[str, dict], started: datetime) -> str:
    lines = [
        f"# Concierge benchmarks, {started:%Y-%m-%d %H:%M} UTC",
        "",
        f"Python {platform.python_version()} on {platform.machine()}; one run on this machine: compare ratios within "
        "it, not absolute figures across machines.",
        "",
    ]
    for name, result in results.items():
        lines += [f"## {name}", "", f"`{result['command']}` ({result['seconds']} s)", ""]
        if result["failed"]:
            lines += ["**failed**:", "", "```", *result["output"], "```", ""]
            continue
        lines += ["| figure | value |", "| --- | --- |"]
        lines += [f"| {label} | {value} |" for label, value in result.get("summary", [])]
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "concierge-bench")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these (script names without .py)")
    parser.add_argument("--quick", action="store_true", help="the smaller sizes only")
    parser.add_argument("--offline", action="store_true", help="skip the benchmarks that download packages")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    chosen = [
        b
        for b in BENCHMARKS
        if (not args.only or Path(b.script).stem in args.only) and not (args.offline and b.needs_network)
    ]
    started = datetime.now(UTC)
    results: dict[str, dict] = {}
    for benchmark in chosen:
        print(f"{benchmark.name} …", flush=True)
        results[benchmark.name] = run(benchmark, args.out, args.quick)
        status = "failed" if results[benchmark.name]["failed"] else "done"
        print(f"  {status} in {results[benchmark.name]['seconds']} s", flush=True)
    (args.out / "bench.json").write_text(
        json.dumps({"started": started.isoformat(), "results": results}, indent=2, default=str) + "\n",
        encoding="utf-8",
    )
    table = markdown(results, started)
    (args.out / "bench.md").write_text(table + "\n", encoding="utf-8")
    print(table)
    print(f"\nwrote {args.out / 'bench.md'} and {args.out / 'bench.json'}")
    if any(r["failed"] for r in results.values()):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
