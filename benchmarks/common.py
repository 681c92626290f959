"""Shared benchmark plumbing: a Tessera server in its own process, and report batches."""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import platform
import random
import signal
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec

from tessera.core.fusion.geo import moved
from tessera.core.model import (
    Grading,
    Identity,
    Label,
    Position,
    Report,
    Source,
    SourceKind,
    Velocity,
)


class Served(msgspec.Struct, frozen=True):
    """A running server: its base URL and the headers that authenticate the benchmark."""

    url: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"}


async def _tessera(*argv: str) -> str:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tessera.cli", *argv, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"tessera {' '.join(argv)} failed")
    return out.decode().strip()


async def bench_token(data: str) -> str:
    """A principal that may submit and read everything, as an operator would add it."""
    await _tessera(
        "users", "add", "bench", "--data", data, "--kind", "system", "--unrestricted",
        "--clearance", "SECRET", "--roles", "viewer,reporter,admin",
        "--default-label", "UNCLASSIFIED",
    )  # fmt: skip
    # The benchmarks' feed reports as every source it makes up.
    await _tessera("sources", "add", "bench", "*", "--data", data)
    return await _tessera("users", "token", "bench", "--data", data)


@contextlib.asynccontextmanager
async def server_process(*extra: str) -> AsyncIterator[Served]:
    """`tessera serve` on a fresh data folder and a free port, with a token to use it."""
    with tempfile.TemporaryDirectory(prefix="tessera-bench-") as data:
        token = await bench_token(data)
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tessera.cli",
            "serve",
            "--data",
            data,
            "--http-port",
            "0",
            "--cot-tls-port",
            "0",
            "--tak-enrollment-port",
            "0",
            "--log-level",
            "warning",
            *extra,
            stdout=asyncio.subprocess.PIPE,
        )
        assert process.stdout is not None
        try:
            line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode().strip()
            if not line.startswith("listening http "):
                raise RuntimeError(f"server did not start: {line!r}")
            yield Served("http://" + line.removeprefix("listening http "), token)
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGINT)
                try:
                    await asyncio.wait_for(process.wait(), 20)
                except TimeoutError:
                    process.kill()
                    await process.wait()


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def unit_report(index: int, step: int, *, prefix: str, when: datetime) -> dict[str, Any]:
    """A self-report of unit ``index`` at ``step``, spread over northern Poland."""
    row, col = divmod(index, 40)
    return {
        "id": f"{prefix}-{index}-{step}",
        "source": {"id": f"unit-{index}", "kind": "unit"},
        "subject": f"unit-{index}",
        "observed_at": iso(when),
        "position": {
            "lat": 52.8 + row * 0.02 + step * 1e-5,
            "lon": 15.5 + col * 0.05 + step * 2e-5,
            "ce": 10.0,
        },
        "identity": "friend",
        "sidc": "10031000001211000000",
        "grading": "A1",
        "label": {"classification": "RESTRICTED", "releasable_to": ["NATO"]},
    }


def sighting(index: int, step: int, *, prefix: str, when: datetime) -> dict[str, Any]:
    """An anonymous drone sighting near hostile object ``index``."""
    return {
        "id": f"{prefix}-s{index}-{step}",
        "source": {"id": f"uav-{index % 20}", "kind": "uav"},
        "observed_at": iso(when),
        "position": {"lat": 53.9 + index * 0.01, "lon": 17.0 + step * 1e-4, "ce": 40.0},
        "identity": "hostile",
        "sidc": "10061500001101000000",
        "grading": "B2",
    }


def encoded_batches(count: int, size: int, *, prefix: str, units: int = 1000) -> list[bytes]:
    """``count`` JSON bodies of ``size`` reports each: four in five self-reports."""
    now = datetime.now(UTC)
    batches = []
    serial = 0
    for _ in range(count):
        docs = []
        for _ in range(size):
            step, index = divmod(serial, units)
            if serial % 5 == 4:
                docs.append(sighting(index % 100, step, prefix=prefix, when=now))
            else:
                docs.append(unit_report(index, step, prefix=prefix, when=now))
            serial += 1
        batches.append(msgspec.json.encode(docs))
    return batches


