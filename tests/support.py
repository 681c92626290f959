"""Shared helpers for tests that run a live server in the test's own event loop."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tessera.app import Tessera, build, utc_now
from tessera.codecs.json import decode_stored_report
from tessera.core.model import Label, Principal, Role
from tessera.security import tokens
from tessera.security.base import SecurityStore, SourceGrant
from tessera.security.sqlite import SqliteSecurityStore, security_store_path
from tessera.server import HttpServer, bind
from tessera.settings import load_settings

# The principal every live-server test acts as unless it says otherwise: it may do and
# see everything, and labels unlabelled reports UNCLASSIFIED.
ADMIN = Principal(
    name="test-admin",
    communities=("EU", "NATO", "POL", "UKR"),
    clearance="SECRET",
    unrestricted=True,
    roles=tuple(Role),
    default_label=Label("UNCLASSIFIED"),
)

# What test principals may report as unless a test says otherwise.
EVERY_SOURCE: tuple[str, ...] = ("*",)


@dataclass
class Live:
    tessera: Tessera
    base_url: str
    token: str

    @property
    def ws_url(self) -> str:
        return "ws" + self.base_url.removeprefix("http") + "/api/v1/stream"

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.token)

    def client(self, token: str | None = None, **options: Any) -> httpx.AsyncClient:
        """An HTTP client sending ``token`` (the admin's by default)."""
        headers = bearer(self.token if token is None else token)
        return httpx.AsyncClient(base_url=self.base_url, headers=headers, **options)

    async def grant(
        self,
        principal: Principal,
        *,
        expires_at: datetime | None = None,
        sources: Sequence[str] = EVERY_SOURCE,
    ) -> str:
        return await grant(self.tessera, principal, expires_at=expires_at, sources=sources)


def stored_id(live: Live, client_id: str, principal: str = ADMIN.name) -> str:
    """The id readers see for the report ``principal`` sent as ``client_id`` (found in the
    embedded journal: the key also depends on the report's label)."""
    path = live.tessera.settings.data_dir / "journal.sqlite3"
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        bodies = conn.execute("SELECT body FROM journal WHERE kind = 'report'").fetchall()
    for (body,) in bodies:
        report = decode_stored_report(body)
        if live.tessera.ids.report_id(principal, client_id, report.label) == report.id:
            return report.id
    return f"never-sent-{client_id}"


def track_of(live: Live, client_id: str, principal: str = ADMIN.name) -> str:
    """The id of the track a report (sent as ``client_id``) started."""
    return "trk-" + stored_id(live, client_id, principal)


def named(live: Live, track_ids: Iterable[str], *client_ids: str) -> list[str]:
    """``track_ids`` sorted, each track started by a report sent (by the admin) as one of
    ``client_ids`` shown as ``trk-<that id>``: so tests can name tracks as they sent them."""
    names = {track_of(live, client_id): f"trk-{client_id}" for client_id in client_ids}
    return sorted(names.get(track_id, track_id) for track_id in track_ids)


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def grant(
    tessera: Tessera,
    principal: Principal,
    *,
    expires_at: datetime | None = None,
    sources: Sequence[str] = EVERY_SOURCE,
) -> str:
    """Add ``principal`` (unless it exists) and issue it a token. It may report as
    ``sources`` (every source unless told otherwise: tests of the source registry say
    which)."""
    token = await _add_and_issue(tessera.security, principal, tessera.clock(), expires_at, sources)
    tessera.sources.forget()
    return token


async def _add_and_issue(
    store: SecurityStore,
    principal: Principal,
    now: datetime,
    expires_at: datetime | None,
    sources: Sequence[str] = EVERY_SOURCE,
) -> str:
    if await store.principal(principal.name) is None:
        await store.add_principal(principal)
    for pattern in sources:
        await store.add_source_grant(SourceGrant(principal=principal.name, pattern=pattern))
    issued = tokens.issue(principal.name, now=now, expires_at=expires_at)
    await store.add_token(issued.record)
    return issued.token


async def provision(
    data_dir: Path, principal: Principal = ADMIN, sources: Sequence[str] = EVERY_SOURCE
) -> str:
    """Add ``principal`` to the data folder's security store and issue it a token, as
    `tessera users` would before a server starts (or while it runs)."""
    store = SqliteSecurityStore(security_store_path(data_dir))
    await store.open()
    try:
        return await _add_and_issue(store, principal, datetime.now(UTC), None, sources)
    finally:
        await store.close()


@contextlib.asynccontextmanager
async def live_server(data_dir: Path, **overrides: Any) -> AsyncIterator[Live]:
    """A started Tessera behind uvicorn on a free loopback port, with an admin's token."""
    async with clocked_server(data_dir, utc_now, **overrides) as live:
        yield live


@contextlib.asynccontextmanager
async def clocked_server(
    data_dir: Path, clock: Callable[[], datetime], /, **overrides: Any
) -> AsyncIterator[Live]:
    """``live_server`` on the test's own clock."""
    settings = load_settings(data_dir=data_dir, http_port=0, **overrides)
    tessera = build(settings, clock=clock)
    await tessera.start()
    sock = bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    server = HttpServer(tessera, sock)
    try:
        token = await grant(tessera, ADMIN)
        await server.start()
        yield Live(tessera, f"{server.scheme}://127.0.0.1:{port}", token)
    finally:
        await server.stop()
        await tessera.stop()


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def report_doc(
    *,
    lat: float = 53.1,
    lon: float = 18.0,
    report_id: str | None = None,
    subject: str | None = None,
    kind: str = "uav",
    source: str = "uav-1",
    identity: str = "hostile",
    grading: str = "B2",
    ce: float = 30.0,
    observed_at: datetime | None = None,
    label: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A canonical report document, valid unless told otherwise."""
    doc: dict[str, Any] = {
        "source": {"id": source, "kind": kind},
        "observed_at": iso(observed_at or datetime.now(UTC) - timedelta(seconds=1)),
        "position": {"lat": lat, "lon": lon, "ce": ce},
        "identity": identity,
        "grading": grading,
    }
    if report_id is not None:
        doc["id"] = report_id
    if subject is not None:
        doc["subject"] = subject
    if label is not None:
        doc["label"] = label
    return doc


def require_service_or_skip(name: str) -> None:
    """Scale-out backends may skip outside CI only; in CI a missing service fails."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{name} is required in CI")
    pytest.skip(f"{name} not available")
