"""No module imports the composition root (``tessera.app``, and the ``Tessera`` it builds,
``tessera.lifecycle``) but the entry points that start a built Tessera: the root imports
the rest, so anything else importing it, even only for its type under ``TYPE_CHECKING``,
would close a circle. What a module needs of a running Tessera it names in a small
protocol of its own."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "tessera"
COMPOSITION_ROOT = ("tessera.app", "tessera.lifecycle")
# The composition root itself, and the modules that start and serve what it builds.
ENTRY_POINTS = frozenset(
    {"app.py", "lifecycle.py", "cli.py", "server.py", "cluster/fusion_role.py"}
)
# Still naming ``app.Tessera`` for their type, to be given protocols of their own.
PENDING = frozenset(
    {"transports/feeds/runner.py", "transports/feeds/sink.py", "transports/tak_client/link.py"}
)


def imports_of(tree: ast.AST) -> set[str]:
    """Every module ``tree`` imports, anywhere (``TYPE_CHECKING`` blocks and functions too);
    ``from tessera import app`` counts as ``tessera.app``."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def imports_root(tree: ast.AST) -> bool:
    return any(
        name == root or name.startswith(root + ".")
        for name in imports_of(tree)
        for root in COMPOSITION_ROOT
    )


def modules() -> list[str]:
    return sorted(
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        if str(path.relative_to(SRC)) not in ENTRY_POINTS | PENDING
    )


@pytest.mark.parametrize("module", modules())
def test_module_does_not_import_the_composition_root(module: str) -> None:
    assert not imports_root(ast.parse((SRC / module).read_text())), (
        f"{module} imports the composition root: name what it needs in a Protocol instead"
    )


@pytest.mark.parametrize(
    "source",
    [
        "from tessera.app import Tessera",
        "import tessera.app",
        "from tessera import app",
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from tessera.app import Tessera",
        "def f():\n    from tessera.app import build",
        "from tessera.lifecycle import Tessera",
    ],
)
def test_the_scan_sees_every_form_of_the_import(source: str) -> None:
    assert imports_root(ast.parse(source))


def test_the_scan_does_not_confuse_other_modules() -> None:
    assert not imports_root(ast.parse("from tessera.apps import x\nimport tessera.application"))


def test_the_exempt_modules_exist() -> None:
    for module in ENTRY_POINTS | PENDING:
        assert (SRC / module).is_file(), module
