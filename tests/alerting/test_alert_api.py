"""The alert rules API refuses what is wrong by field and what the settings make; alerts
come on the stream only to readers of their picture; a restart keeps an open alert."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import websockets

from tessera.alerting.model import NoticeKind
from tessera.core.model import Identity, Label
from tests.alerting.scenario import NATO_LABEL, Scene, run
from tests.store.builders import track
from tests.support import bearer, report_doc

UKR_LABEL = Label("RESTRICTED", ("UKR",))
SETTINGS_RULE = {"id": "fixed-new", "picture": "NATO", "kind": "new-hostile"}


def test_bad_rules_are_refused_by_field(tmp_path: Path) -> None:
    async def body(s: Scene) -> None:
        async with s.client("nato") as nato:
            missing = await nato.post("/api/v1/alert-rules", json={"kind": "dwell"})
            assert missing.status_code == 422
            fields = [e["field"] for e in missing.json()["errors"]]
            assert fields == ["area", "dwell_s"]
            unknown = await nato.post("/api/v1/alert-rules", json={"kind": "lost", "x": 1})
            assert unknown.status_code == 422
            nowhere = {"kind": "enter", "area": "no-such-overlay", "picture": "NATO"}
            answer = await nato.post("/api/v1/alert-rules", json=nowhere)
            assert answer.status_code == 422
            assert "no overlay" in answer.json()["errors"][0]["reason"]
            other = await nato.post(
                "/api/v1/alert-rules", json={"kind": "new-hostile", "picture": "UKR"}
            )
            assert other.status_code == 404
            made = await nato.post(
                "/api/v1/alert-rules", json={"kind": "lost", "id": "l", "lost_after_s": 60}
            )
            assert made.status_code == 201 and made.json()["picture"] == "NATO"
            again = await nato.post(
                "/api/v1/alert-rules",
                json={"kind": "lost", "id": "l", "lost_after_s": 60, "picture": "NATO"},
            )
            assert again.status_code == 409
            # Made in the settings: shown, read-only.
            listed = (await nato.get("/api/v1/alert-rules", params={"picture": "NATO"})).json()
            fixed = [r for r in listed["rules"] if r["id"] == "fixed-new"]
            assert fixed and fixed[0]["read_only"] is True
            put = await nato.put("/api/v1/alert-rules/fixed-new", json={"kind": "new-hostile"})
            assert put.status_code == 409
            assert (await nato.delete("/api/v1/alert-rules/fixed-new")).status_code == 409
            edited = await nato.put(
                "/api/v1/alert-rules/l", json={"kind": "lost", "lost_after_s": 30}
            )
            assert edited.status_code == 200 and edited.json()["lost_after_s"] == 30
            assert (await nato.delete("/api/v1/alert-rules/l")).status_code == 204
            assert (await nato.get("/api/v1/alert-rules/l")).status_code == 404
            bad = await nato.get("/api/v1/alerts", params={"state": "nope"})
            assert bad.status_code == 400

    run(tmp_path, body, alerts={"tick_s": 3600.0, "rules": [SETTINGS_RULE]})


async def _subscribe(s: Scene, who: str, picture: str) -> Any:
    url = s.live.ws_url
    connection = await websockets.connect(url, additional_headers=bearer(s.tokens[who]))
    await connection.send(json.dumps({"type": "subscribe", "picture": picture}))
    assert json.loads(await connection.recv())["type"] == "snapshot"
    return connection


async def _first_alerts(connection: Any) -> dict[str, Any]:
    while True:
        message: dict[str, Any] = json.loads(await connection.recv())
        if message["type"] == "alerts":
            return message


def test_alerts_on_the_stream_reach_only_readers_of_their_picture(tmp_path: Path) -> None:
    async def body(s: Scene) -> None:
        for picture in ("NATO", "UKR"):
            rule = {"kind": "new-hostile", "id": f"new-{picture}", "picture": picture}
            async with s.client("nato" if picture == "NATO" else "ukr") as client:
                assert (await client.post("/api/v1/alert-rules", json=rule)).status_code == 201
        nato = await _subscribe(s, "nato", "NATO")
        ukr = await _subscribe(s, "ukr", "UKR")
        try:
            s.feed("NATO", track("n1", identity=Identity.HOSTILE, label=NATO_LABEL))
            s.feed("UKR", track("u1", identity=Identity.HOSTILE, label=UKR_LABEL))
            theirs = await _first_alerts(ukr)
            ours = await _first_alerts(nato)
        finally:
            await nato.close()
            await ukr.close()
        assert [n["alert"]["track_id"] for n in theirs["notices"]] == ["u1"]
        assert [n["alert"]["track_id"] for n in ours["notices"]] == ["n1"]
        assert ours["notices"][0]["event"] == "raised"
        assert ours["notices"][0]["id"].endswith(".raised")

    run(tmp_path, body)


def test_fused_reports_raise_an_alert_that_a_restart_keeps(tmp_path: Path) -> None:
    async def body(s: Scene) -> None:
        service = s.service
        inbox = service.feed.listen()
        async with s.client("nato") as nato:
            rule = {"kind": "new-hostile", "id": "new", "picture": "NATO"}
            assert (await nato.post("/api/v1/alert-rules", json=rule)).status_code == 201
        label = {"classification": "SECRET", "releasable_to": ["NATO"]}
        observed = s.clock.now
        async with s.live.client() as admin:
            # A declaration keeps the identity it states (one sighting would be suspect).
            doc = report_doc(identity="hostile", label=label, observed_at=observed, kind="unit") | {
                "subject": "uav-1",
                "valid_until": "2026-12-04T13:00:00Z",
            }
            assert (await admin.post("/api/v1/reports", json=[doc])).status_code == 202
        (raised,) = await asyncio.wait_for(inbox.take(), 10)
        assert raised.event is NoticeKind.RAISED and raised.alert.picture == "NATO"
        await service.stop()
        await service.start()
        listed = service.store.alerts("NATO", active_only=True)
        assert [a.id for a in listed] == [raised.alert.id]
        service.feed.stop_listening(inbox)

    run(tmp_path, body)
