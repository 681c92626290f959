"""Property: what crosses a link is exactly what its rule releases, for random labels,
and nothing else is in any message on the wire. The link runs in plain TCP (loopback)
so the proxy between the nodes can read every frame both ways; every report carries a
marker in its remarks, and the decompressed bytes of every frame are searched for the
markers of what was not released."""

from __future__ import annotations

import asyncio
import itertools
from collections import defaultdict
from pathlib import Path

import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tessera.app import Tessera
from tessera.codecs.federation import LENGTH, Batch, FrameReader, OverlayItem, ReportItem
from tessera.core.labels import DEFAULT_LEVELS, AdmissionRule, ClassificationScheme, Picture, admits
from tessera.core.model import Label
from tessera.core.overlays import Overlay, OverlayKind, OverlayRevision
from tests.federation.support import journal_remarks, mesh, report, until

COMMUNITIES = ("EU", "NATO", "POL", "UKR")
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


async def overlay_remarks(tessera: Tessera) -> list[str]:
    entries = await tessera.journal.read(0, 100_000)
    return [e.overlay.overlay.remarks for e in entries if e.overlay and e.overlay.overlay]


def overlay(number: int, label: Label) -> OverlayRevision:
    shape = Overlay(
        id=f"ov-{number}",
        name="area",
        kind=OverlayKind.POINT,
        coordinates=((20.0, 50.0),),
        label=label,
        remarks=f"marker-a-o{number:07d}",
    )
    return OverlayRevision(id=f"rev-{number}", overlay_id=shape.id, overlay=shape)


def test_what_crosses_is_exactly_what_the_rule_releases(tmp_path: Path) -> None:
    wire = Wire()
    rule = Picture("link", AdmissionRule(**RULE))
    scheme = ClassificationScheme()
    numbers = itertools.count(1)
    loop = asyncio.new_event_loop()
    context = mesh(tmp_path, [("a", "b")], tls=False, tap=wire.tap, release=RULE)
    m = loop.run_until_complete(context.__aenter__())
    a, b = m.nodes["a"], m.nodes["b"]
    sent: dict[str, bool] = {}

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(labels, min_size=1, max_size=8), st.lists(labels, max_size=3))
    def check(batch: list[Label], drawn: list[Label]) -> None:
        reports = [report("a", next(numbers), label=label) for label in batch]
        for item in reports:
            sent[item.remarks] = admits(rule, item.label, scheme)
        overlays = [overlay(next(numbers), label) for label in drawn]
        for revision in overlays:
            assert revision.overlay is not None
            sent[revision.overlay.remarks] = admits(rule, revision.overlay.label, scheme)

        async def cross() -> None:
            await a.tessera.journal.append([*reports, *overlays])
            status = a.status("b")
            await until(lambda: status.position >= a.tessera.journal.last_seq, "b to hold it")

        loop.run_until_complete(asyncio.wait_for(cross(), 60))
        released = {marker for marker, ok in sent.items() if ok}
        crossed = [
            item.report.remarks
            if isinstance(item, ReportItem)
            else item.overlay.remarks
            if isinstance(item, OverlayItem) and item.overlay is not None
            else ""
            for frame in wire.frames()
            if isinstance(frame, Batch)
            for item in frame.items
        ]
        assert set(crossed) == released
        plain = wire.plain()
        assert not [m for m, ok in sent.items() if not ok and m.encode() in plain]
        held = loop.run_until_complete(journal_remarks(b.tessera))
        held += loop.run_until_complete(overlay_remarks(b.tessera))
        assert sorted(held) == sorted(released)  # each once

    try:
        check()
    finally:
        loop.run_until_complete(context.__aexit__(None, None, None))
        loop.close()
