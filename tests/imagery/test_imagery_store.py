"""An imagery footprint keeps its facts through the PostGIS store (written by one store,
read back by another), as through the embedded one."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from tessera.core.imagery import Imagery, ImageryAsset
from tessera.core.model import Label
from tessera.core.overlays import Overlay, OverlayKind
from tessera.postgis.migrate import migrate
from tests.postgis.databases import scratch_database
from tests.store.builders import opened

FOOTPRINT = Overlay(
    id="ov-image",
    name="sentinel-2a 2026-05-04 09:30Z",
    kind=OverlayKind.AREA,
    coordinates=((18.0, 53.0), (18.2, 53.0), (18.2, 53.2), (18.0, 53.2), (18.0, 53.0)),
    label=Label("RESTRICTED", ("NATO",)),
    author="imagery-bot",
    imagery=Imagery(
        source="sat",
        item="S2A",
        collection="s2",
        platform="sentinel-2a",
        instruments=("msi",),
        acquired_at=datetime(2026, 5, 4, 9, 30, tzinfo=UTC),
        cloud_cover=7.5,
        gsd_m=10.0,
        thumbnail="https://example.org/t.png",
        assets=(ImageryAsset(key="visual", href="https://example.org/v.tif", roles=("visual",)),),
        grading="B2",
    ),
)


def test_the_postgis_store_keeps_an_images_facts() -> None:
    async def main() -> None:
        with scratch_database() as dsn:
            migrate(dsn)
            async with opened(dsn, ["P"], writer=True) as writer:
                writer.apply_overlays("P", 1, [FOOTPRINT], [])
                await writer.flush(timeout=20)
            async with opened(dsn, ["P"], writer=False) as reader:
                assert reader.overlay("P", FOOTPRINT.id) == FOOTPRINT

    asyncio.run(main())
