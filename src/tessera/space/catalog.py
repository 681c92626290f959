"""The satellites the server knows: ``[[satellites]]`` sources read at start (files) and
refreshed on their schedule (URLs). A refresh that fails keeps the last good sets and says
why in the status; parsing is the codec's, what each satellite is the core's."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from tessera.codecs.elements import decode_element_sets
from tessera.codecs.errors import DecodeError
from tessera.core.space.catalog import Satellite, SatelliteSource, newest, profiled

log = logging.getLogger(__name__)
MAX_DOWNLOAD_BYTES = 64 * 1024 * 1024


class SatelliteFileError(ValueError):
    """A source file that cannot be read or holds bad element sets."""


class _SourceState:
    def __init__(self) -> None:
        self.satellites: list[Satellite] = []
        self.loaded_at: datetime | None = None
        self.last_error: str | None = None
        self.refreshes = 0
        self.failures = 0


class SatelliteCatalog:
    def __init__(
        self,
        sources: Sequence[SatelliteSource],
        *,
        base_dir: Path = Path("."),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._sources = tuple(sources)
        self._base = base_dir
        self._clock = clock
        self._transport = transport
        self._state = {source.name: _SourceState() for source in self._sources}
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = asyncio.Event()
        self._changed = asyncio.Condition()

    def load_files(self) -> None:
        """Read every file source now; a bad one stops the start with the reason."""
        for source in self._sources:
            if source.file is None:
                continue
            path = Path(source.file)
            path = path if path.is_absolute() else self._base / path
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise SatelliteFileError(f"satellites {source.name}: {path}: {exc}") from exc
            try:
                self._accept(source, data)
            except DecodeError as exc:
                raise SatelliteFileError(f"satellites {source.name}: {path}: {exc}") from exc

    def _accept(self, source: SatelliteSource, data: bytes) -> None:
        sets = decode_element_sets(data)
        state = self._state[source.name]
        state.satellites = newest(profiled(source, sets))
        state.loaded_at = self._clock()
        state.last_error = None
        state.refreshes += 1

    def satellites(self) -> list[Satellite]:
        return [s for state in self._state.values() for s in state.satellites]

    async def refresh(self, source: SatelliteSource) -> bool:
        """Fetch one URL source now; on failure keep what it had."""
        assert source.url is not None
        state = self._state[source.name]
        try:
            async with httpx.AsyncClient(transport=self._transport, timeout=60.0) as client:
                response = await client.get(source.url, follow_redirects=True)
                response.raise_for_status()
                if len(response.content) > MAX_DOWNLOAD_BYTES:
                    raise ValueError(f"larger than {MAX_DOWNLOAD_BYTES} bytes")
            self._accept(source, response.content)
        except (httpx.HTTPError, ValueError) as exc:
            state.failures += 1
            state.last_error = f"{type(exc).__name__}: {exc}"[:500]
            log.warning("satellites %s: refresh failed: %s", source.name, state.last_error)
            return False
        async with self._changed:
            self._changed.notify_all()
        return True

    async def start(self) -> None:
        self._stopping.clear()
        for source in self._sources:
            if source.url is not None:
                self._tasks.append(asyncio.create_task(self._keep_fresh(source)))

    async def _keep_fresh(self, source: SatelliteSource) -> None:
        while not self._stopping.is_set():
            await self.refresh(source)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=source.refresh_s)

    async def stop(self) -> None:
        self._stopping.set()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    async def wait_loaded(self, name: str, refreshes: int, timeout: float) -> bool:
        """Wait (bounded) until source ``name`` has loaded at least ``refreshes`` times."""

        async def loaded() -> None:
            async with self._changed:
                await self._changed.wait_for(lambda: self._state[name].refreshes >= refreshes)

        try:
            await asyncio.wait_for(loaded(), timeout)
        except TimeoutError:
            return False
        return True

    def status(self) -> dict[str, Any]:
        return {
            name: {
                "satellites": len(state.satellites),
                "loaded_at": None if state.loaded_at is None else state.loaded_at.isoformat(),
                "refreshes": state.refreshes,
                "failures": state.failures,
                "last_error": state.last_error,
            }
            for name, state in self._state.items()
        }
