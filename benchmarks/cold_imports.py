"""Cold-start import cost of each Lambda handler module, as a ratio of `import boto3` (measured in one run).

Usage: python benchmarks/cold_imports.py [--repeat 5]
Each import runs in a fresh interpreter; the figure is the median wall time of the import statement itself.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys

from concierge.topology import HANDLERS

PROBE = "import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"


def import_seconds(module: str, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        out = subprocess.run(
            [sys.executable, "-c", PROBE.format(module=module)], capture_output=True, text=True, check=True
        )
        samples.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    baseline = import_seconds("boto3", args.repeat)
    print(f"{'module':40} {'import ms':>10} {'x boto3':>8}")
    print(f"{'boto3':40} {baseline * 1000:10.0f} {1.0:8.2f}")
    for entry in HANDLERS.values():
        module = entry.rpartition(".")[0]
        seconds = import_seconds(module, args.repeat)
        print(f"{module:40} {seconds * 1000:10.0f} {seconds / baseline:8.2f}")


if __name__ == "__main__":
    main()
