"""The settings' order of battle on a live server: a unit whose reports name no
formation is shown in the one the settings give it (GeoJSON ``parent``, the echelon in
its symbol) and sent to TAK clients with a ``link relation="p-p"`` to that formation."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tessera.codecs.cot_relations import parent_uid
from tests.support import report_doc
from tests.transports.cot_support import CotReader, LiveCot
from tests.transports.test_cot_stream import NATO_PICTURE, run_cot

pytestmark = pytest.mark.slow
INFANTRY = "10031000001211000000"


def test_a_units_formation_from_the_settings_is_shown_and_sent_to_tak(tmp_path: Path) -> None:
    async def scenario(live: LiveCot) -> None:
        doc = report_doc(
            subject="BLUE-COY-7", source="BLUE-COY-7", kind="unit", identity="friend",
            label={"classification": "RESTRICTED", "releasable_to": ["NATO"]},
        )  # fmt: skip
        doc["sidc"] = INFANTRY
        async with live.live.client() as admin:
            posted = await admin.post("/api/v1/reports", json=[doc])
            assert posted.status_code in (200, 202), posted.text
            tessera = live.live.tessera
            assert await tessera.worker.wait_caught_up(tessera.journal.last_seq, 10)
            tracks = (await admin.get("/api/v1/tracks", params={"picture": "NATO"})).json()
        [feature] = tracks["features"]
        assert feature["properties"]["parent"] == "BLUE-BN-2"
        assert feature["properties"]["sidc"][8:10] == "15"
        stream, writer = await asyncio.open_connection("127.0.0.1", live.ports["cot"])
        cot = CotReader(stream)
        reading = asyncio.create_task(cot.run())
        try:
            # A unit's own track goes to TAK maps under the unit's own uid.
            event = await cot.wait_for(lambda e: e.uid == "BLUE-COY-7")
        finally:
            reading.cancel()
            writer.close()
        assert event.link_uid == "BLUE-BN-2" and parent_uid(event) == "BLUE-BN-2"

    run_cot(
        tmp_path,
        scenario,
        cot_tcp_port=0,
        cot_tcp_principal="field",
        pictures=[NATO_PICTURE],
        order_of_battle={"BLUE-COY-7": {"parent": "BLUE-BN-2", "echelon": "company"}},
    )
