"""Helpers for federation tests: the mesh of nodes (``benchmarks.federation_mesh``),
a link whose every byte is kept (``tapped_link``, for the properties of what crosses it),
waiting on conditions, reading journals."""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import zstandard
from benchmarks.federation_mesh import NATO_UNCLASSIFIED, Mesh, Node, mesh, report
from hypothesis import strategies as st

from tessera.app import Tessera
from tessera.codecs.federation import LENGTH, FrameReader
from tessera.core.labels import DEFAULT_LEVELS
from tessera.core.model import Label

__all__ = [
    "NATO_UNCLASSIFIED",
    "RULE",
    "Mesh",
    "Node",
    "TappedLink",
    "Wire",
    "journal_ids",
    "journal_remarks",
    "labels",
    "mesh",
    "report",
    "run",
    "tapped_link",
    "until",
]
WAIT_S = 60.0
T = TypeVar("T")
COMMUNITIES = ("EU", "NATO", "POL", "UKR")
# What the tapped link releases.
RULE = {"max_classification": "CONFIDENTIAL", "releasable_to": "POL"}
labels = st.builds(
    Label,
    st.sampled_from(DEFAULT_LEVELS),
    st.lists(st.sampled_from(COMMUNITIES), unique=True).map(tuple),
)


class Wire:
    """Every byte the proxy carried, per connection and way."""

    def __init__(self) -> None:
        self.streams: dict[tuple[int, str], bytearray] = defaultdict(bytearray)

    def tap(self, number: int, way: str, data: bytes) -> None:
        self.streams[(number, way)] += data

    def frames(self) -> list[object]:
        return [
            frame for data in self.streams.values() for frame in FrameReader().feed(bytes(data))
        ]

    def plain(self) -> bytes:
        """The decompressed bodies of every frame, end to end."""
        out = bytearray()
        for data in self.streams.values():
            decompressor = zstandard.ZstdDecompressor().decompressobj()
            view = memoryview(bytes(data))
            while len(view) >= LENGTH.size:
                (size,) = LENGTH.unpack_from(view)
                out += decompressor.decompress(bytes(view[LENGTH.size : LENGTH.size + size]))
                view = view[LENGTH.size + size :]
        return bytes(out)


@dataclass
class TappedLink:
    loop: asyncio.AbstractEventLoop
    mesh: Mesh
    wire: Wire

    def run(self, work: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
        """Run ``work`` (a coroutine) on the link's loop, bounded."""
        return self.loop.run_until_complete(asyncio.wait_for(work, timeout))


@contextlib.contextmanager
def tapped_link(tmp_path: Path) -> Iterator[TappedLink]:
    """Nodes ``a`` and ``b`` linked in plain TCP (so the proxy can read every frame both
    ways), ``a`` releasing ``RULE`` to ``b``, on an event loop of their own: a property
    test's examples are drawn outside any loop and run on it one by one."""
    wire = Wire()
    loop = asyncio.new_event_loop()
    context = mesh(tmp_path, [("a", "b")], tls=False, tap=wire.tap, release=RULE)
    linked = loop.run_until_complete(context.__aenter__())
    try:
        yield TappedLink(loop, linked, wire)
    finally:
        loop.run_until_complete(context.__aexit__(None, None, None))
        loop.close()


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
