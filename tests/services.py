"""Live backing services (NATS, PostgreSQL) for the tests of the scale-out backends.

Outside CI a developer without the service still runs everything else: its tests skip.
In CI (``CI=true``) the services are part of the machine, so a missing one fails.
"""

from __future__ import annotations

import os
import socket

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def require_service(name: str, host: str, port: int, *, timeout: float = 2.0) -> None:
    """Return if ``host:port`` accepts a TCP connection; otherwise skip the test, or fail
    it in CI."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return
    except OSError as exc:
        reason = f"{name} is not reachable on {host}:{port} ({exc})"
    if in_ci():
        pytest.fail(f"{reason}; CI must provide it")
    pytest.skip(reason)
