"""The PostGIS connection settings (no database needed)."""

from __future__ import annotations

import pytest
from psycopg.conninfo import conninfo_to_dict

from tessera.postgis.connection import PostgisSettingsError, describe, session_conninfo


def test_sessions_run_in_utc_keeping_the_dsns_own_options() -> None:
    params = conninfo_to_dict(
        session_conninfo("postgresql://tessera@db.example:6543/cop?options=-c%20work_mem%3D8MB")
    )
    assert params["options"] == "-c work_mem=8MB -c TimeZone=UTC"
    assert (params["host"], params["port"], params["dbname"]) == ("db.example", "6543", "cop")
    assert params["application_name"] == "tessera"
    assert (
        conninfo_to_dict(session_conninfo("dbname=cop application_name=gw1"))["application_name"]
        == "gw1"
    )


def test_a_dsn_is_described_without_its_password() -> None:
    assert describe("postgresql://tessera:s3cret@db.example:6543/cop") == "cop on db.example:6543"
    assert "s3cret" not in describe("host=db.example dbname=cop password=s3cret")


def test_a_malformed_dsn_is_refused() -> None:
    with pytest.raises(PostgisSettingsError, match="invalid PostgreSQL DSN"):
        session_conninfo("host=x bogus")
    assert issubclass(PostgisSettingsError, ValueError)
