"""`tessera serve` restarted on a journal of 300,000 reports: it answers HTTP while the
journal after its checkpoint is still being replayed, serving the checkpoint's picture,
and once caught up its picture is the one a full rebuild of the same journal gives (no
timed assertions: how fast is for benchmarks/embedded_restart.py and BENCHMARKS.md)."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from benchmarks.embedded_restart import Sizes, append_seconds

from tessera.app import build
from tessera.settings import load_settings
from tessera.store.base import TrackQuery
from tessera.store.sqlite_checkpoints import checkpoint_path
from tests.support import bearer, provision

pytestmark = pytest.mark.slow

# 300 s of 1,000 objects reported once a second; a tail of 50 s more, long enough to be
# still replaying when the first requests come.
JOURNAL = Sizes(seconds=300, tail_seconds=50)
# No ticks: after catching up the journal stays as the test wrote it.
SETTINGS = "tick_interval_s = 3600\n"


@dataclass(frozen=True)
class Checkpointed:
    """A data folder whose journal holds ``JOURNAL.reports`` reports and whose checkpoint
    covers them; the picture then (its seq and track ids) and an admin's token."""

    folder: Path
    seq: int
    track_ids: frozenset[str]
    token: str


@pytest.fixture(scope="module")
def checkpointed(tmp_path_factory: pytest.TempPathFactory) -> Checkpointed:
    folder = tmp_path_factory.mktemp("checkpointed")

    async def prepare() -> Checkpointed:
        await append_seconds(folder, JOURNAL, JOURNAL.seconds, seed=5, prefix="base")
        tessera = build(load_settings(data_dir=folder, tick_interval_s=3600))
        await tessera.start()
        seq, tracks = tessera.store.tracks("COP", TrackQuery())
        assert tessera.worker.position == JOURNAL.reports
        await tessera.stop()  # a clean stop saves the checkpoint
        token = await provision(folder)
        return Checkpointed(folder, seq, frozenset(track.id for track in tracks), token)

    return asyncio.run(prepare())


@contextmanager
def serving(data: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    config = data / "settings.toml"
    config.write_text(SETTINGS)
    argv = ["serve", "--data", str(data), "--config", str(config), "--http-port", "0"]
    argv += ["--tak-enrollment-port", "0"]
    process = subprocess.Popen(
        [sys.executable, "-m", "tessera.cli", *argv, "--cot-tls-port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        assert line.startswith("listening http 127.0.0.1:"), line
        yield process, "http://" + line.removeprefix("listening http ")
    finally:
        if process.poll() is None:
            process.terminate()
        process.communicate(timeout=120)
    # Stopped cleanly (saving the last checkpoint).
    assert process.returncode == 0


def first_health(client: httpx.Client) -> dict[str, Any]:
    """The first health answer, polled from the moment the port is announced (uvicorn
    may accept before it answers); bounded."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            answer = client.get("/api/v1/health")
        except httpx.TransportError:
            time.sleep(0.01)
            continue
        if answer.status_code == 200:
            health: dict[str, Any] = answer.json()
            return health
        time.sleep(0.01)
    raise AssertionError("the server never answered")


def caught_up(process: subprocess.Popen[str]) -> None:
    """Read the server's output until it says fusion has caught up (bounded by EOF: a
    server that stops ends it)."""
    assert process.stdout is not None
    lines = []
    while line := process.stdout.readline():
        if line.strip() == "fusion caught up":
            return
        lines.append(line)
    raise AssertionError(f"the server stopped before catching up: {lines}")


def features(answer: dict[str, Any]) -> list[dict[str, Any]]:
    return sorted(answer["features"], key=lambda feature: str(feature["id"]))


def test_a_restart_answers_while_catching_up_and_ends_as_a_full_rebuild(
    checkpointed: Checkpointed, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    shutil.copytree(checkpointed.folder, data)
    last = asyncio.run(append_seconds(data, JOURNAL, JOURNAL.tail_seconds, seed=6, prefix="tail"))
    assert last == JOURNAL.reports + JOURNAL.tail
    headers = bearer(checkpointed.token)

    with serving(data) as (process, url), httpx.Client(base_url=url, headers=headers) as client:
        health = first_health(client)
        # Listening came first; the tail is still being replayed.
        assert health["status"] == "ok" and health["fusion"] == "catching_up", health
        assert 0 <= health["progress"] < 1
        # Nothing but a fraction for anyone: no journal counters.
        assert set(health) == {"status", "fusion", "progress"}
        early = client.get("/api/v1/tracks").json()
        status = client.get("/api/v1/status").json()
        assert status["restored_from"] == JOURNAL.reports
        assert status["replay_target"] == last
        # The checkpoint's picture, moving on from its seq (never below it).
        assert early["seq"] >= checkpointed.seq
        assert checkpointed.track_ids <= {feature["id"] for feature in early["features"]}
        caught_up(process)
        assert client.get("/api/v1/health").json() == {"status": "ok", "fusion": "caught_up"}
        assert client.get("/api/v1/status").json()["fused_seq"] == last
        restarted = client.get("/api/v1/tracks").json()
    assert restarted["seq"] > early["seq"]

    # The same journal without the checkpoint: a full rebuild, listening at once too.
    checkpoint_path(data).unlink()
    with serving(data) as (process, url), httpx.Client(base_url=url, headers=headers) as client:
        assert first_health(client)["fusion"] == "catching_up"
        assert client.get("/api/v1/status").json()["restored_from"] is None
        caught_up(process)
        rebuilt = client.get("/api/v1/tracks").json()
    assert rebuilt["count"] == restarted["count"] > 500
    assert features(rebuilt) == features(restarted)
