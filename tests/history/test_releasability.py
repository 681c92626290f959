"""History is released like the live picture (DESIGN §3): a viewer sees the past of the
pictures it may read, and in them only tracks built from what it may see; another
picture's past answers 404, exactly as a picture that does not exist."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tessera.core.labels import DEFAULT_LEVELS, ClassificationScheme
from tessera.core.model import Label
from tessera.security.policy import may_read_label
from tests.history.recording import LiveRecording, at_param, by_id
from tests.ogc.helpers import NATO_ANALYST, NATO_ONLY, PICTURES, SHARED, UKR_ANALYST, UKR_ONLY
from tests.ogc.helpers import run_live as run
from tests.support import Live, report_doc

SCHEME = ClassificationScheme(DEFAULT_LEVELS)


def labelled_reports(seed: int, count: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    start = datetime.now(UTC) - timedelta(minutes=2)
    return [
        report_doc(
            lat=53 + rng.randrange(12) * 0.05,
            lon=18 + i * 1e-5,
            label=rng.choice([NATO_ONLY, UKR_ONLY, SHARED]),
            observed_at=start + timedelta(seconds=i * 0.2),
        )
        for i in range(count)
    ]


def test_a_viewer_sees_only_the_past_it_may_see(tmp_path: Path) -> None:
    async def scenario(live: Live) -> None:
        recording = LiveRecording(live, ["NATO", "UKR"])
        docs = labelled_reports(seed=2, count=240)
        async with live.client() as admin:
            for start in range(0, len(docs), 20):
                answer = await admin.post("/api/v1/reports", json=docs[start : start + 20])
                assert answer.status_code == 202
                assert await live.tessera.worker.wait_caught_up(live.tessera.journal.last_seq, 30)
        for viewer, mine, theirs in ((UKR_ANALYST, "UKR", "NATO"), (NATO_ANALYST, "NATO", "UKR")):
            token = await live.grant(viewer)
            async with live.client(token) as client:
                for moment in recording.random_times(10, seed=len(mine)):
                    at = at_param(moment)
                    answer = await client.get("/api/v1/tracks", params={"at": at})
                    assert answer.status_code == 200
                    features = answer.json()["features"]
                    assert by_id(features) == by_id(recording.at(moment, mine))
                    for feature in features:
                        properties = feature["properties"]
                        label = Label(
                            properties["classification"], tuple(properties["releasable_to"])
                        )
                        assert may_read_label(viewer, label, SCHEME)
                    hidden = await client.get(
                        "/api/v1/tracks", params={"at": at, "picture": theirs}
                    )
                    missing = await client.get(
                        "/api/v1/tracks", params={"at": at, "picture": "NOPE"}
                    )
                    assert hidden.status_code == missing.status_code == 404
                    assert hidden.json()["error"].replace(theirs, "NOPE") == missing.json()["error"]

    run(tmp_path, scenario, pictures=PICTURES, history_snapshot_interval_s=0.2)
