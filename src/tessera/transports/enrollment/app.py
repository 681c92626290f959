"""The TAK enrollment API as TAK Server serves it on 8446, over TLS with the server's
certificate (no client certificate: the client has none yet), HTTP basic auth with the
certificate name and its one-time token (``tessera certs enroll-token``):

- ``GET /Marti/api/tls/config``: the subject fields for the client's signing request.
- ``POST /Marti/api/tls/signClient/v2?clientUid=UID&version=V``: the signing request
  (PEM, or its base64 body) in, the signed certificate and the CA chain out, as XML, or
  JSON when the client accepts it; the token is then used up.
- ``GET /Marti/api/tls/profile/enrollment?clientUid=UID``: TAK Server may send a data
  package to apply after enrolling; Tessera has none, so 204 (No Content), to anyone.

The formats are in ``tessera.codecs.tak_enrollment``; the checks, signing and records in
``tessera.security.enroller``.
"""

from __future__ import annotations

import base64
import binascii
from typing import Final

from cryptography import x509
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tessera.codecs import tak_enrollment
from tessera.security.enroller import Enroller, EnrollmentDeniedError, certificate_der
from tessera.security.enrollment import MAX_CSR_BYTES

REALM: Final = 'Basic realm="TAK enrollment", charset="UTF-8"'
_XML: Final = "application/xml"
_JSON: Final = "application/json"
# When the CA's own subject names none, the fields a TAK client puts in its request. The
# certificate's subject is Tessera's choice either way (its name, its principal).
DEFAULT_ORGANIZATION: Final = "Tessera"
DEFAULT_UNIT: Final = "TAK"


def basic_credentials(header: str | None) -> tuple[str, str] | None:
    """The (user, password) of an ``Authorization: Basic`` header, else None."""
    if header is None:
        return None
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, colon, password = decoded.partition(":")
    return (user, password) if colon and user and password else None


def _address(request: Request) -> str:
    return request.client.host if request.client is not None else ""


def _denied(exc: EnrollmentDeniedError) -> Response:
    headers: dict[str, str] = {}
    if exc.status == 401:
        headers["WWW-Authenticate"] = REALM
    if exc.retry_after is not None:
        headers["Retry-After"] = str(max(1, round(exc.retry_after)))
    return Response(f"{exc.message}\n", exc.status, headers, media_type="text/plain")


def _wants_json(request: Request) -> bool:
    # iTAK asks for JSON (and OpenTAKServer answers text/plain askers with it too).
    accept = request.headers.get("accept", "").lower()
    return _JSON in accept or accept.strip() == "text/plain"


def _name_entries(ca: x509.Certificate) -> list[tuple[str, str]]:
    entries = []
    for oid, label, fallback in (
        (x509.NameOID.ORGANIZATION_NAME, "O", DEFAULT_ORGANIZATION),
        (x509.NameOID.ORGANIZATIONAL_UNIT_NAME, "OU", DEFAULT_UNIT),
    ):
        found = ca.subject.get_attributes_for_oid(oid)
        value = found[0].value if found else fallback
        entries.append((label, value if isinstance(value, str) else value.decode()))
    return entries


def enrollment_app(enroller: Enroller) -> Starlette:
    async def tls_config(request: Request) -> Response:
        try:
            await enroller.authenticate(
                basic_credentials(request.headers.get("authorization")), _address(request)
            )
        except EnrollmentDeniedError as exc:
            return _denied(exc)
        ca = await enroller.load_ca()
        return Response(
            tak_enrollment.certificate_config(_name_entries(ca.certificate)), 200, media_type=_XML
        )

    async def sign_client(request: Request) -> Response:
        address = _address(request)
        credentials = basic_credentials(request.headers.get("authorization"))
        try:
            record = await enroller.authenticate(credentials, address)
            assert credentials is not None
            body = await _limited_body(request)
            uid = request.query_params.get("clientUid") or request.query_params.get("clientUID")
            enrolled = await enroller.enroll(record, credentials[1], body, uid, address)
        except EnrollmentDeniedError as exc:
            return _denied(exc)
        signed = certificate_der(enrolled.certificate)
        chain = [certificate_der(ca) for ca in enrolled.chain]
        if _wants_json(request):
            return Response(tak_enrollment.enrollment_json(signed, chain), 200, media_type=_JSON)
        return Response(tak_enrollment.enrollment_xml(signed, chain), 200, media_type=_XML)

    async def profile(_request: Request) -> Response:
        # Asked right after enrolling, with the token just used up: checking it would
        # count a failure against a client that did nothing wrong, and there is nothing
        # to send anyone.
        return Response(status_code=204)

    return Starlette(
        routes=[
            Route("/Marti/api/tls/config", tls_config, methods=["GET"]),
            Route("/Marti/api/tls/signClient/v2", sign_client, methods=["POST"]),
            Route("/Marti/api/tls/profile/enrollment", profile, methods=["GET"]),
        ]
    )


async def _limited_body(request: Request) -> bytes:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_CSR_BYTES:
            raise EnrollmentDeniedError(413, f"the signing request is over {MAX_CSR_BYTES} bytes")
    return body
