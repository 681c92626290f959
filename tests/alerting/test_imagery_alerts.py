"""New-imagery rules (pure): an image over the rule's area raises one alert, labelled
with the image's and the area's labels, cleared when the image leaves the picture; and
whether a footprint meets an area."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tessera.alerting.model import raised_alert
from tessera.alerting.visibility import may_receive
from tessera.core.alerts.evaluator import AlertAction, PictureAlerts
from tessera.core.alerts.imagery import footprint_meets
from tessera.core.alerts.rules import AlertRule, RuleKind, rule_problems
from tessera.core.imagery import Imagery
from tessera.core.labels import AdmissionRule, ClassificationScheme, Picture
from tessera.core.model import Label, Principal, Role
from tessera.core.overlays import Overlay, OverlayKind
from tests.store.builders import START

SCHEME = ClassificationScheme()
AREA_LABEL = Label("RESTRICTED", ("NATO",))
IMAGE_LABEL = Label("CONFIDENTIAL", ("NATO", "UKR"))


def box(west: float, south: float, east: float, north: float) -> tuple[tuple[float, float], ...]:
    return ((west, south), (east, south), (east, north), (west, north), (west, south))


def area(overlay_id: str = "aoi", **fields: Any) -> Overlay:
    values: dict[str, Any] = {
        "id": overlay_id,
        "name": "AOI",
        "kind": OverlayKind.AREA,
        "coordinates": box(10.0, 50.0, 10.2, 50.2),
        "label": AREA_LABEL,
        **fields,
    }
    return Overlay(**values)


def image(overlay_id: str, west: float, south: float, size: float = 0.1) -> Overlay:
    facts = Imagery(source="sat", item=overlay_id, acquired_at=START)
    return Overlay(
        id=overlay_id,
        name=f"image {overlay_id}",
        kind=OverlayKind.AREA,
        coordinates=box(west, south, west + size, south + size),
        label=IMAGE_LABEL,
        imagery=facts,
    )


def test_an_image_over_the_area_raises_once_and_clears_when_it_goes() -> None:
    alerts = PictureAlerts("P", SCHEME)
    rule = AlertRule(id="new-img", picture="P", kind=RuleKind.NEW_IMAGERY, area="aoi")
    assert rule_problems(rule) == []
    alerts.apply(START, overlays=[area()])
    assert alerts.set_rule(rule, START) == []
    later = START + timedelta(seconds=1)
    changes = alerts.apply(later, overlays=[image("over", 10.05, 50.05), image("far", 12, 52)])
    assert [(c.action, c.track_id) for c in changes] == [(AlertAction.RAISED, "over")]
    [raised] = changes
    alert = raised_alert("P", raised)
    assert alert.kind is RuleKind.NEW_IMAGERY and alert.other == "aoi"
    assert alert.track_name == "image over" and "AOI" in alert.detail
    assert (round(alert.lat, 2), round(alert.lon, 2)) == (50.1, 10.1)
    # The image's label joined with the area's: the stricter level, the shared community.
    assert alert.label == Label("CONFIDENTIAL", ("NATO",))
    # The same image again (its facts refreshed): no second alert.
    assert alerts.apply(later, overlays=[image("over", 10.05, 50.05)]) == []
    gone = alerts.apply(later, removed_overlays=["over"])
    assert [(c.action, c.track_id) for c in gone] == [(AlertAction.CLEARED, "over")]
    # A drawn overlay over the area is no image.
    assert alerts.apply(later, overlays=[area("drawn")]) == []


def test_without_an_area_any_image_and_a_later_rule_sees_those_there() -> None:
    alerts = PictureAlerts("P", SCHEME)
    alerts.apply(START, overlays=[image("a", 1, 1), image("b", 40, 40)])
    rule = AlertRule(id="any", picture="P", kind=RuleKind.NEW_IMAGERY)
    assert rule_problems(rule) == []
    raised = alerts.set_rule(rule, START)
    assert sorted(c.track_id for c in raised) == ["a", "b"]
    assert [c.track_id for c in alerts.apply(START, overlays=[image("c", 5, 5)])] == ["c"]
    # Other kinds still take no area.
    assert rule_problems(AlertRule(id="h", picture="P", kind=RuleKind.NEW_HOSTILE, area="x"))


def test_the_area_moving_off_an_image_clears_its_alert() -> None:
    alerts = PictureAlerts("P", SCHEME)
    alerts.apply(START, overlays=[area(), image("over", 10.05, 50.05)])
    rule = AlertRule(id="r", picture="P", kind=RuleKind.NEW_IMAGERY, area="aoi")
    assert [c.track_id for c in alerts.set_rule(rule, START)] == ["over"]
    moved = area(coordinates=box(20, 20, 21, 21))
    changes = alerts.apply(START, overlays=[moved])
    assert [(c.action, c.track_id) for c in changes] == [(AlertAction.CLEARED, "over")]


def test_only_readers_of_the_picture_who_may_read_the_label_are_told() -> None:
    alerts = PictureAlerts("P", SCHEME)
    alerts.apply(START, overlays=[area()])
    rule = AlertRule(id="r", picture="P", kind=RuleKind.NEW_IMAGERY, area="aoi")
    alerts.set_rule(rule, START)
    [change] = alerts.apply(START, overlays=[image("over", 10.05, 50.05)])
    alert = raised_alert("P", change)
    pictures = {
        "P": Picture(name="P", rule=AdmissionRule(releasable_to="NATO"), readers=("*",)),
    }

    def reader(name: str, clearance: str, *communities: str) -> Principal:
        return Principal(
            name=name, communities=communities, clearance=clearance, roles=(Role.VIEWER,)
        )

    assert may_receive(reader("n", "SECRET", "NATO"), alert, pictures, SCHEME)
    # Cleared below the image's level, or outside its communities: not told.
    assert not may_receive(reader("low", "RESTRICTED", "NATO"), alert, pictures, SCHEME)
    assert not may_receive(reader("u", "SECRET", "UKR"), alert, pictures, SCHEME)


def test_footprints_meeting_areas() -> None:
    aoi = area()
    assert footprint_meets(image("in", 10.05, 50.05), aoi)
    assert footprint_meets(image("covers", 9.0, 49.0, size=3.0), aoi)  # the area inside it
    assert not footprint_meets(image("far", 11.0, 51.0), aoi)
    # A cross: neither has a corner in the other, their edges cross.
    bar = Overlay(
        id="bar",
        name="bar",
        kind=OverlayKind.AREA,
        coordinates=box(9.9, 50.08, 10.3, 50.12),
        label=IMAGE_LABEL,
    )
    assert footprint_meets(bar, aoi)
    circle = Overlay(
        id="c",
        name="c",
        kind=OverlayKind.CIRCLE,
        coordinates=((10.35, 50.05),),
        radius_m=5_000.0,
        label=AREA_LABEL,
    )
    # The circle's edge reaches into the footprint though its centre is outside it.
    assert footprint_meets(image("edge", 10.2, 50.0), circle)
    assert not footprint_meets(image("beyond", 10.6, 50.0), circle)
    assert footprint_meets(image("anywhere", 80, 80), None)
