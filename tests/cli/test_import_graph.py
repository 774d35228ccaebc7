"""greta_cli's modules import each other in one direction only: no module imports (even lazily,
inside a function) a module that imports it back."""

from __future__ import annotations

import ast
from pathlib import Path

import greta_cli

ROOT = Path(greta_cli.__file__).parent


def _module_name(path: Path) -> str:
    parts = ["greta_cli", *path.relative_to(ROOT).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in ROOT.rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                targets = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules
                           else node.module for a in node.names]
            graph[name] |= {t for t in targets if t in modules and t != name}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                return [*stack[stack.index(n):], n]
            if n not in state and (found := visit(n)):
                return found
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state and (found := visit(m)):
            return found
    return None


def test_the_graph_sees_lazy_imports() -> None:
    graph = _graph()
    # run_analysis_async imports the job manager inside the function
    assert "greta_cli.job_management.job_manager" in graph["greta_cli.core_integration.integration"]
    assert "greta_cli.job_management.monitor" in graph["greta_cli.job_management.celery_app"]


def test_no_import_loops_in_greta_cli() -> None:
    cycle = _cycle(_graph())
    assert cycle is None, " -> ".join(cycle or [])
