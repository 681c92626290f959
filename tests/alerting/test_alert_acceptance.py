"""Every rule kind, made through the API on one picture, raises its alert once per
episode and clears it; the alert is listed, streamed and acknowledgeable for the readers
of that picture, and for nobody who reads only another one."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tessera.alerting.model import NoticeKind
from tessera.core.alerts.emergency import emergency_subject
from tessera.core.model import Identity, Track, TrackStatus
from tests.alerting.scenario import BOX, NATO_LABEL, T0, Scene, run
from tests.store.builders import track

INSIDE, EDGE, OUTSIDE = 50.05, 50.1005, 50.2


def hostile(lat: float, **fields: Any) -> Track:
    return track("h1", lat, 10.05, identity=Identity.HOSTILE, label=NATO_LABEL, **fields)


def friend(lat: float) -> Track:
    return track("f1", lat, 10.05, identity=Identity.FRIEND, label=NATO_LABEL, name="1 PLT")


def enter(s: Scene) -> None:
    for second, lat in enumerate([OUTSIDE, INSIDE, EDGE, INSIDE, OUTSIDE]):
        s.clock.at(second)
        s.feed("NATO", hostile(lat))


def leave(s: Scene) -> None:
    for second, lat in enumerate([INSIDE, OUTSIDE, OUTSIDE + 0.1, INSIDE]):
        s.clock.at(second)
        s.feed("NATO", hostile(lat))


def dwell(s: Scene) -> None:
    s.feed("NATO", hostile(INSIDE))
    for second in (59, 60, 120):
        s.service.tick(s.clock.at(second))
    s.clock.at(121)
    s.feed("NATO", hostile(OUTSIDE))


def new_hostile(s: Scene) -> None:
    s.feed("NATO", track("h1", INSIDE, 10.05, identity=Identity.UNKNOWN, label=NATO_LABEL))
    for second, identity in enumerate([Identity.HOSTILE, Identity.HOSTILE, Identity.SUSPECT]):
        s.clock.at(second + 1)
        s.feed("NATO", track("h1", INSIDE, 10.05, identity=identity, label=NATO_LABEL))


def proximity(s: Scene) -> None:
    s.feed("NATO", friend(50.0))
    # About 4.9 km, 5.05 km (within the margin), 11 km.
    for second, lat in enumerate([50.044, 50.0454, 50.1]):
        s.clock.at(second + 1)
        s.feed("NATO", track("h1", lat, 10.05, identity=Identity.HOSTILE, label=NATO_LABEL))


def lost(s: Scene) -> None:
    s.feed("NATO", hostile(INSIDE, updated_at=T0))
    for second in (119, 120, 200):
        s.service.tick(s.clock.at(second))
    s.feed("NATO", hostile(INSIDE, status=TrackStatus.COASTING, updated_at=T0))
    s.feed("NATO", hostile(INSIDE, updated_at=s.clock.at(201)))


def emergency(s: Scene) -> None:
    sos = track(
        "sos",
        identity=Identity.FRIEND,
        label=NATO_LABEL,
        subject=emergency_subject("ANDROID-1-9-1-1"),
    )
    s.feed("NATO", sos)
    s.clock.at(1)
    s.feed("NATO", sos)
    s.clock.at(2)
    s.feed("NATO", removed=("sos",))


SCENARIOS: dict[str, tuple[dict[str, Any], Callable[[Scene], None]]] = {
    "enter": ({"kind": "enter"}, enter),
    "leave": ({"kind": "leave"}, leave),
    "dwell": ({"kind": "dwell", "dwell_s": 60}, dwell),
    "new-hostile": ({"kind": "new-hostile"}, new_hostile),
    "proximity": ({"kind": "proximity", "distance_km": 5}, proximity),
    "lost": ({"kind": "lost", "lost_after_s": 120}, lost),
    "emergency": ({"kind": "emergency"}, emergency),
}


@pytest.mark.parametrize("kind", list(SCENARIOS))
def test_each_rule_kind_raised_once_cleared_and_only_for_its_picture(
    tmp_path: Path, kind: str
) -> None:
    rule_doc, steps = SCENARIOS[kind]

    async def body(s: Scene) -> None:
        inbox = s.service.feed.listen()
        doc = {**rule_doc, "id": f"rule-{kind}", "picture": "NATO", "name": f"watch {kind}"}
        if kind in ("enter", "leave", "dwell"):
            doc["area"] = await s.overlay("NATO", BOX)
        async with s.client("nato") as nato, s.client("ukr") as ukr:
            made = await nato.post("/api/v1/alert-rules", json=doc)
            assert made.status_code == 201, made.text
            steps(s)
            notices = [n for n in await inbox.take() if n.alert.rule_id == doc["id"]]
            assert [n.event for n in notices] == [NoticeKind.RAISED, NoticeKind.CLEARED]
            assert len({n.alert.id for n in notices}) == 1
            listed = await nato.get("/api/v1/alerts", params={"picture": "NATO", "state": "all"})
            (alert,) = listed.json()["alerts"]
            assert alert["rule_id"] == doc["id"] and alert["kind"] == kind
            assert alert["cleared_at"] is not None
            assert alert["label"]["releasable_to"] == ["NATO"]
            # Nobody who reads only the other picture hears of it.
            assert (await ukr.get("/api/v1/alerts", params={"picture": "NATO"})).status_code == 404
            theirs = await ukr.get("/api/v1/alerts", params={"picture": "UKR", "state": "all"})
            assert theirs.json()["alerts"] == []
            refused = await ukr.post(f"/api/v1/alerts/{alert['id']}/ack")
            assert refused.status_code == 404
            assert (await ukr.get(f"/api/v1/alert-rules/{doc['id']}")).status_code == 404
            acked = await nato.post(f"/api/v1/alerts/{alert['id']}/ack", json={"note": "seen"})
            assert acked.status_code == 200
            assert acked.json()["acknowledged_by"] == "nato-officer"
        await s.live.tessera.audit.flush()
        async with s.live.client() as admin:
            trail = await admin.get("/api/v1/audit", params={"action": "alerts."})
        actions = [(e["action"], e["principal"], e["target"]) for e in trail.json()["events"]]
        assert ("alerts.ack", "nato-officer", alert["id"]) in actions
        assert ("alerts.rules.create", "nato-officer", doc["id"]) in actions
        acks = s.service.store.acknowledgements("NATO")
        assert [(a.alert_id, a.by, a.note) for a in acks] == [(alert["id"], "nato-officer", "seen")]

    run(tmp_path, body)
