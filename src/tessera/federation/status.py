"""Each federation link's state as operators see it (``/health`` counts, the map's bar,
``GET /api/v1/federation`` for administrators)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tessera.cluster.links_status import LinksLeaseStatus
from tessera.federation.config import FederationLink


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


class LinkStatus:
    def __init__(self, link: FederationLink) -> None:
        self.link = link
        self.state = "starting"  # connecting, connected, waiting, stopped
        self.connected = False  # our dialling is up
        self.inbound = 0  # the peer's dialling: connections open now
        self.peer_node: str | None = None
        self.position = 0  # our journal, up to which the peer holds everything released
        self.journal_seq = 0  # our journal's last entry, when last looked at
        self.chat_position: int | None = None  # likewise our chat journal (None: no chat)
        self.chat_sent = 0
        self.chat_received = 0
        self.sent = 0
        self.acked = 0
        self.received = 0
        self.duplicates = 0
        self.refused_above_ceiling = 0
        self.refused_loops = 0
        self.refused_implausible = 0
        self.bytes_out = 0
        self.bytes_in = 0
        self.reconnects = 0
        self.last_ack_at: datetime | None = None
        self.last_received_at: datetime | None = None
        self.last_error: str | None = None

    @property
    def behind(self) -> int:
        """Journal entries not yet known held by the peer (released or not)."""
        return max(0, self.journal_seq - self.position)

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.link.name,
            "peer": self.link.peer,
            "peer_node": self.peer_node,
            "state": self.state,
            "connected": self.connected,
            "inbound_connections": self.inbound,
            "position": self.position,
            "behind": self.behind,
            "sent": self.sent,
            "chat_position": self.chat_position,
            "chat_sent": self.chat_sent,
            "chat_received": self.chat_received,
            "acked": self.acked,
            "received": self.received,
            "duplicates": self.duplicates,
            "refused_above_ceiling": self.refused_above_ceiling,
            "refused_loops": self.refused_loops,
            "refused_implausible": self.refused_implausible,
            "bytes_out": self.bytes_out,
            "bytes_in": self.bytes_in,
            "reconnects": self.reconnects,
            "last_ack_at": _iso(self.last_ack_at),
            "last_received_at": _iso(self.last_received_at),
            "last_error": self.last_error,
        }


class FederationBoard:
    """Every link's status (empty until federation starts)."""

    def __init__(self) -> None:
        self.links: dict[str, LinkStatus] = {}
        # Which gateway holds the links lease (a scale-out gateway's links only).
        self.lease: LinksLeaseStatus | None = None

    def summary(self) -> dict[str, Any]:
        """For the public health check: counts only, no names."""
        statuses = self.links.values()
        summary: dict[str, Any] = {
            "links": len(self.links),
            "connected": sum(1 for s in statuses if s.connected or s.inbound),
        }
        if self.lease is not None:
            summary["links_lease"] = self.lease.public()
        return summary
