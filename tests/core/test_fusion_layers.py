"""The fusion engine's steps form layers: none imports the engine, and no import circle
runs through them (each step is given the table and arrays it works on)."""

from __future__ import annotations

import ast
from pathlib import Path

FUSION = Path(__file__).resolve().parents[2] / "src" / "tessera" / "core" / "fusion"
PREFIX = "tessera.core.fusion."


def fusion_imports() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in sorted(FUSION.glob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                modules = [node.module]
            elif isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            else:
                continue
            names.update(m.removeprefix(PREFIX) for m in modules if m.startswith(PREFIX))
        graph[path.stem] = names
    return graph


def test_no_step_imports_the_engine() -> None:
    graph = fusion_imports()
    for step in ("batch", "lifecycle", "update", "gating", "association", "table", "arrays"):
        assert "engine" not in graph[step], step


def test_the_fusion_modules_import_no_circle() -> None:
    graph = fusion_imports()
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        assert module not in path, " -> ".join((*path, module))
        if module in done:
            return
        for imported in sorted(graph.get(module, set())):
            visit(imported, (*path, module))
        done.add(module)

    for module in graph:
        visit(module, ())
