"""Which gateway holds the links lease, as operators see it (``/health`` and the feeds',
federation's, TAK servers' and imagery's status): the services that reach out or take
reports in (``[[feeds]]``, ``[[imagery]]``, ``[[federation]]``, ``[[tak_servers]]``) run
on that gateway alone."""

from __future__ import annotations

from typing import Any


class LinksLeaseStatus:
    def __init__(self, holder: str) -> None:
        # This gateway's name in the lease (host:pid).
        self.holder = holder
        # "standby" (another gateway holds it, or none yet), "active" (this one does).
        self.state = "standby"
        # Who holds it as last seen (None: nobody, or not known yet).
        self.held_by: str | None = None

    def active(self) -> None:
        self.state, self.held_by = "active", self.holder

    def standby(self, held_by: str | None) -> None:
        self.state, self.held_by = "standby", held_by

    @property
    def held_elsewhere(self) -> bool:
        return self.held_by is not None and self.held_by != self.holder

    def public(self) -> dict[str, Any]:
        """For the public health check: no names."""
        return {"state": self.state, "held_elsewhere": self.held_elsewhere}

    def as_json(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "this_gateway": self.holder,
            "held_by": self.held_by,
            "held_elsewhere": self.held_elsewhere,
        }
