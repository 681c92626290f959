"""Real processes of a scale-out deployment for the cluster tests: gateways and fusion
workers on the machine's NATS and PostgreSQL, each test with its own streams, bucket and
database."""

from __future__ import annotations

import asyncio
import secrets
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from tessera.cluster.demo import remove_streams
from tessera.journal.base import Journal, JournalEntry
from tessera.journal.jetstream import JetStreamJournal
from tessera.security.postgis import PostgisSecurityStore
from tests.services import require_service
from tests.support import ADMIN, _add_and_issue

NATS_URL = "nats://127.0.0.1:4222"
STARTUP_TIMEOUT_S = 60.0


async def read_all(journal: Journal, upto: int | None = None) -> list[JournalEntry]:
    """A journal's entries from the first (up to ``upto``), read in chunks."""
    entries: list[JournalEntry] = []
    while chunk := await journal.read(entries[-1].seq if entries else 0, 5_000):
        entries += chunk
        if upto is not None and entries[-1].seq >= upto:
            return [entry for entry in entries if entry.seq <= upto]
    return entries


@dataclass
class Cluster:
    """One deployment's settings file and the processes started on it."""

    root: Path
    dsn: str
    name: str = field(default_factory=lambda: f"t{secrets.token_hex(4)}")
    processes: list[asyncio.subprocess.Process] = field(default_factory=list)
    # More settings, as TOML lines (the pictures, say).
    extra: str = ""

    @property
    def config(self) -> Path:
        return self.root / "tessera.toml"

    def write_config(self) -> None:
        upper = self.name.upper()
        self.config.write_text(
            "\n".join(
                (
                    f'postgis_dsn = "{self.dsn}"',
                    'journal_backend = "jetstream"',
                    'bus_backend = "nats"',
                    f'nats_servers = ["{NATS_URL}"]',
                    f'journal_stream = "J_{upper}"',
                    f'journal_prefix = "{self.name}.journal"',
                    f'changes_stream = "C_{upper}"',
                    f'changes_prefix = "{self.name}.changes"',
                    f'cot_share_prefix = "{self.name}.cot"',
                    f'lease_bucket = "L_{upper}"',
                    "lease_ttl_s = 3.0",
                    "tick_interval_s = 0.5",
                    "checkpoint_interval_s = 0.5",
                    self.extra,
                    "",
                )
            )
        )

    def journal(self) -> JetStreamJournal:
        """The deployment's journal, for a test to read (open it first)."""
        upper = self.name.upper()
        return JetStreamJournal(
            NATS_URL,
            clock=lambda: datetime.now(UTC),
            stream=f"J_{upper}",
            prefix=f"{self.name}.journal",
        )

    async def journal_entries(self, upto: int | None = None) -> list[JournalEntry]:
        """Every entry journaled so far (up to ``upto``), read in chunks."""
        journal = self.journal()
        await journal.open()
        try:
            return await read_all(journal, upto)
        finally:
            await journal.close()

    async def token(self) -> str:
        store = PostgisSecurityStore(self.dsn)
        await store.open()
        try:
            return await _add_and_issue(store, ADMIN, datetime.now(UTC), None)
        finally:
            await store.close()

    async def start(
        self, role: str, *extra: str, config: Path | None = None
    ) -> tuple[asyncio.subprocess.Process, str]:
        """A process in ``role`` (with ``config`` instead of the deployment's settings
        file, if given); its first line of output (the gateway's URL, or the worker's
        "fusion standby" line)."""
        data = self.root / f"{role}-{len(self.processes)}"
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tessera.cli",
            "serve",
            "--role",
            role,
            "--config",
            str(config or self.config),
            "--data",
            str(data),
            "--http-port",
            "0",
            "--cot-tls-port",
            "0",
            "--tak-enrollment-port",
            "0",
            *extra,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        self.processes.append(process)
        first = await self.line(process)
        if role == "gateway":
            assert first.startswith("listening http "), first
            return process, "http://" + first.removeprefix("listening http ")
        return process, first

    async def line(self, process: asyncio.subprocess.Process) -> str:
        assert process.stdout is not None
        raw = await asyncio.wait_for(process.stdout.readline(), STARTUP_TIMEOUT_S)
        return raw.decode().strip()

    async def cot_port(self, process: asyncio.subprocess.Process) -> int:
        """The plain TCP CoT port a gateway started with ``--cot-port 0`` listens on."""
        while not (line := await self.line(process)).startswith("listening cot "):
            assert line.startswith("listening "), line
        return int(line.rsplit(":", 1)[1])

    async def stop_all(self) -> None:
        for process in self.processes:
            if process.returncode is None:
                process.terminate()
        for process in self.processes:
            try:
                await asyncio.wait_for(process.wait(), 30)
            except TimeoutError:
                process.kill()
                await process.wait()

    async def remove_streams(self) -> None:
        await remove_streams(NATS_URL, self.name)


@asynccontextmanager
async def cluster(root: Path, dsn: str, *, extra: str = "") -> AsyncIterator[Cluster]:
    require_service("NATS", "127.0.0.1", 4222)
    deployment = Cluster(root, dsn, extra=extra)
    deployment.write_config()
    try:
        yield deployment
    finally:
        await deployment.stop_all()
        await deployment.remove_streams()
