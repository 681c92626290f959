"""Bearer tokens: issued with a public id and a random secret; only the secret's hash is kept.

A token reads ``tsr_<id>_<secret>``. The id finds the record; the secret, 256 random bits,
is compared by its SHA-256 hash in constant time. A fast hash is enough: the secret is not
a password anyone chose, so there is nothing to guess from a dictionary.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime
from typing import Final

from tessera.security.base import TokenRecord

PREFIX: Final = "tsr_"
_SHAPE: Final = re.compile(r"tsr_([0-9a-f]{16})_([A-Za-z0-9_-]{43})")


class IssuedToken:
    """A new token: the record to store, and the whole token to show once."""

    __slots__ = ("record", "token")

    def __init__(self, record: TokenRecord, token: str) -> None:
        self.record = record
        self.token = token

    def __repr__(self) -> str:
        # Never the secret: a repr ends up in logs and tracebacks.
        return f"IssuedToken(id={self.record.id!r}, principal={self.record.principal!r})"


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue(principal: str, *, now: datetime, expires_at: datetime | None) -> IssuedToken:
    token_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    record = TokenRecord(
        id=token_id,
        principal=principal,
        secret_hash=hash_secret(secret),
        created_at=now,
        expires_at=expires_at,
    )
    return IssuedToken(record, f"{PREFIX}{token_id}_{secret}")


def parse(token: str) -> tuple[str, str] | None:
    """The id and the secret of a well-formed token, else None."""
    match = _SHAPE.fullmatch(token)
    return None if match is None else (match.group(1), match.group(2))


def token_id(token: str) -> str | None:
    parsed = parse(token)
    return None if parsed is None else parsed[0]


def matches(record: TokenRecord, secret: str) -> bool:
    return hmac.compare_digest(record.secret_hash, hash_secret(secret))
