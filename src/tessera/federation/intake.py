"""What arrives over a link, made this node's own (no I/O: items in, journal items out).

An item is refused when it has been here already (this node is on its path, or is its
origin) or when its label is above the link's ceiling (or not a level of this node's
scheme); refusals are counted, never journaled. What is taken becomes a report of the
link's source (kind ``system``), graded as the link says, its id and subject scoped to
its origin: the same item reaching this node by two paths is one item (the id is the
de-duplication key), and no partner's item can stand in for another's, or for this
node's own.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import msgspec

from tessera.codecs.federation import ChatItem, Item, OverlayItem, label_of
from tessera.core.labels import ClassificationScheme
from tessera.core.model import Grading, Report, Source, SourceKind, scoped_subject, shown_subject
from tessera.core.overlays import OverlayRevision
from tessera.federation.config import FederationLink
from tessera.federation.state import Provenance
from tessera.journal.base import JournalItem
from tessera.security.scoping import IdScope


class Taken(msgspec.Struct):
    """A batch's items as this node journals them, and what was refused."""

    items: list[JournalItem] = msgspec.field(default_factory=list)
    provenance: list[tuple[str, Provenance]] = msgspec.field(default_factory=list)
    above_ceiling: int = 0
    loops: int = 0
    implausible: int = 0


def origin_scope(origin: str) -> str:
    return f"federation/{origin}"


class Intake:
    def __init__(
        self,
        link: FederationLink,
        node: str,
        scheme: ClassificationScheme,
        ids: IdScope,
        max_future_skew: timedelta,
    ) -> None:
        self._link = link
        self._node = node
        self._scheme = scheme
        self._ids = ids
        self._ceiling = scheme.rank(link.ceiling)
        self._grading = Grading.parse(link.grading)
        self._source = Source(id=link.name, kind=SourceKind.SYSTEM)
        self._skew = max_future_skew

    def take(self, items: Sequence[Item], now: datetime) -> Taken:
        taken = Taken()
        for item in items:
            if isinstance(item, ChatItem):
                continue  # the rooms' own (``federation.chat.take_chat``)
            if item.origin == self._node or self._node in item.path:
                taken.loops += 1
                continue
            label = label_of(item)
            if label is not None and not self._within_ceiling(label.classification):
                taken.above_ceiling += 1
                continue
            scope = origin_scope(item.origin)
            local_id = self._ids.revision_id(scope, item.id)
            if isinstance(item, OverlayItem):
                local: JournalItem = self._overlay(item, local_id, scope)
                obj: str | None = item.overlay_id
            else:
                report = item.report
                if report.observed_at > now + self._skew:
                    taken.implausible += 1
                    continue
                local = self._report(report, local_id, scope)
                obj = report.subject
            taken.items.append(local)
            taken.provenance.append(
                (local_id, Provenance(item.origin, item.id, tuple(item.path), obj))
            )
        return taken

    def _within_ceiling(self, level: str) -> bool:
        return level in self._scheme and self._scheme.rank(level) <= self._ceiling

    def _report(self, report: Report, local_id: str, scope: str) -> Report:
        subject = report.subject
        if subject is not None:
            digest = self._ids.subject(scope, subject).rpartition("~")[2]
            subject = scoped_subject(shown_subject(subject), digest)
        return msgspec.structs.replace(
            report,
            id=local_id,
            source=self._source,
            received_at=None,
            subject=subject,
            grading=self._grading,
        )

    def _overlay(self, item: OverlayItem, local_id: str, scope: str) -> OverlayRevision:
        overlay_id = "ov-" + self._ids.revision_id(scope, "overlay/" + item.overlay_id)
        overlay = item.overlay
        if overlay is not None:
            overlay = msgspec.structs.replace(
                overlay, id=overlay_id, author=self._link.name, updated_at=None
            )
        return OverlayRevision(
            id=local_id, overlay_id=overlay_id, overlay=overlay, by=self._link.name
        )
