"""concierge.platform.startup: the collector paused while a handler loads, in Lambda only (the handlers' side is in
test_import_graph.py)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from concierge.platform import startup


@pytest.fixture
def collector() -> Iterator[None]:
    assert gc.isenabled()
    yield
    gc.unfreeze()
    gc.enable()


@pytest.mark.usefixtures("collector")
def test_in_lambda_loading_pauses_the_collector_and_loaded_freezes_and_resumes_it(monkeypatch):
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "concierge-test")
    startup.loading()
    assert not gc.isenabled()
    startup.loaded()
    assert gc.isenabled()
    assert gc.get_freeze_count() > 0
    startup.loaded()  # once only
    assert gc.isenabled()


@pytest.mark.usefixtures("collector")
def test_outside_lambda_neither_does_anything(monkeypatch):
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    frozen = gc.get_freeze_count()
    startup.loading()
    assert gc.isenabled()
    startup.loaded()
    assert gc.get_freeze_count() == frozen


@pytest.mark.usefixtures("collector")
def test_a_collector_paused_by_someone_else_is_left_to_them(monkeypatch):
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "concierge-test")
    gc.disable()
    startup.loading()
    startup.loaded()
    assert not gc.isenabled()
