"""Releasability over /ogc (DESIGN §3): a principal sees the collections, items and
features of its own pictures and nothing else, and anything else it guesses answers 404
exactly as what does not exist."""

from __future__ import annotations

import asyncio
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tessera.core.labels import DEFAULT_LEVELS, AdmissionRule, ClassificationScheme, Picture
from tessera.core.labels import admits as admits_label
from tessera.core.model import Label, Principal, Role
from tessera.security.policy import may_read_label, readable_pictures
from tessera.store.base import TrackQuery
from tests.ogc.helpers import (
    NATO_ANALYST,
    NATO_ONLY,
    PICTURES,
    QUIET,
    SHARED,
    UKR_ANALYST,
    UKR_ONLY,
    area,
    post_reports,
    put_overlays,
    walk,
)
from tests.ogc.helpers import run_live as run
from tests.support import Live, live_server, named, report_doc, track_of

SCHEME = ClassificationScheme(DEFAULT_LEVELS)
KINDS = ("tracks", "overlays", "imagery")


def label_of(feature: dict[str, Any]) -> Label:
    properties = feature["properties"]
    return Label(properties["classification"], tuple(properties["releasable_to"]))


def held(live: Live, picture: str, kind: str) -> list[str]:
    store = live.tessera.store
    if kind == "tracks":
        return sorted(track.id for track in store.tracks(picture, TrackQuery())[1])
    overlays = store.overlays(picture, TrackQuery())[1]
    imagery = kind == "imagery"
    return sorted(overlay.id for overlay in overlays if (overlay.imagery is not None) == imagery)


async def same_404(
    client: httpx.AsyncClient, hidden: str, missing: str, swap: tuple[str, str]
) -> None:
    """``hidden`` exists but is not the caller's; ``missing`` does not exist at all."""
    seen, unseen = await client.get(hidden), await client.get(missing)
    assert seen.status_code == unseen.status_code == 404, hidden
    assert seen.json()["error"].replace(*swap) == unseen.json()["error"]
    assert set(seen.json()) == set(unseen.json()) == {"error"}
    assert seen.headers["content-type"] == unseen.headers["content-type"]


def test_two_partners_see_only_their_own_pictures(tmp_path: Path) -> None:
    async def scenario(live: Live) -> None:
        await post_reports(
            live,
            [
                report_doc(report_id="n1", lat=53.0, label=NATO_ONLY),
                report_doc(report_id="n2", lat=53.1, label=NATO_ONLY),
                report_doc(report_id="u1", lat=54.0, label=UKR_ONLY),
                report_doc(report_id="s1", lat=55.0, label=SHARED),
                report_doc(report_id="s2", lat=55.1, label=SHARED),
            ],
        )
        put_overlays(
            live,
            [area("nato-zone", NATO_ONLY), area("ukr-zone", UKR_ONLY), area("shared", SHARED)],
        )
        sent = ("n1", "n2", "u1", "s1", "s2")
        assert named(live, held(live, "NATO", "tracks"), *sent) == [
            "trk-n1",
            "trk-n2",
            "trk-s1",
            "trk-s2",
        ]
        assert named(live, held(live, "UKR", "tracks"), *sent) == ["trk-s1", "trk-s2", "trk-u1"]
        people = (
            (NATO_ANALYST, "NATO", "UKR", track_of(live, "u1")),
            (UKR_ANALYST, "UKR", "NATO", track_of(live, "n1")),
        )
        for person, mine, other, theirs in people:
            async with live.client(await live.grant(person)) as client:
                listed = (await client.get("/ogc/collections")).json()["collections"]
                assert [c["id"] for c in listed] == [f"{mine}-{kind}" for kind in KINDS]
                for kind in KINDS:
                    _, features = await walk(
                        client,
                        f"/ogc/collections/{mine}-{kind}/items",
                        limit=2,
                        bbox="-180,-90,180,90",
                    )
                    assert sorted(f["id"] for f in features) == held(live, mine, kind)
                    for feature in features:
                        assert may_read_label(person, label_of(feature), SCHEME)
                # The other's collections, and a feature that exists only in its picture.
                for kind in KINDS:
                    await same_404(
                        client,
                        f"/ogc/collections/{other}-{kind}",
                        f"/ogc/collections/NONE-{kind}",
                        (other, "NONE"),
                    )
                    await same_404(
                        client,
                        f"/ogc/collections/{other}-{kind}/items",
                        f"/ogc/collections/NONE-{kind}/items",
                        (other, "NONE"),
                    )
                await same_404(
                    client,
                    f"/ogc/collections/{other}-tracks/items/{theirs}",
                    f"/ogc/collections/NONE-tracks/items/{theirs}",
                    (other, "NONE"),
                )
                await same_404(
                    client,
                    f"/ogc/collections/{mine}-tracks/items/{theirs}",
                    f"/ogc/collections/{mine}-tracks/items/trk-none",
                    (theirs, "trk-none"),
                )
                await same_404(
                    client,
                    f"/ogc/collections/{mine}-overlays/items/{other.lower()}-zone",
                    f"/ogc/collections/{mine}-overlays/items/none-zone",
                    (f"{other.lower()}-zone", "none-zone"),
                )
                # A feature shared by both pictures is served from the caller's own.
                shared_id = track_of(live, "s1")
                shared = await client.get(f"/ogc/collections/{mine}-tracks/items/{shared_id}")
                assert shared.status_code == 200
                assert may_read_label(person, label_of(shared.json()), SCHEME)

    run(tmp_path, scenario, pictures=PICTURES)


