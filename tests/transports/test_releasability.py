"""Nothing derived from a report reaches a principal who may not see it (DESIGN §3).

Hypothesis generates principals, pictures and labelled reports (placed so that fusion
would gladly merge reports of different labels), runs them through a live server, and
reads back as every principal over every egress path: the picture list, tracks, single
tracks with their lineage, reports, overlays (listed and one by one), the exports in every
format, OGC API - Features items, and the stream. What a principal may see is the
union of the reports admitted by the pictures it may read; every answer is checked
against that. Each picture must also equal the fusion of exactly the reports it admits.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import msgspec
import websockets
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.asyncio.client import ClientConnection

from tessera.codecs.geojson import track_feature
from tessera.codecs.json import encode
from tessera.core.fusion.engine import FusionSettings, KalmanTracker
from tessera.core.labels import DEFAULT_LEVELS, AdmissionRule, ClassificationScheme, Picture
from tessera.core.labels import admits as admits_label
from tessera.core.model import Label, Principal, Role, Track
from tessera.core.overlays import Overlay
from tessera.security.policy import may_read_label, readable_pictures
from tessera.store.base import TrackQuery
from tests.codecs.nvg_schema import assert_valid_nvg
from tests.kml_schema import valid_kml
from tests.support import Live, live_server, report_doc

COMMUNITIES = ("EU", "NATO", "POL", "UKR")
NAMES = ("alpha", "bravo", "charlie", "delta")
SCHEME = ClassificationScheme(DEFAULT_LEVELS)
# Three places: reports at one place, whatever their labels, are one object to fusion.
PLACES = ((53.10, 18.00), (53.12, 18.03), (53.30, 18.40))

labels = st.builds(
    Label,
    st.sampled_from(DEFAULT_LEVELS),
    st.lists(st.sampled_from(COMMUNITIES), unique=True, max_size=3).map(lambda c: tuple(sorted(c))),
)
principals = st.builds(
    Principal,
    name=st.sampled_from(NAMES),
    communities=st.lists(st.sampled_from(COMMUNITIES), unique=True, max_size=2).map(tuple),
    clearance=st.sampled_from(DEFAULT_LEVELS),
    unrestricted=st.booleans(),
    roles=st.just((Role.VIEWER,)),
)
pictures = st.builds(
    Picture,
    name=st.sampled_from(("P1", "P2", "P3", "P4")),
    rule=st.builds(
        AdmissionRule,
        max_classification=st.none() | st.sampled_from(DEFAULT_LEVELS),
        releasable_to=st.none() | st.sampled_from(COMMUNITIES),
    ),
    readers=st.lists(st.sampled_from(("*", *NAMES)), unique=True, max_size=2).map(tuple),
    reader_communities=st.lists(st.sampled_from(COMMUNITIES), unique=True, max_size=2).map(tuple),
)
reports = st.lists(
    st.tuples(
        st.integers(0, len(PLACES) - 1),
        labels,
        st.none() | st.sampled_from(("unit-a", "unit-b")),
        st.integers(0, 40),
    ),
    min_size=1,
    max_size=25,
)

# Overlays: a label each, drawn over the same places as the reports.
overlay_labels = st.lists(labels, max_size=4)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    st.lists(pictures, min_size=1, max_size=3, unique_by=lambda p: p.name),
    st.lists(principals, min_size=1, max_size=4, unique_by=lambda p: p.name),
    reports,
    overlay_labels,
)
def test_no_principal_receives_what_it_may_not_see(
    configured: list[Picture], people: list[Principal], sightings: list[Any], drawn: list[Label]
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    docs = [
        report_doc(
            report_id=f"r{index}",
            lat=PLACES[place][0] + index * 1e-5,
            lon=PLACES[place][1],
            subject=subject,
            source=subject or f"uav-{index % 3}",
            kind="unit" if subject else "uav",
            identity="friend" if subject else "hostile",
            observed_at=now - timedelta(seconds=60 - age),
            label=msgspec.to_builtins(label),
        )
        for index, (place, label, subject, age) in enumerate(sightings)
    ]
    shapes = [
        {
            "name": f"overlay-{index}",
            "kind": "area",
            "coordinates": [[18.0, 53.0], [18.2 + index / 100, 53.0], [18.1, 53.2]],
            "sidc": "10002500001101000000",
            "label": msgspec.to_builtins(label),
        }
        for index, label in enumerate(drawn)
    ]
    overrides = {
        "pictures": msgspec.to_builtins(configured),
        # No tick while the test reads: the picture is exactly what the reports made.
        "tick_interval_s": 3600.0,
    }

    async def main() -> None:
        with tempfile.TemporaryDirectory() as folder:
            async with live_server(Path(folder), **overrides) as live:
                await _run(live, configured, people, docs, shapes)

    asyncio.run(main())


async def _run(
    live: Live,
    configured: list[Picture],
    people: list[Principal],
    docs: list[dict[str, Any]],
    shapes: list[dict[str, Any]],
) -> None:
    tokens = {person.name: await live.grant(person) for person in people}
    allowed = {
        person.name: [p.name for p in readable_pictures(person, configured, SCHEME)]
        for person in people
    }
    # Everyone subscribes to every picture before the reports arrive: what the stream
    # sends while fusing is checked as well as what it sends on connecting.
    streams = [
        (person, picture, await _subscribe(live, tokens[person.name], picture.name))
        for person in people
        for picture in configured
    ]
    async with live.client() as admin:
        # The overlays go first: a journal entry after the reports would move the picture's
        # clock on, and a track silent for 30 s of it is shown grown, which a single step
        # of the reports (what the picture is compared with) does not do.
        for shape in shapes:
            drawn = await admin.post("/api/v1/overlays", json=shape)
            assert drawn.status_code == 201, drawn.text
        answer = await admin.post("/api/v1/reports", json=docs)
        assert answer.status_code == 202, answer.text
    assert await live.tessera.worker.wait_caught_up(live.tessera.journal.last_seq, 30)
    overlays = [
        entry.overlay.overlay
        for entry in await live.tessera.journal.read(0, 10_000)
        if entry.overlay is not None and entry.overlay.overlay is not None
    ]
    shown_overlays = {
        picture.name: {o.name for o in overlays if admits_label(picture, o.label, SCHEME)}
        for picture in configured
    }
    entries = await live.tessera.journal.read(0, 10_000)
    stored = [entry.report for entry in entries if entry.report is not None]
    admitted = {
        picture.name: {r.id for r in stored if admits_label(picture, r.label, SCHEME)}
        for picture in configured
    }
    for picture in configured:
        _assert_fusion_of_exactly(live, picture, stored)
    for person, picture, connection in streams:
        readable = picture.name in allowed[person.name]
        await _check_live_stream(live, connection, person, picture.name, readable)
    for person in people:
        mine = allowed[person.name]
        visible = set().union(*(admitted[name] for name in mine))
        async with live.client(tokens[person.name]) as client:
            await _check_rest(client, configured, mine, visible, admitted, person, stored)
            await _check_overlays(client, configured, mine, shown_overlays, person, overlays)
        await _check_stream(live, tokens[person.name], configured, mine, person)


async def _subscribe(live: Live, token: str, picture: str) -> ClientConnection:
    connection = await websockets.connect(
        live.ws_url, additional_headers={"authorization": f"Bearer {token}"}, max_size=None
    )
    await connection.send(json.dumps({"type": "subscribe", "picture": picture}))
    return connection


async def _check_live_stream(
    live: Live, connection: ClientConnection, person: Principal, picture: str, readable: bool
) -> None:
    """Read what the stream sent until it reaches the picture's last change."""
    async with connection:
        if not readable:
            message = json.loads(await connection.recv())
            assert message == {"type": "error", "reason": f"no picture named {picture!r}"}
            return
        final = live.tessera.store.seq(picture)
        seq = -1
        while seq < final:
            message = json.loads(await asyncio.wait_for(connection.recv(), 10))
            assert message["type"] in ("snapshot", "changes", "heartbeat")
            if message["type"] == "heartbeat":
                continue
            seq = message["seq"]
            assert message["picture"] == picture
            features = message.get("features", message.get("upserts", []))
            features = [*features, *message.get("overlays", [])]
            for feature in features:
                props = feature["properties"]
                label = Label(props["classification"], tuple(props["releasable_to"]))
                assert may_read_label(person, label, SCHEME)


