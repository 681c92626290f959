"""One picture's alert rules over its changes: pure and deterministic.

``PictureAlerts`` keeps its own copy of the picture (tracks and overlays, from the change
feed) and, per rule and track, whether an episode is open. Each call gives the time it
judges at; the same calls in the same order give the same raises and clears. An episode
is raised once, when its condition starts, and cleared once, when it ends: with a margin
(areas, proximity) so a track jittering on an edge does not raise and clear in turn.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime

import msgspec
import numpy as np
from scipy.spatial import cKDTree

from tessera.core.alerts.emergency import is_emergency
from tessera.core.alerts.geometry import EARTH_RADIUS_M, signed_distance_m
from tessera.core.alerts.imagery import footprint_meets
from tessera.core.alerts.labels import joined_label
from tessera.core.alerts.overhead import OverheadWatch, warning_detail
from tessera.core.alerts.rules import AREA_KINDS, FRIENDLY, AlertRule, RuleKind
from tessera.core.labels import ClassificationScheme
from tessera.core.model import Identity, Label, Track, TrackStatus
from tessera.core.overlays import Overlay
from tessera.core.space.catalog import Satellite

EpisodeKey = tuple[str, str]  # (rule id, track id)


class AlertAction(enum.StrEnum):
    RAISED = "raised"
    CLEARED = "cleared"


class AlertChange(msgspec.Struct, frozen=True, kw_only=True):
    """An episode raised or cleared. ``track``: the track as it then was (None once it
    left the picture); ``other``: the friendly track (proximity) or the area's overlay."""

    action: AlertAction
    rule: AlertRule
    track_id: str
    at: datetime
    label: Label
    track: Track | None
    other: str | None = None
    detail: str = ""
    # What the alert is about when it is no track (a new image: its footprint's name and
    # centre as lat, lon).
    name: str | None = None
    where: tuple[float, float] | None = None


class _Verdict(msgspec.Struct, frozen=True):
    active: bool
    labels: tuple[Label, ...] = ()
    other: str | None = None
    detail: str = ""


_QUIET = _Verdict(False)


