"""The feed family (DESIGN §10: feeds are adapters): what every feed kind provides, and
the status each feed keeps for ``/health``, ``/api/v1/feeds`` and the map.

A feed kind is a decoder (``tessera.codecs``: bytes in, sightings and footprints out,
pure) chosen by ``decoder_for``; how its bytes arrive (TCP client, UDP listener, file,
HTTP poll) is the address's scheme (``sources.py``). ``runner.py`` joins the two and
hands what was decoded to ``sink.py``, which makes reports and overlays of the feed's
principal and journals them like any other."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any, Protocol

from tessera.cluster.links_status import LinksLeaseStatus
from tessera.codecs.feed_model import Decoded
from tessera.transports.feeds.config import FeedConfig


class FeedDecoder(Protocol):
    def take(self, data: bytes, now: float, *, whole: bool = False) -> Decoded:
        """Decode what ``data`` completes (``whole``: a datagram or a fetched document,
        complete in itself); ``now``: the time of receipt in seconds."""


def decoder_for(config: FeedConfig) -> FeedDecoder:
    """A new decoder for ``config``'s kind (imported here: a server with no feed of a kind
    never loads its library)."""
    kind = config.kind
    if kind == "ais":
        from tessera.codecs.ais import AisDecoder

        return AisDecoder()
    if kind == "adsb-sbs":
        from tessera.codecs.adsb import SbsDecoder

        return SbsDecoder()
    if kind == "adsb-json":
        from tessera.codecs.adsb import AircraftJsonDecoder

        return AircraftJsonDecoder()
    if kind == "mavlink":
        from tessera.codecs.mavlink import MavlinkDecoder

        return MavlinkDecoder()
    if kind == "klv":
        from tessera.codecs.klv_feed import KlvDecoder

        return KlvDecoder()
    if kind == "klv-ts":
        from tessera.codecs.klv_feed import KlvTransportStreamDecoder

        return KlvTransportStreamDecoder()
    raise ValueError(f"no decoder for feed kind {kind!r}")


# How long the message rate is measured over.
RATE_WINDOW_S = 5.0


class FeedStatus:
    """One feed's state as operators see it."""

    def __init__(self, config: FeedConfig) -> None:
        self.config = config
        self.state = "starting"  # connecting, connected, waiting, finished, stopped
        self.connected = False
        self.messages = 0
        self.reports = 0
        self.errors = 0
        self.problems: dict[str, int] = {}
        self.last_message_at: datetime | None = None
        self.last_error: str | None = None
        self.reconnects = 0
        # Where a listening feed is bound (host, port): port 0 picks one.
        self.bound: tuple[str, int] | None = None
        self._window_start = time.monotonic()
        self._window_count = 0
        self._rate = 0.0

    def counted(self, decoded: Decoded, at: datetime) -> list[str]:
        """Count what was decoded; the kinds of bad input met for the first time."""
        self.messages += decoded.messages
        self.reports += len(decoded.sightings)
        if decoded.messages:
            self.last_message_at = at
        new: list[str] = []
        for problem in decoded.problems:
            self.errors += 1
            seen = self.problems.get(problem, 0)
            if not seen:
                new.append(problem)
            self.problems[problem] = seen + 1
        self._window_count += decoded.messages
        self._roll(time.monotonic())
        return new

    def _roll(self, now: float) -> None:
        elapsed = now - self._window_start
        if elapsed >= RATE_WINDOW_S:
            self._rate = self._window_count / elapsed
            self._window_start, self._window_count = now, 0

    @property
    def rate(self) -> float:
        """Messages per second over the last window (0 once the feed has gone quiet)."""
        now = time.monotonic()
        self._roll(now)
        if now - self._window_start >= 2 * RATE_WINDOW_S:
            return 0.0
        return self._rate

    def failed(self, error: str) -> None:
        self.errors += 1
        self.last_error = error
        self.connected = False

    def as_json(self) -> dict[str, Any]:
        config = self.config
        return {
            "name": config.name,
            "kind": config.kind,
            "state": self.state,
            "connected": self.connected,
            "messages": self.messages,
            "messages_per_s": round(self.rate, 1),
            "reports": self.reports,
            "errors": self.errors,
            "problems": dict(sorted(self.problems.items())),
            "last_message_at": None
            if self.last_message_at is None
            else self.last_message_at.isoformat().replace("+00:00", "Z"),
            "last_error": self.last_error,
            "reconnects": self.reconnects,
        }


class FeedBoard:
    """Every configured feed's status (empty until the feeds start)."""

    def __init__(self) -> None:
        self.feeds: dict[str, FeedStatus] = {}
        # Which gateway holds the links lease (a scale-out gateway's links only).
        self.lease: LinksLeaseStatus | None = None

    def summary(self) -> dict[str, Any]:
        """For the public health check: counts only, no names."""
        statuses = self.feeds.values()
        summary: dict[str, Any] = {
            "configured": len(self.feeds),
            "connected": sum(1 for status in statuses if status.connected),
        }
        if self.lease is not None:
            summary["links_lease"] = self.lease.public()
        return summary