def _assert_fusion_of_exactly(live: Live, picture: Picture, stored: list[Any]) -> None:
    """The live picture equals a fresh tracker fed the admitted reports alone."""
    settings = live.tessera.settings
    tracker = KalmanTracker(
        SCHEME,
        FusionSettings(
            lineage_window=settings.lineage_window, batch_seconds=settings.fusion_batch_s
        ),
    )
    mine = [r for r in stored if admits_label(picture, r.label, SCHEME)]
    expected: dict[str, Track] = {}
    if mine:
        result = tracker.step(stored[-1].received_at, mine)
        expected = {track.id: track for track in result.updated}
        for removed in result.removed:
            expected.pop(removed, None)
    _, live_tracks = live.tessera.store.tracks(picture.name, TrackQuery())
    assert _features(live_tracks) == _features(list(expected.values()))


def _features(tracks: list[Track]) -> list[Any]:
    return sorted(
        (json.loads(encode(track_feature(track))) for track in tracks), key=lambda f: f["id"]
    )


async def _check_rest(
    client: httpx.AsyncClient,
    configured: list[Picture],
    allowed: list[str],
    visible: set[str],
    admitted: dict[str, set[str]],
    person: Principal,
    stored: list[Any],
) -> None:
    listed = (await client.get("/api/v1/pictures")).json()["pictures"]
    assert [p["name"] for p in listed] == allowed
    for picture in configured:
        tracks = await client.get("/api/v1/tracks", params={"picture": picture.name})
        exported = await client.get(
            "/api/v1/export", params={"picture": picture.name, "format": "geojson"}
        )
        if picture.name not in allowed:
            assert tracks.status_code == exported.status_code == 404
            assert tracks.json() == {"error": f"no picture named {picture.name!r}"}
            continue
        # The export holds exactly what the picture shows: its tracks and its overlays.
        shown = {feature["id"] for feature in tracks.json()["features"]}
        drawn = await client.get("/api/v1/overlays", params={"picture": picture.name})
        shown_all = shown | {feature["id"] for feature in drawn.json()["features"]}
        assert {feature["id"] for feature in exported.json()["features"]} == shown_all
        for feature in tracks.json()["features"]:
            props = feature["properties"]
            assert may_read_label(
                person, Label(props["classification"], tuple(props["releasable_to"])), SCHEME
            )
            one = await client.get(
                f"/api/v1/tracks/{feature['id']}", params={"picture": picture.name}
            )
            lineage = {report["id"] for report in one.json()["lineage"]["reports"]}
            assert lineage <= admitted[picture.name] <= visible | admitted[picture.name]
            assert lineage <= visible
    for report in stored:
        answer = await client.get(f"/api/v1/reports/{report.id}")
        assert answer.status_code == (200 if report.id in visible else 404), report.id
        for picture in configured:
            within = await client.get(
                f"/api/v1/reports/{report.id}", params={"picture": picture.name}
            )
            may = picture.name in allowed and report.id in admitted[picture.name]
            assert within.status_code == (200 if may else 404)