def start_serving(
    data: str, *extra: str
) -> tuple[subprocess.Popen[str], dict[str, tuple[str, int]]]:
    """`tessera serve` on ``data`` with every port picked freely; the process and the ports
    it announced (``http``, ``cot-tls``, ``cot`` ...), read until the last one expected."""
    process = subprocess.Popen(
        [
            sys.executable, "-m", "tessera.cli", "serve", "--data", data, "--http-port", "0",
            "--cot-tls-port", "0", "--tak-enrollment-port", "0", "--log-level", "warning", *extra,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert process.stdout is not None
    ports: dict[str, tuple[str, int]] = {}
    wanted = {"http", "cot-tls"} | ({"cot"} if "--cot-port" in extra else set())
    while not wanted <= set(ports):
        line = process.stdout.readline().strip()
        if not line.startswith("listening "):
            process.kill()
            raise RuntimeError(f"server did not start: {line!r}")
        _, kind, address = line.split(" ", 2)
        host, _, port = address.rpartition(":")
        ports[kind] = (host, int(port))
    return process, ports


def moving_batches(
    objects: int, seconds: int, *, seed: int, start: datetime, prefix: str
) -> list[list[Report]]:
    """One batch per second for ``seconds`` seconds from ``start``: each of ``objects``
    objects spread over northern Poland reported once, 60 % of them units reporting
    themselves with their velocity, the rest seen by drones (anonymous); received half a
    second after they were observed."""
    rng = random.Random(seed)
    label = Label("RESTRICTED", ("NATO",))
    table = []
    for index in range(objects):
        lat, lon = rng.uniform(52.0, 54.5), rng.uniform(14.5, 23.5)
        course, speed = rng.uniform(0, 360), rng.uniform(0, 15)
        table.append((index, lat, lon, course, speed, index < objects * 0.6))
    batches: list[list[Report]] = []
    serial = 0
    for second in range(seconds):
        observed = start + timedelta(seconds=second)
        batch = []
        for index, lat, lon, course, speed, keyed in table:
            rad = math.radians(course)
            east, north = speed * second * math.sin(rad), speed * second * math.cos(rad)
            east += rng.gauss(0, 7)
            north += rng.gauss(0, 7)
            here = moved(lat, lon, east, north)
            serial += 1
            batch.append(
                Report(
                    id=f"{prefix}-{serial}",
                    source=Source(
                        f"u{index}" if keyed else f"uav-{index % 50}",
                        SourceKind.UNIT if keyed else SourceKind.UAV,
                    ),
                    observed_at=observed,
                    received_at=observed + timedelta(seconds=0.5),
                    position=Position(here[0], here[1], None, 10.0),
                    velocity=Velocity(course, speed) if keyed else None,
                    subject=f"u{index}" if keyed else None,
                    identity=Identity.FRIEND if keyed else Identity.HOSTILE,
                    grading=Grading("A", 1) if keyed else Grading("B", 2),
                    label=label,
                )
            )
        batches.append(batch)
    return batches


def self_report(index: int, step: int, *, report_id: str, when: datetime) -> Report:
    """Unit ``index``'s self-report at ``step`` (subject ``unit-INDEX``), observed
    ``when``, on a grid over northern Poland and beyond."""
    row, col = divmod(index, 100)
    return Report(
        id=report_id,
        source=Source(f"unit-{index}", SourceKind.UNIT),
        subject=f"unit-{index}",
        observed_at=when,
        position=Position(
            52.8 + row * 0.01 + step * 1e-5, 15.5 + col * 0.05 + step * 2e-5, None, 10.0
        ),
        identity=Identity.FRIEND,
        sidc="10031000001211000000",
        grading=Grading("A", 1),
        label=Label("RESTRICTED", ("NATO",)),
    )


def machine() -> str:
    cpu = "unknown CPU"
    with open("/proc/cpuinfo") as handle:
        for line in handle:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory_kb = 0
    with open("/proc/meminfo") as handle:
        for line in handle:
            if line.startswith("MemTotal"):
                memory_kb = int(line.split()[1])
    return (
        f"{os.cpu_count()} cores ({cpu}), {memory_kb // 1024 // 1024} GiB, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}"
    )


def measured_when() -> str:
    """When a figure was measured and how loaded the machine was (its 1-minute load)."""
    with open("/proc/loadavg") as handle:
        loadavg = handle.read().split()[0]
    return f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load average {loadavg}"


def write_section(
    path: Path, heading: str, text: str, *, before: str | None = None, deeper: bool = False
) -> None:
    """Put ``text`` (which starts with ``heading``) into the markdown page at ``path``: in
    place of the section under ``heading``, up to the next ``## `` heading (or ``### ``
    too, with ``deeper``); where there is none, before the section ``before`` or else at
    the end."""
    old = path.read_text() if path.exists() else ""
    start = old.find("\n" + heading + "\n")
    if start >= 0:
        marks = ("\n## ", "\n### ") if deeper else ("\n## ",)
        end = min(
            (at for at in (old.find(mark, start + 1) for mark in marks) if at >= 0), default=-1
        )
        new = old[: start + 1] + text + ("" if end < 0 else old[end:])
    else:
        at = -1 if before is None else old.find("\n" + before + "\n")
        new = old.rstrip("\n") + "\n\n" + text if at < 0 else old[: at + 1] + text + old[at:]
    path.write_text(new)
