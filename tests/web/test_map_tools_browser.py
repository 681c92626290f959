"""The map's tools in a real browser during the live exercise: units folded into their
formations by echelon at two zooms, unknown contacts clustered, find, measure, range rings,
trails and night mode. Takes the tools' screenshots (into docs/ under `make screenshots`)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page

from tests.web.test_map_browser import (
    DOCS,
    Demo,
    chromium,
    csp_violations,
    running_demo,
    sign_in_by_link,
    wait_for,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    with running_demo(tmp_path_factory.mktemp("tools") / "data") as running:
        yield running


@pytest.fixture(scope="module")
def page(demo: Demo) -> Iterator[Page]:
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 860})
        refused = csp_violations(page)
        sign_in_by_link(page, demo.logins["nato-officer"])
        wait_for(page, "window.tessera.trackCount() > 100")
        yield page
        assert refused == []


def settle(page: Page, zoom: float, centre: list[float] | None = None) -> None:
    """Moves the map and waits until the track layer has redrawn and the map is idle."""
    flushes = page.evaluate("window.tessera.trackLayer.flushes")
    page.evaluate(
        """([zoom, centre]) => {
            const map = window.tessera.map;
            map.jumpTo(centre ? { zoom, center: centre } : { zoom });
        }""",
        [zoom, centre],
    )
    wait_for(page, f"window.tessera.trackLayer.flushes > {flushes}")
    # A live map with a grid and towns is seldom idle: wait for its tiles instead.
    wait_for(page, "window.tessera.map.areTilesLoaded()")


def rendered(page: Page, layer: str) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = page.evaluate(
        """(layer) => window.tessera.map.queryRenderedFeatures({ layers: [layer] })
            .map((f) => f.properties)""",
        layer,
    )
    return result


def test_units_fold_into_their_formations_when_zoomed_out(page: Page) -> None:
    settle(page, 7.0, [16.3, 53.5])
    formations = rendered(page, "formations")
    assert formations, "no formation drawn at zoom 7"
    # Companies fold into their battalion headquarters, battalions into their brigade.
    assert all(f["count"] >= 2 for f in formations)
    assert any(f["formation"].startswith("BLUE-BDE-") for f in formations)
    assert rendered(page, "formation-counts")
    folded = {f["formation"]: f["members"].split(" ") for f in formations}
    member = next(iter(folded.values()))[0]
    drawn_alone = {f["id"] for f in rendered(page, "friends")}
    assert member not in drawn_alone

    # Zoomed in on a formation: its companies are drawn each on its own.
    centre = page.evaluate(
        "(id) => window.tessera.tracks().find((f) => f.id === id).geometry.coordinates", member
    )
    settle(page, 11.0, centre)
    wait_for(
        page,
        f"""window.tessera.map.queryRenderedFeatures({{layers: ['friends']}})
            .some((f) => f.properties.id === '{member}')""",
    )
    assert not any(member in f["members"].split(" ") for f in rendered(page, "formations"))
    # Symbols grow with the zoom.
    size = page.evaluate("window.tessera.map.getLayoutProperty('friends', 'icon-size')")
    assert size[0] == "interpolate"


def test_overlapping_unknown_contacts_are_clustered_with_a_count(page: Page) -> None:
    settle(page, 5.5, [17.0, 53.4])
    wait_for(
        page, "window.tessera.map.queryRenderedFeatures({layers: ['contact-clusters']}).length > 0"
    )
    clusters = rendered(page, "contact-clusters")
    assert all(c["point_count"] >= 2 for c in clusters)
    # The clusters count unknown contacts only.
    unknown = page.evaluate(
        """() => window.tessera.tracks().filter((f) => f.properties.status !== 'dead' &&
            ['unknown', 'pending'].includes(f.properties.identity)).length"""
    )
    assert sum(c["point_count"] for c in clusters) <= unknown


def test_overlapping_known_tracks_cluster_by_identity_and_separate_when_zoomed_in(
    page: Page,
) -> None:
    settle(page, 4.5, [17.0, 53.4])
    own = ["friend-clusters", "neutral-clusters", "hostile-clusters"]
    wait_for(
        page,
        f"window.tessera.map.queryRenderedFeatures({{layers: {own}}}).length > 0",
    )
    # Each cluster holds tracks of its own identity group only: friend and foe never mix.
    # (A cluster id is good only until the source's next update, which the live picture
    # may bring between reading the clusters and asking for their leaves: then ask again.)
    groups = None
    for _ in range(20):
        groups = page.evaluate(
            """async () => {
                const map = window.tessera.map;
                const found = {};
                for (const [layer, source] of [["friend-clusters", "friends"],
                        ["neutral-clusters", "neutrals"], ["hostile-clusters", "hostiles"]]) {
                    for (const cluster of map.queryRenderedFeatures({ layers: [layer] })) {
                        let leaves;
                        try {
                            leaves = await map.getSource(source)
                                .getClusterLeaves(cluster.properties.cluster_id, Infinity, 0);
                        } catch {
                            return null;
                        }
                        found[source] = found[source] ?? [];
                        found[source].push([cluster.properties.point_count,
                            leaves.map((leaf) => leaf.properties.identity)]);
                    }
                }
                return found;
            }"""
        )
        if groups is not None:
            break
    allowed = {
        "friends": {"friend", "assumed-friend"},
        "neutrals": {"neutral"},
        "hostiles": {"hostile", "suspect"},
    }
    assert groups
    for source, clusters in groups.items():
        for count, identities in clusters:
            assert count >= 2 and len(identities) == count
            assert set(identities) <= allowed[source]
    # The image of a cluster is its group's frame with the count.
    assert page.evaluate(
        """() => window.tessera.map.queryRenderedFeatures({layers: ['hostile-clusters',
            'friend-clusters']}).every((f) => window.tessera.map.hasImage(
            `cluster:${f.source}:${f.properties.point_count_abbreviated}`))"""
    )
    # Zoomed in past a company's zoom, every known track is drawn on its own.
    settle(page, 11.0, [17.0, 53.4])
    assert not rendered(page, "friend-clusters") and not rendered(page, "hostile-clusters")


def test_find_jumps_to_a_unit_and_opens_it(page: Page) -> None:
    target = page.evaluate(
        """() => window.tessera.tracks().find((f) => f.properties.subject === 'BLUE-005')"""
    )
    assert target is not None
    page.fill("#find", "blue-005")
    page.locator("#find-results button").first.wait_for()
    assert "BLUE-005" in (page.locator("#find-results button").first.text_content() or "")
    page.press("#find", "Enter")
    page.locator("#track-panel").wait_for(state="visible", timeout=15_000)
    centre = page.evaluate("window.tessera.map.getCenter().toArray()")
    assert math.dist(centre, target["geometry"]["coordinates"]) < 0.01
    assert page.evaluate("window.tessera.map.getZoom()") >= 11
    # Overlay names and track ids are searched too; nothing matches nonsense.
    page.fill("#find", "no such thing at all")
    assert page.locator("#find-results").is_hidden()


def haversine_m(a: list[float], b: list[float]) -> float:
    lon1, lat1, lon2, lat2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371008.8 * math.asin(math.sqrt(h))


def test_measure_gives_distance_and_bearing_and_rings_surround_a_track(page: Page) -> None:
    settle(page, 9.0, [16.3, 53.5])
    box = page.locator("#map").bounding_box()
    assert box is not None
    start = (box["x"] + 300, box["y"] + 400)
    end = (box["x"] + 300, box["y"] + 200)  # due north
    page.click("#measure-toggle")
    page.mouse.click(*start)
    page.mouse.click(*end)
    readout = page.text_content("#measure-readout") or ""
    points = page.evaluate("window.tessera.tools.measure.points")
    expected_km = haversine_m(points[0], points[1]) / 1000
    shown_km = float(readout.split(" km")[0])
    assert abs(shown_km - expected_km) <= 0.05 * max(1.0, expected_km / 10), readout
    assert "000°" in readout or "359°" in readout, readout
    page.screenshot(path=str(DOCS / "screenshot-measure.png"))
    page.click("#measure-toggle")
    assert page.locator("#measure-readout").is_hidden()

    hostile = page.evaluate(
        "() => window.tessera.tracks().find((f) => f.properties.identity === 'hostile')"
    )
    track = hostile["id"]
    settle(page, 10.0, hostile["geometry"]["coordinates"])
    page.fill("#rings-radii", "2, 4")
    page.evaluate("(id) => window.tessera.tools.measure.ringsAround(id)", track)
    assert f"rings 2, 4 km around {track}" in (page.text_content("#measure-readout") or "")
    wait_for(
        page,
        """window.tessera.map.querySourceFeatures('measure')
            .some((f) => f.geometry.type === 'Polygon')""",
    )
    page.click("#rings-toggle")


def test_trails_show_where_hostiles_have_been(page: Page) -> None:
    page.check("#trails-hostile")
    wait_for(page, "window.tessera.tools.trails.features().length > 0")
    trails = page.evaluate("window.tessera.tools.trails.features()")
    assert all(t["properties"]["identity"] == "hostile" for t in trails)
    assert all(len(t["geometry"]["coordinates"]) >= 2 for t in trails)
    wait_for(page, "window.tessera.map.querySourceFeatures('trails').length > 0")
    page.uncheck("#trails-hostile")
    # On demand: one track's trail from its panel.
    track = trails[0]["properties"]["id"]
    page.evaluate("(id) => window.tessera.tools.trails.toggleTrack(id)", track)
    shown = page.evaluate("window.tessera.tools.trails.features()")
    assert [t["properties"]["id"] for t in shown] == [track]
    page.evaluate("(id) => window.tessera.tools.trails.toggleTrack(id)", track)


def test_night_mode_darkens_the_map_and_is_remembered(page: Page) -> None:
    sea = "window.tessera.map.getPaintProperty('sea', 'fill-color')"
    day = page.evaluate(sea)
    page.click("#night-toggle")
    assert page.evaluate("document.body.dataset.theme") == "night"
    assert page.evaluate(sea) != day
    page.reload()
    wait_for(page, "window.tessera && window.tessera.ready")
    assert page.evaluate("document.body.dataset.theme") == "night"
    assert page.evaluate(sea) != day
    settle(page, 7.2, [16.9, 53.35])
    page.screenshot(path=str(DOCS / "screenshot-night.png"))
    page.click("#night-toggle")
    assert page.evaluate("document.body.dataset.theme") == "day"


# Draws one frame with only the layers named shown, counting the WebGL draw calls made.
DRAWS_IN_A_FRAME = """async (keep) => {
    const map = window.tessera.map;
    const shown = map.getStyle().layers
        .filter((layer) => (layer.layout || {}).visibility !== "none")
        .map((layer) => layer.id);
    for (const id of shown) if (!keep.includes(id)) map.setLayoutProperty(id, "visibility", "none");
    const proto = WebGL2RenderingContext.prototype;
    const originals = [proto.drawElements, proto.drawArrays];
    let count = 0;
    const counted = (original) => function (...args) {
        count += 1;
        return original.apply(this, args);
    };
    [proto.drawElements, proto.drawArrays] = originals.map(counted);
    const frame = () => new Promise((resolve) => {
        map.once("render", resolve);
        map.triggerRepaint();
    });
    try {
        await frame();
        count = 0;
        await frame();
        return count;
    } finally {
        [proto.drawElements, proto.drawArrays] = originals;
        for (const id of shown) map.setLayoutProperty(id, "visibility", "visible");
    }
}"""


def test_a_frame_with_every_layer_hidden_draws_nothing(page: Page) -> None:
    """No sky is drawn while the style has none: MapLibre's default sky is transparent, yet
    drawn over the whole canvas each frame, which a software renderer pays for in full."""
    assert page.evaluate(DRAWS_IN_A_FRAME, []) == 0


def test_the_layers_of_an_empty_source_cost_a_frame_nothing(page: Page) -> None:
    """A fill or line layer is clipped tile by tile with a stencil mask per source, drawn
    whether or not the source has features: layers of empty sources are held out."""
    empty = ["sketch-fill", "sketch-line", "history-trails"]
    assert page.evaluate("(ids) => ids.every((id) => window.tessera.map.getLayer(id))", empty), (
        "a layer of this test is gone"
    )
    assert page.evaluate(DRAWS_IN_A_FRAME, empty) == 0
    # Once the source has something, its layers are drawn again.
    page.evaluate(
        """() => window.tessera.map.getSource("sketch").setData({
            type: "FeatureCollection",
            features: [{ type: "Feature", properties: {},
                geometry: { type: "LineString", coordinates: [[16, 53], [17.5, 53.6]] } }],
        })"""
    )
    wait_for(page, "window.tessera.map.isSourceLoaded('sketch')")
    try:
        assert page.evaluate(DRAWS_IN_A_FRAME, empty) > 0
    finally:
        page.evaluate(
            """() => window.tessera.map.getSource("sketch").setData(
                { type: "FeatureCollection", features: [] })"""
        )


def test_the_land_is_painted_behind_the_canvas_not_filled_in_every_frame(page: Page) -> None:
    """The built-in basemap's land, a background layer at the bottom of the style, would be
    a screenful of fill in every frame: it is the map container's CSS background instead,
    in the layer's own colour, night mode's too."""
    backdrop = "window.tessera.map.getContainer().style.backgroundColor"
    assert page.evaluate("window.tessera.map.getLayersOrder()[0]") == "land"
    assert page.evaluate(DRAWS_IN_A_FRAME, ["land"]) == 0
    wait_for(page, f"{backdrop} === 'rgb(238, 240, 228)'")
    page.click("#night-toggle")
    try:
        wait_for(page, f"{backdrop} === 'rgb(42, 50, 56)'")
    finally:
        page.click("#night-toggle")
    wait_for(page, f"{backdrop} === 'rgb(238, 240, 228)'")
    # A frame that does not draw the land (hidden here) takes the backdrop away with it.
    page.evaluate("window.tessera.map.setLayoutProperty('land', 'visibility', 'none')")
    try:
        page.evaluate("window.tessera.map.triggerRepaint()")
        wait_for(page, f"{backdrop} === ''")
    finally:
        page.evaluate("window.tessera.map.setLayoutProperty('land', 'visibility', 'visible')")
    wait_for(page, f"{backdrop} === 'rgb(238, 240, 228)'")
