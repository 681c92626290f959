"""The settings' sections checked by their own packages' ``config`` modules say what is
wrong in the same words, through ``load_settings``; the names ``tessera.settings`` gave
stay importable from it."""

from __future__ import annotations

from pathlib import Path
from typing import Any, get_args

import pytest

from tessera.settings import load_settings

CASES: dict[str, tuple[dict[str, Any], str]] = {
    "cot tcp principal": (
        {"cot_tcp_port": 8087},
        "cot_tcp_port needs cot_tcp_principal: everything arriving there acts as it",
    ),
    "cot udp principal": (
        {"cot_udp_port": 6969},
        "cot_udp_port needs cot_udp_principal: everything arriving there acts as it",
    ),
    "cot chat replay": (
        {"cot_chat_replay_s": -1.0},
        "cot_chat_replay_s must be zero (no chat replayed) or more",
    ),
    "trusted proxies": ({"trusted_proxies": ["nowhere"]}, "trusted_proxies: "),
    "any origin alone": (
        {"cors_origins": ["*", "https://gis.example.org"]},
        'cors_origins: "*" (any origin) stands alone',
    ),
    "origin case": (
        {"cors_origins": ["https://GIS.example.org"]},
        "cors_origins: 'https://GIS.example.org' must be lowercase, as browsers send it",
    ),
    "origin port": (
        {"cors_origins": ["https://gis.example.org:443"]},
        "must leave out the default port 443, as browsers do",
    ),
    "http timeouts": (
        {"http_header_timeout_s": 0.0},
        "http_header_timeout_s must be positive and http_keep_alive_s not negative",
    ),
    "http connections": (
        {"http_max_connections": 0},
        "http_max_connections must be positive (or null for no limit)",
    ),
    "http tls pair": (
        {"http_tls_cert": "server.pem"},
        "http_tls_cert and http_tls_key go together",
    ),
    "journal age": (
        {"journal_max_age_s": 10.0},
        "journal_max_age_s must be at least 60 seconds (or null to keep all)",
    ),
    "dedup window": (
        {"dedup_window_s": 10.0},
        "dedup_window_s must be at least 60 seconds (or null to keep all)",
    ),
    "journal bytes": (
        {"journal_max_bytes": 10},
        "journal_max_bytes must be at least 1048576 (or null to keep all)",
    ),
    "retention on jetstream": (
        {"journal_backend": "jetstream", "dedup_window_s": 3600.0},
        "journal_max_age_s, journal_max_bytes and dedup_window_s need postgis_dsn "
        "with journal_backend = 'jetstream'",
    ),
    "role needs": (
        {"role": "gateway", "bus_backend": "nats"},
        "role 'gateway' needs journal_backend = 'jetstream', postgis_dsn",
    ),
    "satellite label": (
        {
            "satellites": [
                {"name": "x", "label": {"classification": "TOP"}, "url": "https://x.example"}
            ]
        },
        "satellites x: 'TOP' is not a level",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_a_section_says_what_is_wrong(case: str, tmp_path: Path) -> None:
    overrides, message = CASES[case]
    with pytest.raises(ValueError, match=r"^invalid settings: ") as raised:
        load_settings(data_dir=tmp_path, **overrides)
    assert message in str(raised.value)


def test_the_defaults_pass(tmp_path: Path) -> None:
    load_settings(data_dir=tmp_path).validate()


def test_the_settings_names_stay_importable() -> None:
    from tessera.settings import (
        MIN_JOURNAL_BYTES,
        MIN_RETENTION_S,
        PlainPortMode,
        SourceOwnership,
        origin_problem,
    )

    assert (MIN_RETENTION_S, MIN_JOURNAL_BYTES) == (60.0, 1024 * 1024)
    assert get_args(PlainPortMode) == ("client", "gateway")
    assert SourceOwnership(principal="p", ids=("a*",)).ids == ("a*",)
    assert origin_problem("https://gis.example.org") is None
