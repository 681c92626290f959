"""What a link sends, and in which order (no I/O: journal entries in, items out).

Released: a report or an overlay whose label the link's rule admits, as a picture's rule
would; an overlay's withdrawal only when the link sent that overlay. Never sent: what the
peer has held already (the peer is on the item's path), or what came from the peer.
Chat is released apart (``federation.chat``): its rooms keep a journal of their own, which
a link follows with a second position (``federation.chat_outbox``).

Order within a backlog: for every object (a subject's track, an overlay) its newest item
first, hostile and suspect objects before the rest, then objects the link never sent
before, then the others; superseded older positions after all of them (they still cross:
the peer's history is whole), newest first. An overlay's superseded revisions do not
cross: its latest says all, and an older one arriving after it would undo it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Final

import msgspec

from tessera.codecs.federation import MAX_PATH, Item, OverlayItem, ReportItem
from tessera.core.labels import ClassificationScheme, Picture, admits
from tessera.core.model import Identity
from tessera.federation.state import Provenance
from tessera.journal.base import JournalEntry

THREATS: Final = frozenset({Identity.HOSTILE, Identity.SUSPECT})


class Outgoing(msgspec.Struct, frozen=True):
    """One item to send: the journal entry it is, the object it is about, its time."""

    seq: int
    item: Item
    object: str
    at: datetime
    threat: bool
    # The overlay's id in this node's journal (remembered once sent, for withdrawals).
    local_overlay: str | None = None


def released(
    entries: Sequence[JournalEntry],
    *,
    rule: Picture,
    scheme: ClassificationScheme,
    node: str,
    peer: str,
    provenance: Mapping[str, Provenance],
    overlays_sent: set[str],
) -> list[Outgoing]:
    """The entries' items this link may send, with their origin and path.
    ``overlays_sent``: the overlays this link has released (their withdrawals cross),
    added to as overlays are released here."""
    out: list[Outgoing] = []
    for entry in entries:
        report, revision = entry.report, entry.overlay
        local_id = report.id if report is not None else revision.id if revision else None
        if local_id is None:
            continue  # a tick
        came = provenance.get(local_id)
        if came is None:
            origin, wire_id, path = node, local_id, tuple[str, ...]()
        else:
            origin, wire_id, path = came.origin, came.wire_id, came.path
        if origin == peer or peer in path or len(path) >= MAX_PATH:
            continue
        path = path if node in path else (*path, node)
        if report is not None:
            if not admits(rule, report.label, scheme):
                continue
            subject = report.subject if came is None else came.object
            wire = msgspec.structs.replace(report, id=wire_id, received_at=None, subject=subject)
            item: Item = ReportItem(wire_id, origin, path, wire)
            key = f"s/{origin}/{subject}" if subject is not None else f"r/{wire_id}"
            threat = report.identity in THREATS
            out.append(Outgoing(entry.seq, item, key, report.observed_at, threat))
        elif revision is not None:
            overlay_id = revision.overlay_id if came is None else (came.object or "")
            overlay = revision.overlay
            if overlay is None:
                if revision.overlay_id not in overlays_sent:
                    continue
            elif not admits(rule, overlay.label, scheme):
                continue
            else:
                # Released now, sent before anything later: its withdrawal may follow.
                overlays_sent.add(revision.overlay_id)
                overlay = msgspec.structs.replace(overlay, id=overlay_id)
            item = OverlayItem(wire_id, origin, path, overlay_id, overlay)
            key = f"o/{origin}/{overlay_id}"
            at = entry.received_at
            out.append(Outgoing(entry.seq, item, key, at, False, revision.overlay_id))
    return out


def backlog_order(items: Sequence[Outgoing], known: set[str]) -> list[Outgoing]:
    """``items`` in the order they go (see the module's docstring); ``known``: the objects
    this link has sent before."""
    newest: dict[str, Outgoing] = {}
    for item in items:
        held = newest.get(item.object)
        if held is None or (item.at, item.seq) > (held.at, held.seq):
            newest[item.object] = item
    latest = set(map(id, newest.values()))
    # An overlay is its latest revision: an older one after it would undo it.
    items = [i for i in items if id(i) in latest or i.local_overlay is None]

    def rank(item: Outgoing) -> tuple[int, float, int]:
        if id(item) in latest:
            tier = 0 if item.threat else 1 if item.object not in known else 2
        else:
            tier = 3
        return tier, -item.at.timestamp(), -item.seq

    return sorted(items, key=rank)
