"""``tessera migrate --config FILE`` / ``--dsn DSN``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from tessera.cli import main
from tessera.postgis.migrate import MIGRATION_LOCK, known_migrations
from tests.postgis.databases import wait_for_waiters


def test_migrate_applies_then_is_up_to_date(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate", "--dsn", database]) == 0
    assert capsys.readouterr().out.splitlines() == [f"applied {m.name}" for m in known_migrations()]
    assert main(["migrate", "--dsn", database]) == 0
    assert capsys.readouterr().out == "up to date\n"


def test_migrate_reads_the_dsn_from_the_settings_file(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "tessera.toml"
    config.write_text(f'max_future_skew_s = 300\npostgis_dsn = "{database}"\n')
    assert main(["migrate", "--config", str(config)]) == 0
    assert capsys.readouterr().out.startswith("applied 0001_initial\n")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("levels = []\n", "has no postgis_dsn"),
        ("postgis_dsn = 5\n", "has no postgis_dsn"),
        ("postgis_dsn = \n", "is not valid TOML"),
        ('postgis_dsn = "host=x bogus"\n', "invalid PostgreSQL DSN"),
    ],
)
def test_a_settings_file_without_a_usable_dsn_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, reason: str
) -> None:
    config = tmp_path / "tessera.toml"
    config.write_text(text)
    assert main(["migrate", "--config", str(config)]) == 2
    assert reason in capsys.readouterr().err


def test_migrate_needs_one_source_of_dsn(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["migrate"], ["migrate", "--dsn", "x", "--config", "y"]):
        with pytest.raises(SystemExit) as exited:
            main(argv)
        assert exited.value.code == 2
    assert "--config" in capsys.readouterr().err


def test_a_newer_database_is_refused_with_the_reason(
    migrated: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with psycopg.connect(migrated, autocommit=True) as conn:
        conn.execute("INSERT INTO schema_migrations (version, name) VALUES (999, '0999_next')")
    assert main(["migrate", "--dsn", migrated]) == 2
    error = capsys.readouterr().err
    assert "0999_next" in error and "upgrade Tessera" in error


def test_an_unreachable_server_is_reported(capsys: pytest.CaptureFixture[str]) -> None:
    # Port 1 on loopback: nothing listens there, so the connection is refused at once.
    assert main(["migrate", "--dsn", "postgresql://postgres@127.0.0.1:1/none"]) == 1
    error = capsys.readouterr().err
    assert error.startswith("tessera migrate: none on 127.0.0.1:1: ")


@pytest.mark.slow
def test_two_processes_migrating_at_once_apply_once(database: str) -> None:
    command = [sys.executable, "-m", "tessera.cli", "migrate", "--dsn", database]
    with psycopg.connect(database, autocommit=True) as holder:
        # Both wait on the lock before either can go, so they surely overlap.
        holder.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
        runs = [
            subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)
        ]
        wait_for_waiters(holder, 2, lambda: any(run.poll() is not None for run in runs))
        holder.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))
    outputs = []
    for run in runs:
        out, err = run.communicate(timeout=120)
        assert run.returncode == 0, err
        outputs.append(out)
    expected = "".join(f"applied {m.name}\n" for m in known_migrations())
    assert sorted(outputs) == sorted([expected, "up to date\n"])
