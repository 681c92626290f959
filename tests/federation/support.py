"""Helpers for federation tests: the mesh of nodes (``benchmarks.federation_mesh``),
waiting on conditions, reading journals."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from benchmarks.federation_mesh import NATO_UNCLASSIFIED, Mesh, Node, mesh, report

from tessera.app import Tessera

__all__ = [
    "NATO_UNCLASSIFIED",
    "Mesh",
    "Node",
    "journal_ids",
    "journal_remarks",
    "mesh",
    "report",
    "run",
    "until",
]
WAIT_S = 60.0


async def until(check: Callable[[], bool], what: str, wait_s: float = WAIT_S) -> None:
    """Wait (bounded) until ``check()`` holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    while not check():
        assert loop.time() < deadline, f"gave up waiting for {what}"
        await asyncio.sleep(0.02)


async def journal_ids(tessera: Tessera) -> list[str]:
    """The ids of every report in ``tessera``'s journal, in order (repeats kept)."""
    ids: list[str] = []
    after = 0
    while entries := await tessera.journal.read(after, 10_000):
        ids.extend(entry.report.id for entry in entries if entry.report is not None)
        after = entries[-1].seq
    return ids


async def journal_remarks(tessera: Tessera) -> list[str]:
    remarks: list[str] = []
    after = 0
    while entries := await tessera.journal.read(after, 10_000):
        remarks.extend(e.report.remarks for e in entries if e.report is not None)
        after = entries[-1].seq
    return remarks


def run(scenario: Any, timeout: float = 240.0) -> None:
    asyncio.run(asyncio.wait_for(scenario, timeout))
