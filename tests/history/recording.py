"""Shared by the history tests: a live server's picture recorded after every step of its
fusion (what the live picture showed at each journal time), reports posted over a while,
and the picture at a time asked of the API."""

from __future__ import annotations

import bisect
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from tessera.codecs.geojson import track_feature
from tessera.codecs.json import encode
from tessera.store.base import TrackQuery
from tests.support import Live, iso
from tests.test_replay import mixed_reports


class LiveRecording:
    """Each picture's tracks (as the API shows them) after every step of live fusion."""

    def __init__(self, live: Live, pictures: list[str]) -> None:
        self._live = live
        self._pictures = pictures
        self.times: list[datetime] = []
        self.pictures: list[dict[str, list[dict[str, Any]]]] = []
        live.tessera.worker.on_applied.append(self._record)

    def _record(self, /) -> None:
        tessera = self._live.tessera
        moment = tessera.worker.time
        assert moment is not None
        shown = {}
        for name in self._pictures:
            _, tracks = tessera.store.tracks(name, TrackQuery())
            shown[name] = msgspec.json.decode(encode([track_feature(t) for t in tracks]))
        self.times.append(moment)
        self.pictures.append(shown)

    def at(self, moment: datetime, picture: str) -> list[dict[str, Any]]:
        """What the live picture showed at ``moment``: its state after the last step at or
        before it (empty before the first)."""
        index = bisect.bisect_right(self.times, moment)
        return [] if index == 0 else self.pictures[index - 1][picture]

    def random_times(self, count: int, seed: int) -> list[datetime]:
        rng = random.Random(seed)
        first, last = self.times[0], self.times[-1]
        span = (last - first).total_seconds()
        # Some exactly at a step's time (the edge a seek must get right), most between.
        moments = [
            first + timedelta(seconds=rng.uniform(-0.05, span + 0.05)) for _ in range(count - 5)
        ]
        moments += [rng.choice(self.times) for _ in range(5)]
        return moments


async def post_over_time(live: Live, batches: int, size: int, seed: int) -> None:
    docs = mixed_reports(seed=seed, count=batches * size)
    async with live.client() as client:
        for start in range(0, len(docs), size):
            answer = await client.post("/api/v1/reports", json=docs[start : start + size])
            assert answer.status_code == 202, answer.text
            assert await live.tessera.worker.wait_caught_up(live.tessera.journal.last_seq, 30)


def by_id(features: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(features, key=lambda feature: str(feature["id"]))


def at_param(moment: datetime) -> str:
    return iso(moment.astimezone(UTC))
