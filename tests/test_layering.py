"""The package layout, checked from the source: imports flow one way (web → services → store), the spam
engine stays pure, and no two modules import each other, however indirectly.

Every module under ``rejoinder/`` is parsed with ``ast``; imports at module level, inside functions and
under ``TYPE_CHECKING`` all count, since each is a dependency someone has to keep in their head.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[1] / "rejoinder"
ENGINE = "rejoinder.spam"
ENGINE_FORBIDDEN = ("sqlalchemy", "fastapi", "starlette", "httpx", "redis")
WEB = "rejoinder.web"
WEB_FRAMEWORKS = ("fastapi", "starlette")
STORE = "rejoinder.store"
# What the store may build on besides itself: domain types and errors, nothing that uses the store.
STORE_MAY_IMPORT = ("rejoinder.store", "rejoinder.model", "rejoinder.errors")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _sources() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imported(path: Path, name: str, known: set[str]) -> Iterator[tuple[str, int]]:
    """Every module ``path`` imports (a ``from package import module`` names the module), with its line."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                candidate = f"{source}.{alias.name}"
                yield (candidate if candidate in known else source), node.lineno


def _graph(sources: dict[str, Path]) -> dict[str, dict[str, int]]:
    """module -> {imported module: line}, for every import (of the application or not)."""
    known = set(sources)
    return {
        name: dict(_imported(path, name, known))
        for name, path in sources.items()
    }


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """One cycle through each strongly connected group of modules (Tarjan), as a path back to its start."""
    internal = {m: sorted(t for t in targets if t in graph and t != m) for m, targets in graph.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in internal[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(internal):
        if node not in index:
            visit(node)
    return [_path_through(group, internal) for group in groups]


def _path_through(group: list[str], edges: dict[str, list[str]]) -> list[str]:
    """The shortest cycle from the group's first module back to itself (breadth first)."""
    start, members = group[0], set(group)
    came_from: dict[str, str] = {}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for target in edges[node]:
            if target == start:
                path = [node]
                while path[-1] != start:
                    path.append(came_from[path[-1]])
                return [start, *reversed(path[:-1]), start] if node != start else [start, start]
            if target in members and target not in came_from:
                came_from[target] = node
                queue.append(target)
    return group


def _violations(graph: dict[str, dict[str, int]]) -> list[str]:
    found = [f"import cycle: {' → '.join(cycle)}" for cycle in _cycles(graph)]
    for module, targets in sorted(graph.items()):
        for target, line in sorted(targets.items()):
            where = f"{module} (line {line}) imports {target}"
            top = target.partition(".")[0]
            outside_engine = _within(target, "rejoinder") and not _within(target, ENGINE)
            if _within(module, ENGINE) and (outside_engine or top in ENGINE_FORBIDDEN):
                found.append(f"{where}: the spam engine is pure, and stands alone")
            entry_point = module == "rejoinder.asgi" or _within(module, "rejoinder.cli")
            http = top in WEB_FRAMEWORKS or _within(target, WEB)
            if http and not _within(module, WEB) and not (entry_point and target == "rejoinder.web.app"):
                found.append(f"{where}: HTTP belongs in rejoinder.web (entry points use rejoinder.web.app)")
            beneath_store = any(_within(target, allowed) for allowed in STORE_MAY_IMPORT)
            if _within(module, STORE) and _within(target, "rejoinder") and not beneath_store:
                found.append(f"{where}: the store imports no services and no web")
    return found


def test_every_module_is_parsed() -> None:
    graph = _graph(_sources())
    assert {"rejoinder.context", "rejoinder.cli", "rejoinder.spam.judge", "rejoinder.store.db"} <= set(graph)
    assert "rejoinder.sites" in graph["rejoinder.cli.admin"]  # imported inside a function: it counts too


def test_imports_flow_one_way_without_cycles() -> None:
    assert _violations(_graph(_sources())) == []


# The checks themselves, on planted graphs: a rule that cannot fail protects nothing.


def test_a_planted_cycle_is_named() -> None:
    graph = {
        "rejoinder.context": {"rejoinder.antispam": 3},
        "rejoinder.antispam": {"rejoinder.sites": 5},
        "rejoinder.sites": {"rejoinder.context": 9},
        "rejoinder.model": {},
    }
    assert _violations(graph) == [
        "import cycle: rejoinder.antispam → rejoinder.sites → rejoinder.context → rejoinder.antispam"
    ]


@pytest.mark.parametrize(
    ("module", "target", "rule"),
    [
        ("rejoinder.spam.judge", "rejoinder.model", "the spam engine is pure"),
        ("rejoinder.spam.model", "sqlalchemy", "the spam engine is pure"),
        ("rejoinder.spam", "redis.client", "the spam engine is pure"),
        ("rejoinder.comments", "fastapi", "HTTP belongs in rejoinder.web"),
        ("rejoinder.antispam", "starlette.requests", "HTTP belongs in rejoinder.web"),
        ("rejoinder.cli.serve", "rejoinder.web.pages", "HTTP belongs in rejoinder.web"),
        ("rejoinder.store.spam", "rejoinder.antispam", "the store imports no services"),
        ("rejoinder.store.comments", "rejoinder.web.serialize", "the store imports no services"),
    ],
)
def test_a_planted_violation_is_named(module: str, target: str, rule: str) -> None:
    [found] = [v for v in _violations({module: {target: 7}}) if rule in v]
    assert found.startswith(f"{module} (line 7) imports {target}")


def test_the_entry_points_may_build_the_app() -> None:
    graph = {"rejoinder.asgi": {"rejoinder.web.app": 4}, "rejoinder.cli.serve": {"rejoinder.web.app": 9}}
    assert _violations(graph) == []
