"""Each TAK server link's state as operators see it (``/health`` counts them)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tessera.cluster.links_status import LinksLeaseStatus
from tessera.transports.tak_client.config import TakServerConfig


class TakLinkStatus:
    def __init__(self, config: TakServerConfig) -> None:
        self.config = config
        self.state = "starting"  # connecting, connected, waiting, stopped
        self.connected = False
        self.sent = 0  # events written to the server (positions and removals)
        self.received = 0  # events read from it
        self.reports = 0  # of those, journaled as reports
        self.echoes = 0  # of those, our own events coming back (dropped)
        self.rejected = 0  # bad events (dropped, counted)
        self.reconnects = 0
        self.last_error: str | None = None
        self.connected_at: datetime | None = None

    def failed(self, error: str) -> None:
        self.last_error = error
        self.connected = False

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.config.name,
            "address": self.config.address,
            "state": self.state,
            "connected": self.connected,
            "sent": self.sent,
            "received": self.received,
            "reports": self.reports,
            "echoes_dropped": self.echoes,
            "rejected": self.rejected,
            "reconnects": self.reconnects,
            "last_error": self.last_error,
            "connected_at": None
            if self.connected_at is None
            else self.connected_at.isoformat().replace("+00:00", "Z"),
        }


class TakServerBoard:
    """Every configured TAK server link's status (empty until the links start)."""

    def __init__(self) -> None:
        self.links: dict[str, TakLinkStatus] = {}
        # Which gateway holds the links lease (a scale-out gateway's links only).
        self.lease: LinksLeaseStatus | None = None

    def summary(self) -> dict[str, Any]:
        """For the public health check: counts only, no names or addresses."""
        statuses = self.links.values()
        summary: dict[str, Any] = {
            "configured": len(self.links),
            "connected": sum(1 for status in statuses if status.connected),
        }
        if self.lease is not None:
            summary["links_lease"] = self.lease.public()
        return summary
