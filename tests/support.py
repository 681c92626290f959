"""Shared helpers for tests that run a live server in the test's own event loop."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tessera.app import Tessera, build
from tessera.server import HttpServer, bind
from tessera.settings import load_settings


@dataclass
class Live:
    tessera: Tessera
    base_url: str

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http://", "ws://") + "/api/v1/stream"


@contextlib.asynccontextmanager
async def live_server(data_dir: Path, **overrides: Any) -> AsyncIterator[Live]:
    """A started Tessera behind uvicorn on a free loopback port."""
    settings = load_settings(data_dir=data_dir, http_port=0, **overrides)
    tessera = build(settings)
    await tessera.start()
    sock = bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    server = HttpServer(tessera, sock)
    try:
        await server.start()
        yield Live(tessera, f"http://127.0.0.1:{port}")
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
