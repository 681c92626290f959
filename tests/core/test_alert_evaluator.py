"""Each rule kind raises once per episode, clears when its condition ends, and does not
flap on an edge (core.alerts.evaluator)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from tessera.core.alerts.emergency import emergency_subject, is_emergency
from tessera.core.alerts.evaluator import AlertAction, AlertChange, PictureAlerts
from tessera.core.alerts.geometry import signed_distance_m
from tessera.core.alerts.labels import NO_RELEASE, joined_label
from tessera.core.alerts.rules import AlertRule, RuleKind, rule_problems
from tessera.core.labels import ClassificationScheme
from tessera.core.model import Identity, Label, Position, Track, TrackStatus
from tessera.core.overlays import OverlayKind
from tests.store.builders import START, overlay, track

SCHEME = ClassificationScheme()
# A box about 11 km by 7 km around 50.05 N, 10.05 E.
BOX = overlay(
    "box",
    OverlayKind.AREA,
    [(10.0, 50.0), (10.1, 50.0), (10.1, 50.1), (10.0, 50.1), (10.0, 50.0)],
)
INSIDE = 50.05
OUTSIDE = 50.2
# Just past the north edge (50.1 N): about 55 m out, within the 100 m margin.
ON_THE_EDGE = 50.1005


def at(seconds: float) -> datetime:
    return START + timedelta(seconds=seconds)


def hostile(lat: float, lon: float = 10.05, **fields: Any) -> Track:
    return track("h1", lat, lon, identity=Identity.HOSTILE, **fields)


def actions(changes: list[AlertChange]) -> list[tuple[str, str, str]]:
    return [(c.action.value, c.rule.id, c.track_id) for c in changes]


def alerts_with(*rules: AlertRule) -> PictureAlerts:
    alerts = PictureAlerts("COP", SCHEME)
    alerts.apply(START, overlays=[BOX])
    for rule in rules:
        alerts.set_rule(rule, START)
    return alerts


def area_rule(kind: RuleKind, **fields: Any) -> AlertRule:
    return AlertRule(id=f"r-{kind.value}", picture="COP", kind=kind, area="box", **fields)


def test_enter_raised_once_per_stay_and_cleared_past_the_margin() -> None:
    alerts = alerts_with(area_rule(RuleKind.ENTER))
    assert alerts.apply(at(1), tracks=[hostile(OUTSIDE)]) == []
    assert actions(alerts.apply(at(2), tracks=[hostile(INSIDE)])) == [("raised", "r-enter", "h1")]
    # Moving about inside, and jittering just past the edge, raise nothing more.
    for second, lat in enumerate([INSIDE + 0.01, ON_THE_EDGE, INSIDE, ON_THE_EDGE], start=3):
        assert alerts.apply(at(second), tracks=[hostile(lat)]) == []
    cleared = alerts.apply(at(9), tracks=[hostile(OUTSIDE)])
    assert actions(cleared) == [("cleared", "r-enter", "h1")]
    assert actions(alerts.apply(at(10), tracks=[hostile(INSIDE)])) == [("raised", "r-enter", "h1")]


def test_enter_ignores_friends_and_watches_what_the_rule_says() -> None:
    alerts = alerts_with(area_rule(RuleKind.ENTER))
    friend = track("f1", INSIDE, 10.05, identity=Identity.FRIEND)
    assert alerts.apply(at(1), tracks=[friend]) == []
    unknown = track("u1", INSIDE, 10.05, identity=Identity.UNKNOWN)
    assert actions(alerts.apply(at(2), tracks=[unknown])) == [("raised", "r-enter", "u1")]
    # It turns out friendly: the episode ends.
    friendly = track("u1", INSIDE, 10.05, identity=Identity.FRIEND)
    assert actions(alerts.apply(at(3), tracks=[friendly])) == [("cleared", "r-enter", "u1")]


def test_leave_raised_when_a_track_that_was_in_goes_out() -> None:
    alerts = alerts_with(area_rule(RuleKind.LEAVE))
    assert alerts.apply(at(1), tracks=[hostile(OUTSIDE)]) == []  # never in: nothing
    assert alerts.apply(at(2), tracks=[hostile(INSIDE)]) == []
    assert alerts.apply(at(3), tracks=[hostile(ON_THE_EDGE)]) == []  # within the margin
    assert actions(alerts.apply(at(4), tracks=[hostile(OUTSIDE)])) == [("raised", "r-leave", "h1")]
    assert alerts.apply(at(5), tracks=[hostile(OUTSIDE + 0.1)]) == []
    assert actions(alerts.apply(at(6), tracks=[hostile(INSIDE)])) == [("cleared", "r-leave", "h1")]


def test_dwell_raised_after_the_time_inside() -> None:
    alerts = alerts_with(area_rule(RuleKind.DWELL, dwell_s=60.0))
    assert alerts.apply(at(0), tracks=[hostile(INSIDE)]) == []
    assert alerts.tick(at(59)) == []
    assert actions(alerts.tick(at(60))) == [("raised", "r-dwell", "h1")]
    assert alerts.tick(at(120)) == []
    assert alerts.apply(at(121), tracks=[hostile(ON_THE_EDGE)]) == []
    assert actions(alerts.apply(at(122), tracks=[hostile(OUTSIDE)])) == [
        ("cleared", "r-dwell", "h1")
    ]
    # Back in: the clock starts again.
    assert alerts.apply(at(130), tracks=[hostile(INSIDE)]) == []
    assert alerts.tick(at(189)) == []
    assert actions(alerts.tick(at(190))) == [("raised", "r-dwell", "h1")]


def test_new_hostile_raised_once_per_track() -> None:
    rule = AlertRule(id="r-new", picture="COP", kind=RuleKind.NEW_HOSTILE)
    alerts = alerts_with(rule)
    assert alerts.apply(at(1), tracks=[track("t1", identity=Identity.UNKNOWN)]) == []
    assert actions(alerts.apply(at(2), tracks=[track("t1", identity=Identity.HOSTILE)])) == [
        ("raised", "r-new", "t1")
    ]
    assert alerts.apply(at(3), tracks=[track("t1", 50.1, identity=Identity.HOSTILE)]) == []
    assert actions(alerts.apply(at(4), tracks=[track("t1", identity=Identity.SUSPECT)])) == [
        ("cleared", "r-new", "t1")
    ]
    # Flapping back to hostile is not new.
    assert alerts.apply(at(5), tracks=[track("t1", identity=Identity.HOSTILE)]) == []
    # Gone, and a new track: new again.
    assert alerts.apply(at(6), removed=["t1"]) == []
    assert actions(alerts.apply(at(7), tracks=[track("t2", identity=Identity.HOSTILE)])) == [
        ("raised", "r-new", "t2")
    ]


def test_proximity_with_margin_and_friends_moving() -> None:
    rule = AlertRule(id="r-near", picture="COP", kind=RuleKind.PROXIMITY, distance_km=5.0)
    alerts = alerts_with(rule)
    friend = track("f1", 50.0, 10.0, identity=Identity.FRIEND, name="1 PLT")
    assert alerts.apply(at(0), tracks=[friend]) == []
    # 0.05 degrees of latitude is about 5.56 km; 0.044 about 4.9 km.
    assert alerts.apply(at(1), tracks=[track("h1", 50.05, 10.0, identity=Identity.HOSTILE)]) == []
    raised = alerts.apply(at(2), tracks=[track("h1", 50.044, 10.0, identity=Identity.HOSTILE)])
    assert actions(raised) == [("raised", "r-near", "h1")]
    assert raised[0].other == "f1" and "1 PLT" in raised[0].detail
    # 5.05 km: past the distance but within the 100 m margin.
    assert alerts.apply(at(3), tracks=[track("h1", 50.0454, 10.0, identity=Identity.HOSTILE)]) == []
    # The friend moves away: cleared without the hostile moving.
    away = track("f1", 49.9, 10.0, identity=Identity.FRIEND)
    assert actions(alerts.apply(at(4), tracks=[away])) == [("cleared", "r-near", "h1")]
    # Back where it was the hostile is 5.05 km away (outside: the margin only holds an
    # open episode); a little closer, it is raised again.
    assert alerts.apply(at(5), tracks=[friend]) == []
    closer = track("f1", 50.001, 10.0, identity=Identity.FRIEND)
    assert actions(alerts.apply(at(6), tracks=[closer])) == [("raised", "r-near", "h1")]


def test_lost_raised_when_silent_and_cleared_by_an_update() -> None:
    rule = AlertRule(id="r-lost", picture="COP", kind=RuleKind.LOST, lost_after_s=120.0)
    alerts = alerts_with(rule)
    assert alerts.apply(at(0), tracks=[track("t1", updated_at=START)]) == []
    assert alerts.tick(at(119)) == []
    assert actions(alerts.tick(at(120))) == [("raised", "r-lost", "t1")]
    assert alerts.tick(at(200)) == []
    coasting = track("t1", status=TrackStatus.COASTING, updated_at=START)
    assert alerts.apply(at(201), tracks=[coasting]) == []
    fresh = track("t1", updated_at=at(202))
    assert actions(alerts.apply(at(202), tracks=[fresh])) == [("cleared", "r-lost", "t1")]


def test_emergency_raised_until_cancelled() -> None:
    rule = AlertRule(id="r-sos", picture="COP", kind=RuleKind.EMERGENCY)
    alerts = alerts_with(rule)
    sos = track("sub-x", identity=Identity.FRIEND, subject=emergency_subject("ANDROID-1-9-1-1"))
    assert is_emergency(sos)
    assert actions(alerts.apply(at(1), tracks=[sos])) == [("raised", "r-sos", "sub-x")]
    assert alerts.apply(at(2), tracks=[sos]) == []
    assert actions(alerts.apply(at(3), removed=["sub-x"])) == [("cleared", "r-sos", "sub-x")]
    assert alerts.apply(at(4), tracks=[track("plain", subject="ANDROID-1")]) == []


def test_rule_replaced_or_dropped_ends_its_episodes() -> None:
    rule = area_rule(RuleKind.ENTER)
    alerts = alerts_with(rule)
    alerts.apply(at(1), tracks=[hostile(INSIDE)])
    assert actions(alerts.drop_rule(rule.id, at(2))) == [("cleared", "r-enter", "h1")]
    assert actions(alerts.set_rule(rule, at(3))) == [("raised", "r-enter", "h1")]
    assert len(alerts.open_episodes()) == 1


def test_area_moved_or_removed() -> None:
    alerts = alerts_with(area_rule(RuleKind.ENTER))
    alerts.apply(at(1), tracks=[hostile(INSIDE)])
    assert actions(alerts.apply(at(2), removed_overlays=["box"])) == [("cleared", "r-enter", "h1")]
    assert actions(alerts.apply(at(3), overlays=[BOX])) == [("raised", "r-enter", "h1")]


def test_alert_label_joins_track_and_area() -> None:
    area = overlay(
        "box",
        OverlayKind.AREA,
        [(10.0, 50.0), (10.1, 50.0), (10.1, 50.1), (10.0, 50.1), (10.0, 50.0)],
        label=Label("RESTRICTED", ("NATO", "UKR")),
    )
    alerts = PictureAlerts("COP", SCHEME)
    alerts.apply(START, overlays=[area])
    alerts.set_rule(area_rule(RuleKind.ENTER), START)
    labelled = hostile(INSIDE, label=Label("UNCLASSIFIED", ("UKR", "POL")))
    (raised,) = alerts.apply(at(1), tracks=[labelled])
    assert raised.label == Label("RESTRICTED", ("UKR",))
    disjoint = [Label("UNCLASSIFIED", ("POL",)), Label("SECRET", ("UKR",))]
    assert joined_label(disjoint, SCHEME) == Label("SECRET", (NO_RELEASE,))


@pytest.mark.parametrize(
    ("kind", "lat", "lon", "expected"),
    [
        (OverlayKind.CIRCLE, 50.0, 10.0, -1000.0),
        (OverlayKind.CIRCLE, 50.0 + 2000 / 111_195, 10.0, 1000.0),
        (OverlayKind.CORRIDOR, 50.0, 10.05, -500.0),
    ],
)
def test_shapes(kind: OverlayKind, lat: float, lon: float, expected: float) -> None:
    if kind is OverlayKind.CIRCLE:
        shape = overlay("c", kind, [(10.0, 50.0)], radius_m=1000.0)
    else:
        shape = overlay("k", kind, [(10.0, 50.0), (10.1, 50.0)], width_m=1000.0)
    distance = signed_distance_m(shape, lat, lon)
    assert distance == pytest.approx(expected, abs=5.0)
    assert signed_distance_m(overlay("p", OverlayKind.POINT, [(10.0, 50.0)]), lat, lon) is None


def test_area_across_the_antimeridian() -> None:
    ring = [(179.9, -17.0), (-179.9, -17.0), (-179.9, -16.9), (179.9, -16.9), (179.9, -17.0)]
    area = overlay("fiji", OverlayKind.AREA, ring)
    assert (signed_distance_m(area, -16.95, 180.0) or 0.0) < 0.0
    assert (signed_distance_m(area, -16.95, 179.0) or 0.0) > 0.0


def test_rule_problems_by_kind() -> None:
    assert rule_problems(AlertRule(id="a", picture="COP", kind=RuleKind.ENTER)) == [
        ("area", "a enter rule needs an area (an overlay id)")
    ]
    assert [f for f, _ in rule_problems(AlertRule(id="b", picture="P", kind=RuleKind.DWELL))] == [
        "area",
        "dwell_s",
    ]
    wrong = AlertRule(id="c", picture="P", kind=RuleKind.LOST, lost_after_s=5.0, distance_km=1.0)
    assert rule_problems(wrong) == [("distance_km", "a lost rule takes no distance_km")]


def test_same_calls_same_alerts() -> None:
    def run() -> list[tuple[str, str, str]]:
        alerts = alerts_with(area_rule(RuleKind.ENTER), area_rule(RuleKind.LEAVE))
        out: list[AlertChange] = []
        for second, lat in enumerate([OUTSIDE, INSIDE, ON_THE_EDGE, OUTSIDE, INSIDE]):
            out += alerts.apply(at(second), tracks=[hostile(lat)])
        return actions(out)

    assert run() == run()
    assert [a for a, _, _ in run()].count(AlertAction.RAISED.value) == 3


def test_position_builder_sane() -> None:
    assert hostile(INSIDE).position == Position(INSIDE, 10.05)
