"""Federation settings are checked as they load; link status shows in /health (counts
only) and at /api/v1/federation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tessera.core.model import Principal, Role
from tessera.settings import load_settings
from tessera.transports.federation.service import Federation
from tests.federation.support import run
from tests.support import live_server

LINK: dict[str, Any] = {
    "name": "partner",
    "peer": "127.0.0.1:9",
    "peer_ca": "/nonexistent/ca.pem",
    "release": {"max_classification": "RESTRICTED", "releasable_to": "POL"},
    "ceiling": "CONFIDENTIAL",
}


@pytest.mark.parametrize(
    ("overrides", "link", "problem"),
    [
        ({}, {}, "federation_node"),
        (
            {"federation_node": "a"},
            {"ceiling": "TOP"},
            "'TOP' is not one of the classification levels",
        ),
        ({"federation_node": "a"}, {"peer": "nowhere"}, "peer: HOST:PORT"),
        ({"federation_node": "a"}, {"peer_ca": None}, "peer_ca"),
        ({"federation_node": "a"}, {"grading": "Z9"}, "grading"),
        ({"federation_node": "a"}, {"rate_bps": 10}, "rate_bps"),
        (
            {"federation_node": "a", "federation_tls": False},
            {"peer": "10.0.0.1:7000"},
            "loopback",
        ),
    ],
)
def test_bad_federation_settings_are_refused_naming_the_problem(
    tmp_path: Path, overrides: dict[str, Any], link: dict[str, Any], problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        load_settings(data_dir=tmp_path, federation=[{**LINK, **link}], **overrides)


def test_link_status_is_in_health_and_the_federation_route(tmp_path: Path) -> None:
    async def scenario() -> None:
        settings: dict[str, Any] = {
            "federation_node": "a",
            "federation_tls": False,
            "federation": [{**LINK, "peer_ca": None}],
        }
        async with live_server(tmp_path, **settings) as live:
            federation = Federation(live.tessera)
            await federation.start()
            try:
                async with live.client() as client:
                    health = (await client.get("/api/v1/health")).json()
                    assert health["federation"] == {"links": 1, "connected": 0}
                    links = (await client.get("/api/v1/federation")).json()["links"]
                    assert [link["name"] for link in links] == ["partner"]
                    assert links[0]["connected"] is False
                viewer = Principal(name="viewer", communities=("NATO",), roles=(Role.VIEWER,))
                async with live.client(await live.grant(viewer)) as client:
                    assert (await client.get("/api/v1/federation")).status_code == 403
            finally:
                await federation.stop()

    run(scenario())


def test_the_readme_federation_example_loads(tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    example = readme.split("## Federation", 1)[1].split("```", 2)[1]
    path = tmp_path / "tessera.toml"
    path.write_text(example)
    settings = load_settings(path, data_dir=tmp_path)
    assert settings.federation_node == "pol-north"
    [link] = settings.federation
    assert link.release.releasable_to == "UKR" and link.rate_bps == 64000


def test_a_link_may_not_share_a_feeds_name(tmp_path: Path) -> None:
    feed = {"name": "partner", "kind": "ais", "address": "udp://127.0.0.1:0", "principal": "p"}
    with pytest.raises(ValueError, match="partner is also a feed's"):
        load_settings(data_dir=tmp_path, federation_node="a", federation=[LINK], feeds=[feed])
