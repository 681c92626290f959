"""Refused CoT connections on the audit trail, bounded per address; the reasons given for
failed TLS handshakes."""

from __future__ import annotations

import ssl
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tessera.security.audit import AuditTrail
from tessera.security.base import AuditEvent
from tessera.settings import load_settings
from tessera.transports.cot_stream.refusals import AUDITED_BURST, ConnectionRefusals
from tessera.transports.cot_stream.tls_accept import handshake_refusal

AT = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


class Recorded(AuditTrail):
    """An audit trail that only keeps what is recorded."""

    def __init__(self) -> None:
        self.events: list[AuditEvent] = []

    def record(self, event: AuditEvent) -> None:
        self.events.append(event)


def test_a_flood_from_one_address_is_audited_within_bounds_and_counted() -> None:
    trail = Recorded()
    now = [100.0]
    refusals = ConnectionRefusals(trail, lambda: AT, monotonic=lambda: now[0])
    for _ in range(AUDITED_BURST + 30):
        refusals.record("192.0.2.7", "no client certificate", kind="tls")
    refusals.record("192.0.2.8", "no client certificate", kind="tls")
    flooded = [e for e in trail.events if e.address == "192.0.2.7"]
    assert len(flooded) == AUDITED_BURST
    # Another address is audited all the same.
    assert [e.address for e in trail.events[-1:]] == ["192.0.2.8"]
    now[0] += 1.0
    refusals.record("192.0.2.7", "certificate revoked", kind="tls", target="ab" * 32)
    last = trail.events[-1]
    assert last.action == "cot.refused_connection" and last.outcome == "denied"
    assert last.detail == {"reason": "certificate revoked", "kind": "tls", "unaudited": 30}
    assert last.target == "ab" * 32


def test_handshake_failures_are_told_by_their_reason() -> None:
    revoked = ssl.SSLCertVerificationError(1, "certificate verify failed")
    revoked.verify_message = "certificate revoked"
    assert handshake_refusal(revoked) == "certificate revoked"
    missing = ssl.SSLError(1, "peer did not return a certificate")
    missing.reason = "PEER_DID_NOT_RETURN_A_CERTIFICATE"
    assert handshake_refusal(missing) == "no client certificate"
    other = ssl.SSLError(1, "no shared cipher")
    other.reason = "NO_SHARED_CIPHER"
    assert handshake_refusal(other) == "no shared cipher"
    assert "closed" in handshake_refusal(ConnectionResetError())


@pytest.mark.parametrize("period", [0.0, -1.0, 7200.0])
def test_a_recheck_period_out_of_range_is_a_settings_error(tmp_path: Path, period: float) -> None:
    with pytest.raises(ValueError, match="cot_recheck_s"):
        load_settings(data_dir=tmp_path, cot_recheck_s=period).validate()
