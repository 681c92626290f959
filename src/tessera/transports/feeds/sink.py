"""What a feed decoded, made into its principal's reports and overlays and journaled:
the same checks as any other report (the label it may use, the sources it owns, ids
scoped to it), the feed's grading on every report."""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final, Protocol

from tessera.codecs.feed_model import Decoded, Footprint, Sighting, Squawk
from tessera.core.alerts.emergency import emergency_subject
from tessera.core.model import (
    Grading,
    Label,
    Position,
    Principal,
    Report,
    Source,
    SourceKind,
    Velocity,
)
from tessera.core.overlays import Overlay, OverlayKind, OverlayRevision
from tessera.core.symbols import sidc_problem, with_identity
from tessera.security.policy import submission_refusal
from tessera.security.scoping import Submitter, label_text
from tessera.transports.feeds.config import FeedConfig
from tessera.transports.source_host import SourceHost

if TYPE_CHECKING:
    from collections.abc import Callable

    from tessera.transports.feeds.base import FeedBoard


class Feeding(SourceHost, Protocol):
    """What the sensor feeds need of a running Tessera (``app.Tessera`` is one)."""

    feeds: FeedBoard
    new_report_id: Callable[[], str]

    async def submitter(self, principal: Principal, own_uid: str | None = None) -> Submitter: ...


log = logging.getLogger(__name__)
# A footprint stands this long without an update (then it is stale on the map).
FOOTPRINT_HOLD: Final = timedelta(seconds=30)
MAX_TEXT: Final = 256


class FeedSetupError(RuntimeError):
    """The feed cannot report yet (its principal is missing, or has no usable label)."""


class FeedSink:
    def __init__(self, tessera: Feeding, config: FeedConfig) -> None:
        self._tessera = tessera
        self._config = config
        self._maker: ReportMaker | None = None
        self._principal: Principal | None = None
        self._label: Label | None = None
        self._submitter: Submitter | None = None
        # Per subject (or footprint): when it was last reported (min_interval_s).
        self._last_sent: dict[str, datetime] = {}

    async def ready(self) -> None:
        """Find the principal and the label it reports under; FeedSetupError if it cannot."""
        tessera, config = self._tessera, self._config
        principal = await tessera.security.principal(config.principal)
        if principal is None or principal.disabled:
            raise FeedSetupError(f"principal {config.principal!r} does not exist or is disabled")
        label = (
            config.label
            or tessera.settings.source_labels.get(config.name)
            or principal.default_label
        )
        if label is None:
            raise FeedSetupError(
                f"no label: give feed {config.name!r} a label, or its principal a default"
            )
        if refusal := submission_refusal(principal, label, tessera.scheme):
            raise FeedSetupError(f"label refused for {config.principal!r}: {refusal}")
        self._principal, self._label = principal, label
        self._maker = ReportMaker(config, label, tessera.new_report_id)
        self._submitter = await tessera.submitter(principal)

    async def put(self, decoded: Decoded, now: datetime) -> int:
        """Journal what was decoded (one atomic append); how many items were journaled."""
        submitter, label, maker = self._submitter, self._label, self._maker
        if submitter is None or label is None or maker is None:
            raise FeedSetupError("the feed is not ready")
        items: list[Report | OverlayRevision] = []
        for sighting in decoded.sightings:
            if sighting.subject is not None and self._throttled(sighting.subject, now):
                continue
            report = maker.report(sighting, now)
            if report is None:
                decoded.problems.append("implausible position")
                continue
            refusal = submitter.refusal(report)
            if refusal is not None:
                raise FeedSetupError(refusal.reason)
            items.append(submitter.own(report))
        for footprint in decoded.footprints:
            if not self._throttled("footprint/" + footprint.platform, now):
                items.append(self._footprint(footprint, now, label))
        for squawk in decoded.squawks:
            log.warning(
                "feed %s: %s %s %s (%s)",
                self._config.name,
                squawk.subject,
                "no longer squawks" if squawk.cleared else "squawks",
                squawk.code,
                squawk.meaning,
            )
            emergency = maker.emergency(squawk, now)
            if emergency is not None:
                items.append(submitter.own(emergency))
        if items:
            await self._tessera.journal.append(items)
        return len(items)

    def _throttled(self, key: str, now: datetime) -> bool:
        interval = self._config.min_interval_s
        if interval <= 0:
            return False
        last = self._last_sent.get(key)
        if last is not None and (now - last).total_seconds() < interval:
            return True
        self._last_sent[key] = now
        return False

    def _footprint(self, footprint: Footprint, now: datetime, label: Label) -> OverlayRevision:
        principal = self._principal
        assert principal is not None
        ids = self._tessera.ids
        what = f"feed/{self._config.name}/{footprint.platform}/footprint/{label_text(label)}"
        overlay_id = "ov-" + ids.revision_id(principal.name, what)
        ring = (*footprint.corners, footprint.corners[0])
        overlay = Overlay(
            id=overlay_id,
            name=_text(footprint.name) or "sensor footprint",
            kind=OverlayKind.AREA,
            coordinates=tuple((lon, lat) for lon, lat in ring),
            remarks=f"sensor footprint from feed {self._config.name}",
            valid_from=now,
            valid_to=now + FOOTPRINT_HOLD,
            label=label,
            author=principal.name,
            updated_at=now,
        )
        revision_id = ids.revision_id(principal.name, f"{overlay_id}/{uuid.uuid4().hex}")
        return OverlayRevision(
            id=revision_id, overlay_id=overlay_id, overlay=overlay, by=principal.name
        )


