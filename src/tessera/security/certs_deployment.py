"""Where ``tessera certs`` finds the CA: the data folder's files, or, when the settings
file names ``postgis_dsn``, the deployment's CA in PostgreSQL (``shared_ca``), which
every gateway of the deployment presents and trusts."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import psycopg

from tessera.postgis.migrate import MigrationError
from tessera.security import certs, shared_ca
from tessera.security.commandkit import CommandError
from tessera.security.tls import CA_FILE, CA_KEY_FILE, CRL_FILE, write_file
from tessera.settings import load_settings

T = TypeVar("T")


def deployment_dsn(data: Path, config: Path | None) -> str | None:
    """The PostgreSQL the settings file names, if any: the CA is the deployment's there."""
    return None if config is None else load_settings(config, data_dir=data).postgis_dsn


def read_ca(directory: Path, dsn: str | None, now: datetime) -> certs.Issued:
    """The CA that signs client certificates and the CRL (the deployment's also gets its
    certificate written to ``directory``, beside what it signs)."""
    if dsn is not None:
        issued = _shared(shared_ca.deployment_ca(dsn, now)).issued
        pem = certs.certificate_pem(issued.certificate)
        write_file(directory / CA_FILE, pem, replace=True)
        return issued
    try:
        return certs.load_issued(
            (directory / CA_FILE).read_bytes(), (directory / CA_KEY_FILE).read_bytes()
        )
    except FileNotFoundError:
        raise CommandError(f"no CA in {directory}: run `tessera certs init` first") from None


def init_shared(
    directory: Path, dsn: str, hosts: Sequence[str], now: datetime, days: int, *, force: bool
) -> tuple[certs.Issued, certs.Issued, bool]:
    """``certs init`` in a deployment: the deployment's CA (made if there is none; a new
    one with ``force``) and this data folder's server certificate for ``hosts``, signed
    by it. The CA, the server certificate, and whether the CA was made now."""
    work = shared_ca.replace_ca(dsn, now, days) if force else shared_ca.deployment_ca(dsn, now)
    found = _shared(work)
    write_file(directory / CA_FILE, certs.certificate_pem(found.issued.certificate), replace=True)
    write_file(directory / CRL_FILE, found.crl, replace=True)
    server = shared_ca.write_server_certificate(directory, found.issued, hosts, now, days)
    return found.issued, server, found.created


def publish_crl(directory: Path, dsn: str | None, crl: bytes, now: datetime) -> None:
    """The new CRL in the data folder, and the deployment's (each gateway writes it to
    its own folder when it starts; revocation itself counts at once, through the store)."""
    if dsn is not None:
        _shared(shared_ca.store_crl(dsn, crl, now))
    write_file(directory / CRL_FILE, crl, replace=True)


def _shared(work: Coroutine[Any, Any, T]) -> T:
    try:
        return asyncio.run(work)
    except (psycopg.Error, MigrationError, ValueError) as exc:
        raise CommandError(f"the deployment's CA in PostgreSQL: {exc}") from exc
