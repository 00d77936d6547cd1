"""The KPI dashboard's reads on the local stack: GET /v1/metrics for the last 30 days, with the demo month loaded.

Usage: python benchmarks/dashboard.py [--repeat 7] [--json FILE]
Starts `concierge dev --demo-month 7` on a free port in a scratch directory, waits until the seeded month is rolled
up, signs in as a local operator and times the three requests the dashboard makes when it opens (the series by day
with the low-score list, then the channel and intent breakdowns), `--repeat` times each after one warm-up. Reports the
median and the slowest of each in milliseconds, and the page's total (the day series, then the two breakdowns in
parallel, as dashboard.js does), and the first page load after the month was rolled up (which compacts the month's
days into their summaries, docs/metrics.md). Figures are this machine's and moto's; compare them only within one run.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

REQUESTS = {
    "by day, 15 low scores": {"group_by": "day", "low_scores": 15},
    "by channel": {"group_by": "channel", "low_scores": 0},
    "by intent": {"group_by": "intent", "low_scores": 0},
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, headers: dict[str, str] | None = None, timeout: float = 900) -> tuple[float, bytes]:
    started = time.perf_counter()
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=timeout) as response:
        body = response.read()
    return (time.perf_counter() - started) * 1000, body


def run(repeat: int) -> dict:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as workdir:
        process = subprocess.Popen(
            [sys.executable, "-m", "concierge.dev.cli", "dev", "--port", str(port), "--demo-month", "7"],
            cwd=workdir,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        log: deque[str] = deque(maxlen=200)
        threading.Thread(target=lambda: log.extend(process.stdout or []), daemon=True).start()
        try:
            deadline = time.time() + 900
            while time.time() < deadline:
                try:
                    status = json.loads(_get(f"{base}/_local/demo-month", timeout=30)[1])
                    if status.get("failed"):
                        raise SystemExit("the demo month failed to load:\n" + "".join(log))
                    if status["done"]:
                        break
                except OSError:
                    if process.poll() is not None:
                        raise SystemExit("concierge dev stopped:\n" + "".join(log)) from None
                time.sleep(1)
            else:
                raise SystemExit("the demo month was not rolled up within 900 s")
            session = json.loads(_get(f"{base}/_local/operator-session?operator_id=bench")[1])
            headers = session["headers"]
            today = datetime.now(UTC).date()
            window = {"from": (today - timedelta(days=29)).isoformat(), "to": today.isoformat()}

            def timed(params: dict) -> float:
                query = urllib.parse.urlencode({**window, **params})
                return _get(f"{base}/v1/metrics?{query}", headers)[0]

            def page() -> float:
                started = time.perf_counter()
                timed(REQUESTS["by day, 15 low scores"])
                list(pool.map(timed, [REQUESTS["by channel"], REQUESTS["by intent"]]))
                return (time.perf_counter() - started) * 1000

            pool = ThreadPoolExecutor(2)
            first_page = page()  # the first read of the month: its days are compacted
            conversations = json.loads(
                _get(f"{base}/v1/metrics?{urllib.parse.urlencode({**window, 'group_by': 'none'})}", headers)[1]
            )["totals"]["conversations"]
            for params in REQUESTS.values():  # warm-up: the functions' cold starts are not the figure
                timed(params)
            samples: dict[str, list[float]] = {name: [] for name in REQUESTS}
            pages: list[float] = []
            with pool:
                for _ in range(repeat):
                    for name, params in REQUESTS.items():
                        samples[name].append(timed(params))
                    pages.append(page())
        finally:
            process.terminate()
            process.wait(10)
    day = samples["by day, 15 low scores"]
    return {
        "summary": [
            ["GET /v1/metrics, 30 days by day, local stack (median ms)", round(statistics.median(day), 1)],
            ["the dashboard's three requests (median ms)", round(statistics.median(pages), 1)],
            ["the dashboard's first load after the month is rolled up (ms)", round(first_page, 1)],
        ],
        "conversations_in_range": conversations,
        "requests_ms": {
            name: {"median": round(statistics.median(v), 1), "max": round(max(v), 1)} for name, v in samples.items()
        },
        "page_ms": {"median": round(statistics.median(pages), 1), "max": round(max(pages), 1)},
        "first_page_ms": round(first_page, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--json", help="also write the figures to this file (with a `summary` for make bench)")
    args = parser.parse_args()
    result = run(args.repeat)
    for name, figures in result["requests_ms"].items():
        print(f"GET /v1/metrics, 30 days, {name}: median {figures['median']} ms, max {figures['max']} ms")
    print(f"the dashboard's three requests: median {result['page_ms']['median']} ms, max {result['page_ms']['max']} ms")
    print(f"the dashboard's first load after the month was rolled up: {result['first_page_ms']} ms")
    print(f"({result['conversations_in_range']} conversations in the range)")
    if args.json:
        with open(args.json, "w") as out:
            json.dump(result, out, indent=2)


if __name__ == "__main__":
    main()
