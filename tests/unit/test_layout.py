"""The library's shape: no import cycle when modules load, and every package says what it holds."""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

SHARED = Path(__file__).parents[2] / "shared"


def _modules() -> dict[str, Path]:
    found = {}
    for path in SHARED.rglob("*.py"):
        name = ".".join(path.relative_to(SHARED).with_suffix("").parts).removesuffix(".__init__")
        found[name] = path
    return found


def _loaded_with(tree: ast.Module) -> set[str]:
    """What a module imports when it loads: its top-level imports, not those under TYPE_CHECKING or in functions."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        for inner in ast.walk(node):
            if isinstance(inner, ast.Import):
                names |= {alias.name for alias in inner.names}
            elif isinstance(inner, ast.ImportFrom) and inner.module and inner.level == 0:
                names |= {inner.module, *(f"{inner.module}.{alias.name}" for alias in inner.names)}
    return names


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    return {
        name: {other for other in _loaded_with(ast.parse(path.read_text())) if other in modules and other != name}
        for name, path in modules.items()
    }


def test_no_import_cycle_when_modules_load():
    try:
        tuple(TopologicalSorter(import_graph()).static_order())
    except CycleError as cycle:
        raise AssertionError(f"import cycle at load time: {' -> '.join(cycle.args[1])}") from None


def test_the_cycle_check_sees_a_cycle():
    graph = {"a": {"b"}, "b": {"a"}}
    try:
        tuple(TopologicalSorter(graph).static_order())
    except CycleError:
        return
    raise AssertionError("a cycle went unseen")


def test_the_graph_sees_imports_between_modules():
    graph = import_graph()
    assert "concierge.memory.keys" in graph["concierge.memory.store"]
    assert "concierge.memory.store" in graph["concierge.memory.privacy"]


def test_every_package_says_what_it_holds():
    for init in SHARED.rglob("__init__.py"):
        assert ast.get_docstring(ast.parse(init.read_text())), f"{init.relative_to(SHARED)} has no docstring"


def test_the_root_holds_packages_only_and_contributing_names_each():
    package = SHARED / "concierge"
    assert [path.name for path in package.glob("*.py")] == ["__init__.py"], "a module at the root of concierge"
    contributing = (SHARED.parent / "CONTRIBUTING.md").read_text()
    packages = sorted(path.parent.name for path in package.glob("*/__init__.py"))
    unlisted = [name for name in packages if f"`{name}/`" not in contributing]
    assert not unlisted, f"packages missing from CONTRIBUTING.md's table: {unlisted}"