async def _check_stream(
    live: Live, token: str, configured: list[Picture], allowed: list[str], person: Principal
) -> None:
    for picture in configured:
        async with websockets.connect(
            live.ws_url, additional_headers={"authorization": f"Bearer {token}"}, max_size=None
        ) as connection:
            await connection.send(json.dumps({"type": "subscribe", "picture": picture.name}))
            message = json.loads(await connection.recv())
        if picture.name not in allowed:
            assert message == {"type": "error", "reason": f"no picture named {picture.name!r}"}
            continue
        assert message["type"] == "snapshot"
        _, tracks = live.tessera.store.tracks(picture.name, TrackQuery())
        assert {f["id"] for f in message["features"]} == {t.id for t in tracks}
        _, overlays = live.tessera.store.overlays(picture.name, TrackQuery())
        assert {f["id"] for f in message["overlays"]} == {o.id for o in overlays}
        for feature in message["overlays"]:
            props = feature["properties"]
            label = Label(props["classification"], tuple(props["releasable_to"]))
            assert may_read_label(person, label, SCHEME)
        for feature in message["features"]:
            props = feature["properties"]
            label = Label(props["classification"], tuple(props["releasable_to"]))
            assert may_read_label(person, label, SCHEME)


EXPORTS = ("nvg", "geojson", "kml", "kmz")


async def _check_overlays(
    client: httpx.AsyncClient,
    configured: list[Picture],
    allowed: list[str],
    shown: dict[str, set[str]],
    person: Principal,
    overlays: list[Overlay],
) -> None:
    """Overlays, and every export format, hold exactly what each picture admits."""
    for picture in configured:
        params = {"picture": picture.name}
        listed = await client.get("/api/v1/overlays", params=params)
        singles = [
            await client.get(f"/api/v1/overlays/{overlay.id}", params=params)
            for overlay in overlays
        ]
        files = {
            kind: await client.get("/api/v1/export", params={**params, "format": kind})
            for kind in EXPORTS
        }
        ogc = {
            kind: await client.get(
                f"/ogc/collections/{picture.name}-{kind}/items", params={"limit": 10_000}
            )
            for kind in ("tracks", "overlays")
        }
        if picture.name not in allowed:
            assert listed.status_code == 404
            assert all(answer.status_code == 404 for answer in singles)
            assert all(answer.status_code == 404 for answer in files.values())
            assert all(answer.status_code == 404 for answer in ogc.values())
            continue
        names = {f["properties"]["name"] for f in listed.json()["features"]}
        assert names == shown[picture.name]
        # OGC API - Features: the same overlays, and the tracks the REST API shows.
        assert {f["properties"]["name"] for f in ogc["overlays"].json()["features"]} == names
        tracks = await client.get("/api/v1/tracks", params=params)
        assert {f["id"] for f in ogc["tracks"].json()["features"]} == {
            f["id"] for f in tracks.json()["features"]
        }
        for overlay, answer in zip(overlays, singles, strict=True):
            assert answer.status_code == (200 if overlay.name in names else 404)
            assert may_read_label(person, overlay.label, SCHEME) or overlay.name not in names
        for kind, answer in files.items():
            assert answer.status_code == 200, kind
            if kind == "nvg":
                assert_valid_nvg(answer.content)
            text = _export_text(kind, answer.content)
            for overlay in overlays:
                # Names end with a digit and no name is a prefix of another plus a digit
                # boundary: quote them to match whole names.
                inside = f">{overlay.name}<" in text or f'"{overlay.name}"' in text
                assert inside == (overlay.name in names), (kind, overlay.name)


def _export_text(kind: str, content: bytes) -> str:
    if kind in ("kml", "kmz"):
        return valid_kml(content).decode()
    return content.decode()
