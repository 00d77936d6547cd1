"""The prefetch planner against the deterministic engine on a corpus: every labelled message of the tuning half and
the first message of every scenario (demo and sample stores). Kept out of the quick loop: it plays about a thousand
messages through the engine."""

from __future__ import annotations

import json

from concierge.actions import prefetch
from concierge.engine.deterministic import DeterministicEngine
from concierge.store.demo import DEMO_MERCHANT
from tests.unit.test_prefetch import ROOT, turn


def first_messages() -> list[str]:
    """The labelled messages (tuning half) of the sample stores and the first message of every scenario (demo and sample stores)."""
    import yaml

    labelled = ROOT / "evaluation/understanding/messages.jsonl"
    rows = [json.loads(line) for line in labelled.read_text().splitlines() if line.strip()]
    # the held-out half's texts are never shown, not even in a failing assertion: only the tuning half is played
    texts = [row["text"] for row in rows if row["split"] == "tune"]
    for path in sorted([*ROOT.glob("evaluation/scenarios/*.yaml"), *ROOT.glob("stores/*/scenarios/*.yaml")]):
        turns = yaml.safe_load(path.read_text()).get("turns") or []
        texts += turns[:1]
    return list(dict.fromkeys(t for t in texts if t.strip()))


def test_what_is_prefetched_is_exactly_what_the_deterministic_engine_asks_for_first():
    """On every labelled message and every scenario's first message: whenever a lookup is planned, the deterministic
    engine (with nothing prefetched) asks for that very lookup first, with the same arguments. Engines differ in
    what they do next; a plan is never something the engine would not ask for."""
    engine = DeterministicEngine(DEMO_MERCHANT)
    checked = 0
    for text in first_messages():
        played = turn(text, customer="alex")
        plan = [(c.tool, c.arguments) for c in prefetch.plan(played)]
        if not plan:
            continue
        checked += 1
        decision = engine.decide(played)
        assert decision.next == "actions", text
        assert [(c.tool, c.arguments) for c in decision.tool_calls] == plan, text
    assert checked >= 100  # the tracking questions of both sets
