"""The track store contract: every implementation must pass every case here.

A backend gives each test a way to open a store on a set of pictures. The PostGIS store
runs as a writer, and after each case a new reader on the same database must hold exactly
what the writer's replica does: every case is also a round trip through the database.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import pytest

from tessera.core.model import Identity, Label, TrackStatus
from tessera.core.overlays import Overlay, OverlayKind
from tessera.postgis.migrate import migrate
from tessera.store.base import TrackQuery, TrackStore
from tessera.store.memory import MemoryTrackStore
from tessera.store.postgis import PostgisTrackStore
from tests.postgis.databases import scratch_database
from tests.store.builders import (
    EVERYTHING,
    full_track,
    opened,
    overlay,
    picture_state,
    point,
    square,
    track,
)

COP, PARTNER = "COP", "REL-UKR"
PICTURES = (COP, PARTNER)
StoreContext = Callable[[Sequence[str]], AbstractAsyncContextManager[TrackStore]]


@asynccontextmanager
async def memory_store(pictures: Sequence[str]) -> AsyncIterator[TrackStore]:
    yield MemoryTrackStore(pictures)


def postgis_stores(dsn: str) -> StoreContext:
    @asynccontextmanager
    async def writer(pictures: Sequence[str]) -> AsyncIterator[TrackStore]:
        async with opened(dsn, pictures, writer=True) as store:
            yield store
            await store.flush()
            assert store.healthy, store.last_error
            assert store.failures == 0
            async with opened(dsn, pictures, writer=False) as reader:
                for name in pictures:
                    assert picture_state(reader, name) == picture_state(store, name)

    return writer


@pytest.fixture(params=["memory", "postgis"])
def stores(request: pytest.FixtureRequest) -> Iterator[StoreContext]:
    if request.param == "memory":
        yield memory_store
        return
    with scratch_database() as dsn:
        migrate(dsn)
        yield postgis_stores(dsn)


def run(stores: StoreContext, check: Callable[[TrackStore], None]) -> None:
    async def scenario() -> None:
        async with stores(PICTURES) as store:
            check(store)

    asyncio.run(scenario())


def ids(found: tuple[int, Sequence[object]]) -> list[str]:
    return sorted(str(getattr(item, "id", "")) for item in found[1])


def in_box(store: TrackStore, bbox: tuple[float, float, float, float]) -> list[str]:
    return ids(store.tracks(COP, TrackQuery(bbox=bbox)))


def overlays_in_box(store: TrackStore, bbox: tuple[float, float, float, float]) -> list[str]:
    return ids(store.overlays(COP, TrackQuery(bbox=bbox)))


# -- tracks ----------------------------------------------------------------------------


def test_a_new_store_holds_nothing(stores: StoreContext) -> None:
    def check(store: TrackStore) -> None:
        for name in PICTURES:
            assert store.seq(name) == 0
            assert store.tracks(name, EVERYTHING) == (0, [])
            assert store.overlays(name, EVERYTHING) == (0, [])
            assert store.track(name, "t1") is None
            assert store.overlay(name, "o1") is None

    run(stores, check)


def test_applied_tracks_are_listed_and_found_by_id(stores: StoreContext) -> None:
    def check(store: TrackStore) -> None:
        a, b = track("a"), track("b", 51.0, 11.0)
        store.apply(COP, 2, [a, b], [])
        assert store.seq(COP) == 2
        assert ids(store.tracks(COP, EVERYTHING)) == ["a", "b"]
        assert store.tracks(COP, EVERYTHING)[0] == 2
        assert store.track(COP, "a") == a
        assert store.track(COP, "b") == b

    run(stores, check)


def test_an_update_replaces_a_track_and_a_removal_removes_it(stores: StoreContext) -> None:
    def check(store: TrackStore) -> None:
        store.apply(COP, 2, [track("a"), track("b")], [])
        moved = track("a", 52.0, 12.0, status=TrackStatus.COASTING, report_count=2)
        store.apply(COP, 4, [moved], ["b", "never-there"])
        assert store.tracks(COP, EVERYTHING) == (4, [moved])
        assert store.track(COP, "a") == moved
        assert store.track(COP, "b") is None
        # A track removed can come back, under the same id.
        store.apply(COP, 5, [track("b")], [])
        assert ids(store.tracks(COP, EVERYTHING)) == ["a", "b"]

    run(stores, check)


def test_a_step_without_changes_still_moves_the_seq(stores: StoreContext) -> None:
    def check(store: TrackStore) -> None:
        store.apply(COP, 3, [track("a")], [])
        store.apply(COP, 7, [], [])
        assert store.tracks(COP, EVERYTHING)[0] == 7

    run(stores, check)


def test_a_track_is_kept_whole(stores: StoreContext) -> None:
    def check(store: TrackStore) -> None:
        sent = full_track("whole")
        store.apply(COP, 1, [sent], [])
        assert store.track(COP, "whole") == sent
        assert store.tracks(COP, EVERYTHING)[1] == [sent]

    run(stores, check)


def test_a_track_comes_with_its_whole_lineage_when_asked(stores: StoreContext) -> None:
    async def scenario() -> None:
        async with stores(PICTURES) as store:
            sent = track("seen", lineage=tuple(f"r{i}" for i in range(200)), report_count=450)
            store.apply(COP, 1, [sent], [])
            assert await store.with_lineage(COP, "seen") == sent
            assert await store.with_lineage(COP, "never") is None

    asyncio.run(scenario())


def test_pictures_are_independent(stores: StoreContext) -> None:
    def check(store: TrackStore) -> None:
        store.apply(COP, 3, [track("a")], [])
        store.apply(PARTNER, 1, [track("a", 40.0, 20.0), track("z")], [])
        store.apply(PARTNER, 2, [], ["a"])
        assert store.seq(COP) == 3
        assert store.track(COP, "a") == track("a")
        assert ids(store.tracks(PARTNER, EVERYTHING)) == ["z"]
        assert store.seq(PARTNER) == 2

    run(stores, check)


def test_a_box_holds_its_edges(stores: StoreContext) -> None:
    def check(store: TrackStore) -> None:
        places = {
            "inside": (50.0, 10.0),
            "south-west": (49.0, 9.0),
            "north-east": (51.0, 11.0),
            "west-edge": (50.0, 9.0),
            "too-far-north": (51.000001, 10.0),
            "too-far-east": (50.0, 11.000001),
            "elsewhere": (-33.9, 151.2),
        }
        store.apply(COP, 1, [track(name, lat, lon) for name, (lat, lon) in places.items()], [])
        assert in_box(store, (9.0, 49.0, 11.0, 51.0)) == [
            "inside",
            "north-east",
            "south-west",
            "west-edge",
        ]
        assert in_box(store, (150.0, -35.0, 152.0, -33.0)) == ["elsewhere"]
        assert in_box(store, (0.0, 0.0, 1.0, 1.0)) == []

    run(stores, check)


def test_a_box_west_of_its_east_crosses_the_antimeridian(stores: StoreContext) -> None:
    def check(store: TrackStore) -> None:
        places = {
            "fiji": (-17.7, 178.0),
            "samoa": (-13.8, -172.1),
            "date-line": (0.0, 180.0),
            "other-side": (0.0, -180.0),
            "greenwich": (51.5, 0.0),
            "too-far-south": (-40.0, 179.0),
        }
        store.apply(COP, 1, [track(name, lat, lon) for name, (lat, lon) in places.items()], [])
        box = (170.0, -30.0, -170.0, 30.0)
        assert in_box(store, box) == ["date-line", "fiji", "other-side", "samoa"]

    run(stores, check)


def test_identities_and_statuses_filter(stores: StoreContext) -> None:
    def check(store: TrackStore) -> None:
        store.apply(
            COP,
            1,
            [
                track("hostile", identity=Identity.HOSTILE),
                track("friend", identity=Identity.FRIEND, status=TrackStatus.TENTATIVE),
                track("far-hostile", 10.0, 10.0, identity=Identity.HOSTILE),
                track("dead", identity=Identity.HOSTILE, status=TrackStatus.DEAD),
            ],
            [],
        )
        hostile = frozenset({Identity.HOSTILE})
        live = frozenset({TrackStatus.CONFIRMED, TrackStatus.TENTATIVE})
        assert ids(store.tracks(COP, TrackQuery(identities=hostile))) == [
            "dead",
            "far-hostile",
            "hostile",
        ]
        assert ids(store.tracks(COP, TrackQuery(statuses=live))) == [
            "far-hostile",
            "friend",
            "hostile",
        ]
        near = TrackQuery(bbox=(9.0, 49.0, 11.0, 51.0), identities=hostile, statuses=live)
        assert ids(store.tracks(COP, near)) == ["hostile"]
        assert store.tracks(COP, TrackQuery(identities=frozenset())) == (1, [])

    run(stores, check)


def test_an_unknown_picture_is_refused(stores: StoreContext) -> None:
    def check(store: TrackStore) -> None:
        with pytest.raises(KeyError):
            store.apply("nobody", 1, [track("a")], [])
        with pytest.raises(KeyError):
            store.apply_overlays("nobody", 1, [point("p", 0.0, 0.0)], [])
        with pytest.raises(KeyError):
            store.tracks("nobody", EVERYTHING)
        with pytest.raises(KeyError):
            store.seq("nobody")

    run(stores, check)


# -- overlays --------------------------------------------------------------------------


def test_overlays_are_applied_replaced_and_removed(stores: StoreContext) -> None:
    def check(store: TrackStore) -> None:
        first = point("poi", 30.5, 50.4)
        store.apply_overlays(COP, 1, [first, square("zone", 25.0, 48.0)], [])
        assert ids(store.overlays(COP, EVERYTHING)) == ["poi", "zone"]
        assert store.overlay(COP, "poi") == first
        renamed = point("poi", 30.6, 50.5, name="Bridge", label=Label("RESTRICTED", ("NATO",)))
        store.apply_overlays(COP, 3, [renamed], ["zone", "never-there"])
        assert store.overlays(COP, EVERYTHING) == (3, [renamed])
        assert store.overlay(COP, "zone") is None
        assert store.overlays(PARTNER, EVERYTHING) == (0, [])

    run(stores, check)


def test_overlays_answer_to_the_box(stores: StoreContext) -> None:
    def check(store: TrackStore) -> None:
        store.apply_overlays(
            COP,
            1,
            [
                point("inside", 10.0, 50.0),
                square("overlapping", 11.2, 50.0),
                overlay("crossing", OverlayKind.LINE, [(5.0, 50.0), (15.0, 50.0)]),
                # Its centre is outside, its 50 km reach is not.
                overlay("reaching", OverlayKind.CIRCLE, [(11.3, 50.0)], radius_m=50_000.0),
                point("outside", 20.0, 50.0),
                point("pacific", 179.5, 0.0),
                point("pacific-east", -179.5, 0.0),
            ],
            [],
        )
        assert overlays_in_box(store, (9.0, 49.0, 11.0, 51.0)) == [
            "crossing",
            "inside",
            "overlapping",
            "reaching",
        ]
        assert overlays_in_box(store, (179.0, -1.0, -179.0, 1.0)) == ["pacific", "pacific-east"]
        assert overlays_in_box(store, (9.0, 60.0, 11.0, 61.0)) == []

    run(stores, check)


def test_tracks_and_overlays_share_the_seq(stores: StoreContext) -> None:
    def check(store: TrackStore) -> None:
        store.apply(COP, 3, [track("a")], [])
        store.apply_overlays(COP, 5, [point("poi", 10.0, 50.0)], [])
        assert store.seq(COP) == 5
        assert store.tracks(COP, EVERYTHING)[0] == 5
        assert store.overlays(COP, EVERYTHING)[0] == 5
        store.apply(COP, 6, [], ["a"])
        assert store.overlays(COP, EVERYTHING) == (6, [point("poi", 10.0, 50.0)])

    run(stores, check)


def shapes_with_empty_corners() -> list[Overlay]:
    """Shapes whose bounding boxes hold places the shapes do not reach."""
    return [
        overlay("el", OverlayKind.LINE, [(0.0, 0.0), (10.0, 0.0), (10.0, 10.0)]),
        overlay(
            "diagonal",
            OverlayKind.AREA,
            [(20.0, 0.0), (21.0, 0.0), (31.0, 10.0), (30.0, 10.0), (20.0, 0.0)],
        ),
        # A ring around an empty middle, drawn as a line, and an area with a notch.
        overlay(
            "frame",
            OverlayKind.LINE,
            [(40.0, 0.0), (50.0, 0.0), (50.0, 10.0), (40.0, 10.0), (40.0, 0.0)],
        ),
        overlay(
            "horseshoe",
            OverlayKind.AREA,
            [
                (60.0, 0.0),
                (70.0, 0.0),
                (70.0, 10.0),
                (68.0, 10.0),
                (68.0, 2.0),
                (62.0, 2.0),
                (62.0, 10.0),
                (60.0, 10.0),
                (60.0, 0.0),
            ],
        ),
        # 100 km: about 0.9 degrees at the equator.
        overlay("disc", OverlayKind.CIRCLE, [(80.0, 0.0)], radius_m=100_000.0),
        overlay(
            "bend",
            OverlayKind.CORRIDOR,
            [(90.0, 0.0), (100.0, 0.0), (100.0, 10.0)],
            width_m=10_000.0,
        ),
        point("pin", 110.0, 5.0),
        # East across the antimeridian, then north.
        overlay("dateline", OverlayKind.LINE, [(170.0, 0.0), (-170.0, 0.0), (-170.0, 10.0)]),
    ]


def test_a_box_meets_the_shape_itself_not_its_bounding_box(stores: StoreContext) -> None:
    """The same answers from every store and from the change feed's filter, and (PostGIS)
    from the database's own spatial query."""
    shapes = shapes_with_empty_corners()
    boxes: dict[tuple[float, float, float, float], list[str]] = {
        (3.0, 3.0, 7.0, 7.0): [],
        (9.0, 4.0, 11.0, 6.0): ["el"],
        (10.0, 10.0, 12.0, 12.0): ["el"],  # its end, on the box's corner
        (20.0, 7.0, 23.0, 10.0): [],
        (25.2, 4.9, 25.4, 5.1): ["diagonal"],
        (42.0, 2.0, 48.0, 8.0): [],
        (49.0, 4.0, 51.0, 6.0): ["frame"],
        (63.0, 4.0, 67.0, 9.0): [],
        (61.0, 5.0, 61.5, 6.0): ["horseshoe"],
        (80.7, 0.7, 81.0, 1.0): [],
        (80.85, -0.05, 81.0, 0.05): ["disc"],
        (92.0, 3.0, 98.0, 8.0): [],
        (99.99, 4.0, 100.01, 5.0): ["bend"],
        (110.0, 5.0, 111.0, 6.0): ["pin"],
        (-175.0, 5.0, -172.0, 8.0): [],
        (175.0, 5.0, -175.0, 8.0): [],
        (120.0, -1.0, 130.0, 1.0): [],  # on the line had it gone the long way round
        (-171.0, 5.0, -169.0, 6.0): ["dateline"],
        (179.0, -1.0, -179.0, 1.0): ["dateline"],
        (-180.0, -90.0, 180.0, 90.0): sorted(shape.id for shape in shapes),
    }

    async def scenario() -> None:
        async with stores(PICTURES) as store:
            store.apply_overlays(COP, 1, shapes, [])
            if isinstance(store, PostgisTrackStore):
                await store.flush()
            for box, wanted in boxes.items():
                assert overlays_in_box(store, box) == wanted, box
                query = TrackQuery(bbox=box)
                assert sorted(o.id for o in shapes if query.matches_overlay(o)) == wanted, box
                if isinstance(store, PostgisTrackStore):
                    written = await store.query_overlays(COP, box)
                    assert [o.id for o in written] == wanted, box

    asyncio.run(scenario())
