"""A link's store and forward: the window of our journal it is sending, and where the
peer stands in it.

The peer holds everything released up to ``position`` (it said so: its ``Welcome`` on
every connection, its acknowledgements since). The outbox reads a window of the journal
after it, orders what the link releases there (``release.backlog_order``) and hands it
out in batches, taking what the journal gains meanwhile into the same order; the last
batch of a window carries the window's end, so once that batch is acknowledged the
position moves past the window. Items of the window acknowledged
before an outage are not sent again after it; the rest are (the peer de-duplicates by
id, so nothing is doubled).
"""

from __future__ import annotations

from tessera.core.labels import ClassificationScheme, Picture
from tessera.federation.config import FederationLink
from tessera.federation.release import Outgoing, backlog_order, released
from tessera.federation.state import FederationState
from tessera.journal.base import Journal

# A window holds at most this many journal entries (the backlog of a long outage is
# ordered by priority across all of it), read this many at a time.
WINDOW_ENTRIES = 100_000
READ_ENTRIES = 5_000


class Outbox:
    def __init__(
        self,
        link: FederationLink,
        node: str,
        journal: Journal,
        state: FederationState,
        scheme: ClassificationScheme,
        window_entries: int = WINDOW_ENTRIES,
    ) -> None:
        self._link = link
        self._node = node
        self._journal = journal
        self._state = state
        self._scheme = scheme
        self._rule = Picture(name=f"federation/{link.name}", rule=link.release)
        self._window_entries = window_entries
        self.position = 0
        self._window_end = 0
        self._pending: list[Outgoing] = []
        self._end_handed = False
        self._acked_in_window: set[int] = set()  # the ids of acknowledged Outgoings
        self._known: set[str] = set()  # objects sent before
        self._overlays_sent = state.overlays_sent(link.name)

    def resume(self, position: int) -> None:
        """The peer holds everything up to ``position``: the window starts again after it
        (keeping what was acknowledged of the current one, if it is the same)."""
        if position != self.position:
            self._acked_in_window.clear()
        self.position = position
        self._window_end = position
        self._pending = []
        self._end_handed = False

    @property
    def window_end(self) -> int:
        return self._window_end

    @property
    def can_hold(self) -> bool:
        """Whether the window may still grow (a held position waits for more)."""
        return self._window_end - self.position < self._window_entries

    def hold(self) -> None:
        """The window's end, handed out with no item, is taken back: it goes with the
        next items, or on its own later."""
        self._end_handed = False

    @property
    def window_open(self) -> bool:
        return self._window_end > self.position

    async def fill(self, peer: str) -> bool:
        """Read the next window; whether it holds anything (released or not)."""
        self._pending = []
        self._window_end = self.position
        self._end_handed = False
        return await self._read_more(peer, READ_ENTRIES)

    async def extend(self, peer: str) -> None:
        """Take what the journal gained since the window was read into it (up to the
        window's size), so new items go by priority with the backlog rather than after
        it. Not once the window's last batch is out: the next window takes them."""
        if self._end_handed or not self.window_open:
            return
        if self._journal.last_seq <= self._window_end:
            return
        room = self._window_entries - (self._window_end - self.position)
        if room > 0:
            await self._read_more(peer, min(room, READ_ENTRIES))

    async def _read_more(self, peer: str, limit: int) -> bool:
        entries = await self._journal.read(self._window_end, limit)
        if not entries:
            return False
        ids = [
            item.id
            for entry in entries
            for item in (entry.report, entry.overlay)
            if item is not None
        ]
        out = released(
            entries,
            rule=self._rule,
            scheme=self._scheme,
            node=self._node,
            peer=peer,
            provenance=self._state.provenance(ids),
            overlays_sent=self._overlays_sent,
        )
        acked = self._acked_in_window
        fresh = [o for o in out if o.seq not in acked]
        self._pending = backlog_order([*self._pending, *fresh], self._known)
        self._window_end = entries[-1].seq
        return True

    def batch(self) -> tuple[list[Outgoing], int] | None:
        """The next batch and the position it carries (0: it completes nothing); None
        once the window's last batch is handed out."""
        if self._end_handed:
            return None
        size = self._link.batch_items
        taken, self._pending = self._pending[:size], self._pending[size:]
        if self._pending:
            return taken, 0
        self._end_handed = True
        return taken, self._window_end

    def acknowledged(self, sent: list[Outgoing], position: int) -> None:
        for outgoing in sent:
            self._acked_in_window.add(outgoing.seq)
            self._known.add(outgoing.object)
        overlays = [o.local_overlay for o in sent if o.local_overlay is not None]
        if overlays:
            self._state.overlay_sent(self._link.name, overlays)
            self._overlays_sent.update(overlays)
        if position:
            self.position = position
            self._acked_in_window.clear()
