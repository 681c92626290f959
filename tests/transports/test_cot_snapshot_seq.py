"""A TAK client is attached to the change feed from the seq of the picture it was sent:
on a gateway, whose copy of a picture may trail the feed, what the copy has yet to apply
still reaches the client, and nothing at or before that seq does."""

from __future__ import annotations

import asyncio
from pathlib import Path

import msgspec
import pytest

from tessera.bus.base import Change
from tessera.codecs.geojson import track_feature
from tessera.codecs.json import encode
from tests.bus.test_bus_contract import track
from tests.transports.cot_support import CotReader, LiveCot
from tests.transports.test_cot_stream import NATO_PICTURE, run_cot

pytestmark = pytest.mark.slow


def change(seq: int, track_id: str) -> Change:
    item = track(track_id)
    return Change(seq, track_id, item, msgspec.Raw(encode(track_feature(item))))


def test_a_tak_client_gets_what_the_copy_of_the_picture_has_yet_to_apply(
    tmp_path: Path,
) -> None:
    async def scenario(live: LiveCot) -> None:
        tessera = live.live.tessera
        picture = str(NATO_PICTURE["name"])
        held = tessera.store.seq(picture)
        # The feed is ahead of the store, as a gateway's is before its copy applies it.
        tessera.bus.publish(picture, [change(held + 1, "ahead")])
        reader, writer = await asyncio.open_connection("127.0.0.1", live.ports["cot"])
        cot = CotReader(reader)
        reading = asyncio.create_task(cot.run())
        try:
            await cot.wait_for(lambda e: e.uid == f"tessera-{picture}-ahead")
            # Older than what the client holds: never sent.
            tessera.bus.publish(picture, [change(held, "behind"), change(held + 2, "next")])
            await cot.wait_for(lambda e: e.uid == f"tessera-{picture}-next")
            assert not [e for e in cot.events if e.uid.endswith("-behind")]
        finally:
            reading.cancel()
            writer.close()

    run_cot(tmp_path, scenario, cot_tcp_port=0, cot_tcp_principal="field", pictures=[NATO_PICTURE])
