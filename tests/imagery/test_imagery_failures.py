"""A catalogue that cannot be read (unreachable, not STAC, missing) marks its source
failing with the reason, in /health (counts) and /api/v1/imagery (what went wrong): the
server goes on, and the source is tried again at its next interval."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

from tessera.transports.imagery.runner import start_imagery
from tests.imagery.live import WAIT_S, Scene, run


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_bad_catalogues_are_reported_not_fatal(tmp_path: Path) -> None:
    not_stac = tmp_path / "not-stac.json"
    not_stac.write_text('{"hello": "world"}')
    box = [[18.0, 52.5, 19.5, 53.5]]
    common = {"principal": "imagery-bot", "areas": box, "interval_s": 1.0, "timeout_s": 5.0}
    sources = [
        {"name": "gone", "kind": "stac-api", "url": f"http://127.0.0.1:{closed_port()}/", **common},
        {"name": "junk", "kind": "static", "path": str(not_stac), **common},
        {"name": "missing", "kind": "static", "path": str(tmp_path / "none.json"), **common},
    ]

    async def body(scene: Scene) -> None:
        tessera = scene.live.tessera
        started = await start_imagery(tessera)
        assert started is not None
        try:
            for _ in range(2):  # a failed source is tried again
                async with asyncio.timeout(WAIT_S):
                    for runner in started.runners:
                        await runner.refreshed.wait()
                        runner.refreshed.clear()
            async with scene.client("nato") as nato:
                health = (await nato.get("/api/v1/health")).json()
                listed = (await nato.get("/api/v1/imagery")).json()["sources"]
        finally:
            await started.stop()
        assert health["status"] == "ok"
        assert health["imagery"] == {"configured": 3, "current": 0, "failing": 3}
        errors = {s["name"]: s["last_error"] for s in listed}
        assert all(s["state"] == "failing" and s["failures"] >= 2 for s in listed)
        assert errors["gone"].startswith("catalogue unreachable at http://127.0.0.1:")
        assert errors["gone"].endswith("Connection refused")
        assert errors["junk"].startswith(f"not a STAC catalogue at {not_stac}")
        assert errors["missing"] == f"no catalogue at {tmp_path / 'none.json'}"

    run(tmp_path, body, imagery=sources)
