"""After-action export of a window's alerts and their acknowledgements as CSV: raised and
acknowledged in order, text a spreadsheet would run kept inert, and only for readers of
the picture."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path

from tessera.core.model import Identity
from tests.alerting.scenario import NATO_LABEL, T0, Scene, run
from tests.store.builders import track
from tests.support import iso

RULE = {"id": "new", "picture": "NATO", "kind": "new-hostile"}


def test_a_window_exports_its_alerts_and_acknowledgements(tmp_path: Path) -> None:
    async def body(s: Scene) -> None:
        s.clock.at(10)
        (alert,) = s.feed(
            "NATO", track("h1", 50.05, 10.05, identity=Identity.HOSTILE, label=NATO_LABEL)
        )
        s.clock.at(20)
        params = {"picture": "NATO", "from": iso(T0), "to": iso(T0 + timedelta(seconds=60))}
        async with s.client("nato") as nato:
            acked = await nato.post(f"/api/v1/alerts/{alert.id}/ack", json={"note": "=cmd|x"})
            assert acked.status_code == 200, acked.text
            s.clock.at(100)
            answer = await nato.get("/api/v1/export", params={**params, "format": "csv"})
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(answer.text)))
        assert [row["event"] for row in rows] == ["raised", "acknowledged"]
        assert {row["alert_id"] for row in rows} == {alert.id}
        assert rows[0]["time"] == iso(T0 + timedelta(seconds=10))
        assert rows[1]["by"] == "nato-officer" and rows[1]["note"] == "'=cmd|x"
        assert rows[0]["classification"] == "SECRET" and rows[0]["kind"] == "new-hostile"
        # A reader of another picture is told nothing of this one.
        async with s.client("ukr") as ukr:
            refused = await ukr.get("/api/v1/export", params={**params, "format": "csv"})
        assert refused.status_code == 404

    run(tmp_path, body, alerts={"tick_s": 3600.0, "rules": [RULE]})