COMMUNITIES = ("EU", "NATO", "UKR")
NAMES = ("alpha", "bravo", "charlie")
labels = st.builds(
    Label,
    st.sampled_from(DEFAULT_LEVELS),
    st.lists(st.sampled_from(COMMUNITIES), unique=True, max_size=2).map(lambda c: tuple(sorted(c))),
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
    name=st.sampled_from(("P1", "P2", "P3")),
    rule=st.builds(
        AdmissionRule,
        max_classification=st.none() | st.sampled_from(DEFAULT_LEVELS),
        releasable_to=st.none() | st.sampled_from(COMMUNITIES),
    ),
    readers=st.lists(st.sampled_from(("*", *NAMES)), unique=True, max_size=2).map(tuple),
    reader_communities=st.lists(st.sampled_from(COMMUNITIES), unique=True, max_size=2).map(tuple),
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    st.lists(pictures, min_size=1, max_size=3, unique_by=lambda p: p.name),
    st.lists(principals, min_size=1, max_size=3, unique_by=lambda p: p.name),
    st.lists(labels, min_size=1, max_size=8),
    st.lists(labels, max_size=4),
)
def test_no_collection_or_feature_reaches_who_may_not_see_it(
    configured: list[Picture],
    people: list[Principal],
    report_labels: list[Label],
    overlay_labels: list[Label],
) -> None:
    observed = datetime.now(UTC) - timedelta(seconds=5)
    # Each report at its own place: one track each wherever its label is admitted.
    docs = [
        report_doc(
            report_id=f"r{index}",
            lat=50.0 + index * 0.1,
            observed_at=observed,
            label=msgspec.to_builtins(label),
        )
        for index, label in enumerate(report_labels)
    ]
    overlays = [
        area(f"o{index}", label, west=10.0 + index) for index, label in enumerate(overlay_labels)
    ]
    overrides = {**QUIET, "pictures": msgspec.to_builtins(configured)}

    async def main() -> None:
        with tempfile.TemporaryDirectory() as folder:
            async with live_server(Path(folder), **overrides) as live:
                await post_reports(live, docs)
                put_overlays(live, overlays)
                for person in people:
                    async with live.client(await live.grant(person)) as client:
                        await check(live, client, person, configured)

    asyncio.run(main())


async def check(
    live: Live, client: httpx.AsyncClient, person: Principal, configured: list[Picture]
) -> None:
    mine = [p.name for p in readable_pictures(person, configured, SCHEME)]
    listed = (await client.get("/ogc/collections")).json()["collections"]
    assert [c["id"] for c in listed] == [f"{name}-{kind}" for name in mine for kind in KINDS]
    everything = {
        name: {kind: held(live, name, kind) for kind in KINDS}
        for name in (p.name for p in configured)
    }
    for picture in configured:
        for kind in KINDS:
            items = f"/ogc/collections/{picture.name}-{kind}/items"
            if picture.name not in mine:
                answer = await client.get(items)
                assert answer.status_code == 404
                assert answer.json() == {"error": f"no collection '{picture.name}-{kind}'"}
                continue
            answer = await client.get(items, params={"limit": 10_000})
            features = answer.json()["features"]
            assert [f["id"] for f in features] == everything[picture.name][kind]
            for feature in features:
                assert admits_label(picture, label_of(feature), SCHEME)
                assert may_read_label(person, label_of(feature), SCHEME)
    # Every feature id of every picture, asked of every collection the caller reads.
    for name in mine:
        for kind in KINDS:
            for other in everything.values():
                for feature_id in other[kind]:
                    one = await client.get(f"/ogc/collections/{name}-{kind}/items/{feature_id}")
                    assert one.status_code == (200 if feature_id in everything[name][kind] else 404)
