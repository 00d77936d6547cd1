"""The cost benchmark's arithmetic (benchmarks/costs.py, benchmarks/model_cost.py): each line is its formula."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

BENCHMARKS = Path(__file__).parents[2] / "benchmarks"


def load(name: str):
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


costs = load("costs")
model_cost = load("model_cost")


def test_item_size_follows_the_documented_rules():
    item = {
        "pk": {"S": "abc"},  # 2 + 3
        "n": {"N": "-12345.0"},  # 1 + (1 + ceil(5 digits / 2))
        "m": {"M": {"a": {"BOOL": True}}},  # 1 + (3 + 1 + 1 + 1)
        "l": {"L": [{"S": "xy"}, {"NULL": True}]},  # 1 + (3 + (1 + 2) + (1 + 1))
    }
    assert costs.item_size(item) == 5 + 5 + 7 + 9


def test_write_units_are_kilobytes_of_the_larger_image_and_double_in_a_transaction():
    assert costs.write_units(0, 200) == 1
    assert costs.write_units(1500, 300) == 2  # the item before the write was larger
    assert costs.write_units(1500, 300, transactional=True) == 4
    assert costs.write_units(0, 0) == 1  # a write of nothing still costs one unit


def test_read_units_are_4_kb_steps_halved_when_eventually_consistent():
    assert costs.read_units(5 * 1024, consistent=True) == 2
    assert costs.read_units(5 * 1024, consistent=False) == 1
    assert costs.read_units(100, consistent=True, transactional=True) == 2
    assert costs.read_units(0, consistent=False) == 0.5


def test_an_index_key_change_is_two_index_writes():
    keys = ("gsi1pk", "gsi1sk")
    old = {"pk": {"S": "o-1"}, "gsi1pk": {"S": "c-1"}, "gsi1sk": {"S": "2026-11-01"}}
    assert costs.index_write_units(None, old, keys) == 1
    assert costs.index_write_units(old, {**old, "status": {"S": "shipped"}}, keys) == 1
    assert costs.index_write_units(old, {**old, "gsi1sk": {"S": "2026-11-02"}}, keys) == 2
    assert costs.index_write_units({"pk": {"S": "x"}}, {"pk": {"S": "x"}}, keys) == 0


def test_express_and_api_lines_are_their_formulas():
    usage = costs.Usage(turns=2, execution_ms=[30.0, 20.0], execution_aws_ms=[120.0, 80.0])
    lines = {line.service: line for line in costs.aws_lines([usage], {"agent": 1024})}
    express = lines["Step Functions Express, duration"]
    gb_seconds = (0.2 + 0.1) * 64 / 1024  # 120 ms bills 200 ms, 80 ms bills 100 ms, at 64 MB
    assert express.quantity == pytest.approx(gb_seconds)
    assert express.per_1000 == pytest.approx(gb_seconds * 0.00001667 * 1000)
    assert lines["API Gateway (REST)"].per_1000 == pytest.approx(2 * 3.50 / 1e6 * 1000)
    assert lines["Step Functions Express, requests"].per_1000 == pytest.approx(2 * 1.00 / 1e6 * 1000)


def test_lambda_duration_is_scaled_to_the_cpu_share_of_the_memory_size():
    usage = costs.Usage(invocations={"agent": 1}, lambda_ms={"agent": 100.0})
    [line] = [x for x in costs.aws_lines([usage], {"agent": 1024}) if x.service == "Lambda, duration (Arm)"]
    assumed_seconds = 0.1 * costs.FULL_VCPU_MB / 1024
    assert line.quantity == pytest.approx(assumed_seconds * 1.0)  # 1 GB
    assert line.per_1000 == pytest.approx(assumed_seconds * 0.0000133334 * 1000)


def test_the_model_estimate_writes_then_reads_the_cache():
    price = SimpleNamespace(input=1.0, output=2.0, cache_write=3.0, cache_read=0.5)
    family = SimpleNamespace(api_id="x", price=price, min_cache_tokens=0, thinking=None, thinking_blocks=False)
    a, b = "a" * 36, "b" * 72  # 10 and 20 tokens at 3.6 characters a token
    calls = [model_cost.Call("s", [a], False), model_cost.Call("s", [a, b], False)]
    priced = model_cost.estimate(calls, family, 360, output_tokens=150)  # a 100-token prefix
    first = (110 * 3.0 + 150 * 2.0) / 1e6  # writes the prefix and its block
    second = (110 * 0.5 + 20 * 3.0 + 150 * 2.0) / 1e6  # reads them, writes the new block
    assert priced.usd == pytest.approx(first + second)
    assert (priced.cache_read, priced.cache_write, priced.input_tokens) == pytest.approx((110, 130, 240))


def test_the_recorder_counts_one_call_per_agent_step(monkeypatch):
    """decide() hands a turn whose merchant differs from the engine's to another engine: still one model call."""
    from concierge.engine import deterministic
    from concierge.reasoning import prompt

    def decide(engine, turn):
        if engine == "outer":
            return deterministic.DeterministicEngine.decide("inner", turn)
        return SimpleNamespace(next="reply")

    monkeypatch.setattr(deterministic.DeterministicEngine, "decide", decide)
    monkeypatch.setattr(prompt, "messages", lambda turn: [{"role": "user", "content": "hi"}])
    monkeypatch.setattr(model_cost, "asks_model", lambda turn: turn == "asks")
    with model_cost.Recorder() as recorder:
        deterministic.DeterministicEngine.decide("outer", "asks")
        deterministic.DeterministicEngine.decide("outer", "escalated in code")  # no model call: not recorded
    assert len(recorder.calls) == 1
    assert recorder.calls[0].blocks == ['user{"text": "hi", "type": "text"}']
