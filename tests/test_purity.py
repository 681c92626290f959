"""`tessera.core` and `tessera.codecs` stay pure: no asyncio, sockets, SQL or network."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "tessera"
PURE_PACKAGES = ("core", "codecs")
FORBIDDEN = frozenset(
    {
        "asyncio",
        "socket",
        "ssl",
        "select",
        "selectors",
        "sqlite3",
        "http",
        "urllib",
        "httpx",
        "httpcore",
        "starlette",
        "uvicorn",
        "websockets",
        "psycopg",
        "nats",
        "tessera.journal",
        "tessera.store",
        "tessera.bus",
        "tessera.transports",
        "tessera.app",
        "tessera.lifecycle",
        "tessera.server",
    }
)


def pure_modules() -> list[Path]:
    return sorted(path for package in PURE_PACKAGES for path in (SRC / package).rglob("*.py"))


def imported_names(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def forbidden_in(names: set[str]) -> set[str]:
    return {
        name
        for name in names
        if any(name == banned or name.startswith(banned + ".") for banned in FORBIDDEN)
    }


@pytest.mark.parametrize("path", pure_modules(), ids=lambda path: str(path.relative_to(SRC)))
def test_pure_modules_import_nothing_forbidden(path: Path) -> None:
    assert not forbidden_in(imported_names(path))


def test_importing_the_pure_packages_loads_no_io_library() -> None:
    modules = [
        "tessera." + str(path.relative_to(SRC).with_suffix("")).replace("/", ".")
        for path in pure_modules()
    ]
    # SciPy pulls in socket and urllib for its own housekeeping when imported, and pyais's
    # package imports its own stream readers; what they load is their business. What must
    # hold is that our pure code adds no I/O library.
    program = (
        "import importlib, json, sys\n"
        "import numpy, scipy.optimize, scipy.sparse.csgraph, scipy.spatial, pyais\n"
        "before = set(sys.modules)\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name.removesuffix('.__init__'))\n"
        "print(json.dumps(sorted(set(sys.modules) - before)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True
    )
    loaded = set(json.loads(result.stdout))
    assert not forbidden_in(loaded), forbidden_in(loaded)
