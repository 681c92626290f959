"""The TAK enrollment API's answers (port 8446), as TAK Server writes them and ATAK and
iTAK read them. Facts from TAK Server's CertManager API documentation and from
OpenTAKServer's certificate enrollment blueprint:

- ``GET /Marti/api/tls/config``: a ``certificateConfig`` document (namespace
  ``com.bbn.marti.config``) whose ``nameEntries`` give the subject fields (O, OU) a
  client puts in its signing request.
- ``POST /Marti/api/tls/signClient/v2``: an ``enrollment`` document with the signed
  certificate in ``signedCert`` and the CA chain in ``ca0``, ``ca1``... each the base64
  DER body of the certificate (PEM without its BEGIN/END lines); the same keys in a JSON
  object when the client asks for JSON (iTAK does).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from html import escape
from typing import Final

import msgspec

CONFIG_NAMESPACE: Final = "com.bbn.marti.config"
XML_NAMESPACE: Final = "http://bbn.com/marti/xml/config"


def certificate_config(name_entries: Sequence[tuple[str, str]]) -> bytes:
    """The ``certificateConfig`` document for these subject fields, in order."""
    entries = "".join(
        f'<nameEntry name="{escape(name)}" value="{escape(value)}"/>'
        for name, value in name_entries
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<ns2:certificateConfig xmlns="{XML_NAMESPACE}" xmlns:ns2="{CONFIG_NAMESPACE}">'
        f"<nameEntries>{entries}</nameEntries></ns2:certificateConfig>\n"
    ).encode()


def _body(der: bytes) -> str:
    return base64.b64encode(der).decode()


def _fields(signed_der: bytes, chain_der: Sequence[bytes]) -> dict[str, str]:
    fields = {"signedCert": _body(signed_der)}
    fields.update({f"ca{index}": _body(der) for index, der in enumerate(chain_der)})
    return fields


def enrollment_xml(signed_der: bytes, chain_der: Sequence[bytes]) -> bytes:
    """The ``enrollment`` document: the signed certificate, then the CA chain (DER)."""
    inner = "".join(
        f"<{key}>{value}</{key}>" for key, value in _fields(signed_der, chain_der).items()
    )
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<enrollment>{inner}</enrollment>\n'.encode()


def enrollment_json(signed_der: bytes, chain_der: Sequence[bytes]) -> bytes:
    """The same as a JSON object: ``{"signedCert": ..., "ca0": ...}``."""
    return msgspec.json.encode(_fields(signed_der, chain_der))