def own_subject(feed: str, subject: str) -> str:
    """The subject of a platform a feed carries itself (``FeedConfig.own_subjects``)."""
    return f"{feed}:{subject}"


class ReportMaker:
    """A feed's sightings as reports: its source, grading, identity and label."""

    def __init__(self, config: FeedConfig, label: Label, new_id: Callable[[], str]) -> None:
        self._config = config
        self._label = label
        self._new_id = new_id
        self._grading = Grading.parse(config.grading)
        self._identity = config.reported_identity

    def emergency(self, squawk: Squawk, now: datetime) -> Report | None:
        """An emergency squawk as the picture marks emergencies (the alert service's
        emergency rule raises on it), or its end (a retraction); None without a position."""
        if squawk.lat is None or squawk.lon is None:
            return None
        if not _plausible_point(squawk.lat, squawk.lon):
            return None
        return Report(
            id=self._new_id(),
            source=Source(id=self._config.name, kind=SourceKind.SENSOR),
            observed_at=now,
            position=Position(lat=squawk.lat, lon=squawk.lon),
            subject=emergency_subject(f"{self._config.name}.{squawk.subject}"),
            identity=self._identity,
            grading=self._grading,
            label=self._label,
            remarks=f"{squawk.subject} squawks {squawk.code}: {squawk.meaning}",
            retraction=squawk.cleared,
        )

    def report(self, sighting: Sighting, now: datetime) -> Report | None:
        """The report of ``sighting`` received ``now``; None if its values are implausible."""
        if not _plausible(sighting):
            return None
        identity = sighting.identity or self._identity
        velocity = None
        if sighting.course is not None and sighting.speed is not None:
            velocity = Velocity(course=sighting.course % 360.0, speed=sighting.speed)
        sidc = sighting.sidc
        if sidc is not None:
            sidc = None if sidc_problem(sidc) else with_identity(sidc, identity)
        name = _text(sighting.name) if sighting.name else None
        subject, kind = sighting.subject, sighting.kind
        if sighting.own and subject is not None:
            # The feed's own platforms: subjects under its name, which the settings grant.
            subject, kind = own_subject(self._config.name, subject), SourceKind.UNIT
        return Report(
            id=self._new_id(),
            source=Source(id=self._config.name, kind=kind),
            observed_at=now - timedelta(seconds=sighting.age_s),
            position=Position(lat=sighting.lat, lon=sighting.lon, alt=sighting.alt, ce=sighting.ce),
            velocity=velocity,
            subject=subject,
            identity=identity,
            sidc=sidc,
            grading=self._grading,
            label=self._label,
            remarks=_text(sighting.remarks, 4096),
            name=name or None,
        )


def _plausible_point(lat: float, lon: float) -> bool:
    return math.isfinite(lat + lon) and -90 <= lat <= 90 and -180 <= lon <= 180


def _plausible(sighting: Sighting) -> bool:
    numbers = [sighting.lat, sighting.lon, sighting.ce]
    if sighting.alt is not None:
        numbers.append(sighting.alt)
    if not all(math.isfinite(value) for value in numbers):
        return False
    if sighting.speed is not None and not (
        math.isfinite(sighting.speed) and 0 <= sighting.speed <= 10_000
    ):
        return False
    if sighting.course is not None and not math.isfinite(sighting.course):
        return False
    alt_ok = sighting.alt is None or -12_000 <= sighting.alt <= 1_000_000
    return (
        -90 <= sighting.lat <= 90
        and -180 <= sighting.lon <= 180
        and 0 < sighting.ce <= 1_000_000
        and alt_ok
    )


def _text(text: str, limit: int = MAX_TEXT) -> str:
    """Printable characters only (what a feed names things by is untrusted)."""
    return "".join(ch for ch in text if ch.isprintable())[:limit].strip()
