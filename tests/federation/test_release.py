"""The backlog's order: per object its newest item first, hostile objects first, then
objects the link never sent, then the rest; superseded positions last, newest first.
Withdrawals of overlays follow only the overlays the link sent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec

from tessera.codecs.federation import OverlayItem, ReportItem
from tessera.core.labels import AdmissionRule, ClassificationScheme, Picture
from tessera.core.model import Identity, Label
from tessera.core.overlays import Overlay, OverlayKind, OverlayRevision
from tessera.federation.release import Outgoing, backlog_order, released
from tessera.federation.state import Provenance
from tessera.journal.base import JournalEntry
from tests.federation.support import report

T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
EVERYTHING = Picture("link", AdmissionRule())


def entries_of(*reports_and_revisions: object) -> list[JournalEntry]:
    entries = []
    for seq, item in enumerate(reports_and_revisions, start=1):
        if isinstance(item, OverlayRevision):
            entries.append(JournalEntry(seq=seq, received_at=T0, report=None, overlay=item))
        else:
            entries.append(JournalEntry(seq=seq, received_at=T0, report=item))  # type: ignore[arg-type]
    return entries


def release(
    entries: list[JournalEntry],
    *,
    rule: Picture = EVERYTHING,
    peer: str = "b",
    provenance: dict[str, Provenance] | None = None,
    overlays_sent: set[str] | None = None,
) -> list[Outgoing]:
    """What node ``a``'s link to ``peer`` releases of ``entries``."""
    return released(
        entries,
        rule=rule,
        scheme=ClassificationScheme(),
        node="a",
        peer=peer,
        provenance={} if provenance is None else provenance,
        overlays_sent=set() if overlays_sent is None else overlays_sent,
    )


def ids(outgoing: list[Outgoing]) -> list[str]:
    return [o.item.id for o in outgoing]


def test_the_backlog_goes_newest_first_per_object_threats_and_new_objects_first() -> None:
    at = [T0 + timedelta(seconds=n) for n in range(10)]
    entries = entries_of(
        report("a", 1, subject="old-friend", at=at[0]),
        report("a", 2, subject="old-friend", at=at[5]),
        report("a", 3, subject="hostile", identity=Identity.HOSTILE, at=at[1]),
        report("a", 4, subject="hostile", identity=Identity.HOSTILE, at=at[2]),
        report("a", 5, subject="new", at=at[3]),
        report("a", 6, subject="new", at=at[4]),
    )
    out = release(entries)
    order = ids(backlog_order(out, known={"s/a/old-friend"}))
    assert order == [
        "a-r4",  # the hostile object's newest
        "a-r6",  # an object never sent, newest
        "a-r2",  # a known object's newest
        "a-r5",  # superseded positions, newest first
        "a-r3",
        "a-r1",
    ]


def test_items_from_the_peer_or_through_it_are_not_sent_to_it() -> None:
    entries = entries_of(report("a", 1), report("a", 2), report("a", 3))
    provenance = {
        "a-r2": Provenance("b", "b-1", ("b",)),  # began at the peer
        "a-r3": Provenance("c", "c-1", ("c", "b"), "u"),  # passed through it
    }
    out = release(entries, provenance=provenance)
    assert [(o.item.id, o.item.origin, o.item.path) for o in out] == [("a-r1", "a", ("a",))]
    onward = release(entries, peer="d", provenance=provenance)
    forwarded = onward[2].item
    assert isinstance(forwarded, ReportItem)
    assert (forwarded.id, forwarded.origin, forwarded.path) == ("c-1", "c", ("c", "b", "a"))
    assert forwarded.report.subject == "u"  # as its origin named it


def test_a_withdrawal_crosses_only_after_its_overlay_did() -> None:
    overlay = Overlay(
        id="ov-1",
        name="area",
        kind=OverlayKind.POINT,
        coordinates=((20.0, 50.0),),
        label=Label("SECRET"),
    )
    entries = entries_of(
        OverlayRevision(id="rev-1", overlay_id="ov-1", overlay=overlay),
        OverlayRevision(id="rev-2", overlay_id="ov-1", overlay=None),
    )
    rule = Picture("link", AdmissionRule(max_classification="RESTRICTED"))
    assert release(entries, rule=rule) == []
    out = release(entries, rule=rule, overlays_sent={"ov-1"})
    assert [type(o.item) for o in out] == [OverlayItem]
    assert out[0].item.overlay is None  # type: ignore[union-attr]


def test_of_an_overlay_only_its_latest_revision_crosses() -> None:
    overlay = Overlay(
        id="ov-1",
        name="area",
        kind=OverlayKind.POINT,
        coordinates=((20.0, 50.0),),
        label=Label("UNCLASSIFIED"),
    )
    moved = msgspec.structs.replace(overlay, coordinates=((21.0, 50.0),))
    entries = entries_of(
        OverlayRevision(id="rev-1", overlay_id="ov-1", overlay=overlay),
        OverlayRevision(id="rev-2", overlay_id="ov-1", overlay=moved),
        OverlayRevision(id="rev-3", overlay_id="ov-1", overlay=None),
        OverlayRevision(
            id="rev-4", overlay_id="ov-2", overlay=msgspec.structs.replace(overlay, id="ov-2")
        ),
        OverlayRevision(
            id="rev-5", overlay_id="ov-2", overlay=msgspec.structs.replace(moved, id="ov-2")
        ),
    )
    sent: set[str] = set()
    out = release(entries, overlays_sent=sent)
    assert ids(backlog_order(out, known=set())) == ["rev-5", "rev-3"]
    assert sent == {"ov-1", "ov-2"}
