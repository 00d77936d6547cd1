"""The local stack started once per session as a newcomer starts it: `concierge dev` in a fresh directory."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")  # one stack per module: each module may return the same demo shirt
def base_url(tmp_path_factory):
    port = free_port()
    workdir = tmp_path_factory.mktemp("dev")
    process = subprocess.Popen(
        [sys.executable, "-m", "concierge.cli", "dev", "--port", str(port)],
        cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"{url}/_local/health", timeout=1)
            break
        except OSError:
            if process.poll() is not None:
                pytest.fail(process.stdout.read())
            time.sleep(0.2)
    else:
        process.kill()
        pytest.fail("local stack did not start within 60 s")
    yield url
    process.terminate()
    process.wait(10)