class PictureAlerts:
    def __init__(self, picture: str, scheme: ClassificationScheme) -> None:
        self.picture = picture
        self._scheme = scheme
        self.tracks: dict[str, Track] = {}
        self.overlays: dict[str, Overlay] = {}
        self.rules: dict[str, AlertRule] = {}
        self._open: dict[EpisodeKey, AlertChange] = {}
        self._inside: dict[EpisodeKey, bool] = {}
        self._was_inside: set[EpisodeKey] = set()
        self._inside_since: dict[EpisodeKey, datetime] = {}
        self._announced: set[EpisodeKey] = set()
        # The friendly tracks, by position on the unit sphere (rebuilt when one changes).
        self._friendly: tuple[list[str], cKDTree] | None = None
        self._nearest: dict[str, tuple[float, str]] = {}
        self.overhead = OverheadWatch()

    # -- what changes ----------------------------------------------------------------------

    def set_rule(self, rule: AlertRule, now: datetime) -> list[AlertChange]:
        """Add or replace a rule: a replaced rule's episodes end, then every track is
        judged by the new one."""
        changes = self.drop_rule(rule.id, now)
        self.rules[rule.id] = rule
        if rule.enabled and rule.kind is RuleKind.NEW_IMAGERY:
            changes += self._judge_imagery(rule, self.overlays.values(), now)
        elif rule.enabled:
            changes += self._judge_all(rule, self.tracks.values(), now)
        return changes

    def drop_rule(self, rule_id: str, now: datetime) -> list[AlertChange]:
        self.rules.pop(rule_id, None)
        keys = [key for key in {*self._open, *self._inside, *self._announced} if key[0] == rule_id]
        changes = [self._clear(key, now, None, "rule changed") for key in keys if key in self._open]
        for key in keys:
            self._forget(key)
        return changes

    def apply(
        self,
        now: datetime,
        *,
        tracks: Iterable[Track] = (),
        removed: Iterable[str] = (),
        overlays: Iterable[Overlay] = (),
        removed_overlays: Iterable[str] = (),
    ) -> list[AlertChange]:
        """A batch of the change feed: tracks new or changed, and gone; overlays too."""
        changed = list(tracks)
        gone = list(removed)
        friendly_moved = any(self._friendly_now_or_before(t.id, t) for t in changed) or any(
            self._friendly_now_or_before(i, None) for i in gone
        )
        for track in changed:
            self.tracks[track.id] = track
        for track_id in gone:
            self.tracks.pop(track_id, None)
        if friendly_moved:
            self._friendly = None
        overlays = list(overlays)
        areas = {overlay.id for overlay in overlays} | set(removed_overlays)
        for overlay in overlays:
            self.overlays[overlay.id] = overlay
        for overlay_id in removed_overlays:
            self.overlays.pop(overlay_id, None)
        result: list[AlertChange] = []
        for track_id in gone:
            for key in [key for key in self._open if key[1] == track_id]:
                result.append(self._clear(key, now, None, "the track left the picture"))
            for rule_id in self.rules:
                self._forget((rule_id, track_id))
            self.overhead.forget(track_id)
        for overlay_id in removed_overlays:
            for key in [key for key in self._open if key[1] == overlay_id]:
                result.append(self._clear(key, now, None, "the image left the picture"))
        for rule in list(self.rules.values()):
            if not rule.enabled:
                continue
            if rule.kind is RuleKind.NEW_IMAGERY:
                judged = self.overlays.values() if rule.area in areas else overlays
                result += self._judge_imagery(rule, judged, now)
                continue
            everything = (rule.kind is RuleKind.PROXIMITY and friendly_moved) or (
                rule.area is not None and rule.area in areas
            )
            result += self._judge_all(rule, self.tracks.values() if everything else changed, now)
        return result

    def set_satellites(self, satellites: list[Satellite], now: datetime) -> list[AlertChange]:
        """The satellites the picture admits; satellite-pass rules judged again if the
        threatening ones changed."""
        if not self.overhead.set_satellites(satellites):
            return []
        return self.tick(now)

    def tick(self, now: datetime) -> list[AlertChange]:
        """Time passing: dwell, lost and satellite-pass rules are judged again."""
        result: list[AlertChange] = []
        for rule in list(self.rules.values()):
            if not rule.enabled:
                continue
            if rule.kind in (RuleKind.LOST, RuleKind.OVERHEAD):
                result += self._judge_all(rule, self.tracks.values(), now)
            elif rule.kind is RuleKind.DWELL:
                # Time only matters to the tracks in the area.
                inside = [self.tracks[t] for r, t in self._inside_since if r == rule.id]
                result += self._judge_all(rule, inside, now)
        return result

    def open_episodes(self) -> list[AlertChange]:
        """The raise of every episode open now."""
        return list(self._open.values())

    # -- judging ---------------------------------------------------------------------------

    def _judge_all(
        self, rule: AlertRule, tracks: Iterable[Track], now: datetime
    ) -> list[AlertChange]:
        result: list[AlertChange] = []
        judged = [track for track in tracks if track.id in self.tracks]
        if rule.kind is RuleKind.PROXIMITY:
            self._nearest = self._nearest_friends([t for t in judged if t.identity in rule.watched])
        if rule.kind is RuleKind.OVERHEAD:
            units = [t for t in judged if t.identity in rule.watched]
            self.overhead.prepare(units, now, rule.lead_s or 0.0)
        for track in judged:
            key = (rule.id, track.id)
            verdict = self._verdict(rule, track, key, now)
            if verdict.active and key not in self._open:
                if rule.kind is RuleKind.NEW_HOSTILE:
                    if key in self._announced:
                        continue
                    self._announced.add(key)
                labels = (track.label, *verdict.labels)
                raised = AlertChange(
                    action=AlertAction.RAISED,
                    rule=rule,
                    track_id=track.id,
                    at=now,
                    label=joined_label(labels, self._scheme),
                    track=track,
                    other=verdict.other,
                    detail=verdict.detail,
                )
                self._open[key] = raised
                result.append(raised)
            elif not verdict.active and key in self._open:
                result.append(self._clear(key, now, track, verdict.detail))
        return result

    def _judge_imagery(
        self, rule: AlertRule, overlays: Iterable[Overlay], now: datetime
    ) -> list[AlertChange]:
        """Each image among ``overlays`` over the rule's area: an episode while it is on
        the picture and meets the area."""
        area = None if rule.area is None else self.overlays.get(rule.area)
        result: list[AlertChange] = []
        for image in list(overlays):
            if image.imagery is None or image.id not in self.overlays:
                continue
            key = (rule.id, image.id)
            over = (rule.area is None or area is not None) and footprint_meets(image, area)
            if over and key not in self._open:
                labels = (image.label,) if area is None else (image.label, area.label)
                where = area.name if area is not None else "the picture"
                raised = AlertChange(
                    action=AlertAction.RAISED,
                    rule=rule,
                    track_id=image.id,
                    at=now,
                    label=joined_label(labels, self._scheme),
                    track=None,
                    other=None if area is None else area.id,
                    detail=f"new imagery over {where}: {image.name}",
                    name=image.name,
                    where=_centre(image),
                )
                self._open[key] = raised
                result.append(raised)
            elif not over and key in self._open:
                result.append(self._clear(key, now, None, "the image no longer meets the area"))
        return result

    def _verdict(self, rule: AlertRule, track: Track, key: EpisodeKey, now: datetime) -> _Verdict:
        if rule.kind is RuleKind.EMERGENCY:
            return _Verdict(is_emergency(track), detail="emergency")
        if track.identity not in rule.watched:
            return _QUIET
        if rule.kind is RuleKind.LOST:
            silent = (now - track.updated_at).total_seconds()
            lost = track.status is TrackStatus.DEAD or silent >= (rule.lost_after_s or 0.0)
            return _Verdict(lost, detail=f"no update for {silent:.0f} s")
        if track.status is TrackStatus.DEAD:
            return _QUIET
        if rule.kind is RuleKind.NEW_HOSTILE:
            return _Verdict(track.identity is Identity.HOSTILE, detail="new hostile track")
        if rule.kind is RuleKind.PROXIMITY:
            return self._proximity(rule, track, key)
        if rule.kind in AREA_KINDS:
            return self._area(rule, track, key, now)
        if rule.kind is RuleKind.OVERHEAD:
            found = self.overhead.next_pass(track, now, rule.lead_s or 0.0)
            if found is None:
                return _QUIET
            return _Verdict(True, (found.label,), f"norad:{found.norad_id}", warning_detail(found))
        return _QUIET

    def _area(self, rule: AlertRule, track: Track, key: EpisodeKey, now: datetime) -> _Verdict:
        area = self.overlays.get(rule.area or "")
        outside = None if area is None else signed_distance_m(area, *_lat_lon(track))
        if area is None or outside is None:
            self._inside.pop(key, None)
            self._inside_since.pop(key, None)
            return _QUIET
        was = self._inside.get(key, False)
        inside = outside <= 0.0 or (was and outside <= rule.margin_m)
        self._inside[key] = inside
        if inside:
            self._was_inside.add(key)
            self._inside_since.setdefault(key, now)
        else:
            self._inside_since.pop(key, None)
        labels = (area.label,)
        if rule.kind is RuleKind.ENTER:
            return _Verdict(inside, labels, area.id, f"in {area.name}")
        if rule.kind is RuleKind.LEAVE:
            left = not inside and key in self._was_inside
            return _Verdict(left, labels, area.id, f"left {area.name}")
        since = self._inside_since.get(key)
        stayed = since is not None and (now - since).total_seconds() >= (rule.dwell_s or 0.0)
        return _Verdict(stayed, labels, area.id, f"stayed in {area.name}")

    def _proximity(self, rule: AlertRule, track: Track, key: EpisodeKey) -> _Verdict:
        nearest = self._nearest.get(track.id)
        if nearest is None:
            return _QUIET
        metres, friend_id = nearest
        reach = (rule.distance_km or 0.0) * 1000.0
        if key in self._open:
            reach += rule.margin_m
        friend = self.tracks[friend_id]
        shown = friend.name or friend.id
        detail = f"{metres / 1000:.1f} km from {shown}"
        return _Verdict(metres <= reach, (friend.label,), friend.id, detail)

    def _nearest_friends(self, tracks: list[Track]) -> dict[str, tuple[float, str]]:
        """Each track's nearest friendly track (not itself): metres and id."""
        ids, tree = self._friendlies()
        if not tracks or not ids:
            return {}
        wanted = min(2, len(ids))
        chords, found = tree.query(_unit_vectors(tracks), k=wanted)
        chords = np.asarray(chords).reshape(len(tracks), wanted)
        found = np.asarray(found).reshape(len(tracks), wanted)
        nearest: dict[str, tuple[float, str]] = {}
        for row, track in enumerate(tracks):
            for chord, index in zip(chords[row], found[row], strict=True):
                if ids[index] != track.id:
                    arc = 2 * EARTH_RADIUS_M * float(np.arcsin(min(1.0, chord / 2)))
                    nearest[track.id] = (arc, ids[index])
                    break
        return nearest

    def _friendly_now_or_before(self, track_id: str, track: Track | None) -> bool:
        old = self.tracks.get(track_id)
        return (track is not None and track.identity in FRIENDLY) or (
            old is not None and old.identity in FRIENDLY
        )

    def _friendlies(self) -> tuple[list[str], cKDTree]:
        if self._friendly is None:
            friends = [
                t
                for t in self.tracks.values()
                if t.identity in FRIENDLY and t.status is not TrackStatus.DEAD
            ]
            points = _unit_vectors(friends) if friends else np.zeros((1, 3))
            self._friendly = ([t.id for t in friends], cKDTree(points))
        return self._friendly

    # -- bookkeeping -----------------------------------------------------------------------

    def _clear(
        self, key: EpisodeKey, now: datetime, track: Track | None, detail: str
    ) -> AlertChange:
        raised = self._open.pop(key)
        return AlertChange(
            action=AlertAction.CLEARED,
            rule=raised.rule,
            track_id=raised.track_id,
            at=now,
            label=raised.label,
            track=track,
            other=raised.other,
            detail=detail,
            name=raised.name,
            where=raised.where,
        )

    def _forget(self, key: EpisodeKey) -> None:
        self._open.pop(key, None)
        self._inside.pop(key, None)
        self._was_inside.discard(key)
        self._inside_since.pop(key, None)
        self._announced.discard(key)


def _unit_vectors(tracks: list[Track]) -> np.ndarray:
    lat = np.radians([t.position.lat for t in tracks])
    lon = np.radians([t.position.lon for t in tracks])
    return np.column_stack((np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)))


def _centre(overlay: Overlay) -> tuple[float, float]:
    """The mean of an overlay's distinct positions, as lat, lon."""
    points = overlay.coordinates[:-1] or overlay.coordinates
    return (
        sum(point[1] for point in points) / len(points),
        sum(point[0] for point in points) / len(points),
    )


def _lat_lon(track: Track) -> tuple[float, float]:
    return track.position.lat, track.position.lon
