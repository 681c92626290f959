"""The satellite catalogue: URL sources fetched and refreshed, a failed refresh keeps the
last good sets and says why; bad settings and files are refused with the reason."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tessera.codecs.elements import decode_element_sets
from tessera.core.labels import DEFAULT_LEVELS, AdmissionRule, ClassificationScheme, Picture, admits
from tessera.core.model import Identity, Label
from tessera.core.space.catalog import SatelliteSource, profiled, visible_to
from tessera.settings import load_settings
from tessera.space.catalog import SatelliteCatalog, SatelliteFileError
from tests.space.support import ELEMENTS, OPEN

URL = "https://elements.example/gp.php?GROUP=test&FORMAT=tle"


def source(**fields: object) -> SatelliteSource:
    return msgspec.convert({"name": "feed", "label": OPEN, **fields}, SatelliteSource)


def test_a_url_source_is_fetched_and_a_failed_refresh_keeps_the_last_sets() -> None:
    answers = [httpx.Response(200, content=ELEMENTS.read_bytes()), httpx.Response(503)]
    answers.append(httpx.Response(200, content=b"not an element set"))
    asked: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(str(request.url))
        return answers.pop(0)

    async def scenario() -> None:
        configured = source(url=URL, identity="hostile", imaging=True, refresh_s=60.0)
        catalog = SatelliteCatalog([configured], transport=httpx.MockTransport(handler))
        await catalog.start()
        try:
            assert await catalog.wait_loaded("feed", 1, timeout=30)
        finally:
            await catalog.stop()
        assert len(catalog.satellites()) == 20
        assert {s.identity for s in catalog.satellites()} == {Identity.HOSTILE}
        assert not await catalog.refresh(configured)
        assert "503" in (catalog.status()["feed"]["last_error"] or "")
        assert not await catalog.refresh(configured)
        assert "no element set" in (catalog.status()["feed"]["last_error"] or "")
        assert len(catalog.satellites()) == 20
        assert catalog.status()["feed"]["failures"] == 2

    asyncio.run(scenario())
    assert asked == [URL] * 3


def test_profiles_say_what_each_satellite_is() -> None:
    configured = source(
        file="x",
        identity="neutral",
        profiles=[
            {"norad_ids": [25544], "identity": "friend", "sensor_half_angle": 10.0},
            {"norad_ids": [33591], "imaging": True, "label": {"classification": "SECRET"}},
        ],
    )
    satellites = {
        s.norad_id: s for s in profiled(configured, decode_element_sets(ELEMENTS.read_bytes()))
    }
    assert satellites[25544].identity is Identity.FRIEND
    assert satellites[25544].sensor_half_angle == 10.0
    assert satellites[33591].imaging and satellites[33591].label.classification == "SECRET"
    assert satellites[28654].identity is Identity.NEUTRAL and not satellites[28654].imaging


def test_bad_files_and_settings_are_refused_with_the_reason(tmp_path: Path) -> None:
    bad = tmp_path / "bad.tle"
    bad.write_text("1 25544U garbage\n")
    with pytest.raises(SatelliteFileError, match=r"satellites feed: .*bad\.tle"):
        SatelliteCatalog([source(file=str(bad))]).load_files()
    with pytest.raises(SatelliteFileError, match=r"missing\.tle"):
        SatelliteCatalog([source(file=str(tmp_path / "missing.tle"))]).load_files()
    cases = {
        "give exactly one of file and url": {"name": "x", "label": OPEN},
        "url must be http": {"name": "x", "label": OPEN, "url": "ftp://x"},
        "refresh_s must be": {"name": "x", "label": OPEN, "url": URL, "refresh_s": 1.0},
        "is not a level": {"name": "x", "label": {"classification": "TOP"}, "url": URL},
    }
    for reason, entry in cases.items():
        with pytest.raises(ValueError, match=reason):
            load_settings(data_dir=tmp_path, satellites=[entry])


SCHEME = ClassificationScheme()
labels = st.builds(
    Label,
    st.sampled_from(DEFAULT_LEVELS),
    st.lists(st.sampled_from(["NATO", "UKR", "EU"]), max_size=2, unique=True).map(tuple),
)
rules = st.builds(
    AdmissionRule,
    max_classification=st.none() | st.sampled_from(DEFAULT_LEVELS),
    releasable_to=st.none() | st.sampled_from(["NATO", "UKR", "EU"]),
)


@given(rule=rules, chosen=st.lists(labels, min_size=1, max_size=6))
def test_a_picture_knows_exactly_the_satellites_its_rule_admits(
    rule: AdmissionRule, chosen: list[Label]
) -> None:
    sets = decode_element_sets(ELEMENTS.read_bytes())
    satellites = [
        s
        for index, label in enumerate(chosen)
        for s in profiled(
            source(file="x", label=msgspec.to_builtins(label)), sets[index : index + 1]
        )
    ]
    picture = Picture(name="P", rule=rule)
    shown = visible_to(picture, satellites, SCHEME)
    assert shown == [s for s in satellites if admits(picture, s.label, SCHEME)]
