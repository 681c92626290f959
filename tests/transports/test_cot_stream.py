"""TAK clients join the picture: interoperability with pytak and takproto, over TCP, TLS
and UDP, in XML and in TAK protocol version 1."""

from __future__ import annotations

import asyncio
import configparser
import warnings
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from tessera.core.model import Label, Principal, Report, Role
from tests.support import report_doc
from tests.transports.cot_support import CotReader, LiveCot, live_cot

with warnings.catch_warnings():
    # pytak warns at import that an optional web-socket package is missing.
    warnings.simplefilter("ignore")
    import pytak

pytestmark = pytest.mark.slow

FIELD = Principal(
    name="field",
    communities=("NATO",),
    clearance="RESTRICTED",
    roles=(Role.VIEWER, Role.REPORTER),
    default_label=Label("RESTRICTED", ("NATO",)),
)
NATO_PICTURE = {
    "name": "NATO",
    "rule": {"max_classification": "RESTRICTED", "releasable_to": "NATO"},
    "reader_communities": ["NATO"],
}
Scenario = Callable[[LiveCot], Awaitable[None]]


def run_cot(tmp_path: Path, scenario: Scenario, **overrides: Any) -> None:
    async def main() -> None:
        async with live_cot(tmp_path, **overrides) as live:
            await live.live.grant(FIELD)
            await asyncio.wait_for(scenario(live), 60)

    asyncio.run(main())


def pytak_config(url: str, **extra: str) -> configparser.SectionProxy:
    parser = configparser.ConfigParser()
    parser["client"] = {"COT_URL": url, "TAK_PROTO": "0", **extra}
    return parser["client"]


class PytakClient:
    """pytak's own connection and transmit worker; our reader on the receiving side."""

    def __init__(self, config: configparser.SectionProxy) -> None:
        self.config = config
        self.reader: CotReader | None = None
        self.tx: Any = None
        self._task: asyncio.Task[None] | None = None
        self._writer: Any = None

    async def __aenter__(self) -> PytakClient:
        reader, writer = await pytak.protocol_factory(self.config)
        self._writer = writer
        self.tx = pytak.TXWorker(asyncio.Queue(), self.config, writer)
        self.reader = CotReader(reader)
        self.reader.protobuf = self.config.get("TAK_PROTO") == "1"
        self._task = asyncio.create_task(self.reader.run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
        self._writer.close()

    async def send(self, data: bytes) -> None:
        await self.tx.send_data(data)


def position(uid: str, lat: float, lon: float, callsign: str) -> bytes:
    event = pytak.gen_cot(
        lat=lat, lon=lon, ce=10, hae=0, le=10, uid=uid, stale=120, cot_type="a-f-G-U-C",
        callsign=callsign,
    )  # fmt: skip
    assert event is not None
    return event


def chat(sender_uid: str, text: str) -> bytes:
    return (
        f'<event version="2.0" uid="GeoChat.{sender_uid}.All Chat Rooms.1" type="b-t-f" '
        'how="h-g-i-g-o" time="2026-11-25T10:00:00Z" start="2026-11-25T10:00:00Z" '
        'stale="2030-11-25T10:00:00Z"><point lat="0" lon="0" hae="0" ce="9999999" '
        'le="9999999"/><detail><__chat parent="RootContactGroup" groupOwner="false" '
        f'chatroom="All Chat Rooms" id="All Chat Rooms" senderCallsign="{sender_uid}">'
        f'<chatgrp uid0="{sender_uid}" uid1="All Chat Rooms" id="All Chat Rooms"/></__chat>'
        f'<link uid="{sender_uid}" type="a-f-G-U-C" relation="p-p"/>'
        f'<remarks source="BAO.F.ATAK.{sender_uid}" time="2026-11-25T10:00:00Z">{text}</remarks>'
        "</detail></event>"
    ).encode()


async def reports_about(live: LiveCot, subject: str, timeout: float = 10.0) -> list[Report]:
    """The journal's reports about ``subject``, once there is at least one."""
    journal = live.live.tessera.journal
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        entries = await journal.read(0, 100_000)
        found = [e.report for e in entries if e.report is not None and e.report.subject == subject]
        if found or asyncio.get_running_loop().time() > deadline:
            assert found, f"no report about {subject}"
            return found
        await asyncio.sleep(0.05)


def test_pytak_clients_over_tcp_share_positions_and_chat_and_see_the_picture(
    tmp_path: Path,
) -> None:
    async def scenario(live: LiveCot) -> None:
        label = {"classification": "RESTRICTED", "releasable_to": ["NATO"]}
        async with live.live.client() as admin:
            posted = await admin.post(
                "/api/v1/reports", json=[report_doc(report_id="h1", lat=53.2, label=label)]
            )
        assert await live.live.tessera.worker.wait_caught_up(posted.json()["last_seq"], 10)
        url = f"tcp://127.0.0.1:{live.ports['cot']}"
        async with PytakClient(pytak_config(url)) as alpha, PytakClient(pytak_config(url)) as bravo:
            assert alpha.reader and bravo.reader
            # On connecting, the picture at once.
            track = await alpha.reader.wait_for(lambda e: e.uid.endswith("trk-h1"))
            assert track.type.startswith("a-") and track.sidc
            await alpha.send(position("alpha-1", 53.1, 18.0, "ALPHA"))
            seen = await bravo.reader.wait_for(lambda e: e.uid == "alpha-1")
            assert seen.callsign == "ALPHA"
            await alpha.send(chat("alpha-1", "contact at the bridge"))
            message = await bravo.reader.wait_for(lambda e: e.type == "b-t-f")
            assert message.remarks == "contact at the bridge"
        # The position became a report of the field principal's, labelled by default.
        mine = await reports_about(live, "alpha-1")
        assert mine[0].label == Label("RESTRICTED", ("NATO",))

    run_cot(tmp_path, scenario, cot_tcp_port=0, cot_tcp_principal="field", pictures=[NATO_PICTURE])
