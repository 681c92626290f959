"""`tessera users`, `audit` and `certs` with a settings file naming a PostGIS database work
on that database, not the data folder's."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tessera.cli import main
from tessera.security.postgis import PostgisSecurityStore
from tessera.security.sqlite import security_store_path


def test_users_and_audit_use_the_postgis_store(
    migrated: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "tessera.toml"
    config.write_text(f'postgis_dsn = "{migrated}"\n')
    data = tmp_path / "data"
    data.mkdir()
    common = ["--data", str(data), "--config", str(config)]
    assert main(["users", "add", "alice", "--roles", "viewer,reporter", *common]) == 0
    assert main(["users", "token", "alice", *common]) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    assert token.startswith("tsr_")
    assert main(["audit", *common, "--json"]) == 0
    assert "principal.add" in capsys.readouterr().out
    assert not security_store_path(data).exists()

    async def stored() -> None:
        store = PostgisSecurityStore(migrated)
        await store.open()
        try:
            principal = await store.principal("alice")
            assert principal is not None
            assert [record.principal for record in await store.tokens("alice")] == ["alice"]
        finally:
            await store.close()

    asyncio.run(stored())


def test_an_unreachable_database_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "tessera.toml"
    config.write_text('postgis_dsn = "postgresql://postgres@127.0.0.1:1/none"\n')
    data = tmp_path / "data"
    data.mkdir()
    assert main(["users", "list", "--data", str(data), "--config", str(config)]) == 2
    assert "cannot use the PostGIS store" in capsys.readouterr().err
