"""No alert reaches a viewer who may not see the track that raised it (nor the friendly
track or the area it names): Hypothesis draws labels, pictures and principals."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from tessera.alerting.model import raised_alert
from tessera.alerting.visibility import may_receive, webhook_receives
from tessera.core.alerts.evaluator import AlertAction, PictureAlerts
from tessera.core.alerts.rules import AlertRule, RuleKind, WebhookTarget
from tessera.core.labels import DEFAULT_LEVELS, AdmissionRule, ClassificationScheme, Picture
from tessera.core.model import Identity, Label, Principal, Role
from tessera.security.policy import may_read_label, may_read_picture
from tests.store.builders import START, track

SCHEME = ClassificationScheme()
COMMUNITIES = ("NATO", "UKR", "POL", "EU")
levels = st.sampled_from(DEFAULT_LEVELS)
communities = st.lists(st.sampled_from(COMMUNITIES), max_size=3, unique=True).map(tuple)
labels = st.builds(Label, levels, communities)
principals = st.builds(
    Principal,
    name=st.sampled_from(["a", "b", "c"]),
    communities=communities,
    clearance=levels,
    unrestricted=st.booleans(),
    roles=st.just((Role.VIEWER,)),
    disabled=st.booleans(),
)
pictures = st.builds(
    Picture,
    name=st.just("P"),
    rule=st.builds(
        AdmissionRule,
        max_classification=st.none() | levels,
        releasable_to=st.none() | st.sampled_from(COMMUNITIES),
    ),
    readers=st.just(("*",)),
)


@settings(max_examples=300, deadline=None)
@given(
    picture=pictures,
    hostile_label=labels,
    friend_label=labels,
    viewers=st.lists(principals, min_size=1, max_size=4),
    most=st.none() | labels,
)
def test_no_alert_reaches_a_viewer_who_may_not_see_its_tracks(
    picture: Picture,
    hostile_label: Label,
    friend_label: Label,
    viewers: list[Principal],
    most: Label | None,
) -> None:
    alerts = PictureAlerts(picture.name, SCHEME)
    for rule in (
        AlertRule(id="near", picture="P", kind=RuleKind.PROXIMITY, distance_km=5.0),
        AlertRule(id="new", picture="P", kind=RuleKind.NEW_HOSTILE),
    ):
        alerts.set_rule(rule, START)
    friend = track("f", 50.0, 10.0, identity=Identity.FRIEND, label=friend_label)
    hostile = track("h", 50.01, 10.0, identity=Identity.HOSTILE, label=hostile_label)
    changes = alerts.apply(START + timedelta(seconds=1), tracks=[friend, hostile])
    assert sorted(c.rule.id for c in changes if c.action is AlertAction.RAISED) == ["near", "new"]
    target = WebhookTarget(name="w", url="http://x", secret="s" * 16, picture="P", label=most)
    for change in changes:
        alert = raised_alert(picture.name, change)
        named = [hostile_label] + ([friend_label] if change.rule.kind is RuleKind.PROXIMITY else [])
        for viewer in viewers:
            if may_receive(viewer, alert, {"P": picture}, SCHEME):
                assert may_read_picture(viewer, picture, SCHEME)
                assert all(may_read_label(viewer, label, SCHEME) for label in named)
        if most is not None and webhook_receives(target, alert, SCHEME):
            system = Principal(
                name="system", communities=most.releasable_to, clearance=most.classification
            )
            assert all(may_read_label(system, label, SCHEME) for label in named)
