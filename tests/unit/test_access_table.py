"""docs/deploy.md says what starts each function and what it may touch, from the topology itself."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from concierge.platform import topology


def test_deploy_guide_shows_the_current_access_table():
    guide = (Path(__file__).parents[2] / "docs/deploy.md").read_text()
    assert topology.access_table() in guide, "docs/deploy.md is out of date: paste topology.access_table()"


def test_every_permission_flag_is_described():
    flags = {f.name for f in dataclasses.fields(topology.FunctionAccess) if f.type in ("bool", bool)}
    assert flags == set(topology._GRANTS)


def test_the_agent_may_only_call_the_model_and_nothing_starts_it_but_the_turn():
    row = next(line for line in topology.access_table().splitlines() if line.startswith("| agent |"))
    assert row == "| agent | turn step Agent | call the language model |"
