"""The pure part of TAK enrollment: tokens, signing requests as clients send them, the
enrollment API's answers, and certificates signed for a client's own key."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from lxml import etree

from tessera.codecs import tak_enrollment
from tessera.security import certs, enrollment

NOW = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


def request_for(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, cn: str = "phone") -> bytes:
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.PEM)


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def test_a_token_matches_its_secret_only_until_used(rsa_key: rsa.RSAPrivateKey) -> None:
    issued = enrollment.issue_token("phone", "alice", NOW, timedelta(hours=1))
    assert enrollment.matches(issued.record, issued.secret)
    assert not enrollment.matches(issued.record, issued.secret + "x")
    assert issued.record.usable(NOW) and not issued.record.usable(NOW + timedelta(hours=1))
    assert issued.secret not in repr(issued)
    with pytest.raises(ValueError, match="some time"):
        enrollment.issue_token("phone", "alice", NOW, timedelta(0))


def test_a_request_is_read_as_pem_or_as_its_bare_body(rsa_key: rsa.RSAPrivateKey) -> None:
    pem = request_for(rsa_key)
    body = b"".join(pem.splitlines()[1:-1])
    wrapped = b"\r\n".join(pem.splitlines()[1:-1])  # as some clients wrap it
    for form in (pem, body, wrapped, b"  " + pem + b"\n"):
        csr = enrollment.parse_csr(form)
        assert csr.public_key() == rsa_key.public_key()
        assert enrollment.requested_name(csr) == "phone"
    ec_key = ec.generate_private_key(ec.SECP256R1())
    assert enrollment.parse_csr(request_for(ec_key)).public_key() == ec_key.public_key()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "no signing request"),
        (b"not base64 at all!", "not a PKCS#10"),
        (base64.b64encode(b"valid base64, no request"), "not a PKCS#10"),
        (b"A" * (enrollment.MAX_CSR_BYTES + 1), "over"),
    ],
)
def test_a_bad_request_is_refused_plainly(body: bytes, message: str) -> None:
    with pytest.raises(enrollment.CsrError, match=message):
        enrollment.parse_csr(body)


def test_a_weak_key_is_refused() -> None:
    short = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    with pytest.raises(enrollment.CsrError, match="too short"):
        enrollment.parse_csr(request_for(short))
    with pytest.raises(enrollment.CsrError, match="curve"):
        enrollment.parse_csr(request_for(ec.generate_private_key(ec.SECP256K1())))


def test_the_certificate_is_for_the_clients_key_with_our_names(
    rsa_key: rsa.RSAPrivateKey,
) -> None:
    ca = certs.create_ca("Test CA", NOW, 3650)
    csr = enrollment.parse_csr(request_for(rsa_key, cn="admin"))
    signed = certs.sign_client_key(ca, enrollment.csr_key(csr), "phone", "alice", NOW, 365)
    assert signed.public_key() == rsa_key.public_key()
    # The request asked for "admin": the certificate is named as the token says.
    assert signed.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "phone"
    assert signed.subject.get_attributes_for_oid(NameOID.USER_ID)[0].value == "alice"
    signed.verify_directly_issued_by(ca.certificate)


def test_the_enrollment_answers_as_tak_server_writes_them() -> None:
    config = etree.fromstring(tak_enrollment.certificate_config([("O", "Tessera"), ("OU", "A&B")]))
    assert config.tag == "{com.bbn.marti.config}certificateConfig"
    entries = config.findall("{http://bbn.com/marti/xml/config}nameEntries/*")
    assert [(e.get("name"), e.get("value")) for e in entries] == [("O", "Tessera"), ("OU", "A&B")]
    xml = etree.fromstring(tak_enrollment.enrollment_xml(b"signed", [b"ca-0", b"ca-1"]))
    assert [(child.tag, child.text) for child in xml] == [
        ("signedCert", base64.b64encode(b"signed").decode()),
        ("ca0", base64.b64encode(b"ca-0").decode()),
        ("ca1", base64.b64encode(b"ca-1").decode()),
    ]
    answer = json.loads(tak_enrollment.enrollment_json(b"signed", [b"ca-0"]))
    assert answer == {"signedCert": "c2lnbmVk", "ca0": "Y2EtMA=="}
