"""The local stack started as a newcomer starts it (`concierge dev` in a fresh directory), and pages driven in
Debian's headless Chromium."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import deque
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CONCIERGE_CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
# Without the background-networking switches Chromium keeps trying to reach Google's hosts from a closed network.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def screenshot_path(name: str) -> str:
    """Where a test saves its screenshot: `make screenshots` sets CONCIERGE_SCREENSHOT_DIR (build/screenshots); a test
    run writes to the temporary directory, never to a tracked file."""
    folder = Path(os.environ.get("CONCIERGE_SCREENSHOT_DIR") or tempfile.gettempdir())
    folder.mkdir(parents=True, exist_ok=True)
    return str(folder / name)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# The logs of the stacks running now: a failing test shows their last lines (a CI run keeps nothing else).
_LIVE_LOGS: dict[str, deque[str]] = {}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for url, log in list(_LIVE_LOGS.items()):
            report.sections.append((f"local stack log ({url}, last lines)", "".join(list(log)[-80:])))


@contextmanager
def dev_server(workdir: Path, *arguments: str):
    """`concierge dev` on a free port; yields its base URL once it answers, and the process."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "concierge.dev.cli", "dev", "--port", str(port), *arguments],
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    # The server's log is read as it comes (the last lines kept for a failure): a pipe nobody reads fills after a
    # few hundred requests and freezes the server mid-log.
    log: deque[str] = deque(maxlen=500)
    threading.Thread(target=lambda: log.extend(process.stdout), daemon=True).start()
    url = f"http://127.0.0.1:{port}"
    _LIVE_LOGS[url] = log
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                urllib.request.urlopen(f"{url}/_local/health", timeout=1)
                break
            except OSError:
                if process.poll() is not None:
                    time.sleep(0.5)  # the last lines reach the log
                    pytest.fail("".join(log))
                time.sleep(0.2)
        else:
            pytest.fail("local stack did not start within 60 s")
        yield url, process
    finally:
        _LIVE_LOGS.pop(url, None)
        process.terminate()
        process.wait(10)


@contextmanager
def chromium_page(url: str, width: int = 1280, height: int = 900):
    """A tab at `url` in headless Chromium; the test fails on any JavaScript error the page raised."""
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium not found at {CHROMIUM}: install Debian's chromium package (`.ci/run` does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright, tempfile.TemporaryDirectory() as profile:
        browser = playwright.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=FLAGS, viewport={"width": width, "height": height}
        )
        tab = browser.new_page()
        errors: list[str] = []
        tab.on("pageerror", lambda error: errors.append(str(error)))
        tab.goto(url)
        yield tab
        browser.close()
        assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture(scope="module")  # one stack per module: each module may return the same demo shirt
def base_url(tmp_path_factory):
    with dev_server(tmp_path_factory.mktemp("dev")) as (url, _):
        yield url


# The demo month's ~2,600 events roll up first, then the offers' population is written (local/stack.py,
# load_demo_month): the wait is for both, with room for a machine whose cores are both busy.
DEMO_MONTH_DEADLINE_S = 600


@pytest.fixture(scope="session")
def demo_month_url(tmp_path_factory):
    """`concierge dev --demo-month 7`, once for every page test that reads the seeded month (the KPI dashboard and
    its offers): started on first use, waited on until the month and the offers are loaded."""
    with dev_server(tmp_path_factory.mktemp("demo-month"), "--demo-month", "7") as (url, _process):
        deadline = time.time() + DEMO_MONTH_DEADLINE_S
        status: dict = {}
        while time.time() < deadline:
            with urllib.request.urlopen(f"{url}/_local/demo-month", timeout=30) as response:
                status = json.load(response)
            if status["done"]:
                assert not status.get("failed"), "the demo month failed to load"
                break
            time.sleep(1)  # polling the server's own progress, not waiting for a page
        else:
            pytest.fail(f"the demo month and its offers were not loaded within {DEMO_MONTH_DEADLINE_S} s: {status}")
        yield url
