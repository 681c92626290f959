"""Each imagery source's state as operators see it (``/api/v1/imagery``), and the counts
the public health check gives (``/health``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tessera.cluster.links_status import LinksLeaseStatus
from tessera.transports.imagery.config import ImagerySource


def _when(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


class ImageryStatus:
    """``state``: starting, current (the last refresh succeeded), failing (it did not:
    ``last_error`` says why), stopped."""

    def __init__(self, source: ImagerySource) -> None:
        self.source = source
        self.state = "starting"
        self.refreshes = 0
        self.failures = 0
        self.items = 0
        self.new_items = 0
        self.removed_items = 0
        self.truncated = False
        self.problems: dict[str, int] = {}
        self.last_refresh_at: datetime | None = None
        self.last_success_at: datetime | None = None
        self.last_error: str | None = None

    def succeeded(self, at: datetime) -> None:
        self.state = "current"
        self.refreshes += 1
        self.last_refresh_at = self.last_success_at = at
        self.last_error = None

    def failed(self, at: datetime, error: str) -> None:
        self.state = "failing"
        self.refreshes += 1
        self.failures += 1
        self.last_refresh_at = at
        self.last_error = error

    def as_json(self) -> dict[str, Any]:
        source = self.source
        return {
            "name": source.name,
            "kind": source.kind,
            "state": self.state,
            "items": self.items,
            "new_items": self.new_items,
            "removed_items": self.removed_items,
            "truncated": self.truncated,
            "refreshes": self.refreshes,
            "failures": self.failures,
            "problems": dict(sorted(self.problems.items())),
            "last_refresh_at": _when(self.last_refresh_at),
            "last_success_at": _when(self.last_success_at),
            "last_error": self.last_error,
        }


class ImageryBoard:
    """Every configured imagery source's status (empty until they start)."""

    def __init__(self) -> None:
        self.sources: dict[str, ImageryStatus] = {}
        # Which gateway holds the links lease (a scale-out gateway's links only).
        self.lease: LinksLeaseStatus | None = None

    def summary(self) -> dict[str, Any]:
        """For the public health check: counts only, no names."""
        statuses = self.sources.values()
        summary: dict[str, Any] = {
            "configured": len(self.sources),
            "current": sum(1 for status in statuses if status.state == "current"),
            "failing": sum(1 for status in statuses if status.state == "failing"),
        }
        if self.lease is not None:
            summary["links_lease"] = self.lease.public()
        return summary
