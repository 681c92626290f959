"""Property: what crosses a link is exactly what its rule releases, for random labels,
and nothing else is in any message on the wire. The link runs in plain TCP (loopback)
so the proxy between the nodes can read every frame both ways; every report carries a
marker in its remarks, and the decompressed bytes of every frame are searched for the
markers of what was not released."""

from __future__ import annotations

import itertools
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tessera.app import Tessera
from tessera.codecs.federation import Batch, OverlayItem, ReportItem
from tessera.core.labels import AdmissionRule, ClassificationScheme, Picture, admits
from tessera.core.model import Label
from tessera.core.overlays import Overlay, OverlayKind, OverlayRevision
from tests.federation.support import RULE, journal_remarks, labels, report, tapped_link, until


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
    rule = Picture("link", AdmissionRule(**RULE))
    scheme = ClassificationScheme()
    numbers = itertools.count(1)
    sent: dict[str, bool] = {}
    with tapped_link(tmp_path) as link:
        a, b = link.mesh.nodes["a"], link.mesh.nodes["b"]

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

            link.run(cross())
            released = {marker for marker, ok in sent.items() if ok}
            crossed = [
                item.report.remarks
                if isinstance(item, ReportItem)
                else item.overlay.remarks
                if isinstance(item, OverlayItem) and item.overlay is not None
                else ""
                for frame in link.wire.frames()
                if isinstance(frame, Batch)
                for item in frame.items
            ]
            assert set(crossed) == released
            plain = link.wire.plain()
            assert not [m for m, ok in sent.items() if not ok and m.encode() in plain]
            held = link.run(journal_remarks(b.tessera)) + link.run(overlay_remarks(b.tessera))
            assert sorted(held) == sorted(released)  # each once

        check()
