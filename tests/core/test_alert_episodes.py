"""Whatever the tracks do, each rule and track alternates: raised, cleared, raised...;
never raised twice in a row, never cleared without being raised (Hypothesis)."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from tessera.core.alerts.evaluator import AlertAction, PictureAlerts
from tessera.core.alerts.rules import AlertRule, RuleKind
from tessera.core.labels import ClassificationScheme
from tessera.core.model import Identity, TrackStatus
from tessera.core.overlays import OverlayKind
from tests.store.builders import START, overlay, track

BOX = overlay(
    "box", OverlayKind.AREA, [(10.0, 50.0), (10.1, 50.0), (10.1, 50.1), (10.0, 50.1), (10.0, 50.0)]
)
RULES = [
    AlertRule(id="enter", picture="P", kind=RuleKind.ENTER, area="box"),
    AlertRule(id="leave", picture="P", kind=RuleKind.LEAVE, area="box"),
    AlertRule(id="dwell", picture="P", kind=RuleKind.DWELL, area="box", dwell_s=30.0),
    AlertRule(id="new", picture="P", kind=RuleKind.NEW_HOSTILE),
    AlertRule(id="near", picture="P", kind=RuleKind.PROXIMITY, distance_km=3.0),
    AlertRule(id="lost", picture="P", kind=RuleKind.LOST, lost_after_s=60.0),
    AlertRule(id="sos", picture="P", kind=RuleKind.EMERGENCY),
]
steps = st.lists(
    st.one_of(
        st.tuples(
            st.just("track"),
            st.sampled_from(["a", "b", "f"]),
            st.floats(49.95, 50.15),
            st.sampled_from([Identity.HOSTILE, Identity.UNKNOWN, Identity.FRIEND]),
            st.sampled_from([TrackStatus.CONFIRMED, TrackStatus.COASTING, TrackStatus.DEAD]),
        ),
        st.tuples(st.just("gone"), st.sampled_from(["a", "b", "f"])),
        st.tuples(st.just("tick")),
        st.tuples(st.just("rule"), st.sampled_from(RULES)),
        st.tuples(st.just("area"), st.booleans()),
    ),
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(steps)
def test_episodes_alternate(script: list[tuple[object, ...]]) -> None:
    alerts = PictureAlerts("P", ClassificationScheme())
    alerts.apply(START, overlays=[BOX])
    for rule in RULES:
        alerts.set_rule(rule, START)
    history: dict[tuple[str, str], list[AlertAction]] = defaultdict(list)
    for second, step in enumerate(script, start=1):
        now = START + timedelta(seconds=10 * second)
        if step[0] == "track":
            _, track_id, lat, identity, status = step
            moved = track(
                str(track_id),
                float(lat),  # type: ignore[arg-type]
                10.05,
                identity=identity,
                status=status,
                updated_at=now,
            )
            changes = alerts.apply(now, tracks=[moved])
        elif step[0] == "gone":
            changes = alerts.apply(now, removed=[str(step[1])])
        elif step[0] == "tick":
            changes = alerts.tick(now)
        elif step[0] == "rule":
            changes = alerts.set_rule(step[1], now)  # type: ignore[arg-type]
        elif step[1]:
            changes = alerts.apply(now, overlays=[BOX])
        else:
            changes = alerts.apply(now, removed_overlays=["box"])
        for change in changes:
            history[(change.rule.id, change.track_id)].append(change.action)
    open_now = {(c.rule.id, c.track_id) for c in alerts.open_episodes()}
    for key, actions in history.items():
        expected = [AlertAction.RAISED, AlertAction.CLEARED] * len(actions)
        assert actions == expected[: len(actions)], key
        assert (actions[-1] is AlertAction.RAISED) == (key in open_now)
