"""Where alert rules, alerts and acknowledgements are kept: one interface per backend.

Also the listing other parts read (the after-action export of alerts and their
acknowledgements): ``alerts`` and ``acknowledgements`` over a time window of a picture.
Calls are short and local (the embedded store is SQLite in the data folder).
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from datetime import datetime

from tessera.alerting.model import Acknowledgement, Alert
from tessera.core.alerts.rules import AlertRule


class AlertStore(abc.ABC):
    @abc.abstractmethod
    def open(self) -> None: ...

    @abc.abstractmethod
    def close(self) -> None: ...

    @abc.abstractmethod
    def rules(self) -> list[AlertRule]:
        """Every rule kept (those made through the API and the map), by id."""

    @abc.abstractmethod
    def put_rule(self, rule: AlertRule) -> None: ...

    @abc.abstractmethod
    def delete_rule(self, rule_id: str) -> bool:
        """Whether there was such a rule."""

    @abc.abstractmethod
    def save(self, alert: Alert) -> None:
        """Keep ``alert`` as it now is (raised, cleared or acknowledged)."""

    @abc.abstractmethod
    def save_all(self, alerts: Sequence[Alert]) -> None:
        """``save`` each, all at once (one transaction)."""

    @abc.abstractmethod
    def alert(self, alert_id: str) -> Alert | None: ...

    @abc.abstractmethod
    def alerts(
        self,
        picture: str,
        *,
        active_only: bool = False,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = None,
    ) -> list[Alert]:
        """The picture's alerts raised in [since, until), oldest first; ``limit``: the
        newest that many."""

    @abc.abstractmethod
    def open_alerts(self) -> list[Alert]:
        """Every alert not cleared, of every picture."""

    @abc.abstractmethod
    def acknowledge(self, ack: Acknowledgement, alert: Alert) -> None:
        """Record ``ack`` and keep ``alert`` (already marked acknowledged) with it."""

    @abc.abstractmethod
    def acknowledgements(
        self, picture: str, *, since: datetime | None = None, until: datetime | None = None
    ) -> list[Acknowledgement]:
        """The picture's acknowledgements made in [since, until), oldest first."""
