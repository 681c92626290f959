"""One process (role "all") starts its links at once, without the links lease; a gateway
with none configured takes no lease."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import cast

from tessera.server import announce, bind
from tessera.settings import Settings, load_settings
from tessera.transports.links import LinksHost, leased, start_links
from tests.codecs.test_adsb import sbs
from tests.support import live_server
from tests.transports.feeds.support import feed, run, stream


def test_role_all_starts_its_feeds_directly(tmp_path: Path) -> None:
    async def scenario() -> None:
        done = asyncio.Event()

        async def basestation(_r: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(sbs("48520A", lat="54.3") + b"\r\n")
            await writer.drain()
            await done.wait()
            writer.close()

        server = await asyncio.start_server(basestation, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        config = feed("adsb", "adsb-sbs", f"tcp://127.0.0.1:{port}")
        async with server, live_server(tmp_path, feeds=[config]) as live:
            assert live.tessera.role == "all" and not leased(live.tessera)
            links = await start_links(live.tessera, bind, announce)
            try:
                async with stream(live) as seen:
                    await seen.until(lambda s: "icao-48520a" in s.subjects(), "the aircraft")
                # No lease: nothing said of one.
                assert "links_lease" not in live.tessera.feeds.summary()
                assert live.tessera.feeds.feeds["adsb"].connected
            finally:
                done.set()
                await links.stop()

    run(scenario())


def test_a_gateway_runs_its_links_under_the_lease_only_when_it_has_some(tmp_path: Path) -> None:
    config = feed("adsb", "adsb-sbs", "tcp://127.0.0.1:9")
    bare = load_settings(data_dir=tmp_path)
    fed = load_settings(data_dir=tmp_path, feeds=[config])

    def host(role: str, settings: Settings) -> LinksHost:
        return cast("LinksHost", SimpleNamespace(role=role, settings=settings))

    assert not leased(host("gateway", bare))
    assert leased(host("gateway", fed))
    assert not leased(host("all", fed))
