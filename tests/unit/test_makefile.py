"""The Makefile does what the README says: every declared target has a rule, `make import` imports a store into the
running local stack, and what `make demo-data` writes is ignored by git."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAKEFILE = (ROOT / "Makefile").read_text()


def rules() -> dict[str, list[str]]:
    """Each rule's recipe lines, by target (a rule made only of prerequisites: those, as one line)."""
    found: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in MAKEFILE.splitlines():
        if line.startswith("\t") and current is not None:
            current.append(line.strip())
            continue
        match = re.match(r"^([\w-]+):(?!=)(.*)$", line)
        current = found.setdefault(match.group(1), []) if match else None
        prerequisites = match.group(2).split("#")[0].replace("$(STAMP)", "").strip() if match else ""
        if current is not None and prerequisites:
            current.append(prerequisites)
    return found


def test_every_phony_target_has_a_rule_that_does_something():  # a recipe, or other targets to make
    [phony] = re.findall(r"^\.PHONY:(.*)$", MAKEFILE, re.MULTILINE)
    declared = rules()
    for target in phony.split():
        assert declared.get(target), f"make {target} is declared but has no recipe"


def test_make_import_loads_a_store_into_the_running_local_stack():
    recipe = rules()["import"]
    assert any("$(error" in line and "STORE=" in line for line in recipe), "without STORE it says what it needs"
    assert "$(BIN)/concierge import $(STORE) --local" in recipe


def test_what_make_demo_data_writes_is_ignored_by_git():
    [command] = [line for line in rules()["demo-data"] if "concierge demo-data" in line]
    written = Path(command.split("concierge demo-data", 1)[1].split()[0])
    ignored = {line.strip().strip("/") for line in (ROOT / ".gitignore").read_text().splitlines() if line.strip()}
    assert written.parts[0] in ignored, f"{written} is not covered by .gitignore"


def test_every_make_target_the_readme_names_exists():
    named = set(re.findall(r"`make ([\w-]+)", (ROOT / "README.md").read_text()))
    assert named <= set(rules()), named - set(rules())
