"""Rows of the SQLite security store to and from its records; times as microseconds."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tessera.microseconds import from_us, to_us
from tessera.security import certstore
from tessera.security.audit_filter import audit_event
from tessera.security.base import AuditEvent, CertificateRecord, SecurityStoreError, TokenRecord


def aware_us(moment: datetime) -> int:
    # A naive time has no defined instant; refusing it beats guessing a zone.
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise SecurityStoreError(f"a time must carry its timezone, got {moment.isoformat()}")
    return to_us(moment)


def optional_us(moment: datetime | None) -> int | None:
    return None if moment is None else aware_us(moment)


def optional_time(micros: int | None) -> datetime | None:
    return None if micros is None else from_us(micros)


def token_from_row(row: tuple[Any, ...]) -> TokenRecord:
    token_id, principal, secret_hash, created_us, expires_us, revoked_us = row
    return TokenRecord(
        id=token_id,
        principal=principal,
        secret_hash=secret_hash,
        created_at=from_us(created_us),
        expires_at=optional_time(expires_us),
        revoked_at=optional_time(revoked_us),
    )


def certificate_row(record: CertificateRecord) -> certstore.CertificateRow:
    return (
        record.name,
        record.principal,
        record.serial,
        record.fingerprint,
        aware_us(record.issued_at),
        aware_us(record.expires_at),
        optional_us(record.revoked_at),
    )


def certificate_from_row(row: certstore.CertificateRow) -> CertificateRecord:
    name, principal, serial, fingerprint, issued_us, expires_us, revoked_us = row
    return CertificateRecord(
        name=name,
        principal=principal,
        serial=serial,
        fingerprint=fingerprint,
        issued_at=from_us(issued_us),
        expires_at=from_us(expires_us),
        revoked_at=optional_time(revoked_us),
    )


def audit_from_row(row: tuple[Any, ...]) -> AuditEvent:
    return audit_event(row, from_us(row[1]))
