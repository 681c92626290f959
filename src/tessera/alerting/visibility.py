"""Who may be told of an alert: a reader of its picture who may read its label (that of
the track that raised it), and a webhook within the label it was given (DESIGN §3)."""

from __future__ import annotations

from collections.abc import Mapping

from tessera.alerting.model import Alert
from tessera.core.alerts.rules import WebhookTarget
from tessera.core.labels import ClassificationScheme, Picture
from tessera.core.model import Label, Principal
from tessera.security.policy import may_read_label, may_read_picture


def may_receive(
    principal: Principal,
    alert: Alert,
    pictures: Mapping[str, Picture],
    scheme: ClassificationScheme,
) -> bool:
    picture = pictures.get(alert.picture)
    return (
        picture is not None
        and may_read_picture(principal, picture, scheme)
        and may_read_label(principal, alert.label, scheme)
    )


def within(label: Label, most: Label | None, scheme: ClassificationScheme) -> bool:
    """Whether ``label`` may go to a system cleared for ``most`` (None: anything)."""
    if most is None:
        return True
    if scheme.rank(label.classification) > scheme.rank(most.classification):
        return False
    return not label.releasable_to or not set(label.releasable_to).isdisjoint(most.releasable_to)


def webhook_receives(target: WebhookTarget, alert: Alert, scheme: ClassificationScheme) -> bool:
    return target.picture == alert.picture and within(alert.label, target.label, scheme)
