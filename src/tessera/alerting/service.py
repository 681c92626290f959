"""The alert service: each picture's rules judged over its change feed (DESIGN §10:
alerts read the picture, never feed it), the alerts kept, and every raise, clear and
acknowledgement told to the feed (streams, TAK clients) and the webhooks.

Restarting loses nothing: the alerts still open are read back, the rules judged again
over the picture as it stands, and an episode still going on keeps its alert (the same
id, not raised again); one that ended meanwhile is cleared.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import msgspec

from tessera.alerting.base import AlertStore
from tessera.alerting.feed import AlertFeed
from tessera.alerting.model import Acknowledgement, Alert, AlertNotice, NoticeKind, raised_alert
from tessera.alerting.webhooks import WebhookSender
from tessera.bus.base import Change, ChangeBus, Subscriber
from tessera.core.alerts.evaluator import AlertAction, AlertChange, PictureAlerts
from tessera.core.alerts.rules import AlertRule, AlertSettings
from tessera.core.labels import ClassificationScheme
from tessera.core.space.catalog import Satellite
from tessera.store.base import TrackQuery, TrackStore

log = logging.getLogger(__name__)
SETTINGS_ORIGIN = "settings"


class RuleReadOnlyError(Exception):
    """The rule is made in the settings file: change it there."""


class AlertService:
    def __init__(
        self,
        *,
        settings: AlertSettings,
        pictures: Sequence[str],
        scheme: ClassificationScheme,
        store: AlertStore,
        bus: ChangeBus,
        tracks: TrackStore,
        clock: Callable[[], datetime],
        webhooks: WebhookSender | None = None,
        satellites: Callable[[str], list[Satellite]] | None = None,
    ) -> None:
        self._settings = settings
        self._scheme = scheme
        self.store = store
        self._bus = bus
        self._tracks = tracks
        self._clock = clock
        # The satellites each picture admits (its satellite-pass rules watch them).
        self._satellites = satellites
        self.webhooks = webhooks or WebhookSender(settings, scheme, clock)
        self.feed = AlertFeed()
        self.pictures = {name: PictureAlerts(name, scheme) for name in pictures}
        self._fixed = {
            rule.id: msgspec.structs.replace(rule, origin=SETTINGS_ORIGIN)
            for rule in settings.rules
        }
        self._open: dict[tuple[str, str, str], Alert] = {}
        self._subscribers: dict[str, Subscriber] = {}
        self._tasks: list[asyncio.Task[None]] = []

    # -- running ---------------------------------------------------------------------------

    async def start(self, *, follow: bool = True) -> None:
        """Read back the open alerts, judge every rule over the pictures as they stand,
        then (``follow``) follow their change feeds and the clock."""
        self.store.open()
        self._open = {alert.key: alert for alert in self.store.open_alerts()}
        kept = [rule for rule in self.store.rules() if rule.id not in self._fixed]
        rules = [*self._fixed.values(), *kept]
        now = self._clock()
        for name, evaluator in self.pictures.items():
            query = TrackQuery()
            seq, tracks = self._tracks.tracks(name, query)
            _, overlays = self._tracks.overlays(name, query)
            if follow:
                subscriber = Subscriber(query, visible=None)
                self._bus.attach(name, subscriber, seq)
                self._subscribers[name] = subscriber
            evaluator.apply(now, tracks=tracks, overlays=overlays)
            if self._satellites is not None:
                evaluator.overhead.set_satellites(self._satellites(name))
            for rule in rules:
                if rule.picture == name:
                    self._record(name, evaluator.set_rule(rule, now))
            going_on = {(name, c.rule.id, c.track_id) for c in evaluator.open_episodes()}
            ended = [k for k in self._open if k[0] == name and k not in going_on]
            self._tell([self._closed(key, now) for key in ended])
        await self.webhooks.start()
        if follow:
            for name, subscriber in self._subscribers.items():
                self._tasks.append(asyncio.create_task(self._follow(name, subscriber)))
            self._tasks.append(asyncio.create_task(self._ticks(), name="alert-ticks"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        for name, subscriber in self._subscribers.items():
            self._bus.detach(name, subscriber)
        self._subscribers = {}
        await self.webhooks.stop()
        self.store.close()

    async def _follow(self, picture: str, subscriber: Subscriber) -> None:
        while True:
            changes = await subscriber.take()
            try:
                self.process(picture, changes, self._clock())
            except Exception:
                log.exception("alert rules of picture %s failed on a change", picture)

    async def _ticks(self) -> None:
        while True:
            await asyncio.sleep(self._settings.tick_s)
            try:
                self.tick(self._clock())
            except Exception:
                log.exception("alert rules failed on a tick")

    # -- judging ---------------------------------------------------------------------------

    def process(self, picture: str, changes: Sequence[Change], now: datetime) -> list[Alert]:
        """A batch of the picture's change feed; the alerts it raised or cleared."""
        tracks = [c for c in changes if c.kind == "track"]
        overlays = [c for c in changes if c.kind == "overlay"]
        judged = self.pictures[picture].apply(
            now,
            tracks=[c.track for c in tracks if c.track is not None],
            removed=[c.item_id for c in tracks if c.track is None],
            overlays=[c.overlay for c in overlays if c.overlay is not None],
            removed_overlays=[c.item_id for c in overlays if c.overlay is None],
        )
        return self._record(picture, judged)

    def tick(self, now: datetime) -> list[Alert]:
        done: list[Alert] = []
        for name, evaluator in self.pictures.items():
            if self._satellites is not None:
                done += self._record(name, evaluator.set_satellites(self._satellites(name), now))
            done += self._record(name, evaluator.tick(now))
        return done

    def _record(self, picture: str, changes: Sequence[AlertChange]) -> list[Alert]:
        notices: list[AlertNotice] = []
        for change in changes:
            key = (picture, change.rule.id, change.track_id)
            if change.action is AlertAction.RAISED:
                if key in self._open:
                    continue  # the episode's alert from before a restart goes on
                alert = raised_alert(picture, change)
                self._open[key] = alert
                notices.append(AlertNotice(event=NoticeKind.RAISED, alert=alert))
            elif key in self._open:
                notices.append(self._closed(key, change.at))
        self._tell(notices)
        return [notice.alert for notice in notices]

    def _closed(self, key: tuple[str, str, str], at: datetime) -> AlertNotice:
        alert = msgspec.structs.replace(self._open.pop(key), cleared_at=at)
        return AlertNotice(event=NoticeKind.CLEARED, alert=alert)

    def _tell(self, notices: Sequence[AlertNotice]) -> None:
        """Keep them (one transaction), then tell the listeners and the webhooks."""
        self.store.save_all([notice.alert for notice in notices])
        for notice in notices:
            self.feed.publish(notice)
            self.webhooks.offer(notice)

    # -- rules -----------------------------------------------------------------------------

    def rules(self, picture: str) -> list[AlertRule]:
        return sorted(self.pictures[picture].rules.values(), key=lambda rule: rule.id)

    def rule(self, rule_id: str) -> AlertRule | None:
        for evaluator in self.pictures.values():
            if rule_id in evaluator.rules:
                return evaluator.rules[rule_id]
        return None

    def put_rule(self, rule: AlertRule) -> list[Alert]:
        """Add or replace a rule (not one of the settings'); judged at once."""
        if rule.id in self._fixed:
            raise RuleReadOnlyError(rule.id)
        now = self._clock()
        done: list[Alert] = []
        old = self.rule(rule.id)
        if old is not None and old.picture != rule.picture:
            done += self._record(old.picture, self.pictures[old.picture].drop_rule(rule.id, now))
        self.store.put_rule(rule)
        return done + self._record(rule.picture, self.pictures[rule.picture].set_rule(rule, now))

    def delete_rule(self, rule_id: str) -> bool:
        if rule_id in self._fixed:
            raise RuleReadOnlyError(rule_id)
        old = self.rule(rule_id)
        if old is None:
            return False
        self.store.delete_rule(rule_id)
        self._record(old.picture, self.pictures[old.picture].drop_rule(rule_id, self._clock()))
        return True

    # -- alerts ----------------------------------------------------------------------------

    def acknowledge(self, alert: Alert, by: str, note: str = "") -> Alert:
        now = self._clock()
        acknowledged = msgspec.structs.replace(alert, acknowledged_at=now, acknowledged_by=by)
        if alert.key in self._open and self._open[alert.key].id == alert.id:
            self._open[alert.key] = acknowledged
        ack = Acknowledgement(alert_id=alert.id, picture=alert.picture, by=by, at=now, note=note)
        self.store.acknowledge(ack, acknowledged)
        notice = AlertNotice(event=NoticeKind.ACKNOWLEDGED, alert=acknowledged)
        self.feed.publish(notice)
        self.webhooks.offer(notice)
        return acknowledged

    def health(self) -> dict[str, Any]:
        return {"webhooks": self.webhooks.status()}

    def status(self) -> dict[str, Any]:
        return {
            "open": len(self._open),
            "rules": sum(len(e.rules) for e in self.pictures.values()),
            "webhooks": self.webhooks.counts(),
        }
